//! The tutorial's first demo, natively: on open, say so and send "My name is John"; print each
//! message; on close print the code and reason, or "Connection died" when it was not clean.
//! The logic is `twinsock_chat::hello`, shared with `www/hello.html`.
//!
//! `cargo run -p twinsock-chat --example hello -- ws://127.0.0.1:PORT/hello`
//!
//! Exits 0 after a clean close, 1 when the connection died, 2 for a bad URL.

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:8080/hello".to_string());
    let outcome =
        futures::executor::block_on(twinsock_chat::hello::hello::<twinsock::WebSocket>(&url, |line| {
            println!("{line}")
        }));
    std::process::exit(match outcome {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            eprintln!("{e}");
            2
        }
    });
}

/// In a page, see `www/hello.html`; this example is the native program.
#[cfg(target_arch = "wasm32")]
fn main() {}
