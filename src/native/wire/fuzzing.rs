//! The fuzz targets' drivers (`--cfg fuzzing`): arbitrary server bytes through a session, and
//! arbitrary `Sec-WebSocket-Extensions` answers through the negotiation. Any panic is a bug;
//! the assertions are the layer's promises. The unit tests run them on the committed seeds
//! (`fuzz/corpus/wire*`) and on mutations of them.

use bytes::BytesMut;
use flate2::{Decompress, FlushDecompress};

use super::close::Ending;
use super::extension::{self, DeflateParams};
use super::session::{Received, Session, SessionConfig};
use super::violation::Violation;

/// The message limits the first byte chooses from.
const LIMITS: [Option<usize>; 4] = [None, Some(0), Some(125), Some(1 << 16)];

/// Feeds `data` to a session as the server's bytes. The first byte chooses the settings: bit 0
/// deflate, bits 1 and 2 its context takeover flags, bits 3-4 the limit, bits 5-7 how many
/// bytes arrive at a time (1 to 8, or all at once). Every message is echoed back, and the
/// client's frames are checked to inflate back to the message.
pub fn session_bytes(data: &[u8]) {
    let Some((&settings, data)) = data.split_first() else {
        return;
    };
    let deflate = (settings & 1 != 0).then_some(DeflateParams {
        server_no_context_takeover: settings & 2 != 0,
        client_no_context_takeover: settings & 4 != 0,
        server_max_window_bits: None,
        client_max_window_bits: None,
    });
    let max_message_size = LIMITS[usize::from(settings >> 3 & 3)];
    let piece = match settings >> 5 {
        0 => data.len().max(1),
        n => usize::from(n),
    };
    let mut session = Session::new(SessionConfig {
        max_message_size,
        deflate,
    });
    let mut echo_decoder = Decompress::new_with_window_bits(false, 15);
    let mut input = BytesMut::new();
    let mut out = Vec::new();
    for chunk in data.chunks(piece) {
        input.extend_from_slice(chunk);
        loop {
            match session.receive(&mut input) {
                Ok(None) => break,
                Ok(Some(received)) => {
                    let (text, payload): (bool, &[u8]) = match &received {
                        Received::Text(text) => (true, text.as_bytes()),
                        Received::Binary(data) => (false, data),
                        _ => {
                            session.write_pending(&mut out);
                            continue;
                        }
                    };
                    assert!(payload.len() <= max_message_size.unwrap_or(usize::MAX));
                    out.clear();
                    if let Some(wire) = session.send(text, payload, &mut out) {
                        assert_eq!(wire, out.len());
                        check_echo(&out, payload, deflate.is_some(), &mut echo_decoder);
                    }
                }
                Err(violation) => {
                    let failure = session.fail(&violation, &mut out);
                    assert!(!failure.event.was_clean);
                    let too_large = matches!(violation, Violation::TooLarge { .. });
                    assert_eq!(failure.event.code, if too_large { 1009 } else { 1006 });
                    return;
                }
            }
        }
    }
    let ended = session.ended(Ending::ServerHungUp);
    assert_eq!(ended.was_clean, session.close_received().is_some());
}

/// Checks that the client frame in `out` carries `payload` (inflated when `compressed`).
fn check_echo(out: &[u8], payload: &[u8], compressed: bool, decoder: &mut Decompress) {
    let (len, at) = match out[1] & 0x7f {
        126 => (usize::from(u16::from_be_bytes([out[2], out[3]])), 4),
        127 => (
            u64::from_be_bytes(out[2..10].try_into().expect("8 bytes")) as usize,
            10,
        ),
        len => (usize::from(len), 2),
    };
    assert_eq!(out.len(), at + 4 + len);
    let key = [out[at], out[at + 1], out[at + 2], out[at + 3]];
    let mut body: Vec<u8> = out[at + 4..]
        .iter()
        .enumerate()
        .map(|(i, b)| b ^ key[i % 4])
        .collect();
    if compressed {
        assert_eq!(out[0] & 0x40, 0x40);
        body.extend_from_slice(&[0, 0, 0xff, 0xff]);
        let mut inflated = Vec::with_capacity(payload.len() + 64);
        decoder
            .decompress_vec(&body, &mut inflated, FlushDecompress::Sync)
            .expect("our frames inflate");
        assert_eq!(inflated, payload);
    } else {
        assert_eq!(body, payload);
    }
}

/// Feeds `data` as the server's `Sec-WebSocket-Extensions` lines (split at `\n`); the first
/// byte's bit 0 says whether the extension was offered. An accepted answer is checked to be
/// reported as written and to give parameters in range.
pub fn extension_answer(data: &[u8]) {
    let Some((&first, data)) = data.split_first() else {
        return;
    };
    let offered = first & 1 != 0;
    let lines: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
    let Ok(negotiated) = extension::negotiate(lines.iter().copied(), offered) else {
        return;
    };
    // Every line is an extension list, so an accepted answer names permessage-deflate.
    assert!(offered);
    let deflate = negotiated
        .deflate
        .expect("an accepted answer has permessage-deflate");
    let bits_in_range = |bits: Option<u8>| bits.is_none_or(|bits| (8..=15).contains(&bits));
    assert!(bits_in_range(deflate.server_max_window_bits));
    assert!(bits_in_range(deflate.client_max_window_bits));
    assert!(negotiated.extensions.contains("permessage-deflate"));
    // Reported as written: the lines, trimmed, joined.
    let trimmed: Vec<&str> = lines
        .iter()
        .map(|line| {
            std::str::from_utf8(line)
                .expect("accepted lines are ASCII")
                .trim_matches([' ', '\t'])
        })
        .collect();
    assert_eq!(negotiated.extensions, trimmed.join(", "));
}

/// Feeds `data` to the native client as a server's bytes: first as the answer to the opening
/// handshake (made with the RFC 6455 sample key and the subprotocol `chat` requested,
/// permessage-deflate offered), then, if that is accepted, the rest as frames through a
/// session with what was negotiated. A failure must end in a close event that is not clean.
pub fn handshake_then_frames(data: &[u8]) {
    use std::io::{self, Read, Write};

    use crate::native::handshake::ClientHandshake;
    use crate::rules::url::WebSocketUrl;
    use crate::WebSocketBuilder;

    /// Plays `data` back as the server's bytes and swallows what the client writes.
    struct Replay<'a>(&'a [u8]);
    impl Read for Replay<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.0.read(buf)
        }
    }
    impl Write for Replay<'_> {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    const URL: &str = "ws://fuzz.invalid/chat";
    let url = WebSocketUrl::parse(URL).expect("a valid URL");
    let builder = WebSocketBuilder::new(URL).protocols(["chat"]);
    let mut handshake = ClientHandshake::with_key(&url, &builder, "dGhlIHNhbXBsZSBub25jZQ==".into());
    let mut replay = Replay(data);
    let Ok(Some(accepted)) = handshake.advance(&mut replay) else {
        return;
    };
    let mut session = Session::new(SessionConfig {
        max_message_size: Some(1 << 16),
        deflate: accepted.negotiated.deflate,
    });
    let mut input = BytesMut::from(&accepted.tail[..]);
    input.extend_from_slice(replay.0);
    let mut out = Vec::new();
    loop {
        match session.receive(&mut input) {
            Ok(Some(_)) => session.write_pending(&mut out),
            Ok(None) => {
                let event = session.ended(Ending::ServerHungUp);
                assert_eq!(event.was_clean, session.close_received().is_some());
                return;
            }
            Err(violation) => {
                let failure = session.fail(&violation, &mut out);
                assert!(!failure.event.was_clean && matches!(failure.event.code, 1006 | 1009));
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// The committed seeds of the fuzz target `target`.
    fn seeds(target: &str) -> Vec<Vec<u8>> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/corpus")
            .join(target);
        let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| std::fs::read(entry.unwrap().path()).unwrap())
            .collect();
        assert!(!seeds.is_empty());
        seeds.sort();
        seeds
    }

    /// Runs `driver` on each seed, then on `rounds` mutations of them (bytes flipped,
    /// inserted, removed, the input cut), from a fixed xorshift sequence.
    fn seeds_and_mutations(target: &str, rounds: usize, driver: fn(&[u8])) {
        let seeds = seeds(target);
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for seed in &seeds {
            driver(seed);
        }
        for _ in 0..rounds {
            let mut input = seeds[next() as usize % seeds.len()].clone();
            for _ in 0..1 + next() % 4 {
                let at = next() as usize % (input.len() + 1);
                match next() % 4 {
                    0 if at < input.len() => input[at] ^= 1 << (next() % 8),
                    1 => input.insert(at, next() as u8),
                    2 if at < input.len() => {
                        input.remove(at);
                    }
                    _ => input.truncate(at),
                }
            }
            driver(&input);
        }
    }

    #[test]
    fn the_session_driver_holds_on_its_seeds_and_their_mutations() {
        seeds_and_mutations("wire", 20_000, super::session_bytes);
    }

    #[test]
    fn the_extension_driver_holds_on_its_seeds_and_their_mutations() {
        seeds_and_mutations("wire_extensions", 20_000, super::extension_answer);
    }

    #[test]
    fn the_server_bytes_driver_holds_on_its_seeds_and_their_mutations() {
        seeds_and_mutations("server_bytes", 5_000, super::handshake_then_frames);
    }
}
