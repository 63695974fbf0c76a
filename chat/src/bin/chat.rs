//! `chat [URL]`: the tutorial's chat in a terminal, on the same chat code as the web page
//! (`twinsock_chat`). Default URL: the local `chat-server`, `ws://127.0.0.1:8080/ws`.
//!
//! Reads lines from standard input and sends each; prints every message the server broadcasts
//! (ours included) on standard output; status lines go to standard error. Lines typed before
//! the connection opens are sent once it does. At the end of input it leaves the chat (close
//! 1000) and exits 0 once the server has answered; it also exits 0 when the server goes away
//! (1001). If the connection fails or dies, or the server closes it for a reason (too slow
//! 1013, too big 1009, policy 1008...), it says so and exits 1 (2 for an invalid URL).

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    use std::io::BufRead;

    use futures::channel::mpsc;
    use futures::{FutureExt, StreamExt};
    use twinsock::WebSocket;
    use twinsock_chat::{Chat, ChatEnd, ChatEvent};

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
        let mut waiting: Vec<String> = Vec::new();
        let mut connected = false;
        loop {
            let event = if input_open {
                futures::select! {
                    line = lines.next() => {
                        match line {
                            Some(line) if connected => {
                                if let Err(e) = chat.send(&line) {
                                    eprintln!("chat: not sent ({e}): {line}");
                                }
                            }
                            Some(line) => waiting.push(line),
                            None => {
                                input_open = false;
                                chat.leave();
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
                Some(ChatEvent::Connected) => {
                    connected = true;
                    eprintln!("chat: connected to {url}");
                    for line in waiting.drain(..) {
                        if let Err(e) = chat.send(&line) {
                            eprintln!("chat: not sent ({e}): {line}");
                        }
                    }
                }
                Some(ChatEvent::Line(text)) => println!("{text}"),
                Some(ChatEvent::Ended(end)) => {
                    eprintln!("chat: {end}");
                    // A normal end: we left, or the server went away or closed without a code.
                    let normal = matches!(
                        end,
                        ChatEnd::Closed {
                            code: 1000 | 1001 | 1005,
                            ..
                        }
                    );
                    return if normal { 0 } else { 1 };
                }
                None => return 1,
            }
        }
    });
    std::process::exit(status);
}

/// The terminal client is native only; in a page, see `www/index.html`.
#[cfg(target_arch = "wasm32")]
fn main() {}
