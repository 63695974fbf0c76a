//! The native client's memory and resources against a hostile or overwhelming server (issue
//! 14's probes), each scenario in a child process of its own (this test binary run again with
//! `TWINSOCK_MEMORY_SCENARIO` set), so that its peak resident memory (`VmHWM`) and its file
//! descriptors are its alone. Every server here is a thread of the child, on 127.0.0.1, and
//! every loop is bounded.
#![cfg(target_os = "linux")]

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use futures::executor::block_on;
use twinsock::{Error, Event, Message, Socket, WebSocket, WebSocketBuilder};

/// The environment variable that makes this binary run one scenario and exit.
const SCENARIO: &str = "TWINSOCK_MEMORY_SCENARIO";

/// Runs the scenario `name` (a test of this file) in a child process; its output is this
/// test's, and it must succeed. `ulimit_n` runs it under that open-files limit.
fn in_child(name: &str, ulimit_n: Option<u32>) {
    let exe = std::env::current_exe().expect("the test binary");
    let mut command = match ulimit_n {
        Some(limit) => {
            let mut sh = Command::new("sh");
            sh.arg("-c")
                .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
                .arg(&exe);
            sh
        }
        None => Command::new(&exe),
    };
    let output = command
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(SCENARIO, name)
        .output()
        .expect("run the scenario's child process");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("{stderr}");
    assert!(
        output.status.success(),
        "scenario {name} failed: {stdout}{stderr}"
    );
    assert!(
        stdout.contains("1 passed"),
        "scenario {name} did not run: {stdout}"
    );
}

/// How long a scenario may take: its child exits with a failure after this, so that no wait
/// in it can hang.
const SCENARIO_LIMIT: Duration = Duration::from_secs(120);

/// `true` in the scenario's child (with its watchdog started); in the parent, runs the child
/// (under the open-files limit `ulimit_n`, if any) and returns `false`.
fn is_child(name: &str, ulimit_n: Option<u32>) -> bool {
    if std::env::var(SCENARIO).as_deref() != Ok(name) {
        in_child(name, ulimit_n);
        return false;
    }
    std::thread::spawn(|| {
        std::thread::sleep(SCENARIO_LIMIT);
        eprintln!("the scenario took longer than {SCENARIO_LIMIT:?}");
        std::process::exit(101);
    });
    true
}

/// A figure of `/proc/self/status`, in KiB.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|kib| kib.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

/// A server on its own thread: accepts one connection, answers the handshake, then runs
/// `behave` on it. Returns the URL. (Linux's `accept` takes a descriptor before it waits, so
/// one entered while the process has none fails at once: it is tried again.)
fn one_connection_server(behave: impl FnOnce(TcpStream) + Send + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(error) if error.raw_os_error() == Some(24) => std::thread::yield_now(),
                Err(error) => panic!("accept: {error}"),
            }
        };
        let ws = tungstenite::accept(stream).unwrap();
        behave(ws.into_inner());
    });
    url
}

/// An unmasked server frame.
fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x80 | opcode];
    match payload.len() {
        len @ 0..=125 => frame.push(len as u8),
        len @ 126..=65535 => {
            frame.push(126);
            frame.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            frame.push(127);
            frame.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(payload);
    frame
}

/// The next event. (The scenario's child has a watchdog: see [`is_child`].)
fn next(socket: &WebSocket) -> Option<Event> {
    block_on(socket.next_event())
}

/// The bound on the client's growth while a server floods an application that takes one
/// event every 10 ms: the receive queue's default budget (1 MiB), one message's read buffer,
/// and allocator slack.
const SLOW_APPLICATION_BOUND_KIB: u64 = 16 * 1024;

/// Issue 14: a fast server and a slow application grew the client by 379 MB/s. Now the client
/// stops reading once a megabyte waits for the application, so the server meets TCP's flow
/// control; no message is lost.
#[test]
fn a_server_flooding_a_slow_application_keeps_the_client_bounded_and_loses_nothing() {
    if !is_child(
        "a_server_flooding_a_slow_application_keeps_the_client_bounded_and_loses_nothing",
        None,
    ) {
        return;
    }
    const MESSAGES: u32 = 50_000;
    let url = one_connection_server(|mut stream| {
        let mut batch = Vec::new();
        for i in 0..MESSAGES {
            let mut payload = i.to_be_bytes().to_vec();
            payload.resize(1024, b'x');
            batch.extend(frame(0x2, &payload));
            if batch.len() > 64 * 1024 {
                if stream.write_all(&batch).is_err() {
                    return;
                }
                batch.clear();
            }
        }
        let _ = stream.write_all(&batch);
        let _ = stream.write_all(&frame(0x8, &1000u16.to_be_bytes()));
    });
    let socket = WebSocket::open(&url).unwrap();
    assert_eq!(next(&socket), Some(Event::Open));
    let before = status_kib("VmRSS:");
    let mut expected = 0u32;
    let take = |socket: &WebSocket, expected: &mut u32| match next(socket) {
        Some(Event::Message(Message::Binary(data))) => {
            let number = u32::from_be_bytes(data[..4].try_into().unwrap());
            assert_eq!(number, *expected, "a message lost or out of order");
            *expected += 1;
        }
        other => panic!("after {expected} messages: {other:?}"),
    };
    // Two seconds of an application that takes one event every 10 ms.
    let slow_until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < slow_until {
        take(&socket, &mut expected);
        std::thread::sleep(Duration::from_millis(10));
    }
    let grown = status_kib("VmHWM:").saturating_sub(before);
    eprintln!("slow application: {expected} messages taken in 2 s; the client grew by {grown} KiB at most");
    assert!(
        grown < SLOW_APPLICATION_BOUND_KIB,
        "the client grew by {grown} KiB"
    );
    // Then the application catches up: every message arrives, in order.
    while expected < MESSAGES {
        take(&socket, &mut expected);
    }
    assert!(matches!(next(&socket), Some(Event::Close(close)) if close.code == 1000));
}

/// The bound on the client's growth under a flood of pings it must answer while the server
/// reads nothing: pongs wait at most 64 KiB deep, then only the latest is kept.
const PING_FLOOD_BOUND_KIB: u64 = 8 * 1024;

/// Issue 14: a server that sent 1,000,000 pings and read nothing made the client queue 125 MB
/// of pongs. Now only the latest ping's pong waits once the output is backed up.
#[test]
fn a_ping_flood_from_a_server_that_reads_nothing_keeps_the_client_bounded() {
    if !is_child(
        "a_ping_flood_from_a_server_that_reads_nothing_keeps_the_client_bounded",
        None,
    ) {
        return;
    }
    const PINGS: usize = 1_000_000;
    let url = one_connection_server(|mut stream| {
        let ping = frame(0x9, &[b'p'; 125]);
        let batch: Vec<u8> = (0..1000).flat_map(|_| ping.iter().copied()).collect();
        for _ in 0..PINGS / 1000 {
            if stream.write_all(&batch).is_err() {
                return;
            }
        }
        let _ = stream.write_all(&frame(0x1, b"done"));
        // Reads nothing: hangs up once the client has had time to take it all.
        std::thread::sleep(Duration::from_secs(30));
    });
    let socket = WebSocket::open(&url).unwrap();
    assert_eq!(next(&socket), Some(Event::Open));
    let before = status_kib("VmRSS:");
    let started = Instant::now();
    assert_eq!(next(&socket), Some(Event::Message(Message::Text("done".into()))));
    let grown = status_kib("VmHWM:").saturating_sub(before);
    eprintln!(
        "{PINGS} pings read in {:?}; the client grew by {grown} KiB at most",
        started.elapsed()
    );
    assert!(grown < PING_FLOOD_BOUND_KIB, "the client grew by {grown} KiB");
}

/// Opens files until the process has no file descriptor left; returns them (closing them frees
/// the descriptors again).
fn exhaust_file_descriptors() -> Vec<std::fs::File> {
    let mut files = Vec::new();
    for _ in 0..100_000 {
        match std::fs::File::open("/dev/null") {
            Ok(file) => files.push(file),
            Err(error) => {
                assert_eq!(error.raw_os_error(), Some(24), "EMFILE expected: {error}");
                return files;
            }
        }
    }
    panic!("100,000 files opened: the open-files limit did not apply")
}

/// Issue 14: the first `open` in a process with no free file descriptor panicked ("cannot
/// create the I/O poller"). Now it is an error, nothing is started, and a later `open` works;
/// with the reactor up, a socket that cannot get a descriptor fails alone (error event, 1006)
/// while an open one goes on.
#[test]
fn running_out_of_file_descriptors_is_an_error_not_a_panic() {
    if !is_child(
        "running_out_of_file_descriptors_is_an_error_not_a_panic",
        Some(64),
    ) {
        return;
    }
    let echo = one_connection_server(|stream| {
        let mut ws =
            tungstenite::WebSocket::from_raw_socket(stream, tungstenite::protocol::Role::Server, None);
        while let Ok(message) = ws.read() {
            if message.is_text() {
                let _ = ws.send(message);
            }
        }
    });
    let hoard = exhaust_file_descriptors();
    match WebSocket::open(&echo) {
        Err(Error::Unavailable(why)) => eprintln!("open with no descriptor: {why}"),
        other => panic!("expected Error::Unavailable, got {other:?}"),
    }
    drop(hoard);
    let open = WebSocket::open(&echo).unwrap();
    assert_eq!(next(&open), Some(Event::Open));
    let hoard = exhaust_file_descriptors();
    let starved = WebSocketBuilder::new(echo.as_str()).open().unwrap();
    match next(&starved) {
        Some(Event::Error(cause)) => eprintln!("a socket with no descriptor: {cause}"),
        other => panic!("expected an error event, got {other:?}"),
    }
    assert!(matches!(next(&starved), Some(Event::Close(close)) if close.code == 1006));
    drop(hoard);
    open.send_text("still here").unwrap();
    assert_eq!(
        next(&open),
        Some(Event::Message(Message::Text("still here".into())))
    );
}

/// The threads of this process whose name is `name`.
fn threads_named(name: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim() == name)
        .count()
}

/// Issue 14: 200 sockets opened by host name started a lookup thread each, and when threads
/// ran out the I/O thread panicked. Now lookups share at most four threads: all 200 open.
#[test]
fn two_hundred_sockets_by_host_name_share_a_bounded_resolver() {
    if !is_child("two_hundred_sockets_by_host_name_share_a_bounded_resolver", None) {
        return;
    }
    let server = twinsock_test_server::TestServer::start(Default::default()).unwrap();
    let url = format!("ws://localhost:{}/echo", server.ws.port());
    let sockets: Vec<WebSocket> = (0..200).map(|_| WebSocket::open(&url).unwrap()).collect();
    let resolver_threads = threads_named("twinsock-dns");
    assert!(resolver_threads <= 4, "{resolver_threads} resolver threads");
    for socket in &sockets {
        assert_eq!(next(socket), Some(Event::Open));
    }
    let most = threads_named("twinsock-dns");
    eprintln!("200 sockets by name opened; resolver threads: {resolver_threads} at first, {most} at the end");
    assert!(most <= 4, "{most} resolver threads");
}
