//! The layer end to end, through the session: server bytes in, what the application and the
//! I/O layer get, and the client's bytes out.

use bytes::{Bytes, BytesMut};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};

use super::close::Ending;
use super::extension::DeflateParams;
use super::session::{Received, Session, SessionConfig};
use super::violation::{Utf8Place, Violation};
use crate::event::CloseEvent;

/// A server frame (unmasked) with `first` as its first byte (FIN, RSV, opcode).
fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    match payload.len() {
        len @ 0..=125 => out.push(len as u8),
        len @ 126..=65535 => {
            out.push(126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            out.push(127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    out
}

const TEXT: u8 = 0x81;
const BINARY: u8 = 0x82;
const CLOSE: u8 = 0x88;
const PING: u8 = 0x89;
const PONG: u8 = 0x8a;
/// The first frame of a fragmented text message (no FIN).
const TEXT_START: u8 = 0x01;
const CONTINUATION: u8 = 0x00;
const LAST_CONTINUATION: u8 = 0x80;
/// RSV1: compressed.
const RSV1: u8 = 0x40;

fn session(max_message_size: Option<usize>, deflate: Option<DeflateParams>) -> Session {
    Session::new(SessionConfig {
        max_message_size,
        deflate,
    })
}

/// Everything `session` makes of `bytes` arriving at once, up to the first violation.
fn receive(session: &mut Session, bytes: &[u8]) -> Result<Vec<Received>, Violation> {
    let mut input = BytesMut::from(bytes);
    let mut received = Vec::new();
    while let Some(item) = session.receive(&mut input)? {
        received.push(item);
    }
    Ok(received)
}

/// The same with the bytes arriving one at a time.
fn receive_bytewise(session: &mut Session, bytes: &[u8]) -> Result<Vec<Received>, Violation> {
    let mut input = BytesMut::new();
    let mut received = Vec::new();
    for byte in bytes {
        input.extend_from_slice(&[*byte]);
        while let Some(item) = session.receive(&mut input)? {
            received.push(item);
        }
    }
    Ok(received)
}

/// The client's frames in `out`: first byte and unmasked payload, each checked to be masked
/// with its length in its shortest form.
fn client_frames(mut out: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut frames = Vec::new();
    while !out.is_empty() {
        assert_eq!(out[1] & 0x80, 0x80, "client frames are masked");
        let (len, at) = match out[1] & 0x7f {
            126 => (u16::from_be_bytes([out[2], out[3]]) as usize, 4),
            127 => (u64::from_be_bytes(out[2..10].try_into().unwrap()) as usize, 10),
            len => (len as usize, 2),
        };
        assert_eq!(
            super::frames::client_head_len(len),
            at + 4,
            "shortest length form"
        );
        let key = [out[at], out[at + 1], out[at + 2], out[at + 3]];
        let payload: Vec<u8> = out[at + 4..at + 4 + len]
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ key[i % 4])
            .collect();
        frames.push((out[0], payload));
        out = &out[at + 4 + len..];
    }
    frames
}

/// A server-side compressor, set up with flate2 directly (not the layer's code).
struct ServerDeflater(Compress);

impl ServerDeflater {
    fn new(window_bits: u8) -> Self {
        Self(Compress::new_with_window_bits(
            Compression::default(),
            false,
            window_bits,
        ))
    }

    fn compress(&mut self, message: &[u8]) -> Vec<u8> {
        if message.is_empty() {
            // zlib makes nothing of a second empty sync flush; `00` is an empty message.
            return vec![0x00];
        }
        let mut out = Vec::with_capacity(message.len() + 1024);
        self.0
            .compress_vec(message, &mut out, FlushCompress::Sync)
            .unwrap();
        assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
        out.truncate(out.len() - 4);
        out
    }
}

/// A server-side decompressor for the client's compressed frames (flate2 directly).
struct ServerInflater(Decompress);

impl ServerInflater {
    fn new(window_bits: u8) -> Self {
        Self(Decompress::new_with_window_bits(false, window_bits))
    }

    fn inflate(&mut self, payload: &[u8]) -> Vec<u8> {
        let mut input = payload.to_vec();
        input.extend_from_slice(&[0, 0, 0xff, 0xff]);
        let mut out = Vec::with_capacity(1 << 21);
        self.0
            .decompress_vec(&input, &mut out, FlushDecompress::Sync)
            .unwrap();
        out
    }
}

fn text(s: &str) -> Received {
    Received::Text(s.into())
}

fn protocol_violation(result: Result<Vec<Received>, Violation>) -> (u16, &'static str) {
    result.expect_err("a violation").wire_close()
}

#[test]
fn messages_arrive_whole_whether_the_bytes_come_at_once_or_one_by_one() {
    let mut bytes = frame(TEXT, "héllo".as_bytes());
    bytes.extend(frame(BINARY, &[0, 1, 2]));
    bytes.extend(frame(BINARY, &vec![7; 70_000]));
    bytes.extend(frame(TEXT, b""));
    let expected = vec![
        text("héllo"),
        Received::Binary(Bytes::from_static(&[0, 1, 2])),
        Received::Binary(Bytes::from(vec![7; 70_000])),
        text(""),
    ];
    assert_eq!(receive(&mut session(None, None), &bytes).unwrap(), expected);
    assert_eq!(
        receive_bytewise(&mut session(None, None), &bytes).unwrap(),
        expected
    );
}

#[test]
fn a_partial_frame_stays_in_the_input_until_the_rest_comes() {
    let mut s = session(None, None);
    let whole = frame(TEXT, b"hello");
    let mut input = BytesMut::from(&whole[..4]);
    assert_eq!(s.receive(&mut input), Ok(None));
    input.extend_from_slice(&whole[4..]);
    input.extend_from_slice(&[0x82]);
    assert_eq!(s.receive(&mut input), Ok(Some(text("hello"))));
    assert_eq!(&input[..], &[0x82], "the next frame's first byte is left");
}

#[test]
fn fragmented_messages_with_interleaved_pings_arrive_whole_and_each_ping_is_answered() {
    let mut s = session(None, None);
    let mut bytes = frame(TEXT_START, b"frag");
    bytes.extend(frame(PING, b"p1"));
    bytes.extend(frame(CONTINUATION, b"men"));
    bytes.extend(frame(PONG, b""));
    bytes.extend(frame(LAST_CONTINUATION, b"ted"));
    assert_eq!(
        receive_bytewise(&mut s, &bytes).unwrap(),
        vec![Received::Ping, Received::Pong, text("fragmented")]
    );
    assert!(s.wants_write());
    let mut out = Vec::new();
    s.write_pending(&mut out);
    assert_eq!(client_frames(&out), vec![(0x8a, b"p1".to_vec())]);
    assert!(!s.wants_write());
}

#[test]
fn utf8_split_across_fragments_is_valid_text() {
    let euro = "€".as_bytes();
    let mut bytes = frame(TEXT_START, &euro[..1]);
    bytes.extend(frame(CONTINUATION, &euro[1..2]));
    bytes.extend(frame(CONTINUATION, b""));
    bytes.extend(frame(LAST_CONTINUATION, &euro[2..]));
    assert_eq!(
        receive(&mut session(None, None), &bytes).unwrap(),
        vec![text("€")]
    );
}

#[test]
fn invalid_utf8_fails_as_soon_as_it_arrives_even_inside_an_unfinished_frame() {
    // A text frame of 100 bytes whose 6th byte is invalid: the violation comes with the 6th byte.
    let mut payload = b"hello".to_vec();
    payload.push(0xff);
    payload.resize(100, b'x');
    let bytes = frame(TEXT, &payload);
    let mut s = session(None, None);
    let mut input = BytesMut::new();
    for (i, byte) in bytes.iter().enumerate() {
        input.extend_from_slice(&[*byte]);
        match s.receive(&mut input) {
            Ok(None) => {}
            Err(violation) => {
                assert_eq!(violation, Violation::InvalidUtf8(Utf8Place::TextMessage));
                assert_eq!(violation.wire_close().0, 1007);
                assert_eq!(i, 2 + 5, "failed at byte {i}");
                return;
            }
            Ok(Some(other)) => panic!("{other:?}"),
        }
    }
    panic!("no violation");
}

#[test]
fn invalid_utf8_across_fragments_or_unfinished_at_the_end_is_a_violation() {
    let mut bytes = frame(TEXT_START, "κόσμε".as_bytes());
    bytes.extend(frame(CONTINUATION, b"\xce"));
    bytes.extend(frame(LAST_CONTINUATION, b"x"));
    assert_eq!(
        protocol_violation(receive(&mut session(None, None), &bytes)).0,
        1007
    );
    let mut bytes = frame(TEXT_START, b"ok");
    bytes.extend(frame(LAST_CONTINUATION, b"\xe2\x82"));
    assert_eq!(
        protocol_violation(receive(&mut session(None, None), &bytes)).0,
        1007
    );
    // Binary messages are not text.
    assert_eq!(
        receive(&mut session(None, None), &frame(BINARY, b"\xff"))
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn a_continuation_without_a_started_message_is_a_violation() {
    assert_eq!(
        protocol_violation(receive(&mut session(None, None), &frame(LAST_CONTINUATION, b"x"))),
        (1002, "Unexpected continuation")
    );
}

#[test]
fn a_new_data_frame_while_a_message_is_unfinished_is_a_violation() {
    let mut bytes = frame(TEXT_START, b"a");
    bytes.extend(frame(BINARY, b"b"));
    assert_eq!(
        protocol_violation(receive(&mut session(None, None), &bytes)),
        (1002, "Previous data frame unfinished")
    );
}

#[test]
fn rsv1_without_deflate_is_a_violation() {
    for first in [TEXT | RSV1, PING | RSV1, LAST_CONTINUATION | RSV1] {
        assert_eq!(
            protocol_violation(receive(&mut session(None, None), &frame(first, b""))),
            (1002, "Invalid reserved bit")
        );
    }
}

#[test]
fn with_deflate_rsv1_is_allowed_only_on_the_first_frame_of_a_data_message() {
    let deflate = Some(DeflateParams::default());
    let mut server = ServerDeflater::new(15);
    let compressed = server.compress(b"hello");
    assert_eq!(
        receive(&mut session(None, deflate), &frame(TEXT | RSV1, &compressed)).unwrap(),
        vec![text("hello")]
    );
    let mut bytes = frame(TEXT_START | RSV1, &compressed);
    bytes.extend(frame(LAST_CONTINUATION | RSV1, b""));
    assert_eq!(
        protocol_violation(receive(&mut session(None, deflate), &bytes)).0,
        1002
    );
    assert_eq!(
        protocol_violation(receive(&mut session(None, deflate), &frame(PING | RSV1, b""))),
        (1002, "Invalid reserved bit")
    );
}

#[test]
fn a_compressed_message_in_fragments_with_a_ping_between_inflates_whole() {
    let mut server = ServerDeflater::new(15);
    let message = "fragments of a compressed message ".repeat(200);
    let compressed = server.compress(message.as_bytes());
    let (a, b) = compressed.split_at(compressed.len() / 2);
    let mut bytes = frame(TEXT_START | RSV1, a);
    bytes.extend(frame(PING, b""));
    bytes.extend(frame(LAST_CONTINUATION, b));
    let got = receive_bytewise(&mut session(None, Some(DeflateParams::default())), &bytes).unwrap();
    assert_eq!(got, vec![Received::Ping, text(&message)]);
}

#[test]
fn compressed_and_uncompressed_messages_give_the_application_the_same_messages() {
    let messages: Vec<(bool, Vec<u8>)> = vec![
        (true, b"".to_vec()),
        (true, "ünïcödé ".repeat(500).into_bytes()),
        (false, (0..=255u8).cycle().take(100_000).collect()),
        (false, b"".to_vec()),
        (true, b"again".to_vec()),
    ];
    let expected: Vec<Received> = messages
        .iter()
        .map(|(is_text, m)| match is_text {
            true => Received::Text(String::from_utf8(m.clone()).unwrap()),
            false => Received::Binary(Bytes::from(m.clone())),
        })
        .collect();
    let plain: Vec<u8> = messages
        .iter()
        .flat_map(|(is_text, m)| frame(if *is_text { TEXT } else { BINARY }, m))
        .collect();
    assert_eq!(receive(&mut session(None, None), &plain).unwrap(), expected);
    for (bits, server_no_context_takeover) in [(9u8, false), (12, true), (15, false), (15, true)] {
        let mut server = ServerDeflater::new(bits);
        let compressed: Vec<u8> = messages
            .iter()
            .flat_map(|(is_text, m)| {
                if server_no_context_takeover {
                    server = ServerDeflater::new(bits);
                }
                frame(if *is_text { TEXT } else { BINARY } | RSV1, &server.compress(m))
            })
            .collect();
        let params = DeflateParams {
            server_max_window_bits: Some(bits),
            server_no_context_takeover,
            ..DeflateParams::default()
        };
        assert_eq!(
            receive(&mut session(None, Some(params)), &compressed).unwrap(),
            expected
        );
        // With deflate negotiated, a server may still send some messages uncompressed.
        assert_eq!(
            receive(&mut session(None, Some(params)), &plain).unwrap(),
            expected
        );
    }
}

#[test]
fn sent_messages_decompress_with_an_independent_decoder_for_each_parameter() {
    let messages = [
        b"first".to_vec(),
        b"first".to_vec(),
        vec![],
        "x".repeat(200_000).into_bytes(),
    ];
    for client_no_context_takeover in [false, true] {
        for (client_max_window_bits, decoder_bits) in
            [(None, 15), (Some(15), 15), (Some(10), 10), (Some(9), 9)]
        {
            let params = DeflateParams {
                client_no_context_takeover,
                client_max_window_bits,
                ..DeflateParams::default()
            };
            let mut s = session(None, Some(params));
            let mut server = ServerInflater::new(decoder_bits);
            let mut sizes = Vec::new();
            for message in &messages {
                let mut out = Vec::new();
                let wire = s.send(false, message, &mut out).unwrap();
                assert_eq!(wire, out.len());
                let frames = client_frames(&out);
                assert_eq!(frames.len(), 1);
                assert_eq!(frames[0].0, 0xc2, "FIN, RSV1, binary");
                assert_eq!(&server.inflate(&frames[0].1), message);
                sizes.push(frames[0].1.len());
            }
            // Context takeover: the repeated message refers back to the first.
            assert_eq!(
                sizes[1] < sizes[0],
                !client_no_context_takeover,
                "{params:?}: {sizes:?}"
            );
            if client_no_context_takeover {
                server = ServerInflater::new(decoder_bits);
                assert_eq!(
                    server.inflate(&compress_fresh(&mut session(None, Some(params)))),
                    b"first"
                );
            }
        }
    }
}

/// A fresh session's compressed frame for "first".
fn compress_fresh(s: &mut Session) -> Vec<u8> {
    let mut out = Vec::new();
    s.send(false, b"first", &mut out);
    client_frames(&out).remove(0).1
}

#[test]
fn without_deflate_messages_are_sent_plain_and_masked() {
    let mut s = session(None, None);
    let mut out = Vec::new();
    assert_eq!(s.send(true, "héllo".as_bytes(), &mut out), Some(6 + 6));
    assert_eq!(s.send(false, &[9; 300], &mut out), Some(8 + 300));
    assert_eq!(
        client_frames(&out),
        vec![(0x81, "héllo".as_bytes().to_vec()), (0x82, vec![9; 300])]
    );
}

#[test]
fn a_deflate_bomb_stops_at_the_limit() {
    let max = 1 << 20;
    let mut server = ServerDeflater::new(15);
    let bomb = server.compress(&vec![b'a'; 64 << 20]);
    assert!(bomb.len() < 100_000, "{}", bomb.len());
    let error = receive(
        &mut session(Some(max), Some(DeflateParams::default())),
        &frame(BINARY | RSV1, &bomb),
    )
    .unwrap_err();
    assert_eq!(error, Violation::TooLarge { size: max + 1, max });
    // The memory bound itself is pinned in deflate's and limit's own tests.
}

#[test]
fn a_million_empty_fragments_hit_the_size_limit_quickly() {
    let max = 1 << 20;
    let mut bytes = frame(TEXT_START, b"");
    for _ in 0..1_000_000 {
        bytes.extend(frame(CONTINUATION, b""));
    }
    // Each empty frame counts its header: the message is too large after about half a million
    // of them, whatever their payload.
    let error = receive(&mut session(Some(max), None), &bytes).unwrap_err();
    assert_eq!(error, Violation::TooLarge { size: max + 2, max });
}

#[test]
fn a_frame_longer_than_the_limit_fails_at_its_header() {
    let max = 1000;
    let mut header = vec![BINARY, 126];
    header.extend_from_slice(&1001u16.to_be_bytes());
    let mut s = session(Some(max), None);
    let mut input = BytesMut::from(&header[..]);
    assert_eq!(
        s.receive(&mut input),
        Err(Violation::TooLarge { size: 1001, max })
    );
    // A message of exactly the limit is fine, in one frame or in fragments.
    assert_eq!(
        receive(&mut session(Some(max), None), &frame(BINARY, &[0; 1000]))
            .unwrap()
            .len(),
        1
    );
    let mut bytes = frame(0x02, &[0; 500]);
    bytes.extend(frame(LAST_CONTINUATION, &[0; 498]));
    assert_eq!(receive(&mut session(Some(max), None), &bytes).unwrap().len(), 1);
    let mut bytes = frame(0x02, &[0; 500]);
    bytes.extend(frame(LAST_CONTINUATION, &[0; 499]));
    assert!(receive(&mut session(Some(max), None), &bytes).is_err());
}

#[test]
fn a_ping_flood_leaves_one_pending_pong_for_the_latest_ping() {
    let mut s = session(None, None);
    let mut bytes = Vec::new();
    for i in 0..100_000u32 {
        bytes.extend(frame(PING, &i.to_be_bytes()));
    }
    let received = receive(&mut s, &bytes).unwrap();
    assert_eq!(received.len(), 100_000);
    let mut out = Vec::new();
    s.write_pending(&mut out);
    assert_eq!(
        client_frames(&out),
        vec![(0x8a, 99_999u32.to_be_bytes().to_vec())]
    );
    out.clear();
    s.write_pending(&mut out);
    assert!(out.is_empty());
}

#[test]
fn the_servers_close_is_answered_and_ends_cleanly_with_its_code() {
    for code in [0u16, 999, 1000, 1002, 1004, 1014, 1016, 2999, 4000, 5000, 65535] {
        let mut s = session(None, None);
        let mut payload = code.to_be_bytes().to_vec();
        payload.extend_from_slice(b"Protocol violation");
        assert_eq!(
            receive(&mut s, &frame(CLOSE, &payload)).unwrap(),
            vec![Received::Close]
        );
        assert!(s.close_received().is_some() && !s.close_sent() && s.wants_write());
        let mut out = Vec::new();
        assert_eq!(
            s.send(true, b"late", &mut out),
            None,
            "no message after the server's close"
        );
        s.write_pending(&mut out);
        // Codes an endpoint may send are echoed (as Chromium does); others get 1002.
        let answer = if matches!(code, 1000 | 1002 | 1014 | 4000) {
            payload.clone()
        } else {
            [&1002u16.to_be_bytes()[..], b"Invalid close code"].concat()
        };
        assert_eq!(client_frames(&out), vec![(0x88, answer)]);
        assert!(s.close_sent());
        assert_eq!(
            s.ended(Ending::ServerHungUp),
            CloseEvent {
                code,
                reason: "Protocol violation".into(),
                was_clean: true
            }
        );
    }
}

#[test]
fn a_reserved_close_code_fails_the_connection_without_a_close_frame_echo() {
    for code in [1005u16, 1006, 1015] {
        let mut s = session(None, None);
        let violation = receive(&mut s, &frame(CLOSE, &code.to_be_bytes())).unwrap_err();
        let mut out = Vec::new();
        let failure = s.fail(&violation, &mut out);
        assert_eq!(failure.event, CloseEvent::abnormal());
        assert_eq!(client_frames(&out), vec![(0x88, 1002u16.to_be_bytes().to_vec())]);
    }
}

#[test]
fn data_frames_after_the_servers_close_frame_are_a_violation() {
    for after in [frame(TEXT, b"late"), frame(PING, b""), frame(BINARY, b"")] {
        let mut s = session(None, None);
        let mut bytes = frame(CLOSE, &1000u16.to_be_bytes());
        bytes.extend(after);
        let violation = receive(&mut s, &bytes).unwrap_err();
        let mut out = Vec::new();
        let failure = s.fail(&violation, &mut out);
        // The echo Chromium sent when the close frame arrived, and no close frame of failure.
        assert_eq!(client_frames(&out), vec![(0x88, 1000u16.to_be_bytes().to_vec())]);
        assert_eq!(failure.event, CloseEvent::abnormal());
        out.clear();
        s.fail(&violation, &mut out);
        assert!(out.is_empty(), "no second close frame");
    }
}

#[test]
fn after_our_close_data_is_dropped_pings_unanswered_and_the_servers_close_ends_it() {
    let mut s = session(Some(10), None);
    let mut out = Vec::new();
    s.send_close(Some(1000), "bye", &mut out);
    assert_eq!(client_frames(&out), vec![(0x88, b"\x03\xe8bye".to_vec())]);
    assert!(s.close_sent());
    let mut bytes = frame(TEXT, b"\xff not checked, longer than the limit");
    bytes.extend(frame(PING, b"x"));
    bytes.extend(frame(CLOSE, &4000u16.to_be_bytes()));
    assert_eq!(
        receive_bytewise(&mut s, &bytes).unwrap(),
        vec![Received::Ping, Received::Close]
    );
    assert!(!s.wants_write(), "no pong, no second close");
    assert_eq!(s.ended(Ending::ServerHungUp).code, 4000);
    assert!(s.ended(Ending::TimedOut).was_clean);
    assert!(!s.ended(Ending::Broken).was_clean);
}

#[test]
fn a_pending_pong_goes_out_before_our_close_and_nothing_after_it() {
    let mut s = session(None, None);
    receive(&mut s, &frame(PING, b"p")).unwrap();
    let mut out = Vec::new();
    s.send_close(None, "", &mut out);
    assert_eq!(client_frames(&out), vec![(0x8a, b"p".to_vec()), (0x88, vec![])]);
    out.clear();
    assert_eq!(s.send(true, b"x", &mut out), None);
    assert!(!s.send_ping(b"", &mut out));
    s.send_close(Some(1000), "", &mut out);
    assert!(out.is_empty());
    assert_eq!(s.ended(Ending::TimedOut), CloseEvent::abnormal());
}

#[test]
fn closing_after_the_servers_close_arrived_sends_its_echo_instead() {
    let mut s = session(None, None);
    receive(&mut s, &frame(CLOSE, &[0x0f, 0xa0])).unwrap();
    let mut out = Vec::new();
    s.send_close(Some(1000), "mine", &mut out);
    assert_eq!(client_frames(&out), vec![(0x88, vec![0x0f, 0xa0])]);
}

#[test]
fn a_violation_while_open_sends_its_close_code_and_ends_with_1006_or_1009() {
    let mut s = session(Some(4), None);
    let violation = receive(&mut s, &frame(BINARY, b"12345")).unwrap_err();
    let mut out = Vec::new();
    let failure = s.fail(&violation, &mut out);
    assert_eq!(
        client_frames(&out),
        vec![(0x88, b"\x03\xf1Message too big".to_vec())]
    );
    assert_eq!((failure.event.code, failure.event.was_clean), (1009, false));
    let mut s = session(None, None);
    let violation = receive(&mut s, &[0x81, 0x81, 0, 0, 0, 0, b'x']).unwrap_err();
    let mut out = Vec::new();
    assert_eq!(s.fail(&violation, &mut out).event, CloseEvent::abnormal());
    assert_eq!(
        client_frames(&out),
        vec![(0x88, b"\x03\xeaMasked frame from server".to_vec())]
    );
}

#[test]
fn the_keepalive_ping_is_a_masked_control_frame() {
    let mut s = session(None, Some(DeflateParams::default()));
    let mut out = Vec::new();
    assert!(s.send_ping(b"ka", &mut out));
    assert_eq!(client_frames(&out), vec![(0x89, b"ka".to_vec())]);
}

#[test]
fn large_binary_messages_are_handed_over_without_a_copy() {
    let payload = vec![5u8; 100_000];
    let bytes = frame(BINARY, &payload);
    let mut input = BytesMut::from(&bytes[..]);
    let start = input.as_ptr() as usize;
    let Ok(Some(Received::Binary(data))) = session(None, None).receive(&mut input) else {
        panic!("a binary message");
    };
    assert_eq!(data.as_ptr() as usize, start + 10, "a slice of the input buffer");
    assert_eq!(&data[..], &payload[..]);
}
