//! `test-server`: the behaviour suites' peer as a process, for the browser and end-to-end runs
//! (the native tests start it in-process).
//!
//! Usage: `test-server [--ws ADDR] [--wss ADDR] [--file NAME=PATH]... [--exit-on-stdin-eof]`
//! (`--file`: what `/file?name=NAME` sends). It always runs the restartable listener that
//! `/restart` stops and starts again (`restart=ADDR` on its line).
//!
//! At start it prints exactly one line to stdout: `TestServer::line`'s fields (the listeners'
//! addresses and the paths of the two certificates), `TestServer::ca_line`'s (the CA-issued
//! listeners and the CA's and client's PEM files), then the proxies': `httpproxy=ADDR
//! authproxy=ADDR socks=ADDR socksauth=ADDR proxyuserinfo=USER:PASSWORD` (the `auth` ones
//! require those credentials, given percent-encoded as a URL's user information holds them).
//! The files are written to the temporary directory and removed at exit on stdin's end of
//! file. Logs go to stderr, a line for each tunnel a proxy is asked for among them.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::{env, fs, process, thread};

use twinsock_test_server::{Options, ProxyCredentials, ProxyKind, ProxyServer, TestServer};

/// The usage text printed on a command-line error.
const USAGE: &str = "usage: test-server [--ws ADDR] [--wss ADDR] [--file NAME=PATH]... [--exit-on-stdin-eof]";

/// Prints `message` and the usage to stderr, then exits with status 2.
fn usage_error(message: &str) -> ! {
    eprintln!("test-server: {message}\n{USAGE}");
    process::exit(2);
}

/// Parses a listen address.
fn parse_addr(flag: &str, value: Option<String>) -> SocketAddr {
    let Some(value) = value else {
        usage_error(&format!("{flag} needs an address"))
    };
    value
        .parse()
        .unwrap_or_else(|_| usage_error(&format!("{flag}: bad address {value:?}")))
}

/// Parses the command line: the listeners' options, and whether to exit at stdin's end.
fn parse_args() -> (Options, bool) {
    let mut options = Options {
        restartable: true,
        ..Options::default()
    };
    let mut exit_on_stdin_eof = false;
    let mut args = env::args().skip(1);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag.to_owned(), Some(value.to_owned())),
            _ => (arg.clone(), None),
        };
        match flag.as_str() {
            "--ws" => options.ws = parse_addr("--ws", inline.or_else(|| args.next())),
            "--wss" => options.wss = parse_addr("--wss", inline.or_else(|| args.next())),
            "--file" => {
                let value = inline.or_else(|| args.next()).unwrap_or_default();
                let Some((name, path)) = value.split_once('=') else {
                    usage_error(&format!("--file needs NAME=PATH, not {value:?}"))
                };
                options.files.insert(name.to_string(), PathBuf::from(path));
            }
            "--exit-on-stdin-eof" if inline.is_none() => exit_on_stdin_eof = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                process::exit(0);
            }
            _ => usage_error(&format!("unknown argument {arg:?}")),
        }
    }
    (options, exit_on_stdin_eof)
}

/// The credentials the `auth` proxies require.
fn proxy_credentials() -> ProxyCredentials {
    ProxyCredentials {
        user: "twinsock".into(),
        password: "p@ss:word".into(),
    }
}

/// Starts the four proxies: HTTP and SOCKS5, open and requiring [`proxy_credentials`]; returns
/// them and their start-up line fields.
fn start_proxies() -> (Vec<ProxyServer>, String) {
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut proxies = Vec::new();
    let mut fields = Vec::new();
    for (name, kind, credentials) in [
        ("httpproxy", ProxyKind::Http, None),
        ("authproxy", ProxyKind::Http, Some(proxy_credentials())),
        ("socks", ProxyKind::Socks5, None),
        ("socksauth", ProxyKind::Socks5, Some(proxy_credentials())),
    ] {
        let proxy = ProxyServer::start(kind, loopback, credentials).unwrap_or_else(|err| {
            eprintln!("test-server: cannot start the {name} proxy: {err}");
            process::exit(1);
        });
        fields.push(format!("{name}={}", proxy.address));
        proxies.push(proxy);
    }
    let with_credentials = proxies[1].url(Some(&proxy_credentials()));
    let userinfo = with_credentials
        .split_once("://")
        .and_then(|(_, rest)| rest.rsplit_once('@'))
        .map_or("", |(userinfo, _)| userinfo);
    fields.push(format!("proxyuserinfo={userinfo}"));
    (proxies, fields.join(" "))
}

/// Reads stdin until end of file, then removes the certificate files and exits(0).
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

fn main() {
    let (options, exit_at_eof) = parse_args();
    let server = TestServer::start(options).unwrap_or_else(|err| {
        eprintln!("test-server: cannot start: {err}");
        process::exit(1);
    });
    let (cert, other) = server.write_certificates(&env::temp_dir()).unwrap_or_else(|err| {
        eprintln!("test-server: cannot write the certificates: {err}");
        process::exit(1);
    });
    let ca_files = server.write_ca_files(&env::temp_dir()).unwrap_or_else(|err| {
        eprintln!("test-server: cannot write the CA's files: {err}");
        process::exit(1);
    });
    let (_proxies, proxy_fields) = start_proxies();
    {
        let mut stdout = io::stdout().lock();
        writeln!(
            stdout,
            "{} {} {proxy_fields}",
            server.line(&cert, &other),
            server.ca_line(&ca_files)
        )
        .and_then(|()| stdout.flush())
        .expect("cannot write to stdout");
    }
    if exit_at_eof {
        let mut files = vec![cert, other];
        files.extend(ca_files.paths().map(PathBuf::from));
        exit_on_stdin_eof(files);
    }
    // Serves until killed.
    loop {
        thread::park();
    }
}
