//! `chat [URL]`: the tutorial's chat in a terminal, on the same chat code as the web page and
//! the desktop window (`twinsock_chat`). Default URL: the local `chat-server`,
//! `ws://127.0.0.1:8080/ws`.
//!
//! Reads lines from standard input and sends each; prints every message the server broadcasts
//! (ours included) on standard output; status lines go to standard error. When the connection
//! is lost (the server restarts, say) it says `reconnecting in N s (attempt K)` and reconnects
//! by itself, again and again; lines typed meanwhile are queued (up to 1,000) and sent, in
//! order, once it is back. At the end of input it leaves the chat (close 1000) as soon as
//! every queued line is sent, and exits 0 once the server has answered. If the server closes
//! it for good (binary 1003, policy 1008, too big 1009), it says so and exits 1, listing any
//! lines it could not send; 2 for an invalid URL.

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    use std::io::BufRead;

    use futures::channel::mpsc;
    use futures::{FutureExt, StreamExt};
    use twinsock::WebSocket;
    use twinsock_chat::{Chat, ChatEvent};

    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:8080/ws".to_string());
    let chat = match Chat::<WebSocket>::connect(&url) {
        Ok(chat) => chat,
        Err(e) => {
            eprintln!("chat: {e}");
            std::process::exit(2);
        }
    };
    let (lines_in, mut lines) = mpsc::unbounded::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if lines_in.unbounded_send(line).is_err() {
                break;
            }
        }
    });

    let status = futures::executor::block_on(async {
        let mut input_open = true;
        // End of input came while lines were still queued: leave once they are sent.
        let mut leave_when_open = false;
        loop {
            let event = if input_open {
                futures::select! {
                    line = lines.next() => {
                        match line {
                            Some(line) => {
                                if let Err(e) = chat.send(&line) {
                                    eprintln!("chat: {e}: {line}");
                                }
                            }
                            None => {
                                input_open = false;
                                if chat.status() == twinsock_chat::ChatStatus::Open {
                                    chat.leave();
                                } else {
                                    eprintln!("chat: end of input; leaving once the queued lines are sent");
                                    leave_when_open = true;
                                }
                            }
                        }
                        continue;
                    }
                    event = chat.next().fuse() => event,
                }
            } else {
                chat.next().await
            };
            match event {
                Some(ChatEvent::Connected { again: false, .. }) => eprintln!("chat: connected to {url}"),
                Some(ChatEvent::Connected {
                    again: true,
                    sent_from_queue,
                }) => eprintln!("chat: connected again to {url} ({sent_from_queue} queued lines sent)"),
                Some(ChatEvent::Line(text)) => println!("{text}"),
                Some(ChatEvent::Reconnecting { .. } | ChatEvent::Connecting { .. }) => {
                    eprintln!("chat: {}", chat.status())
                }
                Some(ChatEvent::Ended { end, unsent }) => {
                    eprintln!("chat: {end}");
                    for line in &unsent {
                        eprintln!("chat: not sent: {line}");
                    }
                    // A normal end: we left, with every line sent.
                    return if !input_open && unsent.is_empty() { 0 } else { 1 };
                }
                None => return 1,
            }
            if leave_when_open && chat.status() == twinsock_chat::ChatStatus::Open {
                leave_when_open = false;
                chat.leave();
            }
        }
    });
    std::process::exit(status);
}

/// The terminal client is native only; in a page, see `www/index.html`.
#[cfg(target_arch = "wasm32")]
fn main() {}
