//! The upstream connections kept open between requests (HTTP/1.1 keep-alive, RFC 9112 §9.3),
//! one idle list per upstream origin and thread.
//!
//! A connection is taken from its list for one exchange and put back when the response's
//! last byte has been read, by the response body itself. No task of its own drives a
//! connection: whoever uses it does, in the task that serves the client's request — the
//! exchange while it waits for the response head, then the response body while it is read —
//! so a request is never handed between tasks or threads on its way to the upstream and
//! back. Idle connections are not driven at all: one the upstream closed meanwhile is found
//! closed when it is next taken, and dropped. Only a switch of protocols (WebSocket) gives a
//! connection a task, which joins the tunnel. The lists are per thread, so that a thread
//! (one runtime per core, see `crate::server`) reuses the connections it opened itself, which
//! its own event loop watches. A request that an idle connection could not even start (the
//! upstream closed it at that moment, which keep-alive allows, RFC 9112 §9.6) is sent again
//! on a new connection; one that was started is never resent.

use std::collections::HashMap;
use std::future::{poll_fn, Future};
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
type IdleLists = HashMap<(ThreadId, Origin), Vec<Idle>, BuildHasherDefault<Fnv>>;

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

#[derive(Clone, PartialEq, Eq, Hash)]
struct Origin {
    scheme: Scheme,
    authority: Authority,
}

struct Idle {
    upstream: Upstream,
    since: Instant,
}

/// A connection with upgrades, whose type hyper does not name.
type Connection = dyn Future<Output = hyper::Result<()>> + Send;

/// One upstream connection: the handle requests are sent on, and the connection itself, which
/// reads and writes only while it is polled.
struct Upstream {
    sender: SendRequest<Body>,
    connection: Pin<Box<Connection>>,
    /// The connection has ended (closed by either side, or failed); it cannot be polled again.
    ended: bool,
}

impl Upstream {
    /// Reads and writes what the connection can now, registering `cx` for more.
    fn drive(&mut self, cx: &mut Context<'_>) {
        if self.ended {
            return;
        }
        if let Poll::Ready(result) = self.connection.as_mut().poll(cx) {
            self.ended = true;
            if let Err(error) = result {
                tracing::debug!(%error, "upstream connection ended with an error");
            }
        }
    }

    /// Polls `work` (which needs the connection to make progress) with the connection driven
    /// alongside, until it is ready.
    async fn driving<T>(&mut self, work: impl Future<Output = T>) -> T {
        let mut work = std::pin::pin!(work);
        poll_fn(|cx| {
            if let Poll::Ready(done) = work.as_mut().poll(cx) {
                return Poll::Ready(done);
            }
            self.drive(cx);
            work.as_mut().poll(cx)
        })
        .await
    }

    /// Whether the connection can take a request now: it has not ended and has finished the
    /// previous exchange. One the upstream closed while it was idle ends here.
    async fn ready(&mut self) -> bool {
        let Upstream {
            sender,
            connection,
            ended,
        } = self;
        poll_fn(|cx| loop {
            match sender.poll_ready(cx) {
                Poll::Ready(ready) => return Poll::Ready(ready.is_ok()),
                Poll::Pending if *ended => return Poll::Ready(false),
                Poll::Pending => match connection.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(_) => *ended = true,
                },
            }
        })
        .await
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
        loop {
            let (mut upstream, reused) = match self.checkout(&origin).await {
                Some(upstream) => (upstream, true),
                None => (self.connect(&uri).await?, false),
            };
            let sent = upstream.sender.try_send_request(req);
            match upstream.driving(sent).await {
                Ok(response) => {
                    if response.status() == StatusCode::SWITCHING_PROTOCOLS {
                        // The connection is the tunnel's now: it hands its I/O over to the
                        // upgrade when it is driven to its end, which may have happened here.
                        let Upstream {
                            connection, ended, ..
                        } = upstream;
                        if !ended {
                            tokio::spawn(async move {
                                if let Err(error) = connection.await {
                                    tracing::debug!(%error, "upstream connection ended with an error");
                                }
                            });
                        }
                        return Ok(response.map(|body| Body::new(PooledBody { body, home: None })));
                    }
                    let home = Some(Home {
                        pool: Arc::clone(self),
                        origin,
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

    /// An idle connection of this thread to `origin` that can take a request, newest first;
    /// those idle too long or closed are dropped on the way.
    async fn checkout(&self, origin: &Origin) -> Option<Upstream> {
        let key = (std::thread::current().id(), origin.clone());
        loop {
            let Idle {
                mut upstream,
                since,
            } = self.lock().get_mut(&key)?.pop()?;
            if since.elapsed() >= self.idle_timeout || upstream.ended {
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
        let mut upstream = Upstream {
            sender,
            connection: Box::pin(connection.with_upgrades()),
            ended: false,
        };
        if !upstream.ready().await {
            return Err(SendError::Connect("the connection closed at once".into()));
        }
        Ok(upstream)
    }

    /// Keeps `upstream` for this thread's next request to `origin`, unless its list is full.
    fn put_back(&self, origin: Origin, upstream: Upstream) {
        if upstream.ended || upstream.sender.is_closed() {
            return;
        }
        let mut idle = self.lock();
        let list = idle
            .entry((std::thread::current().id(), origin))
            .or_default();
        let now = Instant::now();
        list.retain(|idle| now.duration_since(idle.since) < self.idle_timeout);
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
        self.lock().values().map(Vec::len).sum()
    }
}

/// A response body that gives its connection back to the pool once it has been read to the
/// end. A body dropped before its end takes the connection with it: the rest of the
/// response is still on the wire, so the connection cannot carry another exchange.
/// It drives its connection while it is read: the connection reads the body only then.
struct PooledBody {
    body: Incoming,
    home: Option<Home>,
}

/// Where a response body's connection goes back to.
struct Home {
    pool: Arc<Pool>,
    origin: Origin,
    upstream: Upstream,
}

impl PooledBody {
    fn go_home(&mut self) {
        if let Some(Home {
            pool,
            origin,
            upstream,
        }) = self.home.take()
        {
            pool.put_back(origin, upstream);
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
        let mut polled = Pin::new(&mut this.body).poll_frame(cx);
        if polled.is_pending() {
            if let Some(home) = &mut this.home {
                home.upstream.drive(cx);
                polled = Pin::new(&mut this.body).poll_frame(cx);
            }
        }
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
