//! `[session]`'s store: `store`, `redis_url`, `cluster`, `key_prefix`, `redis_timeout`
//! (DESIGN §6).

use std::time::Duration;

use super::Checker;
use crate::config::raw::{RawRedisUrls, RawSession};
use crate::config::{RedisConfig, SessionStoreKind};

const DEFAULT_KEY_PREFIX: &str = "portcullis:";
const DEFAULT_REDIS_TIMEOUT: Duration = Duration::from_secs(2);

impl Checker<'_, '_> {
    /// The store and the Redis settings; `None` when something is wrong (reported).
    pub(super) fn session_store(
        &mut self,
        raw: Option<&RawSession>,
    ) -> Option<(SessionStoreKind, Option<RedisConfig>)> {
        let store = self.optional(
            raw.and_then(|raw| raw.store.as_ref()),
            "session.store",
            |this, text, key| match text.value.as_str() {
                "cookie" => Some(SessionStoreKind::Cookie),
                "redis" => Some(SessionStoreKind::Redis),
                other => {
                    this.error(
                        text.offset,
                        key,
                        format!("`{other}` is not a session store: write \"cookie\" or \"redis\""),
                    );
                    None
                }
            },
        );
        let cluster = raw.and_then(|raw| raw.cluster).unwrap_or(false);
        let urls = match raw.and_then(|raw| raw.redis_url.as_ref()) {
            None => None,
            Some(urls) => self.redis_urls(urls, cluster),
        };
        let key_prefix = self.optional(
            raw.and_then(|raw| raw.key_prefix.as_ref()),
            "session.key_prefix",
            |this, text, key| this.non_empty(text, key),
        );
        let timeout = self.optional(
            raw.and_then(|raw| raw.redis_timeout.as_ref()),
            "session.redis_timeout",
            |this, text, key| this.duration(&text, key),
        );
        let store = store?.unwrap_or(SessionStoreKind::Cookie);
        let has_url = raw.is_some_and(|raw| raw.redis_url.is_some());
        if store == SessionStoreKind::Redis && !has_url {
            self.missing(
                "session",
                "session.redis_url",
                "store = \"redis\" needs redis_url, like \"redis://127.0.0.1:6379/0\"",
            );
            return None;
        }
        if cluster && !has_url {
            self.missing(
                "session",
                "session.redis_url",
                "cluster = true needs redis_url with the cluster's nodes, like \
                 [\"redis://10.0.0.1:6379\", \"redis://10.0.0.2:6379\"]",
            );
            return None;
        }
        let (key_prefix, timeout) = (key_prefix?, timeout?);
        let redis = match urls {
            Some(urls) => Some(RedisConfig {
                urls,
                cluster,
                key_prefix: key_prefix.unwrap_or_else(|| DEFAULT_KEY_PREFIX.to_owned()),
                timeout: timeout.unwrap_or(DEFAULT_REDIS_TIMEOUT),
            }),
            None if has_url => return None,
            None => None,
        };
        Some((store, redis))
    }

    /// One URL (`redis://`, `rediss://`, `redis+sentinel://host:26379/service`), or with
    /// `cluster` one or more `redis://` / `rediss://` nodes.
    fn redis_urls(&mut self, raw: &RawRedisUrls, cluster: bool) -> Option<Vec<String>> {
        let (texts, listed): (Vec<_>, bool) = match raw {
            RawRedisUrls::One(text) => (vec![text], false),
            RawRedisUrls::Several(texts) => (texts.iter().collect(), true),
        };
        if texts.is_empty() || (texts.len() > 1 && !cluster) {
            let offset = texts.first().map_or(0, |t| t.span().start);
            self.error(
                offset,
                "session.redis_url",
                "give one URL, or set cluster = true to list the nodes of a Redis Cluster",
            );
            return None;
        }
        let mut urls = Vec::new();
        let mut complete = true;
        for (index, raw) in texts.into_iter().enumerate() {
            let key = if listed {
                format!("session.redis_url[{index}]")
            } else {
                "session.redis_url".to_owned()
            };
            let Some(text) = self.text(raw, &key) else {
                complete = false;
                continue;
            };
            match check_redis_url(&text.value, cluster) {
                Ok(()) => urls.push(text.value),
                Err(message) => {
                    self.error(text.offset, &key, message);
                    complete = false;
                }
            }
        }
        complete.then_some(urls)
    }
}

/// The URL forms the Redis client understands, with a host; a cluster's nodes are plain
/// `redis://` or `rediss://` URLs.
fn check_redis_url(value: &str, cluster: bool) -> Result<(), String> {
    // The URL may carry a password: no message quotes it.
    let url = url::Url::parse(value).map_err(|err| {
        format!("the value is not a URL ({err}); write one like \"redis://127.0.0.1:6379/0\"")
    })?;
    let schemes: &[&str] = if cluster {
        &["redis", "rediss"]
    } else {
        &["redis", "rediss", "redis+sentinel", "rediss+sentinel"]
    };
    if !schemes.contains(&url.scheme()) {
        return Err(format!(
            "`{}` is not a Redis URL scheme: write {}",
            url.scheme(),
            schemes
                .iter()
                .map(|s| format!("{s}://"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the Redis URL has no host".to_owned());
    }
    if url.scheme().ends_with("+sentinel") && url.path().trim_matches('/').is_empty() {
        return Err("a Sentinel URL names the service after the host, like \
             \"redis+sentinel://127.0.0.1:26379/mymaster\""
            .to_owned());
    }
    Ok(())
}
