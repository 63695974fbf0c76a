//! A WebSocket that reconnects by itself ([`ReconnectingSocket`]), written once over the
//! [`Socket`](crate::Socket) trait for both targets: exponential backoff with jitter, a
//! connect timeout per attempt, a bounded queue for messages sent while disconnected, final
//! close codes, and events that say what it is doing. Generic code: it costs a program
//! nothing unless it uses it.
//!
//! ```no_run
//! use futures::StreamExt;
//! use twinsock::{ReconnectEvent, ReconnectOptions, ReconnectingSocket, WebSocketBuilder};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let options = ReconnectOptions::new().final_close_codes([1008]);
//! let mut socket: ReconnectingSocket =
//!     ReconnectingSocket::open(WebSocketBuilder::new("ws://127.0.0.1:8080/ws"), options)?;
//! socket.send_text("queued until the first connection opens")?;
//! while let Some(event) = socket.next().await {
//!     match event {
//!         ReconnectEvent::Open { reopened, .. } => println!("open (again: {reopened})"),
//!         ReconnectEvent::Message(message) => println!("{message:?}"),
//!         ReconnectEvent::Reconnecting { attempt, delay, .. } => {
//!             println!("reconnecting in {delay:?} (attempt {attempt})")
//!         }
//!         ReconnectEvent::Connecting { .. } => {}
//!         ReconnectEvent::Closed { ending, unsent, .. } => {
//!             println!("closed for good ({ending:?}), {} messages unsent", unsent.len())
//!         }
//!     }
//! }
//! # Ok(())
//! # }
//! ```

mod backoff;
mod clock;
mod error;
mod event;
mod options;
mod outbox;
mod socket;
#[cfg(test)]
mod tests;

pub use clock::{Clock, SystemClock, SystemSleep};
pub use error::{InvalidOption, ReconnectError, SendError};
pub use event::{Ending, ReconnectEvent};
pub use options::{
    ReconnectOptions, DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_GROWTH_FACTOR, DEFAULT_JITTER, DEFAULT_MAX_DELAY,
    DEFAULT_MAX_QUEUED, DEFAULT_MIN_DELAY, DEFAULT_MIN_UPTIME,
};
pub use socket::ReconnectingSocket;
