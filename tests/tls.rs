//! Native only: the TLS options against the test server's CA-issued listeners: mutual TLS with
//! `client_certificate`, the application's own `tls_config`, ALPN, the web PKI roots alone,
//! and the errors for options that cannot be used. (Trust through `SSL_CERT_FILE` and
//! `SSL_CERT_DIR` is in `tests/environment.rs`: environment variables are process-wide.)
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::sync::{Arc, OnceLock};

use common::{next, opened, text, until_close};
use futures::executor::block_on;
use twinsock::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use twinsock::rustls::{self, ClientConfig, RootCertStore};
use twinsock::{Error, Event, FailureCause, Message, Socket, TlsRoots, WebSocket, WebSocketBuilder};
use twinsock_test_server::{Options, TestServer};

/// This binary's test server (with the CA-issued listeners).
fn server() -> &'static TestServer {
    static SERVER: OnceLock<TestServer> = OnceLock::new();
    SERVER.get_or_init(|| TestServer::start(Options::default()).expect("start the test server"))
}

/// `wss://127.0.0.1:PORT/tls` on the mutual TLS listener.
fn mtls_url() -> String {
    format!("wss://127.0.0.1:{}/tls", server().mtls.port())
}

/// `wss://localhost:PORT/tls` on the CA-issued listener that prefers h2.
fn ca_url() -> String {
    format!("wss://localhost:{}/tls", server().ca_wss.port())
}

fn with_client_certificate(url: String) -> WebSocketBuilder {
    let client = &server().client;
    WebSocketBuilder::new(url)
        .add_root_certificate(server().ca_der.clone())
        .client_certificate([client.cert_der.clone()], client.key_der.clone())
}

/// Reads `/tls`'s report: its text line, and the client certificate it saw, if any.
async fn tls_report(socket: &WebSocket, certificates: usize) -> (String, Option<Vec<u8>>) {
    let line = text(socket).await;
    let certificate = match certificates {
        0 => None,
        _ => match next(socket).await {
            Some(Event::Message(Message::Binary(der))) => Some(der.to_vec()),
            other => panic!("expected the client certificate, got {other:?}"),
        },
    };
    (line, certificate)
}

async fn failure(socket: &WebSocket) -> (FailureCause, u16) {
    let (seen, close) = until_close(socket).await;
    match seen.as_slice() {
        [Event::Error(cause)] => (cause.clone(), close.code),
        other => panic!("expected one error event, got {other:?}"),
    }
}

fn ring() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

#[test]
fn mutual_tls_opens_with_the_client_certificate() {
    block_on(async {
        let socket = with_client_certificate(mtls_url()).open().unwrap();
        opened(&socket).await;
        let (line, certificate) = tls_report(&socket, 1).await;
        assert_eq!(line, "alpn=none client_certificates=1");
        assert_eq!(certificate.as_deref(), Some(&server().client.cert_der[..]));
        socket.close(Some(1000), None).unwrap();
        assert!(until_close(&socket).await.1.was_clean);
    });
}

#[test]
fn mutual_tls_without_a_client_certificate_fails_with_a_tls_cause() {
    block_on(async {
        let socket = WebSocketBuilder::new(mtls_url())
            .add_root_certificate(server().ca_der.clone())
            .open()
            .unwrap();
        match failure(&socket).await {
            (FailureCause::Tls(why), 1006) => assert!(why.contains("CertificateRequired"), "{why}"),
            other => panic!("{other:?}"),
        }
    });
}

#[test]
fn mutual_tls_with_a_certificate_from_another_issuer_fails_with_a_tls_cause() {
    // A self-signed client certificate: well-formed, but not issued by the server's CA.
    let stranger = rcgen_free_self_signed();
    block_on(async {
        let socket = WebSocketBuilder::new(mtls_url())
            .add_root_certificate(server().ca_der.clone())
            .client_certificate([stranger.cert_der.clone()], stranger.key_der.clone())
            .open()
            .unwrap();
        match failure(&socket).await {
            (FailureCause::Tls(why), 1006) => assert!(why.contains("alert"), "{why}"),
            other => panic!("{other:?}"),
        }
    });
}

/// Another test server's self-signed identity: a certificate and key of no CA's.
fn rcgen_free_self_signed() -> twinsock_test_server::Identity {
    twinsock_test_server::Identity::generate(&["stranger"])
}

#[test]
fn an_own_rustls_config_with_a_client_certificate_opens_and_offers_only_http_1_1() {
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from(server().ca_der.clone())).unwrap();
    let client = &server().client;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(client.key_der.clone()));
    let mut config = ClientConfig::builder_with_provider(ring())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(vec![CertificateDer::from(client.cert_der.clone())], key)
        .unwrap();
    // Offered h2 first, which the CA-issued listener prefers: twinsock offers http/1.1 alone.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let config = Arc::new(config);
    block_on(async {
        let socket = WebSocketBuilder::new(ca_url())
            .tls_config(config.clone())
            .open()
            .unwrap();
        opened(&socket).await;
        // This listener asks for no client certificate, so none is sent.
        assert_eq!(
            tls_report(&socket, 0).await.0,
            "alpn=http/1.1 client_certificates=0"
        );
        let mutual = WebSocketBuilder::new(mtls_url())
            .tls_config(config)
            .open()
            .unwrap();
        opened(&mutual).await;
        assert_eq!(tls_report(&mutual, 1).await.0, "alpn=none client_certificates=1");
    });
}

#[test]
fn the_default_configuration_offers_http_1_1_to_a_server_that_prefers_h2() {
    block_on(async {
        let socket = WebSocketBuilder::new(ca_url())
            .add_root_certificate(server().ca_der.clone())
            .open()
            .unwrap();
        opened(&socket).await;
        assert_eq!(
            tls_report(&socket, 0).await.0,
            "alpn=http/1.1 client_certificates=0"
        );
    });
}

#[test]
fn web_pki_roots_alone_do_not_trust_the_test_ca() {
    block_on(async {
        let socket = WebSocketBuilder::new(ca_url())
            .tls_roots(TlsRoots::WebPki)
            .open()
            .unwrap();
        match failure(&socket).await {
            (FailureCause::Tls(why), 1006) => assert!(why.contains("UnknownIssuer"), "{why}"),
            other => panic!("{other:?}"),
        }
        // With the CA as an extra root they do.
        let socket = WebSocketBuilder::new(ca_url())
            .tls_roots(TlsRoots::WebPki)
            .add_root_certificate(server().ca_der.clone())
            .open()
            .unwrap();
        opened(&socket).await;
    });
}

#[test]
fn tls_options_that_cannot_be_used_are_errors_from_open() {
    let client = &server().client;
    let own = Arc::new(
        ClientConfig::builder_with_provider(ring())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(RootCertStore::empty())
            .with_no_client_auth(),
    );
    let no_chain: [Vec<u8>; 0] = [];
    let other_key = rcgen_free_self_signed().key_der;
    for (builder, expected) in [
        (
            WebSocketBuilder::new(ca_url()).add_root_certificate(b"not a certificate".to_vec()),
            "extra root certificate 1 is not valid",
        ),
        (
            WebSocketBuilder::new(ca_url()).client_certificate(no_chain, client.key_der.clone()),
            "the client certificate chain is empty",
        ),
        (
            WebSocketBuilder::new(ca_url())
                .client_certificate([client.cert_der.clone()], b"not a key".to_vec()),
            "private key is not valid",
        ),
        (
            WebSocketBuilder::new(ca_url()).client_certificate([client.cert_der.clone()], other_key),
            "the client certificate cannot be used",
        ),
        (
            WebSocketBuilder::new(ca_url())
                .tls_config(own)
                .add_root_certificate(server().ca_der.clone()),
            "tls_config is a complete configuration",
        ),
    ] {
        match builder.open() {
            Err(error @ Error::InvalidTlsOption(_)) => {
                let text = error.to_string();
                assert!(
                    text.starts_with("a TLS option is not valid: ") && text.contains(expected),
                    "{text}"
                );
                assert_eq!(error.dom_exception(), None);
            }
            other => panic!("{expected}: {other:?}"),
        }
    }
}

#[test]
fn tls_options_are_checked_for_ws_urls_too() {
    let bad =
        WebSocketBuilder::new(format!("ws://{}/echo", server().ws)).add_root_certificate(b"bad".to_vec());
    assert!(matches!(bad.open(), Err(Error::InvalidTlsOption(_))));
    block_on(async {
        let socket = with_client_certificate(format!("ws://{}/echo", server().ws))
            .open()
            .unwrap();
        opened(&socket).await;
    });
}

#[test]
fn the_builders_debug_output_leaves_the_private_key_out() {
    let builder = with_client_certificate(mtls_url());
    let debug = format!("{builder:?}");
    assert!(debug.contains("ClientCertificate"), "{debug}");
    assert!(
        !debug.contains(&format!("{:?}", server().client.key_der)),
        "{debug}"
    );
}
