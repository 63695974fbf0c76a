//! The chat's own thread: takes the chat's events as they come, updates the [`View`], asks
//! the window to repaint, and logs each event (lines on stdout, status on stderr, as the
//! terminal client does) so that scripts can follow the window.

use std::sync::Arc;

use twinsock_chat::{Chat, ChatEvent};

use crate::view::View;

/// Runs the chat until it ends, on the calling thread (its own executor: the window's thread
/// only draws). `repaint` is called after every change.
pub fn run(chat: Arc<Chat>, view: View, repaint: impl Fn()) {
    futures::executor::block_on(async {
        while let Some(event) = chat.next().await {
            view.apply(&event, chat.status());
            log(&event, &chat);
            repaint();
        }
    });
}

fn log(event: &ChatEvent, chat: &Chat) {
    match event {
        ChatEvent::Line(line) => println!("{line}"),
        ChatEvent::Connected { again: false, .. } => eprintln!("chat-desktop: connected to {}", chat.url()),
        ChatEvent::Connected {
            again: true,
            sent_from_queue,
        } => eprintln!(
            "chat-desktop: connected again to {} ({sent_from_queue} queued lines sent)",
            chat.url()
        ),
        ChatEvent::Reconnecting { .. } | ChatEvent::Connecting { .. } => {
            eprintln!("chat-desktop: {}", chat.status())
        }
        ChatEvent::Ended { end, unsent } => {
            eprintln!("chat-desktop: {end}");
            for line in unsent {
                eprintln!("chat-desktop: not sent: {line}");
            }
        }
    }
}
