//! The WebSocket constructor's URL steps (WHATWG WebSocket standard, `new WebSocket(url)`): the
//! URL is parsed by the WHATWG URL standard (ada natively, the browser's own parser in a page),
//! against a base URL if there is one; then `http` and `https` become `ws` and `wss`, and any
//! other scheme, and any fragment, is a `SyntaxError`.

use std::fmt;

use crate::error::{Error, UrlError};

cfg_if::cfg_if! {
    if #[cfg(target_arch = "wasm32")] {
        #[path = "url/browser.rs"]
        mod parser;
    } else {
        #[path = "url/ada.rs"]
        mod parser;
    }
}

/// A URL the WebSocket constructor accepts, normalised as the WHATWG URL standard serialises it
/// (`ws` or `wss`, no default port, `/` for an empty path, percent-encoding, IDNA, IPv4 and
/// IPv6 forms): what [`Socket::url`](crate::Socket::url) returns.
///
/// Parsing is the same on both targets except where the standard leaves it to the platform:
/// in a page, a relative URL resolves against the page's base URL (as `new WebSocket(url)`
/// does); natively there is none, so a relative URL needs
/// [`parse_with_base`](WebSocketUrl::parse_with_base). In a page the browser's own parser is
/// used; where Chromium departs from the standard (it accepts a space in a host, for example),
/// the page follows Chromium and the native backend the standard.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WebSocketUrl {
    href: String,
}

impl WebSocketUrl {
    /// The URL `new WebSocket(input)` would connect to.
    ///
    /// # Errors
    /// [`Error::InvalidUrl`] (a `SyntaxError`): the URL does not parse (its kind says why), is
    /// relative with no base URL, has a scheme other than `ws`, `wss`, `http` and `https`, or
    /// has a fragment.
    pub fn parse(input: &str) -> Result<Self, Error> {
        Self::parse_with_base(input, None)
    }

    /// [`WebSocketUrl::parse`], resolving `input` against `base` when one is given (in a page,
    /// instead of the page's base URL).
    ///
    /// # Errors
    /// As [`WebSocketUrl::parse`], and [`UrlError::InvalidBase`] when `base` is not a valid
    /// absolute URL.
    pub fn parse_with_base(input: &str, base: Option<&str>) -> Result<Self, Error> {
        let invalid = |kind| Err(Error::InvalidUrl(kind));
        let default_base;
        let base = match base {
            Some(base) if parser::parse(base, None).is_none() => {
                return invalid(UrlError::InvalidBase(base.to_string()))
            }
            Some(base) => Some(base),
            None => {
                default_base = parser::default_base();
                default_base.as_deref()
            }
        };
        let Some(mut url) = parser::parse(input, base) else {
            return invalid(why_unparsable(input, base));
        };
        match url.scheme().as_str() {
            "ws" | "wss" => {}
            "http" => url.set_scheme("ws"),
            "https" => url.set_scheme("wss"),
            other => return invalid(UrlError::UnsupportedScheme(other.to_string())),
        }
        let href = url.href();
        // A `ws`/`wss` URL's serialisation has a `#` only where its fragment starts: the path,
        // query and user information percent-encode it, and a host cannot hold one.
        if href.contains('#') {
            return invalid(UrlError::Fragment);
        }
        Ok(Self { href })
    }

    /// The URL as text.
    pub fn as_str(&self) -> &str {
        &self.href
    }

    /// `true` for `wss` (TLS).
    pub fn is_secure(&self) -> bool {
        self.href.starts_with("wss:")
    }

    /// The URL as a `String`.
    pub fn into_string(self) -> String {
        self.href
    }
}

/// The parts of the URL the native backend connects with. They are read off the serialised
/// URL, where each has one form: `scheme://[userinfo@]host[:port]/path[?query]`, the user
/// information with `@` and `/` percent-encoded.
#[cfg(not(target_arch = "wasm32"))]
impl WebSocketUrl {
    /// The host and port, as the `Host` header carries them (the URL standard's `host`).
    pub(crate) fn host_header(&self) -> &str {
        let authority = self.href.split_once("://").map_or("", |(_, rest)| rest);
        let authority = authority.split('/').next().unwrap_or_default();
        authority.rsplit('@').next().unwrap_or_default()
    }

    /// The host to connect to: a name, an IPv4 address, or an IPv6 address without brackets.
    pub(crate) fn host(&self) -> &str {
        let (host, _) = self.split_host_port();
        host.strip_prefix('[')
            .and_then(|v6| v6.strip_suffix(']'))
            .unwrap_or(host)
    }

    /// The port: the URL's, or the scheme's default (80, 443).
    pub(crate) fn port(&self) -> u16 {
        match self.split_host_port() {
            (_, Some(port)) => port.parse().unwrap_or_default(),
            (_, None) if self.is_secure() => 443,
            (_, None) => 80,
        }
    }

    /// The path and query, as the request line carries them.
    pub(crate) fn resource(&self) -> &str {
        let rest = self.href.split_once("://").map_or("", |(_, rest)| rest);
        rest.find('/').map_or("/", |at| &rest[at..])
    }

    fn split_host_port(&self) -> (&str, Option<&str>) {
        let host_port = self.host_header();
        let host_end = match host_port.find(']') {
            Some(bracket) => bracket + 1,
            None => host_port.find(':').unwrap_or(host_port.len()),
        };
        let (host, port) = host_port.split_at(host_end);
        (host, port.strip_prefix(':'))
    }
}

impl fmt::Display for WebSocketUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.href)
    }
}

impl AsRef<str> for WebSocketUrl {
    fn as_ref(&self) -> &str {
        &self.href
    }
}

/// Why the URL parser refused `input` (it says only that it did), found from the input's own
/// text in the same way on both targets: relative with no base; else, when the authority has a
/// port that is not a number from 0 to 65535 and its host alone parses, the port; else the
/// host (the parser checks the host first).
///
/// (Byte scans and checked slicing only: the browser build carries this code, and panicking
/// slices or pattern searches would bring formatting code into it.)
fn why_unparsable(input: &str, base: Option<&str>) -> UrlError {
    let input = without_ignored_characters(input);
    let rest = match after_scheme(&input) {
        Some(rest) => rest,
        None if base.is_none() => return UrlError::Relative,
        None => &input,
    };
    let slashes = rest.bytes().take_while(|&b| b == b'/' || b == b'\\').count();
    let rest = rest.get(slashes..).unwrap_or_default();
    let authority_end = position(rest, |b| matches!(b, b'/' | b'\\' | b'?' | b'#')).unwrap_or(rest.len());
    let authority = rest.get(..authority_end).unwrap_or_default();
    let host_start = authority.bytes().rposition(|b| b == b'@').map_or(0, |at| at + 1);
    let host_port = authority.get(host_start..).unwrap_or_default();
    let host_end = if host_port.starts_with('[') {
        position(host_port, |b| b == b']').map_or(host_port.len(), |bracket| bracket + 1)
    } else {
        host_port
            .bytes()
            .rposition(|b| b == b':')
            .unwrap_or(host_port.len())
    };
    let host = host_port.get(..host_end).unwrap_or_default();
    let port = host_port.get(host_end..).unwrap_or_default().strip_prefix(':');
    match port {
        Some(port) if !is_valid_port(port) && host_parses(host) => UrlError::InvalidPort(port.to_string()),
        _ => UrlError::InvalidHost(host.to_string()),
    }
}

/// Whether `host` alone is a valid host of a special URL.
fn host_parses(host: &str) -> bool {
    let mut url = String::with_capacity(host.len() + 6);
    url.push_str("ws://");
    url.push_str(host);
    url.push('/');
    parser::parse(&url, None).is_some()
}

/// Where the first byte of `text` that `found` accepts is.
fn position(text: &str, found: impl Fn(u8) -> bool) -> Option<usize> {
    text.bytes().position(found)
}

/// `input` as the URL parser reads it: without leading and trailing C0 controls and spaces,
/// and without tabs and newlines. (Bytes: the removed characters are ASCII, and no byte of
/// another character is.)
fn without_ignored_characters(input: &str) -> String {
    let start = position(input, |b| b > b' ').unwrap_or(input.len());
    let end = input
        .bytes()
        .rposition(|b| b > b' ')
        .map_or(start, |last| last + 1);
    let trimmed = input.get(start..end).unwrap_or_default();
    trimmed
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect()
}

/// What follows `scheme:` when `input` starts with a scheme.
fn after_scheme(input: &str) -> Option<&str> {
    let colon = position(input, |b| b == b':')?;
    let mut scheme = input.get(..colon)?.bytes();
    let first_is_alpha = scheme.next()?.is_ascii_alphabetic();
    let valid =
        first_is_alpha && scheme.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    valid.then(|| input.get(colon + 1..)).flatten()
}

/// A port the URL standard accepts: digits only (none at all means the default), at most 65535.
fn is_valid_port(port: &str) -> bool {
    let mut value = 0u32;
    port.bytes().all(|b| {
        value = (value * 10 + u32::from(b.wrapping_sub(b'0'))).min(1 << 20);
        b.is_ascii_digit() && value <= 65535
    })
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    fn href(input: &str) -> String {
        WebSocketUrl::parse(input)
            .map(WebSocketUrl::into_string)
            .unwrap_or_else(|e| panic!("{input}: {e}"))
    }

    fn kind(input: &str) -> UrlError {
        match WebSocketUrl::parse(input) {
            Err(Error::InvalidUrl(kind)) => kind,
            other => panic!("{input}: {other:?}"),
        }
    }

    #[test]
    fn the_constructor_steps_map_http_to_ws_and_refuse_other_schemes_and_fragments() {
        assert_eq!(href("http://h:80/x"), "ws://h/x");
        assert_eq!(href("HTTPS://h:443"), "wss://h/");
        assert_eq!(href("http://h:443/"), "ws://h:443/");
        assert_eq!(kind("ftp://h/"), UrlError::UnsupportedScheme("ftp".into()));
        assert_eq!(kind("ws://h/#"), UrlError::Fragment);
        assert_eq!(kind("ws://h/#x"), UrlError::Fragment);
        assert_eq!(href("ws://h/%23"), "ws://h/%23");
    }

    #[test]
    fn the_standard_normalises_hosts() {
        assert_eq!(href("ws://127.1/"), "ws://127.0.0.1/");
        assert_eq!(href("ws://0x7f.1/"), "ws://127.0.0.1/");
        assert_eq!(href("ws://münchen.de/"), "ws://xn--mnchen-3ya.de/");
        assert_eq!(href("ws://%41.com/"), "ws://a.com/");
        assert_eq!(href("ws://a b@h/^"), "ws://a%20b@h/%5E");
        assert_eq!(href("ws://@h/"), "ws://h/");
        assert_eq!(href("ws://[0:0::1]:81/"), "ws://[::1]:81/");
    }

    #[test]
    fn the_kind_of_a_refusal_is_found_from_the_input() {
        assert_eq!(kind(""), UrlError::Relative);
        assert_eq!(kind("/echo"), UrlError::Relative);
        assert_eq!(kind("ws://1.2.3.256/"), UrlError::InvalidHost("1.2.3.256".into()));
        assert_eq!(kind("ws://foo.1/"), UrlError::InvalidHost("foo.1".into()));
        assert_eq!(kind("ws://a b/"), UrlError::InvalidHost("a b".into()));
        assert_eq!(kind("ws://[::1/"), UrlError::InvalidHost("[::1".into()));
        assert_eq!(kind("ws://u:p@h:65536/"), UrlError::InvalidPort("65536".into()));
        assert_eq!(kind("ws://[::1]:8x/"), UrlError::InvalidPort("8x".into()));
        // The host is checked before the port.
        assert_eq!(kind("ws://a b:8x/"), UrlError::InvalidHost("a b".into()));
        assert_eq!(kind("ws:///"), UrlError::InvalidHost(String::new()));
    }

    #[test]
    fn a_base_resolves_relative_urls() {
        let url =
            |input, base| WebSocketUrl::parse_with_base(input, Some(base)).map(WebSocketUrl::into_string);
        assert_eq!(url("/chat", "https://h/page"), Ok("wss://h/chat".to_string()));
        assert_eq!(url("x?y", "ws://h/a/b"), Ok("ws://h/a/x?y".to_string()));
        assert_eq!(
            url("/chat", "/relative"),
            Err(Error::InvalidUrl(UrlError::InvalidBase("/relative".into())))
        );
        assert_eq!(
            url("//a b/", "http://h/"),
            Err(Error::InvalidUrl(UrlError::InvalidHost("a b".into())))
        );
    }

    #[test]
    fn the_connection_parts_are_read_off_the_serialised_url() {
        let parts = |input: &str| {
            let url = WebSocketUrl::parse(input).unwrap();
            (
                url.host().to_string(),
                url.port(),
                url.host_header().to_string(),
                url.resource().to_string(),
                url.is_secure(),
            )
        };
        assert_eq!(parts("ws://h"), ("h".into(), 80, "h".into(), "/".into(), false));
        assert_eq!(
            parts("wss://u:p%40@[::1]:8443/a?b"),
            ("::1".into(), 8443, "[::1]:8443".into(), "/a?b".into(), true)
        );
        assert_eq!(
            parts("wss://h/?"),
            ("h".into(), 443, "h".into(), "/?".into(), true)
        );
        assert_eq!(
            parts("ws://1.2.3.4:0/x"),
            ("1.2.3.4".into(), 0, "1.2.3.4:0".into(), "/x".into(), false)
        );
    }

    #[test]
    fn ports_are_digits_up_to_65535() {
        for port in ["", "0", "80", "065535", "0000000000080"] {
            assert!(is_valid_port(port), "{port:?}");
        }
        for port in ["65536", "-1", "8x", " 80", "99999999999"] {
            assert!(!is_valid_port(port), "{port:?}");
        }
    }
}
