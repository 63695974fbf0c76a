//! Native-only behaviour: the options that only the native backend has (browsers set headers,
//! trust and timeouts themselves, and have no message size limit), readable failure causes
//! (browsers hide them), and scale.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::{open, opened, server, text, until_close, ws, wss};
use futures::executor::block_on;
use twinsock::{Error, Event, FailureCause, Socket, WebSocket, WebSocketBuilder};

/// The first event, which must be an error, and the close event that follows it.
async fn failure_cause(socket: &WebSocket) -> (FailureCause, u16) {
    let (seen, close) = until_close(socket).await;
    match seen.as_slice() {
        [Event::Error(cause)] => (cause.clone(), close.code),
        other => panic!("expected one error event, got {other:?}"),
    }
}

#[test]
fn origin_and_custom_headers_are_sent_with_a_fresh_key() {
    block_on(async {
        let mut keys = Vec::new();
        for _ in 0..2 {
            let socket = WebSocketBuilder::new(ws("/headers"))
                .origin("http://app.example")
                .header("X-Token", "abc 123")
                .protocols(["chat"])
                .open()
                .unwrap();
            opened(&socket).await;
            let headers = text(&socket).await;
            for line in [
                "origin: http://app.example",
                "x-token: abc 123",
                "sec-websocket-version: 13",
                "sec-websocket-protocol: chat",
                "upgrade: websocket",
            ] {
                assert!(
                    headers.lines().any(|l| l == line),
                    "{line:?} missing from {headers}"
                );
            }
            let key = headers
                .lines()
                .find_map(|l| l.strip_prefix("sec-websocket-key: "))
                .unwrap();
            keys.push(key.to_string());
        }
        assert_ne!(keys[0], keys[1], "each handshake needs a fresh key");
    });
}

#[test]
fn no_origin_is_sent_unless_configured() {
    block_on(async {
        let socket = open(&ws("/headers")).await;
        let headers = text(&socket).await;
        assert!(!headers.lines().any(|l| l.starts_with("origin:")), "{headers}");
    });
}

#[test]
fn invalid_header_options_are_refused_before_connecting() {
    let err = WebSocketBuilder::new(ws("/echo"))
        .header("bad name", "x")
        .open()
        .unwrap_err();
    assert_eq!(err, Error::InvalidHeader("bad name".into()));
    let err = WebSocketBuilder::new(ws("/echo"))
        .origin("line\nbreak")
        .open()
        .unwrap_err();
    assert_eq!(err, Error::InvalidHeader("Origin".into()));
}

#[test]
fn failure_causes_are_readable() {
    block_on(async {
        let refused = WebSocket::open(&format!("ws://{}/", server().closed)).unwrap();
        match failure_cause(&refused).await {
            (cause @ FailureCause::Connect(_), 1006) => {
                assert_eq!(cause.io_error_kind(), Some(std::io::ErrorKind::ConnectionRefused))
            }
            other => panic!("{other:?}"),
        }

        let rejected = WebSocket::open(&ws("/reject?status=403")).unwrap();
        match failure_cause(&rejected).await {
            (FailureCause::Handshake(why), 1006) => assert!(why.contains("403"), "{why}"),
            other => panic!("{other:?}"),
        }

        let wrong = WebSocketBuilder::new(ws("/echo?select=other"))
            .protocols(["chat"])
            .open()
            .unwrap();
        assert!(matches!(
            failure_cause(&wrong).await,
            (FailureCause::Subprotocol(_), 1006)
        ));

        let bad_accept = WebSocket::open(&ws("/handshake?mode=bad-accept")).unwrap();
        match failure_cause(&bad_accept).await {
            (FailureCause::Handshake(why), 1006) => assert!(why.contains("Accept"), "{why}"),
            other => panic!("{other:?}"),
        }

        let bad_utf8 = open(&ws("/raw?hex=8102c328")).await;
        assert!(matches!(
            failure_cause(&bad_utf8).await,
            (FailureCause::Protocol(_), 1006)
        ));
    });
}

#[test]
fn untrusted_certificate_fails_with_a_tls_cause() {
    block_on(async {
        // Without the extra root, the self-signed certificate is not trusted.
        let socket = WebSocket::open(&wss("/echo")).unwrap();
        match failure_cause(&socket).await {
            (FailureCause::Tls(why), 1006) => assert!(why.contains("certificate"), "{why}"),
            other => panic!("{other:?}"),
        }
    });
}

#[test]
fn a_certificate_for_another_host_fails_with_a_tls_cause() {
    block_on(async {
        // Trusted (extra root), but issued for other-host.invalid, not 127.0.0.1.
        let socket = WebSocketBuilder::new(format!("wss://{}/echo", server().wrongname))
            .add_root_certificate(server().wrongname_cert.clone())
            .open()
            .unwrap();
        match failure_cause(&socket).await {
            (FailureCause::Tls(why), 1006) => assert!(why.contains("not valid for name"), "{why}"),
            other => panic!("{other:?}"),
        }
    });
}

#[test]
fn a_server_that_dies_mid_stream_gives_1006() {
    // A test server of our own, stopped at once (every connection cut, as when its process
    // dies) while a message stream is flowing.
    let server = twinsock_test_server::TestServer::start(Default::default()).unwrap();
    let url = format!("ws://{}/echo", server.ws);
    block_on(async {
        let socket = open(&url).await;
        for i in 0..100 {
            socket.send_text(i.to_string()).unwrap();
        }
        assert_eq!(text(&socket).await, "0");
        server.stop();
        let mut received = 1;
        let close = loop {
            match common::next(&socket).await {
                Some(Event::Message(_)) => received += 1,
                Some(Event::Close(close)) => break close,
                other => panic!("after {received} echoes: {other:?}"),
            }
        };
        assert_eq!((close.code, close.was_clean), (1006, false));
        assert_eq!(socket.ready_state(), twinsock::ReadyState::Closed);
    });
}

#[test]
fn connect_timeout_fails_with_1006() {
    // A listener that accepts but never answers the handshake.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    block_on(async {
        let started = Instant::now();
        let socket = WebSocketBuilder::new(url)
            .connect_timeout(Duration::from_millis(300))
            .open()
            .unwrap();
        assert_eq!(failure_cause(&socket).await, (FailureCause::ConnectTimeout, 1006));
        assert!(
            started.elapsed() >= Duration::from_millis(300),
            "not before the timeout"
        );
    });
    drop(listener);
}

#[test]
fn close_timeout_gives_1006_when_the_server_never_answers() {
    block_on(async {
        let socket = WebSocketBuilder::new(ws("/ignore-close"))
            .close_timeout(Duration::from_millis(300))
            .open()
            .unwrap();
        opened(&socket).await;
        let started = Instant::now();
        socket.close(Some(1000), None).unwrap();
        let (seen, close) = until_close(&socket).await;
        assert!(seen.is_empty(), "{seen:?}");
        assert_eq!((close.code, close.was_clean), (1006, false));
        assert!(
            started.elapsed() >= Duration::from_millis(300),
            "not before the timeout"
        );
    });
}

#[test]
fn keepalive_detects_a_peer_that_went_silent() {
    block_on(async {
        // The interval runs from the moment the connection opened, which is after this and
        // may be well before the open event is taken.
        let started = Instant::now();
        let socket = WebSocketBuilder::new(ws("/mute"))
            .keepalive(Duration::from_millis(200), Duration::from_millis(300))
            .open()
            .unwrap();
        opened(&socket).await;
        match failure_cause(&socket).await {
            (FailureCause::Io(why), 1006) => {
                assert_eq!(why.kind(), std::io::ErrorKind::TimedOut);
                assert!(why.message().contains("keepalive"), "{why}");
            }
            other => panic!("{other:?}"),
        }
        assert!(
            started.elapsed() >= Duration::from_millis(500),
            "not before interval + timeout"
        );
    });
}

#[test]
fn keepalive_keeps_a_live_connection_open() {
    block_on(async {
        let socket = WebSocketBuilder::new(ws("/echo"))
            .keepalive(Duration::from_millis(50), Duration::from_millis(500))
            .open()
            .unwrap();
        opened(&socket).await;
        // Several ping intervals of silence from our side: the server answers each ping.
        common::delay(Duration::from_millis(600)).await;
        assert_eq!(socket.ready_state(), twinsock::ReadyState::Open);
        socket.send_text("still here").unwrap();
        assert_eq!(text(&socket).await, "still here");
    });
}

#[test]
fn without_keepalive_a_silent_peer_is_not_failed() {
    block_on(async {
        let socket = open(&ws("/mute")).await;
        common::delay(Duration::from_millis(300)).await;
        assert_eq!(socket.ready_state(), twinsock::ReadyState::Open);
    });
}

#[test]
fn oversize_message_fails_with_1009() {
    block_on(async {
        let socket = WebSocketBuilder::new(ws("/big?bytes=5000"))
            .max_message_size(Some(1000))
            .open()
            .unwrap();
        opened(&socket).await;
        let (seen, close) = until_close(&socket).await;
        assert!(
            matches!(
                seen.as_slice(),
                [Event::Error(FailureCause::MessageTooLarge { max: 1000, .. })]
            ),
            "{seen:?}"
        );
        assert_eq!((close.code, close.was_clean), (1009, false));
    });
}

#[test]
fn messages_up_to_the_maximum_are_accepted() {
    block_on(async {
        let socket = WebSocketBuilder::new(ws("/big?bytes=1000"))
            .max_message_size(Some(1000))
            .open()
            .unwrap();
        opened(&socket).await;
        assert_eq!(text(&socket).await.len(), 1000);
    });
}

#[test]
fn dropping_an_open_socket_sends_1001() {
    use tungstenite::protocol::frame::coding::CloseCode;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut ws = tungstenite::accept(stream).unwrap();
        loop {
            match ws.read() {
                Ok(tungstenite::Message::Close(frame)) => return frame.map(|f| f.code),
                Ok(_) => {}
                Err(e) => panic!("no close frame: {e}"),
            }
        }
    });
    block_on(async {
        let socket = open(&url).await;
        drop(socket);
    });
    assert_eq!(server.join().unwrap(), Some(CloseCode::Away));
}

#[test]
fn dropping_a_connecting_socket_abandons_it() {
    // Nothing to observe from the application (no events after a drop); the server must not
    // see a handshake complete, and nothing may hang or panic.
    let socket = WebSocket::open(&ws("/echo")).unwrap();
    drop(socket);
    block_on(async {
        let socket = open(&ws("/echo")).await;
        socket.send_text("still fine").unwrap();
        assert_eq!(text(&socket).await, "still fine");
    });
}

#[test]
fn a_thousand_sockets_in_one_process() {
    const COUNT: usize = 1000;
    block_on(async {
        let started = Instant::now();
        let sockets: Vec<WebSocket> = (0..COUNT)
            .map(|_| WebSocket::open(&ws("/echo")).unwrap())
            .collect();
        for socket in &sockets {
            opened(socket).await;
        }
        let opened_in = started.elapsed();
        for (i, socket) in sockets.iter().enumerate() {
            socket.send_text(i.to_string()).unwrap();
        }
        for (i, socket) in sockets.iter().enumerate() {
            assert_eq!(text(socket).await, i.to_string());
        }
        for socket in &sockets {
            socket.close(Some(1000), None).unwrap();
        }
        for socket in &sockets {
            let (_, close) = until_close(socket).await;
            assert!(close.was_clean, "{close:?}");
        }
        eprintln!(
            "{COUNT} sockets opened in {opened_in:?}, all echoed and closed in {:?}",
            started.elapsed()
        );
    });
}

#[test]
fn usable_from_many_threads_at_once() {
    let handles: Vec<_> = (0..8)
        .map(|t| {
            std::thread::spawn(move || {
                block_on(async {
                    let socket = open(&ws("/echo")).await;
                    for i in 0..100 {
                        socket.send_text(format!("{t}:{i}")).unwrap();
                    }
                    for i in 0..100 {
                        assert_eq!(text(&socket).await, format!("{t}:{i}"));
                    }
                    socket.close(None, None).unwrap();
                    assert!(until_close(&socket).await.1.was_clean);
                })
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
}

/// `twinsock::block_on` waits in the reactor itself, from several threads at once (one drives
/// it, the others are woken), and writes a turn's sends when the future waits or returns.
#[test]
fn block_on_drives_the_reactor_from_many_threads_and_writes_each_turns_sends() {
    let handles: Vec<_> = (0..8)
        .map(|t| {
            std::thread::spawn(move || {
                let socket = twinsock::block_on(async {
                    let socket = open(&ws("/echo")).await;
                    for i in 0..1000 {
                        socket.send_text(format!("{t}:{i}")).unwrap();
                    }
                    for i in 0..1000 {
                        assert_eq!(text(&socket).await, format!("{t}:{i}"));
                    }
                    // Sent as the future returns: written before block_on returns.
                    socket.send_text("last").unwrap();
                    socket
                });
                block_on(async {
                    assert_eq!(text(&socket).await, "last");
                    socket.close(None, None).unwrap();
                    assert!(until_close(&socket).await.1.was_clean);
                })
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
}

/// A server that, once the client's text "opened" arrives, sends `burst` binary messages of
/// 2 KiB and then a ping, and returns (through `ponged`) the pong's payload.
fn ping_after_a_burst(
    burst: usize,
) -> (
    String,
    futures::channel::oneshot::Receiver<Vec<u8>>,
    std::thread::JoinHandle<()>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let (ponged, got_pong) = futures::channel::oneshot::channel();
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut ws = tungstenite::accept(stream).unwrap();
        // The client's task has taken the open event before anything goes out.
        match ws.read() {
            Ok(tungstenite::Message::Text(text)) => assert_eq!(text.as_str(), "opened"),
            other => panic!("expected the client's text, got {other:?}"),
        }
        for _ in 0..burst {
            ws.write(tungstenite::Message::binary(vec![7u8; 2048])).unwrap();
        }
        ws.send(tungstenite::Message::Ping(b"are you there".to_vec().into()))
            .unwrap();
        loop {
            match ws.read() {
                Ok(tungstenite::Message::Pong(payload)) => {
                    let _ = ponged.send(payload.to_vec());
                    // Until the client goes, so that its socket is not closed under it.
                    while ws.read().is_ok() {}
                    return;
                }
                Ok(_) => {}
                Err(e) => panic!("no pong: {e}"),
            }
        }
    });
    (url, got_pong, server)
}

/// A `block_on` thread reads its own sockets when its task polls them; a socket it stopped
/// polling is still read (here: the server's ping answered) while the thread waits for
/// something else, as a browser answers pings while the page is busy.
#[test]
fn a_block_on_thread_answers_pings_on_a_socket_its_task_no_longer_polls() {
    let (url, got_pong, server) = ping_after_a_burst(0);
    twinsock::block_on(async {
        let socket = open(&url).await;
        socket.send_text("opened").unwrap();
        // The task now waits for the server's thread only, never for the socket's events.
        let pong = common::within(Duration::from_secs(10), "the pong", got_pong).await;
        assert_eq!(pong.unwrap(), b"are you there");
        drop(socket);
    });
    server.join().unwrap();
}

/// On a `block_on` thread a poll decodes one read's events before it reads more; a task that
/// takes one message of a burst larger than a read and then waits for something else still
/// gets the rest of the burst read and the ping behind it answered, and loses no message.
#[test]
fn a_block_on_thread_reads_the_rest_of_a_burst_its_task_left() {
    let (url, got_pong, server) = ping_after_a_burst(200);
    twinsock::block_on(async {
        let socket = open(&url).await;
        socket.send_text("opened").unwrap();
        match common::next(&socket).await {
            Some(Event::Message(message)) => assert_eq!(message.len(), 2048),
            other => panic!("expected a message, got {other:?}"),
        }
        let pong = common::within(Duration::from_secs(10), "the pong", got_pong).await;
        assert_eq!(pong.unwrap(), b"are you there");
        // Nothing was lost: the other 199 messages are queued.
        for _ in 1..200 {
            match common::next(&socket).await {
                Some(Event::Message(message)) => assert_eq!(message.len(), 2048),
                other => panic!("expected a message, got {other:?}"),
            }
        }
        drop(socket);
    });
    server.join().unwrap();
}
