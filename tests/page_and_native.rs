//! A page and a native client exchange compressed messages through the test server: this page
//! (headless Chromium, twinsock's browser backend) and `examples/relay_peer.rs` (twinsock's
//! native client, which `scripts/test.sh` starts next to the browser run) meet in the relay
//! room `page-and-native`. Each side negotiates permessage-deflate with the server, which
//! inflates what one sends and compresses it again for the other, and reports at the end how
//! both sides' messages arrived. Browser only: natively, two native clients do the same in
//! `tests/deflate.rs`.
#![cfg(target_arch = "wasm32")]

mod common;

use common::{next, noise, open, text, until_close, ws};
use twinsock::{Event, Message, Socket};

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test::wasm_bindgen_test]
async fn a_page_and_a_native_client_exchange_compressed_messages() {
    let socket = open(&ws("/relay?room=page-and-native")).await;
    assert_eq!(socket.extensions(), "permessage-deflate");
    // The native peer is already waiting in the room.
    assert_eq!(text(&socket).await, "paired");
    let messages = [
        Message::Text("{\"symbol\":\"TW\",\"price\":101.25}\n".repeat(30_000)),
        Message::Binary(noise(200_000, 0x2545_f491_4f6c_dd1d).into()),
        Message::Text("héllo from the page 😀".into()),
        Message::Binary(Vec::new().into()),
    ];
    for message in &messages {
        socket.send(message.clone()).unwrap();
    }
    // Through the relay to the native peer, and back from it.
    for (i, sent) in messages.iter().enumerate() {
        match next(&socket).await {
            Some(Event::Message(back)) => assert!(back == *sent, "message {i} came back different"),
            other => panic!("message {i}: {other:?}"),
        }
    }
    socket.close(Some(1000), None).unwrap();
    let (seen, close) = until_close(&socket).await;
    assert!(seen.is_empty(), "{seen:?}");
    assert_eq!(
        (close.code, close.reason.as_str(), close.was_clean),
        (1000, "you: 4 of 4 compressed; peer: 4 of 4 compressed", true)
    );
}
