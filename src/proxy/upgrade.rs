//! Forwarding a protocol upgrade (RFC 9110 §7.8, WebSocket RFC 6455 §4): after the upstream
//! answers `101 Switching Protocols`, the client's and the upstream's connections are joined
//! byte for byte until either side closes, or until no byte has moved either way for the
//! route's `websocket_idle_timeout`.
//!
//! A tunnel is a way past every check the gateway makes on requests, so it opens only when the
//! upstream shows it really switched to the one protocol forwarded: its `101` names that
//! protocol, and for WebSocket carries the `Sec-WebSocket-Accept` computed from the client's
//! `Sec-WebSocket-Key` (RFC 6455 §4.1 item 4 of the client's checks, §4.2.2). A plain HTTP
//! server that answers `101` to anything would otherwise take the tunnel's bytes for requests
//! of its own, with whatever identity headers they carry. Other protocols (Docker's `tcp`,
//! Kubernetes' `SPDY/3.1`) have no such proof: they are forwarded under the one-protocol rule
//! only.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http::header::{CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, UPGRADE};
use http::{HeaderMap, HeaderValue, Response};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use sha1::{Digest as _, Sha1};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

use super::error::ProxyError;
use super::hop_by_hop::{list_items, remove_hop_by_hop, requested_upgrade};

/// How long an upgraded connection may stay silent in both directions before the gateway
/// closes it: the route's `websocket_idle_timeout`, put in the request's extensions by
/// [`super::prepare_request`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct TunnelIdleTimeout(pub(crate) Duration);

/// RFC 6455 §1.3: the GUID appended to the key before hashing.
const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// An upgrade the client asked for, checked before it is forwarded.
#[derive(Debug)]
pub(crate) struct Offer {
    /// The one protocol forwarded in `Upgrade`.
    protocol: HeaderValue,
    /// For WebSocket: the `Sec-WebSocket-Accept` the upstream must answer with.
    expected_accept: Option<String>,
}

/// The upgrade `headers` ask for ([`requested_upgrade`]), with `Upgrade` set to that one
/// protocol. A WebSocket handshake must carry exactly one `Sec-WebSocket-Key` whose value is
/// 16 bytes in base64 (RFC 6455 §4.1 item 7); one without is refused with 400 (§4.2.1), as
/// the upstream's answer could not be checked.
pub(crate) fn offer(headers: &mut HeaderMap) -> Result<Option<Offer>, ProxyError> {
    let Some(protocol) = requested_upgrade(headers) else {
        return Ok(None);
    };
    headers.insert(UPGRADE, protocol.clone());
    if !protocol.as_bytes().eq_ignore_ascii_case(b"websocket") {
        return Ok(Some(Offer {
            protocol,
            expected_accept: None,
        }));
    }
    let mut keys = headers.get_all(SEC_WEBSOCKET_KEY).iter();
    let key = match (keys.next(), keys.next()) {
        (Some(key), None) => key,
        _ => {
            return Err(ProxyError::BadUpgrade(
                "a WebSocket handshake needs exactly one Sec-WebSocket-Key",
            ))
        }
    };
    let well_formed = STANDARD
        .decode(key.as_bytes())
        .is_ok_and(|nonce| nonce.len() == 16);
    if !well_formed {
        return Err(ProxyError::BadUpgrade(
            "the Sec-WebSocket-Key is not 16 bytes in base64",
        ));
    }
    Ok(Some(Offer {
        protocol,
        expected_accept: Some(websocket_accept(key.as_bytes())),
    }))
}

/// RFC 6455 §4.2.2 item 5.4: base64 of the SHA-1 of the key followed by the GUID.
fn websocket_accept(key: &[u8]) -> String {
    let mut hash = Sha1::new();
    hash.update(key);
    hash.update(WEBSOCKET_GUID.as_bytes());
    STANDARD.encode(hash.finalize())
}

/// Checks the upstream's 101 against what the client was `offered`, spawns the task that
/// joins the two connections, and returns the 101 for the client with `Connection: upgrade`
/// and `Upgrade` kept (other hop-by-hop fields removed, RFC 9110 §7.6.1).
///
/// The server must switch to the protocol forwarded (RFC 9110 §7.8): its `Upgrade` must name
/// exactly that one, and for WebSocket its one `Sec-WebSocket-Accept` must be the one for the
/// client's key. Anything else is a protocol error (502), and the upstream's connection is
/// dropped without a byte of it reaching the client.
pub(crate) fn switch(
    mut response: Response<Body>,
    offered: Option<Offer>,
    client: Option<OnUpgrade>,
    idle: Duration,
) -> Result<Response<Body>, ProxyError> {
    let (Some(offered), Some(client)) = (offered, client) else {
        return Err(ProxyError::Protocol(
            "upstream switched protocols although the request asked for no upgrade".to_owned(),
        ));
    };
    let chosen: Vec<&[u8]> = response
        .headers()
        .get_all(UPGRADE)
        .iter()
        .flat_map(|value| list_items(value.as_bytes()))
        .collect();
    let switched_to_offered = match chosen.as_slice() {
        [chosen] => chosen.eq_ignore_ascii_case(offered.protocol.as_bytes()),
        _ => false,
    };
    if !switched_to_offered {
        return Err(ProxyError::Protocol(
            "upstream switched to a protocol other than the one forwarded".to_owned(),
        ));
    }
    if let Some(expected) = &offered.expected_accept {
        let accepts: Vec<&HeaderValue> = response
            .headers()
            .get_all(SEC_WEBSOCKET_ACCEPT)
            .iter()
            .collect();
        let proven = match accepts.as_slice() {
            [accept] => accept.as_bytes() == expected.as_bytes(),
            _ => false,
        };
        if !proven {
            return Err(ProxyError::Protocol(
                "upstream's 101 lacks the Sec-WebSocket-Accept for the client's key".to_owned(),
            ));
        }
    }
    let upstream = hyper::upgrade::on(&mut response);
    tokio::spawn(join(client, upstream, idle));

    let (mut parts, _empty) = response.into_parts();
    remove_hop_by_hop(&mut parts.headers, true);
    parts.headers.insert(UPGRADE, offered.protocol);
    parts
        .headers
        .insert(CONNECTION, HeaderValue::from_static("upgrade"));
    Ok(Response::from_parts(parts, Body::empty()))
}

/// Waits for both sides to finish switching, then copies bytes both ways until both are
/// closed, or until no byte has moved either way for `idle`: then both connections are
/// dropped, which closes them.
async fn join(client: OnUpgrade, upstream: OnUpgrade, idle: Duration) {
    let both = tokio::time::timeout(idle, async { tokio::try_join!(client, upstream) }).await;
    let (client, upstream) = match both {
        Ok(Ok(both)) => both,
        Ok(Err(err)) => {
            tracing::debug!(error = %err, "protocol upgrade did not complete");
            return;
        }
        Err(_) => {
            tracing::debug!("protocol upgrade did not complete in time");
            return;
        }
    };
    let activity = Activity::new();
    let mut client = Watched::new(TokioIo::new(client), &activity);
    let mut upstream = Watched::new(TokioIo::new(upstream), &activity);
    tokio::select! {
        copied = tokio::io::copy_bidirectional(&mut client, &mut upstream) => match copied {
            Ok((to_upstream, to_client)) => {
                tracing::debug!(to_upstream, to_client, "upgraded connection closed");
            }
            Err(err) => tracing::debug!(error = %err, "upgraded connection ended with an error"),
        },
        () = activity.silent_for(idle) => {
            tracing::debug!(idle_secs = idle.as_secs(), "closed an idle upgraded connection");
        }
    }
}

/// When a byte last moved through a tunnel, in either direction.
#[derive(Clone)]
struct Activity {
    start: Instant,
    /// Milliseconds from `start` to the last byte.
    last: Arc<AtomicU64>,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            start: Instant::now(),
            last: Arc::new(AtomicU64::new(0)),
        }
    }

    fn touch(&self) {
        let now = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(now, Ordering::Relaxed);
    }

    /// Resolves once no byte has moved for `idle`.
    async fn silent_for(&self, idle: Duration) {
        loop {
            let last = self.start + Duration::from_millis(self.last.load(Ordering::Relaxed));
            let deadline = last + idle;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// One side of a tunnel, recording in [`Activity`] every byte read or written.
struct Watched<T> {
    io: T,
    activity: Activity,
}

impl<T> Watched<T> {
    fn new(io: T, activity: &Activity) -> Watched<T> {
        Watched {
            io,
            activity: activity.clone(),
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.io).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.touch();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            this.activity.touch();
        }
        polled
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::websocket_accept;

    #[test]
    fn the_accept_is_computed_as_rfc_6455_shows() {
        // RFC 6455 §1.3's example.
        assert_eq!(
            websocket_accept(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }
}
