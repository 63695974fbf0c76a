//! The command line: `chat-desktop [URL] [--send LINE]...`.

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    /// The chat's WebSocket URL.
    pub url: String,
    /// Lines to send at start (queued until the connection opens), in order.
    pub send: Vec<String>,
}

/// The usage text.
pub const USAGE: &str = "usage: chat-desktop [URL] [--send LINE]...\n  URL: the chat server's WebSocket (default ws://127.0.0.1:8080/ws)\n  --send LINE: send LINE once connected (repeatable, in order)";

/// The default URL: the local `chat-server`.
pub const DEFAULT_URL: &str = "ws://127.0.0.1:8080/ws";

/// A command line that cannot be followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgsError {
    /// `--help` was asked for.
    Help,
    /// `--send` without its line.
    MissingLine,
    /// An option that does not exist.
    Unknown(String),
    /// A second URL.
    ExtraUrl(String),
}

impl std::fmt::Display for ArgsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Help => f.write_str(USAGE),
            Self::MissingLine => f.write_str("--send needs a line"),
            Self::Unknown(arg) => write!(f, "unknown option {arg:?}"),
            Self::ExtraUrl(arg) => write!(f, "one URL only; {arg:?} is a second"),
        }
    }
}

/// Parses the arguments (without the program's name).
///
/// # Errors
/// An [`ArgsError`] for `--help` or a command line that cannot be followed.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, ArgsError> {
    let mut url = None;
    let mut send = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Err(ArgsError::Help),
            "--send" => send.push(args.next().ok_or(ArgsError::MissingLine)?),
            _ if arg.starts_with("--send=") => send.push(arg["--send=".len()..].to_string()),
            _ if arg.starts_with('-') => return Err(ArgsError::Unknown(arg)),
            _ if url.is_some() => return Err(ArgsError::ExtraUrl(arg)),
            _ => url = Some(arg),
        }
    }
    Ok(Args {
        url: url.unwrap_or_else(|| DEFAULT_URL.to_string()),
        send,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(args: &[&str]) -> Result<Args, ArgsError> {
        parse(args.iter().map(|a| a.to_string()))
    }

    #[test]
    fn the_url_defaults_to_the_local_chat_server() {
        assert_eq!(
            parsed(&[]),
            Ok(Args {
                url: DEFAULT_URL.into(),
                send: Vec::new()
            })
        );
    }

    #[test]
    fn send_lines_are_kept_in_order_in_both_spellings() {
        assert_eq!(
            parsed(&["ws://h/ws", "--send", "one", "--send=two words"]),
            Ok(Args {
                url: "ws://h/ws".into(),
                send: vec!["one".into(), "two words".into()]
            })
        );
    }

    #[test]
    fn bad_command_lines_say_what_is_wrong() {
        assert_eq!(parsed(&["--send"]), Err(ArgsError::MissingLine));
        assert_eq!(parsed(&["--size", "3"]), Err(ArgsError::Unknown("--size".into())));
        assert_eq!(
            parsed(&["ws://a/", "ws://b/"]),
            Err(ArgsError::ExtraUrl("ws://b/".into()))
        );
        assert_eq!(parsed(&["--help"]), Err(ArgsError::Help));
    }
}
