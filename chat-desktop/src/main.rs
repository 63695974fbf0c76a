//! `chat-desktop [URL] [--send LINE]...`: the tutorial's chat in a desktop window (egui on
//! eframe, drawn with OpenGL through glow), on the same chat code as the page and the terminal
//! client (`twinsock_chat`), reconnecting like them.
//!
//! The window shows the connection's state (`open`, `reconnecting in 1.3 s (attempt 2)`...),
//! the messages newest first, and a send box (Enter or Send; lines typed while reconnecting
//! are queued and sent once back). `--send LINE` sends LINE as soon as the chat connects.
//! Received lines are also printed on stdout and status changes on stderr, as the terminal
//! client does. Closing the window leaves the chat (close 1000). Exit status: 0, or 2 for a
//! bad command line or URL, 1 when the window cannot be opened (no display, no OpenGL).

mod app;
mod args;
mod pump;
mod view;

use std::process::ExitCode;
use std::sync::Arc;

use eframe::egui;
use twinsock_chat::Chat;

use crate::app::ChatWindow;
use crate::view::View;

fn main() -> ExitCode {
    let args = match args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(args::ArgsError::Help) => {
            println!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(problem) => {
            eprintln!("chat-desktop: {problem}\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    let chat = match Chat::connect(&args.url) {
        Ok(chat) => Arc::new(chat),
        Err(problem) => {
            eprintln!("chat-desktop: {problem}");
            return ExitCode::from(2);
        }
    };
    for line in &args.send {
        if let Err(problem) = chat.send(line) {
            eprintln!("chat-desktop: {problem}: {line}");
        }
    }
    let view = View::new();
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("twinsock chat")
            .with_inner_size([520.0, 420.0]),
        ..Default::default()
    };
    let mut pump = None;
    let shown = eframe::run_native(
        "twinsock-chat",
        options,
        Box::new(|cc| {
            let ctx = cc.egui_ctx.clone();
            let (pump_chat, pump_view) = (chat.clone(), view.clone());
            pump = Some(std::thread::spawn(move || {
                pump::run(pump_chat, pump_view, || ctx.request_repaint())
            }));
            Ok(Box::new(ChatWindow::new(chat.clone(), view.clone())))
        }),
    );
    // The window is gone: leave, and let the chat's thread see the end (bounded by the
    // socket's close timeout).
    chat.leave();
    if let Some(pump) = pump {
        let _ = pump.join();
    }
    match shown {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            eprintln!("chat-desktop: cannot open the window: {problem}");
            ExitCode::FAILURE
        }
    }
}
