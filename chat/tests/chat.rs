//! The chat code over the network, on both targets, against the test server's echo (a chat
//! room of one), its failure routes, and its restartable listener (a server restart).

#[macro_use]
#[path = "../../tests/common/mod.rs"]
mod common;

use std::time::Duration;

use common::{open, restartable, server, text, within, ws, WAIT};
use twinsock::{FailureCause, ReconnectOptions, Socket, WebSocket};
use twinsock_chat::{reconnect_options, Chat, ChatEnd, ChatEvent, ChatStatus};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

async fn next(chat: &Chat<WebSocket>) -> ChatEvent {
    within(WAIT, "the next chat event", chat.next())
        .await
        .expect("the chat goes on until Ended")
}

/// The chat's options with short delays, so that an outage takes a handful of attempts.
fn quick() -> ReconnectOptions {
    reconnect_options()
        .min_delay(Duration::from_millis(100))
        .max_delay(Duration::from_millis(400))
}

fn chat(url: &str, options: ReconnectOptions) -> Chat<WebSocket> {
    Chat::connect_with(url, options, twinsock::SystemClock).unwrap()
}

const CONNECTED: ChatEvent = ChatEvent::Connected {
    again: false,
    sent_from_queue: 0,
};

parity_test!(chat_sends_lines_and_leaves_cleanly, {
    let chat = chat(&ws("/echo"), quick());
    assert_eq!(next(&chat).await, CONNECTED);
    for line in ["hello", "héllo 😀", ""] {
        chat.send(line).unwrap();
        assert_eq!(next(&chat).await, ChatEvent::Line(line.into()));
    }
    chat.leave();
    assert_eq!(chat.status(), ChatStatus::Closing);
    assert_eq!(
        next(&chat).await,
        ChatEvent::Ended {
            end: ChatEnd::Closed {
                code: 1000,
                reason: String::new()
            },
            unsent: Vec::new()
        }
    );
    assert_eq!(chat.status(), ChatStatus::Closed);
    assert_eq!(within(WAIT, "the end", chat.next()).await, None);
});

parity_test!(chat_reconnects_a_connection_that_dies, {
    let chat = chat(&ws("/drop?send=1"), quick());
    assert_eq!(next(&chat).await, CONNECTED);
    assert_eq!(next(&chat).await, ChatEvent::Line("0".into()));
    assert!(matches!(
        next(&chat).await,
        ChatEvent::Reconnecting { attempt: 1, .. }
    ));
    assert!(matches!(
        chat.status(),
        ChatStatus::Reconnecting { attempt: 1, .. }
    ));
    assert_eq!(next(&chat).await, ChatEvent::Connecting { attempt: 1 });
    assert_eq!(chat.status().to_string(), "connecting (attempt 1)");
    assert!(matches!(
        next(&chat).await,
        ChatEvent::Connected { again: true, .. }
    ));
    assert_eq!(next(&chat).await, ChatEvent::Line("0".into()));
    chat.leave();
});

parity_test!(chat_gives_up_on_a_server_that_never_answers_when_told_to, {
    let url = format!("ws://{}/ws", server().closed);
    let chat = chat(&url, quick().max_attempts(Some(1)));
    assert!(matches!(
        next(&chat).await,
        ChatEvent::Reconnecting { attempt: 1, .. }
    ));
    assert_eq!(next(&chat).await, ChatEvent::Connecting { attempt: 1 });
    match next(&chat).await {
        ChatEvent::Ended {
            end:
                ChatEnd::GaveUp {
                    attempts: 1,
                    cause: Some(cause),
                },
            ..
        } => {
            // Browsers hide the cause; the native backend names it.
            if cfg!(target_arch = "wasm32") {
                assert_eq!(cause, FailureCause::Unreported);
            } else {
                assert!(matches!(cause, FailureCause::Connect(_)), "{cause:?}");
            }
        }
        other => panic!("{other:?}"),
    }
});

parity_test!(
    chat_survives_a_server_restart_and_sends_what_was_typed_meanwhile,
    {
        let chat = chat(&restartable("/echo"), quick());
        assert_eq!(next(&chat).await, CONNECTED);
        chat.send("before").unwrap();
        assert_eq!(next(&chat).await, ChatEvent::Line("before".into()));

        let control = open(&ws("/restart?down_ms=1000")).await;
        assert_eq!(text(&control).await, "stopped");
        assert!(matches!(
            next(&chat).await,
            ChatEvent::Reconnecting { attempt: 1, .. }
        ));
        chat.send("typed while away").unwrap();
        let mut attempts = 1;
        loop {
            match next(&chat).await {
                ChatEvent::Connected {
                    again: true,
                    sent_from_queue,
                } => {
                    assert_eq!(sent_from_queue, 1);
                    break;
                }
                ChatEvent::Connecting { .. } => {}
                ChatEvent::Reconnecting { attempt, .. } => {
                    attempts += 1;
                    assert_eq!(attempt, attempts);
                    assert!(attempts < 100, "too many attempts");
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(chat.status(), ChatStatus::Open);
        assert_eq!(next(&chat).await, ChatEvent::Line("typed while away".into()));
        chat.send("back").unwrap();
        assert_eq!(next(&chat).await, ChatEvent::Line("back".into()));
        assert_eq!(text(&control).await, "restarted");
        chat.leave();
        control.close(None, None).unwrap();
    }
);
