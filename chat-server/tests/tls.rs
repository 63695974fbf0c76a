//! `--tls-cert` and `--tls-key`: the chat over `wss://` and the pages over `https://`, with a
//! certificate made at test time (rcgen) that twinsock's native client is told to trust.

mod common;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::chat_server::ChatServer;
use common::{expect_failure, opened, text, WAIT};
use futures::executor::block_on;
use twinsock::{Socket, WebSocketBuilder};

/// A self-signed certificate for 127.0.0.1 and localhost, as PEM files in a directory of its
/// own (removed when dropped), and as DER for the client.
struct TestCertificate {
    dir: PathBuf,
    der: Vec<u8>,
}

impl TestCertificate {
    fn new(name: &str) -> Self {
        let certified =
            rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()])
                .expect("generate a certificate");
        let dir = std::env::temp_dir().join(format!("chat-server-tls-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("cert.pem"), certified.cert.pem()).unwrap();
        std::fs::write(dir.join("key.pem"), certified.signing_key.serialize_pem()).unwrap();
        Self {
            dir,
            der: certified.cert.der().to_vec(),
        }
    }

    fn path(&self, file: &str) -> String {
        self.dir.join(file).display().to_string()
    }
}

impl Drop for TestCertificate {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn native_clients_chat_over_wss_with_a_trusted_certificate() {
    let certificate = TestCertificate::new("chat");
    let server = ChatServer::start(&[
        "--tls-cert",
        &certificate.path("cert.pem"),
        "--tls-key",
        &certificate.path("key.pem"),
    ]);
    assert_eq!(server.scheme, "https");
    let url = server.url("/ws");
    assert!(url.starts_with("wss://"), "{url}");
    let clients: Vec<_> = (0..2)
        .map(|_| {
            let socket = WebSocketBuilder::new(&url)
                .add_root_certificate(certificate.der.clone())
                .open()
                .unwrap();
            block_on(opened(&socket));
            socket
        })
        .collect();
    clients[0].send_text("over wss").unwrap();
    for client in &clients {
        assert_eq!(block_on(text(client)), "over wss");
    }
    // The page's own origin over https is allowed to upgrade.
    let from_page = WebSocketBuilder::new(&url)
        .add_root_certificate(certificate.der.clone())
        .origin(server.origin())
        .open()
        .unwrap();
    block_on(opened(&from_page));
    assert!(server.origin().starts_with("https://"));
    // A client that does not trust the certificate fails, and the chat goes on.
    let untrusting = WebSocketBuilder::new(&url).open().unwrap();
    block_on(expect_failure(&untrusting, 1006));
    clients[1].send_text("still here").unwrap();
    assert_eq!(block_on(text(&clients[0])), "still here");
}

#[test]
fn plain_http_to_a_tls_server_is_dropped_and_served_pages_come_over_https() {
    let certificate = TestCertificate::new("http");
    let server = ChatServer::start(&[
        "--tls-cert",
        &certificate.path("cert.pem"),
        "--tls-key",
        &certificate.path("key.pem"),
    ]);
    let mut plain = common::chat_server::tcp(server.port);
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(
        !answer.starts_with(b"HTTP/"),
        "a plain HTTP answer from the TLS port"
    );
    // openssl's client as an independent TLS peer: HTTP/1.1 over TLS answers 404 for a
    // missing file.
    let mut openssl = Command::new("openssl")
        .args([
            "s_client",
            "-quiet",
            "-connect",
            &format!("127.0.0.1:{}", server.port),
            "-alpn",
            "http/1.1",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl (Debian's openssl package)");
    openssl
        .stdin
        .take()
        .unwrap()
        .write_all(b"GET /no-such-file HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let (done, wait) = std::sync::mpsc::channel();
    let mut stdout = openssl.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut answer = String::new();
        let _ = stdout.read_to_string(&mut answer);
        let _ = done.send(answer);
    });
    let answer = wait.recv_timeout(WAIT);
    let _ = openssl.kill();
    let _ = openssl.wait();
    let answer = answer.expect("openssl got no answer in time");
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer:?}");
}

#[test]
fn unreadable_or_mismatched_tls_files_are_a_clear_error_at_start() {
    let certificate = TestCertificate::new("bad");
    let other = TestCertificate::new("other");
    let exe = env!("CARGO_BIN_EXE_chat-server");
    let (cert, key, cert_as_key, other_key) = (
        certificate.path("cert.pem"),
        certificate.path("key.pem"),
        certificate.path("cert.pem"),
        other.path("key.pem"),
    );
    let cases = [
        (
            vec!["--tls-cert", "/no/such/cert.pem", "--tls-key", &key],
            "--tls-cert",
        ),
        (vec!["--tls-cert", &cert, "--tls-key", &cert_as_key], "--tls-key"),
        (
            vec!["--tls-cert", &cert, "--tls-key", &other_key],
            "cannot be used",
        ),
        (vec!["--tls-cert", &cert], "go together"),
    ];
    for (args, expected) in cases {
        let output = Command::new(exe)
            .args(["--listen", "127.0.0.1:0"])
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}: it must not start listening");
    }
}
