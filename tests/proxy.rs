//! Native only: connections through proxies set with `WebSocketBuilder::proxy`, against the
//! test server's own HTTP and SOCKS5 proxies (each test starts its own, so that its log holds
//! that test's tunnels alone), and every way a proxy can fail. The proxies the environment
//! names are tested in `tests/environment.rs` (environment variables are process-wide).
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::time::{Duration, Instant};

use common::{opened, server, text, until_close, ws, WAIT};
use futures::executor::block_on;
use twinsock::{Error, Event, FailureCause, Message, ProxyFailure, Socket, WebSocket, WebSocketBuilder};
use twinsock_test_server::{Options, ProxyCredentials, ProxyKind, ProxyServer, TestServer, TunnelRecord};

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn start(kind: ProxyKind, credentials: Option<ProxyCredentials>) -> ProxyServer {
    ProxyServer::start(kind, loopback(), credentials).expect("start a proxy")
}

fn credentials() -> ProxyCredentials {
    ProxyCredentials {
        user: "twinsock".into(),
        password: "p@ss:word/1".into(),
    }
}

/// Sends a message and expects it back, then closes cleanly.
async fn echo_and_close(socket: &WebSocket) {
    socket.send_text("through the tunnel").unwrap();
    assert_eq!(text(socket).await, "through the tunnel");
    socket.close(Some(1000), None).unwrap();
    assert!(until_close(socket).await.1.was_clean);
}

/// The error event's cause and the close code of a connection that fails.
async fn failure(socket: &WebSocket) -> (FailureCause, u16) {
    let (seen, close) = until_close(socket).await;
    assert!(!close.was_clean);
    match seen.as_slice() {
        [Event::Error(cause)] => (cause.clone(), close.code),
        other => panic!("expected one error event, got {other:?}"),
    }
}

/// The proxy's failure, for the proxy `label`, of a connection that fails with 1006.
async fn proxy_failure(socket: &WebSocket, label: &str) -> ProxyFailure {
    match failure(socket).await {
        (FailureCause::Proxy { proxy, failure }, 1006) => {
            assert_eq!(proxy, label);
            failure
        }
        other => panic!("expected a proxy failure, got {other:?}"),
    }
}

fn record(proxy: &ProxyServer) -> TunnelRecord {
    match proxy.log().as_slice() {
        [one] => one.clone(),
        other => panic!("expected one tunnel, got {other:?}"),
    }
}

#[test]
fn an_http_proxy_tunnels_ws_to_the_server() {
    let proxy = start(ProxyKind::Http, None);
    block_on(async {
        let socket = WebSocketBuilder::new(ws("/echo"))
            .proxy(proxy.url(None))
            .open()
            .unwrap();
        opened(&socket).await;
        echo_and_close(&socket).await;
    });
    let tunnel = record(&proxy);
    assert_eq!(
        (tunnel.target.as_str(), tunnel.outcome.as_str()),
        (server().ws.as_str(), "200")
    );
    assert_eq!(tunnel.user, None);
}

#[test]
fn an_http_proxy_carries_wss_with_tls_end_to_end_offering_http_1_1() {
    let proxy = start(ProxyKind::Http, None);
    let test_server = TestServer::start(Options::default()).unwrap();
    block_on(async {
        // The server prefers h2; the client offers only http/1.1, as Chromium's WebSocket does.
        let socket = WebSocketBuilder::new(format!("wss://localhost:{}/tls", test_server.ca_wss.port()))
            .add_root_certificate(test_server.ca_der.clone())
            .proxy(proxy.url(None))
            .open()
            .unwrap();
        opened(&socket).await;
        assert_eq!(text(&socket).await, "alpn=http/1.1 client_certificates=0");
        echo_and_close(&socket).await;
    });
    // The proxy was asked for the server by name (it resolves it) and saw only TLS after.
    assert_eq!(
        record(&proxy).target,
        format!("localhost:{}", test_server.ca_wss.port())
    );
    test_server.stop();
}

#[test]
fn http_proxy_credentials_go_as_basic_authorization() {
    let proxy = start(ProxyKind::Http, Some(credentials()));
    block_on(async {
        let url = proxy.url(Some(&credentials()));
        assert!(url.contains("p%40ss%3Aword%2F1@"), "{url}");
        let socket = WebSocketBuilder::new(ws("/echo")).proxy(url).open().unwrap();
        opened(&socket).await;
        echo_and_close(&socket).await;
    });
    let tunnel = record(&proxy);
    assert_eq!(
        (tunnel.user.as_deref(), tunnel.outcome.as_str()),
        (Some("twinsock"), "200")
    );
}

#[test]
fn an_http_proxy_that_wants_credentials_fails_with_407_and_1006() {
    let proxy = start(ProxyKind::Http, Some(credentials()));
    let wrong = ProxyCredentials {
        user: "twinsock".into(),
        password: "wrong".into(),
    };
    for url in [proxy.url(None), proxy.url(Some(&wrong))] {
        block_on(async {
            let socket = WebSocketBuilder::new(ws("/echo")).proxy(url).open().unwrap();
            let label = format!("http://{}", proxy.address);
            let failure = proxy_failure(&socket, &label).await;
            assert_eq!(
                failure,
                ProxyFailure::Status {
                    code: 407,
                    reason: "Proxy Authentication Required".into()
                }
            );
            let cause = FailureCause::Proxy {
                proxy: label.clone(),
                failure,
            };
            assert_eq!(
                cause.to_string(),
                format!("the proxy {label} refused the tunnel: HTTP 407 Proxy Authentication Required")
            );
        });
    }
    assert!(proxy.log().iter().all(|tunnel| tunnel.outcome == "407"));
}

#[test]
fn an_http_proxy_that_forbids_the_destination_fails_with_403() {
    let proxy = start(ProxyKind::Http, None);
    block_on(async {
        // The proxy tunnels to loopback only: it refuses before reaching out anywhere.
        let socket = WebSocketBuilder::new("ws://192.0.2.1/echo")
            .proxy(proxy.url(None))
            .open()
            .unwrap();
        let failure = proxy_failure(&socket, &format!("http://{}", proxy.address)).await;
        assert!(
            matches!(failure, ProxyFailure::Status { code: 403, .. }),
            "{failure:?}"
        );
    });
    assert_eq!(record(&proxy).target, "192.0.2.1:80");
}

#[test]
fn an_http_proxy_that_cannot_reach_the_server_fails_with_502() {
    let proxy = start(ProxyKind::Http, None);
    block_on(async {
        let socket = WebSocketBuilder::new(format!("ws://{}/", server().closed))
            .proxy(proxy.url(None))
            .open()
            .unwrap();
        let failure = proxy_failure(&socket, &format!("http://{}", proxy.address)).await;
        assert!(
            matches!(failure, ProxyFailure::Status { code: 502, .. }),
            "{failure:?}"
        );
    });
}

#[test]
fn a_dead_proxy_fails_as_unreachable_with_1006() {
    block_on(async {
        for scheme in ["http", "socks5", "socks5h"] {
            let label = format!("{scheme}://{}", server().closed);
            let socket = WebSocketBuilder::new(ws("/echo"))
                .proxy(label.clone())
                .open()
                .unwrap();
            let failure = proxy_failure(&socket, &label).await;
            match &failure {
                ProxyFailure::Unreachable(why) => {
                    assert_eq!(why.kind(), std::io::ErrorKind::ConnectionRefused, "{scheme}")
                }
                other => panic!("{other:?}"),
            }
            let cause = FailureCause::Proxy {
                proxy: label.clone(),
                failure,
            };
            assert_eq!(cause.io_error_kind(), Some(std::io::ErrorKind::ConnectionRefused));
            assert!(cause
                .to_string()
                .starts_with(&format!("could not reach the proxy {label}: ")));
        }
    });
}

#[test]
fn a_silent_proxy_is_bounded_by_the_connect_timeout() {
    // Accepts, and never answers the CONNECT or the SOCKS5 greeting.
    let silent = TcpListener::bind(loopback()).unwrap();
    let address = silent.local_addr().unwrap();
    block_on(async {
        for scheme in ["http", "socks5"] {
            let started = Instant::now();
            let socket = WebSocketBuilder::new(ws("/echo"))
                .proxy(format!("{scheme}://{address}"))
                .connect_timeout(Duration::from_millis(300))
                .open()
                .unwrap();
            assert_eq!(failure(&socket).await, (FailureCause::ConnectTimeout, 1006));
            let took = started.elapsed();
            assert!(took >= Duration::from_millis(300) && took < WAIT, "{took:?}");
        }
    });
    drop(silent);
}

#[test]
fn closing_while_the_proxy_tunnels_abandons_the_attempt() {
    let silent = TcpListener::bind(loopback()).unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    block_on(async {
        let socket = WebSocketBuilder::new(ws("/echo")).proxy(url).open().unwrap();
        // Once the CONNECT has arrived the client is waiting for the proxy's answer.
        let (mut held, _) = silent.accept().unwrap();
        held.set_read_timeout(Some(WAIT)).unwrap();
        let mut request = Vec::new();
        let mut chunk = [0u8; 512];
        while !request.ends_with(b"\r\n\r\n") {
            let n = std::io::Read::read(&mut held, &mut chunk).expect("the CONNECT request");
            assert!(n > 0, "the client closed before sending its request");
            request.extend_from_slice(&chunk[..n]);
        }
        assert!(request.starts_with(b"CONNECT "));
        socket.close(Some(1000), None).unwrap();
        assert_eq!(failure(&socket).await, (FailureCause::Aborted, 1006));
    });
}

#[test]
fn socks5_resolves_the_name_here_and_gives_the_proxy_the_address() {
    // A server on the address "localhost" resolves to first here, which the proxy is given.
    let first = ("localhost", 0).to_socket_addrs().unwrap().next().unwrap();
    let options = Options {
        ws: SocketAddr::new(first.ip(), 0),
        wss: SocketAddr::new(first.ip(), 0),
        ..Options::default()
    };
    let test_server = TestServer::start(options).unwrap();
    let proxy = start(ProxyKind::Socks5, None);
    block_on(async {
        let socket = WebSocketBuilder::new(format!("ws://localhost:{}/echo", test_server.ws.port()))
            .proxy(proxy.url(None))
            .open()
            .unwrap();
        opened(&socket).await;
        echo_and_close(&socket).await;
    });
    let tunnel = record(&proxy);
    assert_eq!(tunnel.target, test_server.ws.to_string());
    assert_eq!(tunnel.outcome, "reply 0");
    test_server.stop();
}

#[test]
fn socks5h_gives_the_proxy_the_name() {
    let proxy = start(ProxyKind::Socks5, None);
    let port = server().ws.rsplit(':').next().unwrap().to_string();
    block_on(async {
        let socket = WebSocketBuilder::new(format!("ws://localhost:{port}/echo"))
            .proxy(format!("socks5h://{}", proxy.address))
            .open()
            .unwrap();
        opened(&socket).await;
        echo_and_close(&socket).await;
    });
    assert_eq!(record(&proxy).target, format!("localhost:{port}"));
}

#[test]
fn socks5_carries_wss_and_authenticates_with_the_urls_credentials() {
    let proxy = start(ProxyKind::Socks5, Some(credentials()));
    block_on(async {
        let socket = WebSocketBuilder::new(common::wss("/echo"))
            .add_root_certificate(server().cert.clone())
            .proxy(proxy.url(Some(&credentials())))
            .open()
            .unwrap();
        opened(&socket).await;
        echo_and_close(&socket).await;
    });
    let tunnel = record(&proxy);
    assert_eq!(
        (tunnel.target.as_str(), tunnel.user.as_deref()),
        (server().wss.as_str(), Some("twinsock"))
    );
}

#[test]
fn socks5_refusals_fail_with_their_reply_and_1006() {
    let open_proxy = start(ProxyKind::Socks5, None);
    let auth_proxy = start(ProxyKind::Socks5, Some(credentials()));
    let wrong = ProxyCredentials {
        user: "twinsock".into(),
        password: "wrong".into(),
    };
    let cases = [
        // Not allowed by its rules (off loopback): reply 2.
        (
            "ws://192.0.2.1/".to_string(),
            &open_proxy,
            None,
            ProxyFailure::SocksReply(2),
        ),
        // Refused by the server: reply 5.
        (
            format!("ws://{}/", server().closed),
            &open_proxy,
            None,
            ProxyFailure::SocksReply(5),
        ),
        (
            ws("/echo"),
            &auth_proxy,
            None,
            ProxyFailure::AuthenticationRequired,
        ),
        (
            ws("/echo"),
            &auth_proxy,
            Some(&wrong),
            ProxyFailure::CredentialsRejected,
        ),
    ];
    block_on(async {
        for (url, proxy, credentials, expected) in cases {
            let socket = WebSocketBuilder::new(url)
                .proxy(proxy.url(credentials))
                .open()
                .unwrap();
            let label = format!("socks5://{}", proxy.address);
            assert_eq!(proxy_failure(&socket, &label).await, expected, "{label}");
        }
    });
    let cause = FailureCause::Proxy {
        proxy: "socks5://127.0.0.1:1080".into(),
        failure: ProxyFailure::SocksReply(2),
    };
    assert_eq!(
        cause.to_string(),
        "the proxy socks5://127.0.0.1:1080 refused the tunnel: SOCKS5 reply 2 (connection not allowed by ruleset)"
    );
}

/// A one-connection "proxy" that answers whatever it is sent with `answer`, then waits
/// (bounded) for the client to hang up.
fn answering_with(answer: &'static [u8]) -> SocketAddr {
    let listener = TcpListener::bind(loopback()).unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(WAIT)).unwrap();
        let mut chunk = [0u8; 512];
        let _ = std::io::Read::read(&mut tcp, &mut chunk);
        let _ = std::io::Write::write_all(&mut tcp, answer);
        while matches!(std::io::Read::read(&mut tcp, &mut chunk), Ok(n) if n > 0) {}
    });
    address
}

#[test]
fn a_proxy_that_is_not_one_fails_with_its_answer_or_a_protocol_cause() {
    block_on(async {
        // A WebSocket server answers a CONNECT with 404.
        let http = WebSocketBuilder::new(ws("/echo"))
            .proxy(format!("http://{}", server().ws))
            .open()
            .unwrap();
        let failure = proxy_failure(&http, &format!("http://{}", server().ws)).await;
        assert!(
            matches!(failure, ProxyFailure::Status { code: 404, .. }),
            "{failure:?}"
        );
        // An HTTP server is no SOCKS5 proxy.
        let address = answering_with(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        let socks = WebSocketBuilder::new(ws("/echo"))
            .proxy(format!("socks5://{address}"))
            .open()
            .unwrap();
        match proxy_failure(&socks, &format!("socks5://{address}")).await {
            ProxyFailure::Protocol(why) => assert!(why.contains("not a SOCKS5 proxy"), "{why}"),
            other => panic!("{other:?}"),
        }
        // Nor is something that speaks before its turn an HTTP proxy.
        let address = answering_with(b"HTTP/1.1 200 OK\r\n\r\nhello");
        let early = WebSocketBuilder::new(ws("/echo"))
            .proxy(format!("http://{address}"))
            .open()
            .unwrap();
        match proxy_failure(&early, &format!("http://{address}")).await {
            ProxyFailure::Protocol(why) => assert!(why.contains("5 bytes came after the answer"), "{why}"),
            other => panic!("{other:?}"),
        }
    });
}

#[test]
fn without_proxy_connects_directly() {
    block_on(async {
        let socket = WebSocketBuilder::new(ws("/echo")).without_proxy().open().unwrap();
        opened(&socket).await;
        socket.send(Message::Binary(vec![1, 2, 3].into())).unwrap();
        assert_eq!(
            common::next(&socket).await,
            Some(Event::Message(Message::Binary(vec![1, 2, 3].into())))
        );
    });
}

#[test]
fn an_unusable_proxy_option_is_an_error_from_open() {
    for (url, expected) in [
        ("https://user:secret@proxy:443", "HTTPS proxies"),
        ("socks4://proxy", "SOCKS4"),
        ("http://user:secret@proxy:99999", "not a number from 1 to 65535"),
        ("http://", "no host"),
    ] {
        match WebSocketBuilder::new(ws("/echo")).proxy(url).open() {
            Err(error @ Error::InvalidProxy(_)) => {
                let text = error.to_string();
                assert!(
                    text.starts_with("the proxy option is not valid: ") && text.contains(expected),
                    "{text}"
                );
                assert!(!text.contains("secret"), "{text}");
                assert_eq!(error.dom_exception(), None);
            }
            other => panic!("{url}: {other:?}"),
        }
    }
}

#[test]
fn the_builders_debug_output_hides_the_proxy_password() {
    let builder = WebSocketBuilder::new(ws("/echo")).proxy("http://user:secret@proxy:3128");
    let debug = format!("{builder:?}");
    assert!(
        !debug.contains("secret") && debug.contains("proxy:3128"),
        "{debug}"
    );
}
