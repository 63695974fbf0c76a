//! The socket trait that both backends implement, and the builder that opens a socket.

use std::fmt;
use std::future::Future;
#[cfg(not(target_arch = "wasm32"))]
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;

use bytes::Bytes;

use crate::error::{Error, FailureCause};
use crate::event::{Event, Message, ReadyState};
#[cfg(doc)]
use crate::WebSocketUrl;

/// The browser's WebSocket API as a trait. [`WebSocket`](crate::WebSocket) is the current
/// target's implementation; application code written against this trait runs on both.
///
/// Events come from the `Stream` implementation (or [`Socket::next_event`], which borrows the
/// socket only shared, so that a task can send while it waits): zero or one `Open`, messages,
/// at most one `Error`, and exactly one `Close`, always last, after which the stream ends.
/// Events are queued from the moment the socket is made, so none is lost before the
/// application polls.
///
/// Sending never waits, as in a browser (`buffered_amount` grows instead). Both backends'
/// sockets are also a `futures::Sink<Message>`, the way to wait: it takes a message only while
/// `buffered_amount()` is at most the send high-water mark
/// ([`WebSocketBuilder::send_high_water_mark`]), its flush waits until everything is handed to
/// the network, and its close starts the closing handshake (code 1000). Natively the messages
/// fed to it between flushes go out in one write (as `feed` and `flush` do in the async
/// peers); in a page the browser writes each message itself. Generic code that
/// wants it asks for `S: Socket + Sink<Message, Error = Error>`.
pub trait Socket: Stream<Item = Event> + Unpin + Sized {
    /// Starts connecting as `builder` says, like `new WebSocket(url, protocols)`: returns at
    /// once in [`ReadyState::Connecting`]. The URL is parsed as [`WebSocketUrl`] says (in a
    /// page a relative URL resolves against the page, as in a browser).
    ///
    /// # Errors
    /// No connection is attempted when the URL is not valid ([`Error::InvalidUrl`]), a
    /// subprotocol is not ([`Error::InvalidProtocol`]), or, natively, a header
    /// ([`Error::InvalidHeader`]), the proxy option (`Error::InvalidProxy`) or a TLS option
    /// (`Error::InvalidTlsOption`) is not.
    fn open_with(builder: WebSocketBuilder) -> Result<Self, Error>;

    /// Starts connecting to `url` with no subprotocols and default options.
    ///
    /// # Errors
    /// As [`Socket::open_with`].
    fn open(url: &str) -> Result<Self, Error> {
        Self::open_with(WebSocketBuilder::new(url))
    }

    /// The normalised URL, as [`WebSocketUrl`] serialises it (`http` becomes `ws`, default
    /// ports are dropped, an empty path is `/`).
    fn url(&self) -> &str;

    /// The current `readyState`, as the application sees it: it becomes `Open` when the open
    /// event is taken, `Closing` when `close` is called, and `Closed` when the error or close
    /// event is taken, on both targets (a browser changes it in the task that fires the
    /// event), however far the connection itself has got meanwhile.
    fn ready_state(&self) -> ReadyState;

    /// Payload bytes accepted by `send` and not yet handed to the network (UTF-8 bytes for
    /// text, framing not counted). It keeps rising for sends after close, as in browsers.
    /// Native: "handed to the network" means written to the kernel (for `wss://`, accepted by
    /// the TLS layer's bounded buffer). Browser: as the browser reports it.
    fn buffered_amount(&self) -> u64;

    /// The subprotocol the server selected; empty until the open event is taken, or when none
    /// was.
    fn protocol(&self) -> String;

    /// The extensions the server accepted, as its `Sec-WebSocket-Extensions` answer wrote
    /// them; empty until the open event is taken. Both targets offer permessage-deflate as
    /// Chromium does (natively unless `permessage_deflate(false)`), so this may name it.
    fn extensions(&self) -> String;

    /// Sends a text message. After close, nothing is sent but `buffered_amount` still rises.
    ///
    /// # Errors
    /// `InvalidStateError` ([`Error::StillConnecting`]) while connecting; nothing is queued.
    fn send_text(&self, text: impl Into<String>) -> Result<(), Error>;

    /// Sends a binary message, with the same rules as [`Socket::send_text`].
    ///
    /// # Errors
    /// As [`Socket::send_text`].
    fn send_binary(&self, data: impl Into<Bytes>) -> Result<(), Error>;

    /// Sends `message` as text or binary according to its kind.
    ///
    /// # Errors
    /// As [`Socket::send_text`].
    fn send(&self, message: Message) -> Result<(), Error> {
        match message {
            Message::Text(text) => self.send_text(text),
            Message::Binary(data) => self.send_binary(data),
        }
    }

    /// Starts closing with an optional code and reason. While connecting the attempt is
    /// abandoned (close event 1006); when open, the closing handshake runs; when already
    /// closing or closed, nothing happens. The state is `Closing` when it returns.
    ///
    /// # Errors
    /// `InvalidAccessError` ([`Error::InvalidCloseCode`]) for a code other than 1000 and
    /// 3000..=4999; then `SyntaxError` ([`Error::CloseReasonTooLong`]) for a reason over 123
    /// bytes of UTF-8. Nothing happens to the socket then.
    fn close(&self, code: Option<u16>, reason: Option<&str>) -> Result<(), Error>;

    /// Polls for the next event; `None` after the close event was delivered.
    fn poll_event(&self, cx: &mut Context<'_>) -> Poll<Option<Event>>;

    /// `Ready` once `buffered_amount()` is at most the send high-water mark, or the socket is
    /// closed (the `Sink`'s readiness). Browser: the browser says nothing when
    /// `bufferedAmount` falls, so it is looked at again on a timer (every 1 ms, then less
    /// often up to every 16 ms while it stays high; no timer runs while nobody waits).
    fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<()>;

    /// `Ready` once `buffered_amount()` is 0 (everything sent was handed to the network) or
    /// the socket is closed. Browser: as [`Socket::poll_send_ready`].
    fn poll_drained(&self, cx: &mut Context<'_>) -> Poll<()>;

    /// Waits until everything sent was handed to the network (see [`Socket::poll_drained`]).
    fn drained(&self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(move |cx| self.poll_drained(cx))
    }

    /// Waits for the next event; `None` after the close event was delivered.
    fn next_event(&self) -> impl Future<Output = Option<Event>> + '_ {
        std::future::poll_fn(move |cx| self.poll_event(cx))
    }
}

/// The options of a socket: the URL and subprotocols (as for `new WebSocket(url, protocols)`)
/// plus options that only the native backend can honour (browsers decide those themselves;
/// the browser backend ignores them).
///
/// Natively, as a browser does, a connection by default trusts the operating system's
/// certificate store and goes through the proxy that the environment names; see
/// [`tls_roots`](Self::tls_roots) and [`proxy`](Self::proxy). Its `Debug` output shows
/// neither private keys nor proxy passwords.
#[derive(Debug, Clone)]
pub struct WebSocketBuilder {
    pub(crate) url: String,
    pub(crate) base_url: Option<String>,
    pub(crate) protocols: Vec<String>,
    pub(crate) origin: Option<String>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) root_certificates: Vec<Vec<u8>>,
    pub(crate) tls_roots: Option<TlsRoots>,
    pub(crate) client_certificate: Option<ClientCertificate>,
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) tls_config: Option<Arc<rustls::ClientConfig>>,
    pub(crate) proxy: ProxySetting,
    pub(crate) connect_timeout: Duration,
    pub(crate) close_timeout: Duration,
    pub(crate) max_message_size: Option<usize>,
    pub(crate) keepalive: Option<(Duration, Duration)>,
    pub(crate) permessage_deflate: bool,
    pub(crate) max_queued_incoming: usize,
    pub(crate) send_high_water_mark: u64,
}

/// The roots of trust for `wss://` (native; a browser always uses its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum TlsRoots {
    /// The operating system's trust store, verified as the system does, as browsers do (the
    /// default). On Linux and the BSDs: the system's CA bundle, or the files that
    /// `SSL_CERT_FILE` and `SSL_CERT_DIR` name (read once per process, at the first `wss://`
    /// connection); when neither variable is set and the system has no bundle, the web PKI
    /// roots. On macOS, iOS and Windows: the platform's verifier, with its trust settings.
    #[default]
    System,
    /// Only the web PKI roots built into the program (Mozilla's, from `webpki-roots`), for
    /// programs that must behave the same on every host, whatever it trusts.
    WebPki,
}

/// A client certificate chain and its private key, for mutual TLS (native only). Its `Debug`
/// output leaves the key out.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ClientCertificate {
    /// DER certificates, the client's own first.
    pub(crate) chain: Vec<Vec<u8>>,
    /// The DER private key (PKCS#8, PKCS#1 or SEC1).
    pub(crate) key: Vec<u8>,
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("chain", &self.chain.len())
            .finish_non_exhaustive()
    }
}

/// Which proxy a native connection goes through.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum ProxySetting {
    /// The one the environment names (`HTTPS_PROXY`, ... and `NO_PROXY`), if any.
    Environment,
    /// None: connect directly.
    Direct,
    /// This proxy URL.
    Url(String),
}

impl fmt::Debug for ProxySetting {
    /// Shows a proxy URL without the credentials it may hold.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Environment => f.write_str("Environment"),
            Self::Direct => f.write_str("Direct"),
            Self::Url(url) => match (url.split_once("://"), url.rsplit_once('@')) {
                (_, None) => f.debug_tuple("Url").field(url).finish(),
                (Some((scheme, _)), Some((_, host))) => f
                    .debug_tuple("Url")
                    .field(&format_args!("{scheme}://***@{host}"))
                    .finish(),
                (None, Some((_, host))) => f.debug_tuple("Url").field(&format_args!("***@{host}")).finish(),
            },
        }
    }
}

/// The default connect timeout (native): DNS, TCP, the proxy, TLS and the handshake together.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// The default time the native backend waits for the server's answer to a close frame.
pub const DEFAULT_CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
/// The default largest incoming message the native backend accepts (64 MiB, tungstenite's).
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 64 << 20;
/// The default payload of received messages the native backend queues for the application
/// before it stops reading the socket (1 MiB).
pub const DEFAULT_MAX_QUEUED_INCOMING: usize = 1 << 20;
/// The default `buffered_amount` above which the `Sink` waits before taking another message
/// (1 MiB).
pub const DEFAULT_SEND_HIGH_WATER_MARK: u64 = 1 << 20;

impl WebSocketBuilder {
    /// Options for `url`, with no subprotocols and the defaults below.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            base_url: None,
            protocols: Vec::new(),
            origin: None,
            headers: Vec::new(),
            root_certificates: Vec::new(),
            tls_roots: None,
            client_certificate: None,
            #[cfg(not(target_arch = "wasm32"))]
            tls_config: None,
            proxy: ProxySetting::Environment,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            close_timeout: DEFAULT_CLOSE_TIMEOUT,
            max_message_size: Some(DEFAULT_MAX_MESSAGE_SIZE),
            keepalive: None,
            permessage_deflate: true,
            max_queued_incoming: DEFAULT_MAX_QUEUED_INCOMING,
            send_high_water_mark: DEFAULT_SEND_HIGH_WATER_MARK,
        }
    }

    /// Resolves a relative URL against `base` (both targets). Without it, a relative URL is a
    /// `SyntaxError` natively and resolves against the page's base URL in a browser.
    pub fn base_url(mut self, base: impl Into<String>) -> Self {
        self.base_url = Some(base.into());
        self
    }

    /// Requests these subprotocols, in order of preference (both targets).
    pub fn protocols<I, S>(mut self, protocols: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.protocols = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// Sends this `Origin` header. Native only: none is sent by default; a browser always
    /// sends the page's origin and ignores this.
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// Adds a header to the handshake request (for example `Authorization`). Native only:
    /// browsers do not let pages set WebSocket headers.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Trusts this DER-encoded certificate as a root, besides the [`TlsRoots`] in use.
    /// Native only: browsers use their own trust store.
    ///
    /// A certificate that is not valid DER makes [`open`](Self::open) fail with
    /// `Error::InvalidTlsOption`.
    pub fn add_root_certificate(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.root_certificates.push(der.into());
        self
    }

    /// Chooses the roots of trust for `wss://`: the operating system's (the default, as in a
    /// browser) or only the built-in web PKI roots. Native only: browsers use their own.
    pub fn tls_roots(mut self, roots: TlsRoots) -> Self {
        self.tls_roots = Some(roots);
        self
    }

    /// Presents this client certificate for mutual TLS: `chain` holds DER certificates, the
    /// client's own first, and `key` its DER private key (PKCS#8, PKCS#1 or SEC1; PEM files
    /// convert with `rustls::pki_types::pem::PemObject`). Native only: a browser picks
    /// client certificates itself, from its own store.
    ///
    /// A key that is not valid, does not match the certificate, or an empty chain makes
    /// [`open`](Self::open) fail with `Error::InvalidTlsOption`.
    pub fn client_certificate<C>(
        mut self,
        chain: impl IntoIterator<Item = C>,
        key: impl Into<Vec<u8>>,
    ) -> Self
    where
        C: Into<Vec<u8>>,
    {
        self.client_certificate = Some(ClientCertificate {
            chain: chain.into_iter().map(Into::into).collect(),
            key: key.into(),
        });
        self
    }

    /// Uses this complete rustls configuration for `wss://` (client certificates, pinning,
    /// a custom verifier, other protocol versions...), in place of the one made from
    /// [`tls_roots`](Self::tls_roots), [`add_root_certificate`](Self::add_root_certificate)
    /// and [`client_certificate`](Self::client_certificate). Its ALPN list is replaced by
    /// `http/1.1`, as a browser's WebSocket offers, since the opening handshake is HTTP/1.1.
    /// Native only (the type is rustls', re-exported as `twinsock::rustls`).
    ///
    /// Combined with those three options, [`open`](Self::open) fails with
    /// `Error::InvalidTlsOption`.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn tls_config(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        self.tls_config = Some(config);
        self
    }

    /// Connects through this proxy rather than the one the environment names:
    /// `http://[user:password@]host[:port]` (an HTTP proxy, tunnelling with `CONNECT`, for
    /// `ws://` and `wss://` alike; credentials go as `Proxy-Authorization: Basic`),
    /// `socks5://` (SOCKS5, the server's name resolved here) or `socks5h://` (resolved by the
    /// proxy). Without a scheme it is an HTTP proxy; without a port, port 1080, as curl
    /// reads it; user and password are percent-decoded. `NO_PROXY` does not apply to it.
    /// Native only: a page goes through the browser's proxy.
    ///
    /// By default the environment decides, as curl reads it: for `ws://` and `wss://` alike
    /// (RFC 6455 §4.1 and Chromium prefer the HTTPS proxy for WebSockets) `https_proxy`,
    /// then `HTTPS_PROXY`, then `http_proxy` (never `HTTP_PROXY`, which a CGI program's
    /// request can set), then `all_proxy`, then `ALL_PROXY`; an empty variable counts as
    /// unset. A host that `no_proxy` (or else `NO_PROXY`) lists is reached directly: `*`
    /// for every host, a name for itself and its subdomains (`example.com`, `.example.com`),
    /// an IP address or CIDR range (`10.0.0.0/8`, `::1`) for addresses, entries separated by
    /// commas. A setting that cannot be used fails the connection (an error event with
    /// `FailureCause::Proxy`, then close 1006), as does a proxy that refuses.
    ///
    /// A proxy that cannot be parsed or has an unsupported scheme (`https://`, `socks4://`)
    /// makes [`open`](Self::open) fail with `Error::InvalidProxy`.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = ProxySetting::Url(url.into());
        self
    }

    /// Connects directly, whatever proxy the environment names. Native only.
    pub fn without_proxy(mut self) -> Self {
        self.proxy = ProxySetting::Direct;
        self
    }

    /// How long the connection may take to open (DNS, TCP, the proxy's tunnel, TLS,
    /// handshake) before it fails with close code 1006. Native only; default
    /// [`DEFAULT_CONNECT_TIMEOUT`]; a duration too long to reach (`Duration::MAX`) means no
    /// timeout.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long to wait for the server's answer to our close frame before giving up with
    /// 1006. Native only; default [`DEFAULT_CLOSE_TIMEOUT`]; `Duration::MAX` means no timeout.
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// The largest incoming message accepted; a larger one fails the connection with close
    /// code 1009. `None` means no limit. Native only (browsers have no such limit); default
    /// [`DEFAULT_MAX_MESSAGE_SIZE`].
    pub fn max_message_size(mut self, max: Option<usize>) -> Self {
        self.max_message_size = max;
        self
    }

    /// Detects a peer that went silent without closing: after `ping_interval` with nothing
    /// received, a ping is sent; if nothing arrives within `pong_timeout` of it, the
    /// connection fails (an error event, then close 1006). Native only (browsers keep their
    /// own); off by default. Durations too long to reach never come.
    pub fn keepalive(mut self, ping_interval: Duration, pong_timeout: Duration) -> Self {
        self.keepalive = Some((ping_interval, pong_timeout));
        self
    }

    /// Whether to offer permessage-deflate (RFC 7692) as Chromium does
    /// (`permessage-deflate; client_max_window_bits`); `extensions()` then names what the
    /// server accepted. Native only: a browser always offers it. Default: on.
    pub fn permessage_deflate(mut self, offer: bool) -> Self {
        self.permessage_deflate = offer;
        self
    }

    /// Receive flow control: when `bytes` of received message payload wait for the
    /// application to take them, the socket is not read (so the server meets TCP's flow
    /// control) until the application has taken some. Nothing is dropped; at most one message
    /// more than this is held. Native only (a browser reads as it likes); default
    /// [`DEFAULT_MAX_QUEUED_INCOMING`].
    pub fn max_queued_incoming(mut self, bytes: usize) -> Self {
        self.max_queued_incoming = bytes;
        self
    }

    /// Send backpressure: the socket's `Sink` waits before it takes another message while
    /// `buffered_amount()` is above `bytes` (both targets); default
    /// [`DEFAULT_SEND_HIGH_WATER_MARK`]. `send_text` and `send_binary` never wait, as in a
    /// browser.
    pub fn send_high_water_mark(mut self, bytes: u64) -> Self {
        self.send_high_water_mark = bytes;
        self
    }

    /// Starts connecting with the target's default backend; see [`Socket::open_with`].
    ///
    /// # Errors
    /// As [`Socket::open_with`].
    pub fn open(self) -> Result<crate::WebSocket, Error> {
        crate::WebSocket::open_with(self)
    }

    /// Opens with the target's default backend and waits until the socket is open; see
    /// [`WebSocketBuilder::connect_as`].
    ///
    /// # Errors
    /// As [`WebSocketBuilder::connect_as`].
    pub async fn connect(self) -> Result<crate::WebSocket, Error> {
        self.connect_as().await
    }

    /// Opens a socket of type `S` and waits until it is open. The `Open` event is consumed;
    /// later events are delivered as usual.
    ///
    /// # Errors
    /// The errors of [`Socket::open_with`], or [`Error::ConnectFailed`] with the error event's
    /// cause (its [`source`](std::error::Error::source)) and the close code when the
    /// connection fails.
    pub async fn connect_as<S: Socket>(self) -> Result<S, Error> {
        let socket = S::open_with(self)?;
        let mut cause = FailureCause::Unreported;
        loop {
            match socket.next_event().await {
                Some(Event::Open) => return Ok(socket),
                Some(Event::Error(why)) => cause = why,
                Some(Event::Close(close)) => {
                    return Err(Error::ConnectFailed {
                        cause,
                        code: close.code,
                    })
                }
                Some(Event::Message(_)) | None => {
                    return Err(Error::ConnectFailed { cause, code: 1006 });
                }
            }
        }
    }
}

/// The `Sink`'s `poll_ready` for any socket: a `StillConnecting` error while connecting (as
/// `send` gives), then ready once `buffered_amount` is at most the high-water mark.
pub(crate) fn sink_poll_ready<S: Socket>(socket: &S, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
    if socket.ready_state() == ReadyState::Connecting {
        return Poll::Ready(Err(Error::StillConnecting));
    }
    socket.poll_send_ready(cx).map(Ok)
}

/// The `Sink`'s `poll_flush`: ready once everything was handed to the network.
pub(crate) fn sink_poll_flush<S: Socket>(socket: &S, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
    socket.poll_drained(cx).map(Ok)
}

/// The `Sink`'s `poll_close`: flushes, then starts the closing handshake with code 1000 (the
/// close event comes on the stream).
pub(crate) fn sink_poll_close<S: Socket>(socket: &S, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
    match socket.poll_drained(cx) {
        Poll::Ready(()) => Poll::Ready(socket.close(Some(1000), None)),
        Poll::Pending => Poll::Pending,
    }
}
