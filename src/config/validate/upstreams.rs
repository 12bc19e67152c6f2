//! `[[upstream]]`: path prefixes and the apps behind them.

use std::collections::HashMap;
use std::time::Duration;

use super::{Checker, Str};
use crate::config::errors::line_column;
use crate::config::raw::RawUpstream;
use crate::config::{UpstreamConfig, UpstreamTarget};

const DEFAULT_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);
const ECHO_TARGET: &str = "builtin:echo";

impl Checker<'_, '_> {
    pub(super) fn upstreams(&mut self, raw: &[RawUpstream]) -> Option<Vec<UpstreamConfig>> {
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
            let upstream = self.upstream(index, raw, &mut seen);
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
    ) -> Option<UpstreamConfig> {
        let table = format!("upstream[{index}]");
        let path_key = format!("{table}.path");
        let path = self
            .required(
                raw.path.as_ref(),
                &table,
                &path_key,
                "`path` is required: the path prefix this upstream serves, like \"/\"",
            )
            .and_then(|text| self.upstream_path(text, &path_key, seen));
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
        Some(UpstreamConfig {
            path: path?,
            target: target?,
            public: raw.public.unwrap_or(false),
            pass_access_token: raw.pass_access_token.unwrap_or(false),
            pass_authorization_header: raw.pass_authorization_header.unwrap_or(false),
            timeout: timeout?.unwrap_or(DEFAULT_UPSTREAM_TIMEOUT),
        })
    }

    fn upstream_path(
        &mut self,
        text: Str,
        key: &str,
        seen: &mut HashMap<String, usize>,
    ) -> Option<String> {
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
        } else if let Some(first) = seen.get(&text.value).copied() {
            let (line, _) = line_column(self.diagnostics.source(), first);
            format!(
                "duplicate upstream path `{}`: it is already used on line {line}",
                text.value
            )
        } else {
            seen.insert(text.value.clone(), text.offset);
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
        self.web_url(text, key).map(UpstreamTarget::Http)
    }
}
