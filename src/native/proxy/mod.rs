//! Proxies (native): which proxy a connection goes through, the builder's or the one the
//! environment names as curl reads it ([`route`]), and the tunnel through it
//! ([`ProxyTunnel`], sans-I/O, for HTTP `CONNECT` and SOCKS5).

mod environment;
mod exchange;
mod http_connect;
mod no_proxy;
mod socks5;
mod tunnel;
mod url;

use std::fmt;

pub(crate) use self::tunnel::{Destination, Host, ProxyTunnel};
use crate::error::{Error, FailureCause, OptionError, ProxyFailure};
use crate::socket::ProxySetting;

/// A proxy protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// An HTTP proxy, tunnelling with `CONNECT`.
    Http,
    /// A SOCKS5 proxy; with `remote_dns` (`socks5h://`) it resolves the server's name itself.
    Socks5 {
        /// The proxy resolves the server's name.
        remote_dns: bool,
    },
}

/// A proxy to go through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Proxy {
    pub(crate) protocol: Protocol,
    /// A name (lower case) or an IP address (without brackets).
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) credentials: Option<Credentials>,
}

/// The user name and password of a proxy URL. Its `Debug` output shows neither.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Credentials {
    pub(crate) user: String,
    pub(crate) password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials(..)")
    }
}

impl Proxy {
    /// The proxy as `scheme://host:port`, without its credentials, as errors name it.
    pub(crate) fn label(&self) -> String {
        let scheme = match self.protocol {
            Protocol::Http => "http",
            Protocol::Socks5 { remote_dns: false } => "socks5",
            Protocol::Socks5 { remote_dns: true } => "socks5h",
        };
        if self.host.contains(':') {
            format!("{scheme}://[{}]:{}", self.host, self.port)
        } else {
            format!("{scheme}://{}:{}", self.host, self.port)
        }
    }

    /// Whether the server's name is resolved here and its address given to the proxy
    /// (`socks5://`), rather than the name itself.
    pub(crate) fn resolves_locally(&self) -> bool {
        self.protocol == Protocol::Socks5 { remote_dns: false }
    }

    /// The cause for `failure` of this proxy.
    pub(crate) fn failure(&self, failure: ProxyFailure) -> FailureCause {
        FailureCause::Proxy {
            proxy: self.label(),
            failure,
        }
    }
}

/// How a connection reaches its server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// Straight to the server.
    Direct,
    /// Through a tunnel that this proxy opens.
    Via(Proxy),
}

/// The route to `host` (the URL's host: a name, or an IP address without brackets) that
/// `setting` asks for. An explicit proxy that cannot be used is the application's error; an
/// unusable one from the environment, the host's.
pub(crate) fn route(setting: &ProxySetting, host: &str) -> Result<Route, OptionError> {
    match setting {
        ProxySetting::Direct => Ok(Route::Direct),
        ProxySetting::Url(text) => url::parse(text)
            .map(Route::Via)
            .map_err(|why| OptionError::Application(Error::InvalidProxy(why))),
        ProxySetting::Environment => environment::proxy_for(host, |name| std::env::var_os(name))
            .map(|proxy| proxy.map_or(Route::Direct, Route::Via))
            .map_err(OptionError::Host),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proxy_is_named_without_its_credentials() {
        let proxy = url::parse("http://user:secret@[::1]:3128").unwrap();
        assert_eq!(proxy.label(), "http://[::1]:3128");
        assert!(!format!("{proxy:?}").contains("secret"));
        assert_eq!(url::parse("socks5h://p").unwrap().label(), "socks5h://p:1080");
    }

    #[test]
    fn an_explicit_proxy_that_cannot_be_used_is_the_applications_error() {
        assert_eq!(
            route(&ProxySetting::Url("https://p:1".into()), "h"),
            Err(OptionError::Application(Error::InvalidProxy(
                url::parse("https://p:1").unwrap_err()
            )))
        );
        assert_eq!(route(&ProxySetting::Direct, "h"), Ok(Route::Direct));
    }
}
