//! The compression benchmark's server (`bench-native --serve compression`), for native
//! clients and pages alike, written so that it is not the ceiling:
//!
//! - `GET /payloads/KIND` (no upgrade): the feed's cycle as one blob ([`Feed::blob`]), so that
//!   a page sends and checks the same messages (with `Access-Control-Allow-Origin: *`);
//! - `/feed?payload=KIND`: the market-data case. On the client's text message `!go N` the
//!   server writes the next N messages of the feed, then a stats message. Every frame was made
//!   once at start-up, compressed by one deflate context running through the whole cycle, so a
//!   connection costs the server only its writes. That is valid permessage-deflate for every
//!   connection: each cycle's first message was compressed with an empty window, so the
//!   cycle's back-references never reach before it, whatever came first on the connection.
//! - `/upload?payload=KIND`: the client sends. The server inflates each message with the
//!   connection's own context and compares it with the feed's message at that position (a
//!   mismatch closes the connection with [`MISMATCH`], so compressing and not compressing are
//!   shown to deliver the same bytes), answers every [`ACK_EVERY`] messages with an ack, and
//!   on `!end` with the stats message. `!go` starts the counting.
//!
//! `deflate=0` in the query makes the server decline permessage-deflate (how a page, which
//! always offers it, gets an uncompressed connection). Otherwise the server accepts the first
//! `permessage-deflate` offer it can honour (answering plain `permessage-deflate`: both sides
//! then use 15-bit windows and keep their contexts) and declines offers that ask it to reset
//! its context or to narrow its window.
//!
//! Bytes on the wire are the WebSocket bytes (frame headers and payloads, not TCP/IP) of the
//! measured data messages, counted here. The server's own messages (acks, stats) and the
//! client's `!` messages are never counted and never compressed by the server.
//!
//! The stats message is binary, 16 bytes: wire bytes (u64 LE), data messages (u24 LE), whether
//! permessage-deflate is on (u8), and the CPU time the connection's thread spent on them, µs
//! (u32 LE: the feed's writes, or everything from `!go` to `!end`; read with
//! `CLOCK_THREAD_CPUTIME_ID`, so that the figure is the server's own whoever measures it, a
//! page included). An ack is binary, 8 bytes: the data messages received since `!go` (u64 LE).

use std::io::{self, Write};
use std::net::TcpStream;
use std::sync::Arc;

use super::codec::{Deflater, Inflater};
use super::payloads::{Feed, Kind};
use crate::wire::{self, Handler, Header, Step};

/// The server acknowledges every this many received data messages.
pub const ACK_EVERY: usize = 32;
/// The close code for an uploaded message that is not the feed's message at its position.
pub const MISMATCH: u16 = 4001;
/// How much one read asks for.
const READ_CHUNK: usize = 256 << 10;
/// An incoming (reassembled) message may be at most this long.
const MAX_MESSAGE: usize = 16 << 20;

/// One cycle of a feed as ready-made server frames.
struct Frames {
    bytes: Vec<u8>,
    /// Where each frame ends in `bytes`.
    ends: Vec<usize>,
}

impl Frames {
    fn new(feed: &Feed, deflate: bool) -> Frames {
        let opcode = if feed.kind.is_text() {
            wire::OP_TEXT
        } else {
            wire::OP_BINARY
        };
        let mut deflater = Deflater::new();
        let mut compressed = Vec::new();
        let mut frames = Frames {
            bytes: Vec::new(),
            ends: Vec::with_capacity(feed.messages.len()),
        };
        for message in &feed.messages {
            if deflate {
                compressed.clear();
                deflater.deflate(message, &mut compressed);
                wire::push_frame(&mut frames.bytes, 0x80 | 0x40 | opcode, &compressed);
            } else {
                wire::push_frame(&mut frames.bytes, 0x80 | opcode, message);
            }
            frames.ends.push(frames.bytes.len());
        }
        frames
    }

    /// Frames `from .. from + count` of the endless feed as at most a few slices of `bytes`
    /// (one per pass through the cycle), with their total length.
    fn slices(&self, from: usize, count: usize) -> (Vec<&[u8]>, u64) {
        let n = self.ends.len();
        let start_of = |i: usize| if i == 0 { 0 } else { self.ends[i - 1] };
        let mut slices = Vec::new();
        let (mut at, mut left, mut total) = (from % n, count, 0u64);
        while left > 0 {
            let take = left.min(n - at);
            let slice = &self.bytes[start_of(at)..self.ends[at + take - 1]];
            total += slice.len() as u64;
            slices.push(slice);
            left -= take;
            at = (at + take) % n;
        }
        (slices, total)
    }
}

/// Each payload's feed and its frames, made once when the server starts.
pub struct Prepared {
    feeds: Vec<(Feed, Frames, Frames)>,
}

impl Prepared {
    pub fn new() -> Prepared {
        Prepared {
            feeds: Kind::ALL
                .into_iter()
                .map(|kind| {
                    let feed = Feed::new(kind);
                    let (plain, deflated) = (Frames::new(&feed, false), Frames::new(&feed, true));
                    (feed, plain, deflated)
                })
                .collect(),
        }
    }

    fn get(&self, kind: Kind) -> &(Feed, Frames, Frames) {
        &self.feeds[Kind::ALL
            .iter()
            .position(|&k| k == kind)
            .expect("every kind is prepared")]
    }
}

/// What a connection was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Feed,
    Upload,
}

/// The request target's route and query: mode, payload, and whether deflate may be accepted.
fn route(target: &str) -> Option<(Mode, Kind, bool)> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mode = match path {
        "/feed" => Mode::Feed,
        "/upload" => Mode::Upload,
        _ => return None,
    };
    let (mut kind, mut allow_deflate) = (None, true);
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("payload", name)) => kind = Kind::from_name(name),
            Some(("deflate", value)) => allow_deflate = value != "0",
            _ => {}
        }
    }
    Some((mode, kind?, allow_deflate))
}

/// Whether one permessage-deflate offer (its parameters, RFC 7692 §7.1) can be accepted as
/// plain `permessage-deflate`: the client's own window and context parameters are hints the
/// answer may leave out; `server_no_context_takeover` and a `server_max_window_bits` below 15
/// would bind the server's compressor, which is prepared with a 15-bit window and one context.
pub fn acceptable_offer(offer: &str) -> bool {
    let mut params = offer.split(';').map(str::trim);
    if !params
        .next()
        .is_some_and(|name| name.eq_ignore_ascii_case("permessage-deflate"))
    {
        return false;
    }
    params.all(|param| {
        let (name, value) = param.split_once('=').map_or((param, None), |(n, v)| {
            (n.trim(), Some(v.trim().trim_matches('"')))
        });
        match name.to_ascii_lowercase().as_str() {
            "client_max_window_bits" | "client_no_context_takeover" => true,
            "server_max_window_bits" => value == Some("15"),
            _ => false,
        }
    })
}

/// Serves one connection (or one `GET /payloads/...`) until it closes or fails.
pub fn serve(prepared: Arc<Prepared>, mut tcp: TcpStream) {
    let Ok(request) = wire::read_http_request(&mut tcp) else {
        return;
    };
    let Some(accept_key) = request.accept_key() else {
        let blob = request
            .target
            .strip_prefix("/payloads/")
            .and_then(Kind::from_name)
            .map(|kind| prepared.get(kind).0.blob());
        let _ = match blob {
            Some(blob) => write!(
                tcp,
                "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: {}\r\n\
                 access-control-allow-origin: *\r\ncache-control: no-store\r\nconnection: close\r\n\r\n",
                blob.len()
            )
            .and_then(|()| tcp.write_all(&blob)),
            None => {
                tcp.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            }
        };
        return;
    };
    let Some((mode, kind, allow_deflate)) = route(&request.target) else {
        let _ = tcp.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n");
        return;
    };
    let deflate = allow_deflate
        && request
            .header_values("sec-websocket-extensions")
            .flat_map(|value| value.split(','))
            .any(acceptable_offer);
    let extension = if deflate {
        "Sec-WebSocket-Extensions: permessage-deflate\r\n"
    } else {
        ""
    };
    if wire::answer_with(&mut tcp, &accept_key, extension).is_err() {
        return;
    }
    let Ok(writer) = tcp.try_clone() else {
        return;
    };
    let mut connection = Connection {
        prepared,
        kind,
        mode,
        deflate,
        tcp: writer,
        out: Vec::with_capacity(4096),
        inflater: Inflater::new(),
        message: Vec::new(),
        message_first: 0,
        message_wire_bytes: 0,
        inflated: Vec::new(),
        data_index: 0,
        counting: Counting::start(),
    };
    let mut reader = wire::Reader::new(request.early, READ_CHUNK);
    while reader.read_batch(&mut tcp, &mut connection) {}
}

/// What is counted between `!go` and the stats message.
#[derive(Debug)]
struct Counting {
    wire_bytes: u64,
    messages: u64,
    /// This thread's CPU time at `!go`.
    cpu_start_ns: u64,
}

impl Counting {
    fn start() -> Counting {
        Counting {
            wire_bytes: 0,
            messages: 0,
            cpu_start_ns: thread_cpu_ns(),
        }
    }
}

/// The CPU time of the calling thread so far, ns.
fn thread_cpu_ns() -> u64 {
    // SAFETY: a zeroed timespec is valid; clock_gettime only writes it.
    let mut t: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: `t` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// One connection's state, owned by its thread.
struct Connection {
    prepared: Arc<Prepared>,
    kind: Kind,
    mode: Mode,
    deflate: bool,
    tcp: TcpStream,
    /// The server's small frames (acks, stats, pongs, close), written once per batch read.
    out: Vec<u8>,
    inflater: Inflater,
    /// The message being received: its frames' payloads so far, and its first frame's first
    /// byte (FIN, RSV1, opcode).
    message: Vec<u8>,
    message_first: u8,
    message_wire_bytes: u64,
    /// The last message inflated.
    inflated: Vec<u8>,
    /// Data messages received (upload) or sent (feed) since the connection opened: the feed's
    /// position.
    data_index: usize,
    counting: Counting,
}

impl Connection {
    fn stats(&mut self) {
        let cpu_us = (thread_cpu_ns() - self.counting.cpu_start_ns) / 1000;
        let mut stats = [0u8; 16];
        stats[..8].copy_from_slice(&self.counting.wire_bytes.to_le_bytes());
        stats[8..11].copy_from_slice(&self.counting.messages.min(0xff_ffff).to_le_bytes()[..3]);
        stats[11] = u8::from(self.deflate);
        stats[12..].copy_from_slice(&(cpu_us.min(u32::MAX as u64) as u32).to_le_bytes());
        wire::push_frame(&mut self.out, 0x80 | wire::OP_BINARY, &stats);
    }

    /// A client's `!` message (always text).
    fn command(&mut self, command: &[u8]) -> Step {
        match (self.mode, command) {
            (Mode::Feed, [b'!', b'g', b'o', b' ', count @ ..]) => {
                let Some(count) = std::str::from_utf8(count)
                    .ok()
                    .and_then(|c| c.parse::<usize>().ok())
                else {
                    return self.fail(1007);
                };
                self.feed(count)
            }
            (Mode::Upload, b"!go") => {
                self.counting = Counting::start();
                Step::Continue
            }
            (Mode::Upload, b"!end") => {
                self.stats();
                Step::Continue
            }
            _ => self.fail(1008),
        }
    }

    /// Writes the feed's next `count` messages, then the stats message.
    fn feed(&mut self, count: usize) -> Step {
        self.counting = Counting::start();
        let (_, plain, deflated) = self.prepared.get(self.kind);
        let frames = if self.deflate { deflated } else { plain };
        let (slices, total) = frames.slices(self.data_index, count);
        for slice in slices {
            if self.tcp.write_all(slice).is_err() {
                return Step::Stop;
            }
        }
        self.data_index += count;
        self.counting.wire_bytes = total;
        self.counting.messages = count as u64;
        self.stats();
        Step::Continue
    }

    /// A complete data message (reassembled, still compressed if RSV1 was set).
    fn message(&mut self, first: u8, payload: &[u8], wire_bytes: u64) -> Step {
        let compressed = first & 0x40 != 0;
        if compressed && !self.deflate {
            return self.fail(1002);
        }
        let mut inflated = std::mem::take(&mut self.inflated);
        let message = if compressed {
            if self.inflater.inflate(payload, &mut inflated).is_err() {
                self.inflated = inflated;
                return self.fail(1007);
            }
            &inflated[..]
        } else {
            payload
        };
        let is_text = first & 0x0F == wire::OP_TEXT;
        let step = if is_text && message.first() == Some(&b'!') {
            let command = message.to_vec();
            self.command(&command)
        } else if self.mode == Mode::Upload {
            let expected = self.prepared.get(self.kind).0.message(self.data_index);
            if message != expected || is_text != self.kind.is_text() {
                self.inflated = inflated;
                let reason = format!("message {} differs from the feed", self.data_index);
                return self.fail_with(MISMATCH, &reason);
            }
            self.data_index += 1;
            self.counting.messages += 1;
            self.counting.wire_bytes += wire_bytes;
            if self.counting.messages.is_multiple_of(ACK_EVERY as u64) {
                wire::push_frame(
                    &mut self.out,
                    0x80 | wire::OP_BINARY,
                    &self.counting.messages.to_le_bytes(),
                );
            }
            Step::Continue
        } else {
            self.fail(1008)
        };
        self.inflated = inflated;
        step
    }

    fn fail(&mut self, code: u16) -> Step {
        self.fail_with(code, "")
    }

    /// Closes the connection with `code` and `reason`.
    fn fail_with(&mut self, code: u16, reason: &str) -> Step {
        let mut payload = code.to_be_bytes().to_vec();
        payload.extend_from_slice(reason.as_bytes());
        wire::push_frame(&mut self.out, 0x80 | wire::OP_CLOSE, &payload);
        Step::Stop
    }
}

impl Handler for Connection {
    fn frame(&mut self, header: &Header, payload: &[u8]) -> Step {
        let fin = header.first & 0x80 != 0;
        match header.opcode() {
            wire::OP_TEXT | wire::OP_BINARY if fin && self.message.is_empty() => {
                self.message(header.first, payload, header.frame_len() as u64)
            }
            wire::OP_TEXT | wire::OP_BINARY if self.message.is_empty() => {
                self.message_first = header.first;
                self.message.extend_from_slice(payload);
                self.message_wire_bytes = header.frame_len() as u64;
                Step::Continue
            }
            wire::OP_CONTINUATION if self.message_first != 0 => {
                if self.message.len() + payload.len() > MAX_MESSAGE {
                    return self.fail(1009);
                }
                self.message.extend_from_slice(payload);
                self.message_wire_bytes += header.frame_len() as u64;
                if !fin {
                    return Step::Continue;
                }
                let (first, message) = (self.message_first, std::mem::take(&mut self.message));
                self.message_first = 0;
                let step = self.message(first, &message, self.message_wire_bytes);
                self.message = message;
                self.message.clear();
                step
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
            _ => self.fail(1002),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chromiums_and_yawcs_offers_are_accepted_and_binding_ones_declined() {
        assert!(acceptable_offer("permessage-deflate; client_max_window_bits"));
        assert!(acceptable_offer("permessage-deflate"));
        assert!(acceptable_offer(
            "permessage-deflate; client_max_window_bits=12; client_no_context_takeover"
        ));
        assert!(acceptable_offer(
            " permessage-deflate ; server_max_window_bits=15"
        ));
        assert!(!acceptable_offer(
            "permessage-deflate; server_no_context_takeover"
        ));
        assert!(!acceptable_offer("permessage-deflate; server_max_window_bits=10"));
        assert!(!acceptable_offer("permessage-deflate; unknown_param"));
        assert!(!acceptable_offer("x-webkit-deflate-frame"));
    }

    #[test]
    fn an_upload_that_differs_from_the_feed_is_closed_with_the_mismatch_code() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("ws://{}/upload?payload=json", listener.local_addr().unwrap());
        std::thread::spawn(move || serve(Arc::new(Prepared::new()), listener.accept().unwrap().0));
        let (mut ws, _) = tungstenite::connect(url).unwrap();
        ws.send(tungstenite::Message::text("!go")).unwrap();
        ws.send(tungstenite::Message::text("{\"type\":\"not the feed\"}"))
            .unwrap();
        match ws.read() {
            Ok(tungstenite::Message::Close(Some(close))) => {
                assert_eq!(u16::from(close.code), MISMATCH);
                assert_eq!(close.reason.as_str(), "message 0 differs from the feed");
            }
            other => panic!("expected the mismatch close, got {other:?}"),
        }
    }

    #[test]
    fn routes_name_a_mode_and_a_payload() {
        assert_eq!(route("/feed?payload=json"), Some((Mode::Feed, Kind::Json, true)));
        assert_eq!(
            route("/upload?payload=random&deflate=0"),
            Some((Mode::Upload, Kind::Random, false))
        );
        assert_eq!(route("/feed"), None);
        assert_eq!(route("/other?payload=json"), None);
    }

    /// Inflates the frames of `count` messages from `from` with one fresh context, as a client
    /// that connected and was sent them would.
    fn inflate_feed(frames: &Frames, from: usize, count: usize) -> Vec<Vec<u8>> {
        let (slices, total) = frames.slices(from, count);
        let bytes = slices.concat();
        assert_eq!(bytes.len() as u64, total);
        let mut inflater = Inflater::new();
        let (mut at, mut out) = (0, Vec::new());
        while at < bytes.len() {
            assert_eq!(bytes[at] & 0xC0, 0xC0, "FIN and RSV1 on every compressed frame");
            // A server frame's header: no mask; a 7-bit length, or 126/127 and 2/8 more bytes.
            let (header_len, len) = match bytes[at + 1] {
                126 => (4, u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]) as usize),
                127 => (
                    10,
                    u64::from_be_bytes(bytes[at + 2..at + 10].try_into().unwrap()) as usize,
                ),
                n => (2, n as usize),
            };
            let mut message = Vec::new();
            inflater
                .inflate(&bytes[at + header_len..at + header_len + len], &mut message)
                .unwrap();
            out.push(message);
            at += header_len + len;
        }
        out
    }

    #[test]
    fn the_prepared_compressed_feed_inflates_to_the_feed_from_any_cycle_start_and_across_cycles() {
        let feed = Feed::new(Kind::Json);
        let frames = Frames::new(&feed, true);
        let n = feed.messages.len();
        // From the start, through two cycles: each cycle start is valid after anything.
        let got = inflate_feed(&frames, 0, 2 * n + 5);
        for (i, message) in got.iter().enumerate() {
            assert_eq!(message.as_slice(), feed.message(i), "message {i}");
        }
        // Compressed, the JSON feed is much smaller.
        let plain = Frames::new(&feed, false);
        assert!(
            frames.bytes.len() * 3 < plain.bytes.len(),
            "{} vs {}",
            frames.bytes.len(),
            plain.bytes.len()
        );
    }
}
