//! permessage-deflate's negotiation (RFC 7692 5, 7.1), client side, as Chromium makes it
//! (`net/websockets/websocket_handshake_stream_base.cc`, `websocket_extension_parser.cc`,
//! `websocket_deflate_parameters.cc`): the offer Chromium sends, the checks it makes on the
//! server's `Sec-WebSocket-Extensions` answer, and the `extensions` string it then reports.
//!
//! How Chromium reads the answer (checked against Chromium 156):
//! - each `Sec-WebSocket-Extensions` line's value, trimmed of spaces and tabs, is parsed
//!   whole as an extension list: tokens, `;` parameters, `=` values that are tokens or
//!   non-empty quoted strings of token characters, blanks allowed around the punctuation. An
//!   empty value, a trailing or lone comma, any stray character fails the handshake;
//! - names are compared as they are written (case-sensitively): only `permessage-deflate` is
//!   known, and only once in all the lines;
//! - its parameters: `server_no_context_takeover`, `client_no_context_takeover` (no value),
//!   `server_max_window_bits=N` and `client_max_window_bits=N` with N a decimal from 8 to 15
//!   without a leading zero or sign (a quoted number counts); each at most once; the client's
//!   needs a value in an answer;
//! - `extensions` is the lines' values as the server wrote them (trimmed, inner blanks, quotes
//!   and case kept), joined with `", "`.

use std::fmt;

/// The `Sec-WebSocket-Extensions` value of the opening request, Chromium's: permessage-deflate,
/// letting the server choose the client's window.
pub(crate) const OFFER: &str = "permessage-deflate; client_max_window_bits";

const EXTENSION_NAME: &str = "permessage-deflate";

/// The permessage-deflate parameters the server answered with. The default is the extension
/// with no parameter: context takeover both ways, 15-bit windows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct DeflateParams {
    /// The server resets its compressor after each message.
    pub(crate) server_no_context_takeover: bool,
    /// The client must reset its compressor after each message.
    pub(crate) client_no_context_takeover: bool,
    /// The server's window, 8 to 15 bits; `None`: 15.
    pub(crate) server_max_window_bits: Option<u8>,
    /// The client's window, 8 to 15 bits; `None`: 15.
    pub(crate) client_max_window_bits: Option<u8>,
}

/// The outcome of a valid answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Negotiated {
    /// permessage-deflate's parameters, when the server accepted it.
    pub(crate) deflate: Option<DeflateParams>,
    /// What the socket's `extensions()` returns, exactly as Chromium reports it.
    pub(crate) extensions: String,
}

/// Why the server's answer fails the handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ExtensionError {
    /// A value that is not an extension list (an empty header, stray punctuation...).
    Unparsable(String),
    /// An extension, when none was offered.
    NotOffered(String),
    /// An extension other than permessage-deflate.
    Unsupported(String),
    /// permessage-deflate twice.
    DuplicateExtension,
    /// A parameter twice.
    DuplicateParameter(&'static str),
    /// A value on a flag, or a window size that is not a plain decimal from 8 to 15.
    InvalidParameter(&'static str),
    /// A parameter RFC 7692 does not define.
    UnknownParameter(String),
    /// `client_max_window_bits` without a value, which only an offer may have.
    ClientWindowWithoutValue,
}

impl fmt::Display for ExtensionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unparsable(value) => {
                write!(f, "the 'Sec-WebSocket-Extensions' value {value:?} does not parse")
            }
            Self::NotOffered(name) => write!(
                f,
                "the server accepted the extension {name:?}, which was not offered"
            ),
            Self::Unsupported(name) => write!(f, "the server accepted the unsupported extension {name:?}"),
            Self::DuplicateExtension => f.write_str("the server accepted permessage-deflate twice"),
            Self::DuplicateParameter(name) => {
                write!(f, "permessage-deflate: the parameter {name} is repeated")
            }
            Self::InvalidParameter(name) => {
                write!(f, "permessage-deflate: the parameter {name} has an invalid value")
            }
            Self::UnknownParameter(name) => write!(f, "permessage-deflate: unknown parameter {name:?}"),
            Self::ClientWindowWithoutValue => {
                f.write_str("permessage-deflate: client_max_window_bits needs a value in an answer")
            }
        }
    }
}

/// Checks the server's answer: `header_values` holds the value of each
/// `Sec-WebSocket-Extensions` line of the response, in order; `offered` says whether the
/// request carried [`OFFER`].
pub(crate) fn negotiate<'a>(
    header_values: impl IntoIterator<Item = &'a [u8]>,
    offered: bool,
) -> Result<Negotiated, ExtensionError> {
    let mut negotiated = Negotiated::default();
    let mut accepted_values: Vec<&str> = Vec::new();
    for line in header_values {
        let value = trim_blanks(line);
        let extensions = parse_list(value)
            .ok_or_else(|| ExtensionError::Unparsable(String::from_utf8_lossy(value).into_owned()))?;
        for extension in extensions {
            if !offered {
                return Err(ExtensionError::NotOffered(extension.name.to_owned()));
            }
            if extension.name != EXTENSION_NAME {
                return Err(ExtensionError::Unsupported(extension.name.to_owned()));
            }
            if negotiated.deflate.is_some() {
                return Err(ExtensionError::DuplicateExtension);
            }
            negotiated.deflate = Some(deflate_params(&extension.params)?);
        }
        // A value that parsed is made of ASCII token characters, punctuation and blanks.
        accepted_values.push(std::str::from_utf8(value).expect("an extension list is ASCII"));
    }
    negotiated.extensions = accepted_values.join(", ");
    Ok(negotiated)
}

/// `true` for the blanks HTTP allows around values and punctuation: space and tab.
fn is_blank(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

/// `bytes` without its leading blanks.
fn trim_blanks_start(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| !is_blank(*b)).unwrap_or(bytes.len());
    &bytes[start..]
}

/// `bytes` without the blanks around it.
fn trim_blanks(bytes: &[u8]) -> &[u8] {
    let bytes = trim_blanks_start(bytes);
    let end = bytes.iter().rposition(|b| !is_blank(*b)).map_or(0, |i| i + 1);
    &bytes[..end]
}

/// One extension of a list: its name and parameters (a parameter's value unquoted).
struct Extension<'a> {
    name: &'a str,
    params: Vec<(&'a str, Option<String>)>,
}

/// Parses an extension list; `None` when `value` is not one.
fn parse_list(value: &[u8]) -> Option<Vec<Extension<'_>>> {
    let mut parser = Parser { rest: value };
    let mut extensions = Vec::new();
    loop {
        extensions.push(parser.extension()?);
        if !parser.eat(b',') {
            break;
        }
    }
    parser.skip_blanks();
    parser.rest.is_empty().then_some(extensions)
}

/// A cursor over an extension list.
struct Parser<'a> {
    rest: &'a [u8],
}

impl<'a> Parser<'a> {
    fn skip_blanks(&mut self) {
        self.rest = trim_blanks_start(self.rest);
    }

    /// Consumes `byte` (after blanks) if it is next.
    fn eat(&mut self, byte: u8) -> bool {
        let saved = self.rest;
        self.skip_blanks();
        if self.rest.first() == Some(&byte) {
            self.rest = &self.rest[1..];
            true
        } else {
            self.rest = saved;
            false
        }
    }

    /// A token (after blanks).
    fn token(&mut self) -> Option<&'a str> {
        self.skip_blanks();
        let len = self.rest.iter().take_while(|b| is_token_byte(**b)).count();
        let (token, rest) = self.rest.split_at(len);
        self.rest = rest;
        (len > 0).then(|| std::str::from_utf8(token).expect("token bytes are ASCII"))
    }

    fn extension(&mut self) -> Option<Extension<'a>> {
        let name = self.token()?;
        let mut params = Vec::new();
        while self.eat(b';') {
            let param = self.token()?;
            let value = if self.eat(b'=') { Some(self.value()?) } else { None };
            params.push((param, value));
        }
        Some(Extension { name, params })
    }

    /// A parameter's value: a token or a non-empty quoted string of (possibly escaped) token
    /// characters.
    fn value(&mut self) -> Option<String> {
        if !self.eat(b'"') {
            return self.token().map(str::to_owned);
        }
        let mut value = String::new();
        loop {
            let (&byte, rest) = self.rest.split_first()?;
            self.rest = rest;
            let byte = match byte {
                b'"' => break,
                b'\\' => {
                    let (&escaped, rest) = self.rest.split_first()?;
                    self.rest = rest;
                    escaped
                }
                byte => byte,
            };
            if !is_token_byte(byte) {
                return None;
            }
            value.push(char::from(byte));
        }
        (!value.is_empty()).then_some(value)
    }
}

/// An HTTP token character (RFC 9110 5.6.2).
fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// permessage-deflate's parameters from an answer, checked.
fn deflate_params(params: &[(&str, Option<String>)]) -> Result<DeflateParams, ExtensionError> {
    use ExtensionError::{DuplicateParameter, InvalidParameter};
    let mut deflate = DeflateParams::default();
    // `client_max_window_bits` seen, with or without a value.
    let mut client_window_seen = false;
    for (name, value) in params {
        match *name {
            "server_no_context_takeover" | "client_no_context_takeover" => {
                let (name, flag) = if *name == "server_no_context_takeover" {
                    (
                        "server_no_context_takeover",
                        &mut deflate.server_no_context_takeover,
                    )
                } else {
                    (
                        "client_no_context_takeover",
                        &mut deflate.client_no_context_takeover,
                    )
                };
                if *flag {
                    return Err(DuplicateParameter(name));
                }
                if value.is_some() {
                    return Err(InvalidParameter(name));
                }
                *flag = true;
            }
            "server_max_window_bits" => {
                const NAME: &str = "server_max_window_bits";
                if deflate.server_max_window_bits.is_some() {
                    return Err(DuplicateParameter(NAME));
                }
                let bits = value
                    .as_deref()
                    .and_then(window_bits)
                    .ok_or(InvalidParameter(NAME))?;
                deflate.server_max_window_bits = Some(bits);
            }
            "client_max_window_bits" => {
                const NAME: &str = "client_max_window_bits";
                if client_window_seen {
                    return Err(DuplicateParameter(NAME));
                }
                client_window_seen = true;
                if let Some(value) = value {
                    deflate.client_max_window_bits = Some(window_bits(value).ok_or(InvalidParameter(NAME))?);
                }
            }
            unknown => return Err(ExtensionError::UnknownParameter(unknown.to_owned())),
        }
    }
    if client_window_seen && deflate.client_max_window_bits.is_none() {
        return Err(ExtensionError::ClientWindowWithoutValue);
    }
    Ok(deflate)
}

/// A window size: a decimal from 8 to 15 with no leading zero or sign.
fn window_bits(value: &str) -> Option<u8> {
    let plain = !value.starts_with('0') && !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
    let bits: u8 = value.parse().ok().filter(|_| plain)?;
    (8..=15).contains(&bits).then_some(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(lines: &[&str]) -> Result<Negotiated, ExtensionError> {
        negotiate(lines.iter().map(|line| line.as_bytes()), true)
    }

    fn params(line: &str) -> DeflateParams {
        answer(&[line])
            .unwrap_or_else(|e| panic!("{line}: {e}"))
            .deflate
            .expect("deflate")
    }

    #[test]
    fn the_offer_is_chromiums() {
        assert_eq!(OFFER, "permessage-deflate; client_max_window_bits");
    }

    #[test]
    fn no_header_means_no_extension() {
        assert_eq!(answer(&[]), Ok(Negotiated::default()));
        assert_eq!(negotiate([], false), Ok(Negotiated::default()));
    }

    #[test]
    fn an_empty_header_fails_the_handshake() {
        assert!(matches!(answer(&[""]), Err(ExtensionError::Unparsable(_))));
        assert!(matches!(answer(&["  "]), Err(ExtensionError::Unparsable(_))));
        assert!(matches!(
            negotiate([&b""[..]], false),
            Err(ExtensionError::Unparsable(_))
        ));
    }

    #[test]
    fn every_parameter_is_accepted_once() {
        assert_eq!(params("permessage-deflate"), DeflateParams::default());
        assert_eq!(
            params("permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=8"),
            DeflateParams {
                server_no_context_takeover: true,
                client_no_context_takeover: true,
                server_max_window_bits: Some(10),
                client_max_window_bits: Some(8),
            }
        );
        assert_eq!(
            params("permessage-deflate;server_max_window_bits=\"15\"").server_max_window_bits,
            Some(15)
        );
        assert_eq!(
            params("permessage-deflate; client_max_window_bits = \"1\\2\"").client_max_window_bits,
            Some(12)
        );
    }

    #[test]
    fn window_bits_out_of_range_or_malformed_fail() {
        for value in [
            "7",
            "16",
            "08",
            "+9",
            "9a",
            "0",
            "99999999999999999999",
            "\"\"",
            "-9",
            "010",
        ] {
            for name in ["server_max_window_bits", "client_max_window_bits"] {
                let line = format!("permessage-deflate; {name}={value}");
                let result = answer(&[&line]);
                assert!(
                    matches!(
                        result,
                        Err(ExtensionError::InvalidParameter(_) | ExtensionError::Unparsable(_))
                    ),
                    "{line}: {result:?}"
                );
            }
        }
        assert_eq!(
            answer(&["permessage-deflate; server_max_window_bits"]),
            Err(ExtensionError::InvalidParameter("server_max_window_bits"))
        );
        assert!(matches!(
            answer(&["permessage-deflate; server_max_window_bits="]),
            Err(ExtensionError::Unparsable(_))
        ));
    }

    #[test]
    fn client_max_window_bits_needs_a_value_in_an_answer() {
        assert_eq!(
            answer(&["permessage-deflate; client_max_window_bits"]),
            Err(ExtensionError::ClientWindowWithoutValue)
        );
    }

    #[test]
    fn duplicate_unknown_and_valued_flag_parameters_fail() {
        assert_eq!(
            answer(&["permessage-deflate; server_no_context_takeover; server_no_context_takeover"]),
            Err(ExtensionError::DuplicateParameter("server_no_context_takeover"))
        );
        assert_eq!(
            answer(&["permessage-deflate; client_max_window_bits=9; client_max_window_bits=10"]),
            Err(ExtensionError::DuplicateParameter("client_max_window_bits"))
        );
        assert_eq!(
            answer(&["permessage-deflate; client_no_context_takeover=1"]),
            Err(ExtensionError::InvalidParameter("client_no_context_takeover"))
        );
        assert_eq!(
            answer(&["permessage-deflate; x=1"]),
            Err(ExtensionError::UnknownParameter("x".into()))
        );
        // Parameter names are case-sensitive too.
        assert!(matches!(
            answer(&["permessage-deflate; Server_No_Context_Takeover"]),
            Err(ExtensionError::UnknownParameter(_))
        ));
    }

    #[test]
    fn an_extension_not_offered_or_unknown_or_twice_fails() {
        assert!(matches!(
            negotiate([&b"permessage-deflate"[..]], false),
            Err(ExtensionError::NotOffered(_))
        ));
        assert!(matches!(
            answer(&["x-webkit-deflate-frame"]),
            Err(ExtensionError::Unsupported(_))
        ));
        assert!(matches!(
            answer(&["Permessage-Deflate"]),
            Err(ExtensionError::Unsupported(_))
        ));
        assert_eq!(
            answer(&["permessage-deflate, permessage-deflate"]),
            Err(ExtensionError::DuplicateExtension)
        );
        assert_eq!(
            answer(&["permessage-deflate", "permessage-deflate"]),
            Err(ExtensionError::DuplicateExtension)
        );
    }

    #[test]
    fn malformed_lists_fail() {
        for line in [
            "permessage-deflate;",
            "permessage-deflate; ;",
            "permessage-deflate; a b",
            "permessage-deflate; server_max_window_bits=\"1 0\"",
            "permessage-deflate; server_max_window_bits=\"10",
            "per message-deflate",
            "permessage-deflate; server_max_window_bits=10=10",
            "\"permessage-deflate\"",
        ] {
            assert!(
                matches!(answer(&[line]), Err(ExtensionError::Unparsable(_))),
                "{line}"
            );
        }
    }

    #[test]
    fn extensions_reports_the_servers_value_as_written() {
        // Both as Chromium 156 reported them.
        let spaced = "permessage-deflate ;  server_no_context_takeover\t; client_max_window_bits = 10";
        assert_eq!(answer(&[&format!("  {spaced}  ")]).unwrap().extensions, spaced);
        let quoted = "permessage-deflate; server_max_window_bits=\"10\"";
        assert_eq!(answer(&[quoted]).unwrap().extensions, quoted);
    }

    #[test]
    fn stray_commas_fail_the_handshake() {
        // Chromium 156 fails all of these.
        for line in [
            "permessage-deflate,",
            " , ",
            ",permessage-deflate",
            "permessage-deflate,,x",
        ] {
            assert!(
                matches!(answer(&[line]), Err(ExtensionError::Unparsable(_))),
                "{line}"
            );
        }
        assert!(matches!(
            answer(&["permessage-deflate", ""]),
            Err(ExtensionError::Unparsable(_))
        ));
    }
}
