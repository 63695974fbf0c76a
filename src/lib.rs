//! # twinsock
//!
//! The browser's WebSocket API for Rust, everywhere: in a web page (wasm32, on the browser's
//! own `WebSocket` through `web-sys`) and in native programs (on `tungstenite`), behind one
//! trait, [`Socket`], with the same behaviour on both: the same states, events, close codes,
//! `buffered_amount`, `protocol`, `extensions`, `url`, and the same typed errors.
//!
//! ```no_run
//! use futures::StreamExt;
//! use twinsock::{Event, Socket, WebSocket};
//!
//! # async fn demo() -> Result<(), twinsock::Error> {
//! let mut socket = WebSocket::open("ws://127.0.0.1:8080/ws")?;
//! while let Some(event) = socket.next().await {
//!     match event {
//!         Event::Open => socket.send_text("My name is John")?,
//!         Event::Message(message) => println!("{message:?}"),
//!         Event::Error(cause) => eprintln!("error: {cause}"),
//!         Event::Close(close) => println!("closed: {} {}", close.code, close.reason),
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! [`ReconnectingSocket`] (module `reconnect`) keeps a connection up by itself: backoff with
//! jitter, a send queue while disconnected, and events to show, on both targets.
//!
//! [`WebSocket`] is the current target's backend: `NativeWebSocket` natively,
//! `BrowserWebSocket` on wasm32. Each is also reachable by that name where it compiles.

mod error;
mod event;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;
mod reconnect;
mod rules;
mod socket;

pub use bytes::Bytes;
#[cfg(not(target_arch = "wasm32"))]
pub use error::ProxyFailure;
pub use error::{DomException, Error, FailureCause, IoFailure, ProtocolNameError, UrlError};
pub use event::{CloseEvent, Event, Message, ReadyState};
pub use reconnect::{
    Clock, Ending, InvalidOption, ReconnectError, ReconnectEvent, ReconnectOptions, ReconnectingSocket,
    SendError, SystemClock, SystemSleep, DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_GROWTH_FACTOR, DEFAULT_JITTER,
    DEFAULT_MAX_DELAY, DEFAULT_MAX_QUEUED, DEFAULT_MIN_DELAY, DEFAULT_MIN_UPTIME,
};
pub use rules::url::WebSocketUrl;
pub use socket::{
    Socket, TlsRoots, WebSocketBuilder, DEFAULT_CLOSE_TIMEOUT, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_MAX_QUEUED_INCOMING, DEFAULT_SEND_HIGH_WATER_MARK,
};

cfg_if::cfg_if! {
    if #[cfg(target_arch = "wasm32")] {
        mod web;
        pub use web::BrowserWebSocket;
        /// The current target's WebSocket: [`BrowserWebSocket`] on wasm32.
        pub type WebSocket = BrowserWebSocket;
    } else {
        mod native;
        pub use native::NativeWebSocket;
        pub use native::block_on::block_on;
        /// The rustls version whose `ClientConfig` [`WebSocketBuilder::tls_config`] takes.
        pub use rustls;
        /// The current target's WebSocket: [`NativeWebSocket`] on native targets.
        pub type WebSocket = NativeWebSocket;

        // Natively a socket is a handle to the I/O thread's state: it may move to, and be shared
        // with, any thread.
        const _: () = {
            const fn assert_send_sync<T: Send + Sync>() {}
            assert_send_sync::<NativeWebSocket>();
        };
    }
}
