//! The shared validation rules, run before either backend is touched: URL parsing and
//! normalisation, subprotocol names, close codes and reasons.

use crate::error::{Error, ProtocolNameError, UrlError};

/// The longest close reason allowed, in bytes of UTF-8 (a control frame's 125 bytes less the code).
pub const MAX_CLOSE_REASON_BYTES: usize = 123;

/// A parsed and normalised WebSocket URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsUrl {
    /// The whole URL, normalised as a browser serialises it.
    pub href: String,
    /// `true` for `wss`.
    pub secure: bool,
    /// The host: a lower-case name, an IPv4 address, or an IPv6 address without brackets.
    pub host: String,
    /// The port, the scheme's default when the URL gives none.
    pub port: u16,
    /// The path and query, sent on the request line.
    pub resource: String,
}

impl WsUrl {
    /// The value of the `Host` header: the host (bracketed if IPv6) and a non-default port.
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == default_port(self.secure) {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

fn default_port(secure: bool) -> u16 {
    if secure {
        443
    } else {
        80
    }
}

/// Parses `input` as a browser's `new WebSocket(url)` does.
///
/// Leading and trailing spaces and control characters are trimmed and tabs and newlines
/// removed; `http`/`https` become `ws`/`wss`; scheme and host are lower-cased; a default port is
/// dropped; `\` counts as `/`; `.` and `..` path segments are resolved; characters that a URL
/// cannot carry as they are in the path and query are percent-encoded. Host names must be ASCII
/// (give internationalised names in their `xn--` form).
pub fn parse_url(input: &str) -> Result<WsUrl, Error> {
    let cleaned = clean_url(input);
    let parts = split_url(&cleaned)?;
    let mut resource = normalise_path(parts.path);
    if let Some(query) = parts.query {
        resource.push('?');
        percent_encode_into(&mut resource, query, is_query_char);
    }

    let mut href = String::from(if parts.secure { "wss://" } else { "ws://" });
    if let Some(userinfo) = parts.userinfo {
        href.push_str(userinfo);
        href.push('@');
    }
    let url = WsUrl {
        href: String::new(),
        secure: parts.secure,
        host: match parts.host {
            Host::Name(name) => name.to_ascii_lowercase(),
            Host::Ipv6(address) => serialise_ipv6(&address),
        },
        port: parts.port,
        resource,
    };
    href.push_str(&url.host_header());
    href.push_str(&url.resource);
    Ok(WsUrl { href, ..url })
}

/// Checks `input` with exactly the rules of [`parse_url`] (the same result and the same
/// error), without building the normalised URL: the browser backend hands the URL to the
/// browser, which normalises it itself, so it needs only the verdict.
#[cfg(any(target_arch = "wasm32", test))]
pub(crate) fn check_url(input: &str) -> Result<(), Error> {
    split_url(&clean_url(input)).map(drop)
}

/// The URL without leading and trailing spaces and control characters, and without tabs and
/// newlines.
fn clean_url(input: &str) -> String {
    // Bytes, not chars: the removed characters are ASCII, and no byte of another one is.
    let start = input.bytes().position(|b| b > b' ').unwrap_or(input.len());
    let end = input
        .bytes()
        .rposition(|b| b > b' ')
        .map_or(start, |last| last + 1);
    let mut rest = input.get(start..end).unwrap_or_default();
    let mut cleaned = String::with_capacity(rest.len());
    while let Some((piece, after)) = rest
        .bytes()
        .position(|b| matches!(b, b'\t' | b'\n' | b'\r'))
        .and_then(|at| split_around(rest, at))
    {
        cleaned.push_str(piece);
        rest = after;
    }
    cleaned.push_str(rest);
    cleaned
}

/// The checked parts of a cleaned URL, before normalisation.
struct Parts<'a> {
    secure: bool,
    userinfo: Option<&'a str>,
    host: Host<'a>,
    port: u16,
    path: &'a str,
    query: Option<&'a str>,
}

/// A checked host: a name (ASCII, not yet lower-cased) or an IPv6 address.
enum Host<'a> {
    Name(&'a str),
    Ipv6([u16; 8]),
}

/// Splits and checks a cleaned URL: every rule of [`parse_url`] that can refuse a URL is here.
/// (The string operations here are the ones that cannot panic: slicing by index would bring
/// panic-formatting code into the wasm build.)
fn split_url(cleaned: &str) -> Result<Parts<'_>, Error> {
    let (scheme, rest) = split_scheme(cleaned).ok_or(Error::InvalidUrl(UrlError::Relative))?;
    let secure = if scheme.eq_ignore_ascii_case("ws") || scheme.eq_ignore_ascii_case("http") {
        false
    } else if scheme.eq_ignore_ascii_case("wss") || scheme.eq_ignore_ascii_case("https") {
        true
    } else {
        let scheme = scheme.to_ascii_lowercase();
        return Err(Error::InvalidUrl(UrlError::UnsupportedScheme(scheme)));
    };
    if rest.bytes().any(|b| b == b'#') {
        return Err(Error::InvalidUrl(UrlError::Fragment));
    }
    let slashes = rest.bytes().take_while(|&b| matches!(b, b'/' | b'\\')).count();
    let rest = rest.get(slashes..).unwrap_or_default();
    let at = rest.bytes().position(|b| matches!(b, b'/' | b'\\' | b'?'));
    let (authority, tail) = rest
        .split_at_checked(at.unwrap_or(rest.len()))
        .unwrap_or((rest, ""));
    let (userinfo, host_port) = match split_at_last(authority, b'@') {
        Some((userinfo, host_port)) => (Some(userinfo), host_port),
        None => (None, authority),
    };
    let (host, port_text) = split_host_port(host_port)?;
    let port = match port_text {
        None | Some("") => default_port(secure),
        Some(digits) => parse_port(digits)?,
    };
    let (path, query) = match split_at_first(tail, b'?') {
        Some((path, query)) => (path, Some(query)),
        None => (tail, None),
    };
    Ok(Parts {
        secure,
        userinfo,
        host,
        port,
        path,
        query,
    })
}

/// Splits `text` around the first `byte` (an ASCII character), `None` when it has none.
fn split_at_first(text: &str, byte: u8) -> Option<(&str, &str)> {
    split_around(text, text.bytes().position(|b| b == byte)?)
}

/// Splits `text` around the last `byte` (an ASCII character), `None` when it has none.
fn split_at_last(text: &str, byte: u8) -> Option<(&str, &str)> {
    split_around(text, text.bytes().rposition(|b| b == byte)?)
}

/// The text before and after the one-byte character at `at`.
fn split_around(text: &str, at: usize) -> Option<(&str, &str)> {
    Some((text.get(..at)?, text.get(at + 1..)?))
}

/// Splits `scheme:rest`; `None` when the input does not start with a scheme.
fn split_scheme(input: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = split_at_first(input, b':')?;
    // Bytes, not chars: a non-ASCII char's bytes are not ASCII letters or digits either.
    let mut bytes = scheme.bytes();
    let first_is_alpha = bytes.next()?.is_ascii_alphabetic();
    let valid = first_is_alpha && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    valid.then_some((scheme, rest))
}

fn split_host_port(host_port: &str) -> Result<(Host<'_>, Option<&str>), Error> {
    let invalid_host = || Error::InvalidUrl(UrlError::InvalidHost(host_port.to_string()));
    if let Some(bracketed) = host_port.strip_prefix('[') {
        let (address, after) = split_at_first(bracketed, b']').ok_or_else(invalid_host)?;
        let address = parse_ipv6(address).ok_or_else(invalid_host)?;
        let port = match after.strip_prefix(':') {
            Some(port) => Some(port),
            None if after.is_empty() => None,
            None => return Err(invalid_host()),
        };
        return Ok((Host::Ipv6(address), port));
    }
    let (host, port) = match split_at_last(host_port, b':') {
        Some((host, port)) => (host, Some(port)),
        None => (host_port, None),
    };
    // Bytes, not chars: every byte of a non-ASCII char is itself not ASCII.
    let forbidden = |b: u8| {
        !b.is_ascii()
            || b.is_ascii_control()
            || matches!(
                b,
                b' ' | b'#'
                    | b'%'
                    | b'/'
                    | b':'
                    | b'<'
                    | b'>'
                    | b'?'
                    | b'@'
                    | b'['
                    | b'\\'
                    | b']'
                    | b'^'
                    | b'|'
            )
    };
    if host.is_empty() || host.bytes().any(forbidden) {
        return Err(invalid_host());
    }
    Ok((Host::Name(host), port))
}

/// The eight 16-bit pieces of an IPv6 address in text form (with `::` and an optional dotted
/// IPv4 tail), as the URL standard parses them.
fn parse_ipv6(text: &str) -> Option<[u16; 8]> {
    let mut address = [0u16; 8];
    let bytes = text.as_bytes();
    match (0..bytes.len()).find(|&i| bytes.get(i..i + 2) == Some(b"::")) {
        Some(at) => {
            let mut tail = [0u16; 8];
            let head_len = ipv6_pieces(text.get(..at)?, &mut address, false)?;
            let tail_len = ipv6_pieces(text.get(at + 2..)?, &mut tail, true)?;
            if head_len + tail_len > 7 {
                return None;
            }
            for (slot, piece) in address.iter_mut().skip(8 - tail_len).zip(tail) {
                *slot = piece;
            }
        }
        None => {
            if ipv6_pieces(text, &mut address, true)? != 8 {
                return None;
            }
        }
    }
    Some(address)
}

/// Parses the `:`-separated pieces of one side of an IPv6 address's `::` into the start of
/// `out`; returns how many there are, `None` when a piece is malformed or there are more than
/// eight. A dotted IPv4 address counts as two pieces and may only end the address (`at_end`:
/// this side is the address's end).
fn ipv6_pieces(text: &str, out: &mut [u16; 8], at_end: bool) -> Option<usize> {
    let mut count = 0;
    let mut push = |piece: u16| -> Option<()> {
        *out.get_mut(count)? = piece;
        count += 1;
        Some(())
    };
    if text.is_empty() {
        return Some(0);
    }
    let mut rest = text;
    loop {
        let (group, after) = match split_at_first(rest, b':') {
            Some((group, after)) => (group, Some(after)),
            None => (rest, None),
        };
        if group.bytes().any(|b| b == b'.') {
            if !at_end || after.is_some() {
                return None;
            }
            // Four dotted octets (a fifth part, or a dot in the fourth, is not a digit).
            let mut value = 0u32;
            let mut octets = group;
            for _ in 0..3 {
                let (octet, more) = split_at_first(octets, b'.')?;
                value = value << 8 | parse_octet(octet)?;
                octets = more;
            }
            value = value << 8 | parse_octet(octets)?;
            push((value >> 16) as u16)?;
            push(value as u16)?;
        } else if group.len() <= 4 {
            push(parse_number(group, 16, 0xffff)? as u16)?;
        } else {
            return None;
        }
        match after {
            Some(after) => rest = after,
            None => break,
        }
    }
    Some(count)
}

/// A decimal number from 0 to 255 in an IPv6 address's IPv4 tail, as the URL standard reads
/// it: digits only, no leading zero.
fn parse_octet(text: &str) -> Option<u32> {
    if text.len() > 1 && text.starts_with('0') {
        return None;
    }
    parse_number(text, 10, 255)
}

/// `text` as a number in `radix` (at least one digit, leading zeros allowed), `None` when it
/// has another character or the number is above `max` (at most `u16::MAX`).
fn parse_number(text: &str, radix: u32, max: u32) -> Option<u32> {
    if text.is_empty() {
        return None;
    }
    let mut value = 0u32;
    for b in text.bytes() {
        value = value * radix + char::from(b).to_digit(radix)?;
        if value > max {
            return None;
        }
    }
    Some(value)
}

/// An IPv6 address as the URL standard serialises it: lower-case hex, the first longest run
/// of two or more zero pieces written `::`.
fn serialise_ipv6(address: &[u16; 8]) -> String {
    let (mut best, mut best_len, mut run_start, mut run_len) = (0, 0, 0, 0);
    for (i, piece) in address.iter().enumerate() {
        if *piece == 0 {
            if run_len == 0 {
                run_start = i;
            }
            run_len += 1;
            if run_len > best_len {
                (best, best_len) = (run_start, run_len);
            }
        } else {
            run_len = 0;
        }
    }
    let hex = |pieces: &[u16]| {
        pieces
            .iter()
            .map(|p| format!("{p:x}"))
            .collect::<Vec<_>>()
            .join(":")
    };
    if best_len < 2 {
        return hex(address);
    }
    format!("{}::{}", hex(&address[..best]), hex(&address[best + best_len..]))
}

fn parse_port(digits: &str) -> Result<u16, Error> {
    match parse_number(digits, 10, u32::from(u16::MAX)) {
        Some(port) => Ok(port as u16),
        None => Err(Error::InvalidUrl(UrlError::InvalidPort(digits.to_string()))),
    }
}

/// Resolves `.` and `..` segments, turns `\` into `/` and percent-encodes; an empty path is `/`.
fn normalise_path(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    let raw: Vec<&str> = path.split(['/', '\\']).skip(1).collect();
    let last = raw.len().saturating_sub(1);
    for (i, segment) in raw.iter().enumerate() {
        match segment.to_ascii_lowercase().as_str() {
            "." | "%2e" => {
                if i == last {
                    segments.push("");
                }
            }
            ".." | ".%2e" | "%2e." | "%2e%2e" => {
                segments.pop();
                if i == last {
                    segments.push("");
                }
            }
            _ => segments.push(segment),
        }
    }
    let mut out = String::with_capacity(path.len() + 1);
    if segments.is_empty() {
        out.push('/');
    }
    for segment in segments {
        out.push('/');
        percent_encode_into(&mut out, segment, is_path_char);
    }
    out
}

fn is_path_char(c: char) -> bool {
    c.is_ascii_graphic() && !matches!(c, '"' | '#' | '<' | '>' | '?' | '`' | '{' | '}')
}

fn is_query_char(c: char) -> bool {
    c.is_ascii_graphic() && !matches!(c, '"' | '#' | '<' | '>' | '\'')
}

fn percent_encode_into(out: &mut String, text: &str, keep: fn(char) -> bool) {
    for c in text.chars() {
        if keep(c) {
            out.push(c);
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            let mut buf = [0; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                out.push('%');
                out.push(char::from(HEX[usize::from(byte >> 4)]));
                out.push(char::from(HEX[usize::from(byte & 15)]));
            }
        }
    }
}

/// Checks the requested subprotocols: each a non-empty HTTP token, no two equal when compared
/// ASCII-case-insensitively.
pub fn validate_protocols<S: AsRef<str>>(protocols: &[S]) -> Result<(), Error> {
    for (i, protocol) in protocols.iter().enumerate() {
        let protocol = protocol.as_ref();
        let reason = if protocol.is_empty() {
            Some(ProtocolNameError::Empty)
        } else if !protocol.bytes().all(is_token_byte) {
            Some(ProtocolNameError::NotAToken)
        } else if protocols
            .iter()
            .take(i)
            .any(|earlier| earlier.as_ref().eq_ignore_ascii_case(protocol))
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

/// Bytes, not chars: no byte of a non-ASCII char is a token character either.
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

/// Checks the arguments of `close`: the code first (`InvalidAccessError`), then the reason's
/// length (`SyntaxError`), as browsers do.
pub fn validate_close(code: Option<u16>, reason: Option<&str>) -> Result<(), Error> {
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
/// reason is given, none when neither is.
pub fn close_frame_code(code: Option<u16>, reason: Option<&str>) -> Option<u16> {
    code.or_else(|| reason.filter(|r| !r.is_empty()).map(|_| 1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn href(input: &str) -> String {
        parse_url(input)
            .map(|u| u.href)
            .unwrap_or_else(|e| panic!("{input}: {e}"))
    }

    #[test]
    fn normalises_like_a_browser() {
        assert_eq!(href("ws://h:80/x"), "ws://h/x");
        assert_eq!(href("wss://h:443/"), "wss://h/");
        assert_eq!(href("ws://h"), "ws://h/");
        assert_eq!(href("WS://Example.COM:8080"), "ws://example.com:8080/");
        assert_eq!(href("http://h/a"), "ws://h/a");
        assert_eq!(href("https://h:443"), "wss://h/");
        assert_eq!(href("ws://h/a/../b/./c"), "ws://h/b/c");
        assert_eq!(href("ws://h/a b?q=1 2"), "ws://h/a%20b?q=1%202");
        assert_eq!(href("ws://h\\a\\b"), "ws://h/a/b");
        assert_eq!(href("  ws://h/\t  "), "ws://h/");
        assert_eq!(href("ws://[0:0::1]:9000/x"), "ws://[::1]:9000/x");
        assert_eq!(href("ws://[2001:DB8:0:0:1:0:0:1]/"), "ws://[2001:db8::1:0:0:1]/");
        assert_eq!(href("ws://[::ffff:127.0.0.1]/"), "ws://[::ffff:7f00:1]/");
        assert_eq!(href("ws://[1:2:3:4:5:6:7:8]/"), "ws://[1:2:3:4:5:6:7:8]/");
        assert_eq!(href("ws://[::]/"), "ws://[::]/");
        assert_eq!(href("ws://h:/"), "ws://h/");
        assert_eq!(href("ws://h/é"), "ws://h/%C3%A9");
        // After a special scheme, any number of slashes comes before the host.
        assert_eq!(href("ws:///x"), "ws://x/");
    }

    /// The hand-written number and address parsers, at their edges.
    #[test]
    fn parses_numbers_and_addresses_at_the_edges() {
        assert_eq!(href("ws://h:0/"), "ws://h:0/");
        assert_eq!(href("ws://h:00000000080/"), "ws://h/");
        assert_eq!(href("ws://h:65535/"), "ws://h:65535/");
        assert_eq!(href("ws://[::1.2.3.4]/"), "ws://[::102:304]/");
        assert_eq!(href("ws://[::ffff:255.0.1.1]/"), "ws://[::ffff:ff00:101]/");
        assert_eq!(href("ws://[1:2:3:4:5:6:0.0.0.0]/"), "ws://[1:2:3:4:5:6::]/");
        assert_eq!(href("ws://[ABCD:0:0:0:0:0:0:1]/"), "ws://[abcd::1]/");
        assert_eq!(href("ws://[1:0:0:2:0:0:0:3]/"), "ws://[1:0:0:2::3]/");
        for input in [
            "ws://h:65536/",
            "ws://h:+80/",
            "ws://h:-1/",
            "ws://[::1.2.3.256]/",
            "ws://[::+1.2.3.4]/",
            "ws://[::01.2.3.4]/",
            "ws://[::1.2.3.00]/",
            "ws://[1.2.3.4::]/",
            "ws://[::1.2.3.4:5]/",
            "ws://[1:2:3:4:5:6:7:1.2.3.4]/",
            "ws://[::1.2.3]/",
            "ws://[::1.2.3.4.5]/",
            "ws://[::1..3.4]/",
            "ws://[12345::]/",
            "ws://[::g]/",
            "ws://[1:2:3:4:5:6:7]/",
            "ws://[1:2:3:4:5:6:7::8]/",
            "ws://[1::2::3]/",
            "ws://[:1::]/",
            "ws://[::1]:x/",
            "ws://[::1/",
        ] {
            assert!(parse_url(input).is_err(), "{input}");
        }
    }

    #[test]
    fn refuses_what_a_browser_refuses() {
        let err = |input: &str| parse_url(input).unwrap_err();
        assert_eq!(err("/relative"), Error::InvalidUrl(UrlError::Relative));
        assert_eq!(err(""), Error::InvalidUrl(UrlError::Relative));
        assert_eq!(
            err("ftp://h/"),
            Error::InvalidUrl(UrlError::UnsupportedScheme("ftp".into()))
        );
        assert_eq!(err("ws://h/#"), Error::InvalidUrl(UrlError::Fragment));
        assert_eq!(err("ws://h/#x"), Error::InvalidUrl(UrlError::Fragment));
        assert!(matches!(
            err("ws://a b/"),
            Error::InvalidUrl(UrlError::InvalidHost(_))
        ));
        assert!(matches!(
            err("ws://"),
            Error::InvalidUrl(UrlError::InvalidHost(_))
        ));
        assert!(matches!(
            err("ws://:80/"),
            Error::InvalidUrl(UrlError::InvalidHost(_))
        ));
        assert!(matches!(
            err("ws://h:99999/"),
            Error::InvalidUrl(UrlError::InvalidPort(_))
        ));
        assert!(matches!(
            err("ws://h:8x/"),
            Error::InvalidUrl(UrlError::InvalidPort(_))
        ));
    }

    #[test]
    fn check_url_agrees_with_parse_url() {
        for input in [
            "ws://h:80/x",
            "WS://Example.COM:8080",
            "https://h:443",
            "ws://h/a/../b/./c",
            "ws://h\\a\\b",
            "  ws://h/\t  ",
            "ws://[0:0::1]:9000/x",
            "ws://[::ffff:127.0.0.1]/",
            "ws://[1:2:3:4:5:6:7:8]/",
            "ws://[::]/",
            "ws://[1::2::3]/",
            "ws://[1:2:3:4:5:6:7:8:9]/",
            "ws://[1.2.3.256]/",
            "ws://[::1]x/",
            "ws://u:p@h:1/",
            "ws:///x",
            "/relative",
            "",
            "ftp://h/",
            "ws://h/#",
            "ws://a b/",
            "ws://",
            "ws://:80/",
            "ws://h:99999/",
            "ws://h:8x/",
            "ws://h:65535/",
            "ws://h:065535/",
            "ws://h:65536/",
        ] {
            assert_eq!(check_url(input), parse_url(input).map(drop), "{input:?}");
        }
    }

    #[test]
    fn checks_subprotocols() {
        assert!(validate_protocols(&["chat", "v2.json", "a!#$%&'*+-.^_`|~"]).is_ok());
        let reason = |list: &[&str]| match validate_protocols(list) {
            Err(Error::InvalidProtocol { reason, .. }) => reason,
            other => panic!("{list:?}: {other:?}"),
        };
        assert_eq!(reason(&[""]), ProtocolNameError::Empty);
        assert_eq!(reason(&["/echo"]), ProtocolNameError::NotAToken);
        assert_eq!(reason(&["ec ho"]), ProtocolNameError::NotAToken);
        assert_eq!(reason(&["\u{80}echo"]), ProtocolNameError::NotAToken);
        assert_eq!(reason(&["chat", "CHAT"]), ProtocolNameError::Duplicate);
    }

    #[test]
    fn checks_close_arguments() {
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
        assert_eq!(close_frame_code(None, Some("why")), Some(1000));
        assert_eq!(close_frame_code(None, None), None);
    }
}
