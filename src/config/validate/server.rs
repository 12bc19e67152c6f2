//! `[server]`: the bind address (and that of `/metrics`), the public URL browsers use, the
//! proxies whose forwarding headers are believed, the hosts an absolute `rd` may name and the
//! bounds on client connections ([`connections`]), and the rate limit on the login endpoints.

use std::net::SocketAddr;

use toml::Spanned;
use url::{Host, Url};

use super::{is_loopback, Checker, Str};
use crate::config::raw::{RawServer, Text};
use crate::config::{IpNetwork, ServerConfig};

mod connections;

/// Requests per minute per client address to the login endpoints: ten a second, sustained
/// or at once. A person's sign-in takes two (`/oauth2/start`, the callback); this leaves
/// room for an office behind one address signing in at nine o'clock, and still holds a
/// script that hammers the callback (each one makes the gateway call the provider) or the
/// password endpoints to ten a second.
pub(crate) const DEFAULT_LOGIN_RATE_LIMIT: u32 = 600;

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
        let trusted_proxies = self.trusted_proxies(raw.trusted_proxies.as_deref());
        let allowed_redirect_hosts = self.list(
            raw.allowed_redirect_hosts.as_deref(),
            "server.allowed_redirect_hosts",
            |this, text, key| this.redirect_host(&text, key),
        );
        let connections = self.connections(raw);
        let login_rate_limit = self.login_rate_limit(raw.login_rate_limit.as_ref());
        let metrics_listen = self.metrics_listen(raw.metrics_listen.as_ref(), listen);
        let log_format = self.log_format(raw.log_format.as_ref());
        let tls = self.server_tls(raw.tls.as_ref());
        let ca_file = self.ca_file(raw.ca_file.as_ref(), "server.ca_file");
        let server = match (
            listen,
            public_url,
            trusted_proxies,
            allowed_redirect_hosts,
            connections,
            login_rate_limit,
            metrics_listen,
            log_format,
            tls,
            ca_file,
        ) {
            (
                Some(listen),
                Some(public_url),
                Some(trusted_proxies),
                Some(allowed_redirect_hosts),
                Some(connections),
                Some(login_rate_limit),
                Some(metrics_listen),
                Some(log_format),
                Some(tls),
                Some(ca_file),
            ) => Some(ServerConfig {
                listen,
                metrics_listen,
                public_url,
                auto_redirect: raw.auto_redirect.unwrap_or(false),
                trusted_proxies,
                allowed_redirect_hosts,
                connections,
                login_rate_limit,
                log_format,
                tls,
                ca_file,
            }),
            _ => None,
        };
        (listen, server)
    }

    /// `server.login_rate_limit`: `Some(None)` for `0`, the default when absent.
    fn login_rate_limit(&mut self, raw: Option<&Spanned<i64>>) -> Option<Option<u32>> {
        let Some(raw) = raw else {
            return Some(Some(DEFAULT_LOGIN_RATE_LIMIT));
        };
        match u32::try_from(*raw.get_ref()) {
            Ok(0) => Some(None),
            Ok(limit) => Some(Some(limit)),
            Err(_) => {
                self.error(
                    raw.span().start,
                    "server.login_rate_limit",
                    format!(
                        "`{}` is not a number of requests per minute: write a whole number \
                         (like {DEFAULT_LOGIN_RATE_LIMIT}, the default), or 0 for no limit",
                        raw.get_ref()
                    ),
                );
                None
            }
        }
    }

    /// `server.metrics_listen`: `Some(None)` when absent (`/metrics` on `listen`); an address
    /// of its own, never `listen` itself.
    fn metrics_listen(
        &mut self,
        raw: Option<&Text>,
        listen: Option<SocketAddr>,
    ) -> Option<Option<SocketAddr>> {
        const KEY: &str = "server.metrics_listen";
        let Some(raw) = raw else {
            return Some(None);
        };
        let text = self.text(raw, KEY)?;
        let address = self.socket_address(&text, KEY)?;
        if Some(address) == listen && address.port() != 0 {
            self.error(
                text.offset,
                KEY,
                format!(
                    "`{address}` is `listen` itself: give /metrics an address of its own, like \
                     \"127.0.0.1:9090\", or leave `metrics_listen` out to serve it on `listen`"
                ),
            );
            return None;
        }
        Some(Some(address))
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

    /// Every entry an IP address or a CIDR network; duplicates dropped.
    fn trusted_proxies(&mut self, raw: Option<&[Text]>) -> Option<Vec<IpNetwork>> {
        let mut networks: Vec<IpNetwork> = Vec::new();
        let mut complete = true;
        for (index, raw) in raw.unwrap_or_default().iter().enumerate() {
            let key = format!("server.trusted_proxies[{index}]");
            let Some(text) = self.text(raw, &key) else {
                complete = false;
                continue;
            };
            match IpNetwork::parse(&text.value) {
                Ok(network) if networks.contains(&network) => {}
                Ok(network) => networks.push(network),
                Err(message) => {
                    self.error(
                        text.offset,
                        &key,
                        format!(
                            "{message}: list the proxies in front of the gateway as IP addresses \
                             or CIDR networks, like \"127.0.0.1\", \"10.0.0.0/8\" or \"::1\""
                        ),
                    );
                    complete = false;
                }
            }
        }
        complete.then_some(networks)
    }

    /// `app.example.com` (that host) or `.example.com` (the domain and its subdomains), as
    /// [`crate::redirect::RedirectTarget`] matches them; normalised like URL hosts.
    fn redirect_host(&mut self, text: &Str, key: &str) -> Option<String> {
        match parse_redirect_host(&text.value) {
            Ok(host) => Some(host),
            Err(message) => {
                self.error(text.offset, key, message);
                None
            }
        }
    }
}

fn parse_redirect_host(value: &str) -> Result<String, String> {
    let value = value.trim();
    let how = "write a host name like \"app.example.com\" for that host only, or one with a \
               leading dot like \".example.com\" for the domain and all its subdomains";
    if value.starts_with("*.") {
        return Err(format!("`{value}`: wildcards are not supported; {how}"));
    }
    let (dot, name) = match value.strip_prefix('.') {
        Some(name) => (".", name),
        None => ("", value),
    };
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
    let ipv6 = name.starts_with('[') && name.ends_with(']') && dot.is_empty();
    if name.is_empty() || !(ipv6 || name.chars().all(|c| plain(c) || !c.is_ascii())) {
        return Err(format!(
            "`{value}` is not a host name (no scheme, port, path or wildcard); {how}"
        ));
    }
    match Host::parse(name) {
        Ok(Host::Domain(domain)) if !domain.starts_with('.') && !domain.ends_with('.') => {
            Ok(format!("{dot}{domain}"))
        }
        Ok(host @ (Host::Ipv4(_) | Host::Ipv6(_))) if dot.is_empty() => Ok(host.to_string()),
        _ => Err(format!("`{value}` is not a host name; {how}")),
    }
}

#[cfg(test)]
mod tests;
