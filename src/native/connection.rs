//! One native connection's life on the I/O thread: resolve, connect, the proxy's tunnel (when
//! there is a proxy), TLS and handshake, open, closing handshake, and the drain before the
//! socket is released.

use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use rustls::{ClientConfig, StreamOwned};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{CloseFrame, Role};
use tungstenite::{Error as WsError, Message as WsMessage, WebSocket};

use super::handshake::{Accepted, ClientHandshake};
use super::outcome;
use super::proxy::{Destination, Host, ProxyTunnel, Route};
use super::shared::Shared;
use super::tls;
use super::transport::{Counted, Transport};
use crate::event::{CloseEvent, Event, Message, ReadyState};
use crate::rules::url::WebSocketUrl;
use crate::socket::WebSocketBuilder;
use crate::{FailureCause, IoFailure, ProxyFailure};

/// How many messages one connection may read before the I/O thread turns to the others.
const READ_BUDGET: usize = 256;
/// The close code sent when the application drops an open socket.
pub(crate) const DROP_CLOSE_CODE: u16 = 1001;

/// What the native backend needs to open a connection: the parsed URL and the validated
/// options (made by `setup::connect_options`).
pub(crate) struct ConnectOptions {
    pub(crate) url: WebSocketUrl,
    pub(crate) builder: WebSocketBuilder,
    /// Directly or through a proxy.
    pub(crate) route: Route,
    /// The TLS configuration, for `wss://`.
    pub(crate) tls: Option<Arc<ClientConfig>>,
    /// Why the connection must fail as soon as it starts (the host's settings cannot be used).
    pub(crate) setup_failure: Option<FailureCause>,
}

/// The phases in which the WebSocket is up, for [`Connection::pump`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Open,
    /// Our close frame is out; waiting for the server's.
    Closing,
    /// The close event is delivered; reading until the server closes TCP.
    Draining,
}

impl Stage {
    fn phase(self, ws: WebSocket<Counted>) -> Phase {
        match self {
            Self::Open => Phase::Open(ws),
            Self::Closing => Phase::Closing(ws),
            Self::Draining => Phase::Draining(ws),
        }
    }
}

enum Phase {
    Resolving,
    Connecting {
        tcp: TcpStream,
        next: Vec<SocketAddr>,
    },
    /// Connected to the proxy, which is opening the tunnel to the server.
    Tunnelling {
        tcp: TcpStream,
        tunnel: ProxyTunnel,
    },
    Handshaking {
        stream: Counted,
        handshake: ClientHandshake,
    },
    Open(WebSocket<Counted>),
    Closing(WebSocket<Counted>),
    Draining(WebSocket<Counted>),
    Done,
}

/// A message handed to tungstenite whose bytes have not all reached the kernel.
struct InFlight {
    header: usize,
    payload: usize,
}

/// A native connection, owned by the I/O thread.
pub(crate) struct Connection {
    pub(crate) shared: Arc<Shared>,
    options: ConnectOptions,
    token: Token,
    phase: Phase,
    deadline: Option<Instant>,
    in_flight: VecDeque<InFlight>,
    /// When anything last arrived from the server (for the keepalive).
    last_heard: Instant,
    /// When our keepalive ping went out, while its answer is awaited.
    ping_sent: Option<Instant>,
    /// The server's address, resolved here for a `socks5://` proxy, which is given it.
    socks_address: Option<IpAddr>,
}

/// What the I/O thread should do next for a connection.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// Wait for readiness, a command or the deadline.
    Wait,
    /// Look again soon: the read budget ran out with data still waiting.
    Again,
    /// Resolve the host on a helper thread and call [`Connection::resolved`].
    Resolve,
}

impl Connection {
    pub(crate) fn new(shared: Arc<Shared>, options: ConnectOptions, token: Token) -> Self {
        let deadline = Some(Instant::now() + options.builder.connect_timeout);
        Self {
            shared,
            options,
            token,
            phase: Phase::Resolving,
            deadline,
            in_flight: VecDeque::new(),
            last_heard: Instant::now(),
            ping_sent: None,
            socks_address: None,
        }
    }

    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    pub(crate) fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    /// The host and port to resolve, or to connect to: the server's, or the proxy's (after
    /// the server's, for a `socks5://` proxy).
    pub(crate) fn host_port(&self) -> (String, u16) {
        match &self.options.route {
            Route::Via(proxy) if !self.server_address_pending() => (proxy.host.clone(), proxy.port),
            _ => (self.options.url.host().to_string(), self.options.url.port()),
        }
    }

    /// Whether the server's address is still to be found here: always for a direct
    /// connection; through a proxy, only for `socks5://` (the others are given the name).
    fn server_address_pending(&self) -> bool {
        match &self.options.route {
            Route::Direct => true,
            Route::Via(proxy) => proxy.resolves_locally() && self.socks_address.is_none(),
        }
    }

    /// Starts (or fails at once if the host's settings cannot be used).
    pub(crate) fn start(&mut self, registry: &Registry) -> Next {
        if let Some(cause) = self.options.setup_failure.take() {
            self.fail(cause);
            return Next::Wait;
        }
        self.dial(registry)
    }

    /// Connects to the next hop, the server or the proxy: at once to an IP address, after
    /// resolving a name.
    fn dial(&mut self, registry: &Registry) -> Next {
        if matches!(self.options.route, Route::Via(_)) && self.server_address_pending() {
            if let Ok(ip) = self.options.url.host().parse::<IpAddr>() {
                self.socks_address = Some(ip);
            }
        }
        let (host, port) = self.host_port();
        match host.parse::<IpAddr>() {
            Ok(ip) => {
                self.connect_next(registry, vec![SocketAddr::new(ip, port)]);
                Next::Wait
            }
            Err(_) => Next::Resolve,
        }
    }

    /// The helper thread's answer for the addresses of [`Connection::host_port`]'s host.
    pub(crate) fn resolved(&mut self, registry: &Registry, addresses: io::Result<Vec<SocketAddr>>) -> Next {
        if !matches!(self.phase, Phase::Resolving) {
            return Next::Wait;
        }
        let server = self.server_address_pending();
        match addresses {
            Ok(addresses) if !addresses.is_empty() => {
                if server && matches!(self.options.route, Route::Via(_)) {
                    // A `socks5://` proxy is given the first address; now find the proxy.
                    self.socks_address = Some(addresses[0].ip());
                    return self.dial(registry);
                }
                let mut addresses = addresses;
                addresses.reverse();
                self.connect_next(registry, addresses);
            }
            Ok(_) => {
                let why = IoFailure::new(io::ErrorKind::NotFound, "the name has no addresses");
                self.fail(self.not_found(server, why));
            }
            Err(e) => self.fail(self.not_found(server, IoFailure::from(&e))),
        }
        Next::Wait
    }

    /// The cause when the server's name (`server`) or the proxy's did not resolve.
    fn not_found(&self, server: bool, why: IoFailure) -> FailureCause {
        match &self.options.route {
            Route::Via(proxy) if !server => proxy.failure(ProxyFailure::Unreachable(why)),
            _ => FailureCause::Resolve(why),
        }
    }

    /// The cause when no TCP connection could be made to the next hop.
    fn unreachable(&self, why: IoFailure) -> FailureCause {
        match &self.options.route {
            Route::Direct => FailureCause::Connect(why),
            Route::Via(proxy) => proxy.failure(ProxyFailure::Unreachable(why)),
        }
    }

    /// Tries the last address of `remaining` (they are stored reversed).
    fn connect_next(&mut self, registry: &Registry, mut remaining: Vec<SocketAddr>) {
        let mut last_error = None;
        while let Some(address) = remaining.pop() {
            match TcpStream::connect(address) {
                Ok(mut tcp) => {
                    if let Err(e) =
                        registry.register(&mut tcp, self.token, Interest::READABLE | Interest::WRITABLE)
                    {
                        last_error = Some(e);
                        continue;
                    }
                    self.phase = Phase::Connecting { tcp, next: remaining };
                    return;
                }
                Err(e) => last_error = Some(e),
            }
        }
        let why = last_error.map_or_else(
            || IoFailure::new(io::ErrorKind::NotFound, "no address to connect to"),
            |e| IoFailure::from(&e),
        );
        self.fail(self.unreachable(why));
    }

    /// The socket is readable or writable (or has an error), or the connection gets another
    /// turn. `trust_short_reads`: the event reported neither the peer's end of stream nor an
    /// error (false for another turn).
    pub(crate) fn ready(&mut self, registry: &Registry, trust_short_reads: bool) -> Next {
        match &mut self.phase {
            Phase::Handshaking { stream, .. } => stream.readiness(trust_short_reads),
            Phase::Open(ws) | Phase::Closing(ws) | Phase::Draining(ws) => {
                ws.get_mut().readiness(trust_short_reads)
            }
            Phase::Resolving | Phase::Connecting { .. } | Phase::Tunnelling { .. } | Phase::Done => {}
        }
        match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Connecting { tcp, next } => {
                self.tcp_progress(registry, tcp, next);
                Next::Wait
            }
            Phase::Tunnelling { tcp, tunnel } => {
                self.drive_tunnel(tcp, tunnel);
                Next::Wait
            }
            Phase::Handshaking { stream, handshake } => self.drive_handshake(stream, handshake),
            Phase::Open(ws) => self.pump(ws, Stage::Open),
            Phase::Closing(ws) => self.pump(ws, Stage::Closing),
            Phase::Draining(ws) => self.pump(ws, Stage::Draining),
            phase @ (Phase::Resolving | Phase::Done) => {
                self.phase = phase;
                Next::Wait
            }
        }
    }

    fn tcp_progress(&mut self, registry: &Registry, tcp: TcpStream, next: Vec<SocketAddr>) {
        if let Ok(Some(e)) | Err(e) = tcp.take_error() {
            return self.connect_failed(registry, tcp, next, e);
        }
        match tcp.peer_addr() {
            Ok(_) => self.connected(tcp),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => self.phase = Phase::Connecting { tcp, next },
            Err(e) => self.connect_failed(registry, tcp, next, e),
        }
    }

    fn connect_failed(
        &mut self,
        registry: &Registry,
        mut tcp: TcpStream,
        next: Vec<SocketAddr>,
        error: io::Error,
    ) {
        let why = IoFailure::from(&error);
        let _ = registry.deregister(&mut tcp);
        if next.is_empty() {
            self.fail(self.unreachable(why));
        } else {
            self.connect_next(registry, next);
        }
    }

    /// TCP is up: to the server, the handshake starts; to a proxy, the tunnel first.
    fn connected(&mut self, tcp: TcpStream) {
        let Route::Via(proxy) = &self.options.route else {
            return self.start_handshake(tcp);
        };
        let url = &self.options.url;
        let destination = match self.socks_address {
            Some(ip) => Destination {
                host: Host::Ip(ip),
                port: url.port(),
            },
            None => Destination::new(url.host(), url.port()),
        };
        match ProxyTunnel::new(proxy, &destination) {
            Ok(tunnel) => self.drive_tunnel(tcp, tunnel),
            Err(cause) => self.fail(cause),
        }
    }

    fn drive_tunnel(&mut self, mut tcp: TcpStream, mut tunnel: ProxyTunnel) {
        match tunnel.advance(&mut tcp) {
            Ok(true) => self.start_handshake(tcp),
            Ok(false) => self.phase = Phase::Tunnelling { tcp, tunnel },
            Err(cause) => self.fail(cause),
        }
    }

    /// TLS (for `wss://`, with the server's name, even through a proxy) and the handshake.
    fn start_handshake(&mut self, tcp: TcpStream) {
        let _ = tcp.set_nodelay(true);
        let transport = match &self.options.tls {
            Some(config) => match tls::client_session(self.options.url.host(), config.clone()) {
                Ok(session) => Transport::Tls(Box::new(StreamOwned::new(session, tcp))),
                Err(cause) => return self.fail(cause),
            },
            None => Transport::Plain(tcp),
        };
        let options = &self.options;
        let handshake = ClientHandshake::new(&options.url, &options.builder);
        self.drive_handshake(Counted::new(transport), handshake);
    }

    fn drive_handshake(&mut self, mut stream: Counted, mut handshake: ClientHandshake) -> Next {
        match handshake.advance(&mut stream) {
            Ok(Some(accepted)) => self.opened(stream, accepted),
            Ok(None) => {
                self.phase = Phase::Handshaking { stream, handshake };
                Next::Wait
            }
            Err(cause) => {
                self.fail(cause);
                Next::Wait
            }
        }
    }

    fn opened(&mut self, mut stream: Counted, accepted: Accepted) -> Next {
        stream.take_written();
        let config = outcome::websocket_config(self.options.builder.max_message_size);
        let ws = WebSocket::from_partially_read(stream, accepted.tail, Role::Client, Some(config));
        let _ = self.shared.protocol.set(accepted.protocol);
        if !self.shared.transition(ReadyState::Connecting, ReadyState::Open) {
            // `close` was called while the handshake finished: the attempt stays abandoned.
            self.abandon();
            return Next::Wait;
        }
        self.last_heard = Instant::now();
        self.deadline = self
            .options
            .builder
            .keepalive
            .map(|(interval, _)| self.last_heard + interval);
        self.shared.events.push(Event::Open);
        // The server may have sent messages right behind its answer: read them now.
        self.pump(ws, Stage::Open)
    }

    /// Reads what has arrived and flushes what is queued, in `stage`.
    fn pump(&mut self, mut ws: WebSocket<Counted>, stage: Stage) -> Next {
        let keepalive = self.options.builder.keepalive.is_some();
        for _ in 0..READ_BUDGET {
            let result = ws.read();
            self.account(&mut ws);
            if keepalive && result.is_ok() {
                self.last_heard = Instant::now();
            }
            match result {
                Ok(WsMessage::Text(text)) => self.deliver(stage, Message::Text(text.as_str().to_owned())),
                Ok(WsMessage::Binary(data)) => self.deliver(stage, Message::Binary(data.into())),
                Ok(WsMessage::Close(frame)) if stage != Stage::Draining => {
                    return match self.peer_closed(frame, stage) {
                        Ok(()) => self.drain(ws),
                        Err(violation) => self.read_failed(ws, stage, violation),
                    };
                }
                Ok(_) => {}
                Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.flush(&mut ws);
                    self.phase = stage.phase(ws);
                    return Next::Wait;
                }
                Err(error) => return self.read_failed(ws, stage, error),
            }
        }
        self.flush(&mut ws);
        self.phase = stage.phase(ws);
        Next::Again
    }

    fn deliver(&self, stage: Stage, message: Message) {
        // As in browsers, messages that arrive once we are closing are not delivered.
        if stage == Stage::Open && self.shared.state() == ReadyState::Open {
            self.shared.events.push(Event::Message(message));
        }
    }

    /// The server's close frame arrived (in `Open`, it starts the closing handshake; in
    /// `Closing`, it answers ours): the close event, clean. A reserved code on the wire is a
    /// protocol violation instead.
    fn peer_closed(&mut self, frame: Option<CloseFrame>, stage: Stage) -> Result<(), WsError> {
        let event = outcome::close_event(frame, stage != Stage::Open)?;
        self.shared.set_state(ReadyState::Closing);
        self.shared.finish(None, event);
        Ok(())
    }

    /// The close event is out: flush our answer and wait (bounded) for the server's EOF.
    fn drain(&mut self, mut ws: WebSocket<Counted>) -> Next {
        self.flush(&mut ws);
        self.deadline = Some(Instant::now() + self.options.builder.close_timeout);
        // Readiness is edge-triggered: the server's EOF may have come with its close frame,
        // so read on until the socket would block.
        self.pump(ws, Stage::Draining)
    }

    /// A read or write failed in `stage`: the peer vanished, broke the protocol, or sent too
    /// much. Ends the connection with the events Chromium shows for the same case.
    fn read_failed(&mut self, mut ws: WebSocket<Counted>, stage: Stage, error: WsError) -> Next {
        self.phase = Phase::Done;
        self.deadline = None;
        if stage == Stage::Draining {
            return Next::Wait;
        }
        let failure = outcome::failure(error);
        if let Some(code) = failure.wire_code {
            // Fail the connection as RFC 6455 says: our close frame, then the TCP close.
            let _ = ws.close(Some(CloseFrame {
                code,
                reason: "".into(),
            }));
        }
        self.shared.finish(failure.cause, failure.event);
        Next::Wait
    }

    /// Flushes tungstenite's buffer; when it empties, every message handed over has left.
    fn flush(&mut self, ws: &mut WebSocket<Counted>) {
        let result = ws.flush();
        self.account(ws);
        if result.is_ok() {
            for done in self.in_flight.drain(..) {
                self.shared.sub_buffered(done.payload);
            }
        }
    }

    /// Lowers `buffered_amount` by the payload bytes that reached the kernel since last time.
    fn account(&mut self, ws: &mut WebSocket<Counted>) {
        let mut written = ws.get_mut().take_written();
        while written > 0 {
            let Some(front) = self.in_flight.front_mut() else {
                break;
            };
            let header = written.min(front.header);
            front.header -= header;
            written -= header;
            let payload = written.min(front.payload);
            front.payload -= payload;
            written -= payload;
            self.shared.sub_buffered(payload);
            if front.header == 0 && front.payload == 0 {
                self.in_flight.pop_front();
            }
        }
    }

    /// The application sent, closed or dropped its handle.
    pub(crate) fn commands(&mut self) -> Next {
        let (messages, close, abandon, dropped) = {
            let mut outbox = self.shared.outbox();
            outbox.notified = false;
            (
                std::mem::take(&mut outbox.messages),
                outbox.close.take(),
                outbox.abandon,
                outbox.dropped,
            )
        };
        match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Resolving
            | Phase::Connecting { .. }
            | Phase::Tunnelling { .. }
            | Phase::Handshaking { .. }
                if abandon || close.is_some() || dropped =>
            {
                self.abandon();
                Next::Wait
            }
            // Opened before the application saw it, which then called `close`: as a browser
            // does, the attempt fails (the socket is closed without a closing handshake).
            Phase::Open(_) if abandon => {
                self.abandon();
                Next::Wait
            }
            Phase::Open(mut ws) => {
                for message in messages {
                    if let Err(error) = self.write_message(&mut ws, message) {
                        return self.read_failed(ws, Stage::Open, error);
                    }
                }
                let close = close.or_else(|| dropped.then(|| (Some(DROP_CLOSE_CODE), String::new())));
                if let Some((code, reason)) = close {
                    let frame = code.map(|code| CloseFrame {
                        code: CloseCode::from(code),
                        reason: reason.into(),
                    });
                    let _ = ws.close(frame);
                    self.account(&mut ws);
                    self.deadline = Some(Instant::now() + self.options.builder.close_timeout);
                    self.phase = Phase::Closing(ws);
                    // The answer may already be waiting.
                    return Next::Again;
                }
                self.flush(&mut ws);
                self.phase = Phase::Open(ws);
                Next::Wait
            }
            phase => {
                // Sends racing a close are dropped (their bytes stay in `buffered_amount`).
                self.phase = phase;
                Next::Wait
            }
        }
    }

    /// Writes `message` at once, on the application's thread (see `NativeWebSocket::enqueue`),
    /// when the connection is open; gives it back in any other phase. What the kernel does not
    /// take now stays in tungstenite's buffer and goes out when the socket is writable again.
    /// Returns whether the connection has ended (a write failed).
    pub(crate) fn send_now(&mut self, message: Message) -> Result<bool, Message> {
        let mut ws = match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Open(ws) => ws,
            phase => {
                self.phase = phase;
                return Err(message);
            }
        };
        if let Err(error) = self.write_message(&mut ws, message) {
            self.read_failed(ws, Stage::Open, error);
            return Ok(true);
        }
        self.flush(&mut ws);
        self.phase = Phase::Open(ws);
        Ok(false)
    }

    /// Hands one message to tungstenite (a full kernel buffer is not an error: the rest is
    /// flushed later) and records it as in flight.
    fn write_message(&mut self, ws: &mut WebSocket<Counted>, message: Message) -> Result<(), WsError> {
        let payload = message.len();
        let frame = match message {
            Message::Text(text) => WsMessage::text(text),
            Message::Binary(data) => WsMessage::binary(data),
        };
        self.in_flight.push_back(InFlight {
            header: frame_header_len(payload),
            payload,
        });
        let result = ws.write(frame);
        self.account(ws);
        match result {
            Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            result => result,
        }
    }

    /// `close` (or drop) while connecting: the attempt is abandoned.
    fn abandon(&mut self) {
        self.fail(FailureCause::Aborted);
    }

    /// Fails before or during opening: an error event, then close 1006.
    fn fail(&mut self, cause: FailureCause) {
        self.phase = Phase::Done;
        self.deadline = None;
        self.shared.finish(Some(cause), CloseEvent::abnormal());
    }

    /// The deadline passed.
    pub(crate) fn timed_out(&mut self) {
        self.deadline = None;
        match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Resolving
            | Phase::Connecting { .. }
            | Phase::Tunnelling { .. }
            | Phase::Handshaking { .. } => self.fail(FailureCause::ConnectTimeout),
            Phase::Closing(_) => {
                // The server never answered our close frame.
                self.shared.finish(None, CloseEvent::abnormal())
            }
            Phase::Open(ws) => self.keepalive(ws),
            Phase::Draining(_) | Phase::Done => {}
        }
    }

    /// The keepalive's deadline in the open phase: ping after `interval` of silence; fail if
    /// nothing arrives within `timeout` of the ping. (The deadline is not moved on every read:
    /// it is checked against `last_heard` when it comes.)
    fn keepalive(&mut self, mut ws: WebSocket<Counted>) {
        let Some((interval, timeout)) = self.options.builder.keepalive else {
            self.phase = Phase::Open(ws);
            return;
        };
        let now = Instant::now();
        match self.ping_sent {
            Some(sent) if self.last_heard < sent => {
                let cause = FailureCause::Io(IoFailure::new(
                    io::ErrorKind::TimedOut,
                    format!("no answer to a keepalive ping within {timeout:?}"),
                ));
                self.shared.finish(Some(cause), CloseEvent::abnormal());
                return;
            }
            _ if now < self.last_heard + interval => {
                self.ping_sent = None;
                self.deadline = Some(self.last_heard + interval);
            }
            _ => {
                let result = ws.write(WsMessage::Ping(Vec::new().into()));
                self.account(&mut ws);
                match result {
                    Ok(()) => {}
                    Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(error) => {
                        self.read_failed(ws, Stage::Open, error);
                        return;
                    }
                }
                self.flush(&mut ws);
                self.ping_sent = Some(now);
                self.deadline = Some(now + timeout);
            }
        }
        self.phase = Phase::Open(ws);
    }
}

/// The size of a masked client frame's header for a payload of `len` bytes.
fn frame_header_len(len: usize) -> usize {
    let extended = match len {
        0..=125 => 0,
        126..=65535 => 2,
        _ => 8,
    };
    2 + extended + 4
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::sync::mpsc;
    use std::time::Duration;

    use mio::{Events, Poll};

    use super::*;

    /// Opens a connection to a server that completes the handshake and hangs up when told,
    /// driving it with a poller of its own (not the I/O thread), so nothing reads the hang-up.
    fn open_to_a_vanishing_server(poll: &mut Poll) -> (Connection, mpsc::Sender<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("ws://{}/", listener.local_addr().unwrap());
        let (hang_up, told) = mpsc::channel();
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let ws = tungstenite::accept(stream).unwrap();
            let _ = told.recv_timeout(Duration::from_secs(10));
            drop(ws);
        });
        let options = super::super::setup::connect_options(
            WebSocketUrl::parse(&url).unwrap(),
            WebSocketBuilder::new(url.clone()),
        )
        .unwrap();
        let mut conn = Connection::new(Arc::new(Shared::new(url)), options, Token(0));
        assert_eq!(conn.start(poll.registry()), Next::Wait);
        let mut events = Events::with_capacity(8);
        for _ in 0..100 {
            match conn.shared.state() {
                ReadyState::Open => return (conn, hang_up),
                ReadyState::Connecting => {}
                state => panic!("the connection ended while opening: {state:?}"),
            }
            poll.poll(&mut events, Some(Duration::from_secs(5))).unwrap();
            conn.ready(poll.registry(), false);
        }
        panic!("the connection did not open");
    }

    /// A proxy's name that does not resolve: the resolver's answer is given by hand, so no
    /// name is ever looked up.
    #[test]
    fn a_proxy_name_that_does_not_resolve_fails_as_the_proxy_unreachable() {
        let poll = Poll::new().unwrap();
        let url = "ws://127.0.0.1:9/";
        let builder = WebSocketBuilder::new(url).proxy("http://proxy.invalid:3128");
        let options =
            super::super::setup::connect_options(WebSocketUrl::parse(url).unwrap(), builder).unwrap();
        let mut conn = Connection::new(Arc::new(Shared::new(url.into())), options, Token(0));
        assert_eq!(conn.start(poll.registry()), Next::Resolve);
        assert_eq!(conn.host_port(), ("proxy.invalid".to_string(), 3128));
        let not_found = io::Error::new(io::ErrorKind::NotFound, "no such host");
        assert_eq!(conn.resolved(poll.registry(), Err(not_found)), Next::Wait);
        assert!(conn.is_done());
        let event = futures::executor::block_on(std::future::poll_fn(|cx| conn.shared.poll_event(cx)));
        assert_eq!(
            event,
            Some(Event::Error(FailureCause::Proxy {
                proxy: "http://proxy.invalid:3128".into(),
                failure: ProxyFailure::Unreachable(IoFailure::new(io::ErrorKind::NotFound, "no such host")),
            }))
        );
    }

    #[test]
    fn a_send_that_finds_the_connection_broken_ends_it_with_1006() {
        let mut poll = Poll::new().unwrap();
        let (mut conn, hang_up) = open_to_a_vanishing_server(&mut poll);
        hang_up.send(()).unwrap();
        // The first writes reach the kernel; once the server's RST is back, a write fails.
        let ended = (0..100_000)
            .map(|_| conn.send_now(Message::Binary(vec![0; 1024])))
            .find(|sent| !matches!(sent, Ok(false)));
        assert_eq!(ended.map(|sent| sent.is_ok()), Some(true), "no write failed");
        assert!(conn.is_done());
        assert_eq!(conn.shared.state(), ReadyState::Closed);
        assert!(conn.shared.events.is_closed());
        // In any other phase the message is handed back, untouched.
        assert!(matches!(
            conn.send_now(Message::Text("late".into())),
            Err(Message::Text(text)) if text == "late"
        ));
    }
}
