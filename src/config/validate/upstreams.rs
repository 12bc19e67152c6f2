//! `[[upstream]]`: hosts, path prefixes, the apps behind them and who may reach them.

use std::collections::HashMap;
use std::time::Duration;

use super::authorize::is_hostname;
use super::{Checker, Str};
use crate::config::errors::line_column;
use crate::config::raw::RawUpstream;
use crate::config::{HostPattern, UpstreamConfig, UpstreamTarget, DEFAULT_WEBSOCKET_IDLE_TIMEOUT};

const DEFAULT_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);
const ECHO_TARGET: &str = "builtin:echo";

impl Checker<'_, '_> {
    pub(super) fn upstreams(
        &mut self,
        raw: &[RawUpstream],
        providers: Option<&[String]>,
    ) -> Option<Vec<UpstreamConfig>> {
        if raw.is_empty() {
            self.missing(
                "upstream",
                "upstream",
                "no [[upstream]] is configured: add one with path = \"/\" and \
                 url = \"http://127.0.0.1:8080\" (or url = \"builtin:echo\")",
            );
            return None;
        }
        let mut seen = HashMap::new();
        let mut upstreams = Some(Vec::with_capacity(raw.len()));
        for (index, raw) in raw.iter().enumerate() {
            let upstream = self.upstream(index, raw, &mut seen, providers);
            match (upstream, upstreams.as_mut()) {
                (Some(upstream), Some(list)) => list.push(upstream),
                _ => upstreams = None,
            }
        }
        upstreams
    }

    fn upstream(
        &mut self,
        index: usize,
        raw: &RawUpstream,
        seen: &mut HashMap<String, usize>,
        providers: Option<&[String]>,
    ) -> Option<UpstreamConfig> {
        let table = format!("upstream[{index}]");
        let host = self.optional(
            raw.host.as_ref(),
            &format!("{table}.host"),
            |this, text, key| this.host_pattern(&text, key),
        );
        let path_key = format!("{table}.path");
        let path = self
            .required(
                raw.path.as_ref(),
                &table,
                &path_key,
                "`path` is required: the path prefix this upstream serves, like \"/\"",
            )
            .and_then(|text| {
                let host = host.as_ref().and_then(Option::as_ref);
                self.upstream_path(text, &path_key, host, seen)
            });
        let url_key = format!("{table}.url");
        let target = self
            .required(
                raw.url.as_ref(),
                &table,
                &url_key,
                "`url` is required: where to send requests, like \"http://127.0.0.1:8080\" \
                 (or \"builtin:echo\")",
            )
            .and_then(|text| self.upstream_target(&text, &url_key));
        let timeout = self.optional(
            raw.timeout.as_ref(),
            &format!("{table}.timeout"),
            |this, text, key| this.duration(&text, key),
        );
        let websocket_idle_timeout = self.optional(
            raw.websocket_idle_timeout.as_ref(),
            &format!("{table}.websocket_idle_timeout"),
            |this, text, key| this.duration(&text, key),
        );
        let allow = match &raw.allow {
            None => Some(None),
            Some(_) if raw.public == Some(true) => {
                let offset = self.places.table_start(&table);
                self.error(
                    offset,
                    &format!("{table}.allow"),
                    "a public upstream admits everyone, so `allow` would have no effect: \
                     remove `public = true` or `allow`",
                );
                None
            }
            Some(allow) => self
                .route_rules(allow, &format!("{table}.allow"), &table, providers)
                .map(Some),
        };
        let skip_auth = self.skip_auth(raw.skip_auth.as_deref().unwrap_or_default(), &table);
        let ca_file = self.ca_file(raw.ca_file.as_ref(), &format!("{table}.ca_file"));
        Some(UpstreamConfig {
            path: path?,
            target: target?,
            public: raw.public.unwrap_or(false),
            pass_access_token: raw.pass_access_token.unwrap_or(false),
            pass_authorization_header: raw.pass_authorization_header.unwrap_or(false),
            timeout: timeout?.unwrap_or(DEFAULT_UPSTREAM_TIMEOUT),
            websocket_idle_timeout: websocket_idle_timeout?
                .unwrap_or(DEFAULT_WEBSOCKET_IDLE_TIMEOUT),
            host: host?,
            allow: allow?,
            skip_auth: skip_auth?,
            cors_preflight: raw.cors_preflight.unwrap_or(false),
            ca_files: ca_file?.into_iter().collect(),
        })
    }

    /// A path prefix, unique for its host (an upstream without `host` counts as one more
    /// host, "any").
    fn upstream_path(
        &mut self,
        text: Str,
        key: &str,
        host: Option<&HostPattern>,
        seen: &mut HashMap<String, usize>,
    ) -> Option<String> {
        let (host_key, on_host) = match host {
            None => (String::new(), String::new()),
            Some(HostPattern::Exact(name)) => (name.clone(), format!(" on host `{name}`")),
            Some(HostPattern::Subdomains(parent)) => {
                (format!("*.{parent}"), format!(" on host `*.{parent}`"))
            }
        };
        let seen_key = format!("{host_key} {}", text.value);
        let problem = if !text.value.starts_with('/') {
            format!("upstream path `{}` must start with `/`", text.value)
        } else if text
            .value
            .chars()
            .any(|c| c == '?' || c == '#' || c.is_whitespace() || c.is_control())
        {
            format!(
                "upstream path `{}` must be a plain path prefix, without `?`, `#` or spaces",
                text.value
            )
        } else if let Some(first) = seen.get(&seen_key).copied() {
            let (line, _) = line_column(self.diagnostics.source(), first);
            format!(
                "duplicate upstream path `{}`{on_host}: it is already used on line {line}",
                text.value
            )
        } else {
            seen.insert(seen_key, text.offset);
            return Some(text.value);
        };
        self.error(text.offset, key, problem);
        None
    }

    fn upstream_target(&mut self, text: &Str, key: &str) -> Option<UpstreamTarget> {
        if text.value == ECHO_TARGET {
            return Some(UpstreamTarget::Echo);
        }
        if text.value.starts_with("builtin:") {
            self.error(
                text.offset,
                key,
                format!(
                    "unknown built-in upstream `{}`: the only one is \"{ECHO_TARGET}\"",
                    text.value
                ),
            );
            return None;
        }
        self.web_url(text, key)
            .map(|url| UpstreamTarget::Http(url.into()))
    }

    /// `app.example.com` or `*.example.com` (subdomains only), without scheme, port or path.
    fn host_pattern(&mut self, text: &Str, key: &str) -> Option<HostPattern> {
        let lowered = text.value.to_ascii_lowercase();
        let name = lowered.strip_suffix('.').unwrap_or(&lowered);
        let problem = if name == "*" {
            "`*` is every host: leave `host` out to serve any host".to_owned()
        } else if let Some(parent) = name.strip_prefix("*.") {
            if is_hostname(parent) {
                return Some(HostPattern::Subdomains(parent.to_owned()));
            }
            format!(
                "`{}` is not a valid host pattern: after `*.` comes a domain name, like \
                 \"*.example.com\"",
                text.value
            )
        } else if is_hostname(name) {
            return Some(HostPattern::Exact(name.to_owned()));
        } else if name.contains('*') {
            format!(
                "`{}` is not a valid host pattern: the only wildcard is a leading `*.`, like \
                 \"*.example.com\" (its subdomains)",
                text.value
            )
        } else if name.contains(['/', ':']) {
            format!(
                "`{}` must be a host name only, like \"app.example.com\": no scheme, port or path",
                text.value
            )
        } else {
            format!(
                "`{}` is not a valid host name, like \"app.example.com\"",
                text.value
            )
        };
        self.error(text.offset, key, problem);
        None
    }
}
