//! The rules of `close(code, reason)`.

use crate::error::Error;

/// The longest close reason allowed, in bytes of UTF-8 (a control frame's 125 bytes less the code).
pub(crate) const MAX_CLOSE_REASON_BYTES: usize = 123;

/// Checks the arguments of `close`: the code first (`InvalidAccessError` unless 1000 or
/// 3000..=4999), then the reason's length (`SyntaxError`), as browsers do.
pub(crate) fn validate_close(code: Option<u16>, reason: Option<&str>) -> Result<(), Error> {
    if let Some(code) = code {
        if code != 1000 && !(3000..=4999).contains(&code) {
            return Err(Error::InvalidCloseCode(code));
        }
    }
    let len = reason.map_or(0, str::len);
    if len > MAX_CLOSE_REASON_BYTES {
        return Err(Error::CloseReasonTooLong(len));
    }
    Ok(())
}

/// The code a close frame carries for `close(code, reason)`: the code, 1000 when only a
/// non-empty reason is given, none when neither is.
pub(crate) fn close_frame_code(code: Option<u16>, reason: Option<&str>) -> Option<u16> {
    code.or_else(|| reason.filter(|r| !r.is_empty()).map(|_| 1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_reasons_are_checked_code_first() {
        assert!(validate_close(Some(1000), Some("bye")).is_ok());
        assert!(validate_close(Some(3000), None).is_ok());
        assert!(validate_close(Some(4999), None).is_ok());
        for code in [999, 1001, 1005, 2999, 5000] {
            assert_eq!(
                validate_close(Some(code), None),
                Err(Error::InvalidCloseCode(code))
            );
        }
        assert!(validate_close(None, Some(&"x".repeat(123))).is_ok());
        assert_eq!(
            validate_close(None, Some(&"x".repeat(124))),
            Err(Error::CloseReasonTooLong(124))
        );
        assert_eq!(
            validate_close(Some(1), Some(&"x".repeat(200))),
            Err(Error::InvalidCloseCode(1))
        );
    }

    #[test]
    fn a_reason_alone_sends_1000() {
        assert_eq!(close_frame_code(None, Some("why")), Some(1000));
        assert_eq!(close_frame_code(None, Some("")), None);
        assert_eq!(close_frame_code(None, None), None);
        assert_eq!(close_frame_code(Some(3000), None), Some(3000));
    }
}
