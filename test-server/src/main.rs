//! `test-server`: the behaviour suites' peer as a process, for the browser and end-to-end runs
//! (the native tests start it in-process).
//!
//! Usage: `test-server [--ws ADDR] [--wss ADDR] [--file NAME=PATH]... [--exit-on-stdin-eof]`
//! (`--file`: what `/file?name=NAME` sends). It always runs the restartable listener that
//! `/restart` stops and starts again (`restart=ADDR` on its line).
//!
//! At start it prints exactly one line to stdout (see `TestServer::line`): the listeners'
//! addresses and the paths of the two certificates, written to the temporary directory and
//! removed at exit on stdin's end of file. Logs go to stderr.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::{env, fs, process, thread};

use twinsock_test_server::{Options, TestServer};

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

/// Reads stdin until end of file, then removes the certificate files and exits(0).
fn exit_on_stdin_eof(cert_files: [PathBuf; 2]) {
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
    {
        let mut stdout = io::stdout().lock();
        writeln!(stdout, "{}", server.line(&cert, &other))
            .and_then(|()| stdout.flush())
            .expect("cannot write to stdout");
    }
    if exit_at_eof {
        exit_on_stdin_eof([cert, other]);
    }
    // Serves until killed.
    loop {
        thread::park();
    }
}
