//! The tutorial's first demo on twinsock (`twinsock_chat::hello::hello`, the code the hello page
//! runs): connect, on open log and send "My name is John", log each message, log the close.

use wasm_bindgen::prelude::*;

fn log(line: &str) {
    web_sys::console::log_1(&line.into());
}

/// Runs the demo against `url`; each line goes to the console.
#[wasm_bindgen]
pub fn hello(url: String) {
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(e) = twinsock_chat::hello::hello::<twinsock::WebSocket>(&url, log).await {
            log(&format!("[error] {e}"));
        }
    });
}
