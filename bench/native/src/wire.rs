//! The servers' side of the WebSocket wire (RFC 6455), written to cost as little as possible so
//! that the clients, not the servers, are what the benchmark measures: the opening handshake
//! (the request's headers read with `httparse`, the accept key from tungstenite), client frames
//! parsed and unmasked in the read buffer, server frames (unmasked) appended to an output
//! buffer. Payloads are not validated (an echo of valid UTF-8 is valid UTF-8) and messages are
//! not reassembled: a fragmented message is echoed fragment by fragment, which is valid too.

use std::io::{self, Read, Write};
use std::net::TcpStream;

/// The upgrade request may be at most this long.
const MAX_REQUEST: usize = 16 << 10;

/// Opcodes (RFC 6455 §5.2).
pub const OP_CONTINUATION: u8 = 0x0;
pub const OP_TEXT: u8 = 0x1;
pub const OP_BINARY: u8 = 0x2;
pub const OP_CLOSE: u8 = 0x8;
pub const OP_PING: u8 = 0x9;
pub const OP_PONG: u8 = 0xA;

/// Reads the client's upgrade request and answers `101 Switching Protocols`. Returns whatever
/// the client sent after the request (normally nothing: a client waits for the answer).
///
/// # Errors
///
/// As [`read_request`] and [`answer`].
pub fn accept(tcp: &mut TcpStream) -> io::Result<Vec<u8>> {
    let (accept_key, early) = read_request(tcp)?;
    answer(tcp, &accept_key)?;
    Ok(early)
}

/// Reads the client's upgrade request. Returns the `Sec-WebSocket-Accept` value to answer with
/// and whatever the client sent after the request.
///
/// # Errors
///
/// As [`read_http_request`]; `InvalidData` for a request without `Sec-WebSocket-Key`.
pub fn read_request(tcp: &mut TcpStream) -> io::Result<(String, Vec<u8>)> {
    let request = read_http_request(tcp)?;
    let accept_key = request
        .accept_key()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no Sec-WebSocket-Key"))?;
    Ok((accept_key, request.early))
}

/// An HTTP request as read from a connection.
pub struct Request {
    /// The request target: path and query.
    pub target: String,
    /// Every header, in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// Whatever the client sent after the request.
    pub early: Vec<u8>,
}

impl Request {
    /// The values of every header called `name` (ignoring case), in order.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `Sec-WebSocket-Accept` value for the request's `Sec-WebSocket-Key`, if it has one.
    pub fn accept_key(&self) -> Option<String> {
        self.header_values("sec-websocket-key")
            .next()
            .map(|key| tungstenite::handshake::derive_accept_key(key.trim().as_bytes()))
    }
}

/// Reads one HTTP request (its head; a body is not read).
///
/// # Errors
///
/// The connection's I/O errors; `InvalidData` for a request that is not an HTTP request or is
/// longer than 16 KiB.
pub fn read_http_request(tcp: &mut TcpStream) -> io::Result<Request> {
    let mut buf = Vec::with_capacity(2048);
    let mut chunk = [0u8; 2048];
    loop {
        let n = tcp.read(&mut chunk)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut request = httparse::Request::new(&mut headers);
        let parsed = request
            .parse(&buf)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("upgrade request: {e}")))?;
        match parsed {
            httparse::Status::Complete(len) => {
                return Ok(Request {
                    target: request.path.unwrap_or("/").to_string(),
                    headers: request
                        .headers
                        .iter()
                        .map(|h| (h.name.to_string(), String::from_utf8_lossy(h.value).into_owned()))
                        .collect(),
                    early: buf.split_off(len),
                });
            }
            httparse::Status::Partial if buf.len() < MAX_REQUEST => {}
            httparse::Status::Partial => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "upgrade request too long",
                ))
            }
        }
    }
}

/// Answers an upgrade request with `101 Switching Protocols`.
///
/// # Errors
///
/// The connection's write errors.
pub fn answer(tcp: &mut TcpStream, accept_key: &str) -> io::Result<()> {
    answer_with(tcp, accept_key, "")
}

/// Answers an upgrade request with `101 Switching Protocols` and `extra_headers` (each line
/// ending in `\r\n`).
///
/// # Errors
///
/// The connection's write errors.
pub fn answer_with(tcp: &mut TcpStream, accept_key: &str, extra_headers: &str) -> io::Result<()> {
    write!(
        tcp,
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept_key}\r\n{extra_headers}\r\n"
    )
}

/// One client frame's header, parsed from the start of a buffer.
#[derive(Debug, Clone, Copy)]
pub struct Header {
    /// FIN, RSV and opcode: the first byte, as the client sent it.
    pub first: u8,
    pub mask: [u8; 4],
    pub header_len: usize,
    pub payload_len: usize,
}

impl Header {
    pub fn opcode(&self) -> u8 {
        self.first & 0x0F
    }

    /// Header and payload.
    pub fn frame_len(&self) -> usize {
        self.header_len + self.payload_len
    }
}

/// Parses the header of the client frame at the start of `buf`: `Ok(None)` while the header is
/// incomplete (the payload may still be incomplete when it returns a header).
///
/// # Errors
///
/// `InvalidData` for an unmasked frame (a client must mask) or a length above 2^62.
pub fn parse_header(buf: &[u8]) -> io::Result<Option<Header>> {
    if buf.len() < 2 {
        return Ok(None);
    }
    if buf[1] & 0x80 == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "unmasked client frame",
        ));
    }
    let (payload_len, len_bytes) = match buf[1] & 0x7F {
        126 if buf.len() >= 4 => (u16::from_be_bytes([buf[2], buf[3]]) as u64, 2),
        127 if buf.len() >= 10 => (u64::from_be_bytes(buf[2..10].try_into().expect("8 bytes")), 8),
        126 | 127 => return Ok(None),
        n => (n as u64, 0),
    };
    if payload_len > 1 << 62 {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "frame length"));
    }
    let header_len = 2 + len_bytes + 4;
    if buf.len() < header_len {
        return Ok(None);
    }
    Ok(Some(Header {
        first: buf[0],
        mask: buf[2 + len_bytes..header_len].try_into().expect("4 bytes"),
        header_len,
        payload_len: payload_len as usize,
    }))
}

/// Unmasks `payload` in place (eight bytes at a time: the mask repeats every four).
pub fn unmask(payload: &mut [u8], mask: [u8; 4]) {
    let wide = u64::from_ne_bytes([
        mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3],
    ]);
    let mut chunks = payload.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let value = u64::from_ne_bytes((&*chunk).try_into().expect("8 bytes")) ^ wide;
        chunk.copy_from_slice(&value.to_ne_bytes());
    }
    for (i, byte) in chunks.into_remainder().iter_mut().enumerate() {
        *byte ^= mask[i % 4];
    }
}

/// Appends an unmasked server frame: header (`first` = FIN, RSV and opcode) and payload.
pub fn push_frame(out: &mut Vec<u8>, first: u8, payload: &[u8]) {
    out.push(first);
    match payload.len() {
        n if n < 126 => out.push(n as u8),
        n if n <= u16::MAX as usize => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
}

/// What a connection's reader does with one complete, unmasked client frame.
pub enum Step {
    /// Go on reading.
    Continue,
    /// The connection is over (a close frame was answered, or the frame was invalid).
    Stop,
}

/// A server's handling of what [`Reader::read_batch`] reads.
pub trait Handler {
    /// One complete client frame, unmasked.
    fn frame(&mut self, header: &Header, payload: &[u8]) -> Step;
    /// Called once after the frames of one read: where a server writes what they produced.
    ///
    /// # Errors
    ///
    /// The connection's write errors (the connection then ends).
    fn end_of_batch(&mut self) -> io::Result<()>;
}

/// A connection's read side: a buffer that holds at least one whole frame, read from the
/// socket in large reads. Owned by the connection's thread.
pub struct Reader {
    buf: Vec<u8>,
    filled: usize,
    /// Bytes of `buf` asked for in each read (more when a frame is larger).
    chunk: usize,
}

impl Reader {
    /// `early`: bytes that came with the handshake. `chunk`: how much one read asks for.
    pub fn new(early: Vec<u8>, chunk: usize) -> Reader {
        let filled = early.len();
        let mut buf = early;
        buf.resize(filled.max(chunk), 0);
        Reader { buf, filled, chunk }
    }

    /// Reads once (blocking: whatever is there, up to the chunk size or the frame in progress)
    /// and hands every complete frame, unmasked, to the handler, then calls its `end_of_batch`
    /// once. Returns `false` when the connection ended (EOF, an error, or the handler said stop).
    pub fn read_batch(&mut self, tcp: &mut TcpStream, handler: &mut impl Handler) -> bool {
        // Room for the frame in progress (a frame is handled only once it is whole).
        let needed = match parse_header(&self.buf[..self.filled]) {
            Ok(Some(header)) => header.frame_len(),
            Ok(None) => 0,
            Err(_) => return false,
        };
        let want = (self.filled + self.chunk).max(needed);
        if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
        match tcp.read(&mut self.buf[self.filled..]) {
            Ok(0) | Err(_) => return false,
            Ok(n) => self.filled += n,
        }
        let mut start = 0;
        let mut go_on = true;
        while go_on {
            let header = match parse_header(&self.buf[start..self.filled]) {
                Ok(Some(header)) if header.frame_len() <= self.filled - start => header,
                Ok(_) => break,
                Err(_) => return false,
            };
            let payload = &mut self.buf[start + header.header_len..start + header.frame_len()];
            unmask(payload, header.mask);
            go_on = matches!(handler.frame(&header, payload), Step::Continue);
            start += header.frame_len();
        }
        if handler.end_of_batch().is_err() || !go_on {
            return false;
        }
        self.buf.copy_within(start..self.filled, 0);
        self.filled -= start;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmask_undoes_masking_at_every_length() {
        let mask = [0x12, 0x34, 0x56, 0x78];
        for len in 0..40 {
            let plain: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut masked: Vec<u8> = plain.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]).collect();
            unmask(&mut masked, mask);
            assert_eq!(masked, plain, "length {len}");
        }
    }

    #[test]
    fn header_lengths_of_every_size_class() {
        for (len, header_len) in [(5usize, 6usize), (126, 8), (70_000, 14)] {
            let mut frame = Vec::new();
            push_frame(&mut frame, 0x82, &vec![0; len]);
            // Turn the server frame into a client frame: set the mask bit, insert a mask key.
            let at = frame.len() - len;
            frame[1] |= 0x80;
            frame.splice(at..at, [1, 2, 3, 4]);
            let header = parse_header(&frame).unwrap().unwrap();
            assert_eq!(
                (header.payload_len, header.header_len, header.opcode()),
                (len, header_len, OP_BINARY)
            );
            assert!(parse_header(&frame[..header_len - 1]).unwrap().is_none());
        }
    }

    #[test]
    fn an_unmasked_client_frame_is_refused() {
        assert!(parse_header(&[0x81, 0x01, b'x']).is_err());
    }
}
