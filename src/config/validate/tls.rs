//! The TLS keys (DESIGN §11): `server.tls = { cert, key }` and the `ca_file` of `[server]`,
//! of a `[[provider]]` and of an `[[upstream]]`. Paths are relative to the configuration
//! file's directory; the files are read and checked here (`crate::tls`), so a missing file,
//! one that is not PEM, a key that is not the certificate's or a bundle without a
//! certificate is reported at its key, by `portcullis check` too.

use toml::Spanned;

use super::{Checker, Str};
use crate::config::raw::{RawTls, Text};
use crate::config::Config;
use crate::tls::{CaFile, ServerTls};

/// Puts `server.ca_file` first in every provider's and upstream's `ca_files`, so each client
/// is built from its own list alone.
pub(super) fn share_server_ca_file(config: &mut Config) {
    let Some(server) = config.server.ca_file.clone() else {
        return;
    };
    for provider in &mut config.providers {
        provider.ca_files.insert(0, server.clone());
    }
    for upstream in &mut config.upstreams {
        upstream.ca_files.insert(0, server.clone());
    }
}

impl Checker<'_, '_> {
    /// `server.tls`: `Some(None)` when absent.
    pub(super) fn server_tls(
        &mut self,
        raw: Option<&Spanned<RawTls>>,
    ) -> Option<Option<ServerTls>> {
        let Some(spanned) = raw else {
            return Some(None);
        };
        let (at, raw) = (spanned.span().start, spanned.get_ref());
        let cert = self.tls_file(
            raw.cert.as_ref(),
            at,
            "server.tls.cert",
            "certificate chain",
        );
        let key = self.tls_file(
            raw.key.as_ref(),
            at,
            "server.tls.key",
            "certificate's private key",
        );
        let cert_offset = cert.as_ref().map_or(0, |cert| cert.offset);
        let key_offset = key.as_ref().map_or(0, |key| key.offset);
        let cert = cert.and_then(|text| self.file_path(text, "server.tls.cert"));
        let key = key.and_then(|text| self.file_path(text, "server.tls.key"));
        let (cert, key) = (cert?, key?);
        match ServerTls::load(&cert, &key) {
            Ok(tls) => Some(Some(tls)),
            Err(error) => {
                use crate::tls::TlsFileError as E;
                let (offset, at) = match &error {
                    E::Read { path, .. } | E::NotPem { path, .. } if *path == key => {
                        (key_offset, "server.tls.key")
                    }
                    E::NoKey { .. } | E::BadKey { .. } | E::KeyMismatch { .. } => {
                        (key_offset, "server.tls.key")
                    }
                    _ => (cert_offset, "server.tls.cert"),
                };
                self.error(
                    offset,
                    at,
                    format!(
                        "{error}: give the PEM certificate chain (the server's certificate \
                         first) in `cert` and its private key in `key` (relative paths start \
                         at this file's directory)"
                    ),
                );
                None
            }
        }
    }

    /// `cert` or `key` of `server.tls` (written at `at`), which is required.
    fn tls_file(&mut self, raw: Option<&Text>, at: usize, key: &str, what: &str) -> Option<Str> {
        if let Some(raw) = raw {
            return self.text(raw, key);
        }
        if !self.places.was_dropped(key) {
            let field = key.rsplit('.').next().unwrap_or(key);
            self.error(
                at,
                key,
                format!(
                    "`{field}` is required in `tls`: the PEM file of the {what}, like \
                     tls = {{ cert = \"cert.pem\", key = \"key.pem\" }}"
                ),
            );
        }
        None
    }

    /// A `ca_file` (`key` is its TOML path): `Some(None)` when absent.
    pub(super) fn ca_file(&mut self, raw: Option<&Text>, key: &str) -> Option<Option<CaFile>> {
        self.optional(raw, key, |this, text, key| {
            let offset = text.offset;
            let path = this.file_path(text, key)?;
            match CaFile::load(&path) {
                Ok(ca) => Some(ca),
                Err(error) => {
                    this.error(
                        offset,
                        key,
                        format!(
                            "{error}: `ca_file` is a PEM bundle of the CA certificates to trust \
                             on top of the built-in roots (relative paths start at this \
                             file's directory)"
                        ),
                    );
                    None
                }
            }
        })
    }
}
