//! What the window shows, kept up to date by the chat's thread and read by the window's:
//! the connection's status, the lines (newest first) and how the chat ended.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use twinsock_chat::{ChatEvent, ChatStatus};

/// How many lines the window keeps; older ones scroll away for good.
pub const MAX_LINES: usize = 1000;

/// The shown state. Written by the chat's thread only (see [`View::apply`]), read by the
/// window's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// The status line (`open`, `reconnecting in 1.3 s (attempt 2)`...).
    pub status: String,
    /// The lines received, newest first.
    pub lines: VecDeque<String>,
    /// How the chat ended (with any unsent lines), once it has.
    pub ended: Option<String>,
}

/// The shared view: the chat's thread owns the writes, the window reads a copy each frame.
#[derive(Debug, Clone)]
pub struct View {
    shown: Arc<Mutex<Shown>>,
}

impl View {
    /// A view of a chat that is connecting.
    pub fn new() -> Self {
        Self {
            shown: Arc::new(Mutex::new(Shown {
                status: ChatStatus::Connecting.to_string(),
                lines: VecDeque::new(),
                ended: None,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Shown> {
        self.shown.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What to show now.
    pub fn snapshot(&self) -> Shown {
        self.lock().clone()
    }

    /// Takes in a chat event and the chat's status after it.
    pub fn apply(&self, event: &ChatEvent, status: ChatStatus) {
        let mut shown = self.lock();
        shown.status = status.to_string();
        match event {
            ChatEvent::Line(line) => {
                shown.lines.push_front(line.clone());
                shown.lines.truncate(MAX_LINES);
            }
            ChatEvent::Ended { end, unsent } if unsent.is_empty() => shown.ended = Some(format!("— {end}")),
            ChatEvent::Ended { end, unsent } => {
                shown.ended = Some(format!("— {end} (not sent: {})", unsent.join(" | ")))
            }
            ChatEvent::Connected { .. } | ChatEvent::Reconnecting { .. } | ChatEvent::Connecting { .. } => {}
        }
    }
}

impl Default for View {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use twinsock_chat::ChatEnd;

    use super::*;

    #[test]
    fn lines_are_shown_newest_first_and_the_oldest_scroll_away() {
        let view = View::new();
        for n in 0..MAX_LINES + 2 {
            view.apply(&ChatEvent::Line(n.to_string()), ChatStatus::Open);
        }
        let shown = view.snapshot();
        assert_eq!(shown.lines.len(), MAX_LINES);
        assert_eq!(shown.lines.front().map(String::as_str), Some("1001"));
        assert_eq!(shown.lines.back().map(String::as_str), Some("2"));
        assert_eq!(shown.status, "open");
    }

    #[test]
    fn the_status_follows_the_chat_and_the_end_names_unsent_lines() {
        let view = View::new();
        assert_eq!(view.snapshot().status, "connecting");
        let status = ChatStatus::Reconnecting {
            attempt: 2,
            delay: Duration::from_millis(1300),
        };
        view.apply(
            &ChatEvent::Reconnecting {
                attempt: 2,
                delay: Duration::from_millis(1300),
            },
            status,
        );
        assert_eq!(view.snapshot().status, "reconnecting in 1.3 s (attempt 2)");
        let end = ChatEnd::Closed {
            code: 1009,
            reason: String::new(),
        };
        view.apply(
            &ChatEvent::Ended {
                end,
                unsent: vec!["a".into(), "b".into()],
            },
            ChatStatus::Closed,
        );
        let shown = view.snapshot();
        assert_eq!(shown.status, "closed");
        assert_eq!(
            shown.ended.as_deref(),
            Some("— closed (code 1009) (not sent: a | b)")
        );
    }
}
