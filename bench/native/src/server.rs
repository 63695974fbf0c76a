//! The echo server every client talks to: blocking tungstenite, one thread per connection,
//! TCP_NODELAY, no message or frame size limit. It runs in a child process of the benchmark
//! (`bench-native --serve`), so that the client process's thread count and memory (the scale
//! test) hold the clients only, and the server's threads do not sit in the clients' process.
//!
//! Writes are batched without delaying anything: echoes are collected in user space and written
//! to the kernel just before the thread would block reading (see [`Batched`]), so a burst of
//! pipelined messages costs one `write` per `read`, not one per message.

use std::io::{self, BufRead, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use tungstenite::protocol::WebSocketConfig;

/// Echoes written before any read, or once this much is waiting, whichever comes first.
const WRITE_OUT_AT: usize = 1 << 20;

/// A TCP stream whose writes wait in a buffer until the next read (or until it is large).
struct Batched {
    tcp: TcpStream,
    out: Vec<u8>,
}

impl Batched {
    fn write_out(&mut self) -> io::Result<()> {
        if !self.out.is_empty() {
            self.tcp.write_all(&self.out)?;
            self.out.clear();
        }
        Ok(())
    }
}

impl Read for Batched {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // tungstenite reads from the socket only when it has no complete frame buffered: this
        // is the moment to hand the echoes so far to the kernel, before blocking.
        self.write_out()?;
        self.tcp.read(buf)
    }
}

impl Write for Batched {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.extend_from_slice(buf);
        if self.out.len() >= WRITE_OUT_AT {
            self.write_out()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn serve_one(tcp: TcpStream) {
    let _ = tcp.set_nodelay(true);
    // Bounds: a client that stops reading or writing for a minute loses its connection.
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(120)));
    let _ = tcp.set_write_timeout(Some(Duration::from_secs(60)));
    let config = WebSocketConfig::default()
        .max_message_size(None)
        .max_frame_size(None)
        .read_buffer_size(256 << 10);
    let stream = Batched {
        tcp,
        out: Vec::with_capacity(64 << 10),
    };
    let Ok(mut ws) = tungstenite::accept_with_config(stream, Some(config)) else {
        return;
    };
    loop {
        match ws.read() {
            Ok(message) if message.is_text() || message.is_binary() => {
                if ws.send(message).is_err() {
                    break;
                }
            }
            Ok(_) => {} // pings are answered and closes replied to by tungstenite
            Err(_) => break,
        }
    }
    let _ = ws.flush();
    let _ = ws.get_mut().write_out();
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

/// Runs the server: prints `LISTENING <addr>` on stdout, then serves until stdin closes (the
/// parent exited or dropped its handle), at which point the process exits.
pub fn run() -> ! {
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
    for tcp in listener.incoming() {
        match tcp {
            Ok(tcp) => {
                let spawned = std::thread::Builder::new()
                    .name("echo".into())
                    .stack_size(256 << 10)
                    .spawn(move || serve_one(tcp));
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

/// The running server, as seen from the benchmark: its URL, and the child process, which is
/// killed when this is dropped.
pub struct Server {
    pub url: String,
    child: std::process::Child,
}

impl Server {
    pub fn start() -> Server {
        use std::process::{Command, Stdio};
        let exe = std::env::current_exe().expect("current executable");
        let mut child = Command::new(exe)
            .arg("--serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the echo server process");
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
