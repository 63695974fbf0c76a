//! The closing handshake's pure decisions, as Chromium makes them (`websocket_channel.cc`):
//! what the server's close frame means, what the client answers on the wire, and which close
//! event (and error) the application is told in each way a connection ends. Timing (the wait
//! for the server's TCP close, the close timeout) is the I/O layer's.

use crate::event::CloseEvent;
use crate::FailureCause;

use super::violation::{Utf8Place, Violation};

/// The code the application sees when the close frame had none.
const NO_STATUS: u16 = 1005;
/// The code the application sees when the connection failed or died.
const ABNORMAL: u16 = 1006;
/// The code the application sees when a message was too large (native only).
const TOO_LARGE: u16 = 1009;
/// The longest close reason that fits a control frame (125 bytes minus the code).
const MAX_REASON: usize = 123;

/// The server's close frame, once checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerClose {
    /// The code, or `None` for an empty close frame.
    pub(crate) code: Option<u16>,
    /// The reason (empty without a code).
    pub(crate) reason: String,
}

/// Reads the server's close frame payload. As Chromium does, any code is reported as sent
/// (0, 999, 1004, 1014, 1016, 2999, 5000, 65535 included) except the three RFC 6455 reserves
/// for endpoints to report and never send: 1005, 1006 and 1015, which fail the connection. A
/// 1-byte payload and a reason that is not UTF-8 fail it too.
pub(crate) fn parse_close(payload: &[u8]) -> Result<ServerClose, Violation> {
    let (code, reason) = match payload {
        [] => {
            return Ok(ServerClose {
                code: None,
                reason: String::new(),
            })
        }
        [_] => {
            return Err(Violation::Protocol {
                why: "the server sent a close frame of 1 byte",
                wire_reason: "",
            })
        }
        [high, low, reason @ ..] => (u16::from_be_bytes([*high, *low]), reason),
    };
    if matches!(code, 1005 | 1006 | 1015) {
        return Err(Violation::Protocol {
            why: "the server sent a reserved close code (1005, 1006 or 1015)",
            wire_reason: "",
        });
    }
    let reason = std::str::from_utf8(reason).map_err(|_| Violation::InvalidUtf8(Utf8Place::CloseReason))?;
    Ok(ServerClose {
        code: Some(code),
        reason: reason.to_owned(),
    })
}

/// The close frame the client answers the server's with, when the server started the closing
/// handshake: its code and reason echoed, as Chromium does (an empty close frame for an empty
/// one), unless its code is one RFC 6455 does not let an endpoint send (below 1000, 1004,
/// 1016 to 2999, 5000 and up): then 1002 "Invalid close code", as the RFC asks (7.4.1) and the
/// Autobahn|Testsuite checks (7.9.*). The application is told the code as sent either way, and
/// the close is clean, as in Chromium.
pub(crate) fn answer(close: &ServerClose) -> (Option<u16>, &str) {
    match close.code {
        Some(code) if !may_be_sent(code) => (Some(1002), "Invalid close code"),
        code => (code, close.reason.as_str()),
    }
}

/// `true` for the close codes an endpoint may send (RFC 6455 7.4.1 and 7.4.2, and the IANA
/// registry's 1012 to 1014).
fn may_be_sent(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// `reason` cut to the 123 bytes a close frame has room for, at a character boundary.
pub(crate) fn fit_reason(reason: &str) -> &str {
    let end = (0..=reason.len().min(MAX_REASON))
        .rev()
        .find(|&end| reason.is_char_boundary(end))
        .unwrap_or(0);
    &reason[..end]
}

/// How the TCP connection ended, as the I/O layer saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// The server closed its side in order (end of stream).
    ServerHungUp,
    /// The I/O layer gave up waiting (for the server's close frame, or for its TCP close after
    /// the close frames were exchanged) and closed the connection itself.
    TimedOut,
    /// Reading or writing failed (a reset, a broken pipe).
    Broken,
}

/// The close event when the connection ends by `ending`, `received` being the server's close
/// frame if one came. As in Chromium: once the server's close frame came, the event carries
/// its code (1005 when none) and reason, and is clean unless the connection broke (a reset is
/// unclean, with the server's code still); without it, the event is 1006 and unclean, whoever
/// started closing. No error event goes with any of these.
pub(crate) fn ended(received: Option<&ServerClose>, ending: Ending) -> CloseEvent {
    match received {
        Some(close) => CloseEvent {
            code: close.code.unwrap_or(NO_STATUS),
            reason: close.reason.clone(),
            was_clean: ending != Ending::Broken,
        },
        None => CloseEvent::abnormal(),
    }
}

/// How a connection the layer failed ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    /// The close frame to send before hanging up, when the closing handshake had not started
    /// (Chromium sends none once a close frame went either way).
    pub(crate) wire_close: Option<(u16, &'static str)>,
    /// The error event's cause.
    pub(crate) cause: FailureCause,
    /// The close event: 1009 for a message too large, 1006 otherwise; never clean.
    pub(crate) event: CloseEvent,
}

/// The failure for `violation`, `handshake_started` being whether a close frame already went
/// either way. This is the one place that maps a violation to what the application sees.
pub(crate) fn failure(violation: &Violation, handshake_started: bool) -> Failure {
    let (cause, code) = match violation {
        Violation::TooLarge { size, max } => (
            FailureCause::MessageTooLarge {
                size: *size,
                max: *max,
            },
            TOO_LARGE,
        ),
        other => (FailureCause::Protocol(other.to_string()), ABNORMAL),
    };
    Failure {
        wire_close: (!handshake_started).then(|| violation.wire_close()),
        cause,
        event: CloseEvent {
            code,
            reason: String::new(),
            was_clean: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close_frame(code: u16, reason: &str) -> Vec<u8> {
        let mut payload = code.to_be_bytes().to_vec();
        payload.extend_from_slice(reason.as_bytes());
        payload
    }

    #[test]
    fn any_close_code_but_1005_1006_and_1015_is_reported_as_sent() {
        for code in [
            0, 999, 1000, 1001, 1002, 1003, 1004, 1007, 1011, 1014, 1016, 2999, 3000, 4999, 5000, 65535,
        ] {
            let close = parse_close(&close_frame(code, "bye")).unwrap();
            assert_eq!((close.code, close.reason.as_str()), (Some(code), "bye"));
            let event = ended(Some(&close), Ending::ServerHungUp);
            assert_eq!(
                (event.code, event.reason.as_str(), event.was_clean),
                (code, "bye", true)
            );
        }
        for code in [1005, 1006, 1015] {
            let violation = parse_close(&close_frame(code, "")).unwrap_err();
            assert_eq!(violation.wire_close().0, 1002);
        }
    }

    #[test]
    fn a_1002_protocol_violation_close_is_just_a_clean_close() {
        let close = parse_close(&close_frame(1002, "Protocol violation")).unwrap();
        assert_eq!(
            ended(Some(&close), Ending::ServerHungUp),
            CloseEvent {
                code: 1002,
                reason: "Protocol violation".into(),
                was_clean: true
            }
        );
    }

    #[test]
    fn an_empty_close_frame_is_1005_and_answered_with_an_empty_one() {
        let close = parse_close(&[]).unwrap();
        assert_eq!(answer(&close), (None, ""));
        assert_eq!(ended(Some(&close), Ending::ServerHungUp).code, 1005);
    }

    #[test]
    fn a_close_payload_of_one_byte_is_a_violation() {
        assert_eq!(parse_close(&[0x03]).unwrap_err().wire_close().0, 1002);
    }

    #[test]
    fn a_close_reason_that_is_not_utf8_is_a_violation() {
        let mut payload = close_frame(1000, "ok");
        payload.push(0xff);
        assert_eq!(
            parse_close(&payload),
            Err(Violation::InvalidUtf8(Utf8Place::CloseReason))
        );
    }

    #[test]
    fn the_answer_echoes_the_servers_code_and_reason() {
        let close = parse_close(&close_frame(4321, "see you")).unwrap();
        assert_eq!(answer(&close), (Some(4321), "see you"));
        for code in [0, 999, 1004, 1016, 1100, 2000, 2999, 5000, 65535] {
            let close = parse_close(&[(code >> 8) as u8, code as u8]).unwrap();
            assert_eq!(close.code, Some(code), "reported as sent");
            assert_eq!(answer(&close), (Some(1002), "Invalid close code"), "{code}");
        }
        for code in [1000, 1003, 1007, 1011, 1012, 1014, 3000, 4999] {
            let close = parse_close(&[(code >> 8) as u8, code as u8]).unwrap();
            assert_eq!(answer(&close), (Some(code), ""), "{code} is echoed");
        }
    }

    #[test]
    fn the_close_event_after_the_servers_close_depends_on_how_tcp_ended() {
        let close = parse_close(&close_frame(1000, "done")).unwrap();
        assert!(ended(Some(&close), Ending::ServerHungUp).was_clean);
        assert!(ended(Some(&close), Ending::TimedOut).was_clean);
        let broken = ended(Some(&close), Ending::Broken);
        assert_eq!((broken.code, broken.was_clean), (1000, false));
        for ending in [Ending::ServerHungUp, Ending::TimedOut, Ending::Broken] {
            assert_eq!(ended(None, ending), CloseEvent::abnormal());
        }
    }

    #[test]
    fn a_failure_is_1006_with_an_error_except_too_large_which_is_1009() {
        let protocol = failure(&Violation::protocol("bad"), false);
        assert_eq!(protocol.wire_close, Some((1002, "WebSocket Protocol Error")));
        assert_eq!(protocol.event, CloseEvent::abnormal());
        assert!(matches!(protocol.cause, FailureCause::Protocol(_)));
        let utf8 = failure(&Violation::InvalidUtf8(Utf8Place::TextMessage), false);
        assert_eq!(
            (utf8.wire_close.map(|w| w.0), utf8.event.code),
            (Some(1007), 1006)
        );
        let large = failure(&Violation::TooLarge { size: 11, max: 10 }, false);
        assert_eq!(
            (large.wire_close.map(|w| w.0), large.event.code),
            (Some(1009), 1009)
        );
        assert_eq!(large.cause, FailureCause::MessageTooLarge { size: 11, max: 10 });
        assert!(!large.event.was_clean);
        // Once a close frame went either way, none is sent.
        assert_eq!(failure(&Violation::protocol("bad"), true).wire_close, None);
    }

    #[test]
    fn reasons_are_cut_to_123_bytes_at_a_character_boundary() {
        assert_eq!(fit_reason("short"), "short");
        let long = "é".repeat(100);
        assert_eq!(fit_reason(&long).len(), 122);
    }
}
