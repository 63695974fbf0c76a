//! The native backend's own tests: what the public API cannot show (the connection's own
//! state, its release, fault isolation, `buffered_amount`'s accounting).

use std::net::TcpListener;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use super::*;
use crate::CloseEvent;

/// A one-connection echo server on loopback; returns its URL.
fn echo_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut ws = tungstenite::accept(stream).unwrap();
        while let Ok(message) = ws.read() {
            if message.is_text() || message.is_binary() {
                let _ = ws.send(message);
            }
        }
    });
    url
}

/// Drops `socket` and checks that the I/O thread lets go of its state soon: well before
/// the close timeout, so by the connection's own end, not by a timer.
fn assert_released_after_drop(socket: NativeWebSocket) {
    let weak: Weak<Shared> = Arc::downgrade(&socket.shared);
    let started = Instant::now();
    drop(socket);
    let deadline = started + Duration::from_secs(10);
    while weak.strong_count() > 0 {
        assert!(
            Instant::now() < deadline,
            "the I/O thread still holds the connection"
        );
        std::thread::yield_now();
    }
    let took = started.elapsed();
    assert!(
        took < crate::DEFAULT_CLOSE_TIMEOUT / 2,
        "released only after {took:?}"
    );
}

#[test]
fn dropping_an_open_socket_frees_its_connection() {
    let socket = NativeWebSocket::open(&echo_server()).unwrap();
    assert_eq!(
        futures::executor::block_on(socket.next_event()),
        Some(Event::Open)
    );
    socket.send_text("x").unwrap();
    assert_released_after_drop(socket);
}

#[test]
fn a_closed_socket_frees_its_connection_once_the_server_hangs_up() {
    let socket = NativeWebSocket::open(&echo_server()).unwrap();
    assert_eq!(
        futures::executor::block_on(socket.next_event()),
        Some(Event::Open)
    );
    socket.close(Some(1000), None).unwrap();
    let close = futures::executor::block_on(socket.next_event());
    assert!(
        matches!(
            close,
            Some(Event::Close(CloseEvent {
                code: 1000,
                was_clean: true,
                ..
            }))
        ),
        "{close:?}"
    );
    // Released at the server's EOF, well before the close timeout.
    assert_released_after_drop(socket);
}

#[test]
fn dropping_a_connecting_socket_frees_its_connection() {
    let socket = NativeWebSocket::open(&echo_server()).unwrap();
    assert_released_after_drop(socket);
}

/// Waits (bounded) until the connection itself reaches `state`, without taking events.
fn wait_for_connection_state(socket: &NativeWebSocket, state: ReadyState) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while socket.shared.lock().state() != state {
        assert!(
            Instant::now() < deadline,
            "the connection never reached {state:?}"
        );
        std::thread::yield_now();
    }
}

/// As in a browser, the application's ready state moves with the events it takes: a
/// connection that opened before the open event was taken is still CONNECTING to the
/// application, sends are refused, and `close` abandons it (1006, no open event) instead
/// of running the closing handshake.
#[test]
fn close_before_the_open_event_is_taken_abandons_even_an_open_connection() {
    let socket = NativeWebSocket::open(&echo_server()).unwrap();
    wait_for_connection_state(&socket, ReadyState::Open);
    assert_eq!(socket.ready_state(), ReadyState::Connecting);
    assert_eq!(socket.send_text("early"), Err(Error::StillConnecting));
    socket.close(Some(1000), None).unwrap();
    assert_eq!(socket.ready_state(), ReadyState::Closing);
    let events: Vec<Event> =
        std::iter::from_fn(|| futures::executor::block_on(socket.next_event())).collect();
    assert!(
        matches!(
            &events[..],
            [
                Event::Error(crate::FailureCause::Aborted),
                Event::Close(CloseEvent {
                    code: 1006,
                    was_clean: false,
                    ..
                })
            ]
        ),
        "{events:?}"
    );
    assert_eq!(socket.ready_state(), ReadyState::Closed);
}

/// The server's close is seen when its event is taken, not before.
#[test]
fn the_ready_state_becomes_closed_when_the_close_event_is_taken() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut ws = tungstenite::accept(stream).unwrap();
        let _ = ws.close(None);
        while ws.read().is_ok() {}
    });
    let socket = NativeWebSocket::open(&url).unwrap();
    wait_for_connection_state(&socket, ReadyState::Closed);
    assert_eq!(socket.ready_state(), ReadyState::Connecting);
    assert_eq!(
        futures::executor::block_on(socket.next_event()),
        Some(Event::Open)
    );
    assert_eq!(socket.ready_state(), ReadyState::Open);
    let close = futures::executor::block_on(socket.next_event());
    assert!(
        matches!(
            close,
            Some(Event::Close(CloseEvent {
                code: 1005,
                was_clean: true,
                ..
            }))
        ),
        "{close:?}"
    );
    assert_eq!(socket.ready_state(), ReadyState::Closed);
}

/// Sends race the server's disappearance: a send written on the application's thread may
/// be the one that finds the connection broken, or the I/O thread may see it first. Either
/// way every send is accepted, the socket ends once with 1006, and its state is freed.
#[test]
fn sends_into_a_vanished_server_end_the_connection_once_and_free_it() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        drop(tungstenite::accept(stream).unwrap());
    });
    let socket = NativeWebSocket::open(&url).unwrap();
    assert_eq!(
        futures::executor::block_on(socket.next_event()),
        Some(Event::Open)
    );
    let payload = "x".repeat(1024);
    let deadline = Instant::now() + Duration::from_secs(10);
    for _ in 0..1_000_000 {
        if socket.shared.lock().state() == ReadyState::Closed || Instant::now() > deadline {
            break;
        }
        socket.send_text(payload.as_str()).unwrap();
    }
    assert_eq!(socket.shared.lock().state(), ReadyState::Closed);
    let events: Vec<Event> =
        std::iter::from_fn(|| futures::executor::block_on(socket.next_event())).collect();
    let closes: Vec<&CloseEvent> = events
        .iter()
        .filter_map(|event| match event {
            Event::Close(close) => Some(close),
            _ => None,
        })
        .collect();
    assert!(
        matches!(
            closes[..],
            [CloseEvent {
                code: 1006,
                was_clean: false,
                ..
            }]
        ),
        "{events:?}"
    );
    assert_released_after_drop(socket);
}

/// `future`'s output, or a panic naming `what` after `limit`.
fn within<T>(limit: Duration, what: &str, future: impl std::future::Future<Output = T>) -> T {
    let (fired, timer) = futures::channel::oneshot::channel::<()>();
    let (done, finished) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        if finished.recv_timeout(limit).is_err() {
            let _ = fired.send(());
        }
    });
    let future = std::pin::pin!(future);
    let output = match futures::executor::block_on(futures::future::select(future, timer)) {
        futures::future::Either::Left((output, _)) => output,
        futures::future::Either::Right(_) => panic!("timed out after {limit:?} waiting for {what}"),
    };
    let _ = done.send(());
    output
}

/// The next event, within 10 s.
fn next(socket: &NativeWebSocket) -> Option<Event> {
    within(Duration::from_secs(10), "the next event", socket.next_event())
}

/// Every event up to the close event.
fn until_close(socket: &NativeWebSocket) -> Vec<Event> {
    let mut events = Vec::new();
    for _ in 0..10_000 {
        match next(socket) {
            Some(event @ Event::Close(_)) => {
                events.push(event);
                return events;
            }
            Some(event) => events.push(event),
            None => panic!("the stream ended without a close event: {events:?}"),
        }
    }
    panic!("no close event after 10,000 events")
}

/// A test server for this test's sockets.
fn test_server() -> twinsock_test_server::TestServer {
    twinsock_test_server::TestServer::start(Default::default()).expect("start the test server")
}

fn is_clean_close(event: &Event) -> bool {
    matches!(
        event,
        Event::Close(CloseEvent {
            code: 1000,
            was_clean: true,
            ..
        })
    )
}

/// A panic while driving one connection fails that connection only: on the application's
/// thread (a send) and on the reactor's (a deadline), every other socket gets its messages and
/// its clean close, and the reactor's timers go on.
#[test]
fn a_panic_in_one_connection_fails_it_alone_and_every_other_socket_goes_on() {
    const COUNT: usize = 100;
    let server = test_server();
    let url = format!("ws://{}/echo", server.ws);
    let sockets: Vec<NativeWebSocket> = (0..COUNT).map(|_| NativeWebSocket::open(&url).unwrap()).collect();
    for socket in &sockets {
        assert_eq!(next(socket), Some(Event::Open));
    }
    // On the application's thread: the next send's step panics.
    sockets[17].shared.lock().panic_in_next_step = true;
    // On the reactor's: a keepalive deadline's step panics.
    let keepalive = WebSocketBuilder::new(url.as_str())
        .keepalive(Duration::from_millis(50), Duration::from_secs(5))
        .open()
        .unwrap();
    assert_eq!(next(&keepalive), Some(Event::Open));
    keepalive.shared.lock().panic_in_next_step = true;
    for (i, socket) in sockets.iter().enumerate() {
        socket.send_text(i.to_string()).unwrap();
    }
    for failed in [&sockets[17], &keepalive] {
        let events = until_close(failed);
        assert!(
            matches!(
                &events[..],
                [
                    Event::Error(crate::FailureCause::Internal(_)),
                    Event::Close(CloseEvent {
                        code: 1006,
                        was_clean: false,
                        ..
                    })
                ]
            ),
            "{events:?}"
        );
    }
    // Timers still fire: a connect timeout after the panics.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let stalled = WebSocketBuilder::new(format!("ws://{}/", silent.local_addr().unwrap()))
        .connect_timeout(Duration::from_millis(200))
        .open()
        .unwrap();
    let events = until_close(&stalled);
    assert_eq!(
        events.first(),
        Some(&Event::Error(crate::FailureCause::ConnectTimeout)),
        "{events:?}"
    );
    for (i, socket) in sockets.iter().enumerate().filter(|(i, _)| *i != 17) {
        match next(socket) {
            Some(Event::Message(Message::Text(text))) => assert_eq!(text, i.to_string()),
            other => panic!("socket {i}: {other:?}"),
        }
        socket.close(Some(1000), None).unwrap();
        let events = until_close(socket);
        assert!(
            events.last().is_some_and(is_clean_close),
            "socket {i}: {events:?}"
        );
    }
}

/// Options too long for an `Instant` (`Duration::MAX`) mean "never" instead of overflowing:
/// such sockets open, echo and close, and the reactor serves every other socket, timers
/// included.
#[test]
fn durations_too_long_to_reach_mean_never() {
    let server = test_server();
    let url = format!("ws://{}/echo", server.ws);
    let endless = WebSocketBuilder::new(url.as_str())
        .connect_timeout(Duration::MAX)
        .close_timeout(Duration::MAX)
        .keepalive(Duration::MAX, Duration::MAX)
        .open()
        .unwrap();
    assert_eq!(next(&endless), Some(Event::Open));
    endless.send_text("still here").unwrap();
    assert_eq!(
        next(&endless),
        Some(Event::Message(Message::Text("still here".into())))
    );
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let stalled = WebSocketBuilder::new(format!("ws://{}/", silent.local_addr().unwrap()))
        .connect_timeout(Duration::from_millis(200))
        .open()
        .unwrap();
    let events = until_close(&stalled);
    assert_eq!(
        events.first(),
        Some(&Event::Error(crate::FailureCause::ConnectTimeout)),
        "{events:?}"
    );
    endless.close(Some(1000), None).unwrap();
    assert!(until_close(&endless).last().is_some_and(is_clean_close));
}

/// A server that reads nothing and then pings a client with data queued: `buffered_amount`
/// counts data payload only, falling by whole messages as they reach the kernel (so it stays a
/// multiple of the message size while the pongs go out), never rising without a send, and
/// reaches 0 once the server has read it all.
#[test]
fn pings_while_data_is_queued_leave_buffered_amount_to_the_data() {
    use std::io::{Read, Write};
    use std::sync::mpsc;

    const MESSAGE: usize = 64 * 1024;
    const MESSAGES: usize = 256;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let (ping, pinged) = mpsc::channel::<()>();
    let (drain, drained) = mpsc::channel::<()>();
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut ws = tungstenite::accept(stream).unwrap();
        pinged.recv_timeout(Duration::from_secs(10)).unwrap();
        // 1,000 pings and a text message, written raw while nothing is read.
        let mut raw = ws.get_ref().try_clone().unwrap();
        let mut pings = Vec::new();
        for _ in 0..1000 {
            pings.extend_from_slice(&[0x89, 0x04, b'p', b'i', b'n', b'g']);
        }
        pings.extend_from_slice(&[0x81, 0x04, b'd', b'o', b'n', b'e']);
        raw.write_all(&pings).unwrap();
        drained.recv_timeout(Duration::from_secs(10)).unwrap();
        // Now read everything: the data, the pongs, the close.
        let mut payload = 0;
        raw.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        loop {
            match ws.read() {
                Ok(tungstenite::Message::Binary(data)) => payload += data.len(),
                Ok(_) => {}
                Err(_) => break,
            }
        }
        let _ = raw.read(&mut [0; 1]);
        payload
    });
    let socket = NativeWebSocket::open(&url).unwrap();
    assert_eq!(next(&socket), Some(Event::Open));
    for _ in 0..MESSAGES {
        socket.send_binary(vec![7u8; MESSAGE]).unwrap();
    }
    // 16 MiB is more than loopback's socket buffers hold: most of it waits.
    let queued = socket.buffered_amount();
    assert!(queued > 0 && queued % MESSAGE as u64 == 0, "{queued}");
    ping.send(()).unwrap();
    assert_eq!(next(&socket), Some(Event::Message(Message::Text("done".into()))));
    let after_pings = socket.buffered_amount();
    assert!(
        after_pings <= queued && after_pings % MESSAGE as u64 == 0,
        "after the pings {after_pings} (before {queued}): something but whole data messages counted"
    );
    drain.send(()).unwrap();
    within(
        Duration::from_secs(10),
        "buffered_amount to fall to 0",
        socket.drained(),
    );
    assert_eq!(socket.buffered_amount(), 0);
    socket.close(Some(1000), None).unwrap();
    assert!(until_close(&socket).last().is_some_and(is_clean_close));
    assert_eq!(
        server.join().unwrap(),
        MESSAGE * MESSAGES,
        "the server got every byte"
    );
}

/// The `Sink`'s sends wait for its flush (so that they leave in one write), under any
/// executor: whatever was fed arrives, in order, once flushed; a plain send after fed
/// messages writes them too (it does not wait).
#[test]
fn messages_fed_to_the_sink_go_out_on_flush_or_with_the_next_plain_send() {
    use futures::SinkExt;
    let mut socket = NativeWebSocket::open(&echo_server()).unwrap();
    assert_eq!(next(&socket), Some(Event::Open));
    let expect = |socket: &NativeWebSocket, range: std::ops::Range<usize>| {
        for i in range {
            assert_eq!(next(socket), Some(Event::Message(Message::Text(format!("m{i}")))));
        }
    };
    within(Duration::from_secs(10), "feeding and flushing", async {
        for i in 0..100 {
            socket.feed(Message::Text(format!("m{i}"))).await.unwrap();
        }
        socket.flush().await.unwrap();
    });
    assert_eq!(socket.buffered_amount(), 0, "flushed");
    expect(&socket, 0..100);
    within(Duration::from_secs(10), "feeding", async {
        for i in 100..103 {
            socket.feed(Message::Text(format!("m{i}"))).await.unwrap();
        }
    });
    socket.send_text("m103").unwrap();
    expect(&socket, 100..104);
}
