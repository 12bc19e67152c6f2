//! What the file watch of a reload looks at: the configuration file and the files it names
//! (the `[pages]` logo, stylesheet and templates directory with its templates, the
//! `server.tls` certificate and key, every `ca_file`), polled every
//! [`POLL_EVERY`] for their size, modification time and inode, which sees an edit in place, a
//! new file renamed over the old one and a symlink swapped to a new target (how Kubernetes
//! updates a mounted ConfigMap); no watcher dependency, and nothing platform-specific. A
//! users file is watched by its local provider already (`crate::local`), and reloaded on its
//! own.
//!
//! A change is read [`SETTLE`] after it is seen, so that a write in progress can end; a file
//! caught half-written all the same is simply a failed reload, and the write that completes
//! it is a change again.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::config::Config;

/// How often the files are looked at: with [`SETTLE`] and the reload itself, a change is in
/// effect well within the 5 s DESIGN §11 allows.
pub(super) const POLL_EVERY: Duration = Duration::from_secs(1);
/// How long after a change is seen the files are read.
pub(super) const SETTLE: Duration = Duration::from_millis(200);

/// The configuration file and the files it names, as they are polled.
pub(super) fn named_files(config_file: &Path, config: &Config) -> Vec<PathBuf> {
    let pages = &config.pages;
    let mut files = vec![config_file.to_path_buf()];
    files.extend(pages.logo.iter().cloned());
    files.extend(pages.css.iter().cloned());
    files.extend(pages.templates_dir.iter().cloned());
    files.extend(pages.files.templates.iter().map(|file| file.path.clone()));
    if let Some(tls) = &config.server.tls {
        files.extend([tls.cert.clone(), tls.key.clone()]);
    }
    let ca_files = config.server.ca_file.iter().chain(
        config
            .providers
            .iter()
            .flat_map(|provider| &provider.ca_files)
            .chain(
                config
                    .upstreams
                    .iter()
                    .flat_map(|upstream| &upstream.ca_files),
            ),
    );
    for ca_file in ca_files {
        if !files.contains(&ca_file.path) {
            files.push(ca_file.path.clone());
        }
    }
    files
}

/// What is seen of one file: `None` when it cannot be read.
pub(super) type Seen = Option<(u64, Option<SystemTime>, u64)>;

pub(super) fn look(files: &[PathBuf]) -> Vec<Seen> {
    files.iter().map(|file| look_at(file)).collect()
}

fn look_at(file: &Path) -> Seen {
    let metadata = std::fs::metadata(file).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&metadata);
    #[cfg(not(unix))]
    let inode = 0;
    Some((metadata.len(), metadata.modified().ok(), inode))
}
