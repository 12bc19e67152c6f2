//! The static files served under `/oauth2/static/` (the stylesheet and the logos the pages
//! show), embedded in the binary: only these paths exist there.

/// Every file served under `/oauth2/static/`: (path, content type, bytes).
const STATIC_ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "portcullis.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/portcullis.css"),
    ),
    (
        "logo.svg",
        "image/svg+xml",
        include_bytes!("../../static/logo.svg"),
    ),
    (
        "google.svg",
        "image/svg+xml",
        include_bytes!("../../static/google.svg"),
    ),
    (
        "github.svg",
        "image/svg+xml",
        include_bytes!("../../static/github.svg"),
    ),
    (
        "gitlab.svg",
        "image/svg+xml",
        include_bytes!("../../static/gitlab.svg"),
    ),
    (
        "microsoft.svg",
        "image/svg+xml",
        include_bytes!("../../static/microsoft.svg"),
    ),
    (
        "keycloak.svg",
        "image/svg+xml",
        include_bytes!("../../static/keycloak.svg"),
    ),
    (
        "key.svg",
        "image/svg+xml",
        include_bytes!("../../static/key.svg"),
    ),
];

/// A static asset under `/oauth2/static/`, by its path below that prefix: (content type,
/// bytes). Only the embedded files match, so `..` or any other path is `None`.
pub(crate) fn static_asset(path: &str) -> Option<(&'static str, &'static [u8])> {
    STATIC_ASSETS
        .iter()
        .find(|(name, _, _)| *name == path)
        .map(|(_, content_type, bytes)| (*content_type, *bytes))
}
