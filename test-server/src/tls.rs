//! The self-signed certificate and the rustls server configuration.

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::ServerConfig;

/// A self-signed certificate and its private key.
pub struct Identity {
    /// The certificate, DER-encoded.
    pub cert_der: Vec<u8>,
    /// The private key, PKCS#8 DER-encoded.
    key_der: Vec<u8>,
}

impl Identity {
    /// Generates a self-signed certificate for `names` (host names or IP addresses).
    ///
    /// Panics on failure (a start-up failure).
    pub fn generate(names: &[&str]) -> Self {
        let names = names.iter().map(|name| name.to_string()).collect::<Vec<_>>();
        let certified =
            rcgen::generate_simple_self_signed(names).expect("cannot generate the self-signed certificate");
        Identity {
            cert_der: certified.cert.der().to_vec(),
            key_der: certified.signing_key.serialize_der(),
        }
    }

    /// Builds the rustls server configuration (ring provider) for this identity.
    ///
    /// Panics on failure (a start-up failure).
    pub fn server_config(&self) -> Arc<ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("the ring provider supports the default protocol versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(self.cert_der.clone())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone())),
            )
            .expect("cannot use the generated certificate");
        Arc::new(config)
    }
}
