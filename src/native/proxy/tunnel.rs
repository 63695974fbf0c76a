//! The tunnel through a proxy, opened over a non-blocking stream before TLS and the
//! WebSocket handshake run inside it, as `ClientHandshake` runs the handshake: sans-I/O,
//! advanced whenever the socket is ready.

use std::io::{Read, Write};
use std::net::IpAddr;

use super::http_connect::HttpConnect;
use super::socks5::Socks5;
use super::{Protocol, Proxy};
use crate::error::FailureCause;

/// A host the tunnel leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Host {
    /// A name, for the proxy to resolve.
    Name(String),
    /// An address.
    Ip(IpAddr),
}

/// Where the tunnel leads: the WebSocket server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Destination {
    pub(crate) host: Host,
    pub(crate) port: u16,
}

impl Destination {
    /// `host` (a name, or an IP address without brackets) and `port`.
    pub(crate) fn new(host: &str, port: u16) -> Self {
        let host = match host.parse::<IpAddr>() {
            Ok(ip) => Host::Ip(ip),
            Err(_) => Host::Name(host.to_string()),
        };
        Self { host, port }
    }

    /// `host:port`, an IPv6 address in brackets, as `CONNECT` names it.
    pub(crate) fn authority(&self) -> String {
        match &self.host {
            Host::Ip(IpAddr::V6(ip)) => format!("[{ip}]:{}", self.port),
            Host::Ip(ip) => format!("{ip}:{}", self.port),
            Host::Name(name) => format!("{name}:{}", self.port),
        }
    }
}

/// The protocol's exchange.
#[derive(Debug)]
enum Exchange {
    Http(HttpConnect),
    Socks5(Socks5),
}

/// A tunnel being opened through a proxy.
#[derive(Debug)]
pub(crate) struct ProxyTunnel {
    /// The proxy's name in failures.
    label: String,
    exchange: Exchange,
}

impl ProxyTunnel {
    /// Prepares the request to `proxy` for a tunnel to `destination` (for `socks5://`, an
    /// address resolved here).
    ///
    /// # Errors
    /// SOCKS5 cannot name the destination (a name over 255 bytes).
    pub(crate) fn new(proxy: &Proxy, destination: &Destination) -> Result<Self, FailureCause> {
        let credentials = proxy.credentials.as_ref();
        let exchange = match proxy.protocol {
            Protocol::Http => Exchange::Http(HttpConnect::new(destination, credentials)),
            Protocol::Socks5 { .. } => Exchange::Socks5(
                Socks5::new(destination, credentials).map_err(|failure| proxy.failure(failure))?,
            ),
        };
        Ok(Self {
            label: proxy.label(),
            exchange,
        })
    }

    /// Sends and reads as far as the stream allows: `Ok(false)` when it would block,
    /// `Ok(true)` once the proxy has opened the tunnel. Nothing past the proxy's answer is
    /// read, so the stream then carries the server's bytes alone.
    ///
    /// # Errors
    /// The proxy refused, or its answer was not valid ([`FailureCause::Proxy`]).
    pub(crate) fn advance(&mut self, stream: &mut (impl Read + Write)) -> Result<bool, FailureCause> {
        let result = match &mut self.exchange {
            Exchange::Http(connect) => connect.advance(stream),
            Exchange::Socks5(socks) => socks.advance(stream),
        };
        result.map_err(|failure| FailureCause::Proxy {
            proxy: self.label.clone(),
            failure,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::io;

    use super::*;
    use crate::error::ProxyFailure;
    use crate::native::proxy::url;

    /// A non-blocking stream played from a script: each read takes the next chunk (an empty
    /// chunk would block); everything written is kept.
    struct Scripted {
        reads: VecDeque<Vec<u8>>,
        written: Vec<u8>,
        /// How many more bytes writes accept (`usize::MAX`: no limit; 0: they would block).
        write_room: usize,
    }

    impl Scripted {
        fn new(reads: &[&[u8]]) -> Self {
            Self {
                reads: reads.iter().map(|chunk| chunk.to_vec()).collect(),
                written: Vec::new(),
                write_room: usize::MAX,
            }
        }
    }

    impl Read for Scripted {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let Some(chunk) = self.reads.front_mut() else {
                return Ok(0);
            };
            if chunk.is_empty() {
                self.reads.pop_front();
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = buf.len().min(chunk.len());
            buf[..n].copy_from_slice(&chunk[..n]);
            chunk.drain(..n);
            if chunk.is_empty() {
                self.reads.pop_front();
            }
            Ok(n)
        }
    }

    impl Write for Scripted {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.write_room == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = buf.len().min(self.write_room);
            self.written.extend_from_slice(&buf[..n]);
            if self.write_room != usize::MAX {
                self.write_room -= n;
            }
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn tunnel(proxy: &str, host: &str, port: u16) -> ProxyTunnel {
        ProxyTunnel::new(&url::parse(proxy).unwrap(), &Destination::new(host, port)).unwrap()
    }

    /// Advances until the tunnel opens or fails, at most `turns` times.
    fn run(tunnel: &mut ProxyTunnel, stream: &mut Scripted, turns: usize) -> Result<bool, FailureCause> {
        for _ in 0..turns {
            if tunnel.advance(stream)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn failure(result: Result<bool, FailureCause>) -> ProxyFailure {
        match result {
            Err(FailureCause::Proxy { failure, .. }) => failure,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn connect_asks_for_the_servers_authority_with_basic_credentials() {
        let mut t = tunnel("http://Aladdin:open%20sesame@proxy:3128", "example.com", 443);
        let mut stream = Scripted::new(&[b"", b"HTTP/1.1 200 Connection", b"", b" established\r\n\r\n"]);
        assert_eq!(run(&mut t, &mut stream, 10), Ok(true));
        assert_eq!(
            String::from_utf8(stream.written).unwrap(),
            "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\
             Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n"
        );
        let mut v6 = tunnel("http://proxy", "::1", 80);
        let mut stream = Scripted::new(&[b"HTTP/1.0 200 OK\r\n\r\n"]);
        assert_eq!(run(&mut v6, &mut stream, 2), Ok(true));
        assert!(stream
            .written
            .starts_with(b"CONNECT [::1]:80 HTTP/1.1\r\nHost: [::1]:80\r\n\r\n"));
    }

    #[test]
    fn connect_waits_while_the_stream_would_block() {
        let mut t = tunnel("http://proxy", "h", 1);
        let mut stream = Scripted::new(&[b"HTTP/1.1 200 OK\r\n\r\n"]);
        stream.write_room = 0;
        assert_eq!(t.advance(&mut stream), Ok(false));
        stream.write_room = 5;
        assert_eq!(t.advance(&mut stream), Ok(false), "the rest is still to send");
        stream.write_room = usize::MAX;
        assert_eq!(run(&mut t, &mut stream, 100), Ok(true));
    }

    #[test]
    fn connect_refusals_keep_the_status_and_reason() {
        for (answer, code, reason) in [
            (
                &b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n"[..],
                407,
                "Proxy Authentication Required",
            ),
            (
                b"HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\n\r\nforbidden",
                403,
                "Forbidden",
            ),
            (b"HTTP/1.0 502 Bad Gateway\r\n\r\n", 502, "Bad Gateway"),
        ] {
            let mut t = tunnel("http://proxy", "h", 1);
            let failure = failure(run(&mut t, &mut Scripted::new(&[answer]), 3));
            assert_eq!(
                failure,
                ProxyFailure::Status {
                    code,
                    reason: reason.into()
                }
            );
        }
    }

    #[test]
    fn connect_answers_that_are_not_valid_fail_as_protocol_errors() {
        let huge = format!("HTTP/1.1 200 OK\r\nX: {}\r\n\r\n", "x".repeat(20_000));
        for (answers, expected) in [
            (vec![&b"SSH-2.0-OpenSSH\r\n\r\n"[..]], "not valid HTTP"),
            (
                vec![b"HTTP/1.1 200 OK\r\n\r\n\x16\x03"],
                "2 bytes came after the answer",
            ),
            (
                vec![b"HTTP/1.1 200 OK\r\n"],
                "closed the connection in the middle of its answer",
            ),
            (vec![], "closed the connection without answering"),
            (vec![huge.as_bytes()], "larger than 16 KiB"),
        ] {
            let mut t = tunnel("http://proxy", "h", 1);
            match failure(run(&mut t, &mut Scripted::new(&answers), 50)) {
                ProxyFailure::Protocol(why) => assert!(why.contains(expected), "{why}"),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn socks5_sends_the_address_or_for_socks5h_the_name() {
        for (proxy, host, request) in [
            (
                "socks5://p",
                "127.0.0.1",
                &[5u8, 1, 0, 1, 127, 0, 0, 1, 0x1f, 0x90][..],
            ),
            (
                "socks5h://p",
                "127.0.0.1",
                &[5, 1, 0, 1, 127, 0, 0, 1, 0x1f, 0x90],
            ),
            (
                "socks5h://p",
                "ab.c",
                &[5, 1, 0, 3, 4, b'a', b'b', b'.', b'c', 0x1f, 0x90],
            ),
            (
                "socks5://p",
                "::1",
                &[
                    5, 1, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x1f, 0x90,
                ],
            ),
        ] {
            let mut t = tunnel(proxy, host, 8080);
            // The reply binds a name, arriving one byte at a time.
            let reply: Vec<&[u8]> = vec![&[5, 0], &[5], &[0], &[0], &[3], &[2], b"x", b"y", &[0], &[1]];
            let mut stream = Scripted::new(&reply);
            assert_eq!(run(&mut t, &mut stream, 20), Ok(true), "{proxy} {host}");
            assert_eq!(
                &stream.written[..3],
                &[5, 1, 0],
                "the greeting offers no authentication"
            );
            assert_eq!(&stream.written[3..], request, "{proxy} {host}");
        }
    }

    #[test]
    fn socks5_reads_nothing_past_the_reply() {
        let mut t = tunnel("socks5://p", "127.0.0.1", 1);
        let mut stream = Scripted::new(&[&[5, 0, 5, 0, 0, 1, 10, 0, 0, 1, 0, 80, 0x16, 0x03]]);
        assert_eq!(run(&mut t, &mut stream, 5), Ok(true));
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, [0x16, 0x03], "the tunnel's first bytes are left for TLS");
    }

    #[test]
    fn socks5_authenticates_with_the_urls_user_and_password() {
        let mut t = tunnel("socks5://user:p%40ss@p", "127.0.0.1", 1);
        let mut stream = Scripted::new(&[&[5, 2], &[1, 0], &[5, 0, 0, 1, 0, 0, 0, 0, 0, 0]]);
        assert_eq!(run(&mut t, &mut stream, 10), Ok(true));
        let mut expected = vec![5, 2, 0, 2, 1, 4];
        expected.extend_from_slice(b"user");
        expected.push(4);
        expected.extend_from_slice(b"p@ss");
        expected.extend_from_slice(&[5, 1, 0, 1, 127, 0, 0, 1, 0, 1]);
        assert_eq!(stream.written, expected);
    }

    #[test]
    fn socks5_refusals_say_which() {
        for (proxy, answers, expected) in [
            (
                "socks5://p",
                vec![&[5u8, 0xFF][..]],
                ProxyFailure::AuthenticationRequired,
            ),
            (
                "socks5://u:p@p",
                vec![&[5, 2], &[1, 1]],
                ProxyFailure::CredentialsRejected,
            ),
            (
                "socks5://p",
                vec![&[5, 0], &[5, 5, 0, 1]],
                ProxyFailure::SocksReply(5),
            ),
            (
                "socks5://p",
                vec![&[5, 0], &[5, 2, 0, 1]],
                ProxyFailure::SocksReply(2),
            ),
        ] {
            let mut t = tunnel(proxy, "127.0.0.1", 1);
            assert_eq!(failure(run(&mut t, &mut Scripted::new(&answers), 10)), expected);
        }
        for (proxy, answers, expected) in [
            ("socks5://p", vec![&b"HTTP/1.1 400"[..]], "not a SOCKS5 proxy"),
            ("socks5://p", vec![&[5, 2]], "method 2, which was not offered"),
            ("socks5://u:p@p", vec![&[5, 0xFF]], "accepts neither"),
            ("socks5://u:p@p", vec![&[5, 2], &[5, 0]], "version 5, not 1"),
            (
                "socks5://p",
                vec![&[5, 0], &[5, 0, 0, 9]],
                "unknown address type 9",
            ),
            (
                "socks5://p",
                vec![&[5, 0], &[5, 0, 0, 1, 1]],
                "in the middle of its answer",
            ),
        ] {
            let mut t = tunnel(proxy, "127.0.0.1", 1);
            match failure(run(&mut t, &mut Scripted::new(&answers), 10)) {
                ProxyFailure::Protocol(why) => assert!(why.contains(expected), "{why}"),
                other => panic!("{other:?}"),
            }
        }
        let long = "x".repeat(256);
        let proxy = url::parse("socks5h://p").unwrap();
        match ProxyTunnel::new(&proxy, &Destination::new(&long, 1)) {
            Err(FailureCause::Proxy {
                proxy,
                failure: ProxyFailure::Protocol(why),
            }) => assert!(
                proxy == "socks5h://p:1080" && why.contains("longer than 255"),
                "{why}"
            ),
            other => panic!("{other:?}"),
        }
    }
}
