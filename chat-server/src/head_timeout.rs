//! `--header-timeout`: a connection that sends no complete request in time is dropped.
//!
//! `axum::serve` runs hyper without a timer, and hyper's own `header_read_timeout` needs one
//! (without it hyper only logs "timeout `header_read_timeout` has default, but no timer set"),
//! so as served by axum a client could hold a connection for ever by sending its request head
//! one byte at a time, or nothing at all. [`HeadTimeout`] wraps the listener instead: every
//! connection's reads fail with `TimedOut` once the limit has passed since it was accepted or
//! since the server last wrote to it, and hyper then drops it. Because the server answers a
//! complete request at once, this bounds the time to each complete request head: the first
//! one and, on a kept-alive connection, each next one (idle time included). It stops applying
//! once the server answers `101 Switching Protocols`: a WebSocket may be quiet for as long as
//! it likes.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, Sleep};
use tracing::info;

/// A listener whose connections must send each request head within a limit.
#[derive(Debug)]
pub struct HeadTimeout {
    listener: TcpListener,
    limit: Option<Duration>,
}

impl HeadTimeout {
    /// Wraps `listener`; a `limit` of zero turns the timeout off.
    pub fn new(listener: TcpListener, limit: Duration) -> Self {
        Self {
            listener,
            limit: Some(limit).filter(|limit| !limit.is_zero()),
        }
    }
}

impl axum::serve::Listener for HeadTimeout {
    type Io = Bounded;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, peer) = axum::serve::Listener::accept(&mut self.listener).await;
        let state = match self.limit {
            Some(limit) => State::Http {
                limit,
                deadline: Box::pin(tokio::time::sleep(limit)),
                expired: false,
            },
            None => State::Open,
        };
        (Bounded { stream, peer, state }, peer)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.listener.local_addr()
    }
}

/// An accepted connection under [`HeadTimeout`].
#[derive(Debug)]
pub struct Bounded {
    stream: TcpStream,
    peer: SocketAddr,
    state: State,
}

#[derive(Debug)]
enum State {
    /// Plain HTTP: reads fail after `deadline` (reset at every write).
    Http {
        limit: Duration,
        deadline: Pin<Box<Sleep>>,
        /// Whether the deadline passed (logged once).
        expired: bool,
    },
    /// A WebSocket (or no limit): no deadline.
    Open,
}

/// The start of the answer that makes a connection a WebSocket.
const SWITCHING: &[u8] = b"HTTP/1.1 101 ";

impl Bounded {
    /// The TCP stream.
    pub fn tcp(&self) -> &TcpStream {
        &self.stream
    }

    /// Called before each write of `chunks`: the server answered, so the client gets `limit`
    /// again for its next request; a `101` answer lifts the deadline for good.
    fn writing<'a>(&mut self, mut chunks: impl Iterator<Item = &'a [u8]>) {
        if let State::Http { limit, deadline, .. } = &mut self.state {
            if chunks.any(|chunk| chunk.starts_with(SWITCHING)) {
                self.state = State::Open;
            } else {
                deadline.as_mut().reset(Instant::now() + *limit);
            }
        }
    }
}

impl AsyncRead for Bounded {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let State::Http {
            limit,
            deadline,
            expired,
        } = &mut this.state
        {
            if deadline.as_mut().poll(cx).is_ready() {
                if !std::mem::replace(expired, true) {
                    info!(peer = %this.peer, "dropped: no complete request within {limit:?}");
                }
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no complete request within the header timeout",
                )));
            }
        }
        Pin::new(&mut this.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Bounded {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.writing(std::iter::once(buf));
        Pin::new(&mut this.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.writing(bufs.iter().map(|buf| &**buf));
        Pin::new(&mut this.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
