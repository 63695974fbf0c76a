//! The behaviour contract (shared/spec/websocket-api.md), one test per rule, written once and
//! run natively by `cargo test` and in headless Chromium by wasm-bindgen-test, both against
//! the crate's test server.

#[macro_use]
mod common;

use common::{expect_failure, next, noise, open, opened, server, text, until_close, within, ws, wss, WAIT};
use twinsock::{
    DomException, Error, Event, Message, ProtocolNameError, ReadyState, Socket, UrlError, WebSocket,
    WebSocketBuilder, WebSocketUrl,
};

// Where the browser runs it: in a page for this test binary, in a dedicated worker for
// tests/parity_worker.rs, which runs this file as its module (one configuration a binary).
#[cfg(target_arch = "wasm32")]
include!(concat!("parity/run_in_", env!("CARGO_CRATE_NAME"), ".rs"));

fn open_err(url: &str) -> Error {
    WebSocket::open(url).expect_err(url)
}

fn open_with_protocols(url: &str, protocols: &[&str]) -> Result<WebSocket, Error> {
    WebSocketBuilder::new(url)
        .protocols(protocols.iter().copied())
        .open()
}

// ---- Constructing ----

parity_test!(url_drops_default_ports_and_fills_empty_path, {
    let port = server().ws.rsplit(':').next().unwrap().to_string();
    let cases = [
        ("ws://127.0.0.1:80/x".to_string(), "ws://127.0.0.1/x".to_string()),
        ("wss://127.0.0.1:443/".to_string(), "wss://127.0.0.1/".to_string()),
        (
            format!("ws://127.0.0.1:{port}"),
            format!("ws://127.0.0.1:{port}/"),
        ),
        (
            format!("WS://127.0.0.1:{port}/a/../b?q=1"),
            format!("ws://127.0.0.1:{port}/b?q=1"),
        ),
        (
            format!("ws:///127.0.0.1:{port}/x"),
            format!("ws://127.0.0.1:{port}/x"),
        ),
        (
            format!("ws://LOCALHOST:{port}\\a\\.\\b"),
            format!("ws://localhost:{port}/a/b"),
        ),
        (
            format!("ws://127.0.0.1:{port}/a b/é?x=1 2&y=\"'"),
            format!("ws://127.0.0.1:{port}/a%20b/%C3%A9?x=1%202&y=%22%27"),
        ),
        (
            format!("  ws://127.0.0.1:{port}/t\tab  "),
            format!("ws://127.0.0.1:{port}/tab"),
        ),
        (format!("ws://[::1]:{port}/v6"), format!("ws://[::1]:{port}/v6")),
        (
            format!("ws://127.0.0.1:0{port}/zero"),
            format!("ws://127.0.0.1:{port}/zero"),
        ),
    ];
    for (input, expected) in cases {
        let socket = WebSocket::open(&input).expect(&input);
        assert_eq!(socket.url(), expected, "url() of {input}");
    }
});

parity_test!(http_and_https_schemes_become_ws_and_wss, {
    let socket = WebSocket::open(&format!("http://{}/echo", server().ws)).unwrap();
    assert_eq!(socket.url(), ws("/echo"));
    opened(&socket).await;
    let secure = WebSocket::open(&format!("https://{}/echo", server().wss)).unwrap();
    assert_eq!(secure.url(), wss("/echo"));
});

parity_test!(relative_urls_resolve_against_the_base_url, {
    let base = ws("/dir/page");
    for (input, expected) in [
        ("/echo", ws("/echo")),
        ("echo?q", ws("/dir/echo?q")),
        ("", base.clone()),
    ] {
        let socket = WebSocketBuilder::new(input)
            .base_url(base.as_str())
            .open()
            .expect(input);
        assert_eq!(socket.url(), expected, "{input:?} against {base}");
    }
    let https_base = format!("https://{}/", server().wss);
    let url = WebSocketUrl::parse_with_base("/echo", Some(&https_base)).unwrap();
    assert_eq!(url.as_str(), wss("/echo"));
    assert_eq!(
        WebSocketUrl::parse_with_base("/echo", Some("not absolute")),
        Err(Error::InvalidUrl(UrlError::InvalidBase("not absolute".into())))
    );
});

parity_test!(
    a_relative_url_uses_the_page_in_a_browser_and_is_a_syntax_error_natively,
    {
        for url in ["/echo", "echo", ""] {
            let parsed = WebSocketUrl::parse(url);
            if cfg!(target_arch = "wasm32") {
                // As `new WebSocket(url)`: against the page's base URL, `http` becoming `ws`.
                let href = parsed.expect(url).into_string();
                assert!(href.starts_with("ws://127.0.0.1:"), "{url:?} -> {href}");
            } else {
                assert_eq!(parsed, Err(Error::InvalidUrl(UrlError::Relative)), "{url:?}");
                let err = open_err(url);
                assert_eq!(err.dom_exception(), Some(DomException::SyntaxError));
            }
        }
    }
);

parity_test!(urls_are_normalised_as_the_url_standard_says, {
    // Parsed only (no connection: these hosts are not on loopback).
    for (input, expected) in [
        ("ws://127.1/", "ws://127.0.0.1/"),
        ("ws://0x7f.0.0.1:0080/", "ws://127.0.0.1/"),
        ("ws://%31%32%37.0.0.1/", "ws://127.0.0.1/"),
        ("ws://münchen.de/", "ws://xn--mnchen-3ya.de/"),
        ("ws://%41.com/", "ws://a.com/"),
        ("ws://user:pa ss@h/", "ws://user:pa%20ss@h/"),
        ("ws://@h/", "ws://h/"),
        ("ws://[0:0::1]/", "ws://[::1]/"),
        ("wss://h:443/", "wss://h/"),
        ("http://h:443/", "ws://h:443/"),
    ] {
        let url = WebSocketUrl::parse(input).expect(input);
        assert_eq!(url.as_str(), expected, "{input}");
    }
});

parity_test!(other_schemes_are_syntax_errors, {
    assert_eq!(
        open_err("ftp://127.0.0.1/"),
        Error::InvalidUrl(UrlError::UnsupportedScheme("ftp".into()))
    );
    assert_eq!(
        open_err("file:///tmp/x"),
        Error::InvalidUrl(UrlError::UnsupportedScheme("file".into()))
    );
});

parity_test!(fragment_even_empty_is_a_syntax_error, {
    assert_eq!(open_err(&ws("/echo#")), Error::InvalidUrl(UrlError::Fragment));
    assert_eq!(open_err(&ws("/echo#part")), Error::InvalidUrl(UrlError::Fragment));
});

parity_test!(invalid_hosts_are_syntax_errors, {
    for (input, host) in [
        ("ws://1.2.3.256/", "1.2.3.256"),
        ("ws://foo.1/", "foo.1"),
        ("ws://0x100000000/", "0x100000000"),
        ("ws://[::1/", "[::1"),
        ("ws://a<b/", "a<b"),
        ("ws:///", ""),
    ] {
        let err = open_err(input);
        assert_eq!(
            err,
            Error::InvalidUrl(UrlError::InvalidHost(host.into())),
            "{input}"
        );
        assert_eq!(err.dom_exception(), Some(DomException::SyntaxError));
    }
});

parity_test!(malformed_ipv4_tails_of_ipv6_hosts_are_syntax_errors, {
    // The URL standard's IPv6 parser: the dotted tail ends the address, its octets are plain
    // decimal without a sign. (A leading zero in an octet is refused too, but Chromium accepts
    // it: `[::01.2.3.4]` is `[::102:304]` there, one of its recorded departures.)
    for url in ["ws://[::+1.2.3.4]/", "ws://[1.2.3.4::]/", "ws://[::1.2.3.4:5]/"] {
        let err = open_err(url);
        assert!(
            matches!(err, Error::InvalidUrl(UrlError::InvalidHost(_))),
            "{url}: {err:?}"
        );
        assert_eq!(err.dom_exception(), Some(DomException::SyntaxError));
    }
});

parity_test!(invalid_subprotocol_names_are_syntax_errors, {
    for (name, reason) in [
        ("/echo", ProtocolNameError::NotAToken),
        ("ec ho", ProtocolNameError::NotAToken),
        ("\u{80}echo", ProtocolNameError::NotAToken),
        ("", ProtocolNameError::Empty),
    ] {
        let err = open_with_protocols(&ws("/echo"), &["chat", name]).expect_err(name);
        assert_eq!(
            err,
            Error::InvalidProtocol {
                protocol: name.into(),
                reason
            }
        );
        assert_eq!(err.dom_exception(), Some(DomException::SyntaxError));
    }
});

parity_test!(duplicate_subprotocols_are_syntax_errors, {
    let err = open_with_protocols(&ws("/echo"), &["chat", "v2", "chat"]).expect_err("duplicate");
    assert_eq!(
        err,
        Error::InvalidProtocol {
            protocol: "chat".into(),
            reason: ProtocolNameError::Duplicate
        }
    );
    assert_eq!(err.dom_exception(), Some(DomException::SyntaxError));
});

parity_test!(subprotocols_that_differ_in_case_are_two_names, {
    let socket = open_with_protocols(&ws("/echo?select=eCho"), &["echo", "eCho"]).unwrap();
    opened(&socket).await;
    assert_eq!(socket.protocol(), "eCho");
});

parity_test!(construction_returns_at_once_in_connecting, {
    let socket = open_with_protocols(&ws("/echo"), &["chat"]).unwrap();
    assert_eq!(socket.ready_state(), ReadyState::Connecting);
    assert_eq!(socket.protocol(), "");
    assert_eq!(socket.extensions(), "");
    assert_eq!(socket.buffered_amount(), 0);
    opened(&socket).await;
});

// ---- Failing to connect ----

parity_test!(refused_connection_fails_with_1006, {
    let socket = WebSocket::open(&format!("ws://{}/", server().closed)).unwrap();
    expect_failure(&socket, 1006).await;
});

parity_test!(handshake_refused_with_403_fails_with_1006, {
    let socket = WebSocket::open(&ws("/reject?status=403")).unwrap();
    expect_failure(&socket, 1006).await;
});

parity_test!(server_picking_an_unrequested_subprotocol_fails, {
    let socket = open_with_protocols(&ws("/echo?select=other"), &["chat"]).unwrap();
    expect_failure(&socket, 1006).await;
    let socket = WebSocket::open(&ws("/echo?select=chat")).unwrap();
    expect_failure(&socket, 1006).await;
});

parity_test!(server_picking_no_subprotocol_when_some_were_requested_fails, {
    // Chromium fails the connection here ("Sent non-empty 'Sec-WebSocket-Protocol' header
    // but no response was received"); the native backend does the same.
    let socket = open_with_protocols(&ws("/echo?select=none"), &["chat"]).unwrap();
    expect_failure(&socket, 1006).await;
});

parity_test!(server_accepting_an_unrequested_extension_fails, {
    let socket = WebSocket::open(&ws("/echo?extensions=x-unheard-of")).unwrap();
    expect_failure(&socket, 1006).await;
});

parity_test!(handshake_garbage_fails_with_1006, {
    for mode in ["bad-accept", "status-200", "truncated", "no-upgrade"] {
        let socket = WebSocket::open(&ws(&format!("/handshake?mode={mode}"))).unwrap();
        let (seen, close) = until_close(&socket).await;
        assert!(
            matches!(seen.as_slice(), [Event::Error(_)]),
            "mode {mode}: {seen:?}"
        );
        assert_eq!((close.code, close.was_clean), (1006, false), "mode {mode}");
    }
});

parity_test!(
    an_http_1_0_switching_protocols_answer_is_accepted_as_chromium_does,
    {
        // Chromium opens the connection on an otherwise valid `HTTP/1.0 101` answer (RFC 6455
        // asks for HTTP/1.1); the native backend copies Chromium. The server then hangs up.
        let socket = WebSocket::open(&ws("/handshake?mode=http10")).unwrap();
        opened(&socket).await;
        let (_, close) = until_close(&socket).await;
        assert_eq!((close.code, close.was_clean), (1006, false));
    }
);

parity_test!(connect_convenience_resolves_open_or_fails_with_the_close_code, {
    let socket = WebSocketBuilder::new(ws("/echo"))
        .connect()
        .await
        .expect("echo opens");
    assert_eq!(socket.ready_state(), ReadyState::Open);
    let err = WebSocketBuilder::new(ws("/reject"))
        .connect()
        .await
        .expect_err("403");
    assert!(matches!(err, Error::ConnectFailed { code: 1006, .. }), "{err:?}");
    assert_eq!(err.dom_exception(), None);
});

// ---- Open ----

parity_test!(open_reports_the_selected_subprotocol, {
    let socket = open_with_protocols(&ws("/echo"), &["chat", "superchat"]).unwrap();
    opened(&socket).await;
    assert_eq!(socket.ready_state(), ReadyState::Open);
    assert_eq!(socket.protocol(), "chat");
    // The test server accepts no extension (Chromium offers permessage-deflate).
    assert_eq!(socket.extensions(), "");
});

parity_test!(messages_that_arrive_before_polling_are_kept_in_order, {
    let socket = WebSocket::open(&ws("/send-on-open?count=50")).unwrap();
    // Let the messages arrive before anyone polls; whatever the timing, all must come in order.
    common::delay(std::time::Duration::from_millis(300)).await;
    opened(&socket).await;
    for i in 0..50 {
        assert_eq!(text(&socket).await, i.to_string());
    }
});

// ---- send ----

parity_test!(send_while_connecting_is_invalid_state_and_queues_nothing, {
    let socket = WebSocket::open(&ws("/echo")).unwrap();
    let err = socket.send_text("too early").unwrap_err();
    assert_eq!(err, Error::StillConnecting);
    assert_eq!(err.dom_exception(), Some(DomException::InvalidStateError));
    assert_eq!(
        socket.send_binary(vec![1, 2]).unwrap_err(),
        Error::StillConnecting
    );
    assert_eq!(socket.buffered_amount(), 0);
    opened(&socket).await;
    socket.send_text("after open").unwrap();
    assert_eq!(text(&socket).await, "after open");
});

parity_test!(text_and_binary_keep_their_kind, {
    let socket = open(&ws("/echo")).await;
    socket.send_text("héllo").unwrap();
    socket.send_binary(vec![0u8, 159, 146, 150]).unwrap();
    socket.send(Message::Text("third".into())).unwrap();
    assert_eq!(
        next(&socket).await,
        Some(Event::Message(Message::Text("héllo".into())))
    );
    assert_eq!(
        next(&socket).await,
        Some(Event::Message(Message::Binary(vec![0, 159, 146, 150].into())))
    );
    assert_eq!(
        next(&socket).await,
        Some(Event::Message(Message::Text("third".into())))
    );
});

parity_test!(many_binary_messages_keep_their_order, {
    let socket = open(&ws("/echo")).await;
    for i in 0u32..300 {
        socket
            .send_binary(i.to_be_bytes().repeat(1 + (i as usize % 7) * 100))
            .unwrap();
    }
    for i in 0u32..300 {
        match next(&socket).await {
            Some(Event::Message(Message::Binary(bytes))) => assert_eq!(bytes[..4], i.to_be_bytes()),
            other => panic!("message {i}: {other:?}"),
        }
    }
});

parity_test!(a_one_mebibyte_message_round_trips, {
    let socket = open(&ws("/echo")).await;
    let payload: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
    socket.send_binary(payload.clone()).unwrap();
    assert_eq!(
        next(&socket).await,
        Some(Event::Message(Message::Binary(payload.into())))
    );
});

parity_test!(empty_text_is_a_message_and_leaves_buffered_amount_unchanged, {
    let socket = open(&ws("/echo")).await;
    socket.send_text("").unwrap();
    assert_eq!(socket.buffered_amount(), 0);
    assert_eq!(text(&socket).await, "");
});

parity_test!(
    after_close_send_is_silent_but_buffered_amount_rises_by_utf8_bytes,
    {
        let socket = open(&ws("/echo")).await;
        socket.close(None, None).unwrap();
        let before = socket.buffered_amount();
        let mut expected = before;
        for (payload, bytes) in [("x", 1), ("å", 2), ("匶", 3), ("😀", 4)] {
            socket.send_text(payload).unwrap();
            expected += bytes;
            assert_eq!(socket.buffered_amount(), expected, "after sending {payload:?}");
        }
        socket.send_binary(vec![7u8; 5]).unwrap();
        assert_eq!(socket.buffered_amount(), expected + 5);
        let (seen, close) = until_close(&socket).await;
        assert!(seen.is_empty(), "no event for sends after close: {seen:?}");
        assert_eq!((close.code, close.was_clean), (1005, true));
    }
);

parity_test!(buffered_amount_rises_at_once_and_falls_to_zero_when_flushed, {
    const TOTAL: usize = 8 << 20;
    const CHUNK: usize = 64 << 10;
    // The server reads nothing for 2 s after the handshake, so the sends below are done before
    // it reads, even on a loaded machine (with 500 ms a starved test thread could still be
    // sending when the server began to drain, and find nothing buffered).
    let socket = open(&ws(&format!("/slow?bytes={TOTAL}&delay_ms=2000"))).await;
    for _ in 0..TOTAL / CHUNK {
        socket.send_binary(vec![1u8; CHUNK]).unwrap();
    }
    let queued = socket.buffered_amount();
    assert!(
        queued > 0 && queued <= TOTAL as u64,
        "right after sending: {queued}"
    );
    assert_eq!(text(&socket).await, format!("received {TOTAL}"));
    // The server has every byte, so all was handed to the network; the browser may report
    // that a moment after the reply, so wait for it, bounded.
    within(WAIT, "buffered_amount to reach 0", async {
        while socket.buffered_amount() != 0 {
            common::delay(std::time::Duration::from_millis(10)).await;
        }
    })
    .await;
});

parity_test!(the_sink_holds_the_sender_back_while_the_server_reads_nothing, {
    use futures::SinkExt;
    const TOTAL: usize = 32 << 20;
    const CHUNK: usize = 64 << 10;
    const HIGH_WATER: u64 = 256 << 10;
    // The server reads nothing for a second, then counts every byte.
    let mut socket = WebSocketBuilder::new(ws(&format!("/slow?bytes={TOTAL}&delay_ms=1000")))
        .send_high_water_mark(HIGH_WATER)
        .connect()
        .await
        .unwrap();
    let mut most = 0;
    within(WAIT, "the sink to take every message", async {
        for _ in 0..TOTAL / CHUNK {
            socket
                .feed(Message::Binary(vec![1u8; CHUNK].into()))
                .await
                .unwrap();
            // poll_ready let this message in only at or below the mark.
            most = most.max(socket.buffered_amount());
        }
        socket.flush().await.unwrap();
    })
    .await;
    assert!(
        most <= HIGH_WATER + CHUNK as u64,
        "buffered_amount reached {most} with a high-water mark of {HIGH_WATER}"
    );
    assert_eq!(socket.buffered_amount(), 0, "flushed");
    assert_eq!(text(&socket).await, format!("received {TOTAL}"));
});

// ---- close ----

parity_test!(close_codes_outside_1000_and_3000_to_4999_are_invalid_access, {
    let socket = open(&ws("/echo")).await;
    for code in [0, 999, 1001, 1005, 1006, 2999, 5000, 65535] {
        let err = socket.close(Some(code), None).unwrap_err();
        assert_eq!(err, Error::InvalidCloseCode(code));
        assert_eq!(err.dom_exception(), Some(DomException::InvalidAccessError));
    }
    assert_eq!(
        socket.ready_state(),
        ReadyState::Open,
        "a refused close changes nothing"
    );
    socket.close(Some(3000), None).unwrap();
    assert_eq!(until_close(&socket).await.1.code, 3000);
});

parity_test!(close_reason_over_123_bytes_is_a_syntax_error, {
    let socket = open(&ws("/echo")).await;
    let err = socket.close(Some(1000), Some(&"å".repeat(62))).unwrap_err();
    assert_eq!(err, Error::CloseReasonTooLong(124));
    assert_eq!(err.dom_exception(), Some(DomException::SyntaxError));
    assert_eq!(socket.ready_state(), ReadyState::Open);
    let reason = "r".repeat(123);
    socket.close(Some(4999), Some(&reason)).unwrap();
    let (_, close) = until_close(&socket).await;
    assert_eq!((close.code, close.reason, close.was_clean), (4999, reason, true));
});

parity_test!(close_when_open_runs_the_handshake_and_reports_the_echoed_code, {
    let socket = open(&ws("/echo")).await;
    socket.close(Some(4000), Some("bye")).unwrap();
    assert_eq!(socket.ready_state(), ReadyState::Closing);
    let (seen, close) = until_close(&socket).await;
    assert!(seen.is_empty(), "{seen:?}");
    assert_eq!(
        (close.code, close.reason.as_str(), close.was_clean),
        (4000, "bye", true)
    );
});

parity_test!(close_without_a_code_reports_1005, {
    let socket = open(&ws("/echo")).await;
    socket.close(None, None).unwrap();
    let (_, close) = until_close(&socket).await;
    assert_eq!(
        (close.code, close.reason.as_str(), close.was_clean),
        (1005, "", true)
    );
});

parity_test!(close_with_only_a_reason_sends_1000, {
    let socket = open(&ws("/echo")).await;
    socket.close(None, Some("done")).unwrap();
    let (_, close) = until_close(&socket).await;
    assert_eq!(
        (close.code, close.reason.as_str(), close.was_clean),
        (1000, "done", true)
    );
});

parity_test!(closing_three_times_gives_one_close_event, {
    let socket = open(&ws("/echo")).await;
    for _ in 0..3 {
        socket.close(Some(1000), None).unwrap();
        assert_eq!(socket.ready_state(), ReadyState::Closing);
    }
    let (seen, close) = until_close(&socket).await;
    assert!(seen.is_empty(), "{seen:?}");
    assert_eq!(close.code, 1000);
    socket.close(Some(1000), None).unwrap();
    assert_eq!(
        socket.ready_state(),
        ReadyState::Closed,
        "close when closed does nothing"
    );
});

parity_test!(close_while_connecting_abandons_with_1006_and_no_open, {
    let socket = WebSocket::open(&ws("/echo")).unwrap();
    socket.close(Some(1000), Some("never mind")).unwrap();
    assert_eq!(socket.ready_state(), ReadyState::Closing);
    expect_failure(&socket, 1006).await;
});

// ---- Events ----

parity_test!(server_close_with_code_and_reason_is_clean, {
    let socket = open(&ws("/close?code=4001&reason=done%20here")).await;
    let (seen, close) = until_close(&socket).await;
    assert!(seen.is_empty(), "{seen:?}");
    assert_eq!(
        (close.code, close.reason.as_str(), close.was_clean),
        (4001, "done here", true)
    );
});

parity_test!(server_close_without_a_code_reports_1005, {
    let socket = open(&ws("/close")).await;
    let (_, close) = until_close(&socket).await;
    assert_eq!(
        (close.code, close.reason.as_str(), close.was_clean),
        (1005, "", true)
    );
});

parity_test!(
    peer_vanishing_without_a_close_frame_gives_1006_after_its_messages,
    {
        let socket = open(&ws("/drop?send=3")).await;
        for i in 0..3 {
            assert_eq!(text(&socket).await, i.to_string());
        }
        let (seen, close) = until_close(&socket).await;
        // Chromium reports a vanished peer with the close event alone, and so does native.
        assert!(seen.is_empty(), "{seen:?}");
        assert_eq!((close.code, close.was_clean), (1006, false));
    }
);

/// Opens `/raw` with `frame` (hex) sent right after the handshake and expects the client to
/// fail the connection.
async fn expect_violation(frame: impl AsRef<str>) {
    let frame = frame.as_ref();
    let socket = open(&ws(&format!("/raw?hex={frame}"))).await;
    expect_failure(&socket, 1006).await;
}

parity_test!(invalid_utf8_in_text_fails_the_connection, {
    expect_violation("8102c328").await;
});

parity_test!(reserved_bits_fail_the_connection, {
    expect_violation("c10141").await;
});

parity_test!(reserved_opcode_fails_the_connection, {
    expect_violation("8300").await;
});

parity_test!(masked_frame_from_the_server_fails_the_connection, {
    expect_violation("818537fa213d7f9f4d5158").await;
});

// ---- The wire as Chromium reads it ----

parity_test!(
    unusual_close_codes_from_the_server_are_reported_as_sent_and_clean,
    {
        // Codes an endpoint may not send, but only 1005, 1006 and 1015 fail the connection in
        // Chromium: the others are reported as the server sent them.
        for code in [0, 999, 1004, 1014, 1016, 2999, 5000, 65535] {
            let socket = open(&ws(&format!("/close-raw?code={code}&reason=odd"))).await;
            let (seen, close) = until_close(&socket).await;
            assert!(seen.is_empty(), "code {code}: {seen:?}");
            assert_eq!(
                (close.code, close.reason.as_str(), close.was_clean),
                (code, "odd", true),
                "code {code}"
            );
        }
    }
);

parity_test!(
    close_codes_1005_1006_and_1015_from_the_server_fail_the_connection,
    {
        for code in [1005, 1006, 1015] {
            let socket = open(&ws(&format!("/close-raw?code={code}"))).await;
            expect_failure(&socket, 1006).await;
        }
    }
);

parity_test!(a_server_close_1002_protocol_violation_is_a_clean_1002, {
    let socket = open(&ws("/close-raw?code=1002&reason=Protocol%20violation")).await;
    let (seen, close) = until_close(&socket).await;
    assert!(seen.is_empty(), "{seen:?}");
    assert_eq!(
        (close.code, close.reason.as_str(), close.was_clean),
        (1002, "Protocol violation", true)
    );
});

parity_test!(data_frames_after_the_servers_close_frame_fail_the_connection, {
    // Close 1000 and the text frame "abc" in one write.
    expect_violation("880203e88103616263").await;
    // A text frame once the close frames went both ways, the server starting or the client.
    let socket = open(&ws("/close-raw?code=1000&then=data&hold_ms=3000")).await;
    expect_failure(&socket, 1006).await;
    let socket = open(&ws("/answer-close?then=data&hold_ms=3000")).await;
    socket.close(Some(1000), None).unwrap();
    expect_failure(&socket, 1006).await;
});

parity_test!(a_payload_length_not_in_its_shortest_form_fails_the_connection, {
    // 125 bytes with a 16-bit length, 5 with a 64-bit one, 126 with a 64-bit one.
    expect_violation(format!("817e007d{}", "61".repeat(125))).await;
    expect_violation("817f000000000000000568656c6c6f".to_owned()).await;
    expect_violation(format!("827f000000000000007e{}", "00".repeat(126))).await;
});

parity_test!(an_empty_sec_websocket_extensions_header_fails_the_connection, {
    for value in ["", "%20"] {
        let socket = WebSocket::open(&ws(&format!("/echo?extensions={value}"))).unwrap();
        expect_failure(&socket, 1006).await;
    }
});

/// Opens `url`, closes from our side first when `client_closes`, and returns the close event
/// and how long after the start of opening it came, in milliseconds (no other event may come).
async fn close_event_after(url: &str, client_closes: bool) -> (twinsock::CloseEvent, f64) {
    let started = common::now_ms();
    let socket = open(url).await;
    if client_closes {
        socket.close(Some(1000), Some("bye")).unwrap();
    }
    let (seen, close) = until_close(&socket).await;
    assert!(seen.is_empty(), "{url}: {seen:?}");
    (close, common::now_ms() - started)
}

/// The two ways the close frames go both ways: the server's close first (answered by the
/// client), and the client's (answered by the server); then the server keeps TCP open
/// `hold_ms`. With the close event each gives.
fn held_closes(hold_ms: u32) -> [(String, bool, (u16, &'static str)); 2] {
    [
        (
            ws(&format!("/close-raw?code=4000&reason=done&hold_ms={hold_ms}")),
            false,
            (4000, "done"),
        ),
        (
            ws(&format!("/answer-close?hold_ms={hold_ms}")),
            true,
            (1000, "bye"),
        ),
    ]
}

parity_test!(
    after_the_close_handshake_the_close_event_waits_for_the_servers_tcp_close,
    {
        // The server closes TCP 300 ms after the close frames: the close event comes then, not
        // before, and well before the client's own 2-second wait would end.
        for (url, client_closes, (code, reason)) in held_closes(300) {
            let (close, elapsed) = close_event_after(&url, client_closes).await;
            assert_eq!(
                (close.code, close.reason.as_str(), close.was_clean),
                (code, reason, true),
                "{url}"
            );
            assert!(
                (300.0..2000.0).contains(&elapsed),
                "{url}: the close event {elapsed} ms after opening"
            );
        }
    }
);

parity_test!(
    a_server_keeping_tcp_open_after_the_close_handshake_is_hung_up_on_after_about_2_s,
    {
        // The server would keep TCP open 10 s: the client closes it after about 2 s, and the
        // close is still clean.
        for (url, client_closes, (code, reason)) in held_closes(10_000) {
            let (close, elapsed) = close_event_after(&url, client_closes).await;
            assert_eq!(
                (close.code, close.reason.as_str(), close.was_clean),
                (code, reason, true),
                "{url}"
            );
            assert!(
                (1900.0..5000.0).contains(&elapsed),
                "{url}: the close event {elapsed} ms after opening"
            );
        }
    }
);

parity_test!(pings_are_answered_automatically, {
    let socket = open(&ws("/ping?payload=hi")).await;
    assert_eq!(text(&socket).await, "pong:hi");
});

parity_test!(the_close_event_is_last_and_the_stream_ends, {
    let socket = open(&ws("/echo")).await;
    socket.send_text("one").unwrap();
    assert_eq!(text(&socket).await, "one");
    socket.close(Some(1000), None).unwrap();
    until_close(&socket).await;
    assert_eq!(next(&socket).await, None);
    assert_eq!(socket.send_text("late"), Ok(()), "send after close is silent");
});

parity_test!(wss_echo_works, {
    // Native trusts the test server's self-signed certificate through the extra-roots option
    // (native only); the browser suite runs Chromium with --ignore-certificate-errors
    // (webdriver.json), since pages cannot add roots.
    let builder = WebSocketBuilder::new(wss("/echo"));
    #[cfg(not(target_arch = "wasm32"))]
    let builder = builder.add_root_certificate(server().cert.clone());
    let socket = builder.open().unwrap();
    opened(&socket).await;
    socket.send_text("secret").unwrap();
    assert_eq!(text(&socket).await, "secret");
    socket.close(Some(1000), None).unwrap();
    assert!(until_close(&socket).await.1.was_clean);
});

// ---- permessage-deflate ----
//
// Chromium offers `permessage-deflate; client_max_window_bits` and the native backend the same.
// `/deflate` answers with `extensions=` as it is, keeps what that answer says, checks the
// client's frames against it, echoes every message compressed, and answers the client's close
// with how its messages arrived.

/// `n` bytes of a market feed's JSON: very compressible.
fn feed(n: usize) -> String {
    let mut text = String::with_capacity(n + 64);
    let mut i = 0u32;
    while text.len() < n {
        text.push_str(&format!(
            "{{\"symbol\":\"TW{:02}\",\"price\":{}.{:02},\"size\":{},\"side\":\"{}\"}}\n",
            i % 23,
            100 + i % 31,
            i % 100,
            (i % 9) * 100,
            if i % 2 == 0 { "buy" } else { "sell" }
        ));
        i += 1;
    }
    text.truncate(n);
    text
}

/// What each deflate test sends and expects back: text and binary, empty, small and large,
/// compressible and random; one message twice (the second refers to the first unless the
/// context is reset); 1 KiB of noise four times over (back-references 1 KiB long, beyond a
/// small window).
fn deflate_messages() -> Vec<Message> {
    let greeting = Message::Text("héllo, compressed wörld 😀".repeat(3));
    vec![
        greeting.clone(),
        greeting,
        Message::Text(String::new()),
        Message::Binary(Vec::new().into()),
        Message::Binary(vec![0u8, 1, 2, 3, 255].into()),
        Message::Text(feed(1 << 20)),
        Message::Binary(noise(256 << 10, 7).into()),
        Message::Binary(noise(1024, 9).repeat(4).into()),
    ]
}

/// `text` percent-encoded for a query (everything but letters, digits, `-` and `_`).
fn query_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The `/deflate` URL whose 101 answers `Sec-WebSocket-Extensions: answer` (none: declined).
fn deflate_url(answer: Option<&str>) -> String {
    match answer {
        Some(answer) => ws(&format!("/deflate?extensions={}", query_encode(answer))),
        None => ws("/deflate"),
    }
}

/// Opens `/deflate` answering `answer`, checks `extensions()`, sends [`deflate_messages`] and
/// checks each comes back as sent, closes, and returns the server's report of how the messages
/// arrived (its close reason).
async fn deflate_round_trip(answer: Option<&str>, extensions: &str) -> String {
    let socket = open(&deflate_url(answer)).await;
    assert_eq!(socket.extensions(), extensions, "answer {answer:?}");
    let messages = deflate_messages();
    for message in &messages {
        socket.send(message.clone()).unwrap();
    }
    for (i, sent) in messages.iter().enumerate() {
        match next(&socket).await {
            Some(Event::Message(got)) => assert!(
                got == *sent,
                "answer {answer:?}: message {i} came back different ({} bytes, sent {})",
                message_len(&got),
                message_len(sent)
            ),
            other => panic!("answer {answer:?}: message {i}: {other:?}"),
        }
    }
    socket.close(Some(1000), None).unwrap();
    let (seen, close) = until_close(&socket).await;
    assert!(seen.is_empty(), "answer {answer:?}: {seen:?}");
    assert_eq!(
        (close.code, close.was_clean),
        (1000, true),
        "answer {answer:?}: {close:?}"
    );
    close.reason
}

fn message_len(message: &Message) -> usize {
    match message {
        Message::Text(text) => text.len(),
        Message::Binary(data) => data.len(),
    }
}

/// The report of a server that received every message of [`deflate_messages`] compressed.
fn all_compressed() -> String {
    let count = deflate_messages().len();
    format!("{count} messages, {count} compressed")
}

parity_test!(the_offer_is_permessage_deflate_with_client_max_window_bits, {
    let socket = open(&ws("/headers")).await;
    let headers = text(&socket).await;
    let offers: Vec<&str> = headers
        .lines()
        .filter_map(|line| line.strip_prefix("sec-websocket-extensions: "))
        .collect();
    assert_eq!(
        offers,
        ["permessage-deflate; client_max_window_bits"],
        "{headers}"
    );
});

parity_test!(deflate_declined_gives_empty_extensions_and_uncompressed_frames, {
    let count = deflate_messages().len();
    assert_eq!(
        deflate_round_trip(None, "").await,
        format!("{count} messages, 0 compressed")
    );
});

parity_test!(deflate_accepted_compresses_every_message_both_ways, {
    let answer = "permessage-deflate";
    assert_eq!(deflate_round_trip(Some(answer), answer).await, all_compressed());
});

parity_test!(deflate_server_no_context_takeover_is_accepted, {
    let answer = "permessage-deflate; server_no_context_takeover";
    assert_eq!(deflate_round_trip(Some(answer), answer).await, all_compressed());
});

parity_test!(deflate_client_no_context_takeover_is_kept, {
    // The server inflates each message from an empty window: a reference into the message
    // before would be refused.
    let answer = "permessage-deflate; client_no_context_takeover";
    assert_eq!(deflate_round_trip(Some(answer), answer).await, all_compressed());
});

parity_test!(deflate_server_max_window_bits_from_8_to_15_are_accepted, {
    for bits in [8, 9, 12, 15] {
        let answer = format!("permessage-deflate; server_max_window_bits={bits}");
        assert_eq!(deflate_round_trip(Some(&answer), &answer).await, all_compressed());
    }
});

parity_test!(deflate_client_max_window_bits_from_8_to_15_are_kept, {
    // The server checks every back-reference of the client's against the window it allowed.
    for bits in [8, 9, 12, 15] {
        let answer = format!("permessage-deflate; client_max_window_bits={bits}");
        assert_eq!(deflate_round_trip(Some(&answer), &answer).await, all_compressed());
    }
});

parity_test!(deflate_with_every_parameter_at_once, {
    let answer = "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                  server_max_window_bits=10; client_max_window_bits=9";
    assert_eq!(deflate_round_trip(Some(answer), answer).await, all_compressed());
});

parity_test!(deflate_extensions_is_the_servers_answer_as_written, {
    // Blanks around the punctuation, a quoted value: reported as the server wrote them
    // (trimmed at the ends).
    let answer = "permessage-deflate ;  server_no_context_takeover ; client_max_window_bits=\"10\"";
    let padded = format!("  {answer}  ");
    assert_eq!(deflate_round_trip(Some(&padded), answer).await, all_compressed());
});

parity_test!(refused_deflate_answers_fail_the_connection, {
    for answer in [
        // A window size without a value, out of 8..=15, or not a plain decimal.
        "permessage-deflate; client_max_window_bits",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; client_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=010",
        "permessage-deflate; server_max_window_bits=+10",
        // A value on a flag, a parameter twice, an unknown parameter.
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
        "permessage-deflate; x-unknown",
        // The extension twice, another extension, malformed lists.
        "permessage-deflate, permessage-deflate",
        "permessage-deflate, x-unheard-of",
        "Permessage-Deflate",
        "permessage-deflate;",
        "permessage-deflate,",
    ] {
        let socket = WebSocket::open(&deflate_url(Some(answer))).unwrap();
        let (seen, close) = until_close(&socket).await;
        assert!(
            matches!(seen.as_slice(), [Event::Error(_)]),
            "answer {answer:?}: {seen:?}"
        );
        assert_eq!((close.code, close.was_clean), (1006, false), "answer {answer:?}");
    }
});
