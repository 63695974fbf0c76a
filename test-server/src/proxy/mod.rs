//! Forward proxies for the native client's proxy tests: an HTTP proxy (`CONNECT` only) and a
//! SOCKS5 proxy (RFC 1928, with RFC 1929's user name and password), each optionally
//! requiring credentials. They tunnel only to loopback addresses (a name must resolve to
//! loopback ones only), and log every tunnel asked for, to stderr and to
//! [`ProxyServer::log`].

mod http;
mod relay;
mod socks5;

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// How long a proxy waits for a client's request, and for the server to accept.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The proxy protocol a [`ProxyServer`] speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyKind {
    /// An HTTP proxy: `CONNECT host:port`, with `Proxy-Authorization: Basic` when required.
    Http,
    /// A SOCKS5 proxy: `CONNECT` to an IPv4 or IPv6 address or a name it resolves.
    Socks5,
}

/// A user name and password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyCredentials {
    /// The user name.
    pub user: String,
    /// The password.
    pub password: String,
}

/// What one tunnel request was and how it ended, as the proxy saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunnelRecord {
    /// The client's address.
    pub client: SocketAddr,
    /// The destination as the client named it: `host:port` (`[v6]:port`); for SOCKS5, a
    /// name only when the client sent one (`socks5h://`).
    pub target: String,
    /// The user name the client authenticated with, if any.
    pub user: Option<String>,
    /// The answer: `200` or another HTTP status; for SOCKS5 `reply N`, `no acceptable
    /// method` or `authentication failed`.
    pub outcome: String,
}

/// A running proxy.
pub struct ProxyServer {
    /// Where it listens.
    pub address: SocketAddr,
    kind: ProxyKind,
    shared: Arc<Shared>,
    accept_thread: Option<JoinHandle<()>>,
}

/// What the accept loop and the connection threads share.
struct Shared {
    kind: ProxyKind,
    credentials: Option<ProxyCredentials>,
    stopped: AtomicBool,
    log: Mutex<Vec<TunnelRecord>>,
    next_id: AtomicU64,
    /// The open connections (clients and servers), to cut them all at [`ProxyServer::stop`].
    connections: Mutex<HashMap<u64, TcpStream>>,
}

impl ProxyServer {
    /// Starts a proxy of `kind` on `address` (a loopback address; port 0 picks a free one),
    /// requiring `credentials` if given.
    ///
    /// # Errors
    /// The address is not a loopback one, it cannot be bound, or a thread cannot start.
    pub fn start(
        kind: ProxyKind,
        address: SocketAddr,
        credentials: Option<ProxyCredentials>,
    ) -> io::Result<Self> {
        if !address.ip().is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{address}: only loopback addresses are allowed"),
            ));
        }
        let listener = TcpListener::bind(address)?;
        let shared = Arc::new(Shared {
            kind,
            credentials,
            stopped: AtomicBool::new(false),
            log: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(0),
            connections: Mutex::new(HashMap::new()),
        });
        let address = listener.local_addr()?;
        let for_loop = shared.clone();
        let accept_thread = thread::Builder::new()
            .name(format!("{} proxy accept", kind.name()))
            .spawn(move || accept_loop(listener, for_loop))?;
        Ok(Self {
            address,
            kind,
            shared,
            accept_thread: Some(accept_thread),
        })
    }

    /// The proxy's URL for a client, with `credentials` if given (percent-encoded).
    pub fn url(&self, credentials: Option<&ProxyCredentials>) -> String {
        let scheme = match self.kind {
            ProxyKind::Http => "http",
            ProxyKind::Socks5 => "socks5",
        };
        match credentials {
            Some(ProxyCredentials { user, password }) => {
                format!(
                    "{scheme}://{}:{}@{}",
                    encode(user),
                    encode(password),
                    self.address
                )
            }
            None => format!("{scheme}://{}", self.address),
        }
    }

    /// Every tunnel asked for so far, in order.
    pub fn log(&self) -> Vec<TunnelRecord> {
        lock(&self.shared.log).clone()
    }

    /// Stops at once: the listener closes and every open tunnel is cut.
    pub fn stop(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        self.shared.stopped.store(true, Ordering::Release);
        let _ = TcpStream::connect_timeout(&self.address, Duration::from_secs(1));
        if let Some(handle) = self.accept_thread.take() {
            let _ = handle.join();
        }
        for tcp in std::mem::take(&mut *lock(&self.shared.connections)).values() {
            let _ = tcp.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for ProxyServer {
    /// A proxy stops when its handle goes (a test's proxy ends with the test).
    fn drop(&mut self) {
        if self.accept_thread.is_some() {
            self.stop_now();
        }
    }
}

impl ProxyKind {
    fn name(self) -> &'static str {
        match self {
            ProxyKind::Http => "http-proxy",
            ProxyKind::Socks5 => "socks5-proxy",
        }
    }
}

/// Percent-encodes what a URL's user information cannot hold as it is.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let accepted = listener.accept();
        if shared.stopped.load(Ordering::Acquire) {
            return;
        }
        let (client, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                eprintln!("test-server: {}: accept failed: {err}", shared.kind.name());
                thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let shared = shared.clone();
        let spawned = thread::Builder::new()
            .name(format!("{} {peer}", shared.kind.name()))
            .spawn(move || serve(client, peer, &shared));
        if let Err(err) = spawned {
            eprintln!("test-server: proxy: cannot spawn a connection thread: {err}");
        }
    }
}

/// Serves one client: reads its request, answers, and relays the tunnel if it opened.
fn serve(client: TcpStream, peer: SocketAddr, shared: &Shared) {
    let id = shared.track(&client);
    let _ = client.set_read_timeout(Some(REQUEST_TIMEOUT));
    let _ = client.set_write_timeout(Some(REQUEST_TIMEOUT));
    let opened = match shared.kind {
        ProxyKind::Http => http::serve(&client, peer, shared),
        ProxyKind::Socks5 => socks5::serve(&client, peer, shared),
    };
    if let Some(server) = opened {
        let server_id = shared.track(&server);
        relay::relay(client, server);
        shared.untrack(server_id);
    }
    shared.untrack(id);
}

impl Shared {
    fn track(&self, tcp: &TcpStream) -> Option<u64> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let clone = tcp.try_clone().ok()?;
        lock(&self.connections).insert(id, clone);
        Some(id)
    }

    fn untrack(&self, id: Option<u64>) {
        if let Some(id) = id {
            lock(&self.connections).remove(&id);
        }
    }

    /// Records (and logs) one tunnel request.
    fn record(&self, record: TunnelRecord) {
        let user = record
            .user
            .as_deref()
            .map_or(String::new(), |user| format!(" (user {user})"));
        eprintln!(
            "test-server: {} {}: CONNECT {}{user} -> {}",
            self.kind.name(),
            record.client,
            record.target,
            record.outcome
        );
        lock(&self.log).push(record);
    }
}

/// Why a destination is not tunnelled to.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    /// It is not (or does not resolve only to) loopback addresses.
    NotAllowed,
    /// The name does not resolve.
    Unresolvable,
    /// The server refused or did not answer.
    Unreachable,
}

/// Connects to `host` (a name, or an IP address without brackets) at `port`, if it is on
/// loopback.
fn connect_loopback(host: &str, port: u16) -> Result<TcpStream, Refusal> {
    let addresses: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => (host, port)
            .to_socket_addrs()
            .map_err(|_| Refusal::Unresolvable)?
            .collect(),
    };
    if addresses.is_empty() {
        return Err(Refusal::Unresolvable);
    }
    if !addresses.iter().all(|address| address.ip().is_loopback()) {
        return Err(Refusal::NotAllowed);
    }
    addresses
        .iter()
        .find_map(|address| TcpStream::connect_timeout(address, CONNECT_TIMEOUT).ok())
        .ok_or(Refusal::Unreachable)
}
