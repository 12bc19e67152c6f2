//! `server.tls` and the three `ca_file`s: files found next to the configuration file and
//! read, and every bad one reported at the key naming it, with its line and the path.

use std::path::PathBuf;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

use crate::config::{Config, ConfigError, ConfigErrors};

/// A directory of its own holding `providers.toml` and the PEM files it names: a CA
/// (`ca.pem`), a certificate it signed (`cert.pem`) with its key (`key.pem`), and another key
/// (`other-key.pem`).
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!(
            "portcullis-tls-config-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        let dir = Dir(dir);
        dir.write("ca.pem", &ca.pem());
        dir.write("cert.pem", &cert.pem());
        dir.write("key.pem", &key.serialize_pem());
        dir.write(
            "other-key.pem",
            &KeyPair::generate().unwrap().serialize_pem(),
        );
        dir.write("notes.txt", "not PEM at all\n");
        dir
    }

    fn write(&self, path: &str, content: &str) {
        std::fs::write(self.0.join(path), content).unwrap();
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }

    /// `[server]` gets `server`, the provider `provider`, the upstream `upstream`.
    fn parse(&self, server: &str, provider: &str, upstream: &str) -> Result<Config, ConfigErrors> {
        Config::parse(
            &source(server, provider, upstream),
            &self.path("providers.toml"),
            &|_| None,
        )
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn source(server: &str, provider: &str, upstream: &str) -> String {
    format!(
        "[server]\nlisten = \"127.0.0.1:4180\"\npublic_url = \"https://auth.example.com\"\n{server}\n\n\
         [session]\nsecret = \"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\"\n\n\
         [[provider]]\nid = \"corp\"\nkind = \"oidc\"\nissuer = \"https://sso.example.com\"\n\
         client_id = \"portcullis\"\nclient_secret = \"secret\"\n{provider}\n\n\
         [authorize]\nemail_domains = [\"example.com\"]\n\n[[upstream]]\npath = \"/\"\n\
         url = \"https://app.internal:8443\"\n{upstream}\n"
    )
}

/// The one problem reported, checked to be at `key` on the line holding `needle`.
fn single_at(errors: ConfigErrors, key: &str, needle: &str, whole: &str) -> ConfigError {
    assert_eq!(errors.0.len(), 1, "{errors}");
    let error = errors.0.into_iter().next().unwrap();
    assert_eq!(error.key, key, "{error:?}");
    let line = whole.lines().position(|l| l.contains(needle)).unwrap() + 1;
    assert_eq!(error.line, line, "{error:?}");
    error
}

#[test]
fn tls_and_ca_files_load_relative_to_the_configuration_file() {
    let dir = Dir::new("good");
    let config = dir
        .parse(
            "tls = { cert = \"cert.pem\", key = \"key.pem\" }\nca_file = \"ca.pem\"",
            "ca_file = \"ca.pem\"",
            "ca_file = \"ca.pem\"",
        )
        .unwrap();
    let tls = config.server.tls.as_ref().unwrap();
    assert_eq!(tls.cert, dir.0.join("cert.pem"));
    assert_eq!(tls.key, dir.0.join("key.pem"));
    assert_eq!(tls.chain().len(), 1);
    let server_ca = config.server.ca_file.clone().unwrap();
    assert_eq!(server_ca.path, dir.0.join("ca.pem"));
    // `server.ca_file` first, then the provider's or upstream's own.
    assert_eq!(config.providers[0].ca_files.len(), 2);
    assert_eq!(config.providers[0].ca_files[0], server_ca);
    assert_eq!(config.upstreams[0].ca_files.len(), 2);

    let plain = dir.parse("", "", "").unwrap();
    assert!(plain.server.tls.is_none());
    assert!(plain.providers[0].ca_files.is_empty());
    assert!(plain.upstreams[0].ca_files.is_empty());
}

#[test]
fn bad_tls_files_are_reported_at_the_key_with_the_path() {
    let dir = Dir::new("bad-tls");
    // (server block, key reported, needle of its line, words the message has)
    let cases: [(&str, &str, &str, &[&str]); 6] = [
        (
            "tls = { cert = \"missing.pem\", key = \"key.pem\" }",
            "server.tls.cert",
            "missing.pem",
            &["missing.pem", "cannot be read"],
        ),
        (
            "tls = { cert = \"notes.txt\", key = \"key.pem\" }",
            "server.tls.cert",
            "notes.txt",
            &["notes.txt", "no PEM certificate"],
        ),
        (
            "tls = { cert = \"cert.pem\", key = \"cert.pem\" }",
            "server.tls.key",
            "tls =",
            &["cert.pem", "no PEM private key"],
        ),
        (
            "tls = { cert = \"cert.pem\", key = \"other-key.pem\" }",
            "server.tls.key",
            "other-key.pem",
            &["other-key.pem", "does not belong", "cert.pem"],
        ),
        (
            "tls = { cert = \"cert.pem\", key = \"nowhere.pem\" }",
            "server.tls.key",
            "nowhere.pem",
            &["nowhere.pem", "cannot be read"],
        ),
        (
            "tls = { cert = \"cert.pem\" }",
            "server.tls.key",
            "tls =",
            &["`key` is required"],
        ),
    ];
    for (server, key, needle, words) in cases {
        let whole = source(server, "", "");
        let error = single_at(dir.parse(server, "", "").unwrap_err(), key, needle, &whole);
        for word in words {
            assert!(error.message.contains(word), "{server}: {}", error.message);
        }
    }
}

#[test]
fn bad_ca_files_are_reported_at_their_key_wherever_they_are() {
    let dir = Dir::new("bad-ca");
    let cases = [
        ("ca_file = \"absent.pem\"", "", "", "server.ca_file"),
        ("", "ca_file = \"notes.txt\"", "", "provider[0].ca_file"),
        ("", "", "ca_file = \"key.pem\"", "upstream[0].ca_file"),
    ];
    for (server, provider, upstream, key) in cases {
        let whole = source(server, provider, upstream);
        let errors = dir.parse(server, provider, upstream).unwrap_err();
        let error = single_at(errors, key, "ca_file", &whole);
        assert!(error.message.contains(&dir.path("")), "{}", error.message);
        assert!(error.message.contains("PEM bundle"), "{}", error.message);
    }
}
