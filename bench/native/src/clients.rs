//! The clients behind one small interface (`connect`, `feed`, `flush`, `recv`), each used the
//! way its own documentation shows:
//!
//! - twinsock: its README's way, under `twinsock::block_on` (which waits in twinsock's reactor
//!   and writes the sends of one turn in one write when it next waits): `WebSocketBuilder::connect`,
//!   `send_text`/`send_binary`, `next_event` (it has no flush). This is the library at `../..`,
//!   whatever its native path is today.
//! - tungstenite: blocking, TCP_NODELAY set after connecting; `write` each message and `flush`
//!   once per batch (`send` is `write` + `flush`).
//! - tokio-tungstenite: a current-thread tokio runtime, `connect_async_with_config` with
//!   `disable_nagle`; `SinkExt::feed` each message and `flush` once per batch.
//! - tokio-websockets 0.13: the same runtime, `ClientBuilder::connect`, TCP_NODELAY set on
//!   `get_ref()`'s stream; `feed` and `flush` (its sink also flushes by itself above 8 KiB).
//! - fastwebsockets 0.10: the same runtime, its docs' `handshake::client` over hyper on a
//!   TCP_NODELAY stream, then `FragmentCollector` (full messages); `write_frame` writes each
//!   frame to the socket (one write per frame: that is what its docs show). Also measured,
//!   labelled `fastwebsockets+BufWriter`: the stream behind tokio's `BufWriter` and
//!   `WebSocket::flush` once per batch, as its docs say a buffered stream needs.
//! - yawc 0.3: the same runtime, `WebSocket::connect` with `Options::with_no_delay` and its docs'
//!   `with_limits(2 MiB, 4 MiB)` (its default limit, 1 MiB, refuses the 1 MiB measure's
//!   messages); `feed` and `flush`.
//! - ewebsock: its native backend (blocking tungstenite on a thread per socket); events through
//!   a channel, as its `ws_connect` callback allows (no flush).
//!
//! Each send hands over a freshly allocated payload (as an application producing data would),
//! for every client alike.
//!
//! permessage-deflate ([`Offer`], [`connect_with`]; the compression benchmark): twinsock offers
//! it by default, as a browser does, and not with `permessage_deflate(false)`; yawc offers it
//! with its docs' `with_balanced_compression()` and not with `without_compression()`, its
//! default. The other clients have none.

use std::future::Future;
use std::net::TcpStream;
use std::ops::ControlFlow;
use std::sync::mpsc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde::Serialize;

/// How long one blocking receive may wait before the round is abandoned as failed.
const RECV_TIMEOUT: Duration = Duration::from_secs(30);

/// fastwebsockets+BufWriter: the write buffer's size.
const BUF_WRITER_CAPACITY: usize = 64 << 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Client {
    Twinsock,
    Tungstenite,
    TokioTungstenite,
    TokioWebsockets,
    Fastwebsockets,
    FastwebsocketsBuffered,
    Yawc,
    Ewebsock,
}

impl Client {
    pub const ALL: [Client; 8] = [
        Client::Twinsock,
        Client::Tungstenite,
        Client::TokioTungstenite,
        Client::TokioWebsockets,
        Client::Fastwebsockets,
        Client::FastwebsocketsBuffered,
        Client::Yawc,
        Client::Ewebsock,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Client::Twinsock => "twinsock",
            Client::Tungstenite => "tungstenite",
            Client::TokioTungstenite => "tokio-tungstenite",
            Client::TokioWebsockets => "tokio-websockets",
            Client::Fastwebsockets => "fastwebsockets",
            Client::FastwebsocketsBuffered => "fastwebsockets+BufWriter",
            Client::Yawc => "yawc",
            Client::Ewebsock => "ewebsock",
        }
    }

    pub fn from_name(name: &str) -> Option<Client> {
        Client::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The async peers twinsock's targets are set against (raw tungstenite is blocking,
    /// ewebsock a thread per socket).
    pub fn is_async_peer(self) -> bool {
        matches!(
            self,
            Client::TokioTungstenite
                | Client::TokioWebsockets
                | Client::Fastwebsockets
                | Client::FastwebsocketsBuffered
                | Client::Yawc
        )
    }

    /// Whether many connections can wait in one thread (the fan-out measure needs that).
    pub fn is_async(self) -> bool {
        self.is_async_peer() || self == Client::Twinsock
    }

    /// Runs `future` to completion on the executor this client is meant for.
    pub fn drive<F: Future>(self, future: F) -> F::Output {
        match self {
            Client::Twinsock => twinsock::block_on(future),
            Client::Tungstenite | Client::Ewebsock => futures::executor::block_on(future),
            _ => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("tokio runtime")
                .block_on(future),
        }
    }
}

pub enum Payload {
    Text(String),
    Binary(Vec<u8>),
}

/// A received data message: its length and its first 16 bytes (the fan-out's timestamp).
#[derive(Debug, Clone, Copy)]
pub struct Received {
    pub len: usize,
    pub head: [u8; 16],
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

type TokioTungstenite =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;
type TokioWebsockets =
    tokio_websockets::WebSocketStream<tokio_websockets::MaybeTlsStream<tokio::net::TcpStream>>;
type Upgraded = hyper_util::rt::TokioIo<hyper::upgrade::Upgraded>;

pub enum Conn {
    Twinsock(twinsock::WebSocket),
    Tungstenite(Box<tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<TcpStream>>>),
    TokioTungstenite(Box<TokioTungstenite>),
    TokioWebsockets(Box<TokioWebsockets>),
    Fastwebsockets(Box<fastwebsockets::FragmentCollector<Upgraded>>),
    FastwebsocketsBuffered(Box<fastwebsockets::WebSocket<tokio::io::BufWriter<Upgraded>>>),
    Yawc(Box<yawc::TcpWebSocket>),
    Ewebsock {
        sender: ewebsock::WsSender,
        events: mpsc::Receiver<ewebsock::WsEvent>,
    },
}

pub type Result<T> = std::result::Result<T, String>;

/// fastwebsockets' handshake runs hyper's connection task on the tokio runtime (its docs'
/// `SpawnExecutor`).
struct SpawnExecutor;

impl<Fut> hyper::rt::Executor<Fut> for SpawnExecutor
where
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    fn execute(&self, fut: Fut) {
        tokio::task::spawn(fut);
    }
}

/// fastwebsockets' client handshake, as its docs show it, on a TCP_NODELAY stream.
async fn fastwebsockets_connect(url: &str) -> Result<fastwebsockets::WebSocket<Upgraded>> {
    let parsed = url::Url::parse(url).map_err(|e| format!("fastwebsockets url: {e}"))?;
    let host = format!(
        "{}:{}",
        parsed.host_str().unwrap_or("127.0.0.1"),
        parsed.port_or_known_default().unwrap_or(80)
    );
    let tcp = tokio::net::TcpStream::connect(&host)
        .await
        .map_err(|e| format!("fastwebsockets connect: {e}"))?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let request = hyper::Request::builder()
        .method("GET")
        .uri(format!("http://{host}{}", parsed.path()))
        .header("Host", &host)
        .header(hyper::header::UPGRADE, "websocket")
        .header(hyper::header::CONNECTION, "upgrade")
        .header("Sec-WebSocket-Key", fastwebsockets::handshake::generate_key())
        .header("Sec-WebSocket-Version", "13")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .map_err(|e| format!("fastwebsockets request: {e}"))?;
    let (ws, _) = fastwebsockets::handshake::client(&SpawnExecutor, request, tcp)
        .await
        .map_err(|e| format!("fastwebsockets handshake: {e}"))?;
    Ok(ws)
}

/// What a client offers of permessage-deflate (RFC 7692).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Offer {
    /// Whatever the library does by default: twinsock offers it (as a browser does), the
    /// others do not.
    LibraryDefault,
    /// Offered: twinsock's default; yawc with its docs' `with_balanced_compression()` (level 6,
    /// zlib's default, as twinsock and Chromium compress).
    Deflate,
    /// Not offered: twinsock with `permessage_deflate(false)`; yawc without compression.
    NoDeflate,
}

/// Opens a connection and returns once it is open.
pub async fn connect(client: Client, url: &str) -> Result<Conn> {
    connect_with(client, url, Offer::LibraryDefault).await
}

/// Opens a connection offering (or not) permessage-deflate, and returns once it is open.
/// Only twinsock and yawc have permessage-deflate; asking another client for
/// [`Offer::Deflate`] or [`Offer::NoDeflate`] is an error.
pub async fn connect_with(client: Client, url: &str, offer: Offer) -> Result<Conn> {
    if offer != Offer::LibraryDefault && !matches!(client, Client::Twinsock | Client::Yawc) {
        return Err(format!(
            "{} has no permessage-deflate to turn on or off",
            client.name()
        ));
    }
    match client {
        Client::Twinsock => twinsock::WebSocketBuilder::new(url)
            .connect_timeout(RECV_TIMEOUT)
            .permessage_deflate(offer != Offer::NoDeflate)
            .connect()
            .await
            .map(Conn::Twinsock)
            .map_err(|e| format!("twinsock connect: {e}")),
        Client::Tungstenite => {
            let (mut ws, _) = tungstenite::connect(url).map_err(|e| format!("tungstenite connect: {e}"))?;
            if let tungstenite::stream::MaybeTlsStream::Plain(tcp) = ws.get_mut() {
                tcp.set_nodelay(true).map_err(|e| e.to_string())?;
                tcp.set_read_timeout(Some(RECV_TIMEOUT))
                    .map_err(|e| e.to_string())?;
                tcp.set_write_timeout(Some(RECV_TIMEOUT))
                    .map_err(|e| e.to_string())?;
            }
            Ok(Conn::Tungstenite(Box::new(ws)))
        }
        Client::TokioTungstenite => {
            let (ws, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
                .await
                .map_err(|e| format!("tokio-tungstenite connect: {e}"))?;
            Ok(Conn::TokioTungstenite(Box::new(ws)))
        }
        Client::TokioWebsockets => {
            let (ws, _) = tokio_websockets::ClientBuilder::new()
                .uri(url)
                .map_err(|e| format!("tokio-websockets uri: {e}"))?
                .connect()
                .await
                .map_err(|e| format!("tokio-websockets connect: {e}"))?;
            // Without a TLS feature the stream has only this variant.
            #[allow(irrefutable_let_patterns)]
            if let tokio_websockets::MaybeTlsStream::Plain(tcp) = ws.get_ref() {
                tcp.set_nodelay(true).map_err(|e| e.to_string())?;
            }
            Ok(Conn::TokioWebsockets(Box::new(ws)))
        }
        Client::Fastwebsockets => Ok(Conn::Fastwebsockets(Box::new(
            fastwebsockets::FragmentCollector::new(fastwebsockets_connect(url).await?),
        ))),
        Client::FastwebsocketsBuffered => {
            let stream = fastwebsockets_connect(url).await?.into_inner();
            Ok(Conn::FastwebsocketsBuffered(Box::new(
                fastwebsockets::WebSocket::after_handshake(
                    tokio::io::BufWriter::with_capacity(BUF_WRITER_CAPACITY, stream),
                    fastwebsockets::Role::Client,
                ),
            )))
        }
        Client::Yawc => {
            let url = url.parse().map_err(|e| format!("yawc url: {e}"))?;
            let options = yawc::Options::default()
                .with_no_delay()
                .with_limits(2 * 1024 * 1024, 4 * 1024 * 1024);
            let options = match offer {
                Offer::Deflate => options.with_balanced_compression(),
                Offer::LibraryDefault | Offer::NoDeflate => options.without_compression(),
            };
            let ws = yawc::WebSocket::connect(url)
                .with_options(options)
                .await
                .map_err(|e| format!("yawc connect: {e}"))?;
            Ok(Conn::Yawc(Box::new(ws)))
        }
        Client::Ewebsock => {
            let (tx, events) = mpsc::channel();
            let on_event = Box::new(move |event| {
                if tx.send(event).is_ok() {
                    ControlFlow::Continue(())
                } else {
                    ControlFlow::Break(())
                }
            });
            let sender = ewebsock::ws_connect(url.to_string(), ewebsock::Options::default(), on_event)
                .map_err(|e| format!("ewebsock connect: {e}"))?;
            match events.recv_timeout(RECV_TIMEOUT) {
                Ok(ewebsock::WsEvent::Opened) => Ok(Conn::Ewebsock { sender, events }),
                other => Err(format!("ewebsock connect: {other:?}")),
            }
        }
    }
}

fn tungstenite_message(payload: Payload) -> tungstenite::Message {
    match payload {
        Payload::Text(text) => tungstenite::Message::text(text),
        Payload::Binary(bytes) => tungstenite::Message::binary(bytes),
    }
}

fn fastwebsockets_frame(payload: Payload) -> fastwebsockets::Frame<'static> {
    match payload {
        Payload::Text(text) => fastwebsockets::Frame::text(text.into_bytes().into()),
        Payload::Binary(bytes) => fastwebsockets::Frame::binary(bytes.into()),
    }
}

/// A fastwebsockets frame as a data message (the collector hands whole messages; the raw
/// `WebSocket` of the buffered mode hands frames, and the echo server never fragments).
fn fastwebsockets_received(frame: fastwebsockets::Frame<'_>) -> Result<Option<Received>> {
    use fastwebsockets::OpCode;
    match frame.opcode {
        OpCode::Text | OpCode::Binary if frame.fin => Ok(Some(Received::of(&frame.payload))),
        OpCode::Close => Err("fastwebsockets: closed".into()),
        OpCode::Text | OpCode::Binary | OpCode::Continuation => {
            Err("fastwebsockets: a fragmented message (the servers never send one)".into())
        }
        _ => Ok(None),
    }
}

impl Conn {
    /// Queues one message (written at once by the clients that have no write buffer).
    pub async fn feed(&mut self, payload: Payload) -> Result<()> {
        match self {
            Conn::Twinsock(socket) => {
                use twinsock::Socket;
                match payload {
                    Payload::Text(text) => socket.send_text(text),
                    Payload::Binary(bytes) => socket.send_binary(bytes),
                }
                .map_err(|e| format!("twinsock send: {e}"))
            }
            Conn::Tungstenite(ws) => ws
                .write(tungstenite_message(payload))
                .map_err(|e| format!("tungstenite write: {e}")),
            Conn::TokioTungstenite(ws) => ws
                .feed(tungstenite_message(payload))
                .await
                .map_err(|e| format!("tokio-tungstenite feed: {e}")),
            Conn::TokioWebsockets(ws) => ws
                .feed(match payload {
                    Payload::Text(text) => tokio_websockets::Message::text(text),
                    Payload::Binary(bytes) => tokio_websockets::Message::binary(bytes),
                })
                .await
                .map_err(|e| format!("tokio-websockets feed: {e}")),
            Conn::Fastwebsockets(ws) => ws
                .write_frame(fastwebsockets_frame(payload))
                .await
                .map_err(|e| format!("fastwebsockets write_frame: {e}")),
            Conn::FastwebsocketsBuffered(ws) => ws
                .write_frame(fastwebsockets_frame(payload))
                .await
                .map_err(|e| format!("fastwebsockets write_frame: {e}")),
            Conn::Yawc(ws) => ws
                .feed(match payload {
                    Payload::Text(text) => yawc::Frame::text(text),
                    Payload::Binary(bytes) => yawc::Frame::binary(bytes),
                })
                .await
                .map_err(|e| format!("yawc feed: {e}")),
            Conn::Ewebsock { sender, .. } => {
                sender.send(match payload {
                    Payload::Text(text) => ewebsock::WsMessage::Text(text),
                    Payload::Binary(bytes) => ewebsock::WsMessage::Binary(bytes),
                });
                Ok(())
            }
        }
    }

    /// Hands everything fed so far to the network (a no-op for the clients without a buffer).
    pub async fn flush(&mut self) -> Result<()> {
        match self {
            Conn::Twinsock(_) | Conn::Fastwebsockets(_) | Conn::Ewebsock { .. } => Ok(()),
            Conn::Tungstenite(ws) => ws.flush().map_err(|e| format!("tungstenite flush: {e}")),
            Conn::TokioTungstenite(ws) => SinkExt::flush(ws)
                .await
                .map_err(|e| format!("tokio-tungstenite flush: {e}")),
            Conn::TokioWebsockets(ws) => SinkExt::flush(ws)
                .await
                .map_err(|e| format!("tokio-websockets flush: {e}")),
            Conn::FastwebsocketsBuffered(ws) => {
                ws.flush().await.map_err(|e| format!("fastwebsockets flush: {e}"))
            }
            Conn::Yawc(ws) => SinkExt::flush(ws).await.map_err(|e| format!("yawc flush: {e}")),
        }
    }

    /// Sends one message on its own: `feed` then `flush`.
    pub async fn send(&mut self, payload: Payload) -> Result<()> {
        self.feed(payload).await?;
        self.flush().await
    }

    /// Waits for the next data message.
    pub async fn recv(&mut self) -> Result<Received> {
        match self {
            Conn::Twinsock(socket) => {
                use twinsock::{Event, Message, Socket};
                match socket.next_event().await {
                    Some(Event::Message(Message::Text(text))) => Ok(Received::of(text.as_bytes())),
                    Some(Event::Message(Message::Binary(bytes))) => Ok(Received::of(&bytes)),
                    other => Err(format!("twinsock: unexpected {other:?}")),
                }
            }
            Conn::Tungstenite(ws) => loop {
                match ws.read() {
                    Ok(tungstenite::Message::Text(text)) => return Ok(Received::of(text.as_bytes())),
                    Ok(tungstenite::Message::Binary(bytes)) => return Ok(Received::of(&bytes)),
                    Ok(tungstenite::Message::Close(close)) => {
                        return Err(format!("tungstenite: closed {close:?}"))
                    }
                    Ok(_) => {}
                    Err(e) => return Err(format!("tungstenite read: {e}")),
                }
            },
            Conn::TokioTungstenite(ws) => loop {
                match ws.next().await {
                    Some(Ok(tungstenite::Message::Text(text))) => return Ok(Received::of(text.as_bytes())),
                    Some(Ok(tungstenite::Message::Binary(bytes))) => return Ok(Received::of(&bytes)),
                    Some(Ok(tungstenite::Message::Close(close))) => {
                        return Err(format!("tokio-tungstenite: closed {close:?}"))
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(format!("tokio-tungstenite read: {e}")),
                    None => return Err("tokio-tungstenite: stream ended".into()),
                }
            },
            Conn::TokioWebsockets(ws) => loop {
                match ws.next().await {
                    Some(Ok(message)) if message.is_text() || message.is_binary() => {
                        return Ok(Received::of(message.as_payload()))
                    }
                    Some(Ok(message)) if message.is_close() => {
                        return Err(format!("tokio-websockets: closed {:?}", message.as_close()))
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(format!("tokio-websockets read: {e}")),
                    None => return Err("tokio-websockets: stream ended".into()),
                }
            },
            Conn::Fastwebsockets(ws) => loop {
                let frame = ws
                    .read_frame()
                    .await
                    .map_err(|e| format!("fastwebsockets read_frame: {e}"))?;
                if let Some(received) = fastwebsockets_received(frame)? {
                    return Ok(received);
                }
            },
            Conn::FastwebsocketsBuffered(ws) => loop {
                let frame = ws
                    .read_frame()
                    .await
                    .map_err(|e| format!("fastwebsockets read_frame: {e}"))?;
                if let Some(received) = fastwebsockets_received(frame)? {
                    return Ok(received);
                }
            },
            Conn::Yawc(ws) => loop {
                match ws.next().await {
                    Some(frame) => match frame.opcode() {
                        yawc::OpCode::Text | yawc::OpCode::Binary => {
                            return Ok(Received::of(frame.payload()))
                        }
                        yawc::OpCode::Close => return Err("yawc: closed".into()),
                        _ => {}
                    },
                    None => return Err("yawc: stream ended".into()),
                }
            },
            Conn::Ewebsock { events, .. } => loop {
                match events.recv_timeout(RECV_TIMEOUT) {
                    Ok(ewebsock::WsEvent::Message(ewebsock::WsMessage::Text(text))) => {
                        return Ok(Received::of(text.as_bytes()))
                    }
                    Ok(ewebsock::WsEvent::Message(ewebsock::WsMessage::Binary(bytes))) => {
                        return Ok(Received::of(&bytes))
                    }
                    Ok(ewebsock::WsEvent::Message(_)) => {}
                    other => return Err(format!("ewebsock: unexpected {other:?}")),
                }
            },
        }
    }
}
