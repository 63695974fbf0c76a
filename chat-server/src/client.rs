//! One WebSocket connection: a reader that acts on the client's messages, and a writer that
//! drains the client's queue, both in the connection's task.
//!
//! The reader takes a turn of the runtime's cooperative budget for every message, so that a
//! burst already in the socket's buffer does not keep every other connection's writer from
//! running; and it waits (reading nothing more) while a recipient's queue is full, which
//! pushes back on the sender (see [`crate::hub`]). After a ping it marks the pong owed: its
//! transport then reads nothing more while the socket does not take that pong, which pushes
//! back on a client that pings and does not read (see [`crate::transport`]).
//!
//! Whoever decides to close (the reader for a bad message, the hub for a full queue or the
//! shutdown) asks the writer, which sends the close frame; the reader then waits for the
//! client's answer. From that moment the connection is dropped after [`CLOSE_TIMEOUT`] at
//! the latest, whether or not the client reads.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use tokio::time::{timeout, timeout_at, Instant};
use tracing::{debug, info};

use crate::connection::Connection;
use crate::hello;
use crate::hub::{Close, Mailbox, Membership, Outgoing};
use crate::rate::RateLimit;
use crate::relay::Relay;
use crate::transport::{PongsNotTaken, UnfinishedTooLong};

/// How long a connection may take to close once the server decided to close it.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// The size of each connection's read buffer, which is also the most read from the socket at
/// once. tungstenite allocates it whole at the upgrade, so it is most of what an idle client
/// costs; a longer message is still read, in several reads (a 64 KiB message, the default
/// limit, takes 256 of them). Chat lines are short: 256 bytes hold several per read, and an
/// idle connection costs about 3 KiB in all, half of what the tutorial's Node server needs
/// (see BENCHMARKS.md). tungstenite's default, 128 KiB, also kept memory after clients left:
/// glibc serves such buffers with `mmap` at first, then raises its mmap threshold and keeps
/// later ones in per-thread arenas; small buffers are ordinary, reused allocations.
pub const READ_BUFFER: usize = 256;

/// How much tungstenite gathers before it writes to the socket (a flush writes at once).
pub const WRITE_BUFFER: usize = 8 * 1024;

/// The most a frame's head takes (2 bytes, 8 of length, 4 of mask).
const FRAME_HEAD: usize = 14;

/// What a WebSocket route does with the client's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `/ws`: text is cut and broadcast to every chat client; binary is refused (1003).
    Chat,
    /// `/echo`: text and binary go back to the sender.
    Echo,
    /// `/hello`: "My name is NAME" gets a greeting and a close (1000); other messages are echoed.
    Hello,
}

impl Route {
    /// The route's path, for the logs.
    pub fn path(self) -> &'static str {
        match self {
            Self::Chat => "/ws",
            Self::Echo => "/echo",
            Self::Hello => "/hello",
        }
    }

    /// Whether clients of this route receive the chat's broadcasts.
    pub fn listens(self) -> bool {
        self == Self::Chat
    }
}

/// Per-client limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The largest message accepted, in bytes; larger closes with 1009.
    pub max_message_size: usize,
    /// Messages per second (0: no limit); more closes with 1008.
    pub rate_limit: u32,
}

impl Limits {
    /// The most tungstenite may hold unwritten: what it gathers, plus one whole frame. Pongs
    /// owed to a client that sends pings and reads nothing never take more than this (the
    /// newest pong then replaces the one waiting); few do, as its transport stops reading it
    /// while a pong waits (see [`crate::transport`]).
    pub fn max_write_buffer(self) -> usize {
        WRITE_BUFFER + self.max_message_size.saturating_add(FRAME_HEAD)
    }

    /// The most a connection may read without completing a message: a whole message, cut in
    /// frames of at least 64 bytes, plus their heads. An endless message of empty (or tiny)
    /// fragments stops there with 1009.
    pub fn max_unfinished(self) -> usize {
        let frames = self.max_message_size / 64 + 1;
        self.max_message_size
            .saturating_add(frames.saturating_mul(FRAME_HEAD))
    }
}

/// Everything a connection needs besides its socket.
#[derive(Debug)]
pub struct Session {
    /// The client's place in the hub.
    pub member: Membership,
    /// The client's queue.
    pub mailbox: Mailbox,
    /// What the client connected to.
    pub route: Route,
    /// The client's limits.
    pub limits: Limits,
    /// The client's connection (its meters).
    pub connection: Arc<Connection>,
    /// The Redis link, with `--redis`: chat messages are published to the other servers.
    pub relay: Option<Arc<Relay>>,
    /// The client's address, for the logs.
    pub peer: SocketAddr,
    /// The request's `Origin`, for the logs.
    pub origin: Option<String>,
}

/// How the reader ended.
#[derive(Debug, Default)]
struct ReadEnd {
    /// The code of the client's close frame (1005 if it had none), if one came.
    peer_close: Option<u16>,
    /// Whether the reader asked the writer to close.
    asked_to_close: bool,
}

/// Runs the connection until it is closed, then leaves the hub.
///
/// Not an `async fn`: its arguments would stay in the connection's future for its whole life,
/// and the unsplit socket is about 500 bytes (a third of an idle connection's task). Split
/// first, the future holds only the two halves' handles.
pub fn run(socket: WebSocket, session: Session) -> impl Future<Output = ()> {
    let (sink, stream) = socket.split();
    run_split(sink, stream, session)
}

async fn run_split(sink: SplitSink<WebSocket, Message>, stream: SplitStream<WebSocket>, session: Session) {
    let Session {
        member,
        mailbox,
        route,
        limits,
        connection,
        relay,
        peer,
        origin,
    } = session;
    info!(%peer, path = route.path(), origin = origin.as_deref().unwrap_or("none"), "connected");
    connection.limit_unfinished(limits.max_unfinished());
    let reader = read(
        stream,
        Actor {
            member: &member,
            route,
            relay: relay.as_deref(),
        },
        limits,
        &connection,
    );
    let writer = write(sink, mailbox);
    tokio::pin!(reader, writer);
    let (end, server_close) = tokio::select! {
        end = &mut reader => {
            let server_close = if end.asked_to_close {
                timeout(CLOSE_TIMEOUT, &mut writer).await.ok().flatten()
            } else {
                None
            };
            (end, server_close)
        }
        server_close = &mut writer => {
            // After our close frame, wait for the client's; after a failed write, let the
            // reader see the end (and flush a close answer it owes).
            let since = server_close.map_or_else(Instant::now, |(at, _)| at);
            let end = timeout_at(since + CLOSE_TIMEOUT, &mut reader).await.unwrap_or_default();
            (end, server_close)
        }
    };
    let client = end
        .peer_close
        .map_or_else(|| "no close frame".to_string(), |code| code.to_string());
    let server = server_close.map_or_else(
        || "none".to_string(),
        |(_, close)| format!("{} {}", close.code, close.reason),
    );
    info!(%peer, path = route.path(), close = %client, server_close = %server, "disconnected");
}

/// Reads the client's messages and acts on them until the client's close frame, the end of
/// the connection, or an error. (tungstenite enforces the message size limit, 1009.)
async fn read(
    mut stream: SplitStream<WebSocket>,
    actor: Actor<'_>,
    limits: Limits,
    connection: &Connection,
) -> ReadEnd {
    let mut rate = (limits.rate_limit > 0).then(|| RateLimit::new(limits.rate_limit));
    let mut end = ReadEnd::default();
    while let Some(received) = stream.next().await {
        if received.is_ok() {
            connection.message_read();
        }
        let close = match received {
            Ok(Message::Close(frame)) => {
                end.peer_close = Some(frame.map_or(1005, |frame| frame.code));
                None
            }
            // Once we asked to close, the rest is dropped while we wait for the client's close.
            Ok(_) if end.asked_to_close => None,
            Ok(_) if rate.as_mut().is_some_and(|rate| !rate.allow()) => Some(Close::RATE_LIMIT),
            // tungstenite queued the pong; until it is written the transport reads no more
            // while the socket takes nothing, and gives up after a while (`PongsNotTaken`).
            Ok(Message::Ping(_)) => {
                connection.pong_owed();
                None
            }
            Ok(Message::Pong(_)) => None,
            Ok(message) => actor.act(message).await,
            Err(error) => {
                debug!(%error, "read failed");
                // The stream ends after an error; the writer may still send a close frame.
                close_for(&error)
            }
        };
        if let Some(close) = close {
            actor.member.close(close);
            end.asked_to_close = true;
        }
        // Let the other connections' writers run between two messages of a burst.
        tokio::task::coop::consume_budget().await;
    }
    end
}

/// What acts on the client's data messages.
#[derive(Clone, Copy)]
struct Actor<'a> {
    member: &'a Membership,
    route: Route,
    relay: Option<&'a Relay>,
}

impl Actor<'_> {
    /// Acts on a data message within the limits (waiting while a recipient's queue, or the
    /// Redis outbox, is full); `Some` when the client must be closed.
    async fn act(self, message: Message) -> Option<Close> {
        let member = self.member;
        match (self.route, message) {
            (Route::Chat, Message::Text(text)) => {
                let text = cut(text);
                member.broadcast(Message::Text(text.clone())).await;
                if let Some(relay) = self.relay {
                    relay.publish(text).await;
                }
            }
            (Route::Chat, _) => return Some(Close::BINARY),
            (Route::Hello, Message::Text(text)) => match hello::greeting(&text) {
                Some(greeting) => {
                    member
                        .reply(Outgoing::Message(Message::Text(greeting.into())))
                        .await;
                    member.reply(Outgoing::Close(Close::NORMAL)).await;
                }
                None => member.reply(Outgoing::Message(Message::Text(text))).await,
            },
            (Route::Echo | Route::Hello, message) => member.reply(Outgoing::Message(message)).await,
        }
        None
    }
}

/// Drains the queue into the socket until it must close; then sends the close frame (for at
/// most [`CLOSE_TIMEOUT`]) and returns when that started and which close it was. `None` when
/// the connection failed first.
async fn write(mut sink: SplitSink<WebSocket, Message>, mailbox: Mailbox) -> Option<(Instant, Close)> {
    let Mailbox {
        mut queue,
        close: mut close_now,
    } = mailbox;
    let close = loop {
        let item = tokio::select! {
            biased;
            close = &mut close_now => break close.unwrap_or(Close::GOING_AWAY),
            item = queue.recv() => item,
        };
        let message = match item? {
            Outgoing::Message(message) => message,
            Outgoing::Close(close) => break close,
        };
        // Flushes only when the queue is empty, so that a burst goes out in few writes.
        let sent = tokio::select! {
            biased;
            close = &mut close_now => break close.unwrap_or(Close::GOING_AWAY),
            sent = async {
                sink.feed(message).await?;
                if queue.is_empty() {
                    sink.flush().await?;
                }
                Ok::<_, axum::Error>(())
            } => sent,
        };
        match sent {
            Ok(()) => {}
            // Pongs owed to a client that reads nothing filled tungstenite's bounded buffer.
            Err(error) if matches!(ws_error(&error), Some(tungstenite::Error::WriteBufferFull(_))) => {
                break Close::TOO_SLOW
            }
            Err(_) => return None,
        }
    };
    let started = Instant::now();
    let frame = CloseFrame {
        code: close.code,
        reason: Utf8Bytes::from_static(close.reason),
    };
    let _ = timeout(CLOSE_TIMEOUT, sink.send(Message::Close(Some(frame)))).await;
    Some((started, close))
}

/// `text` cut as the chat's rule says ([`twinsock_chat::cut_line`]: 50 characters), copied
/// only when it is cut.
fn cut(text: Utf8Bytes) -> Utf8Bytes {
    match twinsock_chat::cut_line(&text) {
        cut if cut.len() < text.len() => cut.into(),
        _ => text,
    }
}

/// The tungstenite error inside axum's.
fn ws_error(error: &axum::Error) -> Option<&tungstenite::Error> {
    std::error::Error::source(error)?.downcast_ref::<tungstenite::Error>()
}

/// The close frame owed to the client for a read error, if any: axum wraps its tungstenite's
/// error, which tells them apart.
fn close_for(error: &axum::Error) -> Option<Close> {
    use tungstenite::error::{CapacityError, Error as WsError, ProtocolError};
    match ws_error(error)? {
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => None,
        WsError::Capacity(CapacityError::MessageTooLong { .. }) => Some(Close::TOO_BIG),
        WsError::Io(io) if io.get_ref().is_some_and(|inner| inner.is::<UnfinishedTooLong>()) => {
            Some(Close::TOO_BIG)
        }
        WsError::Io(io) if io.get_ref().is_some_and(|inner| inner.is::<PongsNotTaken>()) => {
            Some(Close::TOO_SLOW)
        }
        WsError::Utf8(_) => Some(Close::INVALID_UTF8),
        WsError::Protocol(_) => Some(Close::PROTOCOL_ERROR),
        _ => None,
    }
}
