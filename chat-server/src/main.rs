//! `chat-server`: the tutorial's chat server, on axum and tokio.
//!
//! ```text
//! chat-server [--listen ADDR] [--allow-origin ORIGIN]... [--max-message-size BYTES]
//!             [--max-clients N] [--queue N] [--rate-limit N] [--header-timeout SECS]
//!             [--www DIR] [--pkg DIR] [--echo-route]
//! ```
//!
//! | option | default | meaning |
//! |---|---|---|
//! | `--listen` | `127.0.0.1:8080` | address to listen on; port 0 picks a free port |
//! | `--allow-origin` | none | more origins allowed to upgrade (repeatable; `*`: any) |
//! | `--max-message-size` | 65536 | largest incoming message in bytes; larger: close 1009 |
//! | `--max-clients` | 10000 | WebSocket clients at once; one more: HTTP 503 |
//! | `--queue` | 256 | outgoing messages queued per client; full: close 1013 |
//! | `--rate-limit` | 0 (off) | messages per second per client, burst as many; over: close 1008 |
//! | `--header-timeout` | 10 | seconds to send a complete request head (from the connection, or from the last answer); later: dropped; 0: off; WebSockets are exempt |
//! | `--www` | `www` | static files served at `/` (`/` is `index.html`) |
//! | `--pkg` | `pkg` | static files served at `/pkg/` (the `wasm-pack build --target web` output) |
//! | `--echo-route` | off | also serve `/echo` (echoes text and binary to the sender) |
//!
//! At start it prints one line to stdout, `chat-server listening on http://ADDR/`, with the
//! address it really bound. Logs (one line per connect and disconnect) go to stderr; `RUST_LOG`
//! sets the level (default `info`).
//!
//! Routes:
//! - `GET /ws`: the chat. Each text message is cut to 50 characters and broadcast as text to
//!   every chat client, the sender included, in the order received. A binary message closes
//!   the sender with 1003; an over-size one with 1009.
//! - `GET /hello`: the demo server. "My name is NAME" gets "Hello from server, NAME!" and a
//!   close with 1000; anything else is echoed.
//! - `GET /echo` (with `--echo-route`): echoes text and binary back to the sender.
//!
//! Every WebSocket route accepts an upgrade only from an allowed `Origin` (none at all is
//! allowed: non-browser clients send none; by default the server's own origins are allowed)
//! and answers 403 otherwise. A plain GET gets a 4xx. A client whose queue is full is closed
//! with 1013 and dropped within 2 s even if it reads nothing. SIGINT and SIGTERM close every
//! client with 1001 and exit with status 0 within about 3 s.

mod client;
mod config;
mod head_timeout;
mod hello;
mod hub;
mod origin;
mod queue;
mod rate;
mod routes;
mod shutdown;

use std::future::IntoFuture;
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tracing::{debug, error, info, warn};
use tracing_subscriber::EnvFilter;

use crate::client::Limits;
use crate::config::{Command, Config};
use crate::head_timeout::HeadTimeout;
use crate::hub::{Close, Hub};
use crate::origin::OriginPolicy;
use crate::routes::AppState;

/// How long the shutdown waits for the clients' connections to close.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

fn main() -> ExitCode {
    let config = match config::parse(std::env::args().skip(1)) {
        Ok(Command::Run(config)) => config,
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
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(problem) => {
            error!(%problem, "cannot start the runtime");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            error!(%problem, "the server failed");
            ExitCode::FAILURE
        }
    }
}

/// Serves until SIGINT or SIGTERM, then closes every client with 1001.
async fn serve(config: Config) -> std::io::Result<()> {
    let listener = TcpListener::bind(&config.listen).await.map_err(|problem| {
        std::io::Error::new(
            problem.kind(),
            format!("cannot listen on {}: {problem}", config.listen),
        )
    })?;
    let local = listener.local_addr()?;
    let hub = Hub::new(config.max_clients, config.queue);
    let state = AppState {
        hub: Arc::clone(&hub),
        origins: Arc::new(OriginPolicy::new(local, &config.allow_origins)),
        limits: Limits {
            max_message_size: config.max_message_size,
            rate_limit: config.rate_limit,
        },
    };
    let app = routes::app(&config, state);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    // A chat sends small messages: no Nagle delay. (Through `tap_io`, whose listener's address
    // axum knows how to pass to `ConnectInfo`.)
    let listener = HeadTimeout::new(listener, config.header_timeout).tap_io(|io| {
        if let Err(problem) = io.tcp().set_nodelay(true) {
            debug!(%problem, "cannot set TCP_NODELAY");
        }
    });
    let server = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move {
            let _ = stopped.await;
        });
    let mut server = tokio::spawn(server.into_future());

    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "chat-server listening on http://{local}/")?;
    stdout.flush()?;
    drop(stdout);
    info!(%local, www = %config.www.display(), pkg = %config.pkg.display(), "listening");

    tokio::select! {
        signal = shutdown::signal() => info!("{}: closing every client", signal?),
        ended = &mut server => {
            ended.map_err(std::io::Error::other)??;
            return Err(std::io::Error::other("the server stopped by itself"));
        }
    }
    // Stop accepting, close everyone, and give the close frames a moment to go out.
    let _ = stop.send(());
    hub.shut_down(Close::GOING_AWAY);
    if tokio::time::timeout(SHUTDOWN_GRACE, hub.emptied()).await.is_err() {
        warn!("some connections were still closing after {SHUTDOWN_GRACE:?}");
    }
    info!("stopped");
    Ok(())
}
