//! A connection's transport: the socket (TCP, or TLS over TCP) and the rules applied to what
//! passes through it, on behalf of the [`Connection`] it belongs to.
//!
//! - `--header-timeout`: `axum`'s and hyper's own timers do not cover a client that sends
//!   its request head one byte at a time or not at all, so reads fail with `TimedOut` once the
//!   limit has passed since the connection was accepted (TLS handshake included) or since the
//!   server last wrote to it. Because the server answers a complete request at once, this
//!   bounds the time to each complete request head, the first one and, on a kept-alive
//!   connection, each next one (idle time included). It stops applying once the server
//!   answers `101 Switching Protocols`: a WebSocket may be quiet for as long as it likes.
//! - Eviction: once the connection table evicted it, reads fail and hyper drops it.
//! - A WebSocket's unfinished message: reads fail with [`UnfinishedTooLong`] once more bytes
//!   than the message limit allows (payload plus framing) came without a complete message,
//!   however they are framed (an endless message of empty fragments included).
//! - Writes that the socket does not take are timed, for telling a slow reader.
//! - A WebSocket that owes its client a pong is not read while its socket takes nothing: a
//!   client that sends pings and does not read the pongs is pushed back by TCP instead of
//!   being read on (tungstenite would go on reading, and drop the pongs it cannot write). Once
//!   the socket has taken nothing for [`SLOW_AFTER`] with a pong owed, reads fail with
//!   [`PongsNotTaken`] (the client is closed with 1013, like a slow reader).
//!
//! The transport owns the socket: it alone reads and writes it.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};
use tokio_rustls::server::TlsStream;
use tracing::info;

use crate::connection::{Admitted, Connection};
use crate::hub::SLOW_AFTER;

/// The socket: plain TCP, or TLS over TCP.
#[derive(Debug)]
pub enum Stream {
    /// `http://` and `ws://`.
    Tcp(TcpStream),
    /// `https://` and `wss://`, after the TLS handshake.
    Tls(Box<TlsStream<TcpStream>>),
    /// Handed to the lingering close (only while the transport is dropped).
    Gone,
}

/// How long, and how much, a closed WebSocket's socket is still read before it is closed, so
/// that what the client sent last (the rest of an over-size message, say) does not turn the
/// close into a reset that would cost the client the server's close frame.
const LINGER: Duration = Duration::from_secs(1);
const LINGER_BYTES: usize = 1 << 20;

impl Drop for Conn {
    fn drop(&mut self) {
        let Stream::Tcp(tcp) = std::mem::replace(&mut self.stream, Stream::Gone) else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.head.is_some() {
            return;
        }
        runtime.spawn(async move {
            use tokio::io::AsyncReadExt;
            let mut tcp = tcp;
            let _ = tokio::io::AsyncWriteExt::shutdown(&mut tcp).await;
            let mut sink = [0u8; 4096];
            let mut drained = 0;
            let _ = tokio::time::timeout(LINGER, async {
                while drained < LINGER_BYTES {
                    match tcp.read(&mut sink).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => drained += n,
                    }
                }
            })
            .await;
        });
    }
}

/// A WebSocket read more than its message limit allows without completing a message.
#[derive(Debug)]
pub struct UnfinishedTooLong;

impl std::fmt::Display for UnfinishedTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("more bytes without a complete message than the message size limit allows")
    }
}

impl std::error::Error for UnfinishedTooLong {}

/// A WebSocket owed its client a pong while its socket took nothing for [`SLOW_AFTER`].
#[derive(Debug)]
pub struct PongsNotTaken;

impl std::fmt::Display for PongsNotTaken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "its pongs not taken by the socket for {SLOW_AFTER:?}")
    }
}

impl std::error::Error for PongsNotTaken {}

/// An accepted connection's transport.
#[derive(Debug)]
pub struct Conn {
    stream: Stream,
    admitted: Admitted,
    /// The request-head deadline; `None` once a WebSocket, or with no header timeout.
    head: Option<HeadDeadline>,
    /// When a read paused while a pong is owed gives up; made at the first such pause.
    pong_deadline: Option<Pin<Box<Sleep>>>,
    /// The read paused while a pong is owed, woken when a flush completes: the flush may be
    /// the writer's, another future of the connection's task, after the read was polled.
    pong_waiter: Option<Waker>,
}

#[derive(Debug)]
struct HeadDeadline {
    limit: Duration,
    deadline: Pin<Box<Sleep>>,
    /// Whether the deadline passed (logged once).
    expired: bool,
}

/// The start of the answer that makes a connection a WebSocket.
const SWITCHING: &[u8] = b"HTTP/1.1 101 ";

impl Conn {
    /// The transport of `stream`, accepted at `accepted`, whose request heads must come within
    /// `header_timeout` (zero: no limit).
    pub fn new(stream: Stream, admitted: Admitted, accepted: Instant, header_timeout: Duration) -> Self {
        let head = (!header_timeout.is_zero()).then(|| HeadDeadline {
            limit: header_timeout,
            deadline: Box::pin(tokio::time::sleep_until(accepted + header_timeout)),
            expired: false,
        });
        Self {
            stream,
            admitted,
            head,
            pong_deadline: None,
            pong_waiter: None,
        }
    }

    /// The connection's shared state.
    pub fn connection(&self) -> &Arc<Connection> {
        self.admitted.connection()
    }

    /// Called before each write of `chunks`: the server answered, so the client gets the limit
    /// again for its next request; a `101` answer makes it a WebSocket.
    fn writing<'a>(&mut self, mut chunks: impl Iterator<Item = &'a [u8]>) {
        let connection = self.admitted.connection();
        let Some(head) = &mut self.head else {
            return;
        };
        if chunks.any(|chunk| chunk.starts_with(SWITCHING)) {
            connection.became_websocket();
            self.head = None;
        } else {
            head.deadline.as_mut().reset(Instant::now() + head.limit);
            connection.answered();
        }
    }

    /// Whether a read must wait (`Pending`) or fail because a pong is owed and the socket
    /// takes nothing; `None` when it may go on. The wait ends when the socket takes data again
    /// (tungstenite retries the write that found it full before its next read, and that
    /// write's waker wakes this one's task), when a flush completes, or at the deadline.
    fn pong_wait(&mut self, cx: &mut Context<'_>) -> Option<Poll<io::Result<()>>> {
        let connection = self.admitted.connection();
        let blocked = connection.pong_blocked_for()?;
        let left = SLOW_AFTER.saturating_sub(blocked);
        let deadline = Instant::now() + left;
        let sleep = self
            .pong_deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        sleep.as_mut().reset(deadline);
        if !left.is_zero() && sleep.as_mut().poll(cx).is_pending() {
            match &mut self.pong_waiter {
                Some(waiter) if waiter.will_wake(cx.waker()) => {}
                waiter => *waiter = Some(cx.waker().clone()),
            }
            return Some(Poll::Pending);
        }
        info!(peer = %connection.peer, "closing: its pongs not taken for {SLOW_AFTER:?}");
        Some(Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            PongsNotTaken,
        ))))
    }

    /// Times the write's outcome: pending means the socket takes nothing now.
    fn wrote<T>(&self, outcome: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match &outcome {
            Poll::Pending => self.connection().write_blocked(),
            Poll::Ready(_) => self.connection().write_taken(),
        }
        outcome
    }
}

fn stopped(kind: io::ErrorKind, why: &'static str) -> Poll<io::Result<()>> {
    Poll::Ready(Err(io::Error::new(kind, why)))
}

impl AsyncRead for Conn {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let connection = Arc::clone(this.admitted.connection());
        if connection.evicted(cx.waker()) {
            return stopped(io::ErrorKind::ConnectionAborted, "evicted at the connection cap");
        }
        if let Some(head) = &mut this.head {
            if head.deadline.as_mut().poll(cx).is_ready() {
                if !std::mem::replace(&mut head.expired, true) {
                    info!(peer = %connection.peer, "dropped: no complete request within {:?}", head.limit);
                }
                return stopped(
                    io::ErrorKind::TimedOut,
                    "no complete request within the header timeout",
                );
            }
        }
        if this.head.is_none() {
            if let Some(wait) = this.pong_wait(cx) {
                return wait;
            }
        }
        let before = buf.filled().len();
        let read = match &mut this.stream {
            Stream::Tcp(tcp) => Pin::new(tcp).poll_read(cx, buf),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_read(cx, buf),
            Stream::Gone => return Poll::Ready(Ok(())),
        };
        if this.head.is_none()
            && matches!(read, Poll::Ready(Ok(())))
            && !connection.count_read(buf.filled().len() - before)
        {
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, UnfinishedTooLong)));
        }
        read
    }
}

impl AsyncWrite for Conn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.writing(std::iter::once(buf));
        let outcome = match &mut this.stream {
            Stream::Tcp(tcp) => Pin::new(tcp).poll_write(cx, buf),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_write(cx, buf),
            Stream::Gone => Poll::Ready(Ok(0)),
        };
        this.wrote(outcome)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.writing(bufs.iter().map(|buf| &**buf));
        let outcome = match &mut this.stream {
            Stream::Tcp(tcp) => Pin::new(tcp).poll_write_vectored(cx, bufs),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_write_vectored(cx, bufs),
            Stream::Gone => Poll::Ready(Ok(0)),
        };
        this.wrote(outcome)
    }

    fn is_write_vectored(&self) -> bool {
        match &self.stream {
            Stream::Tcp(tcp) => tcp.is_write_vectored(),
            Stream::Tls(tls) => tls.is_write_vectored(),
            Stream::Gone => false,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let outcome = match &mut this.stream {
            Stream::Tcp(tcp) => Pin::new(tcp).poll_flush(cx),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_flush(cx),
            Stream::Gone => Poll::Ready(Ok(())),
        };
        if matches!(outcome, Poll::Ready(Ok(()))) {
            this.connection().flushed();
            if let Some(read) = this.pong_waiter.take() {
                read.wake();
            }
        }
        this.wrote(outcome)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().stream {
            Stream::Tcp(tcp) => Pin::new(tcp).poll_shutdown(cx),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_shutdown(cx),
            Stream::Gone => Poll::Ready(Ok(())),
        }
    }
}
