//! The upstream connections kept open between requests (HTTP/1.1 keep-alive, RFC 9112 §9.3),
//! one idle list per upstream origin.
//!
//! A connection is taken from its list for one exchange and put back when the response's
//! last byte has been read, by the response body itself: nothing else runs per request (no
//! task waits for the connection to become free, no connect future is prepared alongside
//! the checkout). Each connection is driven by one task of its own for its whole life, which
//! ends when either side closes it. A request that an idle connection could not even start
//! (the upstream closed it at that moment, which keep-alive allows, RFC 9112 §9.6) is sent
//! again on a new connection; one that was started is never resent.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
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
    idle: Mutex<HashMap<Origin, Vec<Idle>>>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Origin {
    scheme: Scheme,
    authority: Authority,
}

struct Idle {
    sender: SendRequest<Body>,
    since: Instant,
}

impl Pool {
    pub(super) fn new(connector: HttpsConnector<HttpConnector>, idle_timeout: Duration) -> Pool {
        Pool {
            connector,
            idle_timeout,
            idle: Mutex::new(HashMap::new()),
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
            let (mut sender, reused) = match self.checkout(&origin).await {
                Some(sender) => (sender, true),
                None => (self.connect(&uri).await?, false),
            };
            match sender.try_send_request(req).await {
                Ok(response) => {
                    // After a switch of protocols the connection is the tunnel's.
                    let home = (response.status() != StatusCode::SWITCHING_PROTOCOLS)
                        .then(|| (Arc::clone(self), origin, sender));
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

    /// An idle connection to `origin` that can take a request, newest first; those idle too
    /// long or closed are dropped on the way.
    async fn checkout(&self, origin: &Origin) -> Option<SendRequest<Body>> {
        loop {
            let Idle { mut sender, since } = self.lock().get_mut(origin)?.pop()?;
            if since.elapsed() >= self.idle_timeout || sender.is_closed() {
                continue;
            }
            // Free as soon as its task has seen the previous response to the end.
            if sender.ready().await.is_ok() {
                return Some(sender);
            }
        }
    }

    async fn connect(&self, uri: &Uri) -> Result<SendRequest<Body>, SendError> {
        let io = self
            .connector
            .clone()
            .oneshot(uri.clone())
            .await
            .map_err(SendError::Connect)?;
        let (sender, connection) = http1::Builder::new()
            .handshake(io)
            .await
            .map_err(|err| SendError::Connect(Box::new(err)))?;
        tokio::spawn(async move {
            if let Err(error) = connection.with_upgrades().await {
                tracing::debug!(%error, "upstream connection ended with an error");
            }
        });
        Ok(sender)
    }

    /// Keeps `sender` for the next request to `origin`, unless its list is full.
    fn put_back(&self, origin: Origin, sender: SendRequest<Body>) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.lock();
        let list = idle.entry(origin).or_default();
        let now = Instant::now();
        list.retain(|idle| now.duration_since(idle.since) < self.idle_timeout);
        if list.len() < MAX_IDLE_PER_ORIGIN {
            list.push(Idle { sender, since: now });
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Origin, Vec<Idle>>> {
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
struct PooledBody {
    body: Incoming,
    home: Option<(Arc<Pool>, Origin, SendRequest<Body>)>,
}

impl PooledBody {
    fn go_home(&mut self) {
        if let Some((pool, origin, sender)) = self.home.take() {
            pool.put_back(origin, sender);
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
