//! TLS (DESIGN §11): reading the PEM files that `server.tls` and `ca_file` name
//! ([`files`]), the listener's certificate, which a reload swaps without a restart
//! ([`ServerCertificate`]), and the rustls configurations of the listener and of the outbound
//! clients. Everything runs on rustls' ring provider, the only one compiled in.
//!
//! `ca_file` bundles are *added* to the built-in roots (Mozilla's, from `webpki-roots`), not put
//! in their place: an operator who adds the company CA for one provider must not lose the
//! public roots that the provider's other endpoints (a CDN-hosted JWKS, say) are signed under,
//! and a mistyped bundle then fails one private host, not every public one.

mod certificate;
mod files;

use rustls::RootCertStore;

pub use certificate::ServerCertificate;
pub use files::{CaFile, ServerTls, TlsFileError};

/// The roots an outbound client trusts: the built-in ones plus every certificate of `extra`.
pub(crate) fn root_store<'a>(extra: impl IntoIterator<Item = &'a CaFile>) -> RootCertStore {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for file in extra {
        // Each was accepted as a trust anchor when the file was read.
        roots.add_parsable_certificates(file.certificates().iter().cloned());
    }
    roots
}

/// A client configuration (TLS 1.2 and 1.3, no client certificate) trusting [`root_store`].
pub(crate) fn client_config<'a>(
    extra: impl IntoIterator<Item = &'a CaFile>,
) -> rustls::ClientConfig {
    let roots = root_store(extra);
    match rustls::ClientConfig::builder_with_provider(files::provider())
        .with_safe_default_protocol_versions()
    {
        Ok(builder) => builder.with_root_certificates(roots).with_no_client_auth(),
        // Not reached: the ring provider supports the default versions. rustls' own default
        // (the same provider, the only one compiled in) keeps this free of a panic.
        Err(_) => rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    }
}

#[cfg(test)]
mod tests;
