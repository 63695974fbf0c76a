//! The page side of the compression benchmark (bench/web/page/compression.mjs has the plain-JS
//! side, with the same logic), against the native benchmark's compression server
//! (`bench-native --serve compression`): the feed (the server sends, the browser inflates)
//! and the upload (the page sends, the browser deflates), for twinsock's browser backend and
//! for yawc's wasm build. Both are the browser's WebSocket underneath, so Chromium's own
//! permessage-deflate does the compressing in both; what differs is each library's path
//! between the page's code and that socket.
//!
//! The protocol is the server's (see `bench/native/src/compression/server.rs`): `!go N` asks
//! for N feed messages and then a 16-byte stats message; in an upload `!go` starts the
//! counting, an 8-byte ack comes every 32 messages, and `!end` asks for the stats.
//! Every function returns `[ms, wire bytes, messages, deflate (0/1), server CPU µs]`, the last
//! four from the server's stats (an upload that differs from the feed is closed by the server,
//! an error here).

use futures::{SinkExt, StreamExt};
use twinsock::{Event, Message, Socket, WebSocketBuilder};
use wasm_bindgen::prelude::*;

/// Upload: at most this many messages not yet acknowledged (the native run's window).
const UPLOAD_WINDOW: usize = 256;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn now() -> f64;
}

fn err(e: impl std::fmt::Display) -> JsValue {
    JsValue::from_str(&e.to_string())
}

/// The feed's cycle, from the server's `/payloads/KIND` blob (4-byte LE length, bytes, ...).
struct Feed {
    messages: Vec<Vec<u8>>,
    text: bool,
}

impl Feed {
    fn parse(blob: &[u8], text: bool) -> Result<Feed, JsValue> {
        let mut messages = Vec::new();
        let mut rest = blob;
        while !rest.is_empty() {
            let len = rest
                .get(..4)
                .map(|l| u32::from_le_bytes(l.try_into().expect("4 bytes")) as usize)
                .filter(|&len| rest.len() >= 4 + len)
                .ok_or_else(|| err("the payload blob is cut short"))?;
            messages.push(rest[4..4 + len].to_vec());
            rest = &rest[4 + len..];
        }
        if messages.is_empty() {
            return Err(err("the payload blob is empty"));
        }
        Ok(Feed { messages, text })
    }

    fn message(&self, i: usize) -> &[u8] {
        &self.messages[i % self.messages.len()]
    }
}

/// A received message: its length, its first 16 bytes.
struct Received {
    len: usize,
    head: [u8; 16],
}

impl Received {
    fn of(bytes: &[u8]) -> Received {
        let mut head = [0; 16];
        let n = bytes.len().min(16);
        head[..n].copy_from_slice(&bytes[..n]);
        Received {
            len: bytes.len(),
            head,
        }
    }
}

/// What the benchmark needs of a library.
trait Client {
    fn send(&mut self, text: bool, bytes: &[u8]) -> impl std::future::Future<Output = Result<(), JsValue>>;
    fn recv(&mut self) -> impl std::future::Future<Output = Result<Received, JsValue>>;
    fn close(self) -> impl std::future::Future<Output = Result<(), JsValue>>;
}

/// twinsock as an application uses it: `send_text` / `send_binary` (of an owned copy, as
/// yawc's `Frame` takes one), `next_event`.
struct Twinsock(twinsock::WebSocket);

impl Client for Twinsock {
    async fn send(&mut self, text: bool, bytes: &[u8]) -> Result<(), JsValue> {
        if text {
            let text = std::str::from_utf8(bytes).map_err(err)?;
            self.0.send_text(text).map_err(err)
        } else {
            self.0.send_binary(bytes.to_vec()).map_err(err)
        }
    }

    async fn recv(&mut self) -> Result<Received, JsValue> {
        match self.0.next_event().await {
            Some(Event::Message(Message::Text(text))) => Ok(Received::of(text.as_bytes())),
            Some(Event::Message(Message::Binary(bytes))) => Ok(Received::of(&bytes)),
            other => Err(err(format!("twinsock: unexpected {other:?}"))),
        }
    }

    async fn close(self) -> Result<(), JsValue> {
        self.0.close(Some(1000), None).map_err(err)?;
        while let Some(event) = self.0.next_event().await {
            if let Event::Close(_) = event {
                break;
            }
        }
        Ok(())
    }
}

/// yawc as its docs show it: `WebSocket::connect`, `SinkExt::send` of a `Frame`,
/// `StreamExt::next`.
struct Yawc(yawc::WebSocket);

impl Client for Yawc {
    async fn send(&mut self, text: bool, bytes: &[u8]) -> Result<(), JsValue> {
        let frame = if text {
            yawc::frame::Frame::text(std::str::from_utf8(bytes).map_err(err)?.to_string())
        } else {
            yawc::frame::Frame::binary(bytes.to_vec())
        };
        self.0.send(frame).await.map_err(err)
    }

    async fn recv(&mut self) -> Result<Received, JsValue> {
        loop {
            match self.0.next().await {
                Some(Ok(frame)) => match frame.opcode() {
                    yawc::frame::OpCode::Text | yawc::frame::OpCode::Binary => {
                        return Ok(Received::of(frame.payload()))
                    }
                    yawc::frame::OpCode::Close => return Err(err("yawc: closed")),
                    _ => {}
                },
                Some(Err(e)) => return Err(err(format!("yawc: {e}"))),
                None => return Err(err("yawc: stream ended")),
            }
        }
    }

    async fn close(mut self) -> Result<(), JsValue> {
        self.0.close().await.map_err(err)?;
        // Its stream ends after the browser's close event.
        while self.0.next().await.is_some() {}
        Ok(())
    }
}

/// The server's stats message as `[wire bytes, messages, deflate (0/1), server CPU µs]`.
fn stats(received: &Received) -> Result<[f64; 4], JsValue> {
    if received.len != 16 {
        return Err(err(format!(
            "expected the 16-byte stats message, got {} bytes",
            received.len
        )));
    }
    let h = &received.head;
    Ok([
        u64::from_le_bytes(h[..8].try_into().expect("8 bytes")) as f64,
        f64::from(u32::from_le_bytes([h[8], h[9], h[10], 0])),
        f64::from(h[11]),
        f64::from(u32::from_le_bytes(h[12..16].try_into().expect("4 bytes"))),
    ])
}

/// `count` feed messages from position `from`, each checked (length, first bytes), then the
/// stats.
async fn take_feed(
    client: &mut impl Client,
    feed: &Feed,
    from: usize,
    count: usize,
) -> Result<[f64; 4], JsValue> {
    client.send(true, format!("!go {count}").as_bytes()).await?;
    for i in from..from + count {
        let got = client.recv().await?;
        let want = feed.message(i);
        let head = want.len().min(16);
        if got.len != want.len() || got.head[..head] != want[..head] {
            return Err(err(format!(
                "feed message {i}: {} bytes, not the {} expected",
                got.len,
                want.len()
            )));
        }
    }
    stats(&client.recv().await?)
}

/// `count` messages from position `from`, at most [`UPLOAD_WINDOW`] unacknowledged, then
/// `!end` and the stats.
async fn upload(
    client: &mut impl Client,
    feed: &Feed,
    from: usize,
    count: usize,
) -> Result<[f64; 4], JsValue> {
    client.send(true, b"!go").await?;
    let (mut sent, mut acked) = (0, 0);
    while sent < count {
        if sent - acked < UPLOAD_WINDOW {
            client.send(feed.text, feed.message(from + sent)).await?;
            sent += 1;
        } else {
            let ack = client.recv().await?;
            if ack.len != 8 {
                return Err(err(format!("expected an 8-byte ack, got {} bytes", ack.len)));
            }
            acked = u64::from_le_bytes(ack.head[..8].try_into().expect("8 bytes")) as usize;
        }
    }
    client.send(true, b"!end").await?;
    loop {
        let got = client.recv().await?;
        if got.len != 8 {
            return stats(&got);
        }
    }
}

/// `count` messages from position `from`, in the run's direction.
async fn step(
    client: &mut impl Client,
    upload_mode: bool,
    feed: &Feed,
    from: usize,
    count: usize,
) -> Result<[f64; 4], JsValue> {
    if upload_mode {
        upload(client, feed, from, count).await
    } else {
        take_feed(client, feed, from, count).await
    }
}

/// One run on an open connection: `warmup` messages untimed, then `count` timed.
async fn run(
    mut client: impl Client,
    upload_mode: bool,
    blob: &[u8],
    text: bool,
    warmup: u32,
    count: u32,
) -> Result<Vec<f64>, JsValue> {
    let feed = Feed::parse(blob, text)?;
    let (warmup, count) = (warmup as usize, count as usize);
    step(&mut client, upload_mode, &feed, 0, warmup).await?;
    let start = now();
    let [wire, messages, deflate, server_cpu_us] =
        step(&mut client, upload_mode, &feed, warmup, count).await?;
    let ms = now() - start;
    client.close().await?;
    Ok(vec![ms, wire, messages, deflate, server_cpu_us])
}

/// twinsock: `url` is the server's `/feed?...` or `/upload?...`; `blob` its payloads.
#[wasm_bindgen]
pub async fn twinsock_run(
    url: String,
    upload_mode: bool,
    blob: Vec<u8>,
    text: bool,
    warmup: u32,
    count: u32,
) -> Result<Vec<f64>, JsValue> {
    let socket = WebSocketBuilder::new(url)
        .connect_as::<twinsock::WebSocket>()
        .await
        .map_err(err)?;
    run(Twinsock(socket), upload_mode, &blob, text, warmup, count).await
}

/// yawc, the same.
#[wasm_bindgen]
pub async fn yawc_run(
    url: String,
    upload_mode: bool,
    blob: Vec<u8>,
    text: bool,
    warmup: u32,
    count: u32,
) -> Result<Vec<f64>, JsValue> {
    let url = url::Url::parse(&url).map_err(err)?;
    let socket = yawc::WebSocket::connect(url).await.map_err(err)?;
    run(Yawc(socket), upload_mode, &blob, text, warmup, count).await
}
