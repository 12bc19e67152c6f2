//! The protocol side of a `[[provider]]` of kind `oidc` or `dev`: issuer and client
//! credentials, or their absence (the development provider makes its own). The other kinds
//! are in `presets.rs`.

use std::net::SocketAddr;

use secrecy::SecretString;

use super::{is_loopback, Checker, Str};
use crate::config::raw::RawProvider;
use crate::config::{LocalAccounts, OAuth2Api, ProviderPreset};

const DEV_CLIENT_ID: &str = "portcullis-dev";

/// What a kind's checks yield beyond the common settings: the protocol with its issuer and
/// secret where it has them (`token_endpoint_auth` and `bearer` are added once all is checked).
pub(super) enum Protocol {
    Oidc {
        issuer: String,
        secret: SecretString,
        preset: ProviderPreset,
    },
    OAuth2 {
        secret: SecretString,
        api: OAuth2Api,
    },
    Dev,
    Local(LocalAccounts),
}

impl Checker<'_, '_> {
    /// `issuer`, `client_id` and `client_secret` of an `oidc` provider: all required.
    pub(super) fn oidc_client(
        &mut self,
        raw: &RawProvider,
        table: &str,
    ) -> Option<(String, Protocol)> {
        let issuer_key = format!("{table}.issuer");
        let issuer = self
            .required(
                raw.issuer.as_ref(),
                table,
                &issuer_key,
                "`issuer` is required for kind \"oidc\": the provider's issuer URL, like \
                 \"https://accounts.google.com\"",
            )
            .and_then(|text| self.issuer(&text, &issuer_key));
        let client_id = self
            .required(
                raw.client_id.as_ref(),
                table,
                &format!("{table}.client_id"),
                "`client_id` is required for kind \"oidc\": the client id your provider issued",
            )
            .and_then(|text| self.non_empty(text, &format!("{table}.client_id")));
        let client_secret = self
            .required(
                raw.client_secret.as_ref(),
                table,
                &format!("{table}.client_secret"),
                "`client_secret` is required for kind \"oidc\": the client secret your provider \
                 issued, preferably as \"${VARIABLE}\"",
            )
            .and_then(|text| self.non_empty(text, &format!("{table}.client_secret")));
        Some((
            client_id?,
            Protocol::Oidc {
                issuer: issuer?,
                secret: SecretString::from(client_secret?),
                preset: ProviderPreset::None,
            },
        ))
    }

    /// The issuer exactly as written: it is compared character for character with the
    /// discovery document's `issuer` and the ID token's `iss`, so it is not normalised.
    pub(super) fn issuer(&mut self, text: &Str, key: &str) -> Option<String> {
        let url = self.web_url(text, key)?;
        if url.scheme() == "https" || is_loopback(&url) {
            return Some(text.value.clone());
        }
        self.error(
            text.offset,
            key,
            format!(
                "issuer `{}` must use https:// (http:// is accepted only on a loopback host, for \
                 local testing)",
                text.value
            ),
        );
        None
    }

    /// A `dev` provider: no issuer or client secret (the gateway makes its own), and a
    /// loopback `listen` address, because it lets anyone sign in as anyone.
    pub(super) fn dev_client(
        &mut self,
        raw: &RawProvider,
        table: &str,
        listen: Option<SocketAddr>,
        kind: &Str,
    ) -> Option<(String, Protocol)> {
        let mut complete = true;
        if let Some(issuer) = &raw.issuer {
            self.error(
                issuer.span().start,
                &format!("{table}.issuer"),
                "a \"dev\" provider serves its own issuer at {public_url}/oauth2/dev: remove \
                 `issuer`",
            );
            complete = false;
        }
        if let Some(secret) = &raw.client_secret {
            self.error(
                secret.span().start,
                &format!("{table}.client_secret"),
                "a \"dev\" provider generates its own client secret at start-up: remove \
                 `client_secret`",
            );
            complete = false;
        }
        if let Some(listen) = listen.filter(|listen| !listen.ip().is_loopback()) {
            self.error(
                kind.offset,
                &format!("{table}.kind"),
                format!(
                    "the \"dev\" provider lets anyone sign in as anyone, so it runs only when \
                     server.listen is a loopback address like \"127.0.0.1:4180\" (found \
                     `{listen}`); configure a real provider to listen elsewhere"
                ),
            );
            complete = false;
        }
        let client_id_key = format!("{table}.client_id");
        let client_id = self.optional(raw.client_id.as_ref(), &client_id_key, |this, text, key| {
            this.non_empty(text, key)
        });
        let client_id = client_id?.unwrap_or_else(|| DEV_CLIENT_ID.to_owned());
        complete.then_some((client_id, Protocol::Dev))
    }
}
