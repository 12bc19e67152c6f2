//! The branding `[pages]` gives the pages (DESIGN §11): the product name in every page's
//! `<title>` and header, a logo and a stylesheet served under `/oauth2/static/`, and templates
//! that replace the built-in ones of the same name.
//!
//! The files arrive already read (the configuration reads them at start-up); this module
//! keeps what `/oauth2/static/` serves and what the templates see as `brand`. The logo and
//! the stylesheet are served from the gateway's own origin, so the pages' Content-Security-
//! Policy (`style-src 'self'; img-src 'self'`) allows them as it is.

use axum::body::Bytes;
use serde::Serialize;

/// The configured logo's path under `/oauth2/static/`, whatever its file was called.
pub(crate) const LOGO_FILE: &str = "brand-logo";
/// The configured stylesheet's path under `/oauth2/static/`.
pub(crate) const CSS_FILE: &str = "brand.css";
/// The product name the pages show without a `title`.
const DEFAULT_TITLE: &str = "portcullis";

/// What `[pages]` configures, the files already read.
#[derive(Clone, Debug, Default)]
pub(crate) struct Brand<'a> {
    /// `title`: the product name; `None` keeps "portcullis".
    pub(crate) title: Option<&'a str>,
    /// `logo`: its content type (from the file's extension) and bytes.
    pub(crate) logo: Option<(&'static str, &'a [u8])>,
    /// `css`: added after the built-in stylesheet.
    pub(crate) css: Option<&'a [u8]>,
    /// The files of `templates_dir`: (template name, source), each replacing the built-in
    /// template of that name.
    pub(crate) templates: Vec<(&'a str, &'a str)>,
}

/// What the pages keep of their brand: the name they show and the files they serve.
#[derive(Clone, Debug)]
pub(super) struct BrandAssets {
    pub(super) title: String,
    logo: Option<(&'static str, Bytes)>,
    css: Option<Bytes>,
}

/// `brand` in every template: `{{ brand.title }}`, `{{ brand.logo_url }}`,
/// `{{ brand.logo_type }}`, `brand.custom_logo`, and `brand.css_url` when a stylesheet is
/// configured.
#[derive(Serialize)]
pub(super) struct BrandContext {
    title: String,
    logo_url: String,
    logo_type: &'static str,
    custom_logo: bool,
    css_url: Option<String>,
}

impl BrandAssets {
    pub(super) fn new(brand: &Brand<'_>) -> BrandAssets {
        BrandAssets {
            title: brand.title.unwrap_or(DEFAULT_TITLE).to_owned(),
            logo: brand
                .logo
                .map(|(content_type, bytes)| (content_type, Bytes::copy_from_slice(bytes))),
            css: brand.css.map(Bytes::copy_from_slice),
        }
    }

    pub(super) fn context(&self) -> BrandContext {
        let (logo_url, logo_type) = match &self.logo {
            Some((content_type, _)) => (format!("/oauth2/static/{LOGO_FILE}"), *content_type),
            None => ("/oauth2/static/logo.svg".to_owned(), "image/svg+xml"),
        };
        BrandContext {
            title: self.title.clone(),
            logo_url,
            logo_type,
            custom_logo: self.logo.is_some(),
            css_url: self.css_url(),
        }
    }

    /// `/oauth2/static/brand.css` when a stylesheet is configured.
    pub(super) fn css_url(&self) -> Option<String> {
        self.css
            .as_ref()
            .map(|_| format!("/oauth2/static/{CSS_FILE}"))
    }

    /// The configured logo or stylesheet at `path` below `/oauth2/static/`: (content type,
    /// bytes). `None` for any other path, and for these when they are not configured.
    pub(super) fn file(&self, path: &str) -> Option<(&'static str, Bytes)> {
        match path {
            LOGO_FILE => self
                .logo
                .as_ref()
                .map(|(content_type, bytes)| (*content_type, bytes.clone())),
            CSS_FILE => self
                .css
                .as_ref()
                .map(|bytes| ("text/css; charset=utf-8", bytes.clone())),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
