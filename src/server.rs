//! The listener: accepting client connections, admitting them within the connection bounds
//! ([`admission`]), serving each with its timeouts ([`connection`]), and stopping gracefully.
//! Also the process's descriptor limit, which the default bound is derived from.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::{ConnectionSettings, IpNetwork};

mod admission;
mod connection;

pub(crate) use admission::ConnectionLimits;

/// How long accepting pauses after an error such as running out of descriptors (`EMFILE`),
/// so the loop does not spin while connections end and free some.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);
/// How often such errors are logged at most.
const ACCEPT_ERROR_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// Raises the soft limit on open descriptors (`RLIMIT_NOFILE`) to the hard limit and returns
/// the soft limit now in force. Systemd and most shells start services at a soft 1024 with a
/// much higher hard limit; every client connection and every upstream connection is a
/// descriptor.
#[cfg(unix)]
pub fn raise_descriptor_limit() -> std::io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

/// The soft limit on open descriptors, if the platform has one.
pub fn descriptor_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        rlimit::getrlimit(rlimit::Resource::NOFILE)
            .ok()
            .map(|(soft, _hard)| soft)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Serves `router` on `listener` until `stop` completes; then stops accepting, lets every
/// connection finish the requests it has in progress, and returns once all are closed.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    settings: ConnectionSettings,
    limits: ConnectionLimits,
    trusted_proxies: Vec<IpNetwork>,
    stop: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let admission = std::sync::Arc::new(admission::Admission::new(limits, trusted_proxies));
    let (stopping, stop_rx) = watch::channel(false);
    let mut stop = std::pin::pin!(stop);
    let mut last_accept_error: Option<tokio::time::Instant> = None;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut stop => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                if !is_connection_error(&error) {
                    if last_accept_error
                        .is_none_or(|last| last.elapsed() >= ACCEPT_ERROR_LOG_INTERVAL)
                    {
                        last_accept_error = Some(tokio::time::Instant::now());
                        tracing::error!(%error, "accepting client connections failed (for descriptors, see server.max_connections and the descriptor limit logged at start-up)");
                    }
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                }
                continue;
            }
        };
        let Some(slot) = admission.admit(peer.ip()) else {
            drop(stream);
            continue;
        };
        // Responses are written as soon as they are ready (a proxied body arrives in pieces
        // after the head): no Nagle delay waiting for the client's acknowledgement.
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection::serve(
            stream,
            peer,
            slot,
            std::sync::Arc::clone(&admission),
            router.clone(),
            settings,
            stop_rx.clone(),
        ));
    }
    drop(listener);
    drop(stop_rx);
    let _ = stopping.send(true);
    // Each connection holds a receiver until it is closed.
    stopping.closed().await;
    Ok(())
}

/// Errors about one connection (it was reset before it was accepted), not the listener.
fn is_connection_error(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}
