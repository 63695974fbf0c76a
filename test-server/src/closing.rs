//! The routes that script the closing handshake frame by frame, on the test server's own frame
//! layer (tungstenite would refuse to send some of these codes, and answers and closes on its
//! own terms):
//!
//! - `/close-raw?code=C&reason=R`: right after the handshake, a close frame with the code C as
//!   it is (any number from 0 to 65535, 1005, 1006 and 1015 included; an empty close frame
//!   without `code`) and the reason R;
//! - `/answer-close`: echoes until the client's close frame, and answers it with its own code
//!   and reason.
//!
//! Then both read until the client's close frame (if it has not come yet), send the text
//! message `late` with `then=data` (a data frame after the close frames), and keep TCP open
//! `hold_ms` milliseconds (0 by default, [`MAX_HOLD`] at most) or until the client closes it,
//! before closing it.

use std::time::{Duration, Instant};

use crate::conn::Conn;
use crate::frame_layer::{close_payload, describe_close, FrameConn, Incoming, Kind, ReadError};
use crate::handshake::Request;

/// The longest `hold_ms` may keep TCP open after the close frames.
const MAX_HOLD: Duration = Duration::from_secs(30);
/// The longest either route waits for the client's close frame.
const CLOSE_WAIT: Duration = Duration::from_secs(30);
/// How long closing TCP waits for the client to close its side.
const LINGER: Duration = Duration::from_secs(5);

/// `/close-raw`: the server's close frame first (see the module's doc).
pub fn close_raw(conn: Conn, leftover: Vec<u8>, request: &Request) -> String {
    let mut frames = FrameConn::new(conn, leftover, None);
    let code = request
        .param("code")
        .and_then(|code| code.trim().parse::<u16>().ok());
    let payload = close_payload(code, request.param("reason").unwrap_or("").as_bytes());
    if let Err(err) = frames.send_close(&payload) {
        return format!("sending {} failed: {err}", describe_close(&payload));
    }
    let answer = match read_until_close(&mut frames) {
        Ok(answer) => answer,
        Err(end) => return format!("sent {}; {end}", describe_close(&payload)),
    };
    let tail = after_close(frames, request);
    format!(
        "sent {}; client answered {}; {tail}",
        describe_close(&payload),
        describe_close(&answer)
    )
}

/// `/answer-close`: the client's close frame first (see the module's doc).
pub fn answer_close(conn: Conn, leftover: Vec<u8>, request: &Request) -> String {
    let mut frames = FrameConn::new(conn, leftover, None);
    let close = loop {
        match frames.read() {
            Ok(Incoming::Message { kind, payload, .. }) => {
                if let Err(err) = frames.send(kind, &payload) {
                    return format!("echo failed: {err}");
                }
            }
            Ok(Incoming::Close(payload)) => break payload,
            Ok(Incoming::Ended) => return "client closed TCP without a close frame".into(),
            Err(err) => return format!("before the client's close frame: {err}"),
        }
    };
    if let Err(err) = frames.send_close(&close) {
        return format!("answering {} failed: {err}", describe_close(&close));
    }
    let tail = after_close(frames, request);
    format!("client sent {}, answered; {tail}", describe_close(&close))
}

/// Reads until the client's close frame (messages are ignored); its payload, or how the
/// connection ended first.
fn read_until_close(frames: &mut FrameConn) -> Result<Vec<u8>, String> {
    let deadline = Instant::now() + CLOSE_WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || frames.set_read_timeout(left).is_err() {
            return Err("no close frame from the client".into());
        }
        match frames.read() {
            Ok(Incoming::Message { .. }) => {}
            Ok(Incoming::Close(payload)) => return Ok(payload),
            Ok(Incoming::Ended) => return Err("client closed TCP without a close frame".into()),
            Err(ReadError::TimedOut) => {}
            Err(err) => return Err(format!("reading failed: {err}")),
        }
    }
}

/// Once the close frames went both ways: the `then=data` frame, the `hold_ms` wait, the TCP
/// close.
fn after_close(mut frames: FrameConn, request: &Request) -> String {
    let mut note = String::new();
    if request.param("then") == Some("data") {
        note = match frames.send(Kind::Text, b"late") {
            Ok(()) => "sent a text frame after the close frames; ".into(),
            Err(err) => format!("sending a frame after the close frames failed ({err}); "),
        };
    }
    let hold = Duration::from_millis(request.num("hold_ms", 0u64)).min(MAX_HOLD);
    let mut conn = frames.into_conn();
    let started = Instant::now();
    if !hold.is_zero() && conn.drain_until(started + hold) {
        note.push_str(&format!(
            "client closed TCP after {} ms of the {} ms hold",
            started.elapsed().as_millis(),
            hold.as_millis()
        ));
        conn.abort();
        return note;
    }
    note.push_str(&format!("closed TCP after {} ms", started.elapsed().as_millis()));
    conn.finish(LINGER);
    note
}
