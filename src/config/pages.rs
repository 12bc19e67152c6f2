//! `[pages]`: the branding of the pages people see (DESIGN §11). A product name, a logo, a
//! stylesheet added after the built-in one, and a directory of templates that replace the
//! built-in ones of the same name.
//!
//! The files are read by [`PagesConfig::load`]: once when the configuration is validated, so
//! that `portcullis check` lists every problem in them (a template's with its file and
//! line), and again by whatever reloads the branding later.

use std::path::{Path, PathBuf};

use crate::pages::{template_names, Brand, Pages, TemplateProblem};

/// `[pages]`, its paths resolved like every path in the file (relative to the configuration
/// file's directory), and what was read from them.
#[derive(Debug, Clone, Default)]
pub struct PagesConfig {
    /// `title`: the product name in every page's `<title>` and header; `None` keeps
    /// "portcullis".
    pub title: Option<String>,
    /// `logo`: an `.svg`, `.png`, `.jpg`/`.jpeg`, `.webp` or `.gif` file, served as
    /// `/oauth2/static/brand-logo` and shown in the header and as the icon.
    pub logo: Option<PathBuf>,
    /// `css`: a stylesheet served as `/oauth2/static/brand.css`, linked after the built-in
    /// one.
    pub css: Option<PathBuf>,
    /// `templates_dir`: each file there replaces the built-in template of its name.
    pub templates_dir: Option<PathBuf>,
    /// The files above, as read when the configuration was validated.
    pub files: BrandFiles,
}

/// What [`PagesConfig::load`] read.
#[derive(Debug, Clone, Default)]
pub struct BrandFiles {
    pub logo: Option<BrandLogo>,
    /// UTF-8 text.
    pub css: Option<String>,
    /// In file-name order.
    pub templates: Vec<TemplateFile>,
}

/// The logo's bytes, with the content type its extension gives.
#[derive(Clone)]
pub struct BrandLogo {
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for BrandLogo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrandLogo")
            .field("content_type", &self.content_type)
            .field("bytes", &format_args!("[{} bytes]", self.bytes.len()))
            .finish()
    }
}

/// One file of `templates_dir`.
#[derive(Debug, Clone)]
pub struct TemplateFile {
    /// The built-in template it replaces (`sign_in.html`).
    pub name: String,
    pub path: PathBuf,
    pub source: String,
}

/// A problem with a file `[pages]` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagesProblem {
    /// The key naming the file or directory: `logo`, `css` or `templates_dir`.
    pub key: &'static str,
    /// The template file the problem is in, with its 1-based line (0: the file as a whole);
    /// `None` when the problem is with the key's file or directory itself.
    pub template: Option<(PathBuf, usize)>,
    pub message: String,
}

impl PagesProblem {
    fn at_key(key: &'static str, message: String) -> PagesProblem {
        PagesProblem {
            key,
            template: None,
            message,
        }
    }

    fn in_template(path: &Path, line: usize, message: String) -> PagesProblem {
        PagesProblem {
            key: "templates_dir",
            template: Some((path.to_path_buf(), line)),
            message,
        }
    }
}

/// The logo's extensions and the content types they are served with.
const LOGO_TYPES: [(&str, &str); 6] = [
    ("svg", "image/svg+xml"),
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("webp", "image/webp"),
    ("gif", "image/gif"),
];

impl PagesConfig {
    /// Reads the logo, the stylesheet and the templates, and checks that each replacing
    /// template parses and renders every page's sample. Every problem is returned, not just
    /// the first.
    pub fn load(&self) -> Result<BrandFiles, Vec<PagesProblem>> {
        let mut problems = Vec::new();
        let mut files = BrandFiles::default();
        if let Some(path) = &self.logo {
            match read_logo(path) {
                Ok(logo) => files.logo = Some(logo),
                Err(message) => problems.push(PagesProblem::at_key("logo", message)),
            }
        }
        if let Some(path) = &self.css {
            match read_stylesheet(path) {
                Ok(css) => files.css = Some(css),
                Err(message) => problems.push(PagesProblem::at_key("css", message)),
            }
        }
        if let Some(dir) = &self.templates_dir {
            let (templates, mut unread) = read_templates(dir);
            files.templates = templates;
            problems.append(&mut unread);
        }
        let brand = files.brand(self.title.as_deref());
        if let Err(template_problems) = Pages::branded(&brand) {
            problems.extend(
                template_problems
                    .iter()
                    .map(|problem| placed(problem, &files.templates)),
            );
        }
        if problems.is_empty() {
            Ok(files)
        } else {
            Err(problems)
        }
    }

    /// What the pages are built with.
    pub(crate) fn brand(&self) -> Brand<'_> {
        self.files.brand(self.title.as_deref())
    }
}

impl BrandFiles {
    fn brand<'a>(&'a self, title: Option<&'a str>) -> Brand<'a> {
        Brand {
            title,
            logo: self
                .logo
                .as_ref()
                .map(|logo| (logo.content_type, logo.bytes.as_slice())),
            css: self.css.as_deref().map(str::as_bytes),
            templates: self
                .templates
                .iter()
                .map(|file| (file.name.as_str(), file.source.as_str()))
                .collect(),
        }
    }
}

/// A template problem at its file and line; one in a built-in template (which a replaced
/// one extends or includes) at `templates_dir`.
fn placed(problem: &TemplateProblem, templates: &[TemplateFile]) -> PagesProblem {
    match templates.iter().find(|file| file.name == problem.template) {
        Some(file) => PagesProblem::in_template(
            &file.path,
            problem.line.unwrap_or(0),
            problem.message.clone(),
        ),
        None => PagesProblem::at_key("templates_dir", format!("in the built-in {problem}")),
    }
}

fn read_logo(path: &Path) -> Result<BrandLogo, String> {
    let extension = path
        .extension()
        .and_then(|ext| ext.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let Some((_, content_type)) = LOGO_TYPES.iter().find(|(ext, _)| *ext == extension) else {
        return Err(format!(
            "the logo {} must be an .svg, .png, .jpg, .jpeg, .webp or .gif file: its extension \
             says how it is served",
            path.display()
        ));
    };
    let bytes = std::fs::read(path).map_err(|err| {
        format!(
            "the logo {} cannot be read ({err}): fix the path (relative paths start at the \
             configuration file's directory)",
            path.display()
        )
    })?;
    if !looks_like(content_type, &bytes) {
        return Err(format!(
            "the logo {} is not {} content, as its .{extension} extension says",
            path.display(),
            content_type
        ));
    }
    Ok(BrandLogo {
        content_type,
        bytes,
    })
}

/// Whether `bytes` start as a file of `content_type` does (the served type must be the
/// file's: the gateway sends `X-Content-Type-Options: nosniff`).
fn looks_like(content_type: &str, bytes: &[u8]) -> bool {
    match content_type {
        "image/png" => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "image/jpeg" => bytes.starts_with(b"\xff\xd8\xff"),
        "image/gif" => bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a"),
        "image/webp" => bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP"),
        _ => std::str::from_utf8(bytes).is_ok_and(|text| text.contains("<svg")),
    }
}

fn read_stylesheet(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|err| {
        format!(
            "the stylesheet {} cannot be read ({err}): fix the path (relative paths start at \
             the configuration file's directory)",
            path.display()
        )
    })?;
    String::from_utf8(bytes).map_err(|_| {
        format!(
            "the stylesheet {} is not UTF-8 text (it is served as text/css; charset=utf-8)",
            path.display()
        )
    })
}

/// Every file of `dir` but hidden ones (`.name`, editors' backups), each named after a
/// built-in template; any other name is refused, so a misspelt file is not silently unused.
/// The files that could be read, and the problems with the others.
fn read_templates(dir: &Path) -> (Vec<TemplateFile>, Vec<PagesProblem>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) => {
            let message = format!(
                "the templates directory {} cannot be read ({err}): fix the path (relative \
                 paths start at the configuration file's directory)",
                dir.display()
            );
            return (
                Vec::new(),
                vec![PagesProblem::at_key("templates_dir", message)],
            );
        }
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|entry| entry.path()).collect();
    paths.sort();
    let mut templates = Vec::new();
    let mut problems = Vec::new();
    for path in paths {
        let name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        if !template_names().any(|known| known == name) {
            let known: Vec<&str> = template_names().collect();
            problems.push(PagesProblem::in_template(
                &path,
                0,
                format!(
                    "`{name}` replaces no built-in template: the files of templates_dir are \
                     named after the template they replace ({}); rename or remove it",
                    known.join(", ")
                ),
            ));
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(source) => templates.push(TemplateFile { name, path, source }),
            Err(err) => problems.push(PagesProblem::in_template(
                &path,
                0,
                format!("the template cannot be read ({err})"),
            )),
        }
    }
    (templates, problems)
}
