//! The servers every client talks to, each in a child process of the benchmark
//! (`bench-native --serve KIND`), so that the clients' process holds the clients only (its
//! threads, memory and CPU are what is measured) and the server's CPU can be read on its own
//! from /proc. All listen on 127.0.0.1 with TCP_NODELAY.

use std::io::{self, BufRead, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::compression::server::{self as compression, Prepared};
use crate::{broadcast, echo_batching, echo_tungstenite};

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Kind {
    /// The headline echo server: one write per batch read ([`echo_batching`]).
    Batching,
    /// The ceiling case: tungstenite `send` per message ([`echo_tungstenite`]).
    PerMessage,
    /// The fan-out measure's broadcast server ([`broadcast`]).
    Broadcast,
    /// The compression benchmark's feed and upload server ([`compression`]).
    Compression,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Batching => "batching",
            Kind::PerMessage => "per-message",
            Kind::Broadcast => "broadcast",
            Kind::Compression => "compression",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        [
            Kind::Batching,
            Kind::PerMessage,
            Kind::Broadcast,
            Kind::Compression,
        ]
        .into_iter()
        .find(|k| k.name() == name)
    }
}

/// A listener on 127.0.0.1 with a backlog of 4096: std's `TcpListener::bind` asks for 128,
/// which overflows when the scale test opens 1,000 sockets at once (dropped SYNs come back a
/// second later and would be measured as the server's slowness). std cannot set the backlog,
/// so the socket is made with tokio's `TcpSocket` and handed back as a blocking std listener.
fn listen() -> io::Result<TcpListener> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    let listener = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.bind("127.0.0.1:0".parse().expect("address"))?;
        socket.listen(4096)?.into_std()
    })?;
    listener.set_nonblocking(false)?;
    Ok(listener)
}

/// Runs a server: prints `LISTENING <addr>` on stdout, then serves until stdin closes (the
/// parent exited or dropped its handle), at which point the process exits.
pub fn run(kind: Kind) -> ! {
    // The compression server's frames are made before it listens, outside any timed window.
    let prepared = (kind == Kind::Compression).then(|| Arc::new(Prepared::new()));
    let listener = listen().expect("server: listen on 127.0.0.1:0");
    let addr = listener.local_addr().expect("server: local address");
    println!("LISTENING {addr}");
    io::stdout().flush().expect("server: stdout");
    std::thread::spawn(|| {
        // The parent holds our stdin open; EOF means it is gone.
        let mut line = String::new();
        let stdin = io::stdin();
        let mut lock = stdin.lock();
        while lock.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
            line.clear();
        }
        std::process::exit(0);
    });
    let hub = Arc::new(broadcast::Hub::default());
    for tcp in listener.incoming() {
        match tcp {
            Ok(tcp) => {
                let _ = tcp.set_nodelay(true);
                let hub = hub.clone();
                let prepared = prepared.clone();
                let serve: Box<dyn FnOnce(TcpStream) + Send> = match kind {
                    Kind::Batching => Box::new(echo_batching::serve),
                    Kind::PerMessage => Box::new(echo_tungstenite::serve),
                    Kind::Broadcast => Box::new(move |tcp| broadcast::serve(hub, tcp)),
                    Kind::Compression => {
                        let prepared = prepared.expect("prepared before listening");
                        Box::new(move |tcp| compression::serve(prepared, tcp))
                    }
                };
                let spawned = std::thread::Builder::new()
                    .name(kind.name().into())
                    .stack_size(256 << 10)
                    .spawn(move || serve(tcp));
                if let Err(err) = spawned {
                    eprintln!("server: cannot spawn a connection thread: {err}");
                }
            }
            Err(err) => {
                eprintln!("server: accept: {err}");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    std::process::exit(1);
}

/// A running server, as seen from the benchmark: its URL, and the child process, which is
/// killed when this is dropped.
pub struct Server {
    pub kind: Kind,
    pub url: String,
    child: std::process::Child,
}

impl Server {
    pub fn start(kind: Kind) -> Server {
        use std::process::{Command, Stdio};
        let exe = std::env::current_exe().expect("current executable");
        let mut child = Command::new(exe)
            .args(["--serve", kind.name()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the server process");
        let stdout = child.stdout.take().expect("server stdout");
        let mut line = String::new();
        io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the server's address");
        let addr = line
            .trim()
            .strip_prefix("LISTENING ")
            .unwrap_or_else(|| panic!("unexpected server output {line:?}"))
            .to_string();
        Server {
            kind,
            url: format!("ws://{addr}/"),
            child,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
