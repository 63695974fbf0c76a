//! TLS for `wss://` (native): the rustls client configuration that a socket's options ask
//! for. By default the operating system's trust store, verified as the system verifies
//! (rustls-platform-verifier), as a browser does; or only the web PKI roots (webpki-roots);
//! either with the application's extra roots and client certificate; or the application's
//! own complete configuration. Always the ring provider, always ALPN `http/1.1`.
//!
//! Why rustls-platform-verifier rather than rustls-native-certs: on Linux both read the same
//! bundle (rustls-native-certs, honouring `SSL_CERT_FILE` and `SSL_CERT_DIR`) and cost the
//! same (building a verifier from Debian's 145 roots: medians of 1.9 to 5.6 ms over 20 runs
//! with either crate, on a shared 2-core machine; once per process, configurations being
//! cached); on
//! macOS, iOS and Windows only the platform verifier applies the system's own trust
//! settings (distrusted roots, enterprise policy, revocation) as browsers there do, while
//! native-certs would only copy the root list.

use std::sync::{Arc, Mutex};

use rustls::client::danger::ServerCertVerifier;
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore};

use crate::error::{Error, FailureCause, OptionError};
use crate::socket::{ClientCertificate, TlsRoots, WebSocketBuilder};

/// The only application protocol offered: the opening handshake is HTTP/1.1, and Chromium's
/// WebSocket offers exactly this.
const ALPN_HTTP_1_1: &[u8] = b"http/1.1";
/// How many configurations are kept for reuse (they hold the TLS session cache, so that
/// reconnecting resumes the session, and the loaded system roots).
const CACHED_CONFIGS: usize = 4;

/// The application's mistake, `why`.
fn invalid(why: String) -> OptionError {
    OptionError::Application(Error::InvalidTlsOption(why))
}

/// What a configuration is made from, when the application does not give its own.
#[derive(Clone, PartialEq, Eq)]
struct Wanted {
    roots: TlsRoots,
    extra_roots: Vec<Vec<u8>>,
    client: Option<ClientCertificate>,
}

/// The client configuration that `builder`'s TLS options ask for, reused while the same
/// options come again (the last few are kept).
pub(crate) fn client_config(builder: &WebSocketBuilder) -> Result<Arc<ClientConfig>, OptionError> {
    if let Some(config) = &builder.tls_config {
        return own_config(builder, config);
    }
    let wanted = Wanted {
        roots: builder.tls_roots.unwrap_or_default(),
        extra_roots: builder.root_certificates.clone(),
        client: builder.client_certificate.clone(),
    };
    static CACHE: Mutex<Vec<(Wanted, Arc<ClientConfig>)>> = Mutex::new(Vec::new());
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(at) = cache.iter().position(|(key, _)| *key == wanted) {
        let entry = cache.remove(at);
        let config = entry.1.clone();
        cache.push(entry);
        return Ok(config);
    }
    // Built under the lock: the first connections of a process wait for one load of the
    // system roots rather than each doing its own.
    let config = build(&wanted)?;
    if cache.len() == CACHED_CONFIGS {
        cache.remove(0);
    }
    cache.push((wanted, config.clone()));
    Ok(config)
}

/// Whether `builder` has any TLS option (the defaults need no checking).
pub(crate) fn has_options(builder: &WebSocketBuilder) -> bool {
    builder.tls_config.is_some()
        || builder.tls_roots.is_some()
        || !builder.root_certificates.is_empty()
        || builder.client_certificate.is_some()
}

/// The application's own configuration, offering `http/1.1` alone; it cannot be combined
/// with the options it replaces.
fn own_config(
    builder: &WebSocketBuilder,
    config: &Arc<ClientConfig>,
) -> Result<Arc<ClientConfig>, OptionError> {
    if builder.tls_roots.is_some()
        || !builder.root_certificates.is_empty()
        || builder.client_certificate.is_some()
    {
        return Err(invalid(
            "tls_config is a complete configuration: it cannot be combined with tls_roots, \
             add_root_certificate or client_certificate"
                .into(),
        ));
    }
    if config.alpn_protocols == [ALPN_HTTP_1_1] {
        return Ok(config.clone());
    }
    // The clone shares the session cache and everything else; only ALPN changes.
    let mut config = ClientConfig::clone(config);
    config.alpn_protocols = vec![ALPN_HTTP_1_1.to_vec()];
    Ok(Arc::new(config))
}

fn build(wanted: &Wanted) -> Result<Arc<ClientConfig>, OptionError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut extra_roots = Vec::with_capacity(wanted.extra_roots.len());
    for (index, der) in wanted.extra_roots.iter().enumerate() {
        let der = CertificateDer::from(der.clone());
        // Checked alone first, so that a bad one is the application's error, whatever the
        // system store holds.
        RootCertStore::empty()
            .add(der.clone())
            .map_err(|e| invalid(format!("extra root certificate {} is not valid: {e}", index + 1)))?;
        extra_roots.push(der);
    }
    let versions = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| OptionError::Host(FailureCause::Tls(e.to_string())))?;
    let verifier = match wanted.roots {
        TlsRoots::System => system_verifier(extra_roots, &provider)?,
        TlsRoots::WebPki => web_pki_verifier(extra_roots, &provider)?,
    };
    let with_verifier = versions.dangerous().with_custom_certificate_verifier(verifier);
    let mut config = match &wanted.client {
        None => with_verifier.with_no_client_auth(),
        Some(client) => {
            let (chain, key) = client_identity(client)?;
            with_verifier
                .with_client_auth_cert(chain, key)
                .map_err(|e| invalid(format!("the client certificate cannot be used: {e}")))?
        }
    };
    config.alpn_protocols = vec![ALPN_HTTP_1_1.to_vec()];
    Ok(Arc::new(config))
}

/// The client certificate chain and key in rustls' types.
fn client_identity(
    client: &ClientCertificate,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), OptionError> {
    if client.chain.is_empty() {
        return Err(invalid("the client certificate chain is empty".into()));
    }
    let chain = client.chain.iter().cloned().map(CertificateDer::from).collect();
    let key = PrivateKeyDer::try_from(client.key.clone())
        .map_err(|e| invalid(format!("the client certificate's private key is not valid: {e}")))?;
    Ok((chain, key))
}

/// The web PKI roots built into the program, and the extra roots.
fn web_pki_verifier(
    extra_roots: Vec<CertificateDer<'static>>,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, OptionError> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    // Each was checked in `build`.
    roots.add_parsable_certificates(extra_roots);
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| OptionError::Host(FailureCause::Tls(e.to_string())))?;
    Ok(verifier)
}

/// The operating system's verifier with the extra roots. A Linux host without any CA bundle
/// falls back to the web PKI roots (as a browser brings its own), unless `SSL_CERT_FILE` or
/// `SSL_CERT_DIR` says where the roots are: then finding none there is the host's error.
#[cfg(not(target_os = "android"))]
fn system_verifier(
    extra_roots: Vec<CertificateDer<'static>>,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, OptionError> {
    match rustls_platform_verifier::Verifier::new_with_extra_roots(extra_roots.clone(), provider.clone()) {
        Ok(verifier) => Ok(Arc::new(verifier)),
        Err(e) => {
            let named: Vec<String> = ["SSL_CERT_FILE", "SSL_CERT_DIR"]
                .into_iter()
                .filter_map(|name| Some(format!("{name}={:?}", std::env::var_os(name)?)))
                .collect();
            if !named.is_empty() {
                return Err(OptionError::Host(FailureCause::Tls(format!(
                    "no root certificate could be loaded from {}: {e}",
                    named.join(" and ")
                ))));
            }
            log::warn!("twinsock: the system's trust store cannot be used ({e}); using the web PKI roots");
            web_pki_verifier(extra_roots, provider)
        }
    }
}

/// On Android the system verifier needs the application's JVM (rustls-platform-verifier's
/// JNI set-up), which a library cannot do for it: the web PKI roots stand in.
#[cfg(target_os = "android")]
fn system_verifier(
    extra_roots: Vec<CertificateDer<'static>>,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, OptionError> {
    web_pki_verifier(extra_roots, provider)
}

/// A TLS client session for `host` (the server's name or IP address, even through a proxy).
pub(crate) fn client_session(
    host: &str,
    config: Arc<ClientConfig>,
) -> Result<ClientConnection, FailureCause> {
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| FailureCause::Tls(format!("{host:?} is not a valid TLS server name: {e}")))?;
    ClientConnection::new(config, name).map_err(|e| FailureCause::Tls(e.to_string()))
}

/// The TLS cause inside an I/O error, if the error came from rustls.
pub(crate) fn tls_cause(error: &std::io::Error) -> Option<FailureCause> {
    let inner = error.get_ref()?;
    inner
        .downcast_ref::<rustls::Error>()
        .map(|e| FailureCause::Tls(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn option_error(builder: WebSocketBuilder) -> String {
        match client_config(&builder) {
            Err(OptionError::Application(Error::InvalidTlsOption(why))) => why,
            Err(other) => panic!("{other:?}"),
            Ok(_) => panic!("accepted"),
        }
    }

    #[test]
    fn every_configuration_offers_http_1_1_alone() {
        let url = "wss://127.0.0.1/";
        for builder in [
            WebSocketBuilder::new(url),
            WebSocketBuilder::new(url).tls_roots(TlsRoots::WebPki),
        ] {
            assert_eq!(
                client_config(&builder).unwrap().alpn_protocols,
                [b"http/1.1".to_vec()]
            );
        }
        let mut own = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(RootCertStore::empty())
            .with_no_client_auth();
        own.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let own = Arc::new(own);
        let used = client_config(&WebSocketBuilder::new(url).tls_config(own.clone())).unwrap();
        assert_eq!(used.alpn_protocols, [b"http/1.1".to_vec()]);
        assert_eq!(
            own.alpn_protocols.len(),
            2,
            "the application's own configuration is untouched"
        );
    }

    #[test]
    fn the_same_options_reuse_one_configuration() {
        let builder = WebSocketBuilder::new("wss://127.0.0.1/").tls_roots(TlsRoots::WebPki);
        let first = client_config(&builder).unwrap();
        assert!(Arc::ptr_eq(&first, &client_config(&builder.clone()).unwrap()));
        let system = client_config(&WebSocketBuilder::new("wss://127.0.0.1/")).unwrap();
        assert!(!Arc::ptr_eq(&first, &system));
    }

    #[test]
    fn bad_certificates_and_keys_are_the_applications_errors() {
        let url = "wss://127.0.0.1/";
        let why = option_error(WebSocketBuilder::new(url).add_root_certificate(b"not DER".to_vec()));
        assert!(why.starts_with("extra root certificate 1 is not valid"), "{why}");
        let no_chain: [Vec<u8>; 0] = [];
        let why = option_error(WebSocketBuilder::new(url).client_certificate(no_chain, b"key".to_vec()));
        assert_eq!(why, "the client certificate chain is empty");
        let why = option_error(
            WebSocketBuilder::new(url).client_certificate([b"cert".to_vec()], b"not a key".to_vec()),
        );
        assert!(
            why.starts_with("the client certificate's private key is not valid"),
            "{why}"
        );
    }

    #[test]
    fn an_own_configuration_excludes_the_options_it_replaces() {
        let own = client_config(&WebSocketBuilder::new("wss://127.0.0.1/")).unwrap();
        let why = option_error(
            WebSocketBuilder::new("wss://127.0.0.1/")
                .tls_roots(TlsRoots::WebPki)
                .tls_config(own),
        );
        assert!(why.starts_with("tls_config is a complete configuration"), "{why}");
    }
}
