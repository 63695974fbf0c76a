//! The native backend: the browser's WebSocket semantics over tungstenite, driven by one
//! shared, event-driven I/O thread (see [`reactor`]).

mod connection;
mod handshake;
mod outcome;
mod proxy;
mod reactor;
mod setup;
mod shared;
mod tls;
mod transport;

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;
use tungstenite::http::{HeaderName, HeaderValue};

use self::reactor::Reactor;
use self::shared::{SendNow, Shared};
use crate::error::Error;
use crate::event::{Event, Message, ReadyState};
use crate::rules::close::{close_frame_code, validate_close};
use crate::rules::protocols::validate_protocols;
use crate::rules::url::WebSocketUrl;
use crate::socket::{Socket, WebSocketBuilder};

/// The native WebSocket, on tungstenite.
///
/// All native sockets of a process share one I/O thread, started on first use, which wakes
/// only when a socket is ready, the application sends or closes, or a timeout is due. A send
/// with nothing queued ahead of it is written at once on the caller's thread; sends made while
/// others are queued, or while received events wait to be read, go out in one batch (one
/// wake-up of the I/O thread, one write).
///
/// Dropping an open socket sends close code 1001 (going away) and lets the closing handshake
/// run for at most the close timeout; dropping a connecting socket abandons the attempt.
/// Either way the connection's memory is freed when it ends. No events are delivered after
/// the drop.
pub struct NativeWebSocket {
    shared: Arc<Shared>,
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
    fn enqueue(&self, message: Message) -> Result<(), Error> {
        match self.shared.ready_state() {
            ReadyState::Connecting => Err(Error::StillConnecting),
            ReadyState::Open => {
                self.shared.add_buffered(message.len());
                let notify = {
                    let mut outbox = self.shared.outbox();
                    // A lone send (nothing queued ahead of it, every event taken: a request, a
                    // round trip) is written on this thread and costs no wake-up of the I/O
                    // thread. Sends behind others, or from an application with events still to
                    // read (a stream), queue up and go out together in one write.
                    let message = if outbox.is_idle() && self.shared.events.is_empty() {
                        match self.shared.send_now(message) {
                            SendNow::Written => return Ok(()),
                            SendNow::Ended => None,
                            SendNow::Declined(message) => Some(message),
                        }
                    } else {
                        Some(message)
                    };
                    outbox.messages.extend(message);
                    !std::mem::replace(&mut outbox.notified, true)
                };
                if notify {
                    Reactor::get().notify(self.shared.clone());
                }
                Ok(())
            }
            ReadyState::Closing | ReadyState::Closed => {
                self.shared.add_buffered(message.len());
                Ok(())
            }
        }
    }

    fn command(&self, record: impl FnOnce(&mut shared::Outbox)) {
        let notify = {
            let mut outbox = self.shared.outbox();
            record(&mut outbox);
            !std::mem::replace(&mut outbox.notified, true)
        };
        if notify {
            Reactor::get().notify(self.shared.clone());
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
        let shared = Arc::new(Shared::new(url.as_str().to_string()));
        let options = setup::connect_options(url, builder)?;
        Reactor::get().open(shared.clone(), options);
        Ok(Self { shared })
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
        self.shared.protocol.get().cloned().unwrap_or_default()
    }

    fn extensions(&self) -> String {
        String::new()
    }

    fn send_text(&self, text: impl Into<String>) -> Result<(), Error> {
        self.enqueue(Message::Text(text.into()))
    }

    fn send_binary(&self, data: impl Into<Vec<u8>>) -> Result<(), Error> {
        self.enqueue(Message::Binary(data.into()))
    }

    fn close(&self, code: Option<u16>, reason: Option<&str>) -> Result<(), Error> {
        validate_close(code, reason)?;
        let ready_state = self.shared.ready_state();
        if matches!(ready_state, ReadyState::Closing | ReadyState::Closed) {
            return Ok(());
        }
        let abandon = self.shared.close_called(ready_state);
        // The connection itself may be further on (open, or already closed by the server).
        let started = self.shared.transition(ReadyState::Open, ReadyState::Closing)
            || self
                .shared
                .transition(ReadyState::Connecting, ReadyState::Closing);
        if abandon {
            self.command(|outbox| outbox.abandon = true);
        } else if started {
            let frame_code = close_frame_code(code, reason);
            let reason = reason.unwrap_or_default().to_string();
            self.command(|outbox| outbox.close = Some((frame_code, reason)));
        }
        Ok(())
    }

    fn poll_event(&self, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.shared.poll_event(cx)
    }
}

impl Stream for NativeWebSocket {
    type Item = Event;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.shared.poll_event(cx)
    }
}

impl Drop for NativeWebSocket {
    fn drop(&mut self) {
        if !self.shared.events.is_closed() {
            self.command(|outbox| outbox.dropped = true);
        }
    }
}

/// Feeds `data` to the native client as if a server sent it: first as the answer to the
/// opening handshake (sent with the RFC 6455 sample key, `dGhlIHNhbXBsZSBub25jZQ==`, whose
/// accept value is `s3pPLMBiTxaQ9kYGzzhZRbK+xOo=`, with the subprotocol `chat` requested),
/// then, if that is accepted, the rest as frames, through the same decisions the I/O loop
/// makes. For the fuzz targets (`--cfg fuzzing`); any panic is a bug.
#[cfg(fuzzing)]
pub fn fuzz_server_bytes(data: &[u8]) {
    use std::io::{self, Read, Write};
    use tungstenite::protocol::Role;

    /// Plays `data` back as the server's bytes and swallows what the client writes.
    struct Replay<'a>(&'a [u8]);
    impl Read for Replay<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.0.read(buf)
        }
    }
    impl Write for Replay<'_> {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    const URL: &str = "ws://fuzz.invalid/chat";
    let url = WebSocketUrl::parse(URL).expect("a valid URL");
    let builder = WebSocketBuilder::new(URL).protocols(["chat"]);
    let mut handshake =
        handshake::ClientHandshake::with_key(&url, &builder, "dGhlIHNhbXBsZSBub25jZQ==".into());
    let mut replay = Replay(data);
    let Ok(Some(accepted)) = handshake.advance(&mut replay) else {
        return;
    };
    let config = outcome::websocket_config(Some(1 << 16));
    let mut ws =
        tungstenite::WebSocket::from_partially_read(replay, accepted.tail, Role::Client, Some(config));
    loop {
        match ws.read() {
            // The fuzzed client never starts closing, so a close frame is never an answer.
            Ok(tungstenite::Message::Close(frame)) => match outcome::close_event(frame, false) {
                Ok(event) => assert!(event.was_clean),
                Err(error) => {
                    assert!(!outcome::failure(error).event.was_clean);
                    return;
                }
            },
            Ok(_) => {}
            Err(error) => {
                let failure = outcome::failure(error);
                assert!(!failure.event.was_clean && matches!(failure.event.code, 1006 | 1009));
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::sync::{Arc, Weak};
    use std::time::{Duration, Instant};

    use super::*;
    use crate::CloseEvent;

    /// A one-connection echo server on loopback; returns its URL.
    fn echo_server() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("ws://{}/", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut ws = tungstenite::accept(stream).unwrap();
            while let Ok(message) = ws.read() {
                if message.is_text() || message.is_binary() {
                    let _ = ws.send(message);
                }
            }
        });
        url
    }

    /// Drops `socket` and checks that the I/O thread lets go of its state soon: well before
    /// the close timeout, so by the connection's own end, not by a timer.
    fn assert_released_after_drop(socket: NativeWebSocket) {
        let weak: Weak<Shared> = Arc::downgrade(&socket.shared);
        let started = Instant::now();
        drop(socket);
        let deadline = started + Duration::from_secs(10);
        while weak.strong_count() > 0 {
            assert!(
                Instant::now() < deadline,
                "the I/O thread still holds the connection"
            );
            std::thread::yield_now();
        }
        let took = started.elapsed();
        assert!(
            took < crate::DEFAULT_CLOSE_TIMEOUT / 2,
            "released only after {took:?}"
        );
    }

    #[test]
    fn dropping_an_open_socket_frees_its_connection() {
        let socket = NativeWebSocket::open(&echo_server()).unwrap();
        assert_eq!(
            futures::executor::block_on(socket.next_event()),
            Some(Event::Open)
        );
        socket.send_text("x").unwrap();
        assert_released_after_drop(socket);
    }

    #[test]
    fn a_closed_socket_frees_its_connection_once_the_server_hangs_up() {
        let socket = NativeWebSocket::open(&echo_server()).unwrap();
        assert_eq!(
            futures::executor::block_on(socket.next_event()),
            Some(Event::Open)
        );
        socket.close(Some(1000), None).unwrap();
        let close = futures::executor::block_on(socket.next_event());
        assert!(
            matches!(
                close,
                Some(Event::Close(CloseEvent {
                    code: 1000,
                    was_clean: true,
                    ..
                }))
            ),
            "{close:?}"
        );
        // Released at the server's EOF, well before the close timeout.
        assert_released_after_drop(socket);
    }

    #[test]
    fn dropping_a_connecting_socket_frees_its_connection() {
        let socket = NativeWebSocket::open(&echo_server()).unwrap();
        assert_released_after_drop(socket);
    }

    /// Waits (bounded) until the connection itself reaches `state`, without taking events.
    fn wait_for_connection_state(socket: &NativeWebSocket, state: ReadyState) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while socket.shared.state() != state {
            assert!(
                Instant::now() < deadline,
                "the connection never reached {state:?}"
            );
            std::thread::yield_now();
        }
    }

    /// As in a browser, the application's ready state moves with the events it takes: a
    /// connection that opened before the open event was taken is still CONNECTING to the
    /// application, sends are refused, and `close` abandons it (1006, no open event) instead
    /// of running the closing handshake.
    #[test]
    fn close_before_the_open_event_is_taken_abandons_even_an_open_connection() {
        let socket = NativeWebSocket::open(&echo_server()).unwrap();
        wait_for_connection_state(&socket, ReadyState::Open);
        assert_eq!(socket.ready_state(), ReadyState::Connecting);
        assert_eq!(socket.send_text("early"), Err(Error::StillConnecting));
        socket.close(Some(1000), None).unwrap();
        assert_eq!(socket.ready_state(), ReadyState::Closing);
        let events: Vec<Event> =
            std::iter::from_fn(|| futures::executor::block_on(socket.next_event())).collect();
        assert!(
            matches!(
                &events[..],
                [
                    Event::Error(crate::FailureCause::Aborted),
                    Event::Close(CloseEvent {
                        code: 1006,
                        was_clean: false,
                        ..
                    })
                ]
            ),
            "{events:?}"
        );
        assert_eq!(socket.ready_state(), ReadyState::Closed);
    }

    /// The server's close is seen when its event is taken, not before.
    #[test]
    fn the_ready_state_becomes_closed_when_the_close_event_is_taken() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("ws://{}/", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut ws = tungstenite::accept(stream).unwrap();
            let _ = ws.close(None);
            while ws.read().is_ok() {}
        });
        let socket = NativeWebSocket::open(&url).unwrap();
        wait_for_connection_state(&socket, ReadyState::Closed);
        assert_eq!(socket.ready_state(), ReadyState::Connecting);
        assert_eq!(
            futures::executor::block_on(socket.next_event()),
            Some(Event::Open)
        );
        assert_eq!(socket.ready_state(), ReadyState::Open);
        let close = futures::executor::block_on(socket.next_event());
        assert!(
            matches!(
                close,
                Some(Event::Close(CloseEvent {
                    code: 1005,
                    was_clean: true,
                    ..
                }))
            ),
            "{close:?}"
        );
        assert_eq!(socket.ready_state(), ReadyState::Closed);
    }

    /// Sends race the server's disappearance: a send written on the application's thread may
    /// be the one that finds the connection broken, or the I/O thread may see it first. Either
    /// way every send is accepted, the socket ends once with 1006, and its state is freed.
    #[test]
    fn sends_into_a_vanished_server_end_the_connection_once_and_free_it() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("ws://{}/", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            drop(tungstenite::accept(stream).unwrap());
        });
        let socket = NativeWebSocket::open(&url).unwrap();
        assert_eq!(
            futures::executor::block_on(socket.next_event()),
            Some(Event::Open)
        );
        let payload = "x".repeat(1024);
        let deadline = Instant::now() + Duration::from_secs(10);
        for _ in 0..1_000_000 {
            if socket.shared.state() == ReadyState::Closed || Instant::now() > deadline {
                break;
            }
            socket.send_text(payload.as_str()).unwrap();
        }
        assert_eq!(socket.shared.state(), ReadyState::Closed);
        let events: Vec<Event> =
            std::iter::from_fn(|| futures::executor::block_on(socket.next_event())).collect();
        let closes: Vec<&CloseEvent> = events
            .iter()
            .filter_map(|event| match event {
                Event::Close(close) => Some(close),
                _ => None,
            })
            .collect();
        assert!(
            matches!(
                closes[..],
                [CloseEvent {
                    code: 1006,
                    was_clean: false,
                    ..
                }]
            ),
            "{events:?}"
        );
        assert_released_after_drop(socket);
    }
}
