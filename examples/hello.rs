//! The tutorial's first demo, natively: on open, say so and send "My name is John"; print each
//! message; on close print the code and reason, or "Connection died" when it was not clean.
//!
//! `cargo run --example hello -- ws://127.0.0.1:PORT/hello`
//!
//! Exits 0 after a clean close, 1 when the connection died, 2 for a bad URL.

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    use futures::StreamExt;
    use twinsock::{Event, Message, Socket, WebSocket};

    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:8080/hello".to_string());
    let mut socket = match WebSocket::open(&url) {
        Ok(socket) => socket,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let clean = futures::executor::block_on(async {
        while let Some(event) = socket.next().await {
            match event {
                Event::Open => {
                    println!("[open] Connection established");
                    println!("Sending to server");
                    socket.send_text("My name is John").expect("the socket is open");
                }
                Event::Message(Message::Text(text)) => {
                    println!("[message] Data received from server: {text}")
                }
                Event::Message(Message::Binary(data)) => {
                    println!("[message] Data received from server: {} bytes", data.len())
                }
                Event::Error(cause) => println!("[error] {cause}"),
                Event::Close(close) if close.was_clean => {
                    println!(
                        "[close] Connection closed cleanly, code={} reason={}",
                        close.code, close.reason
                    );
                    return true;
                }
                Event::Close(close) => {
                    println!("[close] Connection died, code={}", close.code);
                    return false;
                }
            }
        }
        false
    });
    std::process::exit(if clean { 0 } else { 1 });
}

/// In a page, see `www/hello.html`; this example is the native program.
#[cfg(target_arch = "wasm32")]
fn main() {}
