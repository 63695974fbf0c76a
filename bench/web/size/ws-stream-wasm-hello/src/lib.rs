//! The tutorial's first demo on ws_stream_wasm, with the same logic and lines as
//! `twinsock_chat::hello::hello`: connect, on open log and send "My name is John", log each
//! message, log the close code and reason.

use futures::{SinkExt, StreamExt};
use pharos::{Observable, ObserveConfig};
use wasm_bindgen::prelude::*;
use ws_stream_wasm::{WsEvent, WsMessage, WsMeta};

const GREETING: &str = "My name is John";

fn log(line: &str) {
    web_sys::console::log_1(&line.into());
}

async fn run(url: &str) -> Result<bool, String> {
    // Resolves once the socket is open.
    let (mut meta, mut stream) = WsMeta::connect(url, None).await.map_err(|e| e.to_string())?;
    let mut events = meta
        .observe(ObserveConfig::default())
        .await
        .map_err(|e| e.to_string())?;
    log("[open] Connection established");
    log("Sending to server");
    stream
        .send(WsMessage::Text(GREETING.into()))
        .await
        .map_err(|e| e.to_string())?;
    while let Some(message) = stream.next().await {
        match message {
            WsMessage::Text(text) => log(&format!("[message] Data received from server: {text}")),
            WsMessage::Binary(data) => log(&format!(
                "[message] Data received from server: {} bytes",
                data.len()
            )),
        }
    }
    while let Some(event) = events.next().await {
        match event {
            WsEvent::Error => log("[error] WebSocket error"),
            WsEvent::Closed(close) if close.was_clean => {
                log(&format!(
                    "[close] Connection closed cleanly, code={} reason={}",
                    close.code, close.reason
                ));
                return Ok(true);
            }
            WsEvent::Closed(close) => {
                log(&format!("[close] Connection died, code={}", close.code));
                return Ok(false);
            }
            _ => {}
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
