//! The chat server (`chat-server/`), end to end: each test starts the real binary on a
//! free loopback port, talks to it with twinsock's native client and with raw TCP, and kills
//! it at the end. Set `TWINSOCK_CHAT_SERVER_LOGS=1` to see the servers' logs.

mod common;

use common::chat_server::{response_status, tcp, upgrade, ChatServer};

use std::io::{ErrorKind, Read, Write};
use std::process::{Command, ExitStatus};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::{expect_failure, opened, text, until_close, WAIT};
use futures::executor::block_on;
use twinsock::{Event, Message, Socket, WebSocket, WebSocketBuilder};

impl ChatServer {
    /// A chat client, open.
    fn chat(&self) -> WebSocket {
        block_on(common::open(&self.url("/ws")))
    }

    /// Sends the signal `name` (`TERM`, `INT`) with `kill`.
    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits (at most `limit`) for the server to exit.
    fn exit_status(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll the server") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not exit within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// The status of a plain `GET path`.
fn get_status(port: u16, path: &str) -> u16 {
    let mut stream = tcp(port);
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    response_status(&mut stream)
}

/// Expects the server to close `socket` with `code`, after no messages.
fn expect_close(socket: &WebSocket, code: u16) {
    let (seen, close) = block_on(until_close(socket));
    assert_eq!(close.code, code, "close event {close:?} after {seen:?}");
    assert!(
        !seen.iter().any(|event| matches!(event, Event::Message(_))),
        "no message was expected before the close, got {seen:?}"
    );
}

#[test]
fn broadcast_reaches_every_client_in_each_senders_order() {
    let server = ChatServer::start(&[]);
    let clients: Vec<WebSocket> = (0..3).map(|_| server.chat()).collect();
    const N: usize = 30;
    for n in 0..N {
        for (c, client) in clients.iter().enumerate() {
            client.send_text(format!("{c}:{n}")).unwrap();
        }
    }
    let mut orders = Vec::new();
    for (me, client) in clients.iter().enumerate() {
        let got: Vec<String> = (0..3 * N).map(|_| block_on(text(client))).collect();
        for sender in 0..3 {
            let from: Vec<String> = got
                .iter()
                .filter(|m| m.starts_with(&format!("{sender}:")))
                .cloned()
                .collect();
            let expected: Vec<String> = (0..N).map(|n| format!("{sender}:{n}")).collect();
            assert_eq!(from, expected, "client {me}: messages of client {sender}");
        }
        orders.push(got);
    }
    assert!(
        orders.windows(2).all(|pair| pair[0] == pair[1]),
        "every client must see the same order"
    );
}

#[test]
fn text_is_cut_to_50_characters_never_splitting_one() {
    let server = ChatServer::start(&[]);
    let client = server.chat();
    for unit in ["a", "é", "😀"] {
        client.send_text(unit.repeat(60)).unwrap();
        let got = block_on(text(&client));
        assert_eq!(got, unit.repeat(50), "60 × {unit:?}");
    }
    client.send_text("short").unwrap();
    assert_eq!(block_on(text(&client)), "short");
}

#[test]
fn binary_message_closes_the_sender_with_1003_and_others_keep_chatting() {
    let server = ChatServer::start(&[]);
    let (a, b, c) = (server.chat(), server.chat(), server.chat());
    a.send_binary(vec![1, 2, 3]).unwrap();
    expect_close(&a, 1003);
    b.send_text("still here").unwrap();
    assert_eq!(block_on(text(&b)), "still here");
    assert_eq!(block_on(text(&c)), "still here");
}

#[test]
fn refused_origin_gets_403_and_allowed_origins_connect() {
    let server = ChatServer::start(&[]);
    let port = server.port;
    assert_eq!(upgrade(port, "/ws", Some("http://evil.example")).1, 403);
    let refused = WebSocketBuilder::new(server.url("/ws"))
        .origin("http://evil.example")
        .open()
        .unwrap();
    block_on(expect_failure(&refused, 1006));

    assert_eq!(upgrade(port, "/ws", Some(&server.origin())).1, 101);
    assert_eq!(upgrade(port, "/ws", None).1, 101);
    for origin in [server.origin(), format!("http://localhost:{port}")] {
        let socket = WebSocketBuilder::new(server.url("/ws"))
            .origin(origin)
            .open()
            .unwrap();
        block_on(opened(&socket));
    }
    let no_origin = server.chat();
    no_origin.send_text("hi").unwrap();
    assert_eq!(block_on(text(&no_origin)), "hi");

    let listed = ChatServer::start(&["--allow-origin", "http://app.example"]);
    assert_eq!(upgrade(listed.port, "/ws", Some("http://app.example")).1, 101);
    assert_eq!(upgrade(listed.port, "/ws", Some("http://evil.example")).1, 403);
    let open = ChatServer::start(&["--allow-origin", "*"]);
    assert_eq!(upgrade(open.port, "/ws", Some("http://evil.example")).1, 101);
}

#[test]
fn plain_get_to_ws_is_a_4xx_and_static_files_answer() {
    let server = ChatServer::start(&[]);
    let ws = get_status(server.port, "/ws");
    assert!((400..500).contains(&ws), "GET /ws gave {ws}");
    let index = if std::path::Path::new("www/index.html").exists() {
        200
    } else {
        404
    };
    assert_eq!(get_status(server.port, "/"), index, "GET /");
    assert_eq!(get_status(server.port, "/no-such-file.txt"), 404);
    assert_eq!(get_status(server.port, "/pkg/no-such-file.js"), 404);
}

#[test]
fn oversize_message_closes_the_sender_with_1009_and_others_are_unaffected() {
    let server = ChatServer::start(&["--max-message-size", "1000"]);
    let (a, b, c) = (server.chat(), server.chat(), server.chat());
    b.send_text("z".repeat(1000)).unwrap();
    assert_eq!(
        block_on(text(&b)),
        "z".repeat(50),
        "a message at the limit is fine"
    );
    assert_eq!(block_on(text(&c)), "z".repeat(50));
    assert_eq!(block_on(text(&a)), "z".repeat(50));

    a.send_text("x".repeat(1001)).unwrap();
    expect_close(&a, 1009);
    // Far over the limit (beyond what the server reads whole) and binary: 1009 too.
    let huge = server.chat();
    huge.send_text("y".repeat(100_000)).unwrap();
    expect_close(&huge, 1009);
    let binary = server.chat();
    binary.send_binary(vec![0; 5000]).unwrap();
    expect_close(&binary, 1009);

    b.send_text("ok").unwrap();
    assert_eq!(block_on(text(&b)), "ok");
    assert_eq!(block_on(text(&c)), "ok");
}

#[test]
fn max_clients_refuses_one_more_with_503() {
    let server = ChatServer::start(&["--max-clients", "2"]);
    let (a, b) = (server.chat(), server.chat());
    assert_eq!(upgrade(server.port, "/ws", None).1, 503);
    let third = WebSocket::open(&server.url("/ws")).unwrap();
    block_on(expect_failure(&third, 1006));
    a.send_text("hi").unwrap();
    assert_eq!(block_on(text(&a)), "hi");
    assert_eq!(block_on(text(&b)), "hi");

    // A place freed is a place taken again.
    a.close(None, None).unwrap();
    let _ = block_on(until_close(&a));
    let deadline = Instant::now() + WAIT;
    while upgrade(server.port, "/ws", None).1 == 503 {
        assert!(Instant::now() < deadline, "the freed place was never given back");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// One of the slow-reader test's normal clients: sends `n` messages, each at most `window`
/// ahead of the slowest sender as this client sees it (so that no queue of a reading client
/// holds more than 3 × `window` messages), and checks that it receives every message of both
/// clients in order.
fn paced_chat(url: String, me: usize, n: usize, window: usize, start: Arc<Barrier>) {
    block_on(async {
        let socket = common::open(&url).await;
        start.wait();
        let mut received = [0usize; 2];
        let mut sent = 0;
        while received != [n, n] {
            while sent < n && sent < received.iter().min().unwrap() + window {
                let head = format!("{me} {sent} ");
                let pad = "😀".repeat(50 - head.chars().count());
                socket.send_text(head + &pad).unwrap();
                sent += 1;
            }
            let got = text(&socket).await;
            let mut fields = got.split(' ');
            let sender: usize = fields.next().unwrap().parse().unwrap();
            let number: usize = fields.next().unwrap().parse().unwrap();
            assert_eq!(
                number, received[sender],
                "client {me}: message of client {sender}"
            );
            received[sender] += 1;
        }
    });
}

/// About how many bytes the kernel buffers for a loopback connection whose reader does not
/// read: the sender's largest send buffer plus the receiver's default receive buffer, twice
/// (Linux's settings; 4 MiB and 128 KiB when they cannot be read).
fn kernel_buffering() -> usize {
    let field = |path: &str, index: usize, default: usize| {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|text| text.split_whitespace().nth(index)?.parse().ok())
            .unwrap_or(default)
    };
    field("/proc/sys/net/ipv4/tcp_wmem", 2, 4 << 20) + 2 * field("/proc/sys/net/ipv4/tcp_rmem", 1, 128 << 10)
}

#[test]
fn slow_reader_is_dropped_and_others_lose_nothing() {
    const WINDOW: usize = 16;
    // 2 × n messages of about 180 bytes: more than the kernel buffers for a client that does
    // not read (mostly the server's send buffer), so the slow reader's queue must overflow.
    let n = (kernel_buffering() * 3 / 2 / (2 * 180)).max(5_000);
    // Room for 4 × WINDOW of these messages: a reading client's queue never fills.
    let queue = (4 * WINDOW * 256).to_string();
    let server = ChatServer::start(&["--queue-bytes", &queue]);
    let (mut slow, code) = upgrade(server.port, "/ws", None);
    assert_eq!(code, 101);
    let start = Arc::new(Barrier::new(2));
    let clients: Vec<_> = (0..2)
        .map(|me| {
            let (url, start) = (server.url("/ws"), Arc::clone(&start));
            std::thread::spawn(move || paced_chat(url, me, n, WINDOW, start))
        })
        .collect();
    for client in clients {
        client.join().expect("a normal client failed");
    }
    // The slow reader was dropped: what the kernel holds for it ends with EOF (or a reset).
    let deadline = Instant::now() + WAIT;
    let mut buffer = vec![0u8; 64 * 1024];
    let mut total = 0;
    loop {
        match slow.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => total += n,
            Err(error) if error.kind() == ErrorKind::ConnectionReset => break,
            Err(error) => panic!("the slow reader is still connected after {total} bytes: {error}"),
        }
        assert!(
            Instant::now() < deadline,
            "the slow reader is still connected after {total} bytes"
        );
    }
}

#[test]
fn rate_limit_closes_a_flooder_with_1008_and_others_get_through() {
    let server = ChatServer::start(&["--rate-limit", "50"]);
    let (flooder, other) = (server.chat(), server.chat());
    for n in 0..1000 {
        flooder.send_text(format!("flood {n}")).unwrap();
    }
    for n in 0..10 {
        other.send_text(format!("other {n}")).unwrap();
    }
    let (_, close) = block_on(until_close(&flooder));
    assert_eq!(close.code, 1008, "{close:?}");
    let mut mine = Vec::new();
    while mine.len() < 10 {
        let got = block_on(text(&other));
        if got.starts_with("other ") {
            mine.push(got);
        }
    }
    let expected: Vec<String> = (0..10).map(|n| format!("other {n}")).collect();
    assert_eq!(mine, expected);
}

#[test]
fn hello_greets_by_name_then_closes_with_1000() {
    let server = ChatServer::start(&[]);
    let socket = block_on(common::open(&server.url("/hello")));
    socket.send_text("My name is John").unwrap();
    assert_eq!(block_on(text(&socket)), "Hello from server, John!");
    let (seen, close) = block_on(until_close(&socket));
    assert!(seen.is_empty(), "{seen:?}");
    assert_eq!((close.code, close.was_clean), (1000, true), "{close:?}");
}

/// Starts a server with two chat clients, sends it `signal`, and checks that both clients get
/// 1001 and the server exits with status 0.
fn shutdown_closes_every_client_with_1001(signal: &str) {
    let mut server = ChatServer::start(&[]);
    let (a, b) = (server.chat(), server.chat());
    a.send_text("hi").unwrap();
    assert_eq!(block_on(text(&a)), "hi");
    assert_eq!(block_on(text(&b)), "hi");
    server.signal(signal);
    for client in [&a, &b] {
        let (seen, close) = block_on(until_close(client));
        assert_eq!(
            (close.code, close.was_clean),
            (1001, true),
            "{close:?} after {seen:?}"
        );
    }
    let status = server.exit_status(WAIT);
    assert!(status.success(), "exit status {status:?}");
}

#[test]
fn sigterm_closes_every_client_with_1001_and_exits_0() {
    shutdown_closes_every_client_with_1001("TERM");
}

#[test]
fn sigint_closes_every_client_with_1001_and_exits_0() {
    shutdown_closes_every_client_with_1001("INT");
}

#[test]
fn echo_route_echoes_text_and_binary_when_enabled() {
    let plain = ChatServer::start(&[]);
    assert_eq!(
        upgrade(plain.port, "/echo", None).1,
        404,
        "/echo is off by default"
    );

    let server = ChatServer::start(&["--echo-route"]);
    let socket = block_on(common::open(&server.url("/echo")));
    let long = "e".repeat(80);
    socket.send_text(long.clone()).unwrap();
    assert_eq!(block_on(text(&socket)), long, "echo does not cut");
    socket.send_binary(vec![1, 2, 3]).unwrap();
    match block_on(common::next(&socket)) {
        Some(Event::Message(Message::Binary(data))) => assert_eq!(data, [1, 2, 3][..]),
        other => panic!("expected the binary echo, got {other:?}"),
    }
    let chat = server.chat();
    chat.send_text("chat only").unwrap();
    assert_eq!(block_on(text(&chat)), "chat only");
    socket.send_text("echo only").unwrap();
    assert_eq!(
        block_on(text(&socket)),
        "echo only",
        "echo clients get no broadcasts"
    );
}
