//! Entry points for the fuzz targets (`fuzz/`, built with `--cfg fuzzing`): each runs one of the
//! library's pure decisions on arbitrary input and panics where an invariant breaks.

use crate::rules::close::{close_frame_code, validate_close, MAX_CLOSE_REASON_BYTES};
use crate::rules::protocols::validate_protocols;
use crate::WebSocketUrl;

/// permessage-deflate's negotiation fed `data` as the server's `Sec-WebSocket-Extensions`
/// lines (split at `\n`; the first byte says whether it was offered).
#[cfg(not(target_arch = "wasm32"))]
pub use crate::native::wire::fuzzing::extension_answer as wire_extensions;
/// The native client fed `data` as a server's bytes: the answer to the opening handshake (sent
/// with the RFC 6455 sample key, `dGhlIHNhbXBsZSBub25jZQ==`, whose accept value is
/// `s3pPLMBiTxaQ9kYGzzhZRbK+xOo=`, with the subprotocol `chat` requested and
/// permessage-deflate offered), then, if that is accepted, the rest as frames through the
/// session it negotiated.
#[cfg(not(target_arch = "wasm32"))]
pub use crate::native::wire::fuzzing::handshake_then_frames as server_bytes;
/// The native message layer fed `data` as a server's frames (the first byte chooses deflate's
/// parameters, the limit and how the bytes arrive), every message echoed back and checked.
#[cfg(not(target_arch = "wasm32"))]
pub use crate::native::wire::fuzzing::session_bytes as wire;

/// The constructor's URL steps on `input`: an accepted URL is `ws` or `wss`, has no fragment,
/// and parses again to itself.
pub fn url(input: &str) {
    if let Ok(url) = WebSocketUrl::parse(input) {
        let href = url.as_str();
        assert!(
            href.starts_with("ws://") || href.starts_with("wss://"),
            "{input:?} -> {href}"
        );
        assert!(!href.contains('#'), "{input:?} -> {href}");
        match WebSocketUrl::parse(href) {
            Ok(again) => assert_eq!(again, url, "not idempotent: {input:?}"),
            Err(error) => panic!("{input:?} -> {href:?}, which does not parse: {error}"),
        }
    }
}

/// The subprotocol rules on `protocols`: accepted lists hold distinct non-empty ASCII names
/// without spaces.
pub fn protocols(protocols: &[&str]) {
    if validate_protocols(protocols).is_ok() {
        for (i, name) in protocols.iter().enumerate() {
            assert!(
                !name.is_empty() && name.is_ascii() && !name.contains(' '),
                "{protocols:?}"
            );
            assert!(
                !protocols[..i].contains(name),
                "duplicate accepted: {protocols:?}"
            );
        }
    }
}

/// `close()`'s rules on a code and reason: accepted exactly when the code is 1000 or in
/// 3000..=4999 and the reason fits; the frame's code is the code, or 1000 for a reason alone.
pub fn close(code: Option<u16>, reason: Option<&str>) {
    let code_ok = code.is_none_or(|c| c == 1000 || (3000..=4999).contains(&c));
    let reason_ok = reason.map_or(0, str::len) <= MAX_CLOSE_REASON_BYTES;
    let result = validate_close(code, reason);
    assert_eq!(
        result.is_ok(),
        code_ok && reason_ok,
        "validate_close({code:?}, {reason:?}) = {result:?}"
    );
    let expected = match (code, reason) {
        (Some(c), _) => Some(c),
        (None, Some(r)) if !r.is_empty() => Some(1000),
        (None, _) => None,
    };
    assert_eq!(
        close_frame_code(code, reason),
        expected,
        "close_frame_code({code:?}, {reason:?})"
    );
}
