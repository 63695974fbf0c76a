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
///
/// It also saves the read that would only say "would block": a plain TCP read that returns
/// less than asked has emptied the kernel's queue, so the next read answers `WouldBlock`
/// without a system call, since data arriving later raises a new readiness event. The peer's
/// end of stream is the exception: it may already be pending behind the data with its event
/// already seen, so the I/O thread only trusts short reads after an event that did not report
/// it (see [`Counted::readiness`]).
pub(crate) struct Counted {
    transport: Transport,
    written: usize,
    /// Short reads count as "drained" (set per readiness event).
    trust_short_reads: bool,
    /// The last read was short: the next one would block.
    drained: bool,
}

impl Counted {
    pub(crate) fn new(transport: Transport) -> Self {
        Self {
            transport,
            written: 0,
            trust_short_reads: false,
            drained: false,
        }
    }

    /// Reading starts again after a readiness event (or another turn): the next read goes to
    /// the socket, and later short reads mean "drained" only if `trust_short_reads` (the
    /// event reported neither the peer's end of stream nor an error).
    pub(crate) fn readiness(&mut self, trust_short_reads: bool) {
        self.trust_short_reads = trust_short_reads;
        self.drained = false;
    }

    /// The bytes written since the last call.
    pub(crate) fn take_written(&mut self) -> usize {
        std::mem::take(&mut self.written)
    }
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.transport {
            Transport::Plain(_) if std::mem::take(&mut self.drained) => Err(io::ErrorKind::WouldBlock.into()),
            Transport::Plain(tcp) => {
                let n = tcp.read(buf)?;
                self.drained = self.trust_short_reads && n > 0 && n < buf.len();
                Ok(n)
            }
            // rustls may hold decrypted data back: a short read says nothing about the socket.
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
