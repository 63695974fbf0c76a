//! A server-side connection: plain TCP or TLS over TCP.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::{ServerConfig, ServerConnection, StreamOwned};

/// What a TLS connection negotiated.
pub struct TlsDetails {
    /// The application protocol (ALPN), if one was.
    pub alpn: Option<Vec<u8>>,
    /// The client's certificate chain (DER), empty when it sent none.
    pub client_chain: Vec<Vec<u8>>,
}

/// A blocking connection to one client.
pub enum Conn {
    /// A plain TCP connection (`ws`).
    Plain(TcpStream),
    /// A TLS connection (`wss`); the TLS handshake happens on the first read or write.
    Tls(Box<StreamOwned<ServerConnection, TcpStream>>),
}

impl Conn {
    /// Wraps `tcp` in a TLS server connection.
    pub fn tls(tcp: TcpStream, config: Arc<ServerConfig>) -> Result<Self, rustls::Error> {
        let session = ServerConnection::new(config)?;
        Ok(Conn::Tls(Box::new(StreamOwned::new(session, tcp))))
    }

    /// The underlying TCP stream.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(tcp) => tcp,
            Conn::Tls(tls) => &tls.sock,
        }
    }

    /// What TLS negotiated; `None` for plain TCP.
    pub fn tls_details(&self) -> Option<TlsDetails> {
        match self {
            Conn::Plain(_) => None,
            Conn::Tls(tls) => Some(TlsDetails {
                alpn: tls.conn.alpn_protocol().map(<[u8]>::to_vec),
                client_chain: tls
                    .conn
                    .peer_certificates()
                    .map(|chain| chain.iter().map(|cert| cert.to_vec()).collect())
                    .unwrap_or_default(),
            }),
        }
    }

    /// Sets the read timeout of the TCP stream (`None` is never used: every read is bounded).
    pub fn set_read_timeout(&self, timeout: Duration) -> io::Result<()> {
        self.tcp()
            .set_read_timeout(Some(timeout.max(Duration::from_millis(1))))
    }

    /// Sets the write timeout of the TCP stream.
    pub fn set_write_timeout(&self, timeout: Duration) -> io::Result<()> {
        self.tcp().set_write_timeout(Some(timeout))
    }

    /// Shuts the TCP connection down in both directions, without any TLS `close_notify`.
    pub fn abort(&self) {
        let _ = self.tcp().shutdown(Shutdown::Both);
    }

    /// Closes the connection gracefully: flushes, sends the TLS `close_notify`, shuts the
    /// write side down, then reads and discards until the client closes its side (or
    /// `linger` passes), so that the client surely receives everything that was sent.
    pub fn finish(mut self, linger: Duration) {
        let _ = self.flush();
        if let Conn::Tls(tls) = &mut self {
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
        let _ = self.tcp().shutdown(Shutdown::Write);
        self.drain_until(Instant::now() + linger);
    }

    /// Reads and discards until end of file, an error, or `deadline`.
    ///
    /// Reads the TCP stream directly, so that nothing is ever written back (no TLS alert
    /// either). Returns true when the client closed the connection.
    pub fn drain_until(&mut self, deadline: Instant) -> bool {
        let mut buf = [0u8; 8192];
        loop {
            let now = Instant::now();
            if now >= deadline || self.set_read_timeout(deadline - now).is_err() {
                return false;
            }
            match self.tcp().read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) if matches!(err.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                    return false
                }
                Err(_) => return true,
            }
        }
    }
}

/// True for the errors a read timeout gives.
pub fn is_timeout(err: &io::Error) -> bool {
    matches!(err.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(tcp) => tcp.read(buf),
            Conn::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(tcp) => tcp.write(buf),
            Conn::Tls(tls) => tls.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(tcp) => tcp.flush(),
            Conn::Tls(tls) => tls.flush(),
        }
    }
}
