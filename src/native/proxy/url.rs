//! Proxy URLs as curl reads them: `[scheme://][user[:password]@]host[:port][/]`. No scheme
//! means an HTTP proxy, no port means 1080, and the user and password are percent-decoded.

use std::net::{Ipv4Addr, Ipv6Addr};

use percent_encoding::percent_decode_str;

use super::{Credentials, Protocol, Proxy};

/// The port of a proxy URL without one (curl's default for every kind of proxy).
const DEFAULT_PORT: u16 = 1080;
/// The longest user name or password SOCKS5 can carry (RFC 1929).
const SOCKS5_MAX_CREDENTIAL: usize = 255;

/// Parses `text` as a proxy URL. The error says what is wrong without repeating the URL,
/// which may hold a password.
pub(super) fn parse(text: &str) -> Result<Proxy, String> {
    let text = text.trim();
    let (scheme, rest) = match text.split_once("://") {
        Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
        None => ("http".to_string(), text),
    };
    let protocol = match scheme.as_str() {
        "http" => Protocol::Http,
        "socks5" => Protocol::Socks5 { remote_dns: false },
        "socks5h" => Protocol::Socks5 { remote_dns: true },
        "https" => {
            return Err(
                "HTTPS proxies (https://) are not supported; an http:// proxy still carries \
                        a wss:// connection encrypted end to end"
                    .into(),
            )
        }
        "socks4" | "socks4a" => {
            return Err("SOCKS4 proxies are not supported; use socks5:// or socks5h://".into())
        }
        other => {
            return Err(format!(
                "unsupported proxy scheme {other:?} (supported: http, socks5, socks5h)"
            ))
        }
    };
    // Whatever follows the authority (a path, usually just `/`) is ignored, as curl does.
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let (credentials, host_port) = match authority.rsplit_once('@') {
        Some((userinfo, host_port)) => (Some(credentials(userinfo)?), host_port),
        None => (None, authority),
    };
    let (host, port) = host_and_port(host_port)?;
    if let (Protocol::Socks5 { .. }, Some(credentials)) = (protocol, &credentials) {
        if credentials.user.len() > SOCKS5_MAX_CREDENTIAL
            || credentials.password.len() > SOCKS5_MAX_CREDENTIAL
        {
            return Err("SOCKS5 allows a user name and password of at most 255 bytes each".into());
        }
    }
    Ok(Proxy {
        protocol,
        host,
        port,
        credentials,
    })
}

/// `user[:password]`, percent-decoded.
fn credentials(userinfo: &str) -> Result<Credentials, String> {
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let decode = |part: &str, what: &str| {
        percent_decode_str(part)
            .decode_utf8()
            .map(|decoded| decoded.into_owned())
            .map_err(|_| format!("the proxy {what} is not UTF-8 once percent-decoded"))
    };
    Ok(Credentials {
        user: decode(user, "user name")?,
        password: decode(password, "password")?,
    })
}

/// The host (lower case; an IPv6 address without its brackets) and the port.
fn host_and_port(host_port: &str) -> Result<(String, u16), String> {
    let (host, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
        let (v6, after) = bracketed
            .split_once(']')
            .ok_or("the proxy's IPv6 address has no closing bracket")?;
        v6.parse::<Ipv6Addr>()
            .map_err(|_| format!("the proxy host [{v6}] is not an IPv6 address"))?;
        let port = match after {
            "" => None,
            _ => Some(
                after
                    .strip_prefix(':')
                    .ok_or("unexpected text after the proxy's IPv6 address")?,
            ),
        };
        (v6.to_string(), port)
    } else if host_port.matches(':').count() > 1 {
        return Err("an IPv6 proxy address must be in brackets, as in [::1]:1080".into());
    } else {
        let (host, port) = match host_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        };
        if host.is_empty() {
            return Err("the proxy URL has no host".into());
        }
        let valid = host.parse::<Ipv4Addr>().is_ok()
            || host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
        if !valid {
            return Err(format!(
                "the proxy host {host:?} is not a host name or an IP address"
            ));
        }
        (host.to_ascii_lowercase(), port)
    };
    let port = match port {
        None | Some("") => DEFAULT_PORT,
        Some(text) => match text.parse::<u16>() {
            Ok(port) if port > 0 && text.bytes().all(|b| b.is_ascii_digit()) => port,
            _ => return Err(format!("the proxy port {text:?} is not a number from 1 to 65535")),
        },
    };
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxy(protocol: Protocol, host: &str, port: u16, credentials: Option<(&str, &str)>) -> Proxy {
        Proxy {
            protocol,
            host: host.into(),
            port,
            credentials: credentials.map(|(user, password)| Credentials {
                user: user.into(),
                password: password.into(),
            }),
        }
    }

    #[test]
    fn proxy_urls_are_read_as_curl_reads_them() {
        let http = Protocol::Http;
        let socks5 = Protocol::Socks5 { remote_dns: false };
        let socks5h = Protocol::Socks5 { remote_dns: true };
        for (text, expected) in [
            ("http://127.0.0.1:3128", proxy(http, "127.0.0.1", 3128, None)),
            ("http://127.0.0.1:3128/", proxy(http, "127.0.0.1", 3128, None)),
            (
                "  HTTP://Proxy.Example:8080  ",
                proxy(http, "proxy.example", 8080, None),
            ),
            ("proxy.example", proxy(http, "proxy.example", 1080, None)),
            ("proxy.example:3128", proxy(http, "proxy.example", 3128, None)),
            ("http://[::1]:3128", proxy(http, "::1", 3128, None)),
            ("http://[::1]", proxy(http, "::1", 1080, None)),
            ("socks5://127.0.0.1:1080", proxy(socks5, "127.0.0.1", 1080, None)),
            ("SOCKS5H://proxy", proxy(socks5h, "proxy", 1080, None)),
            (
                "http://user:pa%3Ass%40w@proxy:1",
                proxy(http, "proxy", 1, Some(("user", "pa:ss@w"))),
            ),
            (
                "http://us%20er@proxy:1",
                proxy(http, "proxy", 1, Some(("us er", ""))),
            ),
            (
                "http://a:b:c@proxy:1",
                proxy(http, "proxy", 1, Some(("a", "b:c"))),
            ),
            (
                "socks5h://u:p@@proxy:1",
                proxy(socks5h, "proxy", 1, Some(("u", "p@"))),
            ),
        ] {
            assert_eq!(parse(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn unusable_proxy_urls_say_why_without_the_password() {
        for (text, expected) in [
            ("https://proxy:443", "HTTPS proxies"),
            ("socks4://proxy", "SOCKS4 proxies are not supported"),
            ("socks4a://proxy", "SOCKS4 proxies are not supported"),
            ("ftp://proxy", "unsupported proxy scheme \"ftp\""),
            ("http://", "the proxy URL has no host"),
            ("http://user:secret@", "the proxy URL has no host"),
            ("http://user:secret@proxy:0", "not a number from 1 to 65535"),
            ("http://user:secret@proxy:65536", "not a number from 1 to 65535"),
            ("http://user:secret@proxy:+80", "not a number from 1 to 65535"),
            ("http://user:secret@proxy:x", "not a number from 1 to 65535"),
            ("http://pro xy:1", "is not a host name or an IP address"),
            ("http://::1:3128", "must be in brackets"),
            ("http://[::1", "no closing bracket"),
            ("http://[1.2.3]:1", "is not an IPv6 address"),
            ("http://[::1]x", "unexpected text"),
            ("http://%ff:secret@proxy", "user name is not UTF-8"),
        ] {
            let why = parse(text).expect_err(text);
            assert!(why.contains(expected), "{text}: {why}");
            assert!(!why.contains("secret"), "{text}: {why}");
        }
        let long = "x".repeat(256);
        let why = parse(&format!("socks5://{long}:p@proxy")).unwrap_err();
        assert!(why.contains("at most 255 bytes"), "{why}");
        assert!(
            parse(&format!("http://{long}:p@proxy")).is_ok(),
            "HTTP has no such limit"
        );
    }
}
