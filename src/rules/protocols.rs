//! The constructor's subprotocol rules.

use crate::error::{Error, ProtocolNameError};

/// Checks the requested subprotocols as the WebSocket standard does: each a non-empty HTTP
/// token, no name twice (compared exactly, so `echo` and `eCho` are two names).
pub(crate) fn validate_protocols<S: AsRef<str>>(protocols: &[S]) -> Result<(), Error> {
    for (i, protocol) in protocols.iter().enumerate() {
        let protocol = protocol.as_ref();
        let reason = if protocol.is_empty() {
            Some(ProtocolNameError::Empty)
        } else if !protocol.bytes().all(is_token_byte) {
            Some(ProtocolNameError::NotAToken)
        } else if protocols
            .iter()
            .take(i)
            .any(|earlier| earlier.as_ref() == protocol)
        {
            Some(ProtocolNameError::Duplicate)
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(Error::InvalidProtocol {
                protocol: protocol.to_string(),
                reason,
            });
        }
    }
    Ok(())
}

/// An HTTP token character (RFC 9110 `tchar`). Bytes, not chars: no byte of a non-ASCII char
/// is a token character either.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(list: &[&str]) -> ProtocolNameError {
        match validate_protocols(list) {
            Err(Error::InvalidProtocol { reason, .. }) => reason,
            other => panic!("{list:?}: {other:?}"),
        }
    }

    #[test]
    fn names_are_tokens() {
        assert!(validate_protocols(&["chat", "v2.json", "a!#$%&'*+-.^_`|~"]).is_ok());
        assert_eq!(reason(&[""]), ProtocolNameError::Empty);
        assert_eq!(reason(&["/echo"]), ProtocolNameError::NotAToken);
        assert_eq!(reason(&["ec ho"]), ProtocolNameError::NotAToken);
        assert_eq!(reason(&["\u{80}echo"]), ProtocolNameError::NotAToken);
    }

    #[test]
    fn duplicates_are_compared_exactly() {
        assert_eq!(reason(&["chat", "v2", "chat"]), ProtocolNameError::Duplicate);
        assert!(validate_protocols(&["echo", "eCho", "ECHO"]).is_ok());
    }
}
