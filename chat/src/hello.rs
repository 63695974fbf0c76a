//! The tutorial's first demo, written once against [`Socket`]: `examples/hello.rs` prints its
//! lines and `www/hello.html` shows them in the page.

use twinsock::{Error, Event, Message, Socket};

/// The line the demo sends once the connection is open.
pub const GREETING: &str = "My name is John";

/// Connects to `url`; on open logs that and sends [`GREETING`]; logs each message; on close
/// logs the code and reason, or "Connection died" when it was not clean. Returns whether the
/// connection closed cleanly; an invalid URL is an error and nothing is logged.
pub async fn hello<S: Socket>(url: &str, mut log: impl FnMut(&str)) -> Result<bool, Error> {
    let socket = S::open(url)?;
    while let Some(event) = socket.next_event().await {
        match event {
            Event::Open => {
                log("[open] Connection established");
                log("Sending to server");
                socket.send_text(GREETING)?;
            }
            Event::Message(Message::Text(text)) => {
                log(&format!("[message] Data received from server: {text}"))
            }
            Event::Message(Message::Binary(data)) => log(&format!(
                "[message] Data received from server: {} bytes",
                data.len()
            )),
            Event::Error(cause) => log(&format!("[error] {cause}")),
            Event::Close(close) if close.was_clean => {
                log(&format!(
                    "[close] Connection closed cleanly, code={} reason={}",
                    close.code, close.reason
                ));
                return Ok(true);
            }
            Event::Close(close) => {
                log(&format!("[close] Connection died, code={}", close.code));
                return Ok(false);
            }
        }
    }
    Ok(false)
}
