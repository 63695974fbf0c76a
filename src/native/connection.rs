//! One native connection's life: resolve, connect, the proxy's tunnel (when there is a
//! proxy), TLS and the opening handshake, the open
//! connection's reading and writing over the WebSocket session, the closing handshake with
//! Chromium's timing, and the events the application takes.
//!
//! A `Connection` is owned by whoever holds its lock (see `shared.rs`): its steps run on the
//! application's thread (`poll_event`, `send`, `close`, `dropped`) or on the reactor's driver
//! (`ready`, `turn`, `deadline_passed`, `resolved`), never both at once.

use std::io::{self, Read};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use mio::net::TcpStream;
use mio::Interest;
use rustls::{ClientConfig, StreamOwned};

use super::handshake::{Accepted, ClientHandshake};
use super::incoming::Incoming;
use super::outgoing::Outgoing;
use super::proxy::{Destination, Host, ProxyTunnel, Route};
use super::reactor::{Ctx, Readiness};
use super::resolver;
use super::tls;
use super::transport::Transport;
use super::wire::close::Ending;
use super::wire::frames::parse_head;
use super::wire::session::{Received, Session, SessionConfig};
use super::wire::violation::Violation;
use crate::event::{CloseEvent, Event, Message, ReadyState};
use crate::rules::url::WebSocketUrl;
use crate::socket::WebSocketBuilder;
use crate::{FailureCause, IoFailure, ProxyFailure};

/// The close code sent when the application drops an open socket.
pub(crate) const DROP_CLOSE_CODE: u16 = 1001;
/// How long the connection waits for the server to close TCP once the close frames have been
/// exchanged (or once it answered the server's), before it closes it itself; the close event
/// comes then, clean (Chromium's `kUnderlyingConnectionCloseTimeout`).
const TCP_CLOSE_WAIT: Duration = Duration::from_secs(2);
/// What one read asks the kernel for (64 KiB, tokio-tungstenite's 128 KiB halved: a 1 MiB
/// message takes 16 reads).
const READ_CHUNK: usize = 64 * 1024;

/// The most room a connection makes at once for a frame whose header is in but not its
/// payload (1 MiB, the default receive budget, and its header): a large message is then read
/// into one allocation instead of a buffer doubled from 64 KiB (each doubling a copy of what is
/// in), while a header that lies about a huge payload costs no more than this.
const FRAME_ROOM_AT_MOST: usize = (1 << 20) + 14;

thread_local! {
    /// The buffer each thread reads sockets into, zeroed once: a connection copies out what
    /// a read got, so it keeps only the bytes it has not decoded yet.
    static READ_SCRATCH: std::cell::RefCell<Box<[u8]>> = std::cell::RefCell::new(vec![0; READ_CHUNK].into_boxed_slice());
}
/// Each ping is answered at once (as Chromium does) while fewer than this many bytes wait to
/// be written; beyond that the server is not reading, and only the latest ping will be
/// answered, when the socket takes bytes again, so that a ping flood cannot grow the client.
const PONG_BACKLOG: usize = 64 * 1024;
/// Sends on a [`crate::block_on`] thread wait for the thread's next wait to be written, up to
/// this many bytes.
const DEFER_AT_MOST: usize = 256 * 1024;

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

enum Phase {
    Resolving,
    Connecting {
        tcp: TcpStream,
        /// The addresses still to try, reversed (the next is last).
        next: Vec<SocketAddr>,
    },
    /// Connected to the proxy, which is opening the tunnel to the server.
    Tunnelling {
        tcp: TcpStream,
        tunnel: ProxyTunnel,
    },
    Handshaking {
        stream: Transport,
        handshake: ClientHandshake,
    },
    Open {
        stream: Transport,
        /// Boxed: it is most of an open connection's state, and none of a connecting one's.
        session: Box<Session>,
    },
    Done,
}

/// Which wakers the application's tasks need once the lock is released.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Wakes {
    /// An event was queued.
    pub(crate) events: bool,
    /// Bytes were written (`buffered_amount` fell) or the connection ended.
    pub(crate) drain: bool,
}

/// A native connection.
pub(crate) struct Connection {
    options: ConnectOptions,
    phase: Phase,
    deadline: Option<Instant>,
    incoming: Incoming,
    outgoing: Outgoing,
    /// Bytes read and not yet taken by the session (the start of a frame).
    read_buf: BytesMut,
    /// Reading stopped because the application's queue is full.
    paused: bool,
    /// The socket became readable and its reading was left to the application's own poll (a
    /// [`crate::block_on`] thread's socket; see the reactor's `Caller`): `Some(peer_done)`.
    unread: Option<bool>,
    /// The kernel may hold bytes not read yet: no read has found its queue empty since the
    /// poller last said the socket was readable. While `false`, a poll with no event queued
    /// does not try a read that would find nothing (the poller reports the next bytes: it is
    /// edge-triggered, and its event is handled under this connection's lock), as tokio skips
    /// the read after a short one. In the fan-out to 100 sockets, every delivery cost two
    /// reads without this, the second finding nothing when the task asked for the next event.
    may_have_bytes: bool,
    /// Sends were left to the calling thread's `block_on` to write.
    deferred: bool,
    /// When anything last arrived from the server (for the keepalive).
    last_heard: Instant,
    /// When our keepalive ping went out, while its answer is awaited.
    ping_sent: Option<Instant>,
    /// The server's address, resolved here for a `socks5://` proxy, which is given it.
    socks_address: Option<IpAddr>,
    /// The application dropped its handle: no more events are queued.
    handle_dropped: bool,
    /// The close event was queued: nothing more is.
    close_queued: bool,
    /// The close event was taken: the stream of events has ended.
    ended: bool,
    wakes: Wakes,
    /// A test's request that the next step panic (see the reactor's fault isolation).
    #[cfg(test)]
    pub(crate) panic_in_next_step: bool,
}

impl Connection {
    /// A connection about to start, with the options' receive budget.
    pub(crate) fn new(options: ConnectOptions) -> Self {
        let limit = options.builder.max_queued_incoming;
        Self {
            options,
            phase: Phase::Resolving,
            deadline: None,
            incoming: Incoming::new(limit),
            outgoing: Outgoing::default(),
            read_buf: BytesMut::new(),
            paused: false,
            unread: None,
            may_have_bytes: true,
            deferred: false,
            last_heard: Instant::now(),
            ping_sent: None,
            socks_address: None,
            handle_dropped: false,
            close_queued: false,
            ended: false,
            wakes: Wakes::default(),
            #[cfg(test)]
            panic_in_next_step: false,
        }
    }

    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    pub(crate) fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    /// The connection's own state (the application's moves with the events it takes).
    #[cfg(test)]
    pub(crate) fn state(&self) -> ReadyState {
        match &self.phase {
            Phase::Resolving
            | Phase::Connecting { .. }
            | Phase::Tunnelling { .. }
            | Phase::Handshaking { .. } => ReadyState::Connecting,
            Phase::Open { session, .. } if session.close_sent() || session.close_received().is_some() => {
                ReadyState::Closing
            }
            Phase::Open { .. } => ReadyState::Open,
            Phase::Done => ReadyState::Closed,
        }
    }

    /// The wakers to wake after this step, taken.
    pub(crate) fn take_wakes(&mut self) -> Wakes {
        std::mem::take(&mut self.wakes)
    }

    /// Sets the deadline `after` from now (none when that is beyond what `Instant` can hold:
    /// a `Duration::MAX` option means "never").
    fn deadline_in(&mut self, after: Duration) {
        self.deadline = Instant::now().checked_add(after);
    }

    #[cfg(test)]
    fn maybe_panic(&mut self) {
        if std::mem::take(&mut self.panic_in_next_step) {
            panic!("a test asked this connection's step to panic");
        }
    }

    #[cfg(not(test))]
    fn maybe_panic(&mut self) {}

    // ---- the application's calls ----------------------------------------------------------

    /// The next event for the application: a queued one, else what the socket has now, else
    /// `Pending` with the task's waker kept. `None` after the close event.
    pub(crate) fn poll_event(&mut self, ctx: &Ctx<'_>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.maybe_panic();
        if self.incoming.is_empty() && self.may_have_bytes && matches!(self.phase, Phase::Open { .. }) {
            let peer_done = self.unread.unwrap_or(false);
            self.pump(ctx, peer_done);
        }
        if let Some(event) = self.incoming.pop() {
            if self.paused && !self.incoming.is_full() {
                self.pump(ctx, false);
            }
            return Poll::Ready(Some(self.taken(ctx, event)));
        }
        if self.ended {
            return Poll::Ready(None);
        }
        ctx.shared.event_waker.register(cx.waker());
        Poll::Pending
    }

    /// Moves the application's ready state as it takes `event`.
    fn taken(&mut self, ctx: &Ctx<'_>, event: Event) -> Event {
        match &event {
            Event::Open => ctx.shared.set_seen(ReadyState::Open),
            Event::Message(_) => {}
            Event::Error(_) => ctx.shared.set_seen(ReadyState::Closed),
            Event::Close(_) => {
                ctx.shared.set_seen(ReadyState::Closed);
                self.ended = true;
            }
        }
        event
    }

    /// Sends `message` (the application sees the socket open): encoded at once, and written
    /// at once when nothing is waiting ahead of it, unless `may_defer` (the caller is in
    /// [`crate::block_on`], which writes what its sends left before it waits: the sends of one
    /// turn go out in one write; or it is the `Sink`, whose flush writes them) and less than
    /// [`DEFER_AT_MOST`] waits; a send that may not wait writes what earlier ones left. What
    /// the kernel does not take goes out when the socket is writable. Once closing, the message is dropped, its
    /// bytes still counted in `buffered_amount`, as in browsers. Returns whether the write was
    /// left to the caller's `block_on`.
    pub(crate) fn send(&mut self, ctx: &Ctx<'_>, message: Message, may_defer: bool) -> bool {
        self.maybe_panic();
        let len = message.len();
        ctx.shared.add_buffered(len);
        let Phase::Open { session, .. } = &mut self.phase else {
            return false;
        };
        let was_empty = self.outgoing.is_empty();
        let sent = match &message {
            Message::Text(text) => session.send(true, text.as_bytes(), self.outgoing.buffer()),
            Message::Binary(data) => session.send(false, data, self.outgoing.buffer()),
        };
        if sent.is_none() {
            return false;
        }
        self.outgoing.queued(Some(len));
        let small = self.outgoing.pending() < DEFER_AT_MOST;
        if self.deferred {
            // Another send of the same turn, or one that may not wait.
            if !small || !may_defer {
                self.flush(ctx);
            }
            return false;
        }
        if !was_empty {
            // Waiting for the socket to be writable: the reactor writes it then.
            return false;
        }
        if may_defer && small {
            self.deferred = true;
            return true;
        }
        self.flush(ctx);
        false
    }

    /// Writes what a [`crate::block_on`] caller's or the `Sink`'s sends left (see
    /// [`Connection::send`]).
    pub(crate) fn flush_deferred(&mut self, ctx: &Ctx<'_>) {
        if self.deferred {
            self.flush(ctx);
        }
    }

    /// The application calls `close` while it sees the socket open: the closing handshake
    /// starts (the server's answer awaited for the close timeout).
    pub(crate) fn close(&mut self, ctx: &Ctx<'_>, code: Option<u16>, reason: &str) {
        self.maybe_panic();
        let Phase::Open { session, .. } = &mut self.phase else {
            return;
        };
        if session.close_sent() || session.close_received().is_some() {
            return;
        }
        session.send_close(code, reason, self.outgoing.buffer());
        self.outgoing.queued(None);
        let close_timeout = self.options.builder.close_timeout;
        self.deadline_in(close_timeout);
        self.flush(ctx);
    }

    /// The application calls `close` while it still sees the socket connecting: the attempt is
    /// abandoned, even if the connection has opened meanwhile (its open event and messages are
    /// not delivered), as in a browser.
    pub(crate) fn abandon(&mut self, ctx: &Ctx<'_>) {
        self.incoming.discard_open_and_messages();
        self.fail(ctx, FailureCause::Aborted);
    }

    /// The application dropped its handle: no more events; a connecting socket is abandoned,
    /// an open one closes with 1001 and its closing handshake runs for at most the close
    /// timeout.
    pub(crate) fn dropped(&mut self, ctx: &Ctx<'_>) {
        self.handle_dropped = true;
        self.incoming.clear();
        match &self.phase {
            Phase::Open { .. } => self.close(ctx, Some(DROP_CLOSE_CODE), ""),
            Phase::Done => {}
            _ => self.hang_up(ctx),
        }
    }

    // ---- the reactor's steps ---------------------------------------------------------------

    /// Starts (or fails at once if the host's settings cannot be used); the connect timeout
    /// starts now.
    pub(crate) fn start(&mut self, ctx: &Ctx<'_>) {
        let connect_timeout = self.options.builder.connect_timeout;
        self.deadline_in(connect_timeout);
        if let Some(cause) = self.options.setup_failure.take() {
            return self.fail(ctx, cause);
        }
        self.dial(ctx);
    }

    /// The host and port to resolve, or to connect to: the server's, or the proxy's (after
    /// the server's, for a `socks5://` proxy).
    fn host_port(&self) -> (String, u16) {
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

    /// Connects to the next hop, the server or the proxy: at once to an IP address, after
    /// resolving a name (on the resolver's threads).
    fn dial(&mut self, ctx: &Ctx<'_>) {
        if let Some((host, port)) = self.next_hop_name() {
            let shared = ctx.shared.clone();
            let reactor = ctx.reactor;
            resolver::resolve(
                host,
                port,
                Box::new(move |addresses| {
                    reactor.run_step(&shared, false, |conn, ctx| conn.resolved(ctx, addresses));
                }),
            );
        } else {
            let (host, port) = self.host_port();
            if let Ok(ip) = host.parse::<IpAddr>() {
                self.connect_next(ctx, vec![SocketAddr::new(ip, port)]);
            }
        }
    }

    /// The name the next hop needs resolved, if it is one (an IP address needs nothing; for
    /// a `socks5://` proxy the server's address is taken as it is when it is one).
    fn next_hop_name(&mut self) -> Option<(String, u16)> {
        if matches!(self.options.route, Route::Via(_)) && self.server_address_pending() {
            if let Ok(ip) = self.options.url.host().parse::<IpAddr>() {
                self.socks_address = Some(ip);
            }
        }
        let (host, port) = self.host_port();
        host.parse::<IpAddr>().is_err().then_some((host, port))
    }

    /// The resolver's answer for the addresses of [`Connection::host_port`]'s host.
    fn resolved(&mut self, ctx: &Ctx<'_>, addresses: io::Result<Vec<SocketAddr>>) {
        if !matches!(self.phase, Phase::Resolving) {
            return;
        }
        let server = self.server_address_pending();
        match addresses {
            Ok(mut addresses) if !addresses.is_empty() => {
                if server && matches!(self.options.route, Route::Via(_)) {
                    // A `socks5://` proxy is given the first address; now find the proxy.
                    self.socks_address = Some(addresses[0].ip());
                    return self.dial(ctx);
                }
                addresses.reverse();
                self.connect_next(ctx, addresses);
            }
            Ok(_) => {
                let why = IoFailure::new(io::ErrorKind::NotFound, "the name has no addresses");
                self.fail(ctx, self.not_found(server, why));
            }
            Err(e) => self.fail(ctx, self.not_found(server, IoFailure::from(&e))),
        }
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
    fn connect_next(&mut self, ctx: &Ctx<'_>, mut remaining: Vec<SocketAddr>) {
        let mut last_error = None;
        while let Some(address) = remaining.pop() {
            match TcpStream::connect(address) {
                Ok(mut tcp) => {
                    if let Err(e) =
                        ctx.registry
                            .register(&mut tcp, ctx.token, Interest::READABLE | Interest::WRITABLE)
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
        self.fail(ctx, self.unreachable(why));
    }

    /// The socket is ready (or has an error). `leave_reads`: the driver is the thread that
    /// polls this socket, whose task reads it when woken; an open socket's reading is then left
    /// to it (the task is woken as for an event). Returns whether the reading was left.
    pub(crate) fn ready(&mut self, ctx: &Ctx<'_>, readiness: Readiness, leave_reads: bool) -> bool {
        self.maybe_panic();
        match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Connecting { tcp, next } => self.tcp_progress(ctx, tcp, next),
            Phase::Tunnelling { tcp, tunnel } => self.drive_tunnel(ctx, tcp, tunnel),
            Phase::Handshaking { stream, handshake } => self.drive_handshake(ctx, stream, handshake),
            phase @ Phase::Open { .. } => {
                self.phase = phase;
                if readiness.writable {
                    self.flush(ctx);
                }
                if readiness.readable {
                    self.may_have_bytes = true;
                }
                if readiness.readable && leave_reads && !self.paused && self.incoming.is_empty() {
                    self.unread = Some(self.unread.unwrap_or(false) || readiness.peer_done);
                    self.wakes.events = true;
                    return true;
                }
                if readiness.readable {
                    self.pump(ctx, readiness.peer_done);
                }
            }
            phase => self.phase = phase,
        }
        false
    }

    /// Reads what arrived since the socket became readable, if the application's poll has not
    /// (see [`Connection::ready`]).
    pub(crate) fn read_left(&mut self, ctx: &Ctx<'_>) {
        if let Some(peer_done) = self.unread {
            self.pump(ctx, peer_done);
        }
    }

    fn tcp_progress(&mut self, ctx: &Ctx<'_>, tcp: TcpStream, next: Vec<SocketAddr>) {
        if let Ok(Some(e)) | Err(e) = tcp.take_error() {
            return self.connect_failed(ctx, tcp, next, e);
        }
        match tcp.peer_addr() {
            Ok(_) => self.connected(ctx, tcp),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => self.phase = Phase::Connecting { tcp, next },
            Err(e) => self.connect_failed(ctx, tcp, next, e),
        }
    }

    fn connect_failed(&mut self, ctx: &Ctx<'_>, mut tcp: TcpStream, next: Vec<SocketAddr>, error: io::Error) {
        let _ = ctx.registry.deregister(&mut tcp);
        if next.is_empty() {
            self.fail(ctx, self.unreachable(IoFailure::from(&error)));
        } else {
            self.connect_next(ctx, next);
        }
    }

    /// TCP is up: to the server, the handshake starts; to a proxy, the tunnel first.
    fn connected(&mut self, ctx: &Ctx<'_>, tcp: TcpStream) {
        let Route::Via(proxy) = &self.options.route else {
            return self.start_handshake(ctx, tcp);
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
            Ok(tunnel) => self.drive_tunnel(ctx, tcp, tunnel),
            Err(cause) => {
                self.phase = Phase::Connecting {
                    tcp,
                    next: Vec::new(),
                };
                self.fail(ctx, cause);
            }
        }
    }

    fn drive_tunnel(&mut self, ctx: &Ctx<'_>, mut tcp: TcpStream, mut tunnel: ProxyTunnel) {
        match tunnel.advance(&mut tcp) {
            Ok(true) => self.start_handshake(ctx, tcp),
            Ok(false) => self.phase = Phase::Tunnelling { tcp, tunnel },
            Err(cause) => {
                self.phase = Phase::Tunnelling { tcp, tunnel };
                self.fail(ctx, cause);
            }
        }
    }

    /// TLS (for `wss://`, with the server's name, even through a proxy) and the handshake.
    fn start_handshake(&mut self, ctx: &Ctx<'_>, tcp: TcpStream) {
        let _ = tcp.set_nodelay(true);
        let options = &self.options;
        let handshake = ClientHandshake::new(&options.url, &options.builder);
        let stream = match &options.tls {
            Some(config) => match tls::client_session(options.url.host(), config.clone()) {
                Ok(session) => Transport::Tls(Box::new(StreamOwned::new(session, tcp))),
                Err(cause) => {
                    self.phase = Phase::Handshaking {
                        stream: Transport::Plain(tcp),
                        handshake,
                    };
                    return self.fail(ctx, cause);
                }
            },
            None => Transport::Plain(tcp),
        };
        self.drive_handshake(ctx, stream, handshake);
    }

    fn drive_handshake(&mut self, ctx: &Ctx<'_>, mut stream: Transport, mut handshake: ClientHandshake) {
        match handshake.advance(&mut stream) {
            Ok(Some(accepted)) => self.opened(ctx, stream, accepted),
            Ok(None) => self.phase = Phase::Handshaking { stream, handshake },
            Err(cause) => {
                self.phase = Phase::Handshaking { stream, handshake };
                self.fail(ctx, cause);
            }
        }
    }

    fn opened(&mut self, ctx: &Ctx<'_>, stream: Transport, accepted: Accepted) {
        let _ = ctx.shared.protocol.set(accepted.protocol);
        let _ = ctx.shared.extensions.set(accepted.negotiated.extensions);
        let session = Box::new(Session::new(SessionConfig {
            max_message_size: self.options.builder.max_message_size,
            deflate: accepted.negotiated.deflate,
        }));
        self.read_buf = BytesMut::from(&accepted.tail[..]);
        self.phase = Phase::Open { stream, session };
        self.last_heard = Instant::now();
        self.deadline = self
            .options
            .builder
            .keepalive
            .and_then(|(interval, _)| self.last_heard.checked_add(interval));
        self.queue(Event::Open);
        // The server may have sent frames right behind its answer: read them now.
        self.pump(ctx, false);
    }

    /// Reads what has arrived, as far as the application's queue has room, hands it to the
    /// session, writes what the session owes (a pong, our answer to a close frame), and
    /// handles the end of the stream. `peer_done`: the poller reported the peer's end of
    /// stream or an error, so a short read proves nothing.
    fn pump(&mut self, ctx: &Ctx<'_>, peer_done: bool) {
        self.unread = None;
        let mut drained = false;
        loop {
            match self.decode() {
                Decoded::NeedBytes => self.paused = false,
                Decoded::QueueFull => {
                    self.paused = true;
                    break;
                }
                Decoded::Violated(violation) => return self.violated(ctx, violation),
                Decoded::NotOpen => return,
            }
            if drained {
                break;
            }
            match self.read_more(peer_done) {
                ReadMore::Got { drained: now_drained } => drained = now_drained,
                ReadMore::WouldBlock => break,
                ReadMore::Ended => return self.stream_ended(ctx, Ending::ServerHungUp),
                ReadMore::Failed(error) => return self.broken(ctx, &error),
            }
        }
        self.flush(ctx);
        if self.read_buf.is_empty() && self.read_buf.capacity() > 0 {
            // An idle socket keeps no read buffer.
            self.read_buf = BytesMut::new();
        }
    }

    /// Hands what was read to the session until it needs more bytes or the application's
    /// queue is full, queueing the messages.
    fn decode(&mut self) -> Decoded {
        let Phase::Open { session, .. } = &mut self.phase else {
            return Decoded::NotOpen;
        };
        loop {
            if self.incoming.is_full() {
                return Decoded::QueueFull;
            }
            let message = match session.receive(&mut self.read_buf) {
                Ok(Some(Received::Text(text))) => Message::Text(text),
                Ok(Some(Received::Binary(data))) => Message::Binary(data),
                Ok(Some(Received::Ping)) => {
                    if self.outgoing.pending() < PONG_BACKLOG {
                        session.write_pending(self.outgoing.buffer());
                        self.outgoing.queued(None);
                    }
                    continue;
                }
                Ok(Some(Received::Pong)) => continue,
                Ok(Some(Received::Close)) => {
                    // Our answer, if one is owed, goes out with the next flush; the close event
                    // comes when TCP closes, or after TCP_CLOSE_WAIT.
                    self.deadline = Instant::now().checked_add(TCP_CLOSE_WAIT);
                    continue;
                }
                Ok(None) => return Decoded::NeedBytes,
                Err(violation) => return Decoded::Violated(violation),
            };
            if !self.handle_dropped {
                self.incoming.push(Event::Message(message));
                self.wakes.events = true;
            }
        }
    }

    /// One read from the socket into the read buffer, through the thread's scratch buffer (see
    /// [`READ_SCRATCH`]): an idle socket holds no read buffer of its own, and nothing is zeroed
    /// or mapped afresh for each read.
    fn read_more(&mut self, peer_done: bool) -> ReadMore {
        let Phase::Open { stream, .. } = &mut self.phase else {
            return ReadMore::WouldBlock;
        };
        let read = READ_SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let read = loop {
                match stream.read(&mut scratch[..]) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    read => break read,
                }
            };
            if let Ok(n) = read {
                if let Ok(Some(head)) = parse_head(&self.read_buf) {
                    let frame = usize::try_from(head.payload_len)
                        .map_or(usize::MAX, |payload| payload.saturating_add(head.header_len));
                    self.read_buf
                        .reserve(frame.min(FRAME_ROOM_AT_MOST).saturating_sub(self.read_buf.len()));
                }
                self.read_buf.extend_from_slice(&scratch[..n]);
            }
            read
        });
        match read {
            Ok(0) => ReadMore::Ended,
            Ok(n) => {
                if self.options.builder.keepalive.is_some() {
                    self.last_heard = Instant::now();
                }
                let drained = n < READ_CHUNK && stream.short_read_drains() && !peer_done;
                self.may_have_bytes = !drained;
                ReadMore::Got { drained }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.may_have_bytes = false;
                ReadMore::WouldBlock
            }
            Err(e) => ReadMore::Failed(e),
        }
    }

    /// Writes what is queued for the server, and then what the session still owes it (the pong
    /// for the latest ping, our answer to its close frame) once everything else is out.
    fn flush(&mut self, ctx: &Ctx<'_>) {
        self.deferred = false;
        let Phase::Open { stream, session } = &mut self.phase else {
            return;
        };
        let failed = loop {
            match self.outgoing.flush(stream) {
                Ok(done) => {
                    if done > 0 {
                        ctx.shared.sub_buffered(done);
                        self.wakes.drain = true;
                    }
                }
                Err(error) => break Some(error),
            }
            if !(self.outgoing.is_empty() && session.wants_write()) {
                break None;
            }
            session.write_pending(self.outgoing.buffer());
            self.outgoing.queued(None);
        };
        if let Some(error) = failed {
            self.broken(ctx, &error);
        }
    }

    /// The server broke the protocol: our close frame (if the closing handshake had not
    /// started), then the TCP close; the error event and the close event Chromium gives.
    fn violated(&mut self, ctx: &Ctx<'_>, violation: Violation) {
        let Phase::Open { stream, session } = &mut self.phase else {
            return;
        };
        let failure = session.fail(&violation, self.outgoing.buffer());
        self.outgoing.queued(None);
        let _ = self.outgoing.flush(stream);
        self.finish(ctx, Some(failure.cause), failure.event);
    }

    /// The TCP connection ended in order (`ServerHungUp`) or we gave up waiting for it
    /// (`TimedOut`): the close event as the session's closing handshake says.
    fn stream_ended(&mut self, ctx: &Ctx<'_>, ending: Ending) {
        let event = match &self.phase {
            Phase::Open { session, .. } => session.ended(ending),
            _ => CloseEvent::abnormal(),
        };
        self.finish(ctx, None, event);
    }

    /// Reading or writing failed: the peer reset the connection, or TLS failed (which gets an
    /// error event with its cause, as the handshake's TLS failures do).
    fn broken(&mut self, ctx: &Ctx<'_>, error: &io::Error) {
        let event = match &self.phase {
            Phase::Open { session, .. } => session.ended(Ending::Broken),
            _ => CloseEvent::abnormal(),
        };
        self.finish(ctx, tls::tls_cause(error), event);
    }

    /// Fails before or during opening (or abandons): an error event, then close 1006.
    fn fail(&mut self, ctx: &Ctx<'_>, cause: FailureCause) {
        self.finish(ctx, Some(cause), CloseEvent::abnormal());
    }

    /// Ends the connection: the TCP connection closes, then the optional error event and the
    /// close event are queued (unless the handle was dropped).
    fn finish(&mut self, ctx: &Ctx<'_>, cause: Option<FailureCause>, event: CloseEvent) {
        self.hang_up(ctx);
        if !self.handle_dropped && !std::mem::replace(&mut self.close_queued, true) {
            if let Some(cause) = cause {
                self.incoming.push(Event::Error(cause));
            }
            self.incoming.push(Event::Close(event));
        }
        self.wakes = Wakes {
            events: true,
            drain: true,
        };
    }

    /// Closes the TCP connection (if there is one) and ends the connection, with no event.
    fn hang_up(&mut self, ctx: &Ctx<'_>) {
        let tcp = match &mut self.phase {
            Phase::Connecting { tcp, .. } | Phase::Tunnelling { tcp, .. } => Some(tcp),
            Phase::Handshaking { stream, .. } | Phase::Open { stream, .. } => Some(stream.tcp()),
            Phase::Resolving | Phase::Done => None,
        };
        if let Some(tcp) = tcp {
            let _ = ctx.registry.deregister(tcp);
        }
        self.phase = Phase::Done;
        self.deadline = None;
    }

    /// A step panicked (a bug in twinsock or a library under it): this connection alone fails,
    /// with a cause that says so.
    pub(crate) fn fail_after_panic(&mut self, ctx: &Ctx<'_>) {
        if self.close_queued {
            return;
        }
        self.incoming.discard_open_and_messages();
        let cause =
            FailureCause::Internal("a panic while driving this connection; it alone was closed".into());
        self.finish(ctx, Some(cause), CloseEvent::abnormal());
    }

    /// The deadline `at` came (a stale one, since moved, is ignored).
    pub(crate) fn deadline_passed(&mut self, ctx: &Ctx<'_>, at: Instant) {
        self.maybe_panic();
        if self.deadline != Some(at) {
            return;
        }
        self.deadline = None;
        match &self.phase {
            Phase::Resolving
            | Phase::Connecting { .. }
            | Phase::Tunnelling { .. }
            | Phase::Handshaking { .. } => self.fail(ctx, FailureCause::ConnectTimeout),
            Phase::Open { session, .. } if session.close_received().is_some() => {
                // The close frames are exchanged but the server keeps TCP open: close it
                // ourselves, still clean.
                self.stream_ended(ctx, Ending::TimedOut)
            }
            Phase::Open { session, .. } if session.close_sent() => {
                // The server never answered our close frame.
                self.stream_ended(ctx, Ending::TimedOut)
            }
            Phase::Open { .. } => self.keepalive(ctx),
            Phase::Done => {}
        }
    }

    /// The keepalive's deadline in the open phase: ping after `interval` of silence; fail if
    /// nothing arrives within `timeout` of the ping. (The deadline is not moved on every read:
    /// it is checked against `last_heard` when it comes.)
    fn keepalive(&mut self, ctx: &Ctx<'_>) {
        let Some((interval, timeout)) = self.options.builder.keepalive else {
            return;
        };
        let now = Instant::now();
        match self.ping_sent {
            Some(sent) if self.last_heard < sent => {
                let why = format!("no answer to a keepalive ping within {timeout:?}");
                let cause = FailureCause::Io(IoFailure::new(io::ErrorKind::TimedOut, why));
                self.fail(ctx, cause);
            }
            _ if self.last_heard.checked_add(interval).is_some_and(|at| now < at) => {
                self.ping_sent = None;
                self.deadline = self.last_heard.checked_add(interval);
            }
            _ => {
                if let Phase::Open { session, .. } = &mut self.phase {
                    if session.send_ping(&[], self.outgoing.buffer()) {
                        self.outgoing.queued(None);
                    }
                }
                self.ping_sent = Some(now);
                self.deadline = now.checked_add(timeout);
                self.flush(ctx);
            }
        }
    }

    /// Queues `event` for the application (unless its handle was dropped).
    fn queue(&mut self, event: Event) {
        if !self.handle_dropped {
            self.incoming.push(event);
            self.wakes.events = true;
        }
    }
}

/// What [`Connection::decode`] stopped at.
enum Decoded {
    /// The session needs more bytes.
    NeedBytes,
    /// The application's queue is full: stop reading.
    QueueFull,
    /// The server broke the protocol.
    Violated(Violation),
    /// The connection is not open (any more).
    NotOpen,
}

/// What [`Connection::read_more`] got.
enum ReadMore {
    /// Bytes; `drained` when the kernel's queue is surely empty now.
    Got {
        drained: bool,
    },
    WouldBlock,
    /// The server closed its side.
    Ended,
    Failed(io::Error),
}
