//! The listener: accepting client connections, admitting them within the connection bounds
//! ([`admission`]), serving each with its timeouts ([`connection`]) over plain TCP or TLS
//! ([`Transport`]), and stopping gracefully.
//! Also the process's descriptor limit, which the default bound is derived from.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use std::convert::Infallible;

use axum::body::Body;
use http::{HeaderValue, Request, Response};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};

use crate::config::{ConnectionSettings, IpNetwork};

/// What answers the requests of every connection (`crate::startup::Live`, the metrics
/// listener's router): shared by the connections, it answers each request with the peer it
/// came from, which the gateway's own endpoints read as `ConnectInfo` and the gate is handed
/// directly, so that a proxied request carries no extension at all (each costs an
/// allocation).
pub(crate) trait Answerer: Clone + Send + Sync + 'static {
    /// The answer to one request.
    type Answer: Future<Output = Result<Response<Body>, Infallible>> + Send + 'static;

    /// Answers `request`, which came from `peer`.
    fn answer(&self, request: Request<Body>, peer: SocketAddr) -> Self::Answer;
}

/// A router alone (the metrics listener's): the peer as `ConnectInfo`, for its extractors.
impl Answerer for axum::Router {
    type Answer = tower::util::Oneshot<axum::Router, Request<Body>>;

    fn answer(&self, mut request: Request<Body>, peer: SocketAddr) -> Self::Answer {
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        tower::ServiceExt::oneshot(self.clone(), request)
    }
}

mod admission;
mod connection;

pub(crate) use admission::ConnectionLimits;

/// How a listener speaks to its clients: over TLS or plain TCP, and the
/// `Strict-Transport-Security` its answers carry.
#[derive(Clone, Default)]
pub(crate) struct Transport {
    /// `server.tls`: every connection starts with a TLS handshake, which must be done within
    /// `server.header_timeout` of the connect, like the first request head after it.
    pub(crate) tls: Option<tokio_rustls::TlsAcceptor>,
    /// Added to every answer that has no `Strict-Transport-Security` of its own (RFC 6797):
    /// the gateway's pages and endpoints, and upstream answers unless the upstream set one.
    pub(crate) hsts: Option<HeaderValue>,
}

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
/// connection finish the requests it has in progress, and returns once all are closed, or
/// once `settings.shutdown_timeout` has passed with some still open (their tasks are left
/// behind: the caller is about to exit).
///
/// `threads` event loops accept on the same listening socket: this task's runtime, and
/// `threads - 1` threads of their own, each with a single-threaded runtime. A connection is
/// served for its whole life, upstream exchanges included, by the loop that accepted it, so
/// no request is handed between threads (the kernel wakes the loops on new connections, and
/// whichever accepts first serves it).
#[allow(clippy::too_many_arguments)] // one per independent input, as startup has them
pub(crate) async fn serve(
    listener: std::net::TcpListener,
    router: impl Answerer,
    settings: ConnectionSettings,
    limits: ConnectionLimits,
    trusted_proxies: Vec<IpNetwork>,
    transport: Transport,
    threads: usize,
    stop: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let (stopping, stop_rx) = watch::channel(Stop::Serving);
    let acceptor = Acceptor {
        router,
        settings,
        transport,
        admission: Arc::new(admission::Admission::new(limits, trusted_proxies)),
        stop: stop_rx,
    };
    // Non-blocking for every loop: the clones share the open socket and its flags.
    listener.set_nonblocking(true)?;
    let mut workers = Vec::new();
    for number in 1..threads {
        workers.push(
            acceptor
                .clone()
                .spawn_thread(number, listener.try_clone()?)?,
        );
    }
    let listener = TcpListener::from_std(listener)?;
    let serving = async {
        acceptor.run(listener).await;
        for worker in workers {
            if worker.await.is_err() {
                tracing::error!("an event loop thread ended abnormally while stopping");
            }
        }
    };
    let mut serving = std::pin::pin!(serving);
    tokio::select! {
        () = &mut serving => return Ok(()),
        () = stop => {}
    }
    let _ = stopping.send(Stop::Finishing);
    if tokio::time::timeout(settings.shutdown_timeout, &mut serving)
        .await
        .is_err()
    {
        tracing::warn!(
            timeout = ?settings.shutdown_timeout,
            "requests still in progress after server.shutdown_timeout are cut off"
        );
        let _ = stopping.send(Stop::Cutting);
        serving.await;
    }
    Ok(())
}

/// How far stopping has gone, for every event loop and connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stop {
    Serving,
    /// No new connections; those open finish the requests they have in progress.
    Finishing,
    /// `server.shutdown_timeout` has passed: the connections still open are closed.
    Cutting,
}

/// What each event loop needs to accept and serve connections.
#[derive(Clone)]
struct Acceptor<S> {
    router: S,
    settings: ConnectionSettings,
    transport: Transport,
    admission: Arc<admission::Admission>,
    stop: watch::Receiver<Stop>,
}

impl<S: Answerer> Acceptor<S> {
    /// Runs [`Acceptor::run`] on a thread of its own, in a single-threaded runtime; the
    /// receiver hears when it is done.
    fn spawn_thread(
        self,
        number: usize,
        listener: std::net::TcpListener,
    ) -> std::io::Result<oneshot::Receiver<()>> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (done, done_rx) = oneshot::channel();
        std::thread::Builder::new()
            .name(format!("portcullis-{number}"))
            .spawn(move || {
                runtime.block_on(async move {
                    match TcpListener::from_std(listener) {
                        Ok(listener) => self.run(listener).await,
                        Err(error) => {
                            tracing::error!(%error, "an event loop could not use the listener");
                        }
                    }
                });
                let _ = done.send(());
            })?;
        Ok(done_rx)
    }

    /// Accepts until told to stop, then waits for the connections it accepted to close.
    async fn run(mut self, listener: TcpListener) {
        let (alive, mut all_closed) = mpsc::channel::<()>(1);
        let mut last_accept_error: Option<tokio::time::Instant> = None;
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = self.stop.wait_for(|stop| *stop >= Stop::Finishing) => break,
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
            let Some(slot) = self.admission.admit(peer.ip()) else {
                drop(stream);
                continue;
            };
            // Responses are written as soon as they are ready (a proxied body arrives in
            // pieces after the head): no Nagle delay waiting for the client's acknowledgement.
            let _ = stream.set_nodelay(true);
            let connection = connection::serve(
                stream,
                peer,
                slot,
                Arc::clone(&self.admission),
                self.router.clone(),
                self.settings,
                self.transport.clone(),
                self.stop.clone(),
            );
            let alive = alive.clone();
            tokio::spawn(async move {
                connection.await;
                drop(alive);
            });
        }
        drop(listener);
        drop(alive);
        // Each connection holds a sender until it is closed.
        let _ = all_closed.recv().await;
    }
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
