//! TLS for `wss://` (native): rustls with the ring provider, the web PKI roots, and any extra
//! roots the application trusts.

use std::sync::{Arc, OnceLock};

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore};

use crate::error::FailureCause;

/// The client configuration for `extra_roots` (DER certificates) on top of the web PKI roots.
/// Without extra roots the configuration is built once and shared.
fn client_config(extra_roots: &[Vec<u8>]) -> Result<Arc<ClientConfig>, FailureCause> {
    static DEFAULT: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    if extra_roots.is_empty() {
        if let Some(config) = DEFAULT.get() {
            return Ok(config.clone());
        }
    }
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for der in extra_roots {
        roots
            .add(CertificateDer::from(der.clone()))
            .map_err(|e| FailureCause::Tls(format!("an extra root certificate is not valid: {e}")))?;
    }
    let config = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| FailureCause::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let config = Arc::new(config);
    if extra_roots.is_empty() {
        return Ok(DEFAULT.get_or_init(|| config).clone());
    }
    Ok(config)
}

/// A TLS client session for `host` (a name or an IP address), trusting `extra_roots` too.
pub(crate) fn client_session(host: &str, extra_roots: &[Vec<u8>]) -> Result<ClientConnection, FailureCause> {
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| FailureCause::Tls(format!("{host:?} is not a valid TLS server name: {e}")))?;
    ClientConnection::new(client_config(extra_roots)?, name).map_err(|e| FailureCause::Tls(e.to_string()))
}

/// The TLS cause inside an I/O error, if the error came from rustls.
pub(crate) fn tls_cause(error: &std::io::Error) -> Option<FailureCause> {
    let inner = error.get_ref()?;
    inner
        .downcast_ref::<rustls::Error>()
        .map(|e| FailureCause::Tls(e.to_string()))
}
