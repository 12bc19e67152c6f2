//! The listener's certificate as a rustls [`ResolvesServerCert`]: every handshake takes the
//! certificate in force at that moment, and [`ServerCertificate::reload`] (or
//! [`ServerCertificate::replace`]) swaps it without a restart. Connections already open keep
//! the certificate they were set up with.

use std::sync::{Arc, PoisonError, RwLock};

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::files::provider;
use super::{ServerTls, TlsFileError};

/// The ALPN protocols the listener offers (RFC 7301): HTTP/2 first (RFC 9113 §3.2), then
/// HTTP/1.1. A client that offers neither, or no ALPN at all, speaks HTTP/1.1, or HTTP/2 with
/// prior knowledge; the listener tells them apart by the first bytes as on plain TCP.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// The certificate the listener presents; cheap to clone, every clone swaps the same one.
#[derive(Clone, Debug)]
pub struct ServerCertificate(Arc<Resolver>);

#[derive(Debug)]
struct Resolver {
    current: RwLock<ServerTls>,
}

impl ServerCertificate {
    /// Starts with `tls`, as read and checked with the configuration.
    pub fn new(tls: ServerTls) -> ServerCertificate {
        ServerCertificate(Arc::new(Resolver {
            current: RwLock::new(tls),
        }))
    }

    /// Reads the certificate and key files again (the paths in force) and, when both are
    /// good and belong together, makes them the certificate of every new handshake. On an
    /// error the certificate in force stays and the error says which file is wrong.
    ///
    /// For hot reload (DESIGN §11): call it on SIGHUP or when either file changes. A reload
    /// that brings a new configuration, whose `server.tls` may name other files, calls
    /// [`ServerCertificate::replace`] with the `ServerTls` its validation already read.
    pub fn reload(&self) -> Result<(), TlsFileError> {
        let reloaded = self.current().reload()?;
        self.replace(reloaded);
        Ok(())
    }

    /// Makes `tls` the certificate of every new handshake.
    pub fn replace(&self, tls: ServerTls) {
        tracing::info!(cert = %tls.cert.display(), key = %tls.key.display(), "TLS certificate loaded");
        *self
            .0
            .current
            .write()
            .unwrap_or_else(PoisonError::into_inner) = tls;
    }

    /// The certificate in force.
    pub fn current(&self) -> ServerTls {
        self.0
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The listener's rustls configuration: TLS 1.2 and 1.3, no client certificates, ALPN
    /// `h2` and `http/1.1`, the certificate from this resolver.
    pub(crate) fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let resolver: Arc<dyn ResolvesServerCert> = Arc::clone(&self.0) as _;
        let mut config = match rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
        {
            Ok(builder) => builder.with_no_client_auth().with_cert_resolver(resolver),
            // Not reached: the ring provider supports the default versions.
            Err(_) => rustls::ServerConfig::builder()
                .with_no_client_auth()
                .with_cert_resolver(resolver),
        };
        config.alpn_protocols = ALPN.iter().map(|protocol| protocol.to_vec()).collect();
        Arc::new(config)
    }
}

impl ResolvesServerCert for Resolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
        Some(Arc::clone(&current.certified))
    }
}
