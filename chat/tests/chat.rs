//! The chat code over the network, on both targets, against the test server's echo (a chat
//! room of one) and its failure routes.

#[macro_use]
#[path = "../../tests/common/mod.rs"]
mod common;

use common::{server, within, ws, WAIT};
use twinsock::{FailureCause, WebSocket};
use twinsock_chat::{Chat, ChatEnd, ChatEvent};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

async fn next(chat: &Chat<WebSocket>) -> Option<ChatEvent> {
    within(WAIT, "the next chat event", chat.next()).await
}

parity_test!(chat_sends_lines_and_leaves_cleanly, {
    let chat = Chat::<WebSocket>::connect(&ws("/echo")).unwrap();
    assert_eq!(next(&chat).await, Some(ChatEvent::Connected));
    for line in ["hello", "héllo 😀", ""] {
        chat.send(line).unwrap();
        assert_eq!(next(&chat).await, Some(ChatEvent::Line(line.into())));
    }
    chat.leave();
    assert_eq!(chat.status(), "closing");
    assert_eq!(
        next(&chat).await,
        Some(ChatEvent::Ended(ChatEnd::Closed {
            code: 1000,
            reason: String::new()
        }))
    );
    assert_eq!(chat.status(), "closed");
    assert_eq!(next(&chat).await, None);
});

parity_test!(chat_reports_a_connection_that_dies, {
    let chat = Chat::<WebSocket>::connect(&ws("/drop?send=1")).unwrap();
    assert_eq!(next(&chat).await, Some(ChatEvent::Connected));
    assert_eq!(next(&chat).await, Some(ChatEvent::Line("0".into())));
    assert_eq!(
        next(&chat).await,
        Some(ChatEvent::Ended(ChatEnd::Died {
            code: 1006,
            cause: None
        }))
    );
});

parity_test!(chat_reports_a_connection_that_fails, {
    let chat = Chat::<WebSocket>::connect(&format!("ws://{}/ws", server().closed)).unwrap();
    match next(&chat).await {
        Some(ChatEvent::Ended(ChatEnd::Died {
            code: 1006,
            cause: Some(cause),
        })) => {
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
