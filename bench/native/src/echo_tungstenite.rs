//! The ceiling case: the echo server of the earlier runs, kept as it was and measured beside the
//! batching one ([`crate::echo_batching`]) so that the difference shows. Blocking tungstenite, a
//! thread per connection, `send` (write and flush) after every message, a 256 KiB read buffer.
//! tungstenite's flush hands each echo to [`Batched`], which writes it to the kernel just before
//! the thread would block reading; so the system calls follow the client's batches, but every
//! message pays tungstenite's whole read-and-send path in the server (and every read zero-fills
//! the 256 KiB buffer): the report shows its CPU next to the batching server's.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use tungstenite::protocol::WebSocketConfig;

/// Echoes written before any read, or once this much is waiting, whichever comes first.
const WRITE_OUT_AT: usize = 1 << 20;

/// A TCP stream whose writes wait in a buffer until the next read (or until it is large).
struct Batched {
    tcp: TcpStream,
    out: Vec<u8>,
}

impl Batched {
    fn write_out(&mut self) -> io::Result<()> {
        if !self.out.is_empty() {
            self.tcp.write_all(&self.out)?;
            self.out.clear();
        }
        Ok(())
    }
}

impl Read for Batched {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // tungstenite reads from the socket only when it has no complete frame buffered: this
        // is the moment to hand the echoes so far to the kernel, before blocking.
        self.write_out()?;
        self.tcp.read(buf)
    }
}

impl Write for Batched {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.extend_from_slice(buf);
        if self.out.len() >= WRITE_OUT_AT {
            self.write_out()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Serves one connection until it closes or fails.
pub fn serve(tcp: TcpStream) {
    let _ = tcp.set_nodelay(true);
    // Bounds: a client that stops reading or writing for a minute loses its connection.
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(120)));
    let _ = tcp.set_write_timeout(Some(Duration::from_secs(60)));
    let config = WebSocketConfig::default()
        .max_message_size(None)
        .max_frame_size(None)
        .read_buffer_size(256 << 10);
    let stream = Batched {
        tcp,
        out: Vec::with_capacity(64 << 10),
    };
    let Ok(mut ws) = tungstenite::accept_with_config(stream, Some(config)) else {
        return;
    };
    loop {
        match ws.read() {
            Ok(message) if message.is_text() || message.is_binary() => {
                if ws.send(message).is_err() {
                    break;
                }
            }
            Ok(_) => {} // pings are answered and closes replied to by tungstenite
            Err(_) => break,
        }
    }
    let _ = ws.flush();
    let _ = ws.get_mut().write_out();
}
