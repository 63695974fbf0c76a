//! The browser backend: the browser's own `WebSocket` through web-sys.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use futures::{Sink, Stream};
use js_sys::{Array, ArrayBuffer, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, CloseEvent as JsCloseEvent, MessageEvent};

use crate::error::{Error, FailureCause};
use crate::event::{CloseEvent, Event, Message, ReadyState};
use crate::rules::close::{close_frame_code, validate_close};
use crate::rules::protocols::validate_protocols;
use crate::rules::url::WebSocketUrl;
use crate::socket::{Socket, WebSocketBuilder};

/// The browser WebSocket (wasm32), on `web_sys::WebSocket`.
///
/// Binary messages arrive as bytes (`binaryType` is `arraybuffer`; no `Blob` path, so order
/// is kept). Event handlers are attached when the socket is made, so no event is lost before
/// the application polls; the handlers are owned by the socket and released on drop.
/// Dropping a connecting or open socket calls the browser's `close()` without a code (pages
/// may not send 1001), so the server sees 1005; no events are delivered after the drop.
/// The native-only options of [`WebSocketBuilder`] are ignored.
pub struct BrowserWebSocket {
    socket: web_sys::WebSocket,
    url: String,
    events: Rc<EventQueue>,
    _handlers: Handlers,
    send_high_water_mark: u64,
    drain: DrainTimer,
}

/// A queue of events with a waker: the handlers push, the application polls. Once the close
/// event is pushed nothing more is accepted, and the stream ends after it is delivered.
/// (Everything runs on the page's one thread; no borrow is held across a call out.)
#[derive(Debug, Default)]
struct EventQueue {
    state: RefCell<QueueState>,
}

#[derive(Debug, Default)]
struct QueueState {
    events: VecDeque<Event>,
    waker: Option<Waker>,
    closed: bool,
}

impl EventQueue {
    /// Queues `event` and wakes the poller; ignored after the close event.
    fn push(&self, event: Event) {
        let waker = {
            let mut state = self.state.borrow_mut();
            if state.closed {
                return;
            }
            state.closed = matches!(event, Event::Close(_));
            state.events.push_back(event);
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// The next event, `Pending` (with the waker kept) when none is queued, `None` after the
    /// close event was delivered.
    fn poll_next(&self, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        let mut state = self.state.borrow_mut();
        match state.events.pop_front() {
            Some(event) => Poll::Ready(Some(event)),
            None if state.closed => Poll::Ready(None),
            None => {
                state.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

#[wasm_bindgen]
extern "C" {
    /// The global `setTimeout` (a window's or a worker's).
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &js_sys::Function, milliseconds: i32) -> i32;
}

/// The timer that looks at `bufferedAmount` again while a task waits for it to fall (browsers
/// fire no event when it does): after 1 ms, then twice as long each time up to 16 ms while it
/// stays high. No timer runs while nobody waits.
#[derive(Default)]
struct DrainTimer {
    /// The waiting task, woken when the timer fires.
    waker: Rc<RefCell<Option<Waker>>>,
    /// A timer is set and has not fired yet.
    armed: Rc<Cell<bool>>,
    /// The next delay, in milliseconds.
    delay: Cell<i32>,
    /// The timer's callback, made once.
    callback: RefCell<Option<Closure<dyn FnMut()>>>,
}

impl DrainTimer {
    /// Keeps `cx`'s waker and sets the timer (unless one is set already).
    fn wait(&self, cx: &mut Context<'_>) {
        *self.waker.borrow_mut() = Some(cx.waker().clone());
        if self.armed.replace(true) {
            return;
        }
        let mut callback = self.callback.borrow_mut();
        let callback = callback.get_or_insert_with(|| {
            let (waker, armed) = (self.waker.clone(), self.armed.clone());
            Closure::new(move || {
                armed.set(false);
                if let Some(waker) = waker.borrow_mut().take() {
                    waker.wake();
                }
            })
        });
        let delay = self.delay.get().clamp(1, 16);
        self.delay.set(delay * 2);
        set_timeout(callback.as_ref().unchecked_ref(), delay);
    }

    /// The wait is over: the next one starts at 1 ms again.
    fn reset(&self) {
        self.delay.set(1);
    }
}

/// The JavaScript closures attached to the socket, kept alive as long as it is. All four
/// have one Rust type (the event is cast to its real type inside), so the wasm build carries
/// one closure shim instead of one per event type.
struct Handlers {
    _open: Handler,
    _message: Handler,
    _error: Handler,
    _close: Handler,
}

type Handler = Closure<dyn FnMut(web_sys::Event)>;

impl std::fmt::Debug for BrowserWebSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrowserWebSocket")
            .field("url", &self.url)
            .field("ready_state", &self.ready_state())
            .finish()
    }
}

impl Handlers {
    fn attach(socket: &web_sys::WebSocket, events: &Rc<EventQueue>) -> Self {
        let open = handler(events, |_| Some(Event::Open));
        let message = handler(events, |event| {
            let data = event.unchecked_into::<MessageEvent>().data();
            let message = match data.as_string() {
                Some(text) => Message::Text(text),
                None => {
                    // binaryType is arraybuffer, so nothing else can arrive.
                    let buffer = data.dyn_into::<ArrayBuffer>().ok()?;
                    Message::Binary(Uint8Array::new(&buffer).to_vec().into())
                }
            };
            Some(Event::Message(message))
        });
        let error = handler(events, |_| Some(Event::Error(FailureCause::Unreported)));
        let close = handler(events, |event| {
            let event = event.unchecked_into::<JsCloseEvent>();
            Some(Event::Close(CloseEvent {
                code: event.code(),
                reason: event.reason(),
                was_clean: event.was_clean(),
            }))
        });
        socket.set_onopen(Some(open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(message.as_ref().unchecked_ref()));
        socket.set_onerror(Some(error.as_ref().unchecked_ref()));
        socket.set_onclose(Some(close.as_ref().unchecked_ref()));
        Self {
            _open: open,
            _message: message,
            _error: error,
            _close: close,
        }
    }
}

/// A closure that queues the event `convert` makes of each JavaScript event (if any).
fn handler(events: &Rc<EventQueue>, convert: fn(web_sys::Event) -> Option<Event>) -> Handler {
    let queue = events.clone();
    Closure::new(move |event| {
        if let Some(event) = convert(event) {
            queue.push(event);
        }
    })
}

impl BrowserWebSocket {
    /// `new WebSocket(url, protocols)` after the shared checks (the URL parsed by the
    /// browser's own parser, against `base` or the page's base URL).
    fn connect(
        url: &str,
        base: Option<&str>,
        protocols: &[String],
        send_high_water_mark: u64,
    ) -> Result<Self, Error> {
        let url = WebSocketUrl::parse_with_base(url, base)?;
        validate_protocols(protocols)?;
        let protocols: Array = protocols
            .iter()
            .map(|p| wasm_bindgen::JsValue::from_str(p))
            .collect();
        // The URL and subprotocols passed the standard's checks with the browser's own URL
        // parser, so the browser does not throw.
        let socket = web_sys::WebSocket::new_with_str_sequence(url.as_str(), &protocols)
            .map_err(|_| Error::InvalidUrl(crate::UrlError::InvalidHost(url.into_string())))?;
        socket.set_binary_type(BinaryType::Arraybuffer);
        let events = Rc::new(EventQueue::default());
        let handlers = Handlers::attach(&socket, &events);
        Ok(Self {
            url: socket.url(),
            socket,
            events,
            _handlers: handlers,
            send_high_water_mark,
            drain: DrainTimer::default(),
        })
    }

    /// `Ready` once `bufferedAmount` is at most `mark` or the socket is closed, else `Pending`
    /// with the drain timer set.
    fn poll_buffered_at_most(&self, mark: u64, cx: &mut Context<'_>) -> Poll<()> {
        if self.buffered_amount() <= mark || self.socket.ready_state() == web_sys::WebSocket::CLOSED {
            self.drain.reset();
            return Poll::Ready(());
        }
        self.drain.wait(cx);
        Poll::Pending
    }
}

impl Socket for BrowserWebSocket {
    fn open_with(builder: WebSocketBuilder) -> Result<Self, Error> {
        Self::connect(
            &builder.url,
            builder.base_url.as_deref(),
            &builder.protocols,
            builder.send_high_water_mark,
        )
    }

    // The same as the default (`open_with` of a default builder), without building the
    // builder's native-only options.
    fn open(url: &str) -> Result<Self, Error> {
        Self::connect(url, None, &[], crate::DEFAULT_SEND_HIGH_WATER_MARK)
    }

    fn url(&self) -> &str {
        &self.url
    }

    fn ready_state(&self) -> ReadyState {
        ReadyState::from_u8(self.socket.ready_state() as u8)
    }

    fn buffered_amount(&self) -> u64 {
        u64::from(self.socket.buffered_amount())
    }

    fn protocol(&self) -> String {
        self.socket.protocol()
    }

    fn extensions(&self) -> String {
        self.socket.extensions()
    }

    fn send_text(&self, text: impl Into<String>) -> Result<(), Error> {
        if self.ready_state() == ReadyState::Connecting {
            return Err(Error::StillConnecting);
        }
        // Past the state check the browser does not throw.
        let _ = self.socket.send_with_str(&text.into());
        Ok(())
    }

    fn send_binary(&self, data: impl Into<Bytes>) -> Result<(), Error> {
        if self.ready_state() == ReadyState::Connecting {
            return Err(Error::StillConnecting);
        }
        let _ = self.socket.send_with_u8_array(&data.into());
        Ok(())
    }

    fn close(&self, code: Option<u16>, reason: Option<&str>) -> Result<(), Error> {
        validate_close(code, reason)?;
        // Validated above, so the browser does not throw.
        let _ = match (close_frame_code(code, reason), reason) {
            (Some(code), Some(reason)) => self.socket.close_with_code_and_reason(code, reason),
            (Some(code), None) => self.socket.close_with_code(code),
            (None, _) => self.socket.close(),
        };
        Ok(())
    }

    fn poll_event(&self, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.events.poll_next(cx)
    }

    fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.poll_buffered_at_most(self.send_high_water_mark, cx)
    }

    fn poll_drained(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.poll_buffered_at_most(0, cx)
    }
}

impl Sink<Message> for BrowserWebSocket {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        crate::socket::sink_poll_ready(&*self, cx)
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), Error> {
        self.send(message)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        crate::socket::sink_poll_flush(&*self, cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        crate::socket::sink_poll_close(&*self, cx)
    }
}

impl Stream for BrowserWebSocket {
    type Item = Event;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.events.poll_next(cx)
    }
}

impl Drop for BrowserWebSocket {
    fn drop(&mut self) {
        self.socket.set_onopen(None);
        self.socket.set_onmessage(None);
        self.socket.set_onerror(None);
        self.socket.set_onclose(None);
        if self.ready_state() < ReadyState::Closing {
            let _ = self.socket.close();
        }
    }
}
