//! Forwarding a protocol upgrade (RFC 9110 §7.8, WebSocket RFC 6455 §4): after the upstream
//! answers `101 Switching Protocols`, the client's and the upstream's connections are joined
//! byte for byte until either side closes.

use axum::body::Body;
use http::header::UPGRADE;
use http::{HeaderValue, Response};
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;

use super::client::ProxyError;
use super::headers::{list_items, remove_hop_by_hop};

/// Checks the upstream's 101 against what the client `offered`, spawns the task that joins
/// the two connections, and returns the 101 for the client with `Connection: upgrade` and
/// `Upgrade` kept (other hop-by-hop fields removed, RFC 9110 §7.6.1).
///
/// The server must switch to one of the offered protocols (RFC 9110 §7.8); a 101 to a request
/// that offered none, or to another protocol, is a protocol error.
pub(crate) fn switch(
    mut response: Response<Incoming>,
    offered: Option<&HeaderValue>,
    client: Option<OnUpgrade>,
) -> Result<Response<Body>, ProxyError> {
    let (Some(offered), Some(client)) = (offered, client) else {
        return Err(ProxyError::Protocol(
            "upstream switched protocols although the request asked for no upgrade".to_owned(),
        ));
    };
    let chosen = response
        .headers()
        .get(UPGRADE)
        .and_then(|value| list_items(value.as_bytes()).next());
    let was_offered = chosen.is_some_and(|chosen| {
        list_items(offered.as_bytes()).any(|item| item.eq_ignore_ascii_case(chosen))
    });
    if !was_offered {
        return Err(ProxyError::Protocol(
            "upstream switched to a protocol the client did not offer".to_owned(),
        ));
    }
    let upstream = hyper::upgrade::on(&mut response);
    tokio::spawn(join(client, upstream));

    let (mut parts, _empty) = response.into_parts();
    remove_hop_by_hop(&mut parts.headers, true);
    Ok(Response::from_parts(parts, Body::empty()))
}

/// Waits for both sides to finish switching, then copies bytes both ways until both are
/// closed.
async fn join(client: OnUpgrade, upstream: OnUpgrade) {
    let (client, upstream) = match tokio::try_join!(client, upstream) {
        Ok(both) => both,
        Err(err) => {
            tracing::debug!(error = %err, "protocol upgrade did not complete");
            return;
        }
    };
    let mut client = TokioIo::new(client);
    let mut upstream = TokioIo::new(upstream);
    match tokio::io::copy_bidirectional(&mut client, &mut upstream).await {
        Ok((to_upstream, to_client)) => {
            tracing::debug!(to_upstream, to_client, "upgraded connection closed");
        }
        Err(err) => tracing::debug!(error = %err, "upgraded connection ended with an error"),
    }
}
