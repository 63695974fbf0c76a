//! Frame headers on the wire: the server's, parsed with tungstenite's `FrameHeader::parse` and
//! checked as Chromium checks them (including what tungstenite does not check: the payload
//! length's shortest form), and the client's, formatted with `FrameHeader::format`.

use std::io::{Cursor, Write};

use tungstenite::protocol::frame::coding::{Control, Data, OpCode};
use tungstenite::protocol::frame::FrameHeader;

use super::violation::Violation;

/// The largest payload a control frame may carry (RFC 6455 5.5).
pub(crate) const MAX_CONTROL_PAYLOAD: usize = 125;

/// What a frame is, once its opcode is known to be one RFC 6455 defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// 0x0: the next fragment of a data message.
    Continuation,
    /// 0x1: the first frame of a text message.
    Text,
    /// 0x2: the first frame of a binary message.
    Binary,
    /// 0x8.
    Close,
    /// 0x9.
    Ping,
    /// 0xA.
    Pong,
}

impl Kind {
    /// `true` for close, ping and pong.
    pub(crate) fn is_control(self) -> bool {
        matches!(self, Self::Close | Self::Ping | Self::Pong)
    }

    /// The opcode for this kind.
    pub(crate) fn opcode(self) -> OpCode {
        match self {
            Self::Continuation => OpCode::Data(Data::Continue),
            Self::Text => OpCode::Data(Data::Text),
            Self::Binary => OpCode::Data(Data::Binary),
            Self::Close => OpCode::Control(Control::Close),
            Self::Ping => OpCode::Control(Control::Ping),
            Self::Pong => OpCode::Control(Control::Pong),
        }
    }
}

/// A server frame's header, checked on its own (the checks that need the state of the
/// connection, such as RSV1 or continuation order, are the reader's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head {
    /// FIN: the last frame of its message.
    pub(crate) fin: bool,
    /// RSV1: with permessage-deflate, "this message is compressed".
    pub(crate) rsv1: bool,
    /// What the frame is.
    pub(crate) kind: Kind,
    /// The payload's length, as the header says.
    pub(crate) payload_len: u64,
    /// The header's own length on the wire (2 to 10 bytes: server frames have no mask).
    pub(crate) header_len: usize,
}

/// Parses the frame header at the start of `input`: `Ok(None)` while it is incomplete (nothing
/// is consumed). Fails, as Chromium does, a payload length not in its shortest form or with the
/// 64-bit length's top bit set (checked as soon as the length's bytes are in), an unknown
/// opcode, a masked frame, RSV2 or RSV3 (no extension here defines them), and a control frame
/// that is fragmented or longer than 125 bytes.
pub(crate) fn parse_head(input: &[u8]) -> Result<Option<Head>, Violation> {
    check_length_encoding(input)?;
    let mut cursor = Cursor::new(input);
    let (header, payload_len) = match FrameHeader::parse(&mut cursor) {
        Ok(Some(parsed)) => parsed,
        Ok(None) => return Ok(None),
        // tungstenite's only error from a complete, in-memory header: a reserved opcode.
        Err(_) => return Err(unknown_opcode()),
    };
    if header.mask.is_some() {
        return Err(Violation::Protocol {
            why: "the server sent a masked frame",
            wire_reason: "Masked frame from server",
        });
    }
    if header.rsv2 || header.rsv3 {
        return Err(reserved_bit());
    }
    let kind = match header.opcode {
        OpCode::Data(Data::Continue) => Kind::Continuation,
        OpCode::Data(Data::Text) => Kind::Text,
        OpCode::Data(Data::Binary) => Kind::Binary,
        OpCode::Control(Control::Close) => Kind::Close,
        OpCode::Control(Control::Ping) => Kind::Ping,
        OpCode::Control(Control::Pong) => Kind::Pong,
        OpCode::Data(Data::Reserved(_)) | OpCode::Control(Control::Reserved(_)) => {
            return Err(unknown_opcode())
        }
    };
    if kind.is_control() && !header.is_final {
        return Err(Violation::protocol("the server sent a fragmented control frame"));
    }
    if kind.is_control() && payload_len > MAX_CONTROL_PAYLOAD as u64 {
        return Err(Violation::protocol(
            "the server sent a control frame longer than 125 bytes",
        ));
    }
    Ok(Some(Head {
        fin: header.is_final,
        rsv1: header.rsv1,
        kind,
        payload_len,
        header_len: cursor.position() as usize,
    }))
}

/// The violation for an opcode RFC 6455 does not define (Chromium's reason).
fn unknown_opcode() -> Violation {
    Violation::Protocol {
        why: "the server sent a frame with an unknown opcode",
        wire_reason: "Unknown opcode",
    }
}

/// The violation for a reserved bit that no negotiated extension defines (Chromium's reason).
pub(crate) fn reserved_bit() -> Violation {
    Violation::Protocol {
        why: "the server set a reserved bit that no negotiated extension defines",
        wire_reason: "Invalid reserved bit",
    }
}

/// Chromium's checks on the raw length bytes, which tungstenite does not make: a 16-bit length
/// below 126 or a 64-bit length below 65536 is not in its shortest form, and a 64-bit length
/// must have its top bit clear (RFC 6455 5.2). Passes while the length bytes are incomplete.
fn check_length_encoding(input: &[u8]) -> Result<(), Violation> {
    let non_minimal = || Violation::protocol("the server sent a payload length not in its shortest form");
    match input {
        [_, second, high, low, ..] if second & 0x7f == 126 && u16::from_be_bytes([*high, *low]) < 126 => {
            Err(non_minimal())
        }
        [_, second, rest @ ..] if second & 0x7f == 127 && rest.len() >= 8 => {
            let length = u64::from_be_bytes(rest[..8].try_into().expect("eight bytes"));
            if length >> 63 != 0 {
                Err(Violation::protocol(
                    "the server sent a 64-bit payload length with its top bit set",
                ))
            } else if length <= u64::from(u16::MAX) {
                Err(non_minimal())
            } else {
                Ok(())
            }
        }
        _ => Ok(()),
    }
}

/// A client frame's header: FIN set, RSV1 as given, masked with `key`.
fn client_header(kind: Kind, rsv1: bool, key: [u8; 4]) -> FrameHeader {
    FrameHeader {
        is_final: true,
        rsv1,
        rsv2: false,
        rsv3: false,
        opcode: kind.opcode(),
        mask: Some(key),
    }
}

/// The length of a client frame's header for a payload of `payload_len` bytes (6 to 14).
pub(crate) fn client_head_len(payload_len: usize) -> usize {
    client_header(Kind::Binary, false, [0; 4]).len(payload_len as u64)
}

/// Writes a client frame's header into `out` (a `Vec`, or a slice of exactly
/// [`client_head_len`] bytes): the payload length in its shortest form, then the key.
pub(crate) fn write_head(kind: Kind, rsv1: bool, payload_len: usize, key: [u8; 4], out: &mut impl Write) {
    client_header(kind, rsv1, key)
        .format(payload_len as u64, out)
        .expect("the output has room for the header");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn violation(input: &[u8]) -> Violation {
        parse_head(input).expect_err("a violation")
    }

    #[test]
    fn a_complete_header_gives_its_fields_and_length() {
        let head = parse_head(&[0x81, 0x05, b'h']).unwrap().unwrap();
        assert_eq!(
            head,
            Head {
                fin: true,
                rsv1: false,
                kind: Kind::Text,
                payload_len: 5,
                header_len: 2
            }
        );
        let head = parse_head(&[0x42, 126, 0x01, 0x00]).unwrap().unwrap();
        assert_eq!(
            (head.fin, head.rsv1, head.kind, head.payload_len, head.header_len),
            (false, true, Kind::Binary, 256, 4)
        );
        let head = parse_head(&[0x80, 127, 0, 0, 0, 0, 0, 1, 0, 0]).unwrap().unwrap();
        assert_eq!(
            (head.kind, head.payload_len, head.header_len),
            (Kind::Continuation, 65536, 10)
        );
    }

    #[test]
    fn an_incomplete_header_asks_for_more_bytes() {
        for input in [
            &[][..],
            &[0x81],
            &[0x82, 126, 0x01],
            &[0x82, 127, 0, 0, 0, 0, 0, 1, 0],
        ] {
            assert_eq!(parse_head(input), Ok(None), "{input:?}");
        }
    }

    #[test]
    fn a_payload_length_not_in_its_shortest_form_is_a_violation() {
        // 16-bit 125 and 64-bit 65535: each fits the shorter form.
        assert!(matches!(
            violation(&[0x82, 126, 0x00, 0x7d]),
            Violation::Protocol { .. }
        ));
        assert!(matches!(
            violation(&[0x82, 126, 0x00, 0x00]),
            Violation::Protocol { .. }
        ));
        assert!(matches!(
            violation(&[0x82, 127, 0, 0, 0, 0, 0, 0, 0xff, 0xff]),
            Violation::Protocol { .. }
        ));
        // Found before the rest of the header (a mask key that would follow) is in.
        assert!(parse_head(&[0x82, 0x80 | 126, 0x00, 0x10]).is_err());
        // The shortest forms are fine.
        assert!(parse_head(&[0x82, 126, 0x00, 0x7e]).unwrap().is_some());
        assert!(parse_head(&[0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0])
            .unwrap()
            .is_some());
    }

    #[test]
    fn a_64_bit_length_with_its_top_bit_set_is_a_violation() {
        assert!(violation(&[0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0])
            .to_string()
            .contains("top bit"));
    }

    #[test]
    fn a_masked_server_frame_is_a_violation() {
        let v = violation(&[0x81, 0x80 | 1, 1, 2, 3, 4, b'x']);
        assert_eq!(v.wire_close(), (1002, "Masked frame from server"));
    }

    #[test]
    fn an_unknown_opcode_is_a_violation() {
        for opcode in [3u8, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf] {
            assert_eq!(
                violation(&[0x80 | opcode, 0]).wire_close(),
                (1002, "Unknown opcode")
            );
        }
    }

    #[test]
    fn rsv2_and_rsv3_are_violations() {
        assert_eq!(violation(&[0xa1, 0]).wire_close(), (1002, "Invalid reserved bit"));
        assert_eq!(violation(&[0x91, 0]).wire_close(), (1002, "Invalid reserved bit"));
    }

    #[test]
    fn a_fragmented_or_long_control_frame_is_a_violation() {
        assert!(violation(&[0x09, 0]).to_string().contains("fragmented"));
        assert!(violation(&[0x89, 126, 0, 126]).to_string().contains("125"));
        assert!(parse_head(&[0x89, 125]).unwrap().is_some());
    }

    #[test]
    fn client_headers_are_masked_with_the_shortest_length() {
        let key = [1, 2, 3, 4];
        for (len, expected) in [
            (0usize, vec![0x82, 0x80, 1, 2, 3, 4]),
            (125, vec![0x82, 0x80 | 125, 1, 2, 3, 4]),
            (126, vec![0x82, 0x80 | 126, 0, 126, 1, 2, 3, 4]),
            (65536, vec![0x82, 0x80 | 127, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4]),
        ] {
            let mut out = Vec::new();
            write_head(Kind::Binary, false, len, key, &mut out);
            assert_eq!(out, expected, "length {len}");
        }
        let mut out = Vec::new();
        write_head(Kind::Text, true, 1, key, &mut out);
        assert_eq!(out[0], 0xc1);
    }
}
