//! The server side of the opening handshake, done by hand so that every route controls it.

use std::io::{self, Read, Write};

use tungstenite::handshake::derive_accept_key;

use crate::conn::Conn;

/// The largest request head accepted.
const MAX_HEAD: usize = 16 * 1024;

/// A parsed HTTP request head.
pub struct Request {
    /// The request target as sent (path and query).
    pub target: String,
    /// The path part of the target.
    pub path: String,
    /// The query parameters, percent-decoded, in order.
    pub query: Vec<(String, String)>,
    /// The headers (name as sent, value as lossy UTF-8), in order.
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The first query parameter called `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The query parameter `name` parsed as a number, or `default` if absent or invalid.
    pub fn num<T: std::str::FromStr>(&self, name: &str, default: T) -> T {
        self.param(name)
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(default)
    }

    /// The values of every header called `name` (case-insensitive), in order.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// True if the request asks for a WebSocket upgrade (`Upgrade: websocket`).
    pub fn is_upgrade(&self) -> bool {
        self.header_values("upgrade")
            .flat_map(|value| value.split(','))
            .any(|token| token.trim().eq_ignore_ascii_case("websocket"))
    }

    /// The subprotocols the client asked for, in order.
    pub fn protocols(&self) -> Vec<&str> {
        self.header_values("sec-websocket-protocol")
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .collect()
    }

    /// The `Sec-WebSocket-Accept` value for this request's key (of an empty key if none).
    pub fn accept_key(&self) -> String {
        derive_accept_key(self.header("sec-websocket-key").unwrap_or("").trim().as_bytes())
    }
}

/// Reads and parses the request head. Returns the request and any bytes read past its end.
pub fn read_request(conn: &mut Conn) -> Result<(Request, Vec<u8>), String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let end = loop {
        let n = match conn.read(&mut chunk) {
            Ok(0) => return Err("closed before the end of the request".into()),
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) if matches!(err.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                return Err("no complete request within 10 s".into())
            }
            Err(err) => return Err(format!("reading the request: {err}")),
        };
        let searched = buf.len().saturating_sub(3);
        buf.extend_from_slice(&chunk[..n]);
        let end = buf[searched..]
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|pos| searched + pos + 4);
        if end.unwrap_or(buf.len()) > MAX_HEAD {
            let _ = respond(
                conn,
                431,
                "Request Header Fields Too Large",
                "request head too large\n",
            );
            return Err("request head larger than 16 KiB".into());
        }
        if let Some(end) = end {
            break end;
        }
    };

    let mut headers = [httparse::EMPTY_HEADER; 128];
    let mut parsed = httparse::Request::new(&mut headers);
    match parsed.parse(&buf[..end]) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err("incomplete request head".into()),
        Err(err) => {
            let _ = respond(conn, 400, "Bad Request", "bad request\n");
            return Err(format!("bad request head: {err}"));
        }
    }
    let target = parsed.path.unwrap_or("/").to_owned();
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path.to_owned(), parse_query(query)),
        None => (target.clone(), Vec::new()),
    };
    let headers = parsed
        .headers
        .iter()
        .map(|h| (h.name.to_owned(), String::from_utf8_lossy(h.value).into_owned()))
        .collect();
    let leftover = buf[end..].to_vec();
    Ok((
        Request {
            target,
            path,
            query,
            headers,
        },
        leftover,
    ))
}

/// Splits a query string into percent-decoded `(name, value)` pairs.
fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (name, value) = part.split_once('=').unwrap_or((part, ""));
            (percent_decode(name), percent_decode(value))
        })
        .collect()
}

/// Decodes `%XX` escapes and `+` (as a space); invalid escapes are kept as they are.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex_digit(bytes[i + 1]), hex_digit(bytes[i + 2])) {
                (Some(high), Some(low)) => {
                    out.push(high << 4 | low);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The value of one hexadecimal digit.
pub fn hex_digit(byte: u8) -> Option<u8> {
    (byte as char).to_digit(16).map(|digit| digit as u8)
}

/// Writes a complete HTTP response with a text body and `Connection: close`.
pub fn respond(conn: &mut Conn, status: u16, reason: &str, body: &str) -> io::Result<()> {
    respond_with(conn, status, reason, "", body)
}

/// Like [`respond`], with `extra` header lines (each ending with `\r\n`).
pub fn respond_with(conn: &mut Conn, status: u16, reason: &str, extra: &str, body: &str) -> io::Result<()> {
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\n{extra}Connection: close\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(response.as_bytes())?;
    conn.flush()
}

/// Writes the `101 Switching Protocols` answer, applying the `select` and `extensions`
/// query parameters. Returns the subprotocol answered, if any.
pub fn accept(conn: &mut Conn, request: &Request) -> io::Result<Option<String>> {
    accept_with_extensions(conn, request, request.param("extensions"))
}

/// [`accept`] with the `Sec-WebSocket-Extensions` value the route chose (none: no header).
pub fn accept_with_extensions(
    conn: &mut Conn,
    request: &Request,
    extensions: Option<&str>,
) -> io::Result<Option<String>> {
    let protocol = match request.param("select").unwrap_or("first") {
        "first" => request.protocols().first().map(|p| (*p).to_owned()),
        "none" => None,
        name => Some(name.to_owned()),
    };
    let mut response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n",
        request.accept_key()
    );
    if let Some(protocol) = &protocol {
        response.push_str(&format!("Sec-WebSocket-Protocol: {protocol}\r\n"));
    }
    if let Some(extensions) = extensions {
        response.push_str(&format!("Sec-WebSocket-Extensions: {extensions}\r\n"));
    }
    response.push_str("\r\n");
    conn.write_all(response.as_bytes())?;
    conn.flush()?;
    Ok(protocol)
}
