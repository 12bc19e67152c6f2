//! Reading `server.tls` and `ca_file` files made here with rcgen: what is accepted, and what
//! each bad file is reported as.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

use super::{CaFile, ServerCertificate, ServerTls, TlsFileError};

struct Pki {
    dir: PathBuf,
    ca: CertifiedIssuer<'static, KeyPair>,
}

impl Pki {
    fn new(name: &str) -> Pki {
        let dir =
            std::env::temp_dir().join(format!("portcullis-tls-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Pki { dir, ca }
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// A certificate for localhost signed by the CA, and its key: (cert, key) PEM.
    fn leaf(&self) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .signed_by(&key, &self.ca)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

fn load(pki: &Pki, cert: &str, key: &str) -> Result<ServerTls, TlsFileError> {
    let cert = pki.write("cert.pem", cert);
    let key = pki.write("key.pem", key);
    ServerTls::load(&cert, &key)
}

#[test]
fn a_certificate_and_its_key_load_and_a_reload_swaps_them() {
    let pki = Pki::new("good");
    let (cert, key) = pki.leaf();
    let tls = load(&pki, &cert, &key).unwrap();
    assert_eq!(tls.chain().len(), 1);
    let certificate = ServerCertificate::new(tls.clone());
    let (cert2, key2) = pki.leaf();
    pki.write("cert.pem", &cert2);
    pki.write("key.pem", &key2);
    certificate.reload().unwrap();
    assert_ne!(certificate.current().chain(), tls.chain());
    // A broken file keeps the certificate in force.
    pki.write("key.pem", "not a key");
    assert!(matches!(
        certificate.reload(),
        Err(TlsFileError::NoKey { .. })
    ));
    assert_ne!(certificate.current().chain(), tls.chain());
}

#[test]
fn bad_server_files_say_what_is_wrong_with_which_file() {
    let pki = Pki::new("bad");
    let (cert, key) = pki.leaf();
    let (_, other_key) = pki.leaf();
    let missing = ServerTls::load(
        Path::new("/nonexistent/cert.pem"),
        Path::new("/nonexistent/key.pem"),
    );
    assert!(
        matches!(missing, Err(TlsFileError::Read { .. })),
        "{missing:?}"
    );
    let not_pem = load(&pki, "hello", &key);
    assert!(
        matches!(not_pem, Err(TlsFileError::NoCertificate { .. })),
        "{not_pem:?}"
    );
    let key_as_cert = load(&pki, &key, &key);
    assert!(matches!(
        key_as_cert,
        Err(TlsFileError::NoCertificate { .. })
    ));
    let cert_as_key = load(&pki, &cert, &cert);
    assert!(matches!(cert_as_key, Err(TlsFileError::NoKey { .. })));
    let mismatch = load(&pki, &cert, &other_key).unwrap_err();
    assert!(
        matches!(mismatch, TlsFileError::KeyMismatch { .. }),
        "{mismatch:?}"
    );
    assert!(
        mismatch.to_string().contains("does not belong"),
        "{mismatch}"
    );
    let garbage = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    let bad = load(&pki, garbage, &key);
    assert!(
        matches!(bad, Err(TlsFileError::BadCertificate { .. })),
        "{bad:?}"
    );
}

#[test]
fn a_ca_file_holds_trust_anchors_added_to_the_built_in_roots() {
    let pki = Pki::new("ca");
    let path = pki.write("ca.pem", &pki.ca.pem());
    let ca = CaFile::load(&path).unwrap();
    assert_eq!(ca.certificates().len(), 1);
    let roots = super::root_store([&ca]);
    assert_eq!(roots.len(), webpki_roots::TLS_SERVER_ROOTS.len() + 1);

    let empty = pki.write("empty.pem", "no certificates here\n");
    assert!(matches!(
        CaFile::load(&empty),
        Err(TlsFileError::NoCertificate { .. })
    ));
    let garbage = pki.write(
        "garbage.pem",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    );
    assert!(matches!(
        CaFile::load(&garbage),
        Err(TlsFileError::BadCertificate { .. })
    ));
}
