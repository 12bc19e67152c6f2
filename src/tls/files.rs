//! The PEM files of `server.tls` (the listener's certificate chain and private key) and of
//! `ca_file` (extra trusted roots), read and checked in full when the configuration is, so a
//! bad file is a configuration error at its key, never a failed handshake later.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

/// The ring provider, the one every TLS configuration of the gateway is built with.
pub(super) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Why a certificate, key or CA file cannot be used. Each names the file; none prints key
/// material.
#[derive(Debug, thiserror::Error)]
pub enum TlsFileError {
    #[error("{} cannot be read: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not valid PEM: {source}", path.display())]
    NotPem {
        path: PathBuf,
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    #[error(
        "{} holds no PEM certificate (a `-----BEGIN CERTIFICATE-----` block)",
        path.display()
    )]
    NoCertificate { path: PathBuf },
    #[error(
        "{} holds no PEM private key (a `-----BEGIN PRIVATE KEY-----`, `RSA PRIVATE KEY` or \
         `EC PRIVATE KEY` block)",
        path.display()
    )]
    NoKey { path: PathBuf },
    #[error("the private key in {} cannot be used: {source}", path.display())]
    BadKey {
        path: PathBuf,
        #[source]
        source: rustls::Error,
    },
    #[error("the certificate in {} cannot be used: {source}", path.display())]
    BadCertificate {
        path: PathBuf,
        #[source]
        source: rustls::Error,
    },
    #[error(
        "the private key in {} does not belong to the first certificate in {}",
        key.display(),
        cert.display()
    )]
    KeyMismatch { cert: PathBuf, key: PathBuf },
}

/// `server.tls = { cert, key }`: the certificate chain (the server's own certificate first,
/// then its intermediates) and the private key that belongs to it, read and checked.
#[derive(Clone)]
pub struct ServerTls {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub(super) certified: Arc<CertifiedKey>,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .field("chain", &self.certified.cert.len())
            .finish_non_exhaustive()
    }
}

/// The same files with the same certificates (a reload that changed nothing).
impl PartialEq for ServerTls {
    fn eq(&self, other: &ServerTls) -> bool {
        self.cert == other.cert && self.key == other.key && self.chain() == other.chain()
    }
}

impl ServerTls {
    /// Reads `cert` and `key` and checks that the key is one rustls can sign with and is the
    /// first certificate's.
    pub fn load(cert: &Path, key: &Path) -> Result<ServerTls, TlsFileError> {
        let chain = read_certificates(cert)?;
        let pem = read(key)?;
        let private_key = match PrivateKeyDer::from_pem_slice(&pem) {
            Ok(private_key) => private_key,
            Err(rustls::pki_types::pem::Error::NoItemsFound) => {
                return Err(TlsFileError::NoKey { path: key.into() })
            }
            Err(source) => {
                return Err(TlsFileError::NotPem {
                    path: key.into(),
                    source,
                })
            }
        };
        let certified = CertifiedKey::from_der(chain, private_key, &provider())
            .map_err(|source| classify(cert, key, source))?;
        Ok(ServerTls {
            cert: cert.into(),
            key: key.into(),
            certified: Arc::new(certified),
        })
    }

    /// The same files read again (a reload).
    pub fn reload(&self) -> Result<ServerTls, TlsFileError> {
        ServerTls::load(&self.cert, &self.key)
    }

    /// The certificate chain, DER-encoded, the server's own first.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.certified.cert
    }
}

/// Which file a failure of `CertifiedKey::from_der` is about.
fn classify(cert: &Path, key: &Path, source: rustls::Error) -> TlsFileError {
    match source {
        rustls::Error::InconsistentKeys(_) => TlsFileError::KeyMismatch {
            cert: cert.into(),
            key: key.into(),
        },
        rustls::Error::General(_) => TlsFileError::BadKey {
            path: key.into(),
            source,
        },
        source => TlsFileError::BadCertificate {
            path: cert.into(),
            source,
        },
    }
}

/// A `ca_file`: a PEM bundle of certificates trusted as roots on top of the built-in ones.
#[derive(Clone)]
pub struct CaFile {
    pub path: PathBuf,
    certificates: Vec<CertificateDer<'static>>,
}

impl std::fmt::Debug for CaFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaFile")
            .field("path", &self.path)
            .field("certificates", &self.certificates.len())
            .finish()
    }
}

impl PartialEq for CaFile {
    fn eq(&self, other: &CaFile) -> bool {
        self.path == other.path && self.certificates == other.certificates
    }
}

impl CaFile {
    /// Reads `path`: at least one certificate, each usable as a trust anchor.
    pub fn load(path: &Path) -> Result<CaFile, TlsFileError> {
        let certificates = read_certificates(path)?;
        for certificate in &certificates {
            let mut store = rustls::RootCertStore::empty();
            store
                .add(certificate.clone())
                .map_err(|source| TlsFileError::BadCertificate {
                    path: path.into(),
                    source,
                })?;
        }
        Ok(CaFile {
            path: path.into(),
            certificates,
        })
    }

    /// The bundle's certificates, DER-encoded.
    pub fn certificates(&self) -> &[CertificateDer<'static>] {
        &self.certificates
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsFileError> {
    std::fs::read(path).map_err(|source| TlsFileError::Read {
        path: path.into(),
        source,
    })
}

/// Every `CERTIFICATE` block of the PEM file at `path`; at least one.
fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsFileError> {
    let pem = read(path)?;
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsFileError::NotPem {
            path: path.into(),
            source,
        })?;
    if certificates.is_empty() {
        return Err(TlsFileError::NoCertificate { path: path.into() });
    }
    Ok(certificates)
}
