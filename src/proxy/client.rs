//! The one pooled upstream client (DESIGN §9, STYLE "Outbound HTTP hygiene"): HTTP/1.1 over
//! plain TCP or TLS, bodies streamed both ways, protocol upgrades (WebSocket) forwarded; the
//! origins of upstreams with `ca_files` get a pool of their own that trusts them.

use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{Request, Response, StatusCode};
use hyper::body::{Body as _, Frame, SizeHint};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;

use super::error::ProxyError;
use super::hop_by_hop::remove_hop_by_hop;
use super::pool::Pool;
use super::upgrade::{self, TunnelIdleTimeout};
use crate::config::{UpstreamConfig, UpstreamTarget, DEFAULT_WEBSOCKET_IDLE_TIMEOUT};
use crate::tls::CaFile;

/// How long to wait for a TCP connection to an upstream.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long an idle pooled connection is kept.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// One pooled client for every upstream, built once at start-up and cloned cheaply.
///
/// `http://` and `https://` upstreams (TLS with rustls, the ring provider, Mozilla's roots
/// from `webpki-roots`, plus an upstream's `ca_files` for its origin); connect timeout 5 s;
/// idle connections kept 90 s.
#[derive(Clone)]
pub(crate) struct UpstreamClient {
    /// Every origin but those in `private`: the built-in roots.
    pool: Arc<Pool>,
    /// The `https://` origins of upstreams with `ca_files`, each with a pool that trusts them
    /// too (two upstreams on one origin: the files of both). Usually empty.
    private: Arc<Vec<PrivateOrigin>>,
}

/// An origin whose connections trust more than the built-in roots.
struct PrivateOrigin {
    origin: OriginKey,
    ca_files: Vec<CaFile>,
    pool: Arc<Pool>,
}

/// An origin as a connection is made to it: scheme, host and port (the scheme's default when
/// none is written), lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
struct OriginKey {
    https: bool,
    host: String,
    port: u16,
}

impl OriginKey {
    fn of(uri: &http::Uri) -> Option<OriginKey> {
        let https = uri.scheme_str()?.eq_ignore_ascii_case("https");
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        Some(OriginKey {
            https,
            host: uri.host()?.to_ascii_lowercase(),
            port,
        })
    }
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
    /// A client that trusts the built-in roots only.
    pub(crate) fn new() -> UpstreamClient {
        UpstreamClient {
            pool: Arc::new(Pool::new(connector(&[]), POOL_IDLE_TIMEOUT)),
            private: Arc::default(),
        }
    }

    /// The client for `upstreams`: the built-in roots, and for the origin of each `https://`
    /// upstream with `ca_files` those too.
    pub(crate) fn for_upstreams(upstreams: &[UpstreamConfig]) -> UpstreamClient {
        UpstreamClient::new().successor(upstreams)
    }

    /// The client for `upstreams` after a reload: this one's pools (and their idle
    /// connections) where the trusted roots of an origin did not change, new ones where they
    /// did.
    pub(crate) fn successor(&self, upstreams: &[UpstreamConfig]) -> UpstreamClient {
        let private = private_origins(upstreams)
            .into_iter()
            .map(|(origin, ca_files)| {
                let kept = self
                    .private
                    .iter()
                    .find(|old| old.origin == origin && old.ca_files == ca_files);
                let pool = match kept {
                    Some(old) => Arc::clone(&old.pool),
                    None => Arc::new(Pool::new(connector(&ca_files), POOL_IDLE_TIMEOUT)),
                };
                PrivateOrigin {
                    origin,
                    ca_files,
                    pool,
                }
            })
            .collect();
        UpstreamClient {
            pool: Arc::clone(&self.pool),
            private: Arc::new(private),
        }
    }

    /// The pool of the origin `uri` names.
    fn pool_for(&self, uri: &http::Uri) -> &Arc<Pool> {
        if self.private.is_empty() {
            return &self.pool;
        }
        let origin = OriginKey::of(uri);
        self.private
            .iter()
            .find(|private| Some(&private.origin) == origin.as_ref())
            .map_or(&self.pool, |private| &private.pool)
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

        let pool = self.pool_for(req.uri());
        let response = tokio::time::timeout(timeout, pool.send(req))
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

/// The `https://` origins of `upstreams` with `ca_files`, each with the files of every
/// upstream on it.
fn private_origins(upstreams: &[UpstreamConfig]) -> Vec<(OriginKey, Vec<CaFile>)> {
    let mut origins: Vec<(OriginKey, Vec<CaFile>)> = Vec::new();
    for upstream in upstreams {
        let UpstreamTarget::Http(url) = &upstream.target else {
            continue;
        };
        let uri: Option<http::Uri> = url.as_str().parse().ok();
        let Some(origin) = uri.as_ref().and_then(OriginKey::of) else {
            continue;
        };
        if !origin.https || upstream.ca_files.is_empty() {
            continue;
        }
        let index = match origins.iter().position(|(known, _)| *known == origin) {
            Some(index) => index,
            None => {
                origins.push((origin, Vec::new()));
                origins.len() - 1
            }
        };
        let Some((_, files)) = origins.get_mut(index) else {
            continue;
        };
        for file in &upstream.ca_files {
            if !files.contains(file) {
                files.push(file.clone());
            }
        }
    }
    origins
}

/// The connector of every pool: TCP with the connect timeout and no Nagle delay, TLS (HTTP/1.1,
/// no ALPN) trusting the built-in roots plus `ca_files` (`crate::tls`) for `https://`.
fn connector(ca_files: &[CaFile]) -> HttpsConnector<HttpConnector> {
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    http.set_nodelay(true);
    http.enforce_http(false);
    HttpsConnectorBuilder::new()
        .with_tls_config(crate::tls::client_config(ca_files))
        .https_or_http()
        .enable_http1()
        .wrap_connector(http)
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
