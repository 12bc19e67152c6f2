//! The floor case of `bench/run.sh` (issue 13): the least a reverse proxy built on hyper can
//! do per request, so that the gateway's cost can be split into what hyper itself takes on
//! this machine and what the gateway adds on top.
//!
//! `proxy_floor LISTEN UPSTREAM` forwards every request to UPSTREAM (`host:port`) and streams
//! the answer back, with the gateway's runtime shape (`src/server.rs`): one current-thread
//! runtime per CPU it may use, all accepting on the same listener. Per request it does what
//! the nginx baseline does (`proxy_set_header Connection ''`, `X-Forwarded-For`) and nothing
//! else: no routing, no session, no header stripping, no access log, no request id. Each
//! client connection gets its own keep-alive connection to the upstream, opened at its first
//! request (HTTP/1.1 carries one request at a time, so no pool is needed), driven by a task
//! on the same thread.
//!
//! It is a measuring instrument, not a proxy to deploy: it trusts every request as it comes.

use std::cell::RefCell;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::rc::Rc;

use anyhow::{Context as _, Result};
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderName, HeaderValue, CONNECTION};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::LocalSet;

type Body = UnsyncBoxBody<Bytes, hyper::Error>;

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: proxy_floor LISTEN UPSTREAM (both host:port)";
    let listen: SocketAddr = args.next().context(usage)?.parse().context(usage)?;
    let upstream: SocketAddr = args.next().context(usage)?.parse().context(usage)?;
    let listener = std::net::TcpListener::bind(listen).with_context(|| format!("bind {listen}"))?;
    listener.set_nonblocking(true)?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut loops = Vec::new();
    for _ in 1..threads {
        let listener = listener.try_clone()?;
        loops.push(std::thread::spawn(move || event_loop(listener, upstream)));
    }
    event_loop(listener, upstream)?;
    for handle in loops {
        handle
            .join()
            .map_err(|_| anyhow::anyhow!("an event loop panicked"))??;
    }
    Ok(())
}

fn event_loop(listener: std::net::TcpListener, upstream: SocketAddr) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = LocalSet::new();
    local.block_on(&runtime, async move {
        let listener = TcpListener::from_std(listener)?;
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(error) => {
                    eprintln!("proxy_floor: accept: {error}");
                    continue;
                }
            };
            stream.set_nodelay(true)?;
            tokio::task::spawn_local(serve_client(stream, peer, upstream));
        }
    })
}

async fn serve_client(stream: TcpStream, peer: SocketAddr, upstream: SocketAddr) {
    let sender: Rc<RefCell<Option<SendRequest<Incoming>>>> = Rc::default();
    let forwarded_for = HeaderValue::from_str(&peer.ip().to_string()).ok();
    let service = service_fn(move |request| {
        let sender = Rc::clone(&sender);
        let forwarded_for = forwarded_for.clone();
        async move {
            let answer = forward(&sender, request, forwarded_for, upstream).await;
            Ok::<_, Infallible>(answer.unwrap_or_else(|error| {
                eprintln!("proxy_floor: upstream: {error:#}");
                let mut response = Response::new(
                    Full::new(Bytes::from_static(b"bad gateway\n"))
                        .map_err(|n| match n {})
                        .boxed_unsync(),
                );
                *response.status_mut() = StatusCode::BAD_GATEWAY;
                response
            }))
        }
    });
    let connection =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    if let Err(error) = connection.await {
        eprintln!("proxy_floor: client connection: {error}");
    }
}

async fn forward(
    sender: &RefCell<Option<SendRequest<Incoming>>>,
    mut request: Request<Incoming>,
    forwarded_for: Option<HeaderValue>,
    upstream: SocketAddr,
) -> Result<Response<Body>> {
    let headers = request.headers_mut();
    headers.remove(CONNECTION);
    if let Some(address) = forwarded_for {
        headers.insert(HeaderName::from_static("x-forwarded-for"), address);
    }
    let mut taken = sender.borrow_mut().take();
    if let Some(open) = taken.as_mut() {
        if open.ready().await.is_err() {
            taken = None; // closed by the upstream (keepalive_requests): open another
        }
    }
    let mut connection = match taken {
        Some(open) => open,
        None => {
            let stream = TcpStream::connect(upstream).await?;
            stream.set_nodelay(true)?;
            let (open, driver) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::task::spawn_local(async move {
                if let Err(error) = driver.await {
                    eprintln!("proxy_floor: upstream connection: {error}");
                }
            });
            open
        }
    };
    let response = connection.send_request(request).await;
    *sender.borrow_mut() = Some(connection);
    Ok(response?.map(BodyExt::boxed_unsync))
}
