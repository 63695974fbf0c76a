//! One step of a proxy protocol over a non-blocking stream: send a request, then read the
//! proxy's answer, never past what the step needs (the bytes after it belong to the tunnel).

use std::io::{self, Read, Write};

use crate::error::ProxyFailure;

/// A request being sent and the answer read so far.
#[derive(Debug, Default)]
pub(super) struct Exchange {
    request: Vec<u8>,
    sent: usize,
    answer: Vec<u8>,
}

impl Exchange {
    /// A step that sends `request`.
    pub(super) fn new(request: Vec<u8>) -> Self {
        Self {
            request,
            sent: 0,
            answer: Vec::new(),
        }
    }

    /// The answer read so far.
    pub(super) fn answer(&self) -> &[u8] {
        &self.answer
    }

    /// Sends what is left of the request: `Ok(false)` if the stream would block first.
    pub(super) fn send(&mut self, stream: &mut impl Write) -> Result<bool, ProxyFailure> {
        while self.sent < self.request.len() {
            match stream.write(&self.request[self.sent..]) {
                Ok(0) => return Err(broken("the connection to the proxy closed while sending")),
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(broken(&format!("the connection to the proxy broke: {e}"))),
            }
        }
        Ok(true)
    }

    /// Reads until the answer holds `len` bytes, and no further: `Ok(false)` if the stream
    /// would block first.
    pub(super) fn read_to(&mut self, stream: &mut impl Read, len: usize) -> Result<bool, ProxyFailure> {
        while self.answer.len() < len {
            let wanted = len - self.answer.len();
            if !self.read_up_to(stream, wanted)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Reads what has arrived, at most `max` bytes: `Ok(false)` if nothing had.
    pub(super) fn read_up_to(&mut self, stream: &mut impl Read, max: usize) -> Result<bool, ProxyFailure> {
        let mut chunk = [0u8; 4096];
        let max = max.min(chunk.len());
        loop {
            match stream.read(&mut chunk[..max]) {
                Ok(0) => {
                    return Err(broken(if self.answer.is_empty() {
                        "the proxy closed the connection without answering"
                    } else {
                        "the proxy closed the connection in the middle of its answer"
                    }))
                }
                Ok(n) => {
                    self.answer.extend_from_slice(&chunk[..n]);
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(broken(&format!("the connection to the proxy broke: {e}"))),
            }
        }
    }
}

/// The failure for a connection to the proxy that broke or closed, `why`.
fn broken(why: &str) -> ProxyFailure {
    ProxyFailure::Protocol(why.to_string())
}
