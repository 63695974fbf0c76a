//! `chat-server`: the tutorial's chat server, on axum and tokio.
//!
//! ```text
//! chat-server [--listen ADDR] [--allow-origin ORIGIN]... [--max-message-size BYTES]
//!             [--max-clients N] [--max-connections N] [--queue-bytes BYTES] [--rate-limit N]
//!             [--header-timeout SECS] [--tls-cert PATH --tls-key PATH]
//!             [--redis URL [--redis-channel NAME]] [--www DIR] [--pkg DIR] [--echo-route]
//! ```
//!
//! | option | default | meaning | memory it bounds |
//! |---|---|---|---|
//! | `--listen` | `127.0.0.1:8080` | address to listen on; port 0 picks a free port | |
//! | `--allow-origin` | none | more origins allowed to upgrade (repeatable; `*`: any) | |
//! | `--max-message-size` | 65536 | largest incoming message in bytes; larger: close 1009. Also what a connection may read without completing a message (plus framing): an endless message of empty fragments gets 1009 | an unfinished message: up to twice this (tungstenite's read buffer holds the frame, then the message being assembled; measured 136 KiB at 63 KiB); unsent pongs: this + 8 KiB |
//! | `--max-clients` | 10000 | WebSocket clients at once; one more: HTTP 503 | |
//! | `--max-connections` | open-files limit − 96 | connections at once, HTTP and WebSocket; one more: 503 at once, or it takes the place of the connection that has waited longest (over 1 s) for a request head | an idle WebSocket: about 3 KiB; an unfinished request head: at most 32 KiB (16 KiB of head, measured 28 KiB) |
//! | `--queue-bytes` | 65536 | outgoing bytes queued per client (a message counts its text + 64); full: the sender waits; full while the socket takes nothing for 1 s: close 1013 | a client's queue: this (broadcast texts are shared by all queues) |
//! | `--rate-limit` | 0 (off) | messages per second per client, burst as many, pings included; over: close 1008 | |
//! | `--header-timeout` | 10 | seconds to send a complete request head, TLS handshake included (from the connection, or from the last answer); later: dropped; 0: off; WebSockets are exempt. Heads over 16 KiB: 431 | |
//! | `--tls-cert`, `--tls-key` | none | serve HTTPS and WSS (rustls) with this PEM certificate chain and key | |
//! | `--redis` | none | share the chat with other servers through this Redis (`redis://HOST:PORT/`) | |
//! | `--redis-channel` | `twinsock-chat` | the Redis channel of the chat | |
//! | `--www` | `www` | static files served at `/` (`/` is `index.html`) | |
//! | `--pkg` | `pkg` | static files served at `/pkg/` (the `wasm-pack build --target web` output) | |
//! | `--echo-route` | off | also serve `/echo` (echoes text and binary to the sender) | |
//!
//! In all, the server holds at most `--max-connections` × 32 KiB for HTTP connections, plus
//! `--max-clients` × (2 × `--max-message-size` + `--queue-bytes` + 8 KiB) for WebSockets
//! (about 13 GB at the defaults with every client hostile; an idle client costs 3 KiB).
//!
//! At start it raises its soft open-files limit to the hard one, then prints one line to stdout,
//! `chat-server listening on http://ADDR/` (`https://` with TLS), with the address it really
//! bound. Logs (one line per connect and disconnect) go to stderr; `RUST_LOG` sets the level
//! (default `info`). Memory comes from jemalloc, whose background thread gives back what
//! connections freed (within its 10 s decay time).
//!
//! Routes:
//! - `GET /ws`: the chat. Each text message is cut to 50 characters and broadcast as text to
//!   every chat client, the sender included, in the order received (and, with `--redis`,
//!   published to the other servers, whose messages are delivered here). A binary message
//!   closes the sender with 1003; an over-size one with 1009.
//! - `GET /hello`: the demo server. "My name is NAME" gets "Hello from server, NAME!" and a
//!   close with 1000; anything else is echoed.
//! - `GET /echo` (with `--echo-route`): echoes text and binary back to the sender.
//! - `GET /health`: `{"clients":N,"connections":N,"max_connections":N,"redis":"off"|"up"|"down"}`.
//!
//! Every WebSocket route accepts an upgrade only from an allowed `Origin` (none at all is
//! allowed: non-browser clients send none; by default the server's own origins are allowed)
//! and answers 403 otherwise. A plain GET gets a 4xx. A sender waits while a reading client's
//! queue is full (nothing is dropped); a client whose queue is full while its socket has taken
//! nothing for a second is closed with 1013 and dropped within 2 s more even if it reads
//! nothing. A client that sends pings and does not read the pongs is read no more while a pong
//! waits (TCP pushes back on it), and is closed the same way once its socket has taken nothing
//! for a second. SIGINT and SIGTERM close every client with 1001 and exit with status 0 within
//! about 3 s.

mod client;
mod config;
mod connection;
mod health;
mod hello;
mod hub;
mod open_files;
mod origin;
mod queue;
mod rate;
mod relay;
mod routes;
mod serve;
mod shutdown;
mod tls;
mod transport;

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tracing::{error, info, warn};
use tracing_subscriber::EnvFilter;

use crate::client::Limits;
use crate::config::{Command, Config};
use crate::connection::Connections;
use crate::hub::{Close, Hub};
use crate::origin::OriginPolicy;
use crate::routes::AppState;
use crate::serve::Serving;

/// jemalloc instead of glibc's malloc, with its background thread: memory that connections
/// freed goes back to the system within its 10 s decay time. glibc keeps it in per-thread
/// arenas (RSS stayed 72% up after 1,000 clients came and went, 4.4 times after 5,000);
/// mimalloc (v3, tried first) kept all of it while the worker threads were idle. Measured by
/// the tests in `tests/server_hardening.rs` and `tests/server_abuse.rs`.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// How long the shutdown waits for the clients' connections to close.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

fn main() -> ExitCode {
    let config = match config::parse(std::env::args().skip(1)) {
        Ok(Command::Run(config)) => *config,
        Ok(Command::Help) => {
            print!("{}", config::usage());
            return ExitCode::SUCCESS;
        }
        Err(problem) => {
            eprintln!("chat-server: {problem}\n\n{}", config::usage());
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    let tls = match config.tls.as_ref().map(tls::acceptor).transpose() {
        Ok(tls) => tls,
        Err(problem) => {
            eprintln!("chat-server: {problem}");
            return ExitCode::from(2);
        }
    };
    let redis = match config.redis.as_deref().map(relay::client).transpose() {
        Ok(redis) => redis,
        Err(problem) => {
            eprintln!("chat-server: {problem}");
            return ExitCode::from(2);
        }
    };
    if let Err(problem) = tikv_jemalloc_ctl::background_thread::write(true) {
        warn!(%problem, "cannot start the allocator's background thread");
    }
    let open_files = open_files::raise_to_hard_limit();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(problem) => {
            error!(%problem, "cannot start the runtime");
            return ExitCode::FAILURE;
        }
    };
    let cap = open_files::connection_cap(open_files, config.max_connections);
    match runtime.block_on(serve(config, Extras { tls, redis, cap })) {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            error!(%problem, "the server failed");
            ExitCode::FAILURE
        }
    }
}

/// What the start-up prepared besides the configuration.
struct Extras {
    /// TLS, with `--tls-cert` and `--tls-key`.
    tls: Option<tokio_rustls::TlsAcceptor>,
    /// The Redis client, with `--redis`.
    redis: Option<redis::Client>,
    /// The connection cap.
    cap: usize,
}

/// Serves until SIGINT or SIGTERM, then closes every client with 1001.
async fn serve(config: Config, extras: Extras) -> std::io::Result<()> {
    let Extras { tls, redis, cap } = extras;
    let listener = TcpListener::bind(&config.listen).await.map_err(|problem| {
        std::io::Error::new(
            problem.kind(),
            format!("cannot listen on {}: {problem}", config.listen),
        )
    })?;
    let local = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let hub = Hub::new(config.max_clients, config.queue_bytes);
    let connections = Connections::new(cap);
    let state = AppState {
        hub: Arc::clone(&hub),
        origins: Arc::new(OriginPolicy::new(scheme, local, &config.allow_origins)),
        limits: Limits {
            max_message_size: config.max_message_size,
            rate_limit: config.rate_limit,
        },
        connections: Arc::clone(&connections),
        relay: redis.map(|redis| relay::Relay::start(redis, config.redis_channel.clone(), Arc::clone(&hub))),
    };
    let serving = Serving {
        app: routes::app(&config, state),
        connections,
        header_timeout: config.header_timeout,
        tls,
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut server = tokio::spawn(serve::accept_loop(listener, serving, stopped));

    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "chat-server listening on {scheme}://{local}/")?;
    stdout.flush()?;
    drop(stdout);
    info!(%local, www = %config.www.display(), pkg = %config.pkg.display(), max_connections = cap, max_clients = config.max_clients, "listening");

    tokio::select! {
        signal = shutdown::signal() => info!("{}: closing every client", signal?),
        ended = &mut server => {
            ended.map_err(std::io::Error::other)?;
            return Err(std::io::Error::other("the server stopped by itself"));
        }
    }
    // Stop accepting, close everyone, and give the close frames a moment to go out.
    let _ = stop.send(true);
    hub.shut_down(Close::GOING_AWAY);
    if tokio::time::timeout(SHUTDOWN_GRACE, hub.emptied()).await.is_err() {
        warn!("some connections were still closing after {SHUTDOWN_GRACE:?}");
    }
    info!("stopped");
    Ok(())
}
