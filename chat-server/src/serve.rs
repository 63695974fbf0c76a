//! The accept loop and each connection's HTTP/1.1 service (hyper directly, not `axum::serve`,
//! whose hyper settings cannot be changed: its read buffer grows to 400 KB for a request head).
//!
//! Every connection is admitted to the connection table or refused at once with
//! `503 Service Unavailable` (at most [`MAX_REFUSING`] at a time, each for at most
//! [`REFUSAL_TIME`]; beyond that, and with TLS, it is closed without an answer). When the process
//! runs out of file descriptors all the same (files being served count too), one spare
//! descriptor is given up to accept the connection, answer it 503 if its socket takes it, and
//! close it, so that nobody waits unanswered in the kernel's backlog.

use std::fs::File;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;
use tracing::{debug, info, warn};

use crate::connection::{Admitted, Connection, Connections};
use crate::transport::{Conn, Stream};

/// How many connections over the cap may be being refused (answered 503) at once.
pub const MAX_REFUSING: usize = 32;
/// The longest a refused connection is given to send its request head before its 503.
pub const REFUSAL_TIME: Duration = Duration::from_secs(1);
/// The largest request head (hyper's read buffer, which it allocates as the head comes); a
/// larger one gets `431 Request Header Fields Too Large`.
pub const MAX_HEAD: usize = 16 * 1024;

/// The answer to a connection over the cap.
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n\
content-length: 21\r\nretry-after: 1\r\nconnection: close\r\n\r\ntoo many connections\n";

/// What the accept loop serves with.
#[derive(Clone)]
pub struct Serving {
    /// The application.
    pub app: Router,
    /// The open connections.
    pub connections: Arc<Connections>,
    /// `--header-timeout`.
    pub header_timeout: Duration,
    /// TLS, with `--tls-cert` and `--tls-key`.
    pub tls: Option<TlsAcceptor>,
}

/// Accepts connections until `stop` changes, serving each in a task of its own. HTTP
/// connections are asked to finish (and close) when it does; WebSockets are the hub's.
pub async fn accept_loop(listener: TcpListener, serving: Serving, mut stop: watch::Receiver<bool>) {
    let refusing = Arc::new(Semaphore::new(MAX_REFUSING));
    let mut spare = File::open("/dev/null").ok();
    let mut exhausted_logged: Option<Instant> = None;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.changed() => return,
        };
        match accepted {
            Ok((tcp, peer)) => admit(tcp, peer, &serving, &refusing, &stop),
            Err(problem) if out_of_descriptors(&problem) => {
                if exhausted_logged.is_none_or(|at| at.elapsed() >= Duration::from_secs(1)) {
                    warn!(%problem, open = serving.connections.open(), "out of file descriptors: refusing with the spare one");
                    exhausted_logged = Some(Instant::now());
                }
                refuse_with_spare(&listener, &mut spare).await;
            }
            // The client gave up before it was accepted (ECONNABORTED and the like).
            Err(problem) => debug!(%problem, "accept failed"),
        }
    }
}

/// Whether `problem` is the process or the system running out of file descriptors.
fn out_of_descriptors(problem: &io::Error) -> bool {
    const EMFILE: i32 = 24;
    const ENFILE: i32 = 23;
    matches!(problem.raw_os_error(), Some(EMFILE | ENFILE))
}

/// Gives up the spare descriptor, accepts one connection with it, answers it 503 if its
/// socket takes that at once, closes it, and takes a spare again.
async fn refuse_with_spare(listener: &TcpListener, spare: &mut Option<File>) {
    drop(spare.take());
    match listener.accept().await {
        Ok((tcp, _)) => {
            let _ = tcp.try_write(REFUSAL);
        }
        // Not even the spare one was enough: whoever took it will free some, wait a little.
        Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
    }
    *spare = File::open("/dev/null").ok();
}

/// Admits the connection and serves it, or refuses it.
fn admit(
    tcp: TcpStream,
    peer: SocketAddr,
    serving: &Serving,
    refusing: &Arc<Semaphore>,
    stop: &watch::Receiver<bool>,
) {
    let accepted = Instant::now();
    // A chat sends small messages: no Nagle delay.
    if let Err(problem) = tcp.set_nodelay(true) {
        debug!(%problem, "cannot set TCP_NODELAY");
    }
    let Some(admitted) = serving.connections.admit(peer) else {
        info!(%peer, cap = serving.connections.cap(), "refused: too many connections");
        match Arc::clone(refusing).try_acquire_owned() {
            Ok(permit) if serving.tls.is_none() => {
                tokio::spawn(async move {
                    refuse(tcp).await;
                    drop(permit);
                });
            }
            _ => drop(tcp),
        }
        return;
    };
    tokio::spawn(serve(tcp, admitted, accepted, serving.clone(), stop.clone()));
}

/// Reads the request head (for at most [`REFUSAL_TIME`]), so that closing does not reset the
/// connection under the answer, and answers 503.
async fn refuse(mut tcp: TcpStream) {
    let mut head = Vec::with_capacity(1024);
    let _ = tokio::time::timeout(REFUSAL_TIME, async {
        let mut chunk = [0u8; 1024];
        while !head.windows(4).any(|window| window == b"\r\n\r\n") && head.len() < MAX_HEAD {
            match tcp.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    let _ = tokio::time::timeout(REFUSAL_TIME, async {
        tcp.write_all(REFUSAL).await?;
        tcp.shutdown().await
    })
    .await;
}

/// Serves one admitted connection: the TLS handshake if any (within the header timeout),
/// then HTTP/1.1 with upgrades, until the connection closes or, for HTTP, `stop` changes.
async fn serve(
    tcp: TcpStream,
    admitted: Admitted,
    accepted: Instant,
    serving: Serving,
    mut stop: watch::Receiver<bool>,
) {
    let peer = admitted.connection().peer;
    let stream = match &serving.tls {
        None => Stream::Tcp(tcp),
        Some(tls) => {
            let handshake = tls.accept(tcp);
            let outcome = if serving.header_timeout.is_zero() {
                Ok(handshake.await)
            } else {
                tokio::time::timeout_at(accepted + serving.header_timeout, handshake).await
            };
            match outcome {
                Ok(Ok(tls)) => Stream::Tls(Box::new(tls)),
                Ok(Err(problem)) => return debug!(%peer, %problem, "TLS handshake failed"),
                Err(_) => return info!(%peer, "dropped: no TLS handshake within the header timeout"),
            }
        }
    };
    let conn = Conn::new(stream, admitted, accepted, serving.header_timeout);
    let connection = Arc::clone(conn.connection());
    let app = serving.app;
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        request
            .extensions_mut()
            .insert(Arc::clone(&connection) as Arc<Connection>);
        app.clone().oneshot(request)
    });
    let http = http1::Builder::new()
        .max_buf_size(MAX_HEAD)
        .serve_connection(TokioIo::new(conn), service)
        .with_upgrades();
    tokio::pin!(http);
    let outcome = tokio::select! {
        outcome = &mut http => outcome,
        _ = stop.changed() => {
            http.as_mut().graceful_shutdown();
            http.await
        }
    };
    if let Err(problem) = outcome {
        debug!(%peer, %problem, "connection ended");
    }
}
