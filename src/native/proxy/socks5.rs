//! The SOCKS5 proxy's tunnel (RFC 1928): the greeting (no authentication, and user name and
//! password when the proxy URL has them, RFC 1929), then `CONNECT` to an IP address or, for
//! `socks5h://`, a name the proxy resolves.

use std::io::{Read, Write};
use std::net::IpAddr;

use super::exchange::Exchange;
use super::tunnel::{Destination, Host};
use super::Credentials;
use crate::error::ProxyFailure;

const VERSION: u8 = 5;
const NO_AUTHENTICATION: u8 = 0x00;
const USER_PASSWORD: u8 = 0x02;
const NO_ACCEPTABLE_METHOD: u8 = 0xFF;
/// The version of the user name and password exchange (RFC 1929).
const USER_PASSWORD_VERSION: u8 = 1;
const CONNECT: u8 = 1;
const IPV4: u8 = 1;
const NAME: u8 = 3;
const IPV6: u8 = 4;
/// The reply's fixed head: version, reply code, reserved byte, address type.
const REPLY_HEAD: usize = 4;

/// Where the exchange is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// The greeting is out; the chosen method is awaited.
    Greeting,
    /// The user name and password are out; the verdict is awaited.
    Authenticating,
    /// The `CONNECT` is out; the reply's head is awaited.
    Connecting,
    /// The reply's head said the bound address is a name: its length byte is awaited.
    ReplyNameLength,
    /// The rest of the reply (bound address and port) is awaited, up to this length.
    ReplyRest(usize),
}

/// A SOCKS5 exchange in progress.
#[derive(Debug)]
pub(super) struct Socks5 {
    step: Step,
    exchange: Exchange,
    credentials: Option<Credentials>,
    connect: Vec<u8>,
}

impl Socks5 {
    /// The exchange for a tunnel to `destination`, or why SOCKS5 cannot name it.
    pub(super) fn new(
        destination: &Destination,
        credentials: Option<&Credentials>,
    ) -> Result<Self, ProxyFailure> {
        let mut connect = vec![VERSION, CONNECT, 0];
        match &destination.host {
            Host::Ip(IpAddr::V4(ip)) => {
                connect.push(IPV4);
                connect.extend_from_slice(&ip.octets());
            }
            Host::Ip(IpAddr::V6(ip)) => {
                connect.push(IPV6);
                connect.extend_from_slice(&ip.octets());
            }
            Host::Name(name) => {
                let len = u8::try_from(name.len()).map_err(|_| {
                    ProxyFailure::Protocol("SOCKS5 cannot name a host longer than 255 bytes".into())
                })?;
                connect.push(NAME);
                connect.push(len);
                connect.extend_from_slice(name.as_bytes());
            }
        }
        connect.extend_from_slice(&destination.port.to_be_bytes());
        let greeting = match credentials {
            Some(_) => vec![VERSION, 2, NO_AUTHENTICATION, USER_PASSWORD],
            None => vec![VERSION, 1, NO_AUTHENTICATION],
        };
        Ok(Self {
            step: Step::Greeting,
            exchange: Exchange::new(greeting),
            credentials: credentials.cloned(),
            connect,
        })
    }

    /// Sends and reads as far as the stream allows: `Ok(false)` when it would block,
    /// `Ok(true)` once the proxy has opened the tunnel (nothing after its reply is read).
    pub(super) fn advance(&mut self, stream: &mut (impl Read + Write)) -> Result<bool, ProxyFailure> {
        loop {
            if !self.exchange.send(stream)? {
                return Ok(false);
            }
            let wanted = match self.step {
                Step::Greeting | Step::Authenticating => 2,
                Step::Connecting => REPLY_HEAD,
                Step::ReplyNameLength => REPLY_HEAD + 1,
                Step::ReplyRest(len) => len,
            };
            if !self.exchange.read_to(stream, wanted)? {
                return Ok(false);
            }
            let answer = self.exchange.answer();
            match self.step {
                Step::Greeting => self.method_chosen(answer[0], answer[1])?,
                Step::Authenticating => self.authenticated(answer[0], answer[1])?,
                Step::Connecting => self.step = reply_head(answer)?,
                Step::ReplyNameLength => {
                    self.step = Step::ReplyRest(REPLY_HEAD + 1 + usize::from(answer[REPLY_HEAD]) + 2)
                }
                Step::ReplyRest(_) => return Ok(true),
            }
        }
    }

    fn method_chosen(&mut self, version: u8, method: u8) -> Result<(), ProxyFailure> {
        if version != VERSION {
            return Err(not_socks5(version));
        }
        match (method, &self.credentials) {
            (NO_AUTHENTICATION, _) => self.send_connect(),
            (USER_PASSWORD, Some(Credentials { user, password })) => {
                // Both fit: the proxy URL's parser refuses longer ones.
                let mut request = vec![USER_PASSWORD_VERSION, user.len() as u8];
                request.extend_from_slice(user.as_bytes());
                request.push(password.len() as u8);
                request.extend_from_slice(password.as_bytes());
                self.exchange = Exchange::new(request);
                self.step = Step::Authenticating;
            }
            (NO_ACCEPTABLE_METHOD, None) => return Err(ProxyFailure::AuthenticationRequired),
            (NO_ACCEPTABLE_METHOD, Some(_)) => {
                return Err(ProxyFailure::Protocol(
                    "the proxy accepts neither no authentication nor a user name and password".into(),
                ))
            }
            (other, _) => {
                return Err(ProxyFailure::Protocol(format!(
                    "the proxy chose authentication method {other}, which was not offered"
                )))
            }
        }
        Ok(())
    }

    fn authenticated(&mut self, version: u8, status: u8) -> Result<(), ProxyFailure> {
        if version != USER_PASSWORD_VERSION {
            return Err(ProxyFailure::Protocol(format!(
                "the answer to the user name and password has version {version}, not 1"
            )));
        }
        if status != 0 {
            return Err(ProxyFailure::CredentialsRejected);
        }
        self.send_connect();
        Ok(())
    }

    fn send_connect(&mut self) {
        self.exchange = Exchange::new(std::mem::take(&mut self.connect));
        self.step = Step::Connecting;
    }
}

/// The step after the reply's head: its reply code decides, then the bound address's type
/// says how much is left to read.
fn reply_head(head: &[u8]) -> Result<Step, ProxyFailure> {
    if head[0] != VERSION {
        return Err(not_socks5(head[0]));
    }
    if head[1] != 0 {
        return Err(ProxyFailure::SocksReply(head[1]));
    }
    match head[3] {
        IPV4 => Ok(Step::ReplyRest(REPLY_HEAD + 4 + 2)),
        IPV6 => Ok(Step::ReplyRest(REPLY_HEAD + 16 + 2)),
        NAME => Ok(Step::ReplyNameLength),
        other => Err(ProxyFailure::Protocol(format!(
            "the reply has an unknown address type {other}"
        ))),
    }
}

fn not_socks5(version: u8) -> ProxyFailure {
    ProxyFailure::Protocol(format!("the answer has version {version}: not a SOCKS5 proxy"))
}
