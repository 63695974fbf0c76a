//! The routes, one behaviour each. Every WebSocket route honours `select=` and
//! `extensions=` (see [`handshake::accept`]).
//!
//! | path | behaviour after the handshake |
//! |------|-------------------------------|
//! | `/echo` | echo text as text and binary as binary |
//! | `/close?code=C&reason=R` | send a close frame (empty without `code`), wait for the answer |
//! | `/drop?send=N` | send "0".."N-1", then shut TCP down without a close frame |
//! | `/reject?status=S` | no upgrade: answer `S` (default 403) with body `refused` |
//! | `/slow?bytes=N&delay_ms=D` | read nothing for D ms, count N payload bytes, send `received T`, echo |
//! | `/ignore-close` | echo, but never answer the client's close frame (60 s at most) |
//! | `/send-on-open?count=N` | send "0".."N-1", then echo |
//! | `/big?bytes=N&kind=text\|binary` | send one message of N `x` bytes, then echo |
//! | `/raw?hex=HEX` | write the raw bytes, then echo, ignoring errors, for 10 s at most |
//! | `/headers` | send the request headers (`name: value` lines), then echo |
//! | `/ping?payload=P` | ping with P, wait for its pong, send `pong:P`, then echo |
//! | `/handshake?mode=M` | answer the upgrade with garbage (see [`bad_handshake`]) |
//! | `/mute` | after the handshake, read and discard raw bytes: never answer anything (60 s at most) |
//! | `/hello` | the tutorial's demo: "My name is N" gets "Hello from server, N!", then close 1000 |
//! | `/file?name=N` | send the file the server was given as N as one text message, then close 1000 (4404 if there is none) |
//! | `/restart?down_ms=D` | stop the restartable listener (its connections cut without a close frame), send `stopped`, start it again on the same address after D ms (30 s at most), send `restarted`, then echo (4404 without a restartable listener) |
//! | `/close-raw?code=C&reason=R&hold_ms=N&then=data` | send a close frame with any code C as it is (empty without `code`), read until the client's close frame, then send a text frame with `then=data`, keep TCP open N ms (0 by default) or until the client closes it (see [`crate::closing`]) |
//! | `/answer-close?hold_ms=N&then=data` | echo until the client's close frame, answer it with its code and reason, then as `/close-raw` |
//! | `/deflate?extensions=ANSWER&send=zeros\|text&bytes=N` | permessage-deflate as ANSWER says: send one N-byte message with `send`, echo every message compressed; the answer to the client's close reports `N messages, C compressed` (see [`crate::compressed`]) |
//! | `/relay?room=R` | pair with the other client of room R (`paired`), relay each message to it, both sides over permessage-deflate; the close reports how both sides' messages arrived (see [`crate::relay`]) |
//! | `/tls` | send `alpn=P client_certificates=N` (P the negotiated protocol or `none`, `plain` without TLS), then the client's certificate (DER) as a binary message if it sent one, then echo |

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use tungstenite::handshake::derive_accept_key;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tungstenite::{Error, Message, WebSocket};

use crate::conn::{is_timeout, Conn, TlsDetails};
use crate::handshake::{self, hex_digit, read_request, respond_with, Request};
use crate::relay::Rooms;
use crate::restart::{Restartable, MAX_DOWN};

/// Read timeout while reading the request head.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Read and write timeout once the connection is open.
const IO_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a graceful close waits for the client to close its side.
const LINGER: Duration = Duration::from_secs(5);
/// How long `/ignore-close` keeps the connection open after the client's close frame.
const IGNORE_CLOSE_WAIT: Duration = Duration::from_secs(60);
/// How long `/raw` keeps reading after writing its bytes.
const RAW_WAIT: Duration = Duration::from_secs(10);

/// The paths that upgrade to WebSocket.
const WS_ROUTES: &[&str] = &[
    "/echo",
    "/close",
    "/drop",
    "/slow",
    "/ignore-close",
    "/send-on-open",
    "/big",
    "/raw",
    "/headers",
    "/ping",
    "/hello",
    "/mute",
    "/file",
    "/restart",
    "/tls",
    "/close-raw",
    "/answer-close",
    "/deflate",
    "/relay",
];

/// An open server-side WebSocket.
type Ws = WebSocket<Conn>;

/// The files `/file` serves, by name.
pub type Files = HashMap<String, PathBuf>;

/// Serves one connection, then logs one line about it to stderr.
pub fn serve(
    mut conn: Conn,
    scheme: &str,
    peer: SocketAddr,
    files: &Files,
    restartable: Option<&Restartable>,
    rooms: &Rooms,
) {
    let _ = conn.set_write_timeout(IO_TIMEOUT);
    if let Err(err) = conn.set_read_timeout(HANDSHAKE_TIMEOUT) {
        eprintln!("test-server: {scheme} {peer}: cannot set a read timeout: {err}");
        return;
    }
    match read_request(&mut conn) {
        Ok((request, leftover)) => {
            let outcome = route(conn, &request, leftover, files, restartable, rooms);
            eprintln!("test-server: {scheme} {peer} {} -> {outcome}", request.target);
        }
        Err(err) => {
            eprintln!("test-server: {scheme} {peer}: {err}");
            conn.finish(Duration::from_secs(1));
        }
    }
}

/// Answers a plain HTTP response, closes the connection, and describes it.
fn http_answer(mut conn: Conn, status: u16, reason: &str, extra: &str, body: &str) -> String {
    let result = respond_with(&mut conn, status, reason, extra, body);
    conn.finish(LINGER);
    match result {
        Ok(()) => format!("{status} {reason}"),
        Err(err) => format!("{status} {reason} (write failed: {err})"),
    }
}

/// Dispatches a request to its route and returns a description of how it went.
fn route(
    mut conn: Conn,
    request: &Request,
    leftover: Vec<u8>,
    files: &Files,
    restartable: Option<&Restartable>,
    rooms: &Rooms,
) -> String {
    let path = request.path.as_str();
    match path {
        "/reject" => return reject(conn, request),
        "/handshake" => return bad_handshake(conn, request),
        _ if !WS_ROUTES.contains(&path) => return http_answer(conn, 404, "Not Found", "", "not found\n"),
        _ => {}
    }
    if !request.is_upgrade() {
        let body = "this is a WebSocket endpoint\n";
        return http_answer(conn, 426, "Upgrade Required", "Upgrade: websocket\r\n", body);
    }
    if request.header("sec-websocket-key").is_none() {
        return http_answer(conn, 400, "Bad Request", "", "missing Sec-WebSocket-Key\n");
    }
    let raw_bytes = if path == "/raw" {
        match decode_hex(request.param("hex").unwrap_or("")) {
            Some(bytes) => bytes,
            None => return http_answer(conn, 400, "Bad Request", "", "bad hex\n"),
        }
    } else {
        Vec::new()
    };

    if path == "/relay" {
        return crate::relay::relay(conn, leftover, request, rooms);
    }
    let tls_details = conn.tls_details();
    let protocol = match handshake::accept(&mut conn, request) {
        Ok(protocol) => protocol,
        Err(err) => return format!("writing the 101 failed: {err}"),
    };
    if let Err(err) = conn.set_read_timeout(IO_TIMEOUT) {
        return format!("cannot set a read timeout: {err}");
    }
    // The routes on the test server's own frame layer.
    match path {
        "/close-raw" => return with_protocol(protocol, crate::closing::close_raw(conn, leftover, request)),
        "/answer-close" => {
            return with_protocol(protocol, crate::closing::answer_close(conn, leftover, request))
        }
        "/deflate" => {
            return with_protocol(protocol, crate::compressed::deflate_echo(conn, leftover, request))
        }
        _ => {}
    }
    let config = WebSocketConfig::default()
        .max_message_size(None)
        .max_frame_size(None);
    let mut ws = WebSocket::from_partially_read(conn, leftover, Role::Server, Some(config));

    let outcome = match path {
        "/echo" => echo(&mut ws),
        "/close" => close(&mut ws, request),
        "/drop" => return with_protocol(protocol, drop_connection(ws, request)),
        "/slow" => slow(&mut ws, request),
        "/ignore-close" => return with_protocol(protocol, ignore_close(ws)),
        "/mute" => return with_protocol(protocol, mute(ws)),
        "/send-on-open" => send_numbers(&mut ws, request.num("count", 0u64)).and_then(|()| echo(&mut ws)),
        "/big" => big(&mut ws, request).and_then(|()| echo(&mut ws)),
        "/raw" => return with_protocol(protocol, raw(ws, &raw_bytes)),
        "/headers" => headers(&mut ws, request).and_then(|()| echo(&mut ws)),
        "/ping" => ping(&mut ws, request),
        "/hello" => hello(&mut ws),
        "/file" => file(&mut ws, request, files),
        "/restart" => restart(&mut ws, request, restartable),
        "/tls" => tls(&mut ws, tls_details).and_then(|()| echo(&mut ws)),
        _ => Ok("unreachable route".into()),
    };
    ws.into_inner().finish(LINGER);
    with_protocol(protocol, outcome.unwrap_or_else(|err| describe(&err)))
}

/// Prefixes `outcome` with the answered subprotocol, if any.
fn with_protocol(protocol: Option<String>, outcome: String) -> String {
    match protocol {
        Some(protocol) => format!("101 ({protocol}); {outcome}"),
        None => format!("101; {outcome}"),
    }
}

/// Describes how a WebSocket connection ended.
fn describe(err: &Error) -> String {
    match err {
        Error::ConnectionClosed => "close handshake done".into(),
        Error::Io(err) if is_timeout(err) => "read timed out".into(),
        other => format!("ended: {other}"),
    }
}

/// Handles one message as `/echo` does: echoes text and binary messages.
///
/// Pings are answered by tungstenite, and the answer to a close frame is queued by
/// tungstenite and written by the next read.
fn echo_message(ws: &mut Ws, message: Message) -> tungstenite::Result<()> {
    match message {
        Message::Text(text) => ws.send(Message::Text(text)),
        Message::Binary(data) => ws.send(Message::Binary(data)),
        _ => Ok(()),
    }
}

/// Echoes until the connection ends; returns a description of the end.
fn echo(ws: &mut Ws) -> tungstenite::Result<String> {
    let mut client_close = None;
    loop {
        match ws.read() {
            Ok(Message::Close(frame)) => client_close = Some(frame),
            Ok(message) => echo_message(ws, message)?,
            Err(Error::ConnectionClosed) => {
                return Ok(match client_close {
                    Some(Some(frame)) => {
                        format!("client closed with {} {:?}", frame.code, frame.reason.as_str())
                    }
                    Some(None) => "client closed with an empty close frame".into(),
                    None => "close handshake done".into(),
                })
            }
            Err(err) => return Err(err),
        }
    }
}

/// `/close?code=C&reason=R`: sends a close frame, then reads until the client answers.
fn close(ws: &mut Ws, request: &Request) -> tungstenite::Result<String> {
    let frame = request
        .param("code")
        .and_then(|code| code.trim().parse::<u16>().ok())
        .map(|code| CloseFrame {
            code: CloseCode::from(code),
            reason: request.param("reason").unwrap_or("").into(),
        });
    ws.close(frame)?;
    ws.flush()?;
    loop {
        match ws.read() {
            Ok(Message::Close(Some(frame))) => {
                return Ok(format!(
                    "client answered {} {:?}",
                    frame.code,
                    frame.reason.as_str()
                ))
            }
            Ok(Message::Close(None)) => return Ok("client answered with an empty close frame".into()),
            Ok(_) => {}
            Err(err) => return Err(err),
        }
    }
}

/// Sends the text messages "0".."count-1" and flushes.
fn send_numbers(ws: &mut Ws, count: u64) -> tungstenite::Result<()> {
    for i in 0..count {
        ws.write(Message::Text(i.to_string().into()))?;
    }
    ws.flush()
}

/// `/drop?send=N`: sends N numbers, then shuts TCP down without a close frame.
fn drop_connection(mut ws: Ws, request: &Request) -> String {
    let count = request.num("send", 0u64);
    let sent = send_numbers(&mut ws, count);
    ws.get_ref().abort();
    match sent {
        Ok(()) => format!("sent {count}, dropped"),
        Err(err) => format!("sending failed ({err}), dropped"),
    }
}

/// `/slow?bytes=N&delay_ms=D`: reads nothing for D ms, then counts N payload bytes,
/// answers `received T`, then echoes.
fn slow(ws: &mut Ws, request: &Request) -> tungstenite::Result<String> {
    let wanted = request.num("bytes", 0u64);
    thread::sleep(Duration::from_millis(request.num("delay_ms", 1000u64)));
    let mut total = 0u64;
    while total < wanted {
        match ws.read()? {
            Message::Text(text) => total += text.len() as u64,
            Message::Binary(data) => total += data.len() as u64,
            Message::Close(_) => return echo(ws).map(|end| format!("got {total} bytes; {end}")),
            _ => {}
        }
    }
    ws.send(Message::Text(format!("received {total}").into()))?;
    echo(ws).map(|end| format!("received {total}; {end}"))
}

/// `/ignore-close`: echoes, but never answers the client's close frame; waits for the
/// client to close TCP (60 s at most).
fn ignore_close(mut ws: Ws) -> String {
    loop {
        let message = match ws.read() {
            Ok(Message::Close(_)) => break,
            Ok(message) => echo_message(&mut ws, message),
            Err(err) => Err(err),
        };
        if let Err(err) = message {
            ws.into_inner().finish(LINGER);
            return describe(&err);
        }
    }
    // The answer tungstenite queued is never written: the raw stream is read directly.
    let mut conn = ws.into_inner();
    let outcome = if conn.drain_until(Instant::now() + IGNORE_CLOSE_WAIT) {
        "close frame ignored; client closed TCP"
    } else {
        "close frame ignored; gave up waiting"
    };
    conn.abort();
    outcome.into()
}

/// `/mute`: a peer that goes silent without closing: after the handshake it reads and
/// discards raw bytes (pings included, never answered) until the client closes TCP, or
/// [`IGNORE_CLOSE_WAIT`] passes.
fn mute(ws: Ws) -> String {
    let mut conn = ws.into_inner();
    let outcome = if conn.drain_until(Instant::now() + IGNORE_CLOSE_WAIT) {
        "silent; client closed TCP"
    } else {
        "silent; gave up waiting"
    };
    conn.abort();
    outcome.into()
}

/// `/tls`: what TLS negotiated, and the client's certificate.
fn tls(ws: &mut Ws, details: Option<TlsDetails>) -> tungstenite::Result<()> {
    let Some(TlsDetails { alpn, client_chain }) = details else {
        return ws.send(Message::Text("alpn=plain client_certificates=0".into()));
    };
    let alpn = alpn.map_or("none".into(), |alpn| String::from_utf8_lossy(&alpn).into_owned());
    let line = format!("alpn={alpn} client_certificates={}", client_chain.len());
    ws.send(Message::Text(line.into()))?;
    if let Some(leaf) = client_chain.into_iter().next() {
        ws.send(Message::Binary(leaf.into()))?;
    }
    Ok(())
}

/// Decodes hexadecimal digits, ignoring whitespace. None if invalid.
fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let pairs = digits.chunks_exact(2);
    if !pairs.remainder().is_empty() {
        return None;
    }
    pairs
        .map(|pair| Some(hex_digit(pair[0])? << 4 | hex_digit(pair[1])?))
        .collect()
}

/// `/raw?hex=HEX`: writes the bytes as they are, then reads as `/echo` does, ignoring
/// errors, until the client closes TCP or 10 s pass.
fn raw(mut ws: Ws, bytes: &[u8]) -> String {
    let deadline = Instant::now() + RAW_WAIT;
    let written = ws.get_mut().write_all(bytes).and_then(|()| ws.get_mut().flush());
    if let Err(err) = written {
        ws.get_ref().abort();
        return format!("writing {} raw bytes failed: {err}", bytes.len());
    }
    let mut note = format!("wrote {} raw bytes", bytes.len());
    loop {
        let now = Instant::now();
        if now >= deadline || ws.get_ref().set_read_timeout(deadline - now).is_err() {
            note.push_str("; 10 s passed");
            break;
        }
        let result = match ws.read() {
            Ok(Message::Close(frame)) => {
                match frame {
                    Some(frame) => {
                        note.push_str(&format!("; client close {} {:?}", frame.code, &*frame.reason))
                    }
                    None => note.push_str("; client empty close"),
                }
                Ok(())
            }
            Ok(message) => echo_message(&mut ws, message),
            Err(err) => Err(err),
        };
        match result {
            Ok(()) => {}
            Err(Error::ConnectionClosed) => {
                note.push_str("; close handshake done");
                break;
            }
            Err(Error::Io(err)) if is_timeout(&err) => {
                note.push_str("; 10 s passed");
                break;
            }
            Err(err) => {
                // Ignored: keep the connection until the client closes it or time is up.
                note.push_str(&format!("; error: {err}"));
                let closed = ws.get_mut().drain_until(deadline);
                note.push_str(if closed {
                    "; client closed TCP"
                } else {
                    "; 10 s passed"
                });
                ws.get_ref().abort();
                return note;
            }
        }
    }
    ws.into_inner().finish(LINGER);
    note
}

/// `/big?bytes=N&kind=text|binary`: sends one message of N `x` bytes.
fn big(ws: &mut Ws, request: &Request) -> tungstenite::Result<()> {
    let size = request.num("bytes", 0usize);
    let message = match request.param("kind") {
        Some("binary") => Message::Binary(vec![b'x'; size].into()),
        _ => Message::Text("x".repeat(size).into()),
    };
    ws.send(message)
}

/// `/headers`: sends the request headers, `name: value` per line, names lower-cased.
fn headers(ws: &mut Ws, request: &Request) -> tungstenite::Result<()> {
    let lines: Vec<String> = request
        .headers
        .iter()
        .map(|(name, value)| format!("{}: {value}", name.to_ascii_lowercase()))
        .collect();
    ws.send(Message::Text(lines.join("\n").into()))
}

/// `/ping?payload=P`: pings, waits for the matching pong, sends `pong:P`, then echoes.
/// Messages that arrive before the pong are echoed.
fn ping(ws: &mut Ws, request: &Request) -> tungstenite::Result<String> {
    let payload = request.param("payload").unwrap_or("hi").to_owned();
    ws.send(Message::Ping(payload.clone().into_bytes().into()))?;
    loop {
        match ws.read()? {
            Message::Pong(data) if data.as_ref() == payload.as_bytes() => break,
            Message::Close(_) => return echo(ws).map(|end| format!("no pong; {end}")),
            message => echo_message(ws, message)?,
        }
    }
    ws.send(Message::Text(format!("pong:{payload}").into()))?;
    echo(ws).map(|end| format!("pong received; {end}"))
}

/// `/hello`: the tutorial's demo server. To "My name is NAME" it answers "Hello from server,
/// NAME!", then closes with 1000; anything else is echoed.
fn hello(ws: &mut Ws) -> tungstenite::Result<String> {
    loop {
        match ws.read()? {
            Message::Text(text) => match text.as_str().strip_prefix("My name is ") {
                Some(name) => {
                    ws.send(Message::Text(format!("Hello from server, {name}!").into()))?;
                    ws.close(Some(CloseFrame {
                        code: CloseCode::Normal,
                        reason: "".into(),
                    }))?;
                    ws.flush()?;
                    return echo(ws).map(|end| format!("greeted {name}; {end}"));
                }
                None => echo_message(ws, Message::Text(text))?,
            },
            Message::Close(_) => return echo(ws).map(|end| format!("no name; {end}")),
            message => echo_message(ws, message)?,
        }
    }
}

/// `/file?name=N`: sends the file named N as one text message and closes with 1000; closes with
/// 4404 when the server has no such file or cannot read it.
fn file(ws: &mut Ws, request: &Request, files: &Files) -> tungstenite::Result<String> {
    let name = request.param("name").unwrap_or("");
    let read = files.get(name).map(std::fs::read_to_string);
    let (code, reason, outcome) = match read {
        Some(Ok(text)) => {
            let bytes = text.len();
            ws.send(Message::Text(text.into()))?;
            (CloseCode::Normal, "", format!("sent {name} ({bytes} bytes)"))
        }
        Some(Err(err)) => (
            CloseCode::from(4404),
            "cannot read the file",
            format!("{name}: {err}"),
        ),
        None => (CloseCode::from(4404), "no such file", format!("no file {name:?}")),
    };
    ws.close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))?;
    echo(ws).map(|end| format!("{outcome}; {end}"))
}

/// `/restart?down_ms=D`: stops the restartable listener, says `stopped`, keeps it down for D ms
/// (the outage under test, at most [`MAX_DOWN`]), starts it again on its address, says
/// `restarted`, then echoes. Closes with 4404 when there is no restartable listener, 1011 when
/// it cannot be bound again.
fn restart(ws: &mut Ws, request: &Request, restartable: Option<&Restartable>) -> tungstenite::Result<String> {
    let Some(restartable) = restartable else {
        ws.close(Some(CloseFrame {
            code: CloseCode::from(4404),
            reason: "no restartable listener".into(),
        }))?;
        return echo(ws).map(|end| format!("no restartable listener; {end}"));
    };
    let down = Duration::from_millis(request.num("down_ms", 0u64)).min(MAX_DOWN);
    restartable.stop();
    ws.send(Message::Text("stopped".into()))?;
    thread::sleep(down);
    if let Err(err) = restartable.start_again() {
        ws.close(Some(CloseFrame {
            code: CloseCode::Error,
            reason: "cannot listen again".into(),
        }))?;
        return echo(ws).map(|end| format!("{}: cannot listen again: {err}; {end}", restartable.addr));
    }
    ws.send(Message::Text("restarted".into()))?;
    echo(ws).map(|end| format!("{} down for {down:?}, back; {end}", restartable.addr))
}

/// The reason phrase of an HTTP status code.
fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        410 => "Gone",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Refused",
    }
}

/// `/reject?status=S`: does not upgrade; answers S (default 403) with body `refused`.
fn reject(conn: Conn, request: &Request) -> String {
    let status = request.num("status", 403u16);
    let status = if (100..=999).contains(&status) {
        status
    } else {
        403
    };
    http_answer(conn, status, reason_phrase(status), "", "refused")
}

/// `/handshake?mode=M`: answers the upgrade with garbage, then closes the connection.
///
/// Modes: `bad-accept` (a wrong `Sec-WebSocket-Accept`), `status-200` (`200 OK` with the
/// upgrade headers), `truncated` (a cut-off status line and header), `http10`
/// (`HTTP/1.0 101`), `no-upgrade` (a 101 without `Upgrade`).
fn bad_handshake(mut conn: Conn, request: &Request) -> String {
    let accept = request.accept_key();
    let mode = request.param("mode").unwrap_or("");
    let head = match mode {
        "bad-accept" => format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n\r\n",
            derive_accept_key(b"not the key the client sent")
        ),
        "status-200" => format!(
            "HTTP/1.1 200 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {accept}\r\nContent-Length: 0\r\n\r\n"
        ),
        "truncated" => "HTTP/1.1 101 Switching Protocols\r\nUpgrade: webs".to_owned(),
        "http10" => format!(
            "HTTP/1.0 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {accept}\r\n\r\n"
        ),
        "no-upgrade" => format!(
            "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
        ),
        _ => return http_answer(conn, 400, "Bad Request", "", "unknown mode\n"),
    };
    let written = conn.write_all(head.as_bytes()).and_then(|()| conn.flush());
    conn.finish(LINGER);
    match written {
        Ok(()) => format!("garbage handshake ({mode})"),
        Err(err) => format!("garbage handshake ({mode}) failed: {err}"),
    }
}
