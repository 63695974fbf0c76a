//! The HTTP proxy: `CONNECT host:port HTTP/1.1` opens a tunnel (`200 Connection
//! established`); 407 without the required credentials, 403 for a destination off loopback,
//! 502 when the server cannot be reached, 405 for anything but `CONNECT`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use base64::Engine as _;

use super::{connect_loopback, Refusal, Shared, TunnelRecord};

/// The largest request head accepted.
const MAX_HEAD: usize = 16 * 1024;

/// Answers one `CONNECT`; returns the connection to the server if the tunnel opened.
pub(super) fn serve(client: &TcpStream, peer: SocketAddr, shared: &Shared) -> Option<TcpStream> {
    let head = match read_head(client) {
        Ok(head) => head,
        Err(why) => {
            eprintln!("test-server: http-proxy {peer}: {why}");
            return None;
        }
    };
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut request = httparse::Request::new(&mut headers);
    if !matches!(request.parse(&head), Ok(httparse::Status::Complete(_))) {
        answer(client, "400 Bad Request");
        return None;
    }
    let target = request.path.unwrap_or_default().to_string();
    let record = |outcome: &str, user: Option<String>| {
        shared.record(TunnelRecord {
            client: peer,
            target: target.clone(),
            user,
            outcome: outcome.into(),
        })
    };
    if request.method != Some("CONNECT") {
        record("405", None);
        answer(client, "405 Method Not Allowed");
        return None;
    }
    let user = basic_user(request.headers);
    if let Some(required) = &shared.credentials {
        let expected = format!("{}:{}", required.user, required.password);
        if user.as_ref().map(|(_, both)| both) != Some(&expected) {
            record("407", user.map(|(name, _)| name));
            answer(
                client,
                "407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"twinsock\"",
            );
            return None;
        }
    }
    let user = user.map(|(name, _)| name);
    let Some((host, port)) = split_authority(&target) else {
        record("400", user);
        answer(client, "400 Bad Request");
        return None;
    };
    match connect_loopback(host, port) {
        Ok(server) => {
            record("200", user);
            let mut client = client;
            client
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .ok()?;
            Some(server)
        }
        Err(Refusal::NotAllowed) => {
            record("403", user);
            answer(client, "403 Forbidden");
            None
        }
        Err(Refusal::Unresolvable | Refusal::Unreachable) => {
            record("502", user);
            answer(client, "502 Bad Gateway");
            None
        }
    }
}

/// Reads the request head (through its blank line, and not one byte further).
fn read_head(mut client: &TcpStream) -> Result<Vec<u8>, String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > MAX_HEAD {
            return Err("the request head is too large".into());
        }
        match client.read(&mut byte) {
            Ok(0) => return Err("the client closed before its request was complete".into()),
            Ok(_) => head.push(byte[0]),
            Err(e) => return Err(format!("reading the request failed: {e}")),
        }
    }
    Ok(head)
}

/// The `Proxy-Authorization: Basic` credentials: the user name, and `user:password`.
fn basic_user(headers: &[httparse::Header<'_>]) -> Option<(String, String)> {
    let value = headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("proxy-authorization"))?
        .value;
    let token = std::str::from_utf8(value).ok()?.trim().strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .ok()?;
    let both = String::from_utf8(decoded).ok()?;
    let user = both
        .split_once(':')
        .map_or(both.as_str(), |(user, _)| user)
        .to_string();
    Some((user, both))
}

/// `host:port` or `[v6]:port`: the host without brackets, and the port.
fn split_authority(authority: &str) -> Option<(&str, u16)> {
    let (host, port) = authority.rsplit_once(':')?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    Some((host, port.parse().ok()?))
}

/// Sends a final answer without a body (`status` may carry header lines after it).
fn answer(mut client: &TcpStream, status: &str) {
    let _ = write!(
        client,
        "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
}
