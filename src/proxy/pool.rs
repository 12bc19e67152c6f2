//! The upstream connections kept open between requests (HTTP/1.1 keep-alive, RFC 9112 §9.3),
//! one idle list per upstream origin and thread.
//!
//! A connection is taken from its list for one exchange and put back when the response's
//! last byte has been read, by the response body itself. Each connection runs in a task of
//! its own on the event loop that opened it (one runtime per core, see `crate::server`), as
//! hyper's client connections usually do: the request's task hands it the request and
//! yields, so that the requests of many client connections reach the upstream together
//! rather than one per wake-up of the upstream (with the upstream on the same CPU, driving
//! the connection from the request's task instead was preempted on nearly every request; the
//! README's Performance section has the measurement). The lists are per thread, so that a
//! thread reuses the connections its own event loop runs. An idle connection the upstream
//! closed ends its task and is dropped when it is next taken. A protocol switch (WebSocket)
//! leaves the connection's I/O to the tunnel. A request that an idle connection could not
//! even start (the upstream closed it at that moment, which keep-alive allows, RFC 9112
//! §9.6) is sent again on a new connection; one that was started is never resent.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::thread::ThreadId;
use std::time::Duration;

use axum::body::{Body, Bytes};
use http::header::HOST;
use http::uri::{Authority, PathAndQuery, Scheme, Uri};
use http::{HeaderValue, Request, Response, StatusCode};
use hyper::body::{Body as _, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use tokio::time::Instant;
use tower::ServiceExt as _;

/// Idle connections kept per upstream origin at most; more are closed when they come back.
const MAX_IDLE_PER_ORIGIN: usize = 512;

/// How large a connection's read buffer may grow. hyper's default (about 400 KiB) lets each
/// connection that streams a large body hold that much (64 streams: 25 MiB); a response head
/// must fit (nginx allows 4 or 8 KiB by default, `proxy_buffer_size`).
const READ_BUFFER_LIMIT: usize = 64 * 1024;

/// Why an exchange failed before a response head arrived.
#[derive(Debug, thiserror::Error)]
pub(super) enum SendError {
    /// No connection: refused, unresolvable, timed out, TLS failed.
    #[error("connecting failed")]
    Connect(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The connection broke HTTP, or closed, during the exchange.
    #[error("the exchange failed")]
    Exchange(#[source] hyper::Error),
    /// The request target has no scheme and authority to connect to.
    #[error("the request has no upstream origin")]
    NoOrigin,
}

/// The idle connections of every upstream origin, and how new ones are made.
pub(super) struct Pool {
    connector: HttpsConnector<HttpConnector>,
    idle_timeout: Duration,
    idle: Mutex<IdleLists>,
}

/// The idle connections by thread and origin. Keys are the configured upstreams' origins and
/// the gateway's own threads, never chosen by a client, so a plain FNV-1a hash serves: SipHash,
/// fed an origin's authority a byte at a time, cost more than the rest of a checkout.
///
/// A request finds its list's place once, by hash; taking a connection from the list and
/// giving it back go to that place directly. Lists are never removed, so a place stays valid.
#[derive(Default)]
struct IdleLists {
    places: HashMap<(ThreadId, Origin), usize, BuildHasherDefault<Fnv>>,
    lists: Vec<Vec<Idle>>,
}

/// FNV-1a, 64 bits.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[derive(Clone, Eq)]
struct Origin {
    scheme: Scheme,
    authority: Authority,
}

/// `Authority`'s own equality, case-blind (RFC 3986 §6.2.2.1), compares a byte at a time;
/// the authorities compared here come from the configuration, equal as written nearly
/// always, so that comparison runs only when the texts differ.
impl PartialEq for Origin {
    fn eq(&self, other: &Origin) -> bool {
        let (ours, theirs) = (self.authority.as_str(), other.authority.as_str());
        self.scheme == other.scheme && (ours == theirs || ours.eq_ignore_ascii_case(theirs))
    }
}

/// Hashes what tells a few configured origins apart cheaply: the authority's length and its
/// last bytes (the port, mostly), lowered as `Authority`'s case-blind equality requires.
/// Equality still compares everything; a collision only costs a comparison.
impl std::hash::Hash for Origin {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let authority = self.authority.as_str().as_bytes();
        state.write_usize(authority.len());
        let tail = authority
            .get(authority.len().saturating_sub(8)..)
            .unwrap_or_default();
        for byte in tail {
            state.write_u8(byte.to_ascii_lowercase());
        }
        state.write_u8(u8::from(self.scheme == Scheme::HTTPS));
    }
}

struct Idle {
    upstream: Upstream,
    since: Instant,
}

/// One upstream connection: the handle requests are sent on. The connection itself runs in
/// a task of its own on this thread's event loop.
struct Upstream {
    sender: SendRequest<Body>,
}

impl Upstream {
    /// Whether the connection can take a request now: it has not ended and has finished the
    /// previous exchange. One the upstream closed while it was idle ends here.
    async fn ready(&mut self) -> bool {
        self.sender.ready().await.is_ok()
    }
}

impl Pool {
    pub(super) fn new(connector: HttpsConnector<HttpConnector>, idle_timeout: Duration) -> Pool {
        Pool {
            connector,
            idle_timeout,
            idle: Mutex::default(),
        }
    }

    /// Sends `req` (absolute-form, as `super::prepare_request` makes it) to its origin, on an
    /// idle connection when there is one, and answers with the response head; its body
    /// gives the connection back when it has been read to the end.
    pub(super) async fn send(
        self: &Arc<Self>,
        mut req: Request<Body>,
    ) -> Result<Response<Body>, SendError> {
        let uri = req.uri().clone();
        let (Some(scheme), Some(authority)) = (uri.scheme(), uri.authority()) else {
            return Err(SendError::NoOrigin);
        };
        let origin = Origin {
            scheme: scheme.clone(),
            authority: authority.clone(),
        };
        if !req.headers().contains_key(HOST) {
            if let Ok(host) = HeaderValue::from_str(authority.as_str()) {
                req.headers_mut().insert(HOST, host);
            }
        }
        // HTTP/1.1 to an origin server: the origin form (RFC 9112 §3.2.1).
        *req.uri_mut() = uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"))
            .into();
        let place = self.place(origin);
        loop {
            let (mut upstream, reused) = match self.checkout(place).await {
                Some(upstream) => (upstream, true),
                // Boxed: connecting (TCP, TLS, the HTTP/1.1 handshake) is a future of
                // kilobytes that every request's future would otherwise carry and move,
                // though most requests find an idle connection.
                None => (Box::pin(self.connect(&uri)).await?, false),
            };
            match upstream.sender.try_send_request(req).await {
                Ok(response) => {
                    if response.status() == StatusCode::SWITCHING_PROTOCOLS {
                        // The connection is the tunnel's now: its task hands its I/O over to
                        // the upgrade.
                        return Ok(response.map(|body| Body::new(PooledBody { body, home: None })));
                    }
                    let home = Some(Home {
                        pool: Arc::clone(self),
                        place,
                        upstream,
                    });
                    return Ok(response.map(|body| Body::new(PooledBody { body, home })));
                }
                Err(mut failed) => match failed.take_message() {
                    // Not started on a connection the upstream had just closed: again, on a
                    // new one.
                    Some(unsent) if reused => req = unsent,
                    _ => return Err(SendError::Exchange(failed.into_error())),
                },
            }
        }
    }

    /// The place of this thread's idle list for `origin`, made when it has none yet.
    fn place(&self, origin: Origin) -> usize {
        let key = (std::thread::current().id(), origin);
        let mut idle = self.lock();
        if let Some(&place) = idle.places.get(&key) {
            return place;
        }
        let place = idle.lists.len();
        idle.lists.push(Vec::new());
        idle.places.insert(key, place);
        place
    }

    /// An idle connection from the list at `place` that can take a request, newest first;
    /// those idle too long or closed are dropped on the way.
    async fn checkout(&self, place: usize) -> Option<Upstream> {
        loop {
            let Idle {
                mut upstream,
                since,
            } = self.lock().lists.get_mut(place)?.pop()?;
            if since.elapsed() >= self.idle_timeout || upstream.sender.is_closed() {
                continue;
            }
            if upstream.ready().await {
                return Some(upstream);
            }
        }
    }

    async fn connect(&self, uri: &Uri) -> Result<Upstream, SendError> {
        let io = self
            .connector
            .clone()
            .oneshot(uri.clone())
            .await
            .map_err(SendError::Connect)?;
        let (sender, connection) = http1::Builder::new()
            .max_buf_size(READ_BUFFER_LIMIT)
            .handshake(io)
            .await
            .map_err(|err| SendError::Connect(Box::new(err)))?;
        tokio::spawn(async move {
            if let Err(error) = connection.with_upgrades().await {
                tracing::debug!(%error, "upstream connection ended with an error");
            }
        });
        let mut upstream = Upstream { sender };
        if !upstream.ready().await {
            return Err(SendError::Connect("the connection closed at once".into()));
        }
        Ok(upstream)
    }

    /// Keeps `upstream` in the list at `place` for the next request, unless the list is full.
    fn put_back(&self, place: usize, upstream: Upstream) {
        if upstream.sender.is_closed() {
            return;
        }
        let mut idle = self.lock();
        let Some(list) = idle.lists.get_mut(place) else {
            return;
        };
        let now = Instant::now();
        // Oldest first (each comes back at the end, and `checkout` takes from the end): the
        // expired ones, idle since `limit` or before, are a prefix, found without visiting
        // the rest. (No `limit`: the clock is younger than the timeout, nothing expired.)
        let expired = now
            .checked_sub(self.idle_timeout)
            .map_or(0, |limit| list.partition_point(|idle| idle.since <= limit));
        list.drain(..expired);
        if list.len() < MAX_IDLE_PER_ORIGIN {
            list.push(Idle {
                upstream,
                since: now,
            });
        }
    }

    fn lock(&self) -> MutexGuard<'_, IdleLists> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(test)]
    pub(super) fn idle_count(&self) -> usize {
        self.lock().lists.iter().map(Vec::len).sum()
    }
}

/// A response body that gives its connection back to the pool once it has been read to the
/// end. A body dropped before its end takes the connection with it: the rest of the
/// response is still on the wire, so the connection cannot carry another exchange.
struct PooledBody {
    body: Incoming,
    home: Option<Home>,
}

/// Where a response body's connection goes back to.
struct Home {
    pool: Arc<Pool>,
    /// Its idle list's place (`Pool::place`).
    place: usize,
    upstream: Upstream,
}

impl PooledBody {
    fn go_home(&mut self) {
        if let Some(Home {
            pool,
            place,
            upstream,
        }) = self.home.take()
        {
            pool.put_back(place, upstream);
        }
    }
}

impl hyper::body::Body for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.body).poll_frame(cx);
        match &polled {
            Poll::Ready(None) => this.go_home(),
            Poll::Ready(Some(Err(_))) => this.home = None,
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for PooledBody {
    fn drop(&mut self) {
        // An empty body (HEAD, 204, 304, `Content-Length: 0`) may never be read.
        if self.body.is_end_stream() {
            self.go_home();
        }
    }
}

#[cfg(test)]
#[path = "pool_tests.rs"]
mod tests;
