//! The browser backend: the browser's own `WebSocket` through web-sys.

use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use futures::Stream;
use js_sys::{Array, ArrayBuffer, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, CloseEvent as JsCloseEvent, MessageEvent};

use crate::error::{Error, FailureCause};
use crate::event::{CloseEvent, Event, EventQueue, Message, ReadyState};
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
                    Message::Binary(Uint8Array::new(&buffer).to_vec())
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
    fn connect(url: &str, base: Option<&str>, protocols: &[String]) -> Result<Self, Error> {
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
        })
    }
}

impl Socket for BrowserWebSocket {
    fn open_with(builder: WebSocketBuilder) -> Result<Self, Error> {
        Self::connect(&builder.url, builder.base_url.as_deref(), &builder.protocols)
    }

    // The same as the default (`open_with` of a default builder), without building the
    // builder's native-only options.
    fn open(url: &str) -> Result<Self, Error> {
        Self::connect(url, None, &[])
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

    fn send_binary(&self, data: impl Into<Vec<u8>>) -> Result<(), Error> {
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
