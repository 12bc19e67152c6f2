//! One client connection: HTTP/1.1 or HTTP/2 with prior knowledge (told apart by the
//! client's first bytes, RFC 9113 §3.3), WebSocket upgrades, and the clock that closes the
//! connection when its client makes the gateway wait.
//!
//! The clock knows where the connection is: opened and waiting for its first request head
//! (`server.header_timeout` from the connect), between requests (`server.keepalive_timeout`
//! from the end of the last response), reading a later HTTP/1.1 request head
//! (`server.header_timeout` from its first byte) or answering requests (no limit here; the
//! upstream's `timeout` bounds the wait for it). A request head that never ends, a
//! connection that never says anything and an idle keep-alive connection are all closed,
//! whichever protocol they speak. hyper's own `header_read_timeout` is not used: it does not
//! run while the first bytes are read to choose the protocol (so a silent connection is held
//! forever), it does not exist for HTTP/2, and it runs from the end of the previous
//! response, so it cannot differ from the keep-alive time.
//!
//! Over TLS the handshake comes first, within `server.header_timeout` of the connect (the
//! clock's first deadline runs from the connect too, so handshake and first request head
//! share it): a client that never finishes its handshake holds its place no longer than one
//! that never finishes its request head.

use std::io;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use http::header::STRICT_TRANSPORT_SECURITY;
use http::HeaderValue;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::{Request, Response, Version};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;

use super::admission::{Admission, ConnectionSlot};
use super::{Answerer, Stop, Transport};
use crate::config::ConnectionSettings;

/// How long a connection being closed for a timeout may take to say goodbye (an HTTP/2
/// GOAWAY, RFC 9113 §6.8) before it is dropped.
const CLOSING_GRACE: Duration = Duration::from_secs(1);

/// Serves `stream` until it closes, a timeout closes it, or `stop` says so: at
/// [`Stop::Finishing`] once its requests are done, at [`Stop::Cutting`] at once.
#[allow(clippy::too_many_arguments)] // one per independent input, as the acceptor has them
pub(crate) async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    slot: ConnectionSlot,
    admission: Arc<Admission>,
    router: impl Answerer,
    settings: ConnectionSettings,
    transport: Transport,
    mut stop: watch::Receiver<Stop>,
) {
    let activity = Arc::new(Activity::new());
    let io = ClientIo {
        stream,
        activity: Arc::clone(&activity),
        _slot: slot,
    };
    let responder = Responder::new(router, admission, activity, peer, transport.hsts);
    let Some(tls) = transport.tls else {
        return responder.serve(io, settings, stop).await;
    };
    let handshake = tokio::time::timeout(settings.header_timeout, tls.accept(io));
    let handshake = tokio::select! {
        done = handshake => done,
        _ = stop.wait_for(|stop| *stop >= Stop::Finishing) => return,
    };
    match handshake {
        Ok(Ok(io)) => responder.serve(io, settings, stop).await,
        Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
        Err(_) => tracing::debug!(
            %peer,
            timeout = "server.header_timeout",
            "closing a client connection whose TLS handshake took too long"
        ),
    }
}

/// What answers the requests of one connection, once its bytes are HTTP.
struct Responder<S> {
    router: S,
    admission: Arc<Admission>,
    activity: Arc<Activity>,
    peer: SocketAddr,
    hsts: Option<HeaderValue>,
}

impl<S: Answerer> Responder<S> {
    fn new(
        router: S,
        admission: Arc<Admission>,
        activity: Arc<Activity>,
        peer: SocketAddr,
        hsts: Option<HeaderValue>,
    ) -> Responder<S> {
        Responder {
            router,
            admission,
            activity,
            peer,
            hsts,
        }
    }

    async fn serve<I>(self, io: I, settings: ConnectionSettings, stop: watch::Receiver<Stop>)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Responder {
            router,
            admission,
            activity,
            peer,
            hsts,
        } = self;
        let requests = Arc::clone(&activity);
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            answer(&router, &admission, &requests, peer, hsts.clone(), request)
        });
        let io = TokioIo::new(io);
        let mut stop = stop;

        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder.http1().header_read_timeout(None);
        // The extended CONNECT of RFC 8441: WebSockets over HTTP/2.
        builder.http2().enable_connect_protocol();
        let mut connection = pin!(builder.serve_connection_with_upgrades(io, service));

        // The clock looks at the connection at least every `interval` and exactly at its
        // deadline when that comes sooner. No phase change needs to wake it: every deadline is
        // at least `interval` after its phase began, so the look that follows a change comes
        // before the new deadline. (Waking it on each request would cost a task wake-up and a
        // new timer per request.)
        let interval = settings.header_timeout.min(settings.keepalive_timeout);
        let mut seen = Stop::Serving;
        let mut closing_until: Option<Instant> = None;
        let mut clock = pin!(tokio::time::sleep_until(next_look(
            activity.deadline(&settings).map(|(at, _)| at),
            interval
        )));
        loop {
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        tracing::debug!(%peer, error, "client connection ended with an error");
                    }
                    return;
                }
                now = stop.wait_for(|now| *now > seen) => {
                    let now = now.map_or(Stop::Cutting, |now| *now);
                    if now == Stop::Cutting {
                        tracing::debug!(%peer, "closing a client connection still busy at shutdown");
                        return;
                    }
                    seen = now;
                    connection.as_mut().graceful_shutdown();
                }
                () = clock.as_mut() => {
                    let now = Instant::now();
                    if closing_until.is_some_and(|until| now >= until) {
                        return;
                    }
                    let deadline = activity.deadline(&settings);
                    if let Some((at, timeout)) = deadline {
                        if closing_until.is_none() && now >= at {
                            tracing::debug!(%peer, timeout, "closing a client connection that waited too long");
                            connection.as_mut().graceful_shutdown();
                            closing_until = Some(now + CLOSING_GRACE);
                        }
                    }
                    let due = closing_until.or_else(|| deadline.map(|(at, _)| at));
                    clock.as_mut().reset(next_look(due, interval));
                }
            }
        }
    }
}

/// When the clock looks next: at `due` (a deadline, or the end of the closing grace), or
/// after `interval` if that is sooner or nothing is due.
fn next_look(due: Option<Instant>, interval: Duration) -> Instant {
    let soon = later(interval);
    due.map_or(soon, |due| due.min(soon))
}

/// Hands `request` to the answerer with the peer's address, and holds the connection's clock at "answering" until the response's last byte is taken.
///
/// The connection's place covers one request at a time; every further HTTP/2 stream answered
/// at once needs an upstream descriptor too, so it takes a place of its own under the same
/// bounds, or is refused with REFUSED_STREAM, which tells the client that nothing was done
/// and it may retry (RFC 9113 §8.7).
fn answer<S: Answerer>(
    router: &S,
    admission: &Arc<Admission>,
    activity: &Arc<Activity>,
    peer: SocketAddr,
    hsts: Option<HeaderValue>,
    request: Request<Incoming>,
) -> impl std::future::Future<Output = Result<Response<TrackedBody>, BoxError>> + Send + 'static {
    let (answering, others) = activity.request_started(request.version());
    let place = match others {
        0 => Ok(None),
        _ => admission.admit(peer.ip()).map(Some).ok_or(()),
    };
    // A refused stream is not answered at all.
    let answer = place.map(|place| (place, router.answer(request.map(Body::new), peer)));
    async move {
        let Ok((place, answer)) = answer else {
            return Err(BoxError::from(h2::Error::from(h2::Reason::REFUSED_STREAM)));
        };
        let Ok(mut response) = answer.await;
        if let Some(hsts) = hsts {
            response
                .headers_mut()
                .entry(STRICT_TRANSPORT_SECURITY)
                .or_insert(hsts);
        }
        Ok(response.map(|body| TrackedBody {
            body,
            _answering: answering,
            _place: place,
        }))
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// `after` from now, or a day when that is too far to represent.
fn later(after: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(after)
        .unwrap_or_else(|| now + Duration::from_secs(24 * 60 * 60))
}

/// Where a connection is, for its clock.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Accepted at `since`; its first request head has not arrived in full.
    Opened { since: Instant },
    /// The last response ended at `since`.
    Idle { since: Instant },
    /// The first byte of the next HTTP/1.1 request head arrived at `since`.
    ReadingHead { since: Instant },
    /// Answering this many requests (several at once on HTTP/2).
    Answering { requests: usize },
}

struct Activity {
    phase: Mutex<Phase>,
    /// HTTP/2 sends frames of its own between requests (SETTINGS, PING, WINDOW_UPDATE), so
    /// bytes read there do not start a request head.
    http2: AtomicBool,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            phase: Mutex::new(Phase::Opened {
                since: Instant::now(),
            }),
            http2: AtomicBool::new(false),
        }
    }

    fn phase(&self) -> MutexGuard<'_, Phase> {
        self.phase.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn bytes_read(&self) {
        if self.http2.load(Ordering::Relaxed) {
            return;
        }
        let mut phase = self.phase();
        if let Phase::Idle { .. } = *phase {
            *phase = Phase::ReadingHead {
                since: Instant::now(),
            };
        }
    }

    /// A request head arrived in full; its answer holds the returned guard until its last
    /// byte is written (or the request is dropped). Also how many other requests the
    /// connection is answering (only HTTP/2 answers several at once).
    fn request_started(self: &Arc<Self>, version: Version) -> (Answering, usize) {
        if version == Version::HTTP_2 {
            self.http2.store(true, Ordering::Relaxed);
        }
        let mut phase = self.phase();
        let others = match *phase {
            Phase::Answering { requests } => requests,
            _ => 0,
        };
        *phase = Phase::Answering {
            requests: others.saturating_add(1),
        };
        (Answering(Arc::clone(self)), others)
    }

    fn request_finished(&self) {
        let mut phase = self.phase();
        if let Phase::Answering { requests } = *phase {
            *phase = match requests {
                0 | 1 => Phase::Idle {
                    since: Instant::now(),
                },
                more => Phase::Answering { requests: more - 1 },
            };
        }
    }

    /// When the connection is to be closed and the setting that says so; `None` while
    /// requests are answered (or when the time is too far to represent).
    fn deadline(&self, settings: &ConnectionSettings) -> Option<(Instant, &'static str)> {
        let (since, after, key) = match *self.phase() {
            Phase::Opened { since } | Phase::ReadingHead { since } => {
                (since, settings.header_timeout, "server.header_timeout")
            }
            Phase::Idle { since } => (
                since,
                settings.keepalive_timeout,
                "server.keepalive_timeout",
            ),
            Phase::Answering { .. } => return None,
        };
        Some((since.checked_add(after)?, key))
    }
}

/// Held by a request's answer; dropping it ends the request for the clock.
struct Answering(Arc<Activity>);

impl Drop for Answering {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// A response body that holds its request's [`Answering`] (and the place of an HTTP/2
/// stream beyond the connection's first) until hyper has taken its last frame or dropped it.
struct TrackedBody {
    body: Body,
    _answering: Answering,
    _place: Option<ConnectionSlot>,
}

impl hyper::body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The client's socket, which tells the clock when bytes arrive and holds the connection's
/// [`ConnectionSlot`] for as long as the socket lives (a WebSocket tunnel keeps it too).
struct ClientIo {
    stream: TcpStream,
    activity: Arc<Activity>,
    _slot: ConnectionSlot,
}

impl AsyncRead for ClientIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.stream).poll_read(cx, buf);
        if matches!(poll, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.bytes_read();
        }
        poll
    }
}

impl AsyncWrite for ClientIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
