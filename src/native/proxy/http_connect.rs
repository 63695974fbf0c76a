//! The HTTP proxy's tunnel: `CONNECT host:port HTTP/1.1`, with `Proxy-Authorization: Basic`
//! when the proxy URL has credentials; any 2xx answer opens the tunnel.

use std::io::{Read, Write};

use base64::Engine as _;

use super::exchange::Exchange;
use super::tunnel::Destination;
use super::Credentials;
use crate::error::ProxyFailure;

/// The largest answer head accepted.
const MAX_ANSWER_BYTES: usize = 16 * 1024;
const MAX_HEADERS: usize = 64;

/// A `CONNECT` in progress.
#[derive(Debug)]
pub(super) struct HttpConnect {
    exchange: Exchange,
}

impl HttpConnect {
    /// The request for a tunnel to `destination`.
    pub(super) fn new(destination: &Destination, credentials: Option<&Credentials>) -> Self {
        let authority = destination.authority();
        let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
        if let Some(Credentials { user, password }) = credentials {
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            request.push_str("Proxy-Authorization: Basic ");
            request.push_str(&token);
            request.push_str("\r\n");
        }
        request.push_str("\r\n");
        Self {
            exchange: Exchange::new(request.into_bytes()),
        }
    }

    /// Sends the request and reads the answer as far as the stream allows: `Ok(false)` when
    /// it would block, `Ok(true)` once the proxy has opened the tunnel.
    pub(super) fn advance(&mut self, stream: &mut (impl Read + Write)) -> Result<bool, ProxyFailure> {
        if !self.exchange.send(stream)? {
            return Ok(false);
        }
        loop {
            if let Some(opened) = self.check()? {
                return Ok(opened);
            }
            let room = MAX_ANSWER_BYTES + 1 - self.exchange.answer().len();
            if room == 0 {
                return Err(ProxyFailure::Protocol(
                    "the answer's head is larger than 16 KiB".into(),
                ));
            }
            if !self.exchange.read_up_to(stream, room)? {
                return Ok(false);
            }
        }
    }

    /// The outcome once the answer's head is complete: `None` until then.
    fn check(&self) -> Result<Option<bool>, ProxyFailure> {
        let answer = self.exchange.answer();
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut headers);
        let end = match response.parse(answer) {
            Ok(httparse::Status::Complete(end)) => end,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(e) => {
                return Err(ProxyFailure::Protocol(format!(
                    "the answer is not valid HTTP: {e}"
                )))
            }
        };
        let code = response.code.unwrap_or_default();
        if !(200..300).contains(&code) {
            return Err(ProxyFailure::Status {
                code,
                reason: response.reason.unwrap_or_default().to_string(),
            });
        }
        if answer.len() > end {
            // Neither TLS nor the WebSocket handshake lets the server speak first.
            return Err(ProxyFailure::Protocol(format!(
                "{} bytes came after the answer, before the tunnel was used",
                answer.len() - end
            )));
        }
        Ok(Some(true))
    }
}
