//! What `portcullis check` prints for a good file (issue 15 point 7): what the file
//! configures, so a file that is valid but not what was meant (a provider left out, a route
//! that is public by mistake, sessions in the cookie rather than Redis) shows at a glance.
//! Never a secret: Redis URLs, which may carry a password, are counted, not shown.

use std::fmt::Write as _;

use super::{Config, SessionStoreKind, UpstreamConfig, UpstreamTarget};

impl Config {
    /// The listener, each provider, each upstream and the session store, one per line.
    pub fn summary(&self) -> String {
        let server = &self.server;
        let mut out = String::new();
        let scheme = if server.tls.is_some() {
            " (https, server.tls)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "listen {}{scheme}, public URL {}",
            server.listen, server.public_url
        );
        let _ = writeln!(out, "{}:", counted(self.providers.len(), "provider"));
        for provider in &self.providers {
            let _ = write!(
                out,
                "  {}: {}, \"{}\"",
                provider.id,
                provider.kind.as_str(),
                provider.name
            );
            if let Some(issuer) = provider.issuer() {
                let _ = write!(out, ", issuer {issuer}");
            }
            if let Some(local) = provider.local() {
                let _ = write!(out, ", users {}", local.users_file.display());
            }
            out.push('\n');
        }
        let _ = writeln!(out, "{}:", counted(self.upstreams.len(), "upstream"));
        for upstream in &self.upstreams {
            let _ = writeln!(out, "  {}", upstream_line(upstream));
        }
        let session = &self.session;
        let store = match (session.store, &session.redis) {
            (SessionStoreKind::Redis, Some(redis)) => format!(
                "redis ({}{}, key prefix \"{}\")",
                counted(redis.urls.len(), "URL"),
                if redis.cluster { ", cluster" } else { "" },
                redis.key_prefix
            ),
            (SessionStoreKind::Redis, None) => "redis".to_owned(),
            (SessionStoreKind::Cookie, _) => "cookie (the sealed session itself)".to_owned(),
        };
        let _ = write!(out, "session store: {store}");
        if session.secret.is_none() {
            out.push_str(
                "; no session.secret: an ephemeral one is made at start-up, so sessions end \
                 when the gateway restarts",
            );
        }
        out
    }
}

/// `/app -> http://127.0.0.1:8080/, sign-in required`, with its host and what lets requests
/// through without a session.
fn upstream_line(upstream: &UpstreamConfig) -> String {
    let host = match &upstream.host {
        Some(super::HostPattern::Exact(host)) => host.clone(),
        Some(super::HostPattern::Subdomains(domain)) => format!("*.{domain}"),
        None => String::new(),
    };
    let target = match &upstream.target {
        UpstreamTarget::Http(url) => url.as_str().to_owned(),
        UpstreamTarget::Echo => "builtin:echo".to_owned(),
    };
    let mut line = format!("{host}{} -> {target}, ", upstream.path);
    line.push_str(if upstream.public {
        "public"
    } else {
        "sign-in required"
    });
    if !upstream.public && !upstream.skip_auth.is_empty() {
        let _ = write!(
            line,
            " (but {})",
            counted(upstream.skip_auth.len(), "skip_auth rule")
        );
    }
    if upstream.allow.is_some() {
        line.push_str(", allow rules");
    }
    line
}

/// `1 provider`, `2 providers`.
fn counted(n: usize, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{n} {thing}s")
    }
}

#[cfg(test)]
mod tests;
