//! The four clients behind one small interface, and the measurement loops written once over it.
//!
//! Every client is used the way its documentation shows: twinsock under
//! `futures::executor::block_on`, raw tungstenite blocking (TCP_NODELAY set after connecting),
//! tokio-tungstenite on a current-thread tokio runtime (`disable_nagle = true`), ewebsock's
//! native backend (its own thread per socket; we wait on its events through a channel, as its
//! `ws_connect` callback allows). Each send hands over a freshly allocated payload (as an
//! application producing data would), for every client alike.

use std::future::Future;
use std::net::TcpStream;
use std::ops::ControlFlow;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde::Serialize;

/// How long one blocking receive may wait before the round is abandoned as failed.
const RECV_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Client {
    Twinsock,
    Tungstenite,
    TokioTungstenite,
    Ewebsock,
}

impl Client {
    pub const ALL: [Client; 4] = [
        Client::Twinsock,
        Client::Tungstenite,
        Client::TokioTungstenite,
        Client::Ewebsock,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Client::Twinsock => "twinsock",
            Client::Tungstenite => "tungstenite",
            Client::TokioTungstenite => "tokio-tungstenite",
            Client::Ewebsock => "ewebsock",
        }
    }

    pub fn from_name(name: &str) -> Option<Client> {
        Client::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Runs `make`'s future to completion on the executor this client is meant for.
    pub fn drive<F: Future>(self, future: F) -> F::Output {
        match self {
            Client::TokioTungstenite => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("tokio runtime")
                .block_on(future),
            _ => futures::executor::block_on(future),
        }
    }
}

pub enum Payload {
    Text(String),
    Binary(Vec<u8>),
}

type TokioWs = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub enum Conn {
    Twinsock(twinsock::WebSocket),
    Tungstenite(Box<tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<TcpStream>>>),
    TokioTungstenite(Box<TokioWs>),
    Ewebsock {
        sender: ewebsock::WsSender,
        events: mpsc::Receiver<ewebsock::WsEvent>,
    },
}

pub type Result<T> = std::result::Result<T, String>;

/// Opens a connection and returns once it is open.
pub async fn connect(client: Client, url: &str) -> Result<Conn> {
    match client {
        Client::Twinsock => twinsock::WebSocketBuilder::new(url)
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

impl Conn {
    pub async fn send(&mut self, payload: Payload) -> Result<()> {
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
                .send(match payload {
                    Payload::Text(text) => tungstenite::Message::text(text),
                    Payload::Binary(bytes) => tungstenite::Message::binary(bytes),
                })
                .map_err(|e| format!("tungstenite send: {e}")),
            Conn::TokioTungstenite(ws) => ws
                .send(match payload {
                    Payload::Text(text) => tungstenite::Message::text(text),
                    Payload::Binary(bytes) => tungstenite::Message::binary(bytes),
                })
                .await
                .map_err(|e| format!("tokio-tungstenite send: {e}")),
            Conn::Ewebsock { sender, .. } => {
                sender.send(match payload {
                    Payload::Text(text) => ewebsock::WsMessage::Text(text),
                    Payload::Binary(bytes) => ewebsock::WsMessage::Binary(bytes),
                });
                Ok(())
            }
        }
    }

    /// Waits for the next data message and returns its payload length.
    pub async fn recv(&mut self) -> Result<usize> {
        match self {
            Conn::Twinsock(socket) => {
                use twinsock::{Event, Message, Socket};
                match socket.next_event().await {
                    Some(Event::Message(Message::Text(text))) => Ok(text.len()),
                    Some(Event::Message(Message::Binary(bytes))) => Ok(bytes.len()),
                    other => Err(format!("twinsock: unexpected {other:?}")),
                }
            }
            Conn::Tungstenite(ws) => loop {
                match ws.read() {
                    Ok(tungstenite::Message::Text(text)) => return Ok(text.len()),
                    Ok(tungstenite::Message::Binary(bytes)) => return Ok(bytes.len()),
                    Ok(tungstenite::Message::Close(close)) => {
                        return Err(format!("tungstenite: closed {close:?}"))
                    }
                    Ok(_) => {}
                    Err(e) => return Err(format!("tungstenite read: {e}")),
                }
            },
            Conn::TokioTungstenite(ws) => loop {
                match ws.next().await {
                    Some(Ok(tungstenite::Message::Text(text))) => return Ok(text.len()),
                    Some(Ok(tungstenite::Message::Binary(bytes))) => return Ok(bytes.len()),
                    Some(Ok(tungstenite::Message::Close(close))) => {
                        return Err(format!("tokio-tungstenite: closed {close:?}"))
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(format!("tokio-tungstenite read: {e}")),
                    None => return Err("tokio-tungstenite: stream ended".into()),
                }
            },
            Conn::Ewebsock { events, .. } => loop {
                match events.recv_timeout(RECV_TIMEOUT) {
                    Ok(ewebsock::WsEvent::Message(ewebsock::WsMessage::Text(text))) => return Ok(text.len()),
                    Ok(ewebsock::WsEvent::Message(ewebsock::WsMessage::Binary(bytes))) => {
                        return Ok(bytes.len())
                    }
                    Ok(ewebsock::WsEvent::Message(_)) => {}
                    other => return Err(format!("ewebsock: unexpected {other:?}")),
                }
            },
        }
    }
}

/// One round of sequential round trips.
#[derive(Debug, Default)]
pub struct RoundTrips {
    pub latencies_ns: Vec<u64>,
    pub elapsed: Duration,
    pub truncated: bool,
}

/// Sequential round trips of `size`-byte text messages: send one, wait for its echo. At most
/// `count` (after `warmup` untimed ones), stopping early at `time_cap`.
pub fn round_trips(
    client: Client,
    url: &str,
    count: usize,
    warmup: usize,
    size: usize,
    time_cap: Duration,
) -> Result<RoundTrips> {
    client.drive(async {
        let mut conn = connect(client, url).await?;
        let text = "x".repeat(size);
        for _ in 0..warmup {
            conn.send(Payload::Text(text.clone())).await?;
            conn.recv().await?;
        }
        let mut out = RoundTrips {
            latencies_ns: Vec::with_capacity(count),
            ..RoundTrips::default()
        };
        let started = Instant::now();
        let cap = started + time_cap;
        let mut before = started;
        for _ in 0..count {
            conn.send(Payload::Text(text.clone())).await?;
            let got = conn.recv().await?;
            let after = Instant::now();
            if got != size {
                return Err(format!("echo of {got} bytes, expected {size}"));
            }
            out.latencies_ns.push((after - before).as_nanos() as u64);
            before = after;
            if after >= cap {
                out.truncated = out.latencies_ns.len() < count;
                break;
            }
        }
        out.elapsed = before - started;
        Ok(out)
    })
}

/// One round of a throughput test.
#[derive(Debug, Default)]
pub struct Throughput {
    pub messages: usize,
    pub bytes: u64,
    pub elapsed: Duration,
    pub truncated: bool,
}

/// `count` binary messages of `size` bytes with up to `window` in flight: send `window`, then
/// one more per echo received. Stops early at `time_cap` (what was echoed by then counts).
/// With `window == 1` this is sequential echo of (large) messages.
pub fn pipelined(
    client: Client,
    url: &str,
    count: usize,
    window: usize,
    size: usize,
    time_cap: Duration,
) -> Result<Throughput> {
    client.drive(async {
        let mut conn = connect(client, url).await?;
        let payload: Vec<u8> = (0..size).map(|i| i as u8).collect();
        // Untimed warm-up: a few echoes, so that connection set-up is not in the numbers.
        for _ in 0..3 {
            conn.send(Payload::Binary(payload.clone())).await?;
            conn.recv().await?;
        }
        let started = Instant::now();
        let cap = started + time_cap;
        let mut sent = 0;
        let mut received = 0;
        let mut bytes = 0u64;
        let mut truncated = false;
        while sent < window.min(count) {
            conn.send(Payload::Binary(payload.clone())).await?;
            sent += 1;
        }
        while received < count {
            let got = conn.recv().await?;
            if got != size {
                return Err(format!("echo of {got} bytes, expected {size}"));
            }
            received += 1;
            bytes += got as u64;
            if sent < count {
                conn.send(Payload::Binary(payload.clone())).await?;
                sent += 1;
            }
            if (received % 64 == 0 || size >= 64 << 10) && Instant::now() >= cap {
                truncated = received < count;
                break;
            }
        }
        Ok(Throughput {
            messages: received,
            bytes,
            elapsed: started.elapsed(),
            truncated,
        })
    })
}

/// Connect-to-open times of `count` connections opened one after another (each dropped once
/// open). Stops early at `time_cap`.
pub fn connects(client: Client, url: &str, count: usize, time_cap: Duration) -> Result<Vec<u64>> {
    client.drive(async {
        let cap = Instant::now() + time_cap;
        let mut times = Vec::with_capacity(count);
        for _ in 0..count {
            let started = Instant::now();
            let conn = connect(client, url).await?;
            times.push(started.elapsed().as_nanos() as u64);
            drop(conn);
            if Instant::now() >= cap {
                break;
            }
        }
        Ok(times)
    })
}
