use std::path::PathBuf;
use std::time::SystemTime;

use super::watch::look;

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn dir(name: &str) -> Dir {
    let dir = std::env::temp_dir().join(format!("portcullis-watch-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    Dir(dir)
}

fn set_modified(file: &PathBuf, at: SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(file)
        .unwrap()
        .set_modified(at)
        .unwrap();
}

#[test]
fn a_file_renamed_over_the_old_one_is_a_change_even_with_the_same_size_and_time() {
    let dir = dir("rename");
    let file = dir.0.join("providers.toml");
    std::fs::write(&file, "a = 1\n").unwrap();
    let at = std::fs::metadata(&file).unwrap().modified().unwrap();
    let before = look(std::slice::from_ref(&file));
    let next = dir.0.join("providers.toml.new");
    std::fs::write(&next, "a = 2\n").unwrap();
    set_modified(&next, at);

    std::fs::rename(&next, &file).unwrap();

    assert_ne!(look(std::slice::from_ref(&file)), before);
}

#[test]
fn an_edit_in_place_a_removed_file_and_an_untouched_one_are_told_apart() {
    let dir = dir("edit");
    let (edited, removed, untouched) = (
        dir.0.join("edited"),
        dir.0.join("removed"),
        dir.0.join("untouched"),
    );
    for file in [&edited, &removed, &untouched] {
        std::fs::write(file, "x").unwrap();
    }
    let files = vec![edited.clone(), removed.clone(), untouched.clone()];
    let before = look(&files);

    std::fs::write(&edited, "xy").unwrap();
    std::fs::remove_file(&removed).unwrap();
    let after = look(&files);

    assert_ne!(after[0], before[0], "an edit in place");
    assert_eq!(after[1], None, "a file that is gone");
    assert!(before[1].is_some());
    assert_eq!(after[2], before[2], "untouched");
}
