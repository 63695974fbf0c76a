//! The peer of twinsock's behaviour suites.
//!
//! It listens for plain WebSocket (`ws`) and TLS (`wss`) connections on loopback addresses and
//! serves a fixed set of routes, each of which makes the server behave in one precise way (echo,
//! close with a code, drop the TCP connection, answer the handshake with garbage...). See
//! `routes.rs` for the list.
//!
//! The native tests start it in-process with [`TestServer::start`]; the browser and end-to-end
//! runs use the `test-server` binary, which prints [`TestServer::line`] and serves until killed.
//! Every connection is served by a thread of its own, bounded in time by the route.
//!
//! Its TLS listeners include one whose certificate a test CA made at start issued (trusted
//! through that CA, as a system store holding it would be) and one that requires a client
//! certificate from that CA. [`ProxyServer`] is an HTTP or SOCKS5 proxy of its own, for the
//! native client's proxy tests.

mod closing;
mod compressed;
mod conn;
mod deflate;
mod deflate_check;
mod frame_layer;
mod handshake;
mod proxy;
mod relay;
mod restart;
mod routes;
mod tls;

use std::collections::HashMap;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use rustls::ServerConfig;

use crate::conn::Conn;
pub use crate::proxy::{ProxyCredentials, ProxyKind, ProxyServer, TunnelRecord};
use crate::restart::Restartable;
pub use crate::routes::Files;
pub use crate::tls::Identity;
use crate::tls::{Clients, TestCa};

/// Where the listeners bind (loopback addresses only; port 0 picks a free port), and the files
/// `/file` serves.
#[derive(Debug, Clone)]
pub struct Options {
    /// The plain WebSocket listener.
    pub ws: SocketAddr,
    /// The TLS WebSocket listener (certificate for `localhost` and `127.0.0.1`).
    pub wss: SocketAddr,
    /// The files `/file?name=NAME` sends, by name (read when asked for).
    pub files: Files,
    /// Also run a restartable plain listener ([`TestServer::restartable`]), which the
    /// `/restart` route stops and brings back.
    pub restartable: bool,
}

impl Default for Options {
    /// Both on `127.0.0.1`, on free ports; no files.
    fn default() -> Self {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        Self {
            ws: any,
            wss: any,
            files: Files::new(),
            restartable: false,
        }
    }
}

/// A running test server. Dropping it leaves it running (for the life of the process);
/// [`TestServer::stop`] stops it.
pub struct TestServer {
    /// The plain WebSocket listener's address.
    pub ws: SocketAddr,
    /// The TLS listener's address.
    pub wss: SocketAddr,
    /// A loopback address where nothing listens, for refused-connection tests: its port stays
    /// bound (not listening) for the life of the process, so that no listener bound later to
    /// port 0 (a restarted server's, another test's) can take it and answer there.
    pub closed: SocketAddr,
    /// A TLS listener (same routes) whose certificate is for another host,
    /// `other-host.invalid`.
    pub wrong_name: SocketAddr,
    /// The DER certificate of the `wss` listener (self-signed: trust it as a root).
    pub cert_der: Vec<u8>,
    /// The DER certificate of the `wrong_name` listener.
    pub wrong_name_cert_der: Vec<u8>,
    /// The restartable plain listener's address, with [`Options::restartable`]: the same
    /// routes, on a server that `/restart?down_ms=D` on the main listeners stops (cutting its
    /// connections without a close frame) and starts again on this address after D ms.
    pub restartable: Option<SocketAddr>,
    /// A TLS listener (same routes) whose certificate, for `localhost` and `127.0.0.1`, the
    /// test CA issued; it negotiates ALPN, preferring `h2` to `http/1.1` as web servers do.
    pub ca_wss: SocketAddr,
    /// A TLS listener (same routes, certificate from the test CA) that requires a client
    /// certificate issued by the test CA: mutual TLS.
    pub mtls: SocketAddr,
    /// The test CA's certificate, PEM: a CA bundle (for `SSL_CERT_FILE`).
    pub ca_pem: String,
    /// The test CA's certificate, DER.
    pub ca_der: Vec<u8>,
    /// A client certificate (common name `twinsock test client`) the test CA issued, with
    /// its key.
    pub client: Identity,
    running: Arc<Running>,
    accept_threads: Vec<JoinHandle<()>>,
}

/// What the accept loops and the connection threads share: the stop flag, the open connections
/// (their TCP streams, to cut them all at once), the files `/file` serves, and the rooms of
/// `/relay`.
#[derive(Default)]
struct Running {
    files: Files,
    rooms: relay::Rooms,
    restartable: Option<Restartable>,
    /// The socket that keeps [`TestServer::closed`]'s port taken (bound, never listening).
    _closed_port: Option<socket2::Socket>,
    stopped: AtomicBool,
    next_id: AtomicU64,
    connections: Mutex<HashMap<u64, TcpStream>>,
}

impl TestServer {
    /// Binds the listeners, makes the certificates, and serves on background threads.
    ///
    /// # Errors
    /// A listener cannot be bound, an address is not a loopback one, or a thread cannot start.
    pub fn start(options: Options) -> io::Result<Self> {
        for address in [options.ws, options.wss] {
            if !address.ip().is_loopback() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{address}: only loopback addresses (127.0.0.1, ::1) are allowed"),
                ));
            }
        }
        let identity = tls::Identity::generate(&["localhost", "127.0.0.1"]);
        // A certificate for another host, served on its own listener (a name-mismatch test).
        let other = tls::Identity::generate(&["other-host.invalid"]);
        let ca = TestCa::generate();
        let issued = ca.issue_server(&["localhost", "127.0.0.1"]);
        let client = ca.issue_client("twinsock test client");
        let ws = listen(options.ws)?;
        let wss = listen(options.wss)?;
        let wrong_name = listen(SocketAddr::new(options.wss.ip(), 0))?;
        let ca_wss = listen(SocketAddr::new(options.wss.ip(), 0))?;
        let mtls = listen(SocketAddr::new(options.wss.ip(), 0))?;
        let (closed, closed_port) = reserve_closed_port(options.ws.ip())?;
        let restartable = if options.restartable {
            Some(Restartable::start(options.ws.ip(), options.files.clone())?)
        } else {
            None
        };
        let running = Arc::new(Running {
            files: options.files,
            _closed_port: Some(closed_port),
            restartable,
            ..Running::default()
        });
        let mut server = Self {
            ws: ws.local_addr()?,
            wss: wss.local_addr()?,
            closed,
            wrong_name: wrong_name.local_addr()?,
            cert_der: identity.cert_der.clone(),
            wrong_name_cert_der: other.cert_der.clone(),
            restartable: running.restartable.as_ref().map(|r| r.addr),
            ca_wss: ca_wss.local_addr()?,
            mtls: mtls.local_addr()?,
            ca_pem: ca.cert_pem.clone(),
            ca_der: ca.cert_der.clone(),
            client,
            running,
            accept_threads: Vec::new(),
        };
        for (listener, tls) in [
            (ws, None),
            (wss, Some(identity.server_config())),
            (wrong_name, Some(other.server_config())),
            (
                ca_wss,
                Some(issued.server_config_for(Clients::Anyone, &["h2", "http/1.1"])),
            ),
            (
                mtls,
                Some(issued.server_config_for(Clients::CertifiedBy(&ca), &[])),
            ),
        ] {
            let running = server.running.clone();
            let handle = thread::Builder::new()
                .name("test-server accept".into())
                .spawn(move || accept_loop(listener, tls, running))?;
            server.accept_threads.push(handle);
        }
        Ok(server)
    }

    /// The start-up line the binary prints and the browser tests read:
    /// `ws=ADDR wss=ADDR cert=PATH closed=ADDR wrongname=ADDR wrongname_cert=PATH`, with the
    /// certificates' paths as given, then ` restart=ADDR` with a restartable listener.
    pub fn line(&self, cert: &Path, wrong_name_cert: &Path) -> String {
        let mut line = format!(
            "ws={} wss={} cert={} closed={} wrongname={} wrongname_cert={}",
            self.ws,
            self.wss,
            cert.display(),
            self.closed,
            self.wrong_name,
            wrong_name_cert.display()
        );
        if let Some(restartable) = self.restartable {
            line.push_str(&format!(" restart={restartable}"));
        }
        line
    }

    /// The start-up line's fields for the CA-issued listeners, after [`TestServer::line`]'s:
    /// `cawss=ADDR mtls=ADDR ca=PATH clientcert=PATH clientkey=PATH`, with the paths that
    /// [`TestServer::write_ca_files`] returned.
    pub fn ca_line(&self, files: &CaFiles) -> String {
        format!(
            "cawss={} mtls={} ca={} clientcert={} clientkey={}",
            self.ca_wss,
            self.mtls,
            files.ca.display(),
            files.client_cert.display(),
            files.client_key.display()
        )
    }

    /// Writes the CA's certificate and the client's certificate and key (PEM) into `dir`,
    /// named after this process.
    ///
    /// # Errors
    /// A file cannot be written.
    pub fn write_ca_files(&self, dir: &Path) -> io::Result<CaFiles> {
        let path = |suffix: &str| {
            dir.join(format!(
                "twinsock-test-server-{}-{suffix}.pem",
                std::process::id()
            ))
        };
        let files = CaFiles {
            ca: path("ca"),
            client_cert: path("client"),
            client_key: path("client-key"),
        };
        std::fs::write(&files.ca, &self.ca_pem)?;
        std::fs::write(&files.client_cert, &self.client.cert_pem)?;
        std::fs::write(&files.client_key, &self.client.key_pem)?;
        Ok(files)
    }

    /// Writes both certificates (DER) into `dir`, named after this process; returns their
    /// paths (the `wss` one, then the wrong-name one).
    ///
    /// # Errors
    /// A file cannot be written.
    pub fn write_certificates(&self, dir: &Path) -> io::Result<(PathBuf, PathBuf)> {
        let path =
            |suffix: &str| dir.join(format!("twinsock-test-server-{}{suffix}.der", std::process::id()));
        let (cert, other) = (path(""), path("-other"));
        std::fs::write(&cert, &self.cert_der)?;
        std::fs::write(&other, &self.wrong_name_cert_der)?;
        Ok((cert, other))
    }

    /// Stops at once, as if the process died: the listeners close (their ports are free to
    /// bind again) and every open connection is shut down without a close frame.
    pub fn stop(mut self) {
        self.running.stopped.store(true, Ordering::Release);
        // Wake each blocked `accept` with a connection of our own; the loop then sees the flag.
        for address in [self.ws, self.wss, self.wrong_name, self.ca_wss, self.mtls] {
            let _ = TcpStream::connect_timeout(&address, Duration::from_secs(1));
        }
        for handle in self.accept_threads.drain(..) {
            let _ = handle.join();
        }
        let connections = std::mem::take(&mut *lock(&self.running.connections));
        for tcp in connections.values() {
            let _ = tcp.shutdown(Shutdown::Both);
        }
        if let Some(restartable) = &self.running.restartable {
            restartable.stop();
        }
    }
}

/// Where [`TestServer::write_ca_files`] wrote the test CA's files (PEM).
#[derive(Debug, Clone)]
pub struct CaFiles {
    /// The CA's certificate: a bundle for `SSL_CERT_FILE`.
    pub ca: PathBuf,
    /// The client certificate.
    pub client_cert: PathBuf,
    /// The client certificate's private key (PKCS#8).
    pub client_key: PathBuf,
}

impl CaFiles {
    /// The paths, to remove them.
    pub fn paths(&self) -> [&Path; 3] {
        [&self.ca, &self.client_cert, &self.client_key]
    }
}

/// A listener on `address` with a backlog as long as the system allows (std's 128 overflows
/// when a test opens a thousand sockets at once, and the dropped SYNs are only retried after
/// 1, 3, 7... seconds).
fn listen(address: SocketAddr) -> io::Result<TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(address),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    socket.bind(&address.into())?;
    socket.listen(4096)?;
    Ok(socket.into())
}

/// A loopback port on `ip` that refuses connections and that nothing else can bind: a socket
/// bound to it without listening (and without `SO_REUSEADDR`), kept by the caller. (A port
/// bound and released at once was taken, once in about fifty runs of the parity suite, by one
/// of the listeners a restarted server binds to port 0: the refused-connection test then
/// waited for a handshake answer that never came.)
fn reserve_closed_port(ip: std::net::IpAddr) -> io::Result<(SocketAddr, socket2::Socket)> {
    let address = SocketAddr::new(ip, 0);
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(address),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.bind(&address.into())?;
    let bound = socket
        .local_addr()?
        .as_socket()
        .ok_or_else(|| io::Error::other("the reserved port has no IP address"))?;
    Ok((bound, socket))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Accepts connections on `listener` until the server stops, serving each on its own thread.
fn accept_loop(listener: TcpListener, tls: Option<Arc<ServerConfig>>, running: Arc<Running>) {
    let scheme = if tls.is_some() { "wss" } else { "ws" };
    loop {
        let accepted = listener.accept();
        if running.stopped.load(Ordering::Acquire) {
            return;
        }
        let (tcp, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                eprintln!("test-server: {scheme}: accept failed: {err}");
                thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let id = running.next_id.fetch_add(1, Ordering::Relaxed);
        if let Ok(clone) = tcp.try_clone() {
            lock(&running.connections).insert(id, clone);
        }
        let tls = tls.clone();
        let running_for_conn = running.clone();
        let spawned = thread::Builder::new()
            .name(format!("{scheme} {peer}"))
            .spawn(move || {
                let conn = match tls {
                    Some(config) => Conn::tls(tcp, config),
                    None => Ok(Conn::Plain(tcp)),
                };
                match conn {
                    Ok(conn) => routes::serve(
                        conn,
                        scheme,
                        peer,
                        &running_for_conn.files,
                        running_for_conn.restartable.as_ref(),
                        &running_for_conn.rooms,
                    ),
                    Err(err) => eprintln!("test-server: {scheme} {peer}: TLS set-up failed: {err}"),
                }
                lock(&running_for_conn.connections).remove(&id);
            });
        if let Err(err) = spawned {
            eprintln!("test-server: {scheme}: cannot spawn a connection thread: {err}");
            lock(&running.connections).remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_closed_port_refuses_connections_and_cannot_be_bound_again() {
        let (closed, _kept) = reserve_closed_port([127, 0, 0, 1].into()).unwrap();
        let refused = std::net::TcpStream::connect(closed).unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);
        // Neither a plain listener nor one with SO_REUSEADDR (as `listen` makes them) gets it.
        assert_eq!(
            TcpListener::bind(closed).unwrap_err().kind(),
            io::ErrorKind::AddrInUse
        );
        assert_eq!(listen(closed).unwrap_err().kind(), io::ErrorKind::AddrInUse);
    }
}
