//! Typed errors: the DOM exceptions of the browser's WebSocket API, and why a connection failed.
//!
//! Every value here is produced by shared Rust code (or by the native backend for the causes of
//! a failure), so both targets return the same error for the same mistake.

use std::fmt::{self, Write as _};
use std::io;

/// The DOM exception a browser would throw for the same call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DomException {
    /// `SyntaxError`: a bad URL, subprotocol or close reason.
    SyntaxError,
    /// `InvalidAccessError`: a close code outside 1000 and 3000..=4999.
    InvalidAccessError,
    /// `InvalidStateError`: `send` while the socket is still connecting.
    InvalidStateError,
}

/// Why a URL was refused (a `SyntaxError`). The URL parser (the WHATWG URL standard's) says
/// only that it failed; the kind is found the same way on both targets, so both give the same
/// value for the same URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UrlError {
    /// The URL has no scheme and there is no base URL to resolve it against (native, without
    /// [`base_url`](crate::WebSocketBuilder::base_url); in a page the page's URL is the base).
    Relative,
    /// The scheme is not `ws`, `wss`, `http` or `https`.
    UnsupportedScheme(String),
    /// The URL has a fragment (`#...`, even an empty one).
    Fragment,
    /// The host is empty or not a valid host: a character a host cannot have, a number that is
    /// not a valid IPv4 address, a malformed IPv6 address, a name IDNA refuses.
    InvalidHost(String),
    /// The port is not a number from 0 to 65535.
    InvalidPort(String),
    /// The base URL given with [`base_url`](crate::WebSocketBuilder::base_url) is not a valid
    /// absolute URL.
    InvalidBase(String),
}

/// Why a requested subprotocol was refused (a `SyntaxError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProtocolNameError {
    /// The name is empty.
    Empty,
    /// The name has a character that is not allowed in an HTTP token (a space, a separator
    /// such as `/`, or anything outside printable ASCII).
    NotAToken,
    /// The same name was requested twice (compared exactly, as the WebSocket standard and
    /// Chromium do: `echo` and `eCho` are two names).
    Duplicate,
}

/// Why a connection failed or was failed: the cause carried by an [`Event::Error`](crate::Event::Error).
///
/// The native backend always knows the cause. Browsers do not tell pages why a WebSocket
/// failed, so the browser backend reports [`FailureCause::Unreported`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureCause {
    /// The host name could not be resolved (native only).
    Resolve(IoFailure),
    /// The TCP connection could not be made: refused, unreachable, reset (native only).
    Connect(IoFailure),
    /// The proxy did not open a tunnel to the server. Native only, and only there (a page's
    /// proxy is the browser's, which does not say why it failed), so that the browser build
    /// carries none of its code.
    #[cfg(not(target_arch = "wasm32"))]
    Proxy {
        /// The proxy as `scheme://host:port`, never with its credentials; or, when the
        /// environment's setting could not be read, the variable that holds it.
        proxy: String,
        /// What went wrong.
        failure: ProxyFailure,
    },
    /// The connection did not open within the connect timeout (native only).
    ConnectTimeout,
    /// TLS failed: an untrusted or mismatched certificate, or a TLS protocol error (native only).
    Tls(String),
    /// The server's handshake answer was not a valid WebSocket upgrade: a status other than
    /// 101, a wrong `Sec-WebSocket-Accept`, a malformed or truncated response (native only).
    Handshake(String),
    /// The server selected a subprotocol that was not requested, or none when some were
    /// (native only).
    Subprotocol(String),
    /// The server broke the WebSocket protocol after the connection opened: a bad frame,
    /// invalid UTF-8 in a text message, a reserved close code (native only).
    Protocol(String),
    /// A message was larger than the configured maximum (native only).
    MessageTooLarge {
        /// The size of the message, as far as it was read.
        size: usize,
        /// The configured maximum.
        max: usize,
    },
    /// The connection broke while open: reset, or silent past the keepalive's pong timeout
    /// (kind `TimedOut`) (native only).
    Io(IoFailure),
    /// `close` was called (or the socket dropped) before the connection opened.
    Aborted,
    /// twinsock itself failed while driving this connection (a panic: a bug in twinsock or in
    /// a library under it); this connection alone was closed, every other socket goes on
    /// (native only, and only there).
    #[cfg(not(target_arch = "wasm32"))]
    Internal(String),
    /// The browser reported an error without saying why (browser only: browsers hide the cause).
    Unreported,
}

/// Why a proxy did not open a tunnel: the detail of a [`FailureCause::Proxy`] (native only).
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProxyFailure {
    /// The proxy could not be reached: its host name did not resolve, or the TCP connection
    /// to it was refused or failed.
    Unreachable(IoFailure),
    /// The HTTP proxy answered `CONNECT` with this status instead of 2xx: 407 when it wants
    /// credentials (or other ones), 403 when it forbids the destination, 502 or 504 when it
    /// could not reach the server.
    Status {
        /// The HTTP status code.
        code: u16,
        /// The reason phrase the proxy sent.
        reason: String,
    },
    /// The SOCKS5 proxy refused the connection with this reply code (RFC 1928: 1 general
    /// failure, 2 not allowed by its rules, 3 network unreachable, 4 host unreachable, 5
    /// refused, 6 TTL expired, 7 command not supported, 8 address type not supported).
    SocksReply(u8),
    /// The SOCKS5 proxy accepts none of the methods offered: it wants a user name and
    /// password, and the proxy URL has none.
    AuthenticationRequired,
    /// The SOCKS5 proxy rejected the user name and password of the proxy URL.
    CredentialsRejected,
    /// The proxy's answer was not valid: not HTTP or not SOCKS5, too large, cut short, or
    /// followed by data before the tunnel was used.
    Protocol(String),
    /// The environment names a proxy that cannot be used (a malformed URL, an unsupported
    /// scheme); nothing was sent.
    InvalidSetting(String),
}

#[cfg(not(target_arch = "wasm32"))]
impl ProxyFailure {
    /// What RFC 1928 calls a SOCKS5 reply code.
    fn socks_reply_meaning(code: u8) -> &'static str {
        match code {
            1 => "general SOCKS server failure",
            2 => "connection not allowed by ruleset",
            3 => "network unreachable",
            4 => "host unreachable",
            5 => "connection refused",
            6 => "TTL expired",
            7 => "command not supported",
            8 => "address type not supported",
            _ => "unassigned reply code",
        }
    }
}

// The Display impls write their pieces with `write_str` and numbers with `write_number`
// rather than `write!`: the same text, with less formatting code in the wasm build.

impl fmt::Display for FailureCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, why) = match self {
            Self::Resolve(why) => ("could not resolve the host: ", why.message()),
            Self::Connect(why) => ("could not connect: ", why.message()),
            #[cfg(not(target_arch = "wasm32"))]
            Self::Proxy { proxy, failure } => return write_proxy_failure(f, proxy, failure),
            Self::ConnectTimeout => ("the connection did not open in time", ""),
            Self::Tls(why) => ("TLS failed: ", why.as_str()),
            Self::Handshake(why) => ("the WebSocket handshake failed: ", why.as_str()),
            Self::Subprotocol(why) => ("subprotocol negotiation failed: ", why.as_str()),
            Self::Protocol(why) => ("the server broke the WebSocket protocol: ", why.as_str()),
            Self::MessageTooLarge { size, max } => {
                f.write_str("a message of ")?;
                write_number(f, *size)?;
                f.write_str(" bytes or more exceeded the maximum of ")?;
                write_number(f, *max)?;
                return f.write_str(" bytes");
            }
            Self::Io(why) => ("the connection broke: ", why.message()),
            Self::Aborted => ("closed before the connection opened", ""),
            #[cfg(not(target_arch = "wasm32"))]
            Self::Internal(why) => ("twinsock failed internally: ", why.as_str()),
            Self::Unreported => ("the browser reported an error without a cause", ""),
        };
        f.write_str(what)?;
        f.write_str(why)
    }
}

/// Writes a [`FailureCause::Proxy`]: what happened, naming the proxy.
#[cfg(not(target_arch = "wasm32"))]
fn write_proxy_failure(f: &mut fmt::Formatter<'_>, proxy: &str, failure: &ProxyFailure) -> fmt::Result {
    match failure {
        ProxyFailure::Unreachable(why) => {
            write_pieces(f, &["could not reach the proxy ", proxy, ": ", why.message()])
        }
        ProxyFailure::Status { code, reason } => {
            write_pieces(f, &["the proxy ", proxy, " refused the tunnel: HTTP "])?;
            write_number(f, usize::from(*code))?;
            write_pieces(f, &[" ", reason])
        }
        ProxyFailure::SocksReply(code) => {
            write_pieces(f, &["the proxy ", proxy, " refused the tunnel: SOCKS5 reply "])?;
            write_number(f, usize::from(*code))?;
            write_pieces(f, &[" (", ProxyFailure::socks_reply_meaning(*code), ")"])
        }
        ProxyFailure::AuthenticationRequired => {
            write_pieces(f, &["the proxy ", proxy, " requires a user name and password"])
        }
        ProxyFailure::CredentialsRejected => {
            write_pieces(f, &["the proxy ", proxy, " rejected the user name and password"])
        }
        ProxyFailure::Protocol(why) => write_pieces(f, &["the proxy ", proxy, " broke its protocol: ", why]),
        ProxyFailure::InvalidSetting(why) => {
            write_pieces(f, &["the proxy setting ", proxy, " is not valid: ", why])
        }
    }
}

/// Writes `pieces` one after the other.
#[cfg(not(target_arch = "wasm32"))]
fn write_pieces(f: &mut fmt::Formatter<'_>, pieces: &[&str]) -> fmt::Result {
    pieces.iter().try_for_each(|piece| f.write_str(piece))
}

impl FailureCause {
    /// The I/O error's kind for the causes that come from one ([`FailureCause::Resolve`],
    /// [`FailureCause::Connect`], [`FailureCause::Io`], and natively `FailureCause::Proxy`
    /// with `ProxyFailure::Unreachable`), so that code can tell "connection refused" from
    /// other failures.
    pub fn io_error_kind(&self) -> Option<io::ErrorKind> {
        match self {
            Self::Resolve(io) | Self::Connect(io) | Self::Io(io) => Some(io.kind()),
            #[cfg(not(target_arch = "wasm32"))]
            Self::Proxy {
                failure: ProxyFailure::Unreachable(io),
                ..
            } => Some(io.kind()),
            _ => None,
        }
    }
}

impl std::error::Error for FailureCause {}

/// An I/O failure as a [`FailureCause`] keeps it: the error's kind and its message (an
/// `io::Error` itself can be neither cloned nor compared).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IoFailure {
    kind: io::ErrorKind,
    message: String,
}

impl IoFailure {
    /// A failure of `kind` described by `message`.
    pub fn new(kind: io::ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// The kind of the I/O error (`ConnectionRefused`, `TimedOut`, ...).
    pub fn kind(&self) -> io::ErrorKind {
        self.kind
    }

    /// What the operating system (or the native backend) said.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<&io::Error> for IoFailure {
    fn from(error: &io::Error) -> Self {
        Self::new(error.kind(), error.to_string())
    }
}

impl fmt::Display for IoFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Writes `n` in decimal.
fn write_number(f: &mut fmt::Formatter<'_>, n: usize) -> fmt::Result {
    if n >= 10 {
        write_number(f, n / 10)?;
    }
    f.write_char(char::from(b'0' + (n % 10) as u8))
}

/// An error returned by a call on the API. Each variant maps to the DOM exception a browser
/// throws for the same call ([`Error::dom_exception`]), except [`Error::InvalidHeader`] and,
/// natively, `Error::InvalidProxy` and `Error::InvalidTlsOption` (native-only options), and
/// [`Error::ConnectFailed`], which only the `async` convenience
/// [`connect`](crate::WebSocketBuilder::connect) returns.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    /// The URL is not an absolute `ws`/`wss` (or `http`/`https`) URL without a fragment.
    InvalidUrl(UrlError),
    /// A requested subprotocol is not valid.
    InvalidProtocol {
        /// The offending name.
        protocol: String,
        /// What is wrong with it.
        reason: ProtocolNameError,
    },
    /// The close code is neither 1000 nor in 3000..=4999.
    InvalidCloseCode(u16),
    /// The close reason is longer than 123 bytes of UTF-8.
    CloseReasonTooLong(usize),
    /// `send` was called while the socket is still connecting.
    StillConnecting,
    /// A native-only option is not a valid HTTP header (name or value); native only.
    InvalidHeader(String),
    /// The native backend could not get what it needs to run any socket: its poller or its I/O
    /// thread (no file descriptor or thread left). Nothing was started; a later `open` tries
    /// again. Native only, and only there.
    #[cfg(not(target_arch = "wasm32"))]
    Unavailable(IoFailure),
    /// The proxy given to [`proxy`](crate::WebSocketBuilder::proxy) is not a usable proxy URL
    /// (the text says why, without the URL's credentials). Native only, and only there.
    #[cfg(not(target_arch = "wasm32"))]
    InvalidProxy(String),
    /// A TLS option cannot be used: a root or client certificate or a private key that is not
    /// valid DER, a key that does not match its certificate, or options that contradict each
    /// other. Native only, and only there.
    #[cfg(not(target_arch = "wasm32"))]
    InvalidTlsOption(String),
    /// The connection failed before it opened (only from the `async` connect convenience).
    ConnectFailed {
        /// Why it failed (as the error event said).
        cause: FailureCause,
        /// The close code the close event carried (1006 for a failure).
        code: u16,
    },
}

impl Error {
    /// The DOM exception a browser throws for the same call, or `None` for the errors that
    /// have none (the native-only options' errors, `Error::Unavailable`,
    /// [`Error::ConnectFailed`]).
    pub fn dom_exception(&self) -> Option<DomException> {
        match self {
            Self::InvalidUrl(_) | Self::InvalidProtocol { .. } | Self::CloseReasonTooLong(_) => {
                Some(DomException::SyntaxError)
            }
            Self::InvalidCloseCode(_) => Some(DomException::InvalidAccessError),
            Self::StillConnecting => Some(DomException::InvalidStateError),
            Self::InvalidHeader(_) | Self::ConnectFailed { .. } => None,
            #[cfg(not(target_arch = "wasm32"))]
            Self::Unavailable(_) | Self::InvalidProxy(_) | Self::InvalidTlsOption(_) => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Each message is `head`, then a quoted text or a number, then `tail`.
        let (head, quoted, tail) = match self {
            Self::InvalidUrl(UrlError::Relative) => ("SyntaxError: the URL is not absolute", None, ""),
            Self::InvalidUrl(UrlError::UnsupportedScheme(s)) => (
                "SyntaxError: the URL's scheme \"",
                Some(s),
                "\" is not ws, wss, http or https",
            ),
            Self::InvalidUrl(UrlError::Fragment) => ("SyntaxError: the URL has a fragment", None, ""),
            Self::InvalidUrl(UrlError::InvalidHost(h)) => ("SyntaxError: invalid host \"", Some(h), "\""),
            Self::InvalidUrl(UrlError::InvalidPort(p)) => ("SyntaxError: invalid port \"", Some(p), "\""),
            Self::InvalidUrl(UrlError::InvalidBase(b)) => ("SyntaxError: invalid base URL \"", Some(b), "\""),
            Self::InvalidProtocol { protocol, reason } => {
                let what = match reason {
                    ProtocolNameError::Empty => "\" is empty",
                    ProtocolNameError::NotAToken => "\" is not a valid token",
                    ProtocolNameError::Duplicate => "\" is requested twice",
                };
                ("SyntaxError: the subprotocol \"", Some(protocol), what)
            }
            Self::InvalidCloseCode(code) => {
                f.write_str("InvalidAccessError: the close code ")?;
                write_number(f, usize::from(*code))?;
                return f.write_str(" is neither 1000 nor in 3000..=4999");
            }
            Self::CloseReasonTooLong(len) => {
                f.write_str("SyntaxError: the close reason is ")?;
                write_number(f, *len)?;
                return f.write_str(" bytes long; at most 123 are allowed");
            }
            Self::StillConnecting => ("InvalidStateError: the socket is still connecting", None, ""),
            Self::InvalidHeader(name) => ("the header \"", Some(name), "\" has an invalid name or value"),
            #[cfg(not(target_arch = "wasm32"))]
            Self::Unavailable(why) => ("the native backend cannot run: ", Some(&why.message), ""),
            #[cfg(not(target_arch = "wasm32"))]
            Self::InvalidProxy(why) => ("the proxy option is not valid: ", Some(why), ""),
            #[cfg(not(target_arch = "wasm32"))]
            Self::InvalidTlsOption(why) => ("a TLS option is not valid: ", Some(why), ""),
            Self::ConnectFailed { cause, code } => {
                f.write_str("the connection failed (close code ")?;
                write_number(f, usize::from(*code))?;
                f.write_str("): ")?;
                return fmt::Display::fmt(cause, f);
            }
        };
        f.write_str(head)?;
        f.write_str(quoted.map_or("", String::as_str))?;
        f.write_str(tail)
    }
}

impl std::error::Error for Error {
    /// The failure's cause for [`Error::ConnectFailed`].
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::ConnectFailed { cause, .. } => Some(cause),
            _ => None,
        }
    }
}

/// A native option that cannot be used, found while the socket is made: the application's
/// mistake, returned by `open` (an [`Error`]), or the host's (an environment variable that
/// names an unusable proxy, a trust store without roots), which fails the connection once it
/// starts, as a browser's connection fails.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OptionError {
    /// The application's options: `open` fails with this.
    Application(Error),
    /// The host's settings: the connection fails with this cause.
    Host(FailureCause),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The messages are those `write!` made before they were written piece by piece.
    #[test]
    fn messages_are_unchanged() {
        for n in [0, 7, 10, 123, 1000, 4999, 65535] {
            assert_eq!(
                Error::InvalidCloseCode(n).to_string(),
                format!("InvalidAccessError: the close code {n} is neither 1000 nor in 3000..=4999")
            );
            let cause = FailureCause::Io(IoFailure::new(io::ErrorKind::ConnectionReset, "reset"));
            assert_eq!(
                Error::ConnectFailed { cause, code: n }.to_string(),
                format!("the connection failed (close code {n}): the connection broke: reset")
            );
        }
        for n in [0, 9, 124, 1 << 20, usize::MAX] {
            assert_eq!(
                Error::CloseReasonTooLong(n).to_string(),
                format!("SyntaxError: the close reason is {n} bytes long; at most 123 are allowed")
            );
            let cause = FailureCause::MessageTooLarge {
                size: n,
                max: 64 << 20,
            };
            assert_eq!(
                cause.to_string(),
                format!("a message of {n} bytes or more exceeded the maximum of 67108864 bytes")
            );
        }
        let url = |e: UrlError| Error::InvalidUrl(e).to_string();
        assert_eq!(url(UrlError::Relative), "SyntaxError: the URL is not absolute");
        assert_eq!(
            url(UrlError::UnsupportedScheme("ftp".into())),
            "SyntaxError: the URL's scheme \"ftp\" is not ws, wss, http or https"
        );
        assert_eq!(url(UrlError::Fragment), "SyntaxError: the URL has a fragment");
        assert_eq!(
            url(UrlError::InvalidHost("a b".into())),
            "SyntaxError: invalid host \"a b\""
        );
        assert_eq!(
            url(UrlError::InvalidPort("8x".into())),
            "SyntaxError: invalid port \"8x\""
        );
        assert_eq!(
            url(UrlError::InvalidBase("/x".into())),
            "SyntaxError: invalid base URL \"/x\""
        );
        let protocol = |reason| {
            Error::InvalidProtocol {
                protocol: "ec ho".into(),
                reason,
            }
            .to_string()
        };
        assert_eq!(
            protocol(ProtocolNameError::Empty),
            "SyntaxError: the subprotocol \"ec ho\" is empty"
        );
        assert_eq!(
            protocol(ProtocolNameError::NotAToken),
            "SyntaxError: the subprotocol \"ec ho\" is not a valid token"
        );
        assert_eq!(
            protocol(ProtocolNameError::Duplicate),
            "SyntaxError: the subprotocol \"ec ho\" is requested twice"
        );
        assert_eq!(
            Error::StillConnecting.to_string(),
            "InvalidStateError: the socket is still connecting"
        );
        assert_eq!(
            Error::InvalidHeader("X y".into()).to_string(),
            "the header \"X y\" has an invalid name or value"
        );
        for (cause, text) in [
            (
                FailureCause::Resolve(IoFailure::new(io::ErrorKind::NotFound, "no")),
                "could not resolve the host: no",
            ),
            (
                FailureCause::Connect(IoFailure::new(io::ErrorKind::ConnectionRefused, "no")),
                "could not connect: no",
            ),
            (
                FailureCause::ConnectTimeout,
                "the connection did not open in time",
            ),
            (FailureCause::Tls("no".into()), "TLS failed: no"),
            (
                FailureCause::Handshake("no".into()),
                "the WebSocket handshake failed: no",
            ),
            (
                FailureCause::Subprotocol("no".into()),
                "subprotocol negotiation failed: no",
            ),
            (
                FailureCause::Protocol("no".into()),
                "the server broke the WebSocket protocol: no",
            ),
            (
                FailureCause::Io(IoFailure::new(io::ErrorKind::TimedOut, "no")),
                "the connection broke: no",
            ),
            (FailureCause::Aborted, "closed before the connection opened"),
            (
                FailureCause::Unreported,
                "the browser reported an error without a cause",
            ),
        ] {
            assert_eq!(cause.to_string(), text);
        }
        #[cfg(not(target_arch = "wasm32"))]
        assert_eq!(
            FailureCause::Internal("oops".into()).to_string(),
            "twinsock failed internally: oops"
        );
    }

    /// A failed `connect` names its cause as the error's source, and an I/O cause keeps its
    /// kind, so "connection refused" can be matched in code.
    #[test]
    fn connect_failed_gives_its_cause_as_source_with_the_io_kind() {
        use std::error::Error as _;
        let refused = FailureCause::Connect(IoFailure::new(io::ErrorKind::ConnectionRefused, "refused"));
        let error = Error::ConnectFailed {
            cause: refused.clone(),
            code: 1006,
        };
        let source = error.source().expect("a source");
        assert_eq!(source.downcast_ref::<FailureCause>(), Some(&refused));
        assert_eq!(refused.io_error_kind(), Some(io::ErrorKind::ConnectionRefused));
        assert_eq!(FailureCause::ConnectTimeout.io_error_kind(), None);
        assert!(Error::StillConnecting.source().is_none());
        let from_io = IoFailure::from(&io::Error::new(io::ErrorKind::ConnectionReset, "reset by peer"));
        assert_eq!(
            (from_io.kind(), from_io.message()),
            (io::ErrorKind::ConnectionReset, "reset by peer")
        );
    }
}
