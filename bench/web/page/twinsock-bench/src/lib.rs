//! The twinsock side of the browser benchmark (bench/web/page/bench.mjs has the plain-JS side,
//! with the same logic): sequential echo round trips, pipelined throughput, and the cost of
//! one send and of one received message on twinsock's path alone.
//!
//! Everything is written against the `Socket` trait, as an application would. Times come from
//! `performance.now()` (5 µs resolution when the page is cross-origin isolated).

use twinsock::{Event, Message, Socket, WebSocketBuilder};
use wasm_bindgen::prelude::*;

type Ws = twinsock::WebSocket;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn now() -> f64;
}

fn err(e: impl std::fmt::Display) -> JsValue {
    JsValue::from_str(&e.to_string())
}

async fn connect(url: &str) -> Result<Ws, JsValue> {
    WebSocketBuilder::new(url).connect_as::<Ws>().await.map_err(err)
}

/// Closes with 1000 and waits for the close event, so that nothing of this run is left.
async fn finish(socket: Ws) -> Result<(), JsValue> {
    socket.close(Some(1000), None).map_err(err)?;
    while let Some(event) = socket.next_event().await {
        if let Event::Close(_) = event {
            break;
        }
    }
    Ok(())
}

/// The payload of `size` bytes: `x`s as text, or bytes.
struct Payload {
    text: String,
    bytes: twinsock::Bytes,
    binary: bool,
}

impl Payload {
    fn new(size: usize, binary: bool) -> Self {
        Self {
            text: "x".repeat(size),
            bytes: vec![0xab; size].into(),
            binary,
        }
    }

    /// Sends it as an application would: the text from a borrowed `&str`, the bytes as a
    /// shared `Bytes` (a clone is a reference count).
    fn send(&self, socket: &Ws) -> Result<(), JsValue> {
        if self.binary {
            socket.send_binary(self.bytes.clone()).map_err(err)
        } else {
            socket.send_text(self.text.as_str()).map_err(err)
        }
    }

    /// Checks that `event` is this payload's echo (kind and length).
    fn check(&self, event: Option<Event>) -> Result<(), JsValue> {
        match event {
            Some(Event::Message(Message::Text(t))) if !self.binary && t.len() == self.text.len() => Ok(()),
            Some(Event::Message(Message::Binary(b))) if self.binary && b.len() == self.bytes.len() => Ok(()),
            other => Err(JsValue::from_str(&format!("unexpected event {other:?}"))),
        }
    }
}

/// `count` sequential round trips of `size`-byte messages (after `warmup` untimed ones): send
/// one, wait for its echo, again. Returns `[total ms, latency ms of each round trip...]`.
#[wasm_bindgen]
pub async fn round_trips(
    url: String,
    count: u32,
    size: u32,
    binary: bool,
    warmup: u32,
) -> Result<Vec<f64>, JsValue> {
    let socket = connect(&url).await?;
    let payload = Payload::new(size as usize, binary);
    for _ in 0..warmup {
        payload.send(&socket)?;
        payload.check(socket.next_event().await)?;
    }
    let mut out = Vec::with_capacity(count as usize + 1);
    out.push(0.0);
    let start = now();
    for _ in 0..count {
        let t0 = now();
        payload.send(&socket)?;
        payload.check(socket.next_event().await)?;
        out.push(now() - t0);
    }
    out[0] = now() - start;
    finish(socket).await?;
    Ok(out)
}

/// `count` messages of `size` bytes with at most `window` unanswered: `window` are sent at
/// once, then one more for each echo received. Returns the ms from the first send to the last
/// echo.
#[wasm_bindgen]
pub async fn pipelined(
    url: String,
    count: u32,
    size: u32,
    binary: bool,
    window: u32,
) -> Result<f64, JsValue> {
    let socket = connect(&url).await?;
    let payload = Payload::new(size as usize, binary);
    let start = now();
    let mut sent = 0;
    while sent < window.min(count) {
        payload.send(&socket)?;
        sent += 1;
    }
    let mut received = 0;
    while received < count {
        payload.check(socket.next_event().await)?;
        received += 1;
        if sent < count {
            payload.send(&socket)?;
            sent += 1;
        }
    }
    let elapsed = now() - start;
    finish(socket).await?;
    Ok(elapsed)
}

/// The send path alone: opens a socket, calls `prepare` (the page replaces the browser
/// socket's `send` underneath with a no-op, so nothing goes out), then times `count` sends of
/// a `size`-byte message in a row, as an application makes them. Returns the ms of the sends:
/// what twinsock adds to each `send` (state check, copy, crossing into JS, string decoding).
#[wasm_bindgen]
pub async fn send_stubbed(
    url: String,
    count: u32,
    size: u32,
    binary: bool,
    prepare: js_sys::Function,
) -> Result<f64, JsValue> {
    let socket = connect(&url).await?;
    prepare.call0(&JsValue::NULL)?;
    let payload = Payload::new(size as usize, binary);
    let start = now();
    for _ in 0..count {
        payload.send(&socket)?;
    }
    let elapsed = now() - start;
    finish(socket).await?;
    Ok(elapsed)
}

/// The receive path alone: opens a socket, then calls `inject`, which starts dispatching
/// `count` synthetic `message` events on the browser socket underneath, one per task (the page
/// captures that socket when it is made), and takes them from the socket as an application
/// would. Returns the ms from the call of `inject` to the last message taken.
#[wasm_bindgen]
pub async fn receive_injected(
    url: String,
    count: u32,
    size: u32,
    binary: bool,
    inject: js_sys::Function,
) -> Result<f64, JsValue> {
    let socket = connect(&url).await?;
    let payload = Payload::new(size as usize, binary);
    let start = now();
    inject.call0(&JsValue::NULL)?;
    for _ in 0..count {
        payload.check(socket.next_event().await)?;
    }
    let elapsed = now() - start;
    finish(socket).await?;
    Ok(elapsed)
}
