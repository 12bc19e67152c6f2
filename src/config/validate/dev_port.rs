//! The development provider and the port (issue 15 point 3): the gateway fetches the dev
//! provider's discovery from `{public_url}/oauth2/dev`, so on a loopback `public_url` whose
//! port is not `listen`'s it would ask another port forever (sign-in and `/ready` 503).

use std::net::{IpAddr, SocketAddr};

use url::{Host, Url};

use crate::config::raw::RawServer;
use crate::config::validate::Checker;
use crate::config::{ProviderConfig, ProviderKind};

impl Checker<'_, '_> {
    /// Refuses a loopback `public_url` on another port than a loopback `listen` when a `dev`
    /// provider is configured.
    pub(super) fn dev_port(
        &mut self,
        raw: Option<&RawServer>,
        listen: Option<SocketAddr>,
        public_url: Option<&Url>,
        providers: Option<&[ProviderConfig]>,
    ) {
        let has_dev =
            providers.is_some_and(|list| list.iter().any(|p| p.kind == ProviderKind::Dev));
        let (Some(listen), Some(public_url)) = (listen, public_url) else {
            return;
        };
        let Some(port) = public_url.port_or_known_default() else {
            return;
        };
        if !has_dev
            || !listen.ip().is_loopback()
            || !is_loopback(public_url)
            || port == listen.port()
        {
            return;
        }
        let offset = raw
            .and_then(|server| server.public_url.as_ref())
            .map_or(0, |text| text.span().start);
        let host = public_url.host_str().unwrap_or("127.0.0.1");
        self.error(
            offset,
            "server.public_url",
            format!(
                "the \"dev\" provider is reached through public_url, on port {port}, but the \
                 gateway listens on {listen}: it would fetch its own discovery from the wrong \
                 port and never be ready. Change both to the same port, e.g. listen = \
                 \"{listen}\" and public_url = \"{scheme}://{host}:{listen_port}\"",
                scheme = public_url.scheme(),
                listen_port = listen.port(),
            ),
        );
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests;
