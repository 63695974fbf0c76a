//! The byte stream under the WebSocket session (native): plain TCP or TLS over a non-blocking
//! mio socket.

use std::io::{self, Read, Write};

use mio::net::TcpStream;
use rustls::{ClientConnection, StreamOwned};

/// Plain TCP or TLS.
pub(crate) enum Transport {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Transport {
    /// The TCP stream (to register or deregister it with the poller).
    pub(crate) fn tcp(&mut self) -> &mut TcpStream {
        match self {
            Self::Plain(tcp) => tcp,
            Self::Tls(tls) => &mut tls.sock,
        }
    }

    /// `true` when a read that returns less than asked has emptied the kernel's queue, so the
    /// next read would only say `WouldBlock` (data arriving later raises a new readiness
    /// event). Plain TCP only: rustls may hold decrypted data back.
    pub(crate) fn short_read_drains(&self) -> bool {
        matches!(self, Self::Plain(_))
    }
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Plain(tcp) => tcp.read(buf),
            Self::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Plain(tcp) => tcp.write(buf),
            Self::Tls(tls) => tls.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(tcp) => tcp.flush(),
            Self::Tls(tls) => tls.flush(),
        }
    }
}
