//! The tutorial's first demo on gloo-net's WebSocket, with the same logic and lines as
//! `twinsock_chat::hello::hello`: connect, on open log and send "My name is John", log each
//! message, log the close code and reason.

use futures::{SinkExt, StreamExt};
use gloo_net::websocket::{futures::WebSocket, Message, WebSocketError};
use wasm_bindgen::prelude::*;

const GREETING: &str = "My name is John";

fn log(line: &str) {
    web_sys::console::log_1(&line.into());
}

async fn run(url: &str) -> Result<bool, String> {
    let ws = WebSocket::open(url).map_err(|e| e.to_string())?;
    let (mut write, mut read) = ws.split();
    // gloo's sink is ready once the socket is open.
    if std::future::poll_fn(|cx| write.poll_ready_unpin(cx))
        .await
        .is_ok()
    {
        log("[open] Connection established");
        log("Sending to server");
        write
            .send(Message::Text(GREETING.into()))
            .await
            .map_err(|e| e.to_string())?;
    }
    while let Some(message) = read.next().await {
        match message {
            Ok(Message::Text(text)) => log(&format!("[message] Data received from server: {text}")),
            Ok(Message::Bytes(data)) => log(&format!(
                "[message] Data received from server: {} bytes",
                data.len()
            )),
            Err(WebSocketError::ConnectionClose(close)) if close.was_clean => {
                log(&format!(
                    "[close] Connection closed cleanly, code={} reason={}",
                    close.code, close.reason
                ));
                return Ok(true);
            }
            Err(WebSocketError::ConnectionClose(close)) => {
                log(&format!("[close] Connection died, code={}", close.code));
                return Ok(false);
            }
            Err(e) => log(&format!("[error] {e}")),
        }
    }
    Ok(false)
}

/// Runs the demo against `url`; each line goes to the console.
#[wasm_bindgen]
pub fn hello(url: String) {
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(e) = run(&url).await {
            log(&format!("[error] {e}"));
        }
    });
}
