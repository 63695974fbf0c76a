//! `test-server`: the peer of twinsock's behaviour test suite.
//!
//! It listens for plain WebSocket (`ws`) and TLS (`wss`) connections on loopback
//! addresses and serves a fixed set of routes, each of which makes the server behave
//! in one precise way (echo, close with a code, drop the TCP connection, answer the
//! handshake with garbage...). See `routes.rs` for the list.
//!
//! Usage: `test-server [--ws ADDR] [--wss ADDR] [--exit-on-stdin-eof]`
//!
//! At start it prints exactly one line to stdout:
//! `ws=127.0.0.1:PORT wss=127.0.0.1:PORT cert=/path/to/cert.der closed=127.0.0.1:PORT
//! wrongname=127.0.0.1:PORT wrongname_cert=/path/to/other.der`, where `cert` is the DER file of
//! the self-signed certificate used by the `wss` listener (valid for `localhost` and
//! `127.0.0.1`), `closed` an address where nothing listens (bound and released at start, for
//! refused-connection tests), and `wrongname` a TLS listener (same routes) whose certificate
//! (`wrongname_cert`) is for another host, `other-host.invalid`. Logs go to stderr.

mod conn;
mod handshake;
mod routes;
mod tls;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use std::{env, fs, io, process, thread};

use rustls::ServerConfig;

use crate::conn::Conn;

/// Command-line options.
struct Options {
    /// Address of the plain WebSocket listener.
    ws: SocketAddr,
    /// Address of the TLS WebSocket listener.
    wss: SocketAddr,
    /// Exit when stdin reaches end of file.
    exit_on_stdin_eof: bool,
}

/// The usage text printed on a command-line error.
const USAGE: &str = "usage: test-server [--ws ADDR] [--wss ADDR] [--exit-on-stdin-eof]";

/// Prints `message` and the usage to stderr, then exits with status 2.
fn usage_error(message: &str) -> ! {
    eprintln!("test-server: {message}\n{USAGE}");
    process::exit(2);
}

/// Parses a listen address, which must be a loopback address.
fn parse_addr(flag: &str, value: Option<String>) -> SocketAddr {
    let Some(value) = value else {
        usage_error(&format!("{flag} needs an address"))
    };
    let addr: SocketAddr = value
        .parse()
        .unwrap_or_else(|_| usage_error(&format!("{flag}: bad address {value:?}")));
    if !addr.ip().is_loopback() {
        usage_error(&format!(
            "{flag}: only loopback addresses (127.0.0.1, ::1) are allowed"
        ));
    }
    addr
}

/// Parses the command line.
fn parse_args() -> Options {
    let default: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut options = Options {
        ws: default,
        wss: default,
        exit_on_stdin_eof: false,
    };
    let mut args = env::args().skip(1);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag.to_owned(), Some(value.to_owned())),
            _ => (arg.clone(), None),
        };
        match flag.as_str() {
            "--ws" => options.ws = parse_addr("--ws", inline.or_else(|| args.next())),
            "--wss" => options.wss = parse_addr("--wss", inline.or_else(|| args.next())),
            "--exit-on-stdin-eof" if inline.is_none() => options.exit_on_stdin_eof = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                process::exit(0);
            }
            _ => usage_error(&format!("unknown argument {arg:?}")),
        }
    }
    options
}

/// Accepts connections on `listener` forever, serving each on its own thread.
fn accept_loop(listener: TcpListener, tls: Option<Arc<ServerConfig>>) {
    let scheme = if tls.is_some() { "wss" } else { "ws" };
    loop {
        let (tcp, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(err) => {
                eprintln!("test-server: {scheme}: accept failed: {err}");
                thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let tls = tls.clone();
        let spawned = thread::Builder::new()
            .name(format!("{scheme} {peer}"))
            .spawn(move || {
                let conn = match tls {
                    Some(config) => Conn::tls(tcp, config),
                    None => Ok(Conn::Plain(tcp)),
                };
                match conn {
                    Ok(conn) => routes::serve(conn, scheme, peer),
                    Err(err) => eprintln!("test-server: {scheme} {peer}: TLS set-up failed: {err}"),
                }
            });
        if let Err(err) = spawned {
            eprintln!("test-server: {scheme}: cannot spawn a connection thread: {err}");
        }
    }
}

/// Reads stdin until end of file, then removes the certificate file and exits(0).
fn exit_on_stdin_eof(cert_files: Vec<PathBuf>) {
    let mut stdin = io::stdin().lock();
    let mut buf = [0u8; 1024];
    loop {
        match stdin.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    for file in cert_files {
        let _ = fs::remove_file(file);
    }
    process::exit(0);
}

/// A loopback address, next to `near`, where nothing listens: bound once and released.
fn closed_port(near: SocketAddr) -> SocketAddr {
    let listener = TcpListener::bind(SocketAddr::new(near.ip(), 0)).expect("bind a port to release");
    listener.local_addr().expect("released port address")
}

fn main() {
    let options = parse_args();

    let identity = tls::Identity::generate(&["localhost", "127.0.0.1"]);
    let cert_path = write_cert(&identity, "");
    let tls_config = identity.server_config();
    // A certificate for another host, served on its own listener (a name-mismatch test).
    let other = tls::Identity::generate(&["other-host.invalid"]);
    let other_cert_path = write_cert(&other, "-other");
    let other_config = other.server_config();
    let wrong_name = TcpListener::bind(SocketAddr::new(options.wss.ip(), 0))
        .unwrap_or_else(|err| panic!("cannot bind the wrong-name listener: {err}"));
    let wrong_name_addr = wrong_name.local_addr().expect("wrong-name listener address");

    let ws = TcpListener::bind(options.ws).unwrap_or_else(|err| panic!("cannot bind {}: {err}", options.ws));
    let wss =
        TcpListener::bind(options.wss).unwrap_or_else(|err| panic!("cannot bind {}: {err}", options.wss));
    let ws_addr = ws.local_addr().expect("ws listener address");
    let wss_addr = wss.local_addr().expect("wss listener address");
    let closed_addr = closed_port(ws_addr);

    {
        let mut stdout = io::stdout().lock();
        writeln!(
            stdout,
            "ws={ws_addr} wss={wss_addr} cert={} closed={closed_addr} wrongname={wrong_name_addr} \
             wrongname_cert={}",
            cert_path.display(),
            other_cert_path.display()
        )
        .and_then(|()| stdout.flush())
        .expect("cannot write to stdout");
    }

    let cert_files = vec![cert_path, other_cert_path];
    if options.exit_on_stdin_eof {
        let cert_files = cert_files.clone();
        thread::Builder::new()
            .name("stdin".into())
            .spawn(move || exit_on_stdin_eof(cert_files))
            .expect("cannot spawn the stdin thread");
    }
    thread::Builder::new()
        .name("wrong-name accept".into())
        .spawn(move || accept_loop(wrong_name, Some(other_config)))
        .expect("cannot spawn the wrong-name accept thread");

    let ws_thread = thread::Builder::new()
        .name("ws accept".into())
        .spawn(move || accept_loop(ws, None))
        .expect("cannot spawn the ws accept thread");
    let wss_thread = thread::Builder::new()
        .name("wss accept".into())
        .spawn(move || accept_loop(wss, Some(tls_config)))
        .expect("cannot spawn the wss accept thread");
    // The accept loops never return; joining keeps the process alive.
    let _ = ws_thread.join();
    let _ = wss_thread.join();
    for file in cert_files {
        let _ = fs::remove_file(file);
    }
}

/// Writes `identity`'s certificate (DER) to a file named after this process and `suffix`.
fn write_cert(identity: &tls::Identity, suffix: &str) -> PathBuf {
    let path = env::temp_dir().join(format!("twinsock-test-server-{}{suffix}.der", process::id()));
    fs::write(&path, &identity.cert_der)
        .unwrap_or_else(|err| panic!("cannot write {}: {err}", path.display()));
    path
}
