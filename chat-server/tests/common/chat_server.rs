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
}

impl ChatServer {
    /// Starts the server on `127.0.0.1:0` with `args` and waits for its address line.
    pub fn start(args: &[&str]) -> Self {
        Self::start_with_env(args, &[])
    }

    /// [`ChatServer::start`] with these environment variables set for the server.
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Self {
        let exe = env!("CARGO_BIN_EXE_chat-server");
        let logs = if std::env::var_os("TWINSOCK_CHAT_SERVER_LOGS").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        };
        let mut child = Command::new(exe)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(logs)
            .spawn()
            .expect("start chat-server");
        let stdout = child.stdout.take().expect("the server's stdout");
        let mut server = Self { child, port: 0 };
        let (line_tx, line_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = line_tx.send(line);
        });
        let line = line_rx
            .recv_timeout(WAIT)
            .expect("chat-server printed no address line in time");
        server.port = line
            .trim()
            .strip_prefix("chat-server listening on http://127.0.0.1:")
            .and_then(|rest| rest.strip_suffix('/'))
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("unexpected address line {line:?}"));
        server
    }

    /// `ws://` URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("ws://127.0.0.1:{}{path}", self.port)
    }

    /// The server's own origin.
    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
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
