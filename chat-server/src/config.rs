//! The command line: the options, their defaults, and `--help`.

use std::path::PathBuf;
use std::time::Duration;

/// `--listen`: the address to listen on (port 0 picks a free port).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// `--max-message-size`: the largest incoming message, in bytes (64 KiB).
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 64 * 1024;
/// `--max-clients`: how many WebSocket clients may be connected at once.
pub const DEFAULT_MAX_CLIENTS: usize = 10_000;
/// `--queue`: how many outgoing messages may wait for one client before it is dropped.
pub const DEFAULT_QUEUE: usize = 256;
/// `--rate-limit`: messages per second a client may send (0: no limit).
pub const DEFAULT_RATE_LIMIT: u32 = 0;
/// `--header-timeout`: how long a connection may take to send a complete request head, in
/// seconds (0: no limit).
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
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
    /// Each client's outgoing queue, in messages; a client whose queue is full gets 1013.
    pub queue: usize,
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
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN.to_string(),
            allow_origins: Vec::new(),
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            max_clients: DEFAULT_MAX_CLIENTS,
            queue: DEFAULT_QUEUE,
            rate_limit: DEFAULT_RATE_LIMIT,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            www: PathBuf::from(DEFAULT_WWW),
            pkg: PathBuf::from(DEFAULT_PKG),
            echo_route: false,
        }
    }
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    /// Run the server with these settings.
    Run(Config),
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
  --max-clients N            WebSocket clients at once (default {DEFAULT_MAX_CLIENTS}); one more: HTTP 503
  --queue N                  outgoing messages queued per client (default {DEFAULT_QUEUE}); full: close 1013
  --rate-limit N             messages per second per client, burst N (default {DEFAULT_RATE_LIMIT} = off); over: close 1008
  --header-timeout SECS      seconds a connection may take to send a complete request head (default
                             {header_timeout}; 0 = off); later: dropped. WebSockets are not bound
  --www DIR                  static files served at / (default {DEFAULT_WWW})
  --pkg DIR                  static files served at /pkg/ (default {DEFAULT_PKG})
  --echo-route               also serve /echo, which echoes text and binary to the sender only
  -h, --help                 print this help

Logs go to stderr; set RUST_LOG to change the level (default info).
",
        header_timeout = DEFAULT_HEADER_TIMEOUT.as_secs_f64(),
    )
}

/// Parses the arguments (without the program name). `--opt value` and `--opt=value` both work.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut config = Config::default();
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
            "--queue" => config.queue = number(&name, &value()?, 1)?,
            "--rate-limit" => config.rate_limit = number(&name, &value()?, 0)?,
            "--header-timeout" => config.header_timeout = seconds(&name, &value()?)?,
            "--www" => config.www = PathBuf::from(value()?),
            "--pkg" => config.pkg = PathBuf::from(value()?),
            "--echo-route" if inline.is_none() => config.echo_route = true,
            _ => return Err(format!("unknown argument {name:?}")),
        }
    }
    Ok(Command::Run(config))
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
