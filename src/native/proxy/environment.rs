//! The proxy the environment names for a WebSocket URL, as curl reads the variables: lower
//! case before upper case, an empty variable as unset, and `HTTP_PROXY` never read in upper
//! case (a CGI program's environment holds the request's `Proxy:` header under that name).
//!
//! Both `ws://` and `wss://` read the HTTPS proxy first and the HTTP proxy then, as RFC 6455
//! (section 4.1) recommends and Chromium does for WebSockets, then the proxy for all schemes.

use std::ffi::OsString;

use super::{no_proxy, url, Proxy};
use crate::error::{FailureCause, ProxyFailure};

/// The variables that may name the proxy, in the order they are read.
const PROXY_VARIABLES: [&str; 5] = [
    "https_proxy",
    "HTTPS_PROXY",
    "http_proxy",
    "all_proxy",
    "ALL_PROXY",
];
/// The variables that may list the hosts reached directly, in the order they are read.
const NO_PROXY_VARIABLES: [&str; 2] = ["no_proxy", "NO_PROXY"];

/// The proxy for `host` (a name, or an IP address without brackets) in the environment that
/// `lookup` reads (`std::env::var_os` in use): none when no variable names one or
/// `NO_PROXY` lists the host; an error naming the variable when its value cannot be used.
pub(super) fn proxy_for(
    host: &str,
    lookup: impl Fn(&str) -> Option<OsString>,
) -> Result<Option<Proxy>, FailureCause> {
    let first_set = |names: &[&'static str]| {
        names.iter().find_map(|&name| {
            lookup(name)
                .filter(|value| !value.is_empty())
                .map(|value| (name, value))
        })
    };
    let Some((variable, value)) = first_set(&PROXY_VARIABLES) else {
        return Ok(None);
    };
    let invalid = |why: String| FailureCause::Proxy {
        proxy: variable.to_string(),
        failure: ProxyFailure::InvalidSetting(why),
    };
    if let Some((list_variable, list)) = first_set(&NO_PROXY_VARIABLES) {
        let list = list
            .into_string()
            .map_err(|_| invalid(format!("{list_variable} is not UTF-8")))?;
        if no_proxy::bypasses(&list, host) {
            return Ok(None);
        }
    }
    let value = value
        .into_string()
        .map_err(|_| invalid("it is not UTF-8".into()))?;
    url::parse(&value).map(Some).map_err(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::native::proxy::Protocol;

    /// The proxy for `host` with exactly the variables `set`.
    fn with(set: &[(&str, &str)], host: &str) -> Result<Option<Proxy>, FailureCause> {
        proxy_for(host, |name| {
            set.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| OsString::from(value))
        })
    }

    fn port_for(set: &[(&str, &str)], host: &str) -> Option<u16> {
        with(set, host).unwrap().map(|proxy| proxy.port)
    }

    #[test]
    fn variables_are_read_in_curls_order_with_the_https_proxy_first() {
        let all = [
            ("https_proxy", "http://p:1"),
            ("HTTPS_PROXY", "http://p:2"),
            ("http_proxy", "http://p:3"),
            ("all_proxy", "http://p:4"),
            ("ALL_PROXY", "http://p:5"),
        ];
        for skip in 0..all.len() {
            assert_eq!(port_for(&all[skip..], "h"), Some(skip as u16 + 1));
        }
        assert_eq!(port_for(&[], "h"), None);
        assert_eq!(
            port_for(&[("HTTP_PROXY", "http://p:6")], "h"),
            None,
            "HTTP_PROXY is never read"
        );
        assert_eq!(
            port_for(&[("https_proxy", ""), ("HTTPS_PROXY", "http://p:2")], "h"),
            Some(2),
            "an empty variable counts as unset"
        );
        let socks = with(&[("ALL_PROXY", "socks5h://p:9")], "h").unwrap().unwrap();
        assert_eq!(socks.protocol, Protocol::Socks5 { remote_dns: true });
    }

    #[test]
    fn no_proxy_in_either_case_bypasses_the_proxy() {
        let proxy = ("HTTPS_PROXY", "http://p:1");
        assert_eq!(
            port_for(&[proxy, ("NO_PROXY", "example.com")], "www.example.com"),
            None
        );
        assert_eq!(port_for(&[proxy, ("no_proxy", "127.0.0.0/8")], "127.0.0.1"), None);
        assert_eq!(
            port_for(&[proxy, ("no_proxy", "other.test")], "example.com"),
            Some(1)
        );
        assert_eq!(
            port_for(
                &[proxy, ("no_proxy", "other.test"), ("NO_PROXY", "example.com")],
                "example.com"
            ),
            Some(1),
            "no_proxy is read first"
        );
        assert_eq!(port_for(&[proxy, ("no_proxy", ""), ("NO_PROXY", "*")], "x"), None);
    }

    #[test]
    fn an_unusable_variable_names_itself_in_the_failure() {
        match with(&[("HTTPS_PROXY", "https://user:secret@p:1")], "h") {
            Err(FailureCause::Proxy {
                proxy,
                failure: ProxyFailure::InvalidSetting(why),
            }) => {
                assert_eq!(proxy, "HTTPS_PROXY");
                assert!(why.contains("HTTPS proxies") && !why.contains("secret"), "{why}");
            }
            other => panic!("{other:?}"),
        }
        // Bypassed hosts do not need the setting to be valid.
        assert_eq!(
            with(&[("HTTPS_PROXY", "bad://"), ("NO_PROXY", "*")], "h"),
            Ok(None)
        );
    }
}
