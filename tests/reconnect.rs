//! The reconnecting socket over the network, on both targets, against the test server: its
//! restartable listener goes away (connections cut, connections refused) and comes back on
//! the same address (`/restart`); final close codes; giving up at the maximum attempts.
//! Natively also against a whole test server stopped and started again on its port, and a
//! listener that never answers the handshake (the per-attempt connect timeout).

#[macro_use]
mod common;

use std::time::Duration;

use common::{open, restartable, server, text, within, ws, WAIT};
use twinsock::{
    Ending, FailureCause, Message, ReadyState, ReconnectEvent, ReconnectOptions, ReconnectingSocket, Socket,
    WebSocketBuilder,
};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// Short delays, so that an outage of a second or two takes a handful of attempts.
fn quick() -> ReconnectOptions {
    ReconnectOptions::new()
        .min_delay(Duration::from_millis(100))
        .max_delay(Duration::from_millis(400))
        .growth_factor(1.5)
        .connect_timeout(Duration::from_secs(3))
}

fn reconnecting(url: &str, options: ReconnectOptions) -> ReconnectingSocket {
    ReconnectingSocket::open(WebSocketBuilder::new(url), options).expect("a valid URL and options")
}

async fn next(socket: &ReconnectingSocket) -> ReconnectEvent {
    within(WAIT, "the next reconnecting event", socket.next_event())
        .await
        .expect("the stream goes on until Closed")
}

async fn expect_text(socket: &ReconnectingSocket, want: &str) {
    match next(socket).await {
        ReconnectEvent::Message(Message::Text(got)) => assert_eq!(got, want),
        other => panic!("expected the text {want:?}, got {other:?}"),
    }
}

/// Takes events until the connection opens again, after `announced` (the attempt whose
/// `Reconnecting` the caller took); returns the open event's queue count and every attempt
/// announced (each `Reconnecting` followed by its `Connecting`, numbered 1, 2, ...).
async fn until_reopened(socket: &ReconnectingSocket, announced: u32) -> (usize, Vec<u32>) {
    let mut attempts: Vec<u32> = (1..=announced).collect();
    for _ in 0..200 {
        match next(socket).await {
            ReconnectEvent::Reconnecting { attempt, close, .. } => {
                assert_eq!((close.code, close.was_clean), (1006, false), "{close:?}");
                attempts.push(attempt);
            }
            ReconnectEvent::Connecting { attempt } => assert_eq!(Some(&attempt), attempts.last()),
            ReconnectEvent::Open {
                reopened: true,
                sent_from_queue,
            } => return (sent_from_queue, attempts),
            other => panic!("unexpected while reconnecting: {other:?} after attempts {attempts:?}"),
        }
    }
    panic!("did not reopen in 200 events: attempts {attempts:?}");
}

parity_test!(
    reconnects_after_the_server_goes_away_and_sends_the_queue_in_order,
    {
        let socket = reconnecting(&restartable("/echo"), quick());
        assert_eq!(
            next(&socket).await,
            ReconnectEvent::Open {
                reopened: false,
                sent_from_queue: 0
            }
        );
        socket.send_text("before").unwrap();
        expect_text(&socket, "before").await;

        // The restartable listener goes away for 1.5 s: our connection is cut, attempts are refused.
        let control = open(&ws("/restart?down_ms=1500")).await;
        assert_eq!(text(&control).await, "stopped");
        match next(&socket).await {
            ReconnectEvent::Reconnecting { attempt: 1, .. } => {}
            other => panic!("expected reconnecting (attempt 1), got {other:?}"),
        }
        assert_eq!(socket.ready_state(), ReadyState::Connecting);
        socket.send_text("queued 1").unwrap();
        socket.send_binary(vec![2]).unwrap();
        socket.send_text("queued 3").unwrap();
        assert_eq!(socket.queued(), 3);

        let (sent_from_queue, attempts) = until_reopened(&socket, 1).await;
        assert_eq!(sent_from_queue, 3);
        assert!(
            attempts.len() >= 2,
            "attempts were refused while it was down: {attempts:?}"
        );
        assert_eq!(attempts, (1..=attempts.len() as u32).collect::<Vec<_>>());
        assert_eq!(text(&control).await, "restarted");

        // The queue went out first, in order, then the connection carries on.
        expect_text(&socket, "queued 1").await;
        assert_eq!(
            next(&socket).await,
            ReconnectEvent::Message(Message::Binary(vec![2].into()))
        );
        expect_text(&socket, "queued 3").await;
        socket.send_text("after").unwrap();
        expect_text(&socket, "after").await;

        socket.close(Some(1000), None).unwrap();
        match next(&socket).await {
            ReconnectEvent::Closed {
                close,
                ending: Ending::ClosedByApplication,
                unsent,
                ..
            } => {
                assert_eq!((close.code, close.was_clean), (1000, true));
                assert!(unsent.is_empty());
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(within(WAIT, "the end", socket.next_event()).await, None);
        control.close(Some(1000), None).unwrap();
    }
);

parity_test!(a_final_close_code_from_the_server_ends_without_reconnecting, {
    let socket = reconnecting(
        &ws("/close?code=4001&reason=banned"),
        quick().final_close_codes([4001]),
    );
    assert!(matches!(
        next(&socket).await,
        ReconnectEvent::Open { reopened: false, .. }
    ));
    match next(&socket).await {
        ReconnectEvent::Closed {
            close,
            ending: Ending::FinalCloseCode,
            ..
        } => assert_eq!((close.code, close.reason.as_str()), (4001, "banned")),
        other => panic!("{other:?}"),
    }
    assert_eq!(socket.ready_state(), ReadyState::Closed);
});

parity_test!(a_server_close_with_another_code_is_reconnected, {
    let socket = reconnecting(&ws("/close?code=4002"), quick().final_close_codes([4001]));
    assert!(matches!(
        next(&socket).await,
        ReconnectEvent::Open { reopened: false, .. }
    ));
    match next(&socket).await {
        ReconnectEvent::Reconnecting {
            attempt: 1, close, ..
        } => assert_eq!(close.code, 4002),
        other => panic!("{other:?}"),
    }
    assert_eq!(next(&socket).await, ReconnectEvent::Connecting { attempt: 1 });
    assert!(matches!(
        next(&socket).await,
        ReconnectEvent::Open { reopened: true, .. }
    ));
    socket.close(None, None).unwrap();
});

parity_test!(refused_attempts_give_up_at_the_maximum_and_hand_back_the_queue, {
    let url = format!("ws://{}/", server().closed);
    let socket = reconnecting(&url, quick().max_attempts(Some(2)));
    socket.send_text("never sent").unwrap();
    let mut seen = Vec::new();
    let closed = loop {
        match next(&socket).await {
            ReconnectEvent::Closed {
                ending,
                unsent,
                cause,
                ..
            } => break (ending, unsent, cause),
            ReconnectEvent::Reconnecting { attempt, .. } => seen.push(format!("reconnecting {attempt}")),
            ReconnectEvent::Connecting { attempt } => seen.push(format!("connecting {attempt}")),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(
        seen,
        ["reconnecting 1", "connecting 1", "reconnecting 2", "connecting 2"]
    );
    let (ending, unsent, cause) = closed;
    assert_eq!(ending, Ending::AttemptsExhausted { attempts: 2 });
    assert_eq!(unsent, [Message::Text("never sent".into())]);
    // Browsers hide why; the native backend says the connection was refused.
    if cfg!(target_arch = "wasm32") {
        assert_eq!(cause, Some(FailureCause::Unreported));
    } else {
        assert_eq!(
            cause.and_then(|c| c.io_error_kind()),
            Some(std::io::ErrorKind::ConnectionRefused)
        );
    }
});

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::net::{SocketAddr, TcpListener};

    use twinsock_test_server::{Options, TestServer};

    use super::*;

    #[test]
    fn reconnects_to_a_test_server_stopped_and_started_again_on_its_port() {
        futures::executor::block_on(async {
            let first = TestServer::start(Options::default()).unwrap();
            let address = first.ws;
            let socket = reconnecting(&format!("ws://{address}/echo"), quick());
            assert!(matches!(
                next(&socket).await,
                ReconnectEvent::Open { reopened: false, .. }
            ));
            socket.send_text("one").unwrap();
            expect_text(&socket, "one").await;

            first.stop();
            match next(&socket).await {
                ReconnectEvent::Reconnecting {
                    attempt: 1, close, ..
                } => assert_eq!(close.code, 1006),
                other => panic!("{other:?}"),
            }
            socket.send_text("two").unwrap();
            // Let an attempt be refused before the server comes back: the connecting event of
            // attempt 1, then its failure.
            assert_eq!(next(&socket).await, ReconnectEvent::Connecting { attempt: 1 });
            match next(&socket).await {
                ReconnectEvent::Reconnecting {
                    attempt: 2, cause, ..
                } => assert_eq!(
                    cause.and_then(|c| c.io_error_kind()),
                    Some(std::io::ErrorKind::ConnectionRefused)
                ),
                other => panic!("{other:?}"),
            }
            let second = TestServer::start(Options {
                ws: address,
                ..Options::default()
            })
            .unwrap();
            let (sent_from_queue, _) = until_reopened(&socket, 2).await;
            assert_eq!(sent_from_queue, 1);
            expect_text(&socket, "two").await;
            socket.close(None, None).unwrap();
            second.stop();
        });
    }

    #[test]
    fn an_attempt_whose_handshake_never_comes_is_abandoned_at_the_connect_timeout() {
        futures::executor::block_on(async {
            // A listener that accepts and never answers (the connections are kept open).
            let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
            let url = format!("ws://{}/", listener.local_addr().unwrap());
            let held = std::thread::spawn(move || {
                let mut held = Vec::new();
                for stream in listener.incoming().take(2) {
                    held.push(stream);
                }
                held
            });
            let options = quick()
                .connect_timeout(Duration::from_millis(300))
                .max_attempts(Some(1));
            let socket = reconnecting(&url, options);
            match next(&socket).await {
                ReconnectEvent::Reconnecting {
                    attempt: 1, cause, ..
                } => {
                    assert_eq!(cause, Some(FailureCause::ConnectTimeout))
                }
                other => panic!("{other:?}"),
            }
            assert_eq!(next(&socket).await, ReconnectEvent::Connecting { attempt: 1 });
            match next(&socket).await {
                ReconnectEvent::Closed { ending, cause, .. } => {
                    assert_eq!(ending, Ending::AttemptsExhausted { attempts: 1 });
                    assert_eq!(cause, Some(FailureCause::ConnectTimeout));
                }
                other => panic!("{other:?}"),
            }
            assert_eq!(
                held.join().unwrap().len(),
                2,
                "both attempts reached the listener"
            );
        });
    }

    /// Natively the socket moves between threads like the one under it.
    #[test]
    fn a_native_reconnecting_socket_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<ReconnectingSocket>();
    }
}
