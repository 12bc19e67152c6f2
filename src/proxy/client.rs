//! The one pooled upstream client (DESIGN §9, STYLE "Outbound HTTP hygiene"): HTTP/1.1 over
//! plain TCP or TLS, bodies streamed both ways, protocol upgrades (WebSocket) forwarded.

use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{Request, Response, StatusCode};
use hyper::body::{Body as _, Frame, SizeHint};
use hyper_rustls::HttpsConnectorBuilder;
use hyper_util::client::legacy::connect::HttpConnector;

use super::error::ProxyError;
use super::hop_by_hop::remove_hop_by_hop;
use super::pool::Pool;
use super::upgrade::{self, TunnelIdleTimeout};
use crate::config::DEFAULT_WEBSOCKET_IDLE_TIMEOUT;

/// How long to wait for a TCP connection to an upstream.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long an idle pooled connection is kept.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// One pooled client for every upstream, built once at start-up and cloned cheaply.
///
/// `http://` and `https://` upstreams (TLS with rustls, the ring provider, Mozilla's roots
/// from `webpki-roots`); connect timeout 5 s; idle connections kept 90 s.
#[derive(Clone)]
pub(crate) struct UpstreamClient {
    pool: Arc<Pool>,
}

impl std::fmt::Debug for UpstreamClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamClient").finish_non_exhaustive()
    }
}

impl Default for UpstreamClient {
    fn default() -> Self {
        UpstreamClient::new()
    }
}

impl UpstreamClient {
    pub(crate) fn new() -> UpstreamClient {
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        http.set_nodelay(true);
        http.enforce_http(false);
        // `with_webpki_roots` uses rustls' process-default provider, which is ring: it is the
        // only provider compiled in (`cargo tree -i rustls -e features` shows no aws-lc-rs).
        let https = HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        UpstreamClient {
            pool: Arc::new(Pool::new(https, POOL_IDLE_TIMEOUT)),
        }
    }

    /// Sends a request prepared by [`super::prepare_request`] and returns the upstream's
    /// response with its body streaming.
    ///
    /// `timeout` bounds the wait for the response headers only (connect included). Hop-by-hop
    /// fields are removed from the response (RFC 9110 §7.6.1), and so is a `Content-Length`
    /// that came with `Transfer-Encoding` (RFC 9112 §6.3). When the request asks for a
    /// protocol upgrade (RFC 9110 §7.8, WebSocket RFC 6455 §4) and the upstream answers
    /// `101 Switching Protocols` with a protocol the client offered, the response keeps
    /// `Connection: upgrade` and `Upgrade`, and once the 101 reaches the client both upgraded
    /// connections are joined in a spawned task. A 101 that was not asked for is an error, and
    /// so is one that does not prove the switch (see `upgrade`). An upgraded connection in
    /// which no byte moves either way for the request's `TunnelIdleTimeout` (default
    /// [`DEFAULT_WEBSOCKET_IDLE_TIMEOUT`]) is closed at both ends.
    ///
    /// A request body that breaks off (a malformed chunk, a client that stops short of its
    /// `Content-Length`) fails the exchange as [`ProxyError::ClientBody`], logged as a warning:
    /// the upstream did nothing wrong.
    pub(crate) async fn send(
        &self,
        mut req: Request<Body>,
        timeout: Duration,
    ) -> Result<Response<Body>, ProxyError> {
        let offered = upgrade::offer(req.headers_mut())?;
        let client_upgrade = offered.as_ref().map(|_| hyper::upgrade::on(&mut req));
        let idle = req
            .extensions()
            .get::<TunnelIdleTimeout>()
            .map_or(DEFAULT_WEBSOCKET_IDLE_TIMEOUT, |idle| idle.0);
        // Only a body that is still to come can break off (a bodiless GET costs nothing).
        let body_failure = (!req.body().is_end_stream()).then(|| Arc::new(OnceLock::new()));
        let req = match &body_failure {
            None => req,
            Some(failure) => req.map(|body| {
                Body::new(WatchedBody {
                    inner: body,
                    failure: Arc::clone(failure),
                })
            }),
        };

        let response = tokio::time::timeout(timeout, self.pool.send(req))
            .await
            .map_err(|_| ProxyError::Timeout)?
            .map_err(|err| match body_failure.as_ref().and_then(|failure| failure.get()) {
                Some(cause) => {
                    tracing::warn!(%cause, "the client's request body broke off; answering 400");
                    ProxyError::ClientBody(cause.clone())
                }
                None => ProxyError::from_client(&err),
            })?;

        if response.status() == StatusCode::SWITCHING_PROTOCOLS {
            return upgrade::switch(response, offered, client_upgrade, idle);
        }
        let (mut parts, body) = response.into_parts();
        // The body was read by its transfer coding, which overrides a `Content-Length` sent
        // with it; a proxy must remove that length before forwarding (RFC 9112 §6.3 item 3),
        // or the client would frame the body by it.
        if parts.headers.contains_key(TRANSFER_ENCODING) {
            parts.headers.remove(CONTENT_LENGTH);
        }
        remove_hop_by_hop(&mut parts.headers, false);
        Ok(Response::from_parts(parts, body))
    }
}

/// A request body that remembers why it failed, so that a failed exchange can be told apart:
/// the client's body broke off, or the upstream misbehaved.
struct WatchedBody {
    inner: Body,
    failure: Arc<OnceLock<String>>,
}

impl hyper::body::Body for WatchedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(Some(Err(err))) = &polled {
            let _ = this.failure.set(crate::error_chain::error_chain(err));
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
