//! The command line: the options, their defaults, and `--help`.

use std::path::PathBuf;
use std::time::Duration;

/// `--listen`: the address to listen on (port 0 picks a free port).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// `--max-message-size`: the largest incoming message, in bytes (64 KiB).
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 64 * 1024;
/// `--max-clients`: how many WebSocket clients may be connected at once.
pub const DEFAULT_MAX_CLIENTS: usize = 10_000;
/// `--queue-bytes`: how many bytes of outgoing messages may wait for one client (64 KiB: about
/// 250 chat lines of the longest kind, 1,000 short ones). Each message counts its text plus
/// [`crate::queue::ENTRY_COST`] bytes for its place in the queue.
pub const DEFAULT_QUEUE_BYTES: usize = 64 * 1024;
/// `--rate-limit`: messages per second a client may send (0: no limit).
pub const DEFAULT_RATE_LIMIT: u32 = 0;
/// `--header-timeout`: how long a connection may take to send a complete request head, in
/// seconds (0: no limit).
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// `--redis-channel`: the Redis channel the servers of one chat share.
pub const DEFAULT_REDIS_CHANNEL: &str = "twinsock-chat";
/// `--www`: the directory served at `/` (relative to the working directory).
pub const DEFAULT_WWW: &str = "www";
/// `--pkg`: the directory served at `/pkg/` (the `wasm-pack build --target web` output).
pub const DEFAULT_PKG: &str = "pkg";

/// The server's settings, from the command line.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen (`HOST:PORT`).
    pub listen: String,
    /// Origins allowed besides the server's own; `*` allows every origin.
    pub allow_origins: Vec<String>,
    /// The largest incoming message, in bytes; a larger one closes the client with 1009.
    pub max_message_size: usize,
    /// How many WebSocket clients may be connected at once; one more gets HTTP 503.
    pub max_clients: usize,
    /// How many connections (HTTP and WebSocket) may be open at once; `None`: as many as the
    /// open-files limit allows, less a reserve. Over it, a connection is refused with 503.
    pub max_connections: Option<usize>,
    /// Each client's outgoing queue, in bytes. A sender waits while a reading client's queue is
    /// full; a client whose queue is full while its socket takes nothing gets 1013.
    pub queue_bytes: usize,
    /// Messages per second per client (burst of as many); over it the client gets 1008.
    /// 0 turns the limit off.
    pub rate_limit: u32,
    /// How long a connection may take to send a complete request head (counted from the
    /// connection, or from the server's last answer on a kept-alive one); later, it is
    /// dropped. Zero turns the limit off. WebSockets are not bound by it.
    pub header_timeout: Duration,
    /// The static files served at `/`.
    pub www: PathBuf,
    /// The static files served at `/pkg/`.
    pub pkg: PathBuf,
    /// Whether `/echo` (echo to the sender only) is served.
    pub echo_route: bool,
    /// The TLS certificate chain and private key (PEM files): serve HTTPS and WSS.
    pub tls: Option<TlsFiles>,
    /// The Redis server shared with other chat servers (`redis://HOST:PORT/`), if any.
    pub redis: Option<String>,
    /// The Redis channel of the chat.
    pub redis_channel: String,
}

/// `--tls-cert` and `--tls-key`: PEM files.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The certificate chain, the server's own certificate first.
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN.to_string(),
            allow_origins: Vec::new(),
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            max_clients: DEFAULT_MAX_CLIENTS,
            max_connections: None,
            queue_bytes: DEFAULT_QUEUE_BYTES,
            rate_limit: DEFAULT_RATE_LIMIT,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            www: PathBuf::from(DEFAULT_WWW),
            pkg: PathBuf::from(DEFAULT_PKG),
            echo_route: false,
            tls: None,
            redis: None,
            redis_channel: DEFAULT_REDIS_CHANNEL.to_string(),
        }
    }
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    /// Run the server with these settings.
    Run(Box<Config>),
    /// Print [`usage`] and exit.
    Help,
}

/// The `--help` text.
pub fn usage() -> String {
    format!(
        "Usage: chat-server [OPTIONS]

The tutorial's chat server: every text message sent to /ws is cut to 50 characters and
broadcast to every connected client.

Options:
  --listen ADDR              address to listen on (default {DEFAULT_LISTEN}; port 0: any free port)
  --allow-origin ORIGIN      also accept WebSocket upgrades from this Origin (repeatable; '*' for
                             any). Always accepted: no Origin header, http://<listen address>,
                             http://localhost:<port> and http://127.0.0.1:<port>
  --max-message-size BYTES   largest incoming message (default {DEFAULT_MAX_MESSAGE_SIZE}); larger: close 1009
                             (also the most a client's unfinished message holds; and at most
                             that plus 8 KiB of unsent answers to its pings: a client that does
                             not read them is read no more, and closed with 1013 once its
                             socket has taken nothing for {slow} s)
  --max-clients N            WebSocket clients at once (default {DEFAULT_MAX_CLIENTS}); one more: HTTP 503
  --max-connections N        connections at once, HTTP and WebSocket (default: the open-files limit,
                             raised to its hard limit at start, less {reserve} kept for the server);
                             one more: HTTP 503 at once, or it takes the place of the connection
                             that has waited longest (over 1 s) for its request head
  --queue-bytes BYTES        outgoing bytes queued per client (default {DEFAULT_QUEUE_BYTES}; each message
                             counts its text + {entry} bytes). Full: the sender waits until it drains;
                             a client whose queue stays full while its socket takes nothing for
                             {slow} s is closed with 1013
  --rate-limit N             messages per second per client, burst N, pings included (default
                             {DEFAULT_RATE_LIMIT} = off); over: close 1008
  --header-timeout SECS      seconds a connection may take to send a complete request head, TLS
                             handshake included (default {header_timeout}; 0 = off); later: dropped.
                             Heads over 16 KiB get 431. WebSockets are not bound
  --tls-cert PATH            serve HTTPS and WSS with this certificate chain (PEM; with --tls-key)
  --tls-key PATH             the certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1)
  --redis URL                share the chat with the other servers on this Redis (redis://HOST:PORT/):
                             publish every message, deliver what the others publish
  --redis-channel NAME       the Redis channel of the chat (default {DEFAULT_REDIS_CHANNEL})
  --www DIR                  static files served at / (default {DEFAULT_WWW})
  --pkg DIR                  static files served at /pkg/ (default {DEFAULT_PKG})
  --echo-route               also serve /echo, which echoes text and binary to the sender only
  -h, --help                 print this help

GET /health answers with the clients, connections and Redis link as JSON.
Logs go to stderr; set RUST_LOG to change the level (default info).
",
        header_timeout = DEFAULT_HEADER_TIMEOUT.as_secs_f64(),
        reserve = crate::open_files::RESERVE,
        entry = crate::queue::ENTRY_COST,
        slow = crate::hub::SLOW_AFTER.as_secs_f64(),
    )
}

/// Parses the arguments (without the program name). `--opt value` and `--opt=value` both work.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut config = Config::default();
    let (mut tls_cert, mut tls_key) = (None, None);
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name.to_string(), Some(value.to_string())),
            _ => (arg, None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--listen" => config.listen = value()?,
            "--allow-origin" => config.allow_origins.push(value()?),
            "--max-message-size" => config.max_message_size = number(&name, &value()?, 1)?,
            "--max-clients" => config.max_clients = number(&name, &value()?, 1)?,
            "--max-connections" => config.max_connections = Some(number(&name, &value()?, 1)?),
            "--queue-bytes" => config.queue_bytes = number(&name, &value()?, 1)?,
            "--rate-limit" => config.rate_limit = number(&name, &value()?, 0)?,
            "--header-timeout" => config.header_timeout = seconds(&name, &value()?)?,
            "--www" => config.www = PathBuf::from(value()?),
            "--pkg" => config.pkg = PathBuf::from(value()?),
            "--echo-route" if inline.is_none() => config.echo_route = true,
            "--tls-cert" => tls_cert = Some(PathBuf::from(value()?)),
            "--tls-key" => tls_key = Some(PathBuf::from(value()?)),
            "--redis" => config.redis = Some(value()?),
            "--redis-channel" => config.redis_channel = value()?,
            _ => return Err(format!("unknown argument {name:?}")),
        }
    }
    config.tls = match (tls_cert, tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
        (None, None) => None,
        _ => return Err("--tls-cert and --tls-key go together".to_string()),
    };
    Ok(Command::Run(Box::new(config)))
}

/// `text` as a number of at least `min`, or an error naming the option.
fn number<T>(name: &str, text: &str, min: T) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    match text.parse::<T>() {
        Ok(n) if n >= min => Ok(n),
        _ => Err(format!(
            "{name} needs a whole number of at least {min}, not {text:?}"
        )),
    }
}

/// `text` as a duration in (possibly fractional) seconds, or an error naming the option.
fn seconds(name: &str, text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .ok_or_else(|| format!("{name} needs a number of seconds (0 or more), not {text:?}"))
}
