//! The window: the connection's status at the top, the send box at the bottom, the lines
//! (newest first, as text) in between.

use std::sync::Arc;

use eframe::egui;
use twinsock_chat::Chat;

use crate::view::View;

/// The chat window's state: the chat (to send on), the shared view, and the send box.
pub struct ChatWindow {
    chat: Arc<Chat>,
    view: View,
    draft: String,
    /// Why the last line was not sent (queue full, chat over), shown under the box.
    problem: Option<String>,
    /// Whether the send box had the keyboard last frame (to say so when it gets it).
    box_has_keyboard: bool,
}

impl ChatWindow {
    /// A window on `chat`, showing `view`.
    pub fn new(chat: Arc<Chat>, view: View) -> Self {
        Self {
            chat,
            view,
            draft: String::new(),
            problem: None,
            box_has_keyboard: false,
        }
    }

    /// Sends the send box's line (queued while reconnecting) and empties the box; a refused
    /// line stays in the box.
    fn send(&mut self) {
        match self.chat.send(&self.draft) {
            Ok(()) => {
                self.draft.clear();
                self.problem = None;
            }
            Err(error) => self.problem = Some(error.to_string()),
        }
    }
}

impl eframe::App for ChatWindow {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let shown = self.view.snapshot();
        egui::Panel::top("status").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.label("Connection:");
                ui.strong(&shown.status);
            });
        });
        egui::Panel::bottom("send").show(ui, |ui| {
            ui.horizontal(|ui| {
                let open = shown.ended.is_none();
                let field = ui.add_enabled(
                    open,
                    egui::TextEdit::singleline(&mut self.draft)
                        .hint_text("Say something")
                        .desired_width(ui.available_width() - 60.0)
                        // Enter sends and the box keeps the keyboard: type, Enter, type again.
                        .return_key(None),
                );
                let entered = field.has_focus() && ui.input(|input| input.key_pressed(egui::Key::Enter));
                let clicked = ui.add_enabled(open, egui::Button::new("Send")).clicked();
                if open && (entered || clicked) {
                    self.send();
                }
                // The box takes the keyboard whenever the window has it (asking while the
                // window has not would only make egui repaint again and again).
                let window_has_keyboard = ui.input(|input| input.focused);
                if open && window_has_keyboard && !field.has_focus() {
                    field.request_focus();
                }
                let box_has_keyboard = field.has_focus();
                if box_has_keyboard && !self.box_has_keyboard {
                    // Said on stderr, so that a script knows when typing reaches the box.
                    eprintln!("chat-desktop: the send box has the keyboard");
                }
                self.box_has_keyboard = box_has_keyboard;
            });
            if let Some(problem) = &self.problem {
                ui.colored_label(egui::Color32::DARK_RED, problem);
            }
        });
        egui::CentralPanel::default_margins().show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                if let Some(ended) = &shown.ended {
                    ui.label(egui::RichText::new(ended).italics());
                }
                for line in &shown.lines {
                    ui.label(line);
                    ui.separator();
                }
            });
        });
    }
}
