//! The reconnecting socket: one [`Socket`] after another, with the backoff, the connect
//! timeout, the send queue and the final close codes of its [`ReconnectOptions`].

use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use futures::{FutureExt, Stream};

use super::backoff;
use super::clock::{Clock, SystemClock};
use super::error::{ReconnectError, SendError};
use super::event::{Ending, ReconnectEvent};
use super::options::ReconnectOptions;
use super::outbox::Outbox;
use crate::error::{Error, FailureCause};
use crate::event::{CloseEvent, Event, Message, ReadyState};
use crate::rules::close::validate_close;
use crate::socket::{Socket, WebSocketBuilder};

/// A WebSocket that reconnects by itself, written once over the [`Socket`] trait, so it
/// behaves the same on both targets (natively over [`NativeWebSocket`](crate::WebSocket), in a
/// page over the browser's socket).
///
/// When a connection fails or ends without the application asking, it waits (the backoff of
/// its [`ReconnectOptions`]: 1 s growing by 1.3 up to 10 s, with jitter, by default) and opens
/// a new one from the same [`WebSocketBuilder`], again and again (unlimited by default),
/// telling the application each step ([`ReconnectEvent::Reconnecting`], `Connecting`, `Open`).
/// It stops for good only after its own [`close`](Self::close), a close code the application
/// declared final, or the maximum attempts ([`ReconnectEvent::Closed`], always last).
///
/// Messages sent while not connected are queued (up to a bound; then [`SendError::QueueFull`]
/// hands the message back) and sent in order as soon as the next connection opens, before any
/// later message. A message handed to an open connection belongs to that connection: if it
/// dies before the server reads it, the message is lost, as with any WebSocket (a server that
/// must see every message needs acknowledgements of its own).
///
/// Dropping it drops the current connection as [`Socket`] says (natively with 1001).
/// Natively it is `Send` and `Sync` (its state sits behind a lock), like the socket under it.
pub struct ReconnectingSocket<S: Socket = crate::WebSocket, C: Clock = SystemClock> {
    url: String,
    /// Everything that changes: the application's calls and the task polling for events take
    /// turns through this lock, which is the state's only owner.
    state: Mutex<State<S, C>>,
}

impl<S: Socket, C: Clock> std::fmt::Debug for ReconnectingSocket<S, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReconnectingSocket")
            .field("url", &self.url)
            .field("ready_state", &self.ready_state())
            .field("queued", &self.queued())
            .finish()
    }
}

struct State<S: Socket, C: Clock> {
    builder: WebSocketBuilder,
    options: ReconnectOptions,
    clock: C,
    phase: Phase<S, C::Sleep>,
    outbox: Outbox,
    /// Attempts in a row since the last connection that stayed open for the minimum uptime.
    failures: u32,
    /// Whether a connection has opened before (the next `Open` is a reopening).
    opened_before: bool,
    /// The current connection's error cause, kept for its close event.
    cause: Option<FailureCause>,
    /// The task waiting for events, woken when `close` ends the socket between connections.
    waker: Option<Waker>,
}

enum Phase<S, T> {
    /// An attempt is opening; it is abandoned when `timeout` fires.
    Connecting { socket: S, timeout: T, timed_out: bool },
    /// Open; once `uptime` fires the backoff starts again from the minimum.
    Open { socket: S, uptime: Option<T> },
    /// The application called `close`; waiting for the close event.
    Closing { socket: S },
    /// Between connections: attempt `attempt` starts when `timer` fires.
    Waiting {
        attempt: u32,
        timer: T,
        close: CloseEvent,
        cause: Option<FailureCause>,
    },
    /// Closed for good: the `Closed` event until it is delivered, then nothing.
    Ended(Option<ReconnectEvent>),
}

impl<S: Socket> ReconnectingSocket<S, SystemClock> {
    /// Starts connecting as `builder` says, and keeps reconnecting as `options` say, on real
    /// time. Returns at once; the first connection's outcome comes as an event.
    ///
    /// # Errors
    /// [`ReconnectError::Socket`] when the socket refuses the builder (an invalid URL,
    /// subprotocol or header: see [`Socket::open_with`]), [`ReconnectError::InvalidOption`]
    /// for an option out of range. Nothing is attempted then.
    pub fn open(builder: WebSocketBuilder, options: ReconnectOptions) -> Result<Self, ReconnectError> {
        Self::with_clock(builder, options, SystemClock)
    }
}

impl<S: Socket, C: Clock> ReconnectingSocket<S, C> {
    /// As [`ReconnectingSocket::open`], with the delays and timeouts taken from `clock`.
    ///
    /// # Errors
    /// As [`ReconnectingSocket::open`].
    pub fn with_clock(
        builder: WebSocketBuilder,
        options: ReconnectOptions,
        clock: C,
    ) -> Result<Self, ReconnectError> {
        options.validate()?;
        let socket = S::open_with(builder.clone())?;
        let url = socket.url().to_string();
        let timeout = clock.sleep(options.connect_timeout);
        Ok(Self {
            url,
            state: Mutex::new(State {
                builder,
                outbox: Outbox::new(options.max_queued),
                options,
                clock,
                phase: Phase::Connecting {
                    socket,
                    timeout,
                    timed_out: false,
                },
                failures: 0,
                opened_before: false,
                cause: None,
                waker: None,
            }),
        })
    }

    fn state(&self) -> MutexGuard<'_, State<S, C>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The normalised URL (see [`Socket::url`]); the same for every connection.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `Connecting` while an attempt is opening or the socket waits for the next one, `Open`,
    /// `Closing` after [`close`](Self::close), `Closed` for good once the `Closed` event was
    /// taken or is due. Like [`Socket::ready_state`] it moves with the events taken.
    pub fn ready_state(&self) -> ReadyState {
        match &self.state().phase {
            Phase::Connecting { .. } | Phase::Waiting { .. } => ReadyState::Connecting,
            Phase::Open { .. } => ReadyState::Open,
            Phase::Closing { .. } => ReadyState::Closing,
            Phase::Ended(_) => ReadyState::Closed,
        }
    }

    /// How many messages are queued for the next connection.
    pub fn queued(&self) -> usize {
        self.state().outbox.len()
    }

    /// The payload bytes queued for the next connection plus the current connection's
    /// [`Socket::buffered_amount`].
    pub fn buffered_amount(&self) -> u64 {
        let state = self.state();
        let current = match &state.phase {
            Phase::Connecting { socket, .. } | Phase::Open { socket, .. } | Phase::Closing { socket } => {
                socket.buffered_amount()
            }
            Phase::Waiting { .. } | Phase::Ended(_) => 0,
        };
        state.outbox.bytes() + current
    }

    /// Sends `message` on the open connection, or queues it for the next one while not
    /// connected.
    ///
    /// # Errors
    /// [`SendError::QueueFull`] while not connected with the queue full; [`SendError::Closed`]
    /// once closing or closed for good. Either way the message is inside the error.
    pub fn send(&self, message: Message) -> Result<(), SendError> {
        let mut state = self.state();
        let State { phase, outbox, .. } = &mut *state;
        match phase {
            // The socket's state moves only with the events taken here, so in the open phase
            // it is open and takes every send (the trait refuses sends only while connecting).
            Phase::Open { socket, .. } => {
                let _ = socket.send(message);
                Ok(())
            }
            Phase::Connecting { .. } | Phase::Waiting { .. } => outbox.push(message),
            Phase::Closing { .. } | Phase::Ended(_) => Err(SendError::Closed { message }),
        }
    }

    /// Sends a text message; see [`send`](Self::send).
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub fn send_text(&self, text: impl Into<String>) -> Result<(), SendError> {
        self.send(Message::Text(text.into()))
    }

    /// Sends a binary message; see [`send`](Self::send).
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub fn send_binary(&self, data: impl Into<Bytes>) -> Result<(), SendError> {
        self.send(Message::Binary(data.into()))
    }

    /// Closes for good, with an optional code and reason, as [`Socket::close`] does for the
    /// current connection; between connections, it just stops waiting. Either way no
    /// reconnection follows, and the `Closed` event hands back what was still queued.
    ///
    /// # Errors
    /// As [`Socket::close`]: [`Error::InvalidCloseCode`], then [`Error::CloseReasonTooLong`];
    /// nothing happens then.
    pub fn close(&self, code: Option<u16>, reason: Option<&str>) -> Result<(), Error> {
        validate_close(code, reason)?;
        let mut state = self.state();
        let waker = {
            let State {
                phase, outbox, waker, ..
            } = &mut *state;
            match std::mem::replace(phase, Phase::Ended(None)) {
                Phase::Connecting { socket, .. } | Phase::Open { socket, .. } => {
                    socket.close(code, reason)?;
                    *phase = Phase::Closing { socket };
                    None
                }
                Phase::Waiting { close, cause, .. } => {
                    *phase = Phase::Ended(Some(ReconnectEvent::Closed {
                        close,
                        cause,
                        ending: Ending::ClosedByApplication,
                        unsent: outbox.take_all(),
                    }));
                    waker.take()
                }
                unchanged @ (Phase::Closing { .. } | Phase::Ended(_)) => {
                    *phase = unchanged;
                    None
                }
            }
        };
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    /// Polls for the next event; `None` after the `Closed` event was delivered.
    pub fn poll_event(&self, cx: &mut Context<'_>) -> Poll<Option<ReconnectEvent>> {
        let mut state = self.state();
        let poll = state.poll(cx);
        if poll.is_pending() {
            match &mut state.waker {
                Some(waker) if waker.will_wake(cx.waker()) => {}
                slot => *slot = Some(cx.waker().clone()),
            }
        }
        poll
    }

    /// Waits for the next event; `None` after the `Closed` event was delivered. Borrows the
    /// socket only shared, so that a task can send while it waits.
    pub fn next_event(&self) -> impl Future<Output = Option<ReconnectEvent>> + '_ {
        std::future::poll_fn(move |cx| self.poll_event(cx))
    }
}

/// What the current connection said, to act on.
enum Step {
    Event(Event),
    /// The attempt's delay is over: connect.
    Attempt(u32),
}

impl<S: Socket, C: Clock> State<S, C> {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Option<ReconnectEvent>> {
        loop {
            let step = match &mut self.phase {
                Phase::Connecting {
                    socket,
                    timeout,
                    timed_out,
                } => match socket.poll_event(cx) {
                    Poll::Ready(event) => Step::Event(event.unwrap_or_else(ended_stream)),
                    Poll::Pending if !*timed_out && timeout.poll_unpin(cx).is_ready() => {
                        // Abandon the attempt; its close event comes next.
                        *timed_out = true;
                        let _ = socket.close(None, None);
                        continue;
                    }
                    Poll::Pending => return Poll::Pending,
                },
                Phase::Open { socket, uptime } => {
                    if uptime
                        .as_mut()
                        .is_some_and(|timer| timer.poll_unpin(cx).is_ready())
                    {
                        *uptime = None;
                        self.failures = 0;
                    }
                    match socket.poll_event(cx) {
                        Poll::Ready(event) => Step::Event(event.unwrap_or_else(ended_stream)),
                        Poll::Pending => return Poll::Pending,
                    }
                }
                Phase::Closing { socket } => match socket.poll_event(cx) {
                    Poll::Ready(event) => Step::Event(event.unwrap_or_else(ended_stream)),
                    Poll::Pending => return Poll::Pending,
                },
                Phase::Waiting { attempt, timer, .. } => match timer.poll_unpin(cx) {
                    Poll::Ready(()) => Step::Attempt(*attempt),
                    Poll::Pending => return Poll::Pending,
                },
                Phase::Ended(last) => return Poll::Ready(last.take()),
            };
            let event = match step {
                Step::Attempt(attempt) => self.attempt(attempt),
                Step::Event(Event::Open) => self.opened(),
                Step::Event(Event::Message(message)) => Some(ReconnectEvent::Message(message)),
                Step::Event(Event::Error(cause)) => {
                    self.cause = Some(cause);
                    None
                }
                Step::Event(Event::Close(close)) => Some(self.lost(close)),
            };
            if let Some(event) = event {
                return Poll::Ready(Some(event));
            }
        }
    }

    /// Starts attempt `attempt` with a new socket from the builder.
    fn attempt(&mut self, attempt: u32) -> Option<ReconnectEvent> {
        let Phase::Waiting { close, cause, .. } = std::mem::replace(&mut self.phase, Phase::Ended(None))
        else {
            unreachable!("an attempt starts only from the waiting phase")
        };
        match S::open_with(self.builder.clone()) {
            Ok(socket) => {
                self.phase = Phase::Connecting {
                    socket,
                    timeout: self.clock.sleep(self.options.connect_timeout),
                    timed_out: false,
                };
                Some(ReconnectEvent::Connecting { attempt })
            }
            // The same builder opened the first socket, so this does not happen; if it did,
            // the socket could never connect again.
            Err(_) => Some(self.end(close, cause, Ending::AttemptsExhausted { attempts: attempt })),
        }
    }

    /// The open event: sends the queue, in order, then reports the connection.
    fn opened(&mut self) -> Option<ReconnectEvent> {
        // Only a connecting socket opens (one closed while connecting never does).
        if !matches!(self.phase, Phase::Connecting { .. }) {
            return None;
        }
        let Phase::Connecting { socket, .. } = std::mem::replace(&mut self.phase, Phase::Ended(None)) else {
            unreachable!("checked above")
        };
        let queued = self.outbox.take_all();
        let sent_from_queue = queued.len();
        for message in queued {
            // The open event was just taken, so the socket is open and takes every send (the
            // trait refuses sends only while connecting).
            let _ = socket.send(message);
        }
        self.phase = Phase::Open {
            socket,
            uptime: Some(self.clock.sleep(self.options.min_uptime)),
        };
        self.cause = None;
        let reopened = std::mem::replace(&mut self.opened_before, true);
        Some(ReconnectEvent::Open {
            reopened,
            sent_from_queue,
        })
    }

    /// The connection's close event: end for good, or wait for the next attempt.
    fn lost(&mut self, close: CloseEvent) -> ReconnectEvent {
        let mut cause = self.cause.take();
        let phase = std::mem::replace(&mut self.phase, Phase::Ended(None));
        if matches!(phase, Phase::Connecting { timed_out: true, .. }) {
            cause = Some(FailureCause::ConnectTimeout);
        }
        if matches!(phase, Phase::Closing { .. }) {
            return self.end(close, cause, Ending::ClosedByApplication);
        }
        if self.options.final_close_codes.contains(&close.code) {
            return self.end(close, cause, Ending::FinalCloseCode);
        }
        let attempt = self.failures.saturating_add(1);
        if self.options.max_attempts.is_some_and(|max| attempt > max) {
            let attempts = self.failures;
            return self.end(close, cause, Ending::AttemptsExhausted { attempts });
        }
        self.failures = attempt;
        let delay = backoff::delay(&self.options, attempt, backoff::random_unit());
        self.phase = Phase::Waiting {
            attempt,
            timer: self.clock.sleep(delay),
            close: close.clone(),
            cause: cause.clone(),
        };
        ReconnectEvent::Reconnecting {
            attempt,
            delay,
            close,
            cause,
        }
    }

    /// Closed for good: the final event, with the queue handed back.
    fn end(&mut self, close: CloseEvent, cause: Option<FailureCause>, ending: Ending) -> ReconnectEvent {
        self.phase = Phase::Ended(None);
        ReconnectEvent::Closed {
            close,
            cause,
            ending,
            unsent: self.outbox.take_all(),
        }
    }
}

/// A socket's stream ended without a close event (which the trait rules out): taken as a
/// connection that died.
fn ended_stream() -> Event {
    Event::Close(CloseEvent {
        code: 1006,
        reason: String::new(),
        was_clean: false,
    })
}

impl<S: Socket, C: Clock> Stream for ReconnectingSocket<S, C> {
    type Item = ReconnectEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ReconnectEvent>> {
        self.poll_event(cx)
    }
}
