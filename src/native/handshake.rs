//! The client side of the opening handshake (native), checked the way Chromium checks it:
//! status 101 (HTTP/1.1 or, as Chromium allows, HTTP/1.0), `Upgrade: websocket`, an `upgrade`
//! token in `Connection`, the right `Sec-WebSocket-Accept`, the extensions answer as
//! permessage-deflate's negotiation checks it, and a subprotocol if and only if we asked for
//! some, and then one we asked for.

use std::io::{self, Read, Write};

use tungstenite::handshake::client::generate_key;
use tungstenite::handshake::derive_accept_key;

use super::tls;
use super::wire::extension::{self, Negotiated};
use crate::rules::url::WebSocketUrl;
use crate::socket::WebSocketBuilder;
use crate::{FailureCause, IoFailure};

/// The largest handshake answer accepted.
const MAX_RESPONSE_BYTES: usize = 16 * 1024;
const MAX_HEADERS: usize = 64;

/// A handshake in progress over a non-blocking stream.
pub(crate) struct ClientHandshake {
    request: Vec<u8>,
    written: usize,
    response: Vec<u8>,
    accept: String,
    protocols: Vec<String>,
    /// permessage-deflate was offered.
    offered_deflate: bool,
}

/// The handshake's outcome once the server's answer is complete and valid.
pub(crate) struct Accepted {
    /// The subprotocol the server selected, or empty.
    pub(crate) protocol: String,
    /// Bytes the server sent after its answer: the first frames.
    pub(crate) tail: Vec<u8>,
    /// The extensions the server accepted (permessage-deflate's parameters, and what
    /// `extensions()` reports).
    pub(crate) negotiated: Negotiated,
}

impl ClientHandshake {
    /// Prepares the request for `url` with the subprotocols, `Origin` and headers of
    /// `options`, and a fresh key.
    pub(crate) fn new(url: &WebSocketUrl, options: &WebSocketBuilder) -> Self {
        Self::with_key(url, options, generate_key())
    }

    /// The same with a given `Sec-WebSocket-Key` (the fuzz targets use the RFC's sample key).
    pub(crate) fn with_key(url: &WebSocketUrl, options: &WebSocketBuilder, key: String) -> Self {
        let mut request = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n",
            url.resource(),
            url.host_header()
        );
        let mut header = |name: &str, value: &str| {
            request.push_str(name);
            request.push_str(": ");
            request.push_str(value);
            request.push_str("\r\n");
        };
        if !options.protocols.is_empty() {
            header("Sec-WebSocket-Protocol", &options.protocols.join(", "));
        }
        if options.permessage_deflate {
            header("Sec-WebSocket-Extensions", extension::OFFER);
        }
        if let Some(origin) = &options.origin {
            header("Origin", origin);
        }
        for (name, value) in &options.headers {
            header(name, value);
        }
        request.push_str("\r\n");
        Self {
            request: request.into_bytes(),
            written: 0,
            response: Vec::new(),
            accept: derive_accept_key(key.as_bytes()),
            protocols: options.protocols.clone(),
            offered_deflate: options.permessage_deflate,
        }
    }

    /// Writes the request and reads the answer as far as the stream allows: `Ok(None)` when
    /// it would block, the outcome once the answer is complete.
    pub(crate) fn advance(
        &mut self,
        stream: &mut (impl Read + Write),
    ) -> Result<Option<Accepted>, FailureCause> {
        while self.written < self.request.len() {
            match stream.write(&self.request[self.written..]) {
                Ok(0) => return Err(ended("the connection closed while sending the request")),
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) => return Err(io_cause(e)),
            }
        }
        match stream.flush() {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) => return Err(io_cause(e)),
        }
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(end) = find_end(&self.response) {
                return self.check(end).map(Some);
            }
            if self.response.len() > MAX_RESPONSE_BYTES {
                return Err(FailureCause::Handshake(
                    "the answer's headers are too large".into(),
                ));
            }
            match stream.read(&mut chunk) {
                Ok(0) => return Err(ended("the connection closed before the answer was complete")),
                Ok(n) => self.response.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) => return Err(io_cause(e)),
            }
        }
    }

    /// Checks the complete answer, whose headers end at `end`.
    fn check(&mut self, end: usize) -> Result<Accepted, FailureCause> {
        let reject = |why: String| Err(FailureCause::Handshake(why));
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(&self.response[..end]) {
            Ok(httparse::Status::Complete(_)) => {}
            Ok(httparse::Status::Partial) => return reject("the answer is incomplete".into()),
            Err(e) => return reject(format!("the answer is not valid HTTP: {e}")),
        }
        let status = response.code.unwrap_or(0);
        if status != 101 {
            return reject(format!("the server answered HTTP {status} instead of 101"));
        }
        let values = |name: &str| -> Vec<String> {
            response
                .headers
                .iter()
                .filter(|h| h.name.eq_ignore_ascii_case(name))
                .map(|h| String::from_utf8_lossy(h.value).trim().to_string())
                .collect()
        };
        let upgrade = values("Upgrade");
        if upgrade.len() != 1 || !upgrade[0].eq_ignore_ascii_case("websocket") {
            return reject(format!("the 'Upgrade' header is {upgrade:?}, not 'websocket'"));
        }
        let connection = values("Connection");
        if !connection
            .iter()
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
        {
            return reject(format!(
                "the 'Connection' header {connection:?} has no 'Upgrade' token"
            ));
        }
        let accept = values("Sec-WebSocket-Accept");
        if accept != [self.accept.as_str()] {
            return reject(format!("wrong 'Sec-WebSocket-Accept' {accept:?}"));
        }
        let extension_lines = response
            .headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case("Sec-WebSocket-Extensions"))
            .map(|h| h.value);
        let negotiated = extension::negotiate(extension_lines, self.offered_deflate)
            .map_err(|why| FailureCause::Handshake(why.to_string()))?;
        let protocol = self.check_protocol(values("Sec-WebSocket-Protocol"))?;
        Ok(Accepted {
            protocol,
            tail: self.response.split_off(end),
            negotiated,
        })
    }

    fn check_protocol(&self, selected: Vec<String>) -> Result<String, FailureCause> {
        let reject = |why: String| Err(FailureCause::Subprotocol(why));
        match selected.as_slice() {
            [] if self.protocols.is_empty() => Ok(String::new()),
            [] => reject("subprotocols were requested but the server selected none".into()),
            [one] if self.protocols.contains(one) => Ok(one.clone()),
            [one] if self.protocols.is_empty() => {
                reject(format!("the server selected {one:?}, but none was requested"))
            }
            [one] => reject(format!("the server selected {one:?}, which was not requested")),
            _ => reject(format!(
                "the server selected more than one subprotocol: {selected:?}"
            )),
        }
    }
}

/// Where the answer's headers end (just past the blank line), once they have.
fn find_end(response: &[u8]) -> Option<usize> {
    response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| at + 4)
}

fn ended(why: &str) -> FailureCause {
    FailureCause::Handshake(why.into())
}

/// The cause for an I/O error during the handshake (TLS errors come through here too).
fn io_cause(error: io::Error) -> FailureCause {
    tls::tls_cause(&error).unwrap_or_else(|| match error.kind() {
        io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => {
            ended(&format!("the connection ended during the handshake: {error}"))
        }
        _ => FailureCause::Connect(IoFailure::from(&error)),
    })
}
