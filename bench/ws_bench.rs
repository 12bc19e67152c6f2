//! WebSocket echo round-trips for `bench/run.sh` (issue 13): wrk speaks only HTTP, so this
//! tool is both ends of the WebSocket case.
//!
//! - `ws_bench serve ADDR`: an echo upstream. It answers a WebSocket handshake (RFC 6455
//!   §4.2.2) with `101` and the `Sec-WebSocket-Accept` for the client's key, then sends every
//!   data frame back unmasked with the same opcode and payload, answers pings, and returns a
//!   close. Anything else gets `426 Upgrade Required`, which the script uses as its readiness
//!   probe. One thread, as the nginx upstream has one worker.
//! - `ws_bench load URL --cookie C --connections N --duration D`: opens N WebSocket
//!   connections to URL (through the proxy under test), then on each one sends a small masked
//!   text frame and waits for its echo, over and over, until D is up. Every echoed frame must
//!   be an unmasked, final text frame with exactly the payload sent (each payload names its
//!   connection and sequence number), and each connection ends with a close handshake;
//!   anything else ends the tool with an error and exit status 1. It prints `key value` lines
//!   (`round_trips_per_s`, `p50_ms`, `p99_ms`, …) that the script parses.
//!
//! The framing is written out in `ws_frame.rs` (RFC 6455 §5.2) rather than taken from a WebSocket
//! crate: the gateway tunnels bytes and needs none, and a bench tool should not add a dependency.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context as _};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use clap::{Parser, Subcommand};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONNECTION, UPGRADE};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncBufReadExt as _, AsyncRead, AsyncWriteExt as _};
use tokio::io::{AsyncWrite, BufReader};
use tokio::net::{TcpListener, TcpStream};

mod ws_frame;

use ws_frame::{
    encode_frame, read_frame, websocket_accept, BINARY, CLOSE, CONTINUATION, PING, PONG, TEXT,
};

/// A proxy that stops answering fails the run instead of hanging it.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Parser)]
#[command(about = "WebSocket echo server and load generator for bench/run.sh")]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Echo WebSocket frames back to the client.
    Serve { addr: SocketAddr },
    /// Sequential echo round-trips on N connections through a proxy.
    Load {
        /// ws://host:port/path (http:// is taken as ws://).
        url: url::Url,
        /// The `Cookie` header of the handshake (the signed-in session).
        #[arg(long)]
        cookie: Option<String>,
        #[arg(long, default_value_t = 64)]
        connections: usize,
        /// How long to send round-trips, after every connection is open ("5s", "1m").
        #[arg(long, value_parser = humantime::parse_duration, default_value = "10s")]
        duration: Duration,
        /// Payload bytes per message (at least 24: the connection and sequence numbers).
        #[arg(long, default_value_t = 32)]
        payload: usize,
        /// Runtime threads of the load generator (wrk's -t).
        #[arg(long, default_value_t = 2)]
        threads: usize,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().mode {
        Mode::Serve { addr } => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(serve(addr)),
        Mode::Load {
            url,
            cookie,
            connections,
            duration,
            payload,
            threads,
        } => {
            ensure!(payload >= 24, "--payload must be at least 24 bytes");
            ensure!(connections > 0, "--connections must be at least 1");
            let target = Target::from_url(&url, cookie)?;
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads.max(1))
                .enable_all()
                .build()?
                .block_on(load(target, connections, duration, payload))
        }
    }
}

// ---- framing (RFC 6455 §5.2) ----
// ---- serve ----

async fn serve(addr: SocketAddr) -> anyhow::Result<()> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("bind {addr}"))?;
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(handshake))
                .with_upgrades()
                .await;
        });
    }
}

async fn handshake(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let websocket = req
        .headers()
        .get(UPGRADE)
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"websocket"));
    let key = req
        .headers()
        .get("sec-websocket-key")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let (true, Some(key)) = (websocket, key) else {
        let mut response = Response::new(Full::new(Bytes::from_static(b"WebSocket only\n")));
        *response.status_mut() = StatusCode::UPGRADE_REQUIRED;
        return Ok(response);
    };
    let accept = websocket_accept(&key);
    tokio::spawn(async move {
        let echoed = match hyper::upgrade::on(req).await {
            Ok(upgraded) => echo(BufReader::new(TokioIo::new(upgraded))).await,
            Err(error) => Err(error.into()),
        };
        if let Err(error) = echoed {
            eprintln!("ws_bench serve: connection ended: {error:#}");
        }
    });
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(accept) = HeaderValue::from_str(&accept) {
        headers.insert("sec-websocket-accept", accept);
    }
    Ok(response)
}

/// Echoes frames until the client's close, which is answered (§5.5.1).
async fn echo<S: AsyncRead + AsyncWrite + Unpin>(mut stream: BufReader<S>) -> anyhow::Result<()> {
    loop {
        let frame = read_frame(&mut stream).await?;
        ensure!(frame.masked, "an unmasked frame from the client (§5.1)");
        let reply = match frame.opcode {
            CONTINUATION | TEXT | BINARY => {
                let mut reply = encode_frame(frame.opcode, &frame.payload, None);
                if !frame.fin {
                    if let Some(first) = reply.first_mut() {
                        *first &= 0x7f;
                    }
                }
                reply
            }
            PING => encode_frame(PONG, &frame.payload, None),
            PONG => continue,
            CLOSE => {
                stream
                    .write_all(&encode_frame(CLOSE, &frame.payload, None))
                    .await?;
                return Ok(stream.shutdown().await?);
            }
            other => bail!("unknown opcode {other:#x}"),
        };
        stream.write_all(&reply).await?;
    }
}

// ---- load ----

struct Target {
    addr: String,
    host: String,
    path: String,
    cookie: Option<String>,
}

impl Target {
    fn from_url(url: &url::Url, cookie: Option<String>) -> anyhow::Result<Target> {
        ensure!(
            matches!(url.scheme(), "ws" | "http"),
            "{url}: only ws:// (or http://) URLs, no TLS"
        );
        let host = url.host_str().ok_or_else(|| anyhow!("{url}: no host"))?;
        let port = url.port_or_known_default().unwrap_or(80);
        let mut path = url.path().to_owned();
        if let Some(query) = url.query() {
            path = format!("{path}?{query}");
        }
        Ok(Target {
            addr: format!("{host}:{port}"),
            host: format!("{host}:{port}"),
            path,
            cookie,
        })
    }
}

type Connection = BufReader<TcpStream>;

/// Opens one WebSocket connection and checks the server's `101` (§4.1, the client's checks).
async fn connect(target: &Target) -> anyhow::Result<Connection> {
    let stream = TcpStream::connect(&target.addr)
        .await
        .with_context(|| format!("connect to {}", target.addr))?;
    stream.set_nodelay(true)?;
    let mut stream = BufReader::new(stream);
    let key = STANDARD.encode(rand::random::<[u8; 16]>());
    let cookie = match &target.cookie {
        Some(cookie) => format!("Cookie: {cookie}\r\n"),
        None => String::new(),
    };
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{cookie}\r\n",
        target.path, target.host
    );
    stream.write_all(request.as_bytes()).await?;
    let mut status = String::new();
    stream.read_line(&mut status).await?;
    ensure!(
        status.split_whitespace().nth(1) == Some("101"),
        "handshake answered {:?}, not 101",
        status.trim_end()
    );
    let (mut accept, mut upgrade) = (None, false);
    loop {
        let mut line = String::new();
        ensure!(
            stream.read_line(&mut line).await? > 0,
            "connection closed in the 101's headers"
        );
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("sec-websocket-accept") {
                accept = Some(value.to_owned());
            } else if name.eq_ignore_ascii_case("upgrade") {
                upgrade = value.eq_ignore_ascii_case("websocket");
            }
        }
    }
    ensure!(upgrade, "the 101 does not upgrade to websocket");
    ensure!(
        accept.as_deref() == Some(websocket_accept(&key).as_str()),
        "the 101's Sec-WebSocket-Accept {accept:?} does not match the key"
    );
    Ok(stream)
}

async fn timed<T>(
    what: &str,
    future: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    tokio::time::timeout(IO_TIMEOUT, future)
        .await
        .map_err(|_| anyhow!("{what}: no answer in {IO_TIMEOUT:?}"))?
}

/// Round-trips on one connection until `deadline`; the latency of each, in microseconds.
async fn round_trips(
    mut stream: Connection,
    id: usize,
    deadline: Instant,
    size: usize,
) -> anyhow::Result<Vec<u32>> {
    let mut latencies = Vec::new();
    let mut seq = 0u64;
    while Instant::now() < deadline {
        let mut payload = format!("{id:06} {seq:016} ").into_bytes();
        payload.resize(size, b'x');
        let frame = encode_frame(TEXT, &payload, Some(rand::random()));
        let sent = Instant::now();
        stream.write_all(&frame).await?;
        let echo = timed("echo", read_frame(&mut stream)).await?;
        let elapsed = sent.elapsed();
        ensure!(
            !echo.masked && echo.fin && echo.opcode == TEXT,
            "connection {id}: echo {seq} is not a final unmasked text frame (opcode {:#x})",
            echo.opcode
        );
        ensure!(
            echo.payload == payload,
            "connection {id}: echo {seq} differs: sent {:?}, got {:?}",
            String::from_utf8_lossy(&payload),
            String::from_utf8_lossy(&echo.payload)
        );
        latencies.push(u32::try_from(elapsed.as_micros()).unwrap_or(u32::MAX));
        seq += 1;
    }
    // §5.5.1: close with 1000 (normal closure); the server must answer with a close.
    let code = 1000u16.to_be_bytes();
    stream
        .write_all(&encode_frame(CLOSE, &code, Some(rand::random())))
        .await?;
    let close = timed("close", read_frame(&mut stream)).await?;
    ensure!(
        close.opcode == CLOSE,
        "connection {id}: answered the close with opcode {:#x}",
        close.opcode
    );
    Ok(latencies)
}

async fn load(
    target: Target,
    connections: usize,
    duration: Duration,
    size: usize,
) -> anyhow::Result<()> {
    let target = std::sync::Arc::new(target);
    let opening: Vec<_> = (0..connections)
        .map(|_| {
            let target = target.clone();
            tokio::spawn(async move { timed("handshake", connect(&target)).await })
        })
        .collect();
    let mut opened = Vec::with_capacity(connections);
    for task in opening {
        opened.push(task.await??);
    }
    let start = Instant::now();
    let deadline = start + duration;
    let running: Vec<_> = opened
        .into_iter()
        .enumerate()
        .map(|(id, stream)| tokio::spawn(round_trips(stream, id, deadline, size)))
        .collect();
    let mut latencies = Vec::new();
    let mut failures = Vec::new();
    for task in running {
        match task.await? {
            Ok(more) => latencies.extend(more),
            Err(error) => failures.push(format!("{error:#}")),
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    if !failures.is_empty() {
        bail!(
            "{} of {connections} connections failed: {}",
            failures.len(),
            failures.join("; ")
        );
    }
    ensure!(!latencies.is_empty(), "no round-trip completed");
    latencies.sort_unstable();
    let percentile = |q: f64| {
        let rank = ((latencies.len() - 1) as f64 * q).round() as usize;
        f64::from(latencies.get(rank).copied().unwrap_or(0)) / 1000.0
    };
    println!("connections {connections}");
    println!("seconds {elapsed:.3}");
    println!("round_trips {}", latencies.len());
    println!("round_trips_per_s {:.1}", latencies.len() as f64 / elapsed);
    println!("p50_ms {:.3}", percentile(0.50));
    println!("p99_ms {:.3}", percentile(0.99));
    println!("max_ms {:.3}", percentile(1.0));
    Ok(())
}
