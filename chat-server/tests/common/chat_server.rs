//! The `chat-server` binary as a test peer: started on a free loopback port, killed and reaped
//! when dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use super::WAIT;

/// A running `chat-server`, killed (and reaped) when dropped. Set `TWINSOCK_CHAT_SERVER_LOGS=1`
/// to see its log.
pub struct ChatServer {
    /// The server process.
    pub child: Child,
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
    /// `http`, or `https` with `--tls-cert`.
    pub scheme: String,
}

impl ChatServer {
    /// Starts the server on `127.0.0.1:0` with `args` and waits for its address line.
    pub fn start(args: &[&str]) -> Self {
        Self::spawn(Command::new(env!("CARGO_BIN_EXE_chat-server")), args)
    }

    /// [`ChatServer::start`] under an open-files limit of `soft` (and `hard`), set by bash's
    /// `ulimit` before it becomes the server.
    pub fn start_with_open_files(args: &[&str], soft: u64, hard: u64) -> Self {
        let mut command = Command::new("bash");
        command.args([
            "-c",
            &format!("ulimit -S -n {soft} && ulimit -H -n {hard} && exec \"$0\" \"$@\""),
            env!("CARGO_BIN_EXE_chat-server"),
        ]);
        Self::spawn(command, args)
    }

    fn spawn(mut command: Command, args: &[&str]) -> Self {
        let logs = if std::env::var_os("TWINSOCK_CHAT_SERVER_LOGS").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        };
        let mut child = command
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(logs)
            .spawn()
            .expect("start chat-server");
        let stdout = child.stdout.take().expect("the server's stdout");
        let mut server = Self {
            child,
            port: 0,
            scheme: String::new(),
        };
        let (line_tx, line_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = line_tx.send(line);
        });
        let line = line_rx
            .recv_timeout(WAIT)
            .expect("chat-server printed no address line in time");
        let (scheme, port) = line
            .trim()
            .strip_prefix("chat-server listening on ")
            .and_then(|rest| rest.split_once("://127.0.0.1:"))
            .and_then(|(scheme, rest)| Some((scheme, rest.strip_suffix('/')?.parse().ok()?)))
            .unwrap_or_else(|| panic!("unexpected address line {line:?}"));
        server.scheme = scheme.to_string();
        server.port = port;
        server
    }

    /// `ws://` (or `wss://`) URL of `path`.
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.scheme == "https" { "wss" } else { "ws" };
        format!("{scheme}://127.0.0.1:{}{path}", self.port)
    }

    /// The server's own origin.
    pub fn origin(&self) -> String {
        format!("{}://127.0.0.1:{}", self.scheme, self.port)
    }

    /// `GET path` on a connection of its own: the status and the body.
    pub fn get(&self, path: &str) -> (u16, String) {
        let mut stream = tcp(self.port);
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
            self.port
        )
        .unwrap();
        let status = response_status(&mut stream);
        let mut body = String::new();
        let _ = stream.read_to_string(&mut body);
        (status, body)
    }

    /// A number of `/health`'s JSON (`"NAME":N`).
    pub fn health_number(&self, name: &str) -> usize {
        let (status, body) = self.get("/health");
        assert_eq!(status, 200, "/health: {body}");
        body.split_once(&format!("\"{name}\":"))
            .and_then(|(_, rest)| rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /health's {body}"))
    }
}

impl Drop for ChatServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP connection to the server with every read and write bounded by [`WAIT`].
pub fn tcp(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_nodelay(true).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream.set_write_timeout(Some(WAIT)).unwrap();
    stream
}

/// A WebSocket upgrade request for `path`, with `origin` if any.
pub fn upgrade_request(port: u16, path: &str, origin: Option<&str>) -> String {
    let origin = origin.map(|o| format!("Origin: {o}\r\n")).unwrap_or_default();
    format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{origin}\r\n"
    )
}

/// Reads an HTTP response head (up to the blank line, nothing after it) and returns its
/// status code.
pub fn response_status(stream: &mut TcpStream) -> u16 {
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            Ok(_) => break,
            Err(error) => panic!("reading the response head {head:?}: {error}"),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let line = head.lines().next().unwrap_or_default();
    line.strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3)?.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {head:?}"))
}

/// Sends a WebSocket upgrade request for `path` (with `origin`, if any) and returns the
/// connection and the answer's status; after a 101 the connection is a WebSocket.
pub fn upgrade(port: u16, path: &str, origin: Option<&str>) -> (TcpStream, u16) {
    let mut stream = tcp(port);
    stream
        .write_all(upgrade_request(port, path, origin).as_bytes())
        .unwrap();
    let code = response_status(&mut stream);
    (stream, code)
}
