//! The broadcast server of the fan-out measure: every data frame a connection sends is written
//! to every other connection. A thread per connection reads (as in [`crate::echo_batching`]);
//! the frames of one read are encoded once, unmasked, into one buffer, and the reading thread
//! writes that buffer to each other connection with one `write` each. That is the least a
//! broadcast can cost (one system call per recipient), so that the receiving clients are what
//! the measure compares; its CPU per broadcast is measured and reported.

use std::io::{self, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::wire::{self, Handler, Header, Step};

const READ_CHUNK: usize = 64 << 10;

/// A recipient that does not take a broadcast in this long is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Every connection's write handle, by connection id. Owned by the server process; each
/// connection's thread adds and removes its own entry and writes to the others under the lock.
#[derive(Default)]
pub struct Hub {
    members: Mutex<Vec<(u64, TcpStream)>>,
    next_id: AtomicU64,
}

/// One connection's reading side, owned by its thread.
struct Member {
    id: u64,
    hub: Arc<Hub>,
    /// The data frames of the current read, encoded for the recipients.
    broadcast: Vec<u8>,
    /// Pongs and the close reply, for this connection only.
    replies: Vec<u8>,
    tcp: TcpStream,
}

impl Handler for Member {
    fn frame(&mut self, header: &Header, payload: &[u8]) -> Step {
        match header.opcode() {
            wire::OP_CONTINUATION | wire::OP_TEXT | wire::OP_BINARY => {
                wire::push_frame(&mut self.broadcast, header.first, payload);
                Step::Continue
            }
            wire::OP_PING => {
                wire::push_frame(&mut self.replies, 0x80 | wire::OP_PONG, payload);
                Step::Continue
            }
            wire::OP_PONG => Step::Continue,
            wire::OP_CLOSE => {
                wire::push_frame(&mut self.replies, 0x80 | wire::OP_CLOSE, payload);
                Step::Stop
            }
            _ => {
                wire::push_frame(&mut self.replies, 0x80 | wire::OP_CLOSE, &1002u16.to_be_bytes());
                Step::Stop
            }
        }
    }

    fn end_of_batch(&mut self) -> io::Result<()> {
        if !self.broadcast.is_empty() {
            let mut members = self.hub.members.lock().unwrap_or_else(|e| e.into_inner());
            members.retain_mut(|(id, tcp)| *id == self.id || tcp.write_all(&self.broadcast).is_ok());
            drop(members);
            self.broadcast.clear();
        }
        if !self.replies.is_empty() {
            self.tcp.write_all(&self.replies)?;
            self.replies.clear();
        }
        Ok(())
    }
}

/// Serves one connection of the hub until it closes or fails.
pub fn serve(hub: Arc<Hub>, mut tcp: TcpStream) {
    let Ok((accept_key, early)) = wire::read_request(&mut tcp) else {
        return;
    };
    let (Ok(writer), Ok(replies)) = (tcp.try_clone(), tcp.try_clone()) else {
        return;
    };
    let _ = writer.set_write_timeout(Some(WRITE_TIMEOUT));
    let id = hub.next_id.fetch_add(1, Ordering::Relaxed);
    {
        // Answered under the lock: no broadcast can reach the client before its 101, and every
        // client that has seen its 101 is a member.
        let mut members = hub.members.lock().unwrap_or_else(|e| e.into_inner());
        if wire::answer(&mut tcp, &accept_key).is_err() {
            return;
        }
        members.push((id, writer));
    }
    let mut member = Member {
        id,
        hub: hub.clone(),
        broadcast: Vec::with_capacity(4096),
        replies: Vec::new(),
        tcp: replies,
    };
    let mut reader = wire::Reader::new(early, READ_CHUNK);
    while reader.read_batch(&mut tcp, &mut member) {}
    hub.members
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|(member, _)| *member != id);
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::sync::Arc;
    use std::time::Duration;

    use tungstenite::Message;

    #[test]
    fn a_message_reaches_every_other_connection_and_not_its_sender() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("ws://{}/", listener.local_addr().unwrap());
        let hub = Arc::new(super::Hub::default());
        std::thread::spawn(move || {
            for tcp in listener.incoming().take(3) {
                let hub = hub.clone();
                std::thread::spawn(move || super::serve(hub, tcp.unwrap()));
            }
        });
        let mut clients: Vec<_> = (0..3).map(|_| tungstenite::connect(&url).unwrap().0).collect();
        clients[0].send(Message::binary(vec![7u8; 300])).unwrap();
        for receiver in &mut clients[1..] {
            assert_eq!(receiver.read().unwrap(), Message::binary(vec![7u8; 300]));
        }
        // The sender gets nothing: its next message is the pong to its own ping.
        let sender = &mut clients[0];
        if let tungstenite::stream::MaybeTlsStream::Plain(tcp) = sender.get_mut() {
            tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        }
        sender.send(Message::Ping(vec![9].into())).unwrap();
        assert_eq!(sender.read().unwrap(), Message::Pong(vec![9].into()));
    }
}
