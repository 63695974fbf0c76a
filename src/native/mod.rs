//! The native backend: the browser's WebSocket semantics over tungstenite's frame layer,
//! driven by the callers' own threads and one reactor (see [`reactor`]).
//!
//! - [`connection`]: one connection's life, owned by whoever holds its lock ([`shared`]);
//! - [`wire`]: the WebSocket message layer (frames, UTF-8, limits, the closing handshake's
//!   decisions, permessage-deflate), sans I/O;
//! - [`handshake`], [`tls`], [`transport`]: the opening handshake and the byte stream;
//! - [`incoming`], [`outgoing`]: the events for the application and the bytes for the server;
//! - [`reactor`], [`resolver`], [`block_on`]: waiting for readiness and deadlines, host-name
//!   lookups, and a `block_on` that waits in the reactor itself.

pub(crate) mod block_on;
mod connection;
mod handshake;
mod incoming;
mod outgoing;
mod proxy;
mod reactor;
mod resolver;
mod setup;
mod shared;
mod tls;
mod transport;
pub(crate) mod wire;

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::{Sink, Stream};
use tungstenite::http::{HeaderName, HeaderValue};

use self::connection::Connection;
use self::reactor::{Ctx, Reactor};
use self::shared::Shared;
use crate::error::{Error, IoFailure};
use crate::event::{Event, Message, ReadyState};
use crate::rules::close::{close_frame_code, validate_close};
use crate::rules::protocols::validate_protocols;
use crate::rules::url::WebSocketUrl;
use crate::socket::{Socket, WebSocketBuilder};

/// The native WebSocket.
///
/// The calling thread does the socket's work when it sends, closes or polls for events: a send
/// is written at once when nothing waits ahead of it, and a poll reads what has arrived. One
/// reactor for the whole process waits for readiness and deadlines, and moves a socket on
/// while its application is busy elsewhere (reading up to [`max_queued_incoming`] of
/// messages, answering pings, flushing what the kernel could not take at once, the connect,
/// close and keepalive timeouts), so a socket behaves as in a browser whoever polls it, and
/// 1,000 sockets need no thread of their own. [`crate::block_on`] waits in the reactor
/// itself, saving the hand-off to the reactor's thread.
///
/// Dropping an open socket sends close code 1001 (going away) and lets the closing handshake
/// run for at most the close timeout; dropping a connecting socket abandons the attempt.
/// Either way the connection's memory is freed when it ends. No events are delivered after
/// the drop.
///
/// [`max_queued_incoming`]: WebSocketBuilder::max_queued_incoming
pub struct NativeWebSocket {
    shared: Arc<Shared>,
    reactor: &'static Reactor,
    send_high_water_mark: u64,
}

impl std::fmt::Debug for NativeWebSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeWebSocket")
            .field("url", &self.shared.url)
            .field("ready_state", &self.shared.ready_state())
            .finish()
    }
}

impl NativeWebSocket {
    /// Runs `step` on the connection on this thread (a panic in it fails this connection only,
    /// and the step is then not done: `None`).
    fn step<R>(&self, step: impl FnOnce(&mut Connection, &Ctx<'_>) -> R) -> Option<R> {
        self.reactor.run_step(&self.shared, false, step)
    }

    /// Sends `message`. `for_flush`: the `Sink`'s `start_send`, whose write may wait for the
    /// `Sink`'s flush (or its `poll_ready` waiting), so that fed messages go out in one write.
    /// Inside [`crate::block_on`] every send's write waits for the `block_on`'s next wait.
    fn send_message(&self, message: Message, for_flush: bool) -> Result<(), Error> {
        match self.shared.ready_state() {
            ReadyState::Connecting => Err(Error::StillConnecting),
            ReadyState::Open => {
                let in_block_on = block_on::may_defer();
                let deferred = self.step(|conn, ctx| conn.send(ctx, message, in_block_on || for_flush));
                if deferred == Some(true) && in_block_on {
                    block_on::deferred(&self.shared);
                }
                Ok(())
            }
            ReadyState::Closing | ReadyState::Closed => {
                // Nothing is sent, but the bytes count, as in browsers.
                self.shared.add_buffered(message.len());
                Ok(())
            }
        }
    }

    /// `Ready` once `buffered_amount()` is at most `mark`, else `Pending` until it falls
    /// there (or the connection ends).
    fn poll_buffered_at_most(&self, mark: u64, cx: &mut Context<'_>) -> Poll<()> {
        if self.shared.buffered_amount() <= mark || self.shared.ready_state() == ReadyState::Closed {
            return Poll::Ready(());
        }
        self.shared.drain_waker.register(cx.waker());
        // What the `Sink`'s sends left for its flush is written before waiting.
        let done = self
            .step(|conn, ctx| {
                conn.flush_deferred(ctx);
                conn.is_done()
            })
            .unwrap_or(true);
        if self.shared.buffered_amount() <= mark || done {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

fn check_header(name: &str, value: &str) -> Result<(), Error> {
    let valid = HeaderName::from_bytes(name.as_bytes()).is_ok() && HeaderValue::from_str(value).is_ok();
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidHeader(name.to_string()))
    }
}

impl Socket for NativeWebSocket {
    fn open_with(builder: WebSocketBuilder) -> Result<Self, Error> {
        let url = WebSocketUrl::parse_with_base(&builder.url, builder.base_url.as_deref())?;
        validate_protocols(&builder.protocols)?;
        if let Some(origin) = &builder.origin {
            check_header("Origin", origin)?;
        }
        for (name, value) in &builder.headers {
            check_header(name, value)?;
        }
        let reactor = Reactor::get().map_err(|e| Error::Unavailable(IoFailure::from(&e)))?;
        let send_high_water_mark = builder.send_high_water_mark;
        let href = url.as_str().to_string();
        let options = setup::connect_options(url, builder)?;
        let shared = Arc::new(Shared::new(href, Connection::new(options)));
        reactor.insert(&shared);
        let socket = Self {
            shared,
            reactor,
            send_high_water_mark,
        };
        socket.step(Connection::start);
        Ok(socket)
    }

    fn url(&self) -> &str {
        &self.shared.url
    }

    fn ready_state(&self) -> ReadyState {
        self.shared.ready_state()
    }

    fn buffered_amount(&self) -> u64 {
        self.shared.buffered_amount()
    }

    fn protocol(&self) -> String {
        self.shared.protocol()
    }

    fn extensions(&self) -> String {
        self.shared.extensions()
    }

    fn send_text(&self, text: impl Into<String>) -> Result<(), Error> {
        self.send_message(Message::Text(text.into()), false)
    }

    fn send_binary(&self, data: impl Into<bytes::Bytes>) -> Result<(), Error> {
        self.send_message(Message::Binary(data.into()), false)
    }

    fn close(&self, code: Option<u16>, reason: Option<&str>) -> Result<(), Error> {
        validate_close(code, reason)?;
        let ready_state = self.shared.ready_state();
        if matches!(ready_state, ReadyState::Closing | ReadyState::Closed) {
            return Ok(());
        }
        self.shared
            .close_called
            .store(true, std::sync::atomic::Ordering::Release);
        if ready_state == ReadyState::Connecting {
            self.step(Connection::abandon);
        } else {
            let frame_code = close_frame_code(code, reason);
            let reason = reason.unwrap_or_default();
            self.step(|conn, ctx| conn.close(ctx, frame_code, reason));
        }
        Ok(())
    }

    fn poll_event(&self, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.shared.set_polled_by(block_on::current());
        // A step that panicked failed the connection and queued its events: take them.
        loop {
            if let Some(poll) = self.step(|conn, ctx| conn.poll_event(ctx, cx)) {
                return poll;
            }
        }
    }

    fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.poll_buffered_at_most(self.send_high_water_mark, cx)
    }

    fn poll_drained(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.poll_buffered_at_most(0, cx)
    }
}

impl Stream for NativeWebSocket {
    type Item = Event;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.poll_event(cx)
    }
}

impl Sink<Message> for NativeWebSocket {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        crate::socket::sink_poll_ready(&*self, cx)
    }

    /// Sends `message`; natively its write waits for `poll_flush` (or for `poll_ready` to
    /// wait, or for 256 KiB to be queued), so that the messages fed between flushes go out in
    /// one write.
    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), Error> {
        self.send_message(message, true)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        crate::socket::sink_poll_flush(&*self, cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        crate::socket::sink_poll_close(&*self, cx)
    }
}

impl Drop for NativeWebSocket {
    fn drop(&mut self) {
        self.step(Connection::dropped);
    }
}

#[cfg(test)]
mod tests;
