//! The byte stream under tungstenite (native): plain TCP or TLS over a non-blocking mio
//! socket, counting the bytes written so that `buffered_amount` can fall as they leave.

use std::io::{self, Read, Write};

use mio::net::TcpStream;
use rustls::{ClientConnection, StreamOwned};

/// Plain TCP or TLS.
pub(crate) enum Transport {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

/// A transport that counts what it has written since the last [`Counted::take_written`].
/// For TLS the count is of plaintext bytes accepted by rustls (whose buffer is bounded).
pub(crate) struct Counted {
    transport: Transport,
    written: usize,
}

impl Counted {
    pub(crate) fn new(transport: Transport) -> Self {
        Self {
            transport,
            written: 0,
        }
    }

    /// The bytes written since the last call.
    pub(crate) fn take_written(&mut self) -> usize {
        std::mem::take(&mut self.written)
    }
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.transport {
            Transport::Plain(tcp) => tcp.read(buf),
            Transport::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for Counted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = match &mut self.transport {
            Transport::Plain(tcp) => tcp.write(buf)?,
            Transport::Tls(tls) => tls.write(buf)?,
        };
        self.written += n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.transport {
            Transport::Plain(tcp) => tcp.flush(),
            Transport::Tls(tls) => tls.flush(),
        }
    }
}
