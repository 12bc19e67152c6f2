//! The Redis client layer under the Redis session store (DESIGN.md §6): one shared
//! connection (a single server, a Sentinel service or a Cluster), the few commands the store
//! needs, each bounded by `redis_timeout` and turned into a [`RedisError`] that says why in
//! words fit for a log line. Redis being down is never fatal: the client redials forever with
//! capped back-off, and calls fail at once until it is back.

// Its caller, the Redis session store (src/session/…), is written on another branch; remove
// this once it is merged.

mod link;
mod settings;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use fred::clients::Client;
use fred::error::{Error as FredError, ErrorKind};
use fred::interfaces::{ClientLike, KeysInterface, LuaInterface, SetsInterface};
use fred::types::{Expiration, SetOptions, Value};
use tokio::sync::watch;

use crate::config::RedisConfig;
use crate::metrics::{Metrics, StoreFailure};
use link::LinkState;
pub(crate) use settings::UrlProblem;

/// Deletes KEYS[1] only while it holds ARGV[1]: releasing a lock one still holds.
const DELETE_IF_SCRIPT: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
     return redis.call('DEL', KEYS[1]) else return 0 end";

/// SADD ARGV[1] to KEYS[1], then make the set live at least ARGV[2] ms from now: a new set
/// gets the TTL, a set expiring sooner is extended, one expiring later (or never) is left.
const ADD_MEMBER_SCRIPT: &str = "local existed = redis.call('EXISTS', KEYS[1]) \
     redis.call('SADD', KEYS[1], ARGV[1]) \
     local ttl = redis.call('PTTL', KEYS[1]) \
     if existed == 0 or (ttl >= 0 and ttl < tonumber(ARGV[2])) then \
       redis.call('PEXPIRE', KEYS[1], ARGV[2]) end \
     return 1";

/// A connection to Redis shared by the whole gateway; cheap to clone.
#[derive(Clone)]
pub(crate) struct Redis {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    link: watch::Receiver<LinkState>,
    key_prefix: String,
    timeout: Duration,
    cluster: bool,
    /// Where failed commands are counted (`portcullis_session_store_errors_total`).
    metrics: Arc<Metrics>,
}

/// Why a Redis call failed; Display says why in words fit for a log line (never a password).
#[derive(Debug, thiserror::Error)]
pub(crate) enum RedisError {
    /// No answer within `redis_timeout`.
    #[error("Redis did not answer within {0:?}")]
    Timeout(Duration),
    /// Not connected (refused, unreachable, TLS or authentication failure, connection lost).
    #[error("Redis is unavailable")]
    Unavailable(#[source] FredError),
    /// Redis answered with an error, or with a reply of an unexpected shape.
    #[error("Redis answered with an error or an unexpected reply")]
    Protocol(#[source] FredError),
    /// A configured URL the client cannot use.
    #[error("a Redis URL cannot be used")]
    InvalidUrl(#[source] UrlProblem),
    /// [`Redis::connect`] was called outside a Tokio runtime.
    #[error("the Redis client needs a Tokio runtime to connect in")]
    NoRuntime,
}

impl Redis {
    /// Builds the client and starts connecting in the background. An unreachable server is NOT an
    /// error here (the gateway still starts; calls fail until it is back, and reconnection is
    /// automatic, forever, with capped back-off). Err only for a URL the client cannot use.
    /// Every command that fails is counted in `metrics`.
    pub(crate) fn connect(
        config: &RedisConfig,
        metrics: Arc<Metrics>,
    ) -> Result<Redis, RedisError> {
        let builder = settings::builder(config).map_err(RedisError::InvalidUrl)?;
        let client = builder
            .build()
            .map_err(|err| RedisError::InvalidUrl(UrlProblem::Client(err)))?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(RedisError::NoRuntime);
        }
        let link = link::follow(&client);
        // The task redials forever; it ends with the runtime.
        drop(client.connect());
        Ok(Redis {
            inner: Arc::new(Inner {
                client,
                link,
                key_prefix: config.key_prefix.clone(),
                timeout: config.timeout,
                cluster: config.cluster,
                metrics,
            }),
        })
    }

    /// `key_prefix` + `name` (joined without `format!`: the Redis store names a key on every
    /// request).
    pub(crate) fn key(&self, name: &str) -> String {
        let prefix = &self.inner.key_prefix;
        let mut key = String::with_capacity(prefix.len() + name.len());
        key.push_str(prefix);
        key.push_str(name);
        key
    }

    pub(crate) async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, RedisError> {
        let value: Value = self.call(|| self.inner.client.get(key)).await?;
        self.bytes(value)
    }

    /// Values of several keys, in order (in cluster mode, keys may live on different nodes: do
    /// not send one cross-slot MGET there).
    pub(crate) async fn get_many(
        &self,
        keys: &[String],
    ) -> Result<Vec<Option<Vec<u8>>>, RedisError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let client = &self.inner.client;
        let values: Vec<Value> = if self.inner.cluster {
            let gets = || {
                let gets = keys.iter().map(|key| client.get::<Value, _>(key.as_str()));
                futures::future::try_join_all(gets)
            };
            self.call(gets).await?
        } else {
            match self.call(|| client.mget::<Value, _>(keys.to_vec())).await? {
                Value::Array(values) if values.len() == keys.len() => values,
                other => return Err(self.unexpected(&other)),
            }
        };
        values.into_iter().map(|value| self.bytes(value)).collect()
    }

    /// SET with a TTL (at least 1 second; round up).
    pub(crate) async fn set(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<(), RedisError> {
        let expiry = Some(Expiration::EX(ttl_seconds(ttl)));
        let set = || {
            self.inner
                .client
                .set::<Value, _, _>(key, value.to_vec(), expiry, None, false)
        };
        self.call(set).await.map(drop)
    }

    /// SET NX with a TTL: true when this call created the key (locks, one-time tokens).
    pub(crate) async fn set_new(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, RedisError> {
        let expiry = Some(Expiration::EX(ttl_seconds(ttl)));
        let options = Some(SetOptions::NX);
        let set = || {
            self.inner
                .client
                .set::<Value, _, _>(key, value.to_vec(), expiry, options, false)
        };
        match self.call(set).await? {
            Value::Null => Ok(false),
            Value::String(reply) if reply == "OK" => Ok(true),
            other => Err(self.unexpected(&other)),
        }
    }

    /// Deletes the keys (no error for missing ones; cluster-safe).
    pub(crate) async fn delete(&self, keys: &[String]) -> Result<(), RedisError> {
        if keys.is_empty() {
            return Ok(());
        }
        let client = &self.inner.client;
        if self.inner.cluster {
            let dels = || {
                let dels = keys.iter().map(|key| client.del::<i64, _>(key.as_str()));
                futures::future::try_join_all(dels)
            };
            self.call(dels).await.map(drop)
        } else {
            self.call(|| client.del::<i64, _>(keys.to_vec()))
                .await
                .map(drop)
        }
    }

    /// Deletes `key` only while it still holds `value` (releasing a lock one holds), atomically
    /// (a Lua script); true when it was deleted.
    pub(crate) async fn delete_if(&self, key: &str, value: &[u8]) -> Result<bool, RedisError> {
        let eval = || {
            self.inner
                .client
                .eval::<i64, _, _, _>(DELETE_IF_SCRIPT, key, vec![value.to_vec()])
        };
        Ok(self.call(eval).await? == 1)
    }

    /// SADD `member` and make the set live at least `ttl` from now (never shorten it).
    pub(crate) async fn add_member(
        &self,
        key: &str,
        member: &str,
        ttl: Duration,
    ) -> Result<(), RedisError> {
        let millis = ttl_seconds(ttl).saturating_mul(1000);
        let args = vec![member.to_owned(), millis.to_string()];
        let eval = || {
            self.inner
                .client
                .eval::<i64, _, _, _>(ADD_MEMBER_SCRIPT, key, args)
        };
        self.call(eval).await.map(drop)
    }

    pub(crate) async fn members(&self, key: &str) -> Result<Vec<String>, RedisError> {
        self.call(|| self.inner.client.smembers::<Vec<String>, _>(key))
            .await
    }

    pub(crate) async fn remove_member(&self, key: &str, member: &str) -> Result<(), RedisError> {
        self.call(|| self.inner.client.srem::<i64, _, _>(key, member))
            .await
            .map(drop)
    }

    /// PING, for `/ready`.
    pub(crate) async fn ping(&self) -> Result<(), RedisError> {
        self.call(|| self.inner.client.ping::<Value>(None))
            .await
            .map(drop)
    }

    /// Runs the command `command` makes within the timeout, failing at once while the
    /// connection is down.
    ///
    /// Boxed: the client's command futures are many KiB, and every future that may talk to
    /// Redis (a request's session lookup among them, on either store) would otherwise carry
    /// that size and move it around, even on a request that never reaches Redis. The command's
    /// future is made only here, straight into a box of its own, so that it is copied once:
    /// made by the caller, it was moved into this future and this future into its box, tens
    /// of KiB copied per command (a session lookup on the Redis store spent a fifth of its
    /// instructions in those copies).
    fn call<'a, T: 'a, C: Future<Output = Result<T, FredError>> + 'a>(
        &'a self,
        command: impl FnOnce() -> C + 'a,
    ) -> Pin<Box<impl Future<Output = Result<T, RedisError>> + 'a>> {
        let timeout = self.inner.timeout;
        Box::pin(async move {
            let bounded = async {
                self.connected().await?;
                Box::pin(command()).await.map_err(|err| self.classify(err))
            };
            let result = tokio::time::timeout(timeout, bounded)
                .await
                .unwrap_or(Err(RedisError::Timeout(timeout)));
            if let Err(error) = &result {
                self.count(error);
            }
            result
        })
    }

    /// A failed command, in `portcullis_session_store_errors_total`.
    fn count(&self, error: &RedisError) {
        let failure = match error {
            RedisError::Timeout(_) => StoreFailure::Timeout,
            RedisError::Protocol(_) => StoreFailure::Protocol,
            RedisError::Unavailable(_) | RedisError::InvalidUrl(_) | RedisError::NoRuntime => {
                StoreFailure::Unavailable
            }
        };
        self.inner.metrics.store_failed(failure);
    }

    /// Waits for the first connection attempt to finish, then fails while Redis is down (its
    /// error says why: a timeout, a refusal, a lost connection).
    async fn connected(&self) -> Result<(), RedisError> {
        let mut link = self.inner.link.clone();
        let down = match link
            .wait_for(|state| !matches!(state, LinkState::Starting))
            .await
        {
            Ok(state) => match &*state {
                LinkState::Down(error) => Some(error.clone()),
                LinkState::Starting | LinkState::Up => None,
            },
            Err(_) => Some(FredError::new(
                ErrorKind::Canceled,
                "the Redis client stopped",
            )),
        };
        // The link, not `client.is_connected()`: the client still says connected for a while
        // after a lost connection has been reported, and commands sent then would queue.
        down.map_or(Ok(()), |error| Err(self.classify(error)))
    }

    /// Resolves once connected (tests of reconnection wait on this rather than on time).
    #[cfg(test)]
    async fn until_connected(&self) {
        let mut link = self.inner.link.clone();
        let _ = link.wait_for(|state| matches!(state, LinkState::Up)).await;
    }

    /// Resolves once the loss of the connection has been noticed.
    #[cfg(test)]
    async fn until_disconnected(&self) {
        let mut link = self.inner.link.clone();
        let _ = link
            .wait_for(|state| matches!(state, LinkState::Down(_)))
            .await;
    }

    fn classify(&self, error: FredError) -> RedisError {
        match error.kind() {
            ErrorKind::Timeout => RedisError::Timeout(self.inner.timeout),
            ErrorKind::IO
            | ErrorKind::Canceled
            | ErrorKind::Tls
            | ErrorKind::Auth
            | ErrorKind::Config
            | ErrorKind::Url
            | ErrorKind::Routing
            | ErrorKind::Cluster
            | ErrorKind::Sentinel
            | ErrorKind::Backpressure => RedisError::Unavailable(error),
            _ => RedisError::Protocol(error),
        }
    }

    /// A GET-style reply: nil, or the bytes of a string.
    fn bytes(&self, value: Value) -> Result<Option<Vec<u8>>, RedisError> {
        match value {
            Value::Null => Ok(None),
            Value::Bytes(bytes) => Ok(Some(bytes.to_vec())),
            Value::String(text) => Ok(Some(text.as_bytes().to_vec())),
            other => Err(self.unexpected(&other)),
        }
    }

    /// A reply of a shape the command never has; counted like a failed command.
    fn unexpected(&self, value: &Value) -> RedisError {
        let kind = value.kind();
        let error = RedisError::Protocol(FredError::new(
            ErrorKind::Protocol,
            format!("unexpected {kind:?} reply"),
        ));
        self.count(&error);
        error
    }
}

/// A TTL in whole seconds for EX/EXPIRE: rounded up, at least 1.
fn ttl_seconds(ttl: Duration) -> i64 {
    let whole = ttl
        .as_secs()
        .saturating_add(u64::from(ttl.subsec_nanos() > 0));
    i64::try_from(whole.max(1)).unwrap_or(i64::MAX)
}
