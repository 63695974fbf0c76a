//! Native only: what the native backend reads from the environment, as a browser reads the
//! system's settings: the proxy variables (`HTTPS_PROXY`, `http_proxy`, `ALL_PROXY`,
//! `NO_PROXY`...) and the trust store's (`SSL_CERT_FILE`, `SSL_CERT_DIR`).
//!
//! Environment variables belong to the whole process, and the trust store is read once per
//! process, so each case runs in a process of its own: the test starts the servers, then runs
//! this binary again for just itself with the variables set (and the ones this process has
//! removed), and checks what the servers saw once it has exited.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::fs::File;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::{opened, text, until_close};
use futures::executor::block_on;
use twinsock::rustls::pki_types::pem::PemObject;
use twinsock::rustls::pki_types::CertificateDer;
use twinsock::{Event, FailureCause, ProxyFailure, Socket, TlsRoots, WebSocket, WebSocketBuilder};
use twinsock_test_server::{CaFiles, Options, ProxyKind, ProxyServer, TestServer, TunnelRecord};

/// Every variable the cases set, removed from what a child inherits.
const VARIABLES: [&str; 12] = [
    "https_proxy",
    "HTTPS_PROXY",
    "http_proxy",
    "HTTP_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "TWINSOCK_CHILD",
    "TWINSOCK_CHILD_ARGS",
];
/// How long a child may run.
const CHILD_LIMIT: Duration = Duration::from_secs(60);

/// The parent's test server, and the CA's files.
fn server() -> &'static (TestServer, CaFiles) {
    static SERVER: OnceLock<(TestServer, CaFiles)> = OnceLock::new();
    SERVER.get_or_init(|| {
        let server = TestServer::start(Options::default()).expect("start the test server");
        let files = server
            .write_ca_files(&std::env::temp_dir())
            .expect("write the CA's files");
        (server, files)
    })
}

/// The arguments a parent hands its child, by name.
struct ChildArgs(Vec<(String, String)>);

impl ChildArgs {
    fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .unwrap_or_else(|| panic!("no argument {name}"))
    }

    /// The test CA's certificate, from the file the parent named.
    fn ca_der(&self) -> Vec<u8> {
        CertificateDer::from_pem_file(self.get("ca"))
            .expect("the CA's PEM file")
            .to_vec()
    }
}

/// In the child that runs `test`, the arguments its parent passed.
fn child_args(test: &str) -> Option<ChildArgs> {
    if std::env::var("TWINSOCK_CHILD").ok()? != test {
        return None;
    }
    let args = std::env::var("TWINSOCK_CHILD_ARGS").unwrap_or_default();
    let args = args
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    Some(ChildArgs(args))
}

/// Runs `test` again in a process of its own with exactly the variables `vars` of
/// [`VARIABLES`] set, handing it `args` (and `ca`, the test CA's file); fails unless it
/// passes.
fn run_child(test: &str, vars: &[(&str, String)], args: &[(&str, String)]) {
    let log_path = std::env::temp_dir().join(format!("twinsock-env-{}-{test}.log", std::process::id()));
    let log = File::create(&log_path).expect("a log file for the child");
    let mut command = Command::new(std::env::current_exe().expect("this test binary"));
    command
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("the log file"))
        .stderr(log);
    for name in VARIABLES {
        command.env_remove(name);
    }
    command.envs(vars.iter().map(|(name, value)| (*name, value.as_str())));
    let ca = ("ca", server().1.ca.display().to_string());
    let args: Vec<String> = args
        .iter()
        .chain([&ca])
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    command
        .env("TWINSOCK_CHILD", test)
        .env("TWINSOCK_CHILD_ARGS", args.join("\n"));
    let mut child = command.spawn().expect("run the child");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("the child's status") {
            break status;
        }
        if started.elapsed() > CHILD_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the child for {test} ran longer than {CHILD_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = std::fs::read_to_string(&log_path).unwrap_or_default();
    let _ = std::fs::remove_file(&log_path);
    assert!(
        status.success() && output.contains("test result: ok. 1 passed"),
        "the child for {test} with {vars:?} failed ({status}):\n{output}"
    );
}

fn ws_url(path: &str) -> String {
    format!("ws://{}{path}", server().0.ws)
}

/// The CA-issued listener's URL, by name.
fn ca_url(path: &str) -> String {
    format!("wss://localhost:{}{path}", server().0.ca_wss.port())
}

fn http_proxy() -> ProxyServer {
    ProxyServer::start(ProxyKind::Http, SocketAddr::from(([127, 0, 0, 1], 0)), None).expect("a proxy")
}

fn socks5_proxy() -> ProxyServer {
    ProxyServer::start(ProxyKind::Socks5, SocketAddr::from(([127, 0, 0, 1], 0)), None).expect("a proxy")
}

fn targets(proxy: &ProxyServer) -> Vec<String> {
    proxy
        .log()
        .into_iter()
        .map(|TunnelRecord { target, .. }| target)
        .collect()
}

/// Opens, echoes a message and closes cleanly.
async fn echo(builder: WebSocketBuilder) {
    let socket = builder.open().unwrap();
    opened(&socket).await;
    socket.send_text("hello").unwrap();
    assert_eq!(text(&socket).await, "hello");
    socket.close(Some(1000), None).unwrap();
    assert!(until_close(&socket).await.1.was_clean);
}

/// The error event's cause and the close code of a connection that fails.
async fn failure(builder: WebSocketBuilder) -> (FailureCause, u16) {
    let socket: WebSocket = builder.open().unwrap();
    let (seen, close) = until_close(&socket).await;
    match seen.as_slice() {
        [Event::Error(cause)] => (cause.clone(), close.code),
        other => panic!("expected one error event, got {other:?}"),
    }
}

// ---- Proxies ----

#[test]
fn https_proxy_takes_ws_and_wss_through_the_proxy() {
    const TEST: &str = "https_proxy_takes_ws_and_wss_through_the_proxy";
    if let Some(args) = child_args(TEST) {
        return block_on(async {
            echo(WebSocketBuilder::new(args.get("ws"))).await;
            echo(WebSocketBuilder::new(args.get("wss")).add_root_certificate(args.ca_der())).await;
        });
    }
    for variable in ["HTTPS_PROXY", "https_proxy"] {
        let proxy = http_proxy();
        let args = [("ws", ws_url("/echo")), ("wss", ca_url("/echo"))];
        run_child(TEST, &[(variable, proxy.url(None))], &args);
        let wss = format!("localhost:{}", server().0.ca_wss.port());
        assert_eq!(targets(&proxy), [server().0.ws.to_string(), wss], "{variable}");
    }
}

#[test]
fn http_proxy_is_read_in_lower_case_only() {
    const TEST: &str = "http_proxy_is_read_in_lower_case_only";
    if let Some(args) = child_args(TEST) {
        return block_on(echo(WebSocketBuilder::new(args.get("ws"))));
    }
    let lower = http_proxy();
    run_child(
        TEST,
        &[("http_proxy", lower.url(None))],
        &[("ws", ws_url("/echo"))],
    );
    assert_eq!(targets(&lower).len(), 1);
    let upper = http_proxy();
    run_child(
        TEST,
        &[("HTTP_PROXY", upper.url(None))],
        &[("ws", ws_url("/echo"))],
    );
    assert_eq!(
        targets(&upper),
        Vec::<String>::new(),
        "HTTP_PROXY is ignored, as curl ignores it"
    );
}

#[test]
fn the_https_proxy_comes_before_the_http_proxy_and_all_proxy() {
    const TEST: &str = "the_https_proxy_comes_before_the_http_proxy_and_all_proxy";
    if let Some(args) = child_args(TEST) {
        return block_on(echo(WebSocketBuilder::new(args.get("ws"))));
    }
    let (https, http, all) = (http_proxy(), http_proxy(), http_proxy());
    let vars = [
        ("HTTPS_PROXY", https.url(None)),
        ("http_proxy", http.url(None)),
        ("ALL_PROXY", all.url(None)),
    ];
    run_child(TEST, &vars, &[("ws", ws_url("/echo"))]);
    assert_eq!(
        (targets(&https).len(), targets(&http).len(), targets(&all).len()),
        (1, 0, 0)
    );
    run_child(TEST, &vars[1..], &[("ws", ws_url("/echo"))]);
    assert_eq!((targets(&http).len(), targets(&all).len()), (1, 0));
}

#[test]
fn all_proxy_names_a_socks5_proxy() {
    const TEST: &str = "all_proxy_names_a_socks5_proxy";
    if let Some(args) = child_args(TEST) {
        return block_on(echo(WebSocketBuilder::new(args.get("ws"))));
    }
    // socks5h:// hands the proxy the name; socks5:// an address (resolving a name here is
    // tested in tests/proxy.rs).
    let by_name = format!("localhost:{}", server().0.ws.port());
    for (variable, scheme, target) in [
        ("ALL_PROXY", "socks5h", by_name),
        ("all_proxy", "socks5", server().0.ws.to_string()),
    ] {
        let proxy = socks5_proxy();
        let url = format!("{scheme}://{}", proxy.address);
        run_child(TEST, &[(variable, url)], &[("ws", format!("ws://{target}/echo"))]);
        assert_eq!(targets(&proxy), [target], "{variable}={scheme}://");
    }
}

#[test]
fn no_proxy_lists_the_hosts_reached_directly() {
    const TEST: &str = "no_proxy_lists_the_hosts_reached_directly";
    if let Some(args) = child_args(TEST) {
        return block_on(async {
            echo(WebSocketBuilder::new(args.get("ws"))).await;
            echo(WebSocketBuilder::new(args.get("by_name"))).await;
        });
    }
    let port = server().0.ws.port();
    let args = [
        ("ws", ws_url("/echo")),
        ("by_name", format!("ws://localhost:{port}/echo")),
    ];
    for (variable, list, proxied) in [
        ("NO_PROXY", "127.0.0.1,localhost", 0),
        ("no_proxy", "127.0.0.0/8, .localhost", 0),
        ("NO_PROXY", "localhost", 1),
        ("NO_PROXY", "other.test", 2),
        ("NO_PROXY", "*", 0),
    ] {
        let proxy = http_proxy();
        run_child(
            TEST,
            &[("HTTPS_PROXY", proxy.url(None)), (variable, list.into())],
            &args,
        );
        assert_eq!(targets(&proxy).len(), proxied, "{variable}={list}");
    }
}

#[test]
fn an_unusable_proxy_variable_fails_the_connection_with_1006() {
    const TEST: &str = "an_unusable_proxy_variable_fails_the_connection_with_1006";
    if let Some(args) = child_args(TEST) {
        return block_on(async {
            match failure(WebSocketBuilder::new(args.get("ws"))).await {
                (
                    FailureCause::Proxy {
                        proxy,
                        failure: ProxyFailure::InvalidSetting(why),
                    },
                    1006,
                ) => {
                    assert_eq!(proxy, "HTTPS_PROXY");
                    assert!(why.contains("SOCKS4") && !why.contains("secret"), "{why}");
                }
                other => panic!("{other:?}"),
            }
        });
    }
    run_child(
        TEST,
        &[("HTTPS_PROXY", "socks4://user:secret@127.0.0.1:1".into())],
        &[("ws", ws_url("/echo"))],
    );
}

#[test]
fn a_dead_proxy_from_the_environment_fails_with_1006() {
    const TEST: &str = "a_dead_proxy_from_the_environment_fails_with_1006";
    if let Some(args) = child_args(TEST) {
        return block_on(async {
            let (cause, code) = failure(WebSocketBuilder::new(args.get("ws"))).await;
            assert_eq!(code, 1006);
            assert_eq!(
                cause.io_error_kind(),
                Some(std::io::ErrorKind::ConnectionRefused),
                "{cause}"
            );
            assert!(matches!(cause, FailureCause::Proxy { .. }), "{cause:?}");
        });
    }
    let dead = format!("http://{}", server().0.closed);
    run_child(TEST, &[("HTTPS_PROXY", dead)], &[("ws", ws_url("/echo"))]);
}

#[test]
fn the_builders_proxy_options_override_the_environment() {
    const TEST: &str = "the_builders_proxy_options_override_the_environment";
    if let Some(args) = child_args(TEST) {
        return block_on(async {
            // The environment's proxy is dead: `without_proxy` does not use it...
            echo(WebSocketBuilder::new(args.get("ws")).without_proxy()).await;
            // ... and an explicit proxy replaces it, NO_PROXY notwithstanding.
            echo(WebSocketBuilder::new(args.get("ws")).proxy(args.get("proxy"))).await;
        });
    }
    let proxy = http_proxy();
    let vars = [
        ("HTTPS_PROXY", format!("http://{}", server().0.closed)),
        ("NO_PROXY", "other.test".to_string()),
    ];
    run_child(
        TEST,
        &vars,
        &[("ws", ws_url("/echo")), ("proxy", proxy.url(None))],
    );
    assert_eq!(targets(&proxy).len(), 1);
}

// ---- Trust ----

#[test]
fn ssl_cert_file_alone_makes_the_system_store_trust_the_test_ca() {
    const TEST: &str = "ssl_cert_file_alone_makes_the_system_store_trust_the_test_ca";
    if let Some(args) = child_args(TEST) {
        return block_on(async {
            // No extra root: the bundle SSL_CERT_FILE names is the system's trust store.
            echo(WebSocketBuilder::new(args.get("wss"))).await;
            match failure(WebSocketBuilder::new(args.get("wss")).tls_roots(TlsRoots::WebPki)).await {
                (FailureCause::Tls(why), 1006) => assert!(why.contains("UnknownIssuer"), "{why}"),
                other => panic!("{other:?}"),
            }
        });
    }
    let bundle = server().1.ca.display().to_string();
    run_child(TEST, &[("SSL_CERT_FILE", bundle)], &[("wss", ca_url("/echo"))]);
}

#[test]
fn ssl_cert_dir_is_read_too() {
    const TEST: &str = "ssl_cert_dir_is_read_too";
    if let Some(args) = child_args(TEST) {
        return block_on(echo(WebSocketBuilder::new(args.get("wss"))));
    }
    let dir = std::env::temp_dir().join(format!("twinsock-env-{}-certs", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(&server().1.ca, dir.join("test-ca.pem")).unwrap();
    run_child(
        TEST,
        &[("SSL_CERT_DIR", dir.display().to_string())],
        &[("wss", ca_url("/echo"))],
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn without_the_variables_the_system_store_does_not_hold_the_test_ca() {
    const TEST: &str = "without_the_variables_the_system_store_does_not_hold_the_test_ca";
    if let Some(args) = child_args(TEST) {
        return block_on(async {
            match failure(WebSocketBuilder::new(args.get("wss"))).await {
                (FailureCause::Tls(why), 1006) => assert!(why.contains("UnknownIssuer"), "{why}"),
                other => panic!("{other:?}"),
            }
            // An extra root is trusted on top of the system's.
            echo(WebSocketBuilder::new(args.get("wss")).add_root_certificate(args.ca_der())).await;
        });
    }
    run_child(TEST, &[], &[("wss", ca_url("/echo"))]);
}

#[test]
fn an_ssl_cert_file_without_certificates_fails_wss_but_not_ws() {
    const TEST: &str = "an_ssl_cert_file_without_certificates_fails_wss_but_not_ws";
    if let Some(args) = child_args(TEST) {
        return block_on(async {
            match failure(WebSocketBuilder::new(args.get("wss"))).await {
                (FailureCause::Tls(why), 1006) => {
                    assert!(
                        why.contains("no root certificate could be loaded from SSL_CERT_FILE="),
                        "{why}"
                    )
                }
                other => panic!("{other:?}"),
            }
            echo(WebSocketBuilder::new(args.get("ws"))).await;
        });
    }
    let missing = std::env::temp_dir().join("twinsock-env-no-such-bundle.pem");
    let args = [("wss", ca_url("/echo")), ("ws", ws_url("/echo"))];
    run_child(TEST, &[("SSL_CERT_FILE", missing.display().to_string())], &args);
}
