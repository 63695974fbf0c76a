//! `--tls-cert` and `--tls-key`: the rustls server configuration for HTTPS and WSS.
//!
//! rustls (through tokio-rustls) with the ring provider, the one twinsock's own client uses;
//! TLS 1.2 and 1.3; ALPN offers only `http/1.1`, the protocol WebSockets upgrade from.

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

use crate::config::TlsFiles;

/// Why the TLS files could not be used.
#[derive(Debug)]
pub enum TlsError {
    /// The certificate file could not be read or holds no PEM certificate.
    Certificate(String),
    /// The key file could not be read or holds no PEM private key.
    Key(String),
    /// rustls refused the pair (for example, a key that does not match the certificate).
    Refused(rustls::Error),
}

impl std::fmt::Display for TlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Certificate(problem) => write!(f, "--tls-cert: {problem}"),
            Self::Key(problem) => write!(f, "--tls-key: {problem}"),
            Self::Refused(problem) => write!(f, "the certificate and key cannot be used: {problem}"),
        }
    }
}

impl std::error::Error for TlsError {}

/// The acceptor for `files`.
///
/// # Errors
/// A [`TlsError`] naming the file that could not be read or parsed, or rustls's reason for
/// refusing the certificate and key.
pub fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, TlsError> {
    let certs = certificates(&files.cert).map_err(TlsError::Certificate)?;
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|problem| TlsError::Key(format!("{}: {problem}", files.key.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Refused)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(TlsError::Refused)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|problem| format!("{}: {problem}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate in it", path.display()));
    }
    Ok(certs)
}
