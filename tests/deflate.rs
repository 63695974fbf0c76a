//! Native-only permessage-deflate: the incoming limit applies to the inflated size (a deflate
//! bomb and a message one byte over the limit each end in an error and close 1009, with the
//! client's memory measured in a child process), the option that turns the offer off, the
//! test server's check of a client's window (so that the parity suite's "window kept" can
//! fail), and two native clients talking compressed through the relay.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use common::{next, noise, open, opened, server, text, until_close, ws};
use flate2::{Compress, Compression, FlushCompress};
use futures::executor::block_on;
use twinsock::{Event, FailureCause, Message, Socket, WebSocketBuilder};

/// The `max_message_size` of the memory tests.
const LIMIT: usize = 1 << 20;
/// What the client may take for a message too large beyond what a connection receiving one
/// small compressed message takes (the control, measured the same way in its own child
/// process): the limit, plus this for the compressed frame in the read buffer and the
/// allocator's slack. Measured here (debug build, a shared machine): the bomb and the message
/// one byte over took 0.8 to 1.4 MiB more than the control (see the tests' output).
const SLACK: usize = 1 << 20;
/// The environment variables that make [`memory_child`] run: what it connects to, and what it
/// expects (`too-large`: an error and close 1009; `message`: one text message).
const CHILD_URL: &str = "TWINSOCK_MEMORY_CHILD_URL";
const CHILD_EXPECTS: &str = "TWINSOCK_MEMORY_CHILD_EXPECTS";

/// Runs [`memory_child`] in a child process (this test binary again) against `url`, and
/// returns how much its resident memory grew from just before it connected to its peak, in
/// bytes, with the child's report.
fn child_memory_growth(url: &str, expects: &str) -> (usize, String) {
    let output = Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            "memory_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_URL, url)
        .env(CHILD_EXPECTS, expects)
        .output()
        .expect("run the child");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the child failed: {stdout}\n{stderr}");
    let report = stdout
        .lines()
        .find_map(|line| line.find("memory child:").map(|at| &line[at..]))
        .unwrap_or_else(|| panic!("no report from the child: {stdout}\n{stderr}"))
        .to_owned();
    let field = |name: &str| -> usize {
        report
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .and_then(|kib| kib.parse::<usize>().ok())
            .unwrap_or_else(|| panic!("no {name}= in {report:?}"))
            * 1024
    };
    (field("peak_kib").saturating_sub(field("before_kib")), report)
}

/// A `VmHWM`/`VmRSS` figure of `/proc/self/status`, in KiB.
fn status_kib(name: &str) -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /proc/self/status"))
}

/// The child process of the memory tests: connects to its URL with `max_message_size`
/// [`LIMIT`], expects what it was told, and prints its resident memory just before connecting
/// and at its peak.
#[test]
#[ignore = "the memory tests run it in a child process of their own"]
fn memory_child() {
    let url = std::env::var(CHILD_URL).expect("run by the memory tests, with the URL set");
    let expects = std::env::var(CHILD_EXPECTS).expect("run by the memory tests");
    // Forget the peak so far (Linux's clear_refs "5"); if that fails the figure only errs high.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = status_kib("VmRSS");
    block_on(async {
        let socket = WebSocketBuilder::new(url.as_str())
            .max_message_size(Some(LIMIT))
            .open()
            .unwrap();
        opened(&socket).await;
        assert_eq!(socket.extensions(), "permessage-deflate");
        if expects == "message" {
            assert!(!text(&socket).await.is_empty());
            socket.close(Some(1000), None).unwrap();
            assert!(until_close(&socket).await.1.was_clean);
            return;
        }
        let (seen, close) = until_close(&socket).await;
        match seen.as_slice() {
            [Event::Error(FailureCause::MessageTooLarge { size, max })] => {
                assert_eq!(*max, LIMIT);
                assert!(*size > LIMIT, "{size}");
            }
            other => panic!("expected one MessageTooLarge error, got {other:?}"),
        }
        assert_eq!((close.code, close.was_clean), (1009, false));
    });
    println!(
        "memory child: before_kib={before} peak_kib={} after_kib={}",
        status_kib("VmHWM"),
        status_kib("VmRSS")
    );
}

/// Asserts that a client meeting the message `url` sends (too large once inflated) grows by at
/// most [`LIMIT`] plus [`SLACK`] more than the control: a client receiving one small
/// compressed message.
fn assert_bounded(url: &str) {
    let control = ws("/deflate?extensions=permessage-deflate&send=text&bytes=1000");
    let (base, base_report) = child_memory_growth(&control, "message");
    let (growth, report) = child_memory_growth(url, "too-large");
    println!(
        "{url}: grew {} KiB, the control {} KiB, {} KiB more ({report}; control: {base_report})",
        growth / 1024,
        base / 1024,
        growth.saturating_sub(base) / 1024
    );
    assert!(
        growth <= base + LIMIT + SLACK,
        "{url}: the client grew by {growth} bytes, {base} for the control: more than the \
         {LIMIT}-byte limit plus {SLACK} over it ({report}; control: {base_report})"
    );
}

#[test]
fn a_deflate_bomb_ends_in_1009_with_the_clients_memory_bounded_by_the_limit() {
    // 64 MiB of zeros: 85 KiB on the wire (87,039 bytes), 64 times the limit inflated.
    assert_bounded(&ws(&format!(
        "/deflate?extensions=permessage-deflate&send=zeros&bytes={}",
        64 << 20
    )));
}

#[test]
fn an_inflated_message_one_byte_over_the_limit_ends_in_1009_with_memory_bounded() {
    assert_bounded(&ws(&format!(
        "/deflate?extensions=permessage-deflate&send=text&bytes={}",
        LIMIT + 1
    )));
}

#[test]
fn an_inflated_message_of_exactly_the_limit_arrives() {
    block_on(async {
        let socket = WebSocketBuilder::new(ws(&format!(
            "/deflate?extensions=permessage-deflate&send=text&bytes={LIMIT}"
        )))
        .max_message_size(Some(LIMIT))
        .open()
        .unwrap();
        opened(&socket).await;
        assert_eq!(text(&socket).await.len(), LIMIT);
    });
}

#[test]
fn turning_the_offer_off_sends_no_extension_header() {
    block_on(async {
        let off = WebSocketBuilder::new(ws("/headers"))
            .permessage_deflate(false)
            .open()
            .unwrap();
        opened(&off).await;
        let headers = text(&off).await;
        assert!(!headers.contains("sec-websocket-extensions"), "{headers}");
    });
}

#[test]
fn without_the_offer_a_server_accepting_deflate_fails_the_connection() {
    block_on(async {
        let socket = WebSocketBuilder::new(ws("/deflate?extensions=permessage-deflate"))
            .permessage_deflate(false)
            .open()
            .unwrap();
        let (seen, close) = until_close(&socket).await;
        assert!(matches!(seen.as_slice(), [Event::Error(_)]), "{seen:?}");
        assert_eq!((close.code, close.was_clean), (1006, false));
    });
}

/// Opens `/deflate` answering `answer` by hand (a raw TCP client), sends one masked text frame
/// with RSV1 whose payload is `message` compressed with a `bits` window, and returns the
/// first frame the server sends back: its first header byte and its payload.
fn raw_compressed_message(answer: &str, bits: u8, message: &[u8]) -> (u8, Vec<u8>) {
    let mut tcp = TcpStream::connect(server().ws.as_str()).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let query: String = answer
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    write!(
        tcp,
        "GET /deflate?extensions={query} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
        server().ws
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        tcp.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    let mut compress = Compress::new_with_window_bits(Compression::default(), false, bits);
    let mut payload = Vec::with_capacity(message.len() + 64);
    compress
        .compress_vec(message, &mut payload, FlushCompress::Sync)
        .unwrap();
    payload.truncate(payload.len() - 4);
    let mask = [1u8, 2, 3, 4];
    let mut frame = vec![0xc1, 0xfe];
    frame.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    tcp.write_all(&frame).unwrap();
    let mut header = [0u8; 2];
    tcp.read_exact(&mut header).unwrap();
    let len = match header[1] & 0x7f {
        126 => {
            let mut len = [0u8; 2];
            tcp.read_exact(&mut len).unwrap();
            usize::from(u16::from_be_bytes(len))
        }
        len => usize::from(len),
    };
    let mut payload = vec![0u8; len];
    tcp.read_exact(&mut payload).unwrap();
    (header[0], payload)
}

#[test]
fn the_test_server_refuses_a_client_window_wider_than_its_answer_allowed() {
    // 1 KiB of noise four times over: a 15-bit window refers 1 KiB back, past 2^9 bytes.
    let message = noise(1024, 0x2545_f491_4f6c_dd1d).repeat(4);
    let answer = "permessage-deflate; client_max_window_bits=9";
    let (first, close) = raw_compressed_message(answer, 15, &message);
    let reason = String::from_utf8_lossy(&close[2..]);
    assert_eq!(first, 0x88, "a close frame");
    assert_eq!(u16::from_be_bytes([close[0], close[1]]), 1002, "{reason}");
    assert!(reason.contains("past the 512-byte window"), "{reason}");
    // Within the window it was allowed, the message is taken and echoed (FIN, RSV1, text).
    let (first, echo) = raw_compressed_message(answer, 9, &message);
    assert_eq!(first, 0xc1);
    let mut inflated = Vec::with_capacity(message.len() + 1);
    flate2::Decompress::new(false)
        .decompress_vec(
            &[&echo[..], &[0, 0, 0xff, 0xff]].concat(),
            &mut inflated,
            flate2::FlushDecompress::Sync,
        )
        .unwrap();
    assert_eq!(inflated, message);
}

#[test]
fn two_native_clients_exchange_compressed_messages_through_the_relay() {
    block_on(async {
        let url = ws("/relay?room=native-pair");
        let first = open(&url).await;
        let second = open(&url).await;
        for socket in [&first, &second] {
            assert_eq!(socket.extensions(), "permessage-deflate");
            assert_eq!(text(socket).await, "paired");
        }
        let messages = [
            Message::Text("{\"price\":101.5}".repeat(1000)),
            Message::Binary(noise(100_000, 0x2545_f491_4f6c_dd1d).into()),
            Message::Text(String::new()),
        ];
        for message in &messages {
            first.send(message.clone()).unwrap();
            let Some(Event::Message(relayed)) = next(&second).await else {
                panic!("no message relayed");
            };
            assert!(relayed == *message, "relayed differently");
            second.send(relayed).unwrap();
            let Some(Event::Message(back)) = next(&first).await else {
                panic!("no message back");
            };
            assert!(back == *message, "came back differently");
        }
        first.close(Some(1000), None).unwrap();
        let (_, close) = until_close(&first).await;
        assert_eq!(
            (close.code, close.reason.as_str()),
            (1000, "you: 3 of 3 compressed; peer: 3 of 3 compressed")
        );
        let (_, close) = until_close(&second).await;
        assert_eq!(
            (close.code, close.reason.as_str(), close.was_clean),
            (
                1000,
                "peer left; you: 3 of 3 compressed; peer: 3 of 3 compressed",
                true
            )
        );
    });
}

#[test]
fn a_relay_client_alone_is_told_when_it_sends_before_its_peer_came() {
    block_on(async {
        let socket = open(&ws("/relay?room=alone")).await;
        socket.send_text("anyone?").unwrap();
        let (seen, close) = until_close(&socket).await;
        assert!(seen.is_empty(), "{seen:?}");
        assert_eq!(
            (close.code, close.reason.as_str()),
            (1008, "a message before the peer came")
        );
    });
}
