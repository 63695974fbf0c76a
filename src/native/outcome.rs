//! What the native backend reports for what the server did: the pure decisions of the I/O
//! loop (close frame to close event, error to failure), kept apart so that the fuzz targets
//! exercise exactly them.

use tungstenite::error::{CapacityError, ProtocolError};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tungstenite::Error as WsError;

use crate::event::CloseEvent;
use crate::FailureCause;

/// tungstenite's read buffer, also the most it reads at once. tungstenite zero-fills this much
/// before every read, so a larger buffer costs time on every small message (32 KiB cost a
/// quarter of the I/O thread's time with 1,000 sockets receiving short messages) and memory
/// on every socket; 8 KiB still reads a 1 MiB message at full speed in our benchmarks.
const READ_BUFFER_SIZE: usize = 8 * 1024;
/// The reason tungstenite puts in its answer to a close frame with a reserved code.
const RESERVED_CODE_REPLY: &str = "Protocol violation";

/// tungstenite's configuration for a client with this incoming message limit.
pub(crate) fn websocket_config(max_message_size: Option<usize>) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_SIZE)
        .max_message_size(max_message_size)
        .max_frame_size(max_message_size)
}

/// The clean close event for the server's close frame (no code: 1005). When the frame starts
/// the closing handshake (`answering` is false), tungstenite has replaced a reserved code on
/// the wire (1005, 1006, 1015...) with its own 1002 "Protocol violation": that is a protocol
/// violation, returned as the error to fail with.
pub(crate) fn close_event(frame: Option<CloseFrame>, answering: bool) -> Result<CloseEvent, WsError> {
    let (code, reason) = match frame {
        Some(frame) => (u16::from(frame.code), frame.reason.as_str().to_owned()),
        None => (1005, String::new()),
    };
    if !answering && code == 1002 && reason == RESERVED_CODE_REPLY {
        return Err(WsError::Protocol(ProtocolError::InvalidCloseSequence));
    }
    Ok(CloseEvent {
        code,
        reason,
        was_clean: true,
    })
}

/// How a connection ends after a read or write error.
#[derive(Debug)]
pub(crate) struct Failure {
    /// The error event's cause; none when Chromium shows the close event alone.
    pub(crate) cause: Option<FailureCause>,
    /// The close code to send the server before hanging up, as RFC 6455 asks.
    pub(crate) wire_code: Option<CloseCode>,
    /// The close event (never clean).
    pub(crate) event: CloseEvent,
}

/// The failure for `error`: a vanished peer (1006, no error event), a TLS error, a message
/// over the limit (1009 on the wire and in the event), invalid UTF-8 (1007 on the wire), a
/// reserved close code, or another protocol violation (1002 on the wire); each then 1006.
pub(crate) fn failure(error: WsError) -> Failure {
    let (cause, wire_code, code) = match error {
        WsError::ConnectionClosed | WsError::AlreadyClosed => (None, None, 1006),
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => (None, None, 1006),
        WsError::Io(e) => (super::tls::tls_cause(&e), None, 1006),
        WsError::Capacity(CapacityError::MessageTooLong { size, max_size }) => (
            Some(FailureCause::MessageTooLarge { size, max: max_size }),
            Some(CloseCode::Size),
            1009,
        ),
        WsError::Utf8(why) => (
            Some(FailureCause::Protocol(format!("invalid UTF-8: {why}"))),
            Some(CloseCode::Invalid),
            1006,
        ),
        WsError::Protocol(ProtocolError::InvalidCloseSequence) => (
            Some(FailureCause::Protocol(
                "the server sent a reserved close code".into(),
            )),
            None,
            1006,
        ),
        other => (
            Some(FailureCause::Protocol(other.to_string())),
            Some(CloseCode::Protocol),
            1006,
        ),
    };
    Failure {
        cause,
        wire_code,
        event: CloseEvent {
            code,
            reason: String::new(),
            was_clean: false,
        },
    }
}
