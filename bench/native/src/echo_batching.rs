//! The batching echo server, used for every headline measure: a thread per connection reads
//! whatever has arrived (one read of up to 512 KiB), echoes every complete frame of it into one
//! buffer, and writes that buffer with one `write` before reading again. Frames are parsed and
//! unmasked in place ([`crate::wire`]); no message is copied but into the output buffer. Its
//! CPU is measured during every round (see the report's server line), so that it is shown not
//! to be the ceiling.

use std::io::{self, Write};
use std::net::TcpStream;

use crate::wire::{self, Handler, Header, Step};

/// How much one read asks for.
const READ_CHUNK: usize = 512 << 10;

/// One connection's echo state, owned by its thread.
struct Echo {
    tcp: TcpStream,
    out: Vec<u8>,
}

impl Handler for Echo {
    fn frame(&mut self, header: &Header, payload: &[u8]) -> Step {
        match header.opcode() {
            wire::OP_CONTINUATION | wire::OP_TEXT | wire::OP_BINARY => {
                wire::push_frame(&mut self.out, header.first, payload);
                Step::Continue
            }
            wire::OP_PING => {
                wire::push_frame(&mut self.out, 0x80 | wire::OP_PONG, payload);
                Step::Continue
            }
            wire::OP_PONG => Step::Continue,
            wire::OP_CLOSE => {
                wire::push_frame(&mut self.out, 0x80 | wire::OP_CLOSE, payload);
                Step::Stop
            }
            _ => {
                wire::push_frame(&mut self.out, 0x80 | wire::OP_CLOSE, &1002u16.to_be_bytes());
                Step::Stop
            }
        }
    }

    fn end_of_batch(&mut self) -> io::Result<()> {
        if !self.out.is_empty() {
            self.tcp.write_all(&self.out)?;
            self.out.clear();
        }
        Ok(())
    }
}

/// Serves one connection until it closes or fails.
pub fn serve(mut tcp: TcpStream) {
    let Ok(early) = wire::accept(&mut tcp) else {
        return;
    };
    let Ok(writer) = tcp.try_clone() else {
        return;
    };
    let mut echo = Echo {
        tcp: writer,
        out: Vec::with_capacity(64 << 10),
    };
    let mut reader = wire::Reader::new(early, READ_CHUNK);
    while reader.read_batch(&mut tcp, &mut echo) {}
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use tungstenite::Message;

    /// A batching server on 127.0.0.1 for one connection, served on a thread.
    fn serve_one() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("ws://{}/", listener.local_addr().unwrap());
        std::thread::spawn(move || super::serve(listener.accept().unwrap().0));
        url
    }

    #[test]
    fn every_size_class_is_echoed_intact_and_in_order() {
        let (mut ws, _) = tungstenite::connect(serve_one()).unwrap();
        let sizes = [0, 1, 5, 7, 125, 126, 1029, 65_535, 65_536, (1 << 20) + 3];
        for &size in &sizes {
            ws.write(Message::binary(
                (0..size).map(|i| (i % 251) as u8).collect::<Vec<u8>>(),
            ))
            .unwrap();
        }
        ws.write(Message::text("héllo")).unwrap();
        ws.flush().unwrap();
        for &size in &sizes {
            let echo = ws.read().unwrap().into_data();
            assert_eq!(echo.len(), size);
            assert!(
                echo.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8),
                "size {size}"
            );
        }
        assert_eq!(ws.read().unwrap(), Message::text("héllo"));
    }

    #[test]
    fn a_ping_is_answered_and_a_close_is_returned() {
        let (mut ws, _) = tungstenite::connect(serve_one()).unwrap();
        ws.send(Message::Ping(vec![1, 2, 3].into())).unwrap();
        assert_eq!(ws.read().unwrap(), Message::Pong(vec![1, 2, 3].into()));
        ws.close(None).unwrap();
        loop {
            match ws.read() {
                Ok(Message::Close(_)) => {}
                Err(tungstenite::Error::ConnectionClosed) => break,
                other => panic!("after close: {other:?}"),
            }
        }
    }
}
