//! `[pages]`: its files found next to the configuration file and read, and every problem with
//! them named with its place: the key for a file that is missing or of the wrong kind, the
//! template's own file and line for a template that does not parse or render.

use std::path::{Path, PathBuf};

use crate::config::{Config, ConfigError, ConfigErrors};

const SVG: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 10 10\"></svg>";

/// A directory of its own holding `providers.toml`'s neighbours.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!(
            "portcullis-pages-config-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("brand")).unwrap();
        Dir(dir)
    }

    fn write(&self, path: &str, content: &[u8]) -> PathBuf {
        let path = self.0.join(path);
        std::fs::write(&path, content).unwrap();
        path
    }

    /// Parses a valid file with `[pages]` set to `block`, as `providers.toml` in this
    /// directory.
    fn parse(&self, block: &str) -> Result<Config, ConfigErrors> {
        Config::parse(
            &source(block),
            &self.0.join("providers.toml").display().to_string(),
            &|_| None,
        )
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn source(block: &str) -> String {
    format!(
        "[server]\nlisten = \"127.0.0.1:4180\"\npublic_url = \"https://auth.example.com\"\n\n\
         [session]\nsecret = \"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\"\n\n\
         [[provider]]\nid = \"corp\"\nkind = \"oidc\"\nissuer = \"https://sso.example.com\"\n\
         client_id = \"portcullis\"\nclient_secret = \"secret\"\n\n\
         [authorize]\nemail_domains = [\"example.com\"]\n\n[[upstream]]\npath = \"/\"\n\
         url = \"http://127.0.0.1:8080\"\n\n[pages]\n{block}\n"
    )
}

/// 1-based line of the first line of the whole file containing `needle`.
fn line_of(block: &str, needle: &str) -> usize {
    source(block)
        .lines()
        .position(|line| line.contains(needle))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("{needle:?} not in the file"))
}

fn the_error<'e>(errors: &'e ConfigErrors, key: &str) -> &'e ConfigError {
    errors
        .0
        .iter()
        .find(|e| e.key == key)
        .unwrap_or_else(|| panic!("no problem at {key}: {errors}"))
}

#[test]
fn without_pages_the_built_in_branding_is_kept() {
    let config = Config::parse(
        &source("").replace("\n[pages]\n", "\n"),
        "providers.toml",
        &|_| None,
    )
    .unwrap();

    assert!(config.pages.title.is_none());
    assert!(config.pages.files.logo.is_none() && config.pages.files.css.is_none());
    assert!(config.pages.files.templates.is_empty());
}

#[test]
fn the_files_are_found_next_to_the_configuration_and_read() {
    let dir = Dir::new("valid");
    dir.write("brand/logo.SVG", SVG.as_bytes());
    dir.write("brand/site.css", b":root { --primary: #b91c1c; }");
    std::fs::create_dir_all(dir.0.join("brand/templates")).unwrap();
    dir.write(
        "brand/templates/signed_out.html",
        b"{% extends \"base.html\" %}{% block content %}Bye{% endblock %}",
    );
    dir.write(
        "brand/templates/.signed_out.html.swp",
        b"\0\0 not a template",
    );

    let config = dir
        .parse(
            "title = \"  Acme Login \"\nlogo = \"brand/logo.SVG\"\ncss = \"brand/site.css\"\n\
             templates_dir = \"brand/templates\"",
        )
        .unwrap();

    let pages = &config.pages;
    assert_eq!(pages.title.as_deref(), Some("Acme Login"));
    assert_eq!(
        pages.logo.as_deref(),
        Some(dir.0.join("brand/logo.SVG").as_path())
    );
    assert_eq!(
        pages.templates_dir.as_deref(),
        Some(dir.0.join("brand/templates").as_path())
    );
    let logo = pages.files.logo.as_ref().unwrap();
    assert_eq!(
        (logo.content_type, logo.bytes.as_slice()),
        ("image/svg+xml", SVG.as_bytes())
    );
    assert_eq!(
        pages.files.css.as_deref(),
        Some(":root { --primary: #b91c1c; }")
    );
    let names: Vec<&str> = pages
        .files
        .templates
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(names, ["signed_out.html"], "hidden files are skipped");
}

#[test]
fn each_logo_extension_gives_its_content_type() {
    let dir = Dir::new("types");
    let cases: [(&str, &[u8], &str); 5] = [
        ("logo.png", b"\x89PNG\r\n\x1a\n....", "image/png"),
        ("logo.jpg", b"\xff\xd8\xff\xe0....", "image/jpeg"),
        ("logo.jpeg", b"\xff\xd8\xff\xdb....", "image/jpeg"),
        ("logo.webp", b"RIFF\x10\0\0\0WEBPVP8 ", "image/webp"),
        ("logo.gif", b"GIF89a....", "image/gif"),
    ];
    for (name, bytes, content_type) in cases {
        dir.write(name, bytes);
        let config = dir.parse(&format!("logo = \"{name}\"")).unwrap();
        assert_eq!(
            config.pages.files.logo.unwrap().content_type,
            content_type,
            "{name}"
        );
    }
}

#[test]
fn a_logo_of_another_kind_is_refused_at_its_key() {
    let dir = Dir::new("kind");
    dir.write("logo.bmp", b"BM....");
    dir.write("logo.png", SVG.as_bytes());

    for (file, says) in [
        (
            "logo.bmp",
            "must be an .svg, .png, .jpg, .jpeg, .webp or .gif file",
        ),
        ("logo", "must be an .svg"),
        ("logo.png", "is not image/png content"),
    ] {
        let block = format!("logo = \"{file}\"");
        let errors = dir.parse(&block).unwrap_err();
        let error = the_error(&errors, "pages.logo");
        assert_eq!(error.line, line_of(&block, "logo ="), "{file}");
        assert!(
            error.message.contains(says) && error.message.contains(file),
            "{error}"
        );
    }
}

#[test]
fn a_missing_file_or_directory_is_named_with_its_key_and_path() {
    let dir = Dir::new("missing");
    let block =
        "logo = \"nowhere.svg\"\ncss = \"/nowhere/site.css\"\ntemplates_dir = \"no-templates\"";

    let errors = dir.parse(block).unwrap_err();

    for (key, path, line) in [
        ("pages.logo", dir.0.join("nowhere.svg"), "logo ="),
        ("pages.css", PathBuf::from("/nowhere/site.css"), "css ="),
        (
            "pages.templates_dir",
            dir.0.join("no-templates"),
            "templates_dir =",
        ),
    ] {
        let error = the_error(&errors, key);
        assert_eq!(
            error.file,
            dir.0.join("providers.toml").display().to_string()
        );
        assert_eq!(error.line, line_of(block, line), "{error}");
        assert!(
            error.message.contains(&path.display().to_string())
                && error.message.contains("cannot be read"),
            "{error}"
        );
    }
    assert_eq!(errors.0.len(), 3, "{errors}");
}

#[test]
fn a_broken_template_is_reported_at_its_file_and_line() {
    let dir = Dir::new("broken");
    std::fs::create_dir_all(dir.0.join("templates")).unwrap();
    let sign_in = dir.write(
        "templates/sign_in.html",
        b"{% extends \"base.html\" %}\n{% block content %}\n{% for provider in providers %}\n{% endblock %}\n",
    );
    let error_page = dir.write(
        "templates/error.html",
        b"{% extends \"base.html\" %}\n{% block content %}\n\n<p>{{ reason.text }}</p>\n{% endblock %}\n",
    );

    let errors = dir.parse("templates_dir = \"templates\"").unwrap_err();

    let at = |path: &Path| {
        errors
            .0
            .iter()
            .find(|e| e.file == path.display().to_string())
            .unwrap_or_else(|| panic!("nothing in {}: {errors}", path.display()))
    };
    let syntax = at(&sign_in);
    assert_eq!(
        (syntax.key.as_str(), syntax.line, syntax.column),
        ("pages.templates_dir", 4, 0)
    );
    assert!(syntax.message.starts_with("syntax error"), "{syntax}");
    assert!(
        syntax.to_string().starts_with(&format!(
            "{}:4: pages.templates_dir: syntax error",
            sign_in.display()
        )),
        "{syntax}"
    );
    let render = at(&error_page);
    assert_eq!(render.line, 4, "{render}");
    assert!(render.message.contains("undefined"), "{render}");
}

#[test]
fn a_file_that_replaces_no_template_is_refused() {
    let dir = Dir::new("unknown");
    std::fs::create_dir_all(dir.0.join("templates")).unwrap();
    let misspelt = dir.write("templates/signin.html", b"<h1>Hi</h1>");

    let errors = dir.parse("templates_dir = \"templates\"").unwrap_err();

    let error = &errors.0[0];
    assert_eq!(
        (error.file.as_str(), error.key.as_str()),
        (
            misspelt.display().to_string().as_str(),
            "pages.templates_dir"
        )
    );
    assert!(
        error
            .message
            .contains("`signin.html` replaces no built-in template")
            && error.message.contains("sign_in.html"),
        "{error}"
    );
}

#[test]
fn every_problem_is_listed_at_once() {
    let dir = Dir::new("several");
    std::fs::create_dir_all(dir.0.join("templates")).unwrap();
    dir.write("templates/signed_out.html", b"{% if %}");
    let block = "title = \" \"\nlogo = \"missing.png\"\ncss = \"\"\ntemplates_dir = \"templates\"\nfavicon = \"x.ico\"";

    let errors = dir.parse(block).unwrap_err();

    for key in [
        "pages.title",
        "pages.logo",
        "pages.css",
        "pages.templates_dir",
        "pages.favicon",
    ] {
        the_error(&errors, key);
    }
    assert_eq!(
        the_error(&errors, "pages.title").line,
        line_of(block, "title =")
    );
}
