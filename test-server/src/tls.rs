//! The certificates and the rustls server configurations: self-signed identities, and a
//! certificate authority made at start that issues server certificates (trusted through it,
//! as a system trust store holding it would) and a client certificate (for mutual TLS).

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

/// A certificate and its private key.
pub struct Identity {
    /// The certificate, DER-encoded.
    pub cert_der: Vec<u8>,
    /// The private key, PKCS#8 DER-encoded.
    pub key_der: Vec<u8>,
    /// The certificate as PEM.
    pub cert_pem: String,
    /// The private key as PEM (PKCS#8).
    pub key_pem: String,
}

/// A certificate authority of the test server's own, made at start.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    /// Its certificate, DER-encoded.
    pub cert_der: Vec<u8>,
    /// Its certificate as PEM: a CA bundle for `SSL_CERT_FILE`.
    pub cert_pem: String,
}

impl TestCa {
    /// Generates the authority's key and self-signed certificate.
    ///
    /// Panics on failure (a start-up failure).
    pub fn generate() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        params.distinguished_name = name("twinsock test CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("cannot generate the CA's key");
        let cert = params
            .self_signed(&key)
            .expect("cannot sign the CA's certificate");
        TestCa {
            cert_der: cert.der().to_vec(),
            cert_pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// Issues a server certificate for `names` (host names or IP addresses).
    pub fn issue_server(&self, names: &[&str]) -> Identity {
        let names: Vec<String> = names.iter().map(|name| name.to_string()).collect();
        let mut params = CertificateParams::new(names).expect("server certificate parameters");
        params.distinguished_name = name("twinsock test server");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.issue(params)
    }

    /// Issues a client certificate whose subject's common name is `common_name`.
    pub fn issue_client(&self, common_name: &str) -> Identity {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("client certificate parameters");
        params.distinguished_name = name(common_name);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.issue(params)
    }

    fn issue(&self, params: CertificateParams) -> Identity {
        let key = KeyPair::generate().expect("cannot generate a key");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("cannot sign a certificate");
        Identity {
            cert_der: cert.der().to_vec(),
            key_der: key.serialize_der(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

/// A distinguished name with just this common name.
fn name(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    name
}

/// Who may connect to a TLS listener.
pub enum Clients<'a> {
    /// Anyone; no client certificate is asked for.
    Anyone,
    /// Only clients with a certificate issued by this authority (mutual TLS).
    CertifiedBy(&'a TestCa),
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
            cert_pem: certified.cert.pem(),
            key_pem: certified.signing_key.serialize_pem(),
        }
    }

    /// Builds the rustls server configuration (ring provider) for this identity: anyone may
    /// connect, and no application protocol is negotiated.
    ///
    /// Panics on failure (a start-up failure).
    pub fn server_config(&self) -> Arc<ServerConfig> {
        self.server_config_for(Clients::Anyone, &[])
    }

    /// The rustls server configuration for this identity, for `clients`, negotiating the
    /// first of `alpn` (the server's preference) that the client offers.
    ///
    /// Panics on failure (a start-up failure).
    pub fn server_config_for(&self, clients: Clients<'_>, alpn: &[&str]) -> Arc<ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("the ring provider supports the default protocol versions");
        let builder = match clients {
            Clients::Anyone => builder.with_no_client_auth(),
            Clients::CertifiedBy(ca) => {
                let mut roots = RootCertStore::empty();
                roots
                    .add(CertificateDer::from(ca.cert_der.clone()))
                    .expect("the CA's certificate is a valid root");
                let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                    .build()
                    .expect("cannot build the client certificate verifier");
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut config = builder
            .with_single_cert(
                vec![CertificateDer::from(self.cert_der.clone())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone())),
            )
            .expect("cannot use the generated certificate");
        config.alpn_protocols = alpn.iter().map(|protocol| protocol.as_bytes().to_vec()).collect();
        Arc::new(config)
    }
}
