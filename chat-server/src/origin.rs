//! The `Origin` policy: which pages may open a WebSocket to this server.

use std::net::SocketAddr;

/// The allowed origins. A request without an `Origin` header (a non-browser client) is
/// always allowed.
#[derive(Debug, Clone)]
pub struct OriginPolicy {
    any: bool,
    allowed: Vec<String>,
}

impl OriginPolicy {
    /// The server's own origins for `local` with `scheme` (`http` or `https`):
    /// `SCHEME://<address>`, `SCHEME://localhost:<port>`, `SCHEME://127.0.0.1:<port>`; plus
    /// `extra`, where an entry `*` allows every origin.
    pub fn new(scheme: &str, local: SocketAddr, extra: &[String]) -> Self {
        let port = local.port();
        let mut allowed = vec![
            format!("{scheme}://{local}"),
            format!("{scheme}://localhost:{port}"),
            format!("{scheme}://127.0.0.1:{port}"),
        ];
        allowed.extend(
            extra
                .iter()
                .map(|origin| origin.trim_end_matches('/').to_string()),
        );
        Self {
            any: extra.iter().any(|origin| origin == "*"),
            allowed,
        }
    }

    /// Whether a request with this `Origin` header (`None`: no header) may upgrade.
    pub fn allows(&self, origin: Option<&str>) -> bool {
        match origin {
            None => true,
            Some(_) if self.any => true,
            Some(origin) => self
                .allowed
                .iter()
                .any(|allowed| allowed.eq_ignore_ascii_case(origin)),
        }
    }
}
