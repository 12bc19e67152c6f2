//! `[server]`: the bind address and the public URL browsers use.

use std::net::SocketAddr;

use url::Url;

use super::{is_loopback, Checker, Str};
use crate::config::raw::RawServer;
use crate::config::ServerConfig;

impl Checker<'_, '_> {
    pub(super) fn server(
        &mut self,
        raw: Option<&RawServer>,
    ) -> (Option<SocketAddr>, Option<ServerConfig>) {
        let Some(raw) = raw else {
            self.missing(
                "server",
                "server",
                "there is no [server] section; add one with `listen` (like \"127.0.0.1:4180\") \
                 and `public_url` (like \"https://auth.example.com\")",
            );
            return (None, None);
        };
        let listen = self
            .required(
                raw.listen.as_ref(),
                "server",
                "server.listen",
                "`listen` is required: the address to bind, like \"127.0.0.1:4180\"",
            )
            .and_then(|text| self.socket_address(&text, "server.listen"));
        let public_url = self
            .required(
                raw.public_url.as_ref(),
                "server",
                "server.public_url",
                "`public_url` is required: the URL browsers use to reach the gateway, like \
                 \"https://auth.example.com\"",
            )
            .and_then(|text| self.public_url(&text, raw.allow_insecure_http.unwrap_or(false)));
        let server = match (listen, public_url) {
            (Some(listen), Some(public_url)) => Some(ServerConfig {
                listen,
                public_url,
                auto_redirect: raw.auto_redirect.unwrap_or(false),
            }),
            _ => None,
        };
        (listen, server)
    }

    fn socket_address(&mut self, text: &Str, key: &str) -> Option<SocketAddr> {
        let parsed = text.value.parse::<SocketAddr>();
        if parsed.is_err() {
            self.error(
                text.offset,
                key,
                format!(
                    "`{}` is not a socket address: write an IP address and a port, like \
                     \"127.0.0.1:4180\", \"0.0.0.0:4180\" or \"[::1]:4180\" (host names are not \
                     accepted)",
                    text.value
                ),
            );
        }
        parsed.ok()
    }

    fn public_url(&mut self, text: &Str, allow_insecure_http: bool) -> Option<Url> {
        const KEY: &str = "server.public_url";
        let url = self.web_url(text, KEY)?;
        if url.path() != "/" {
            self.error(
                text.offset,
                KEY,
                format!(
                    "`public_url` must be an origin without a path (found `{}`): the gateway \
                     serves its pages under /oauth2/ at the root, like \"https://auth.example.com\"",
                    url.path()
                ),
            );
            return None;
        }
        if url.scheme() == "http" && !is_loopback(&url) && !allow_insecure_http {
            self.error(
                text.offset,
                KEY,
                format!(
                    "`{}` uses http:// on a host that is not loopback, so session cookies would \
                     cross the network unencrypted; use an https:// public_url (with TLS in front \
                     of the gateway), or set `allow_insecure_http = true` under [server] to accept \
                     the risk",
                    text.value
                ),
            );
            return None;
        }
        Some(url)
    }
}
