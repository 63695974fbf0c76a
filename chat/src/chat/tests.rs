//! The chat's rules over a scripted in-memory socket and a clock that never fires: how the
//! reconnecting socket's events become chat events and status lines.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Pending;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::executor::block_on;
use futures::Stream;

use super::*;
use twinsock::{CloseEvent, Event, IoFailure, ReadyState};

thread_local! {
    /// The scripts of the connections this thread will open, in order.
    static SCRIPTS: RefCell<VecDeque<Vec<Event>>> = const { RefCell::new(VecDeque::new()) };
    /// What each connection opened on this thread sent.
    static SENT: RefCell<Vec<Rc<RefCell<Vec<String>>>>> = const { RefCell::new(Vec::new()) };
}

/// Plays one script per connection (then waits forever); `close` answers at once.
struct ScriptedSocket {
    state: RefCell<ReadyState>,
    script: RefCell<VecDeque<Event>>,
    sent: Rc<RefCell<Vec<String>>>,
}

impl Socket for ScriptedSocket {
    fn open_with(_: WebSocketBuilder) -> Result<Self, Error> {
        let script = SCRIPTS.with(|s| s.borrow_mut().pop_front()).unwrap_or_default();
        let sent = Rc::new(RefCell::new(Vec::new()));
        SENT.with(|all| all.borrow_mut().push(sent.clone()));
        Ok(Self {
            state: RefCell::new(ReadyState::Connecting),
            script: RefCell::new(script.into()),
            sent,
        })
    }
    fn url(&self) -> &str {
        "ws://chat.test/ws"
    }
    fn ready_state(&self) -> ReadyState {
        *self.state.borrow()
    }
    fn buffered_amount(&self) -> u64 {
        0
    }
    fn protocol(&self) -> String {
        String::new()
    }
    fn extensions(&self) -> String {
        String::new()
    }
    fn send_text(&self, text: impl Into<String>) -> Result<(), Error> {
        match self.ready_state() {
            ReadyState::Connecting => Err(Error::StillConnecting),
            ReadyState::Open => {
                self.sent.borrow_mut().push(text.into());
                Ok(())
            }
            _ => Ok(()),
        }
    }
    fn send_binary(&self, _: impl Into<twinsock::Bytes>) -> Result<(), Error> {
        unreachable!("the chat sends text only")
    }
    fn poll_send_ready(&self, _: &mut Context<'_>) -> Poll<()> {
        Poll::Ready(())
    }
    fn poll_drained(&self, _: &mut Context<'_>) -> Poll<()> {
        Poll::Ready(())
    }
    fn close(&self, code: Option<u16>, _: Option<&str>) -> Result<(), Error> {
        let mut script = self.script.borrow_mut();
        script.clear();
        if self.ready_state() == ReadyState::Open {
            script.push_back(close(code.unwrap_or(1005), "", true));
        } else {
            script.push_back(Event::Error(FailureCause::Aborted));
            script.push_back(close(1006, "", false));
        }
        *self.state.borrow_mut() = ReadyState::Closing;
        Ok(())
    }
    fn poll_event(&self, _: &mut Context<'_>) -> Poll<Option<Event>> {
        let Some(event) = self.script.borrow_mut().pop_front() else {
            return Poll::Pending;
        };
        match &event {
            Event::Open => *self.state.borrow_mut() = ReadyState::Open,
            Event::Close(_) => *self.state.borrow_mut() = ReadyState::Closed,
            _ => {}
        }
        Poll::Ready(Some(event))
    }
}

impl Stream for ScriptedSocket {
    type Item = Event;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.poll_event(cx)
    }
}

/// A clock whose sleeps never end: no timeout fires and no waiting ends in these tests.
struct Frozen;

impl Clock for Frozen {
    type Sleep = Pending<()>;
    fn sleep(&self, _: Duration) -> Pending<()> {
        std::future::pending()
    }
}

/// A chat whose connections play `scripts`, one each, with exact delays.
fn chat(scripts: Vec<Vec<Event>>, options: ReconnectOptions) -> Chat<ScriptedSocket, Frozen> {
    SCRIPTS.with(|s| *s.borrow_mut() = scripts.into());
    Chat::connect_with("ws://chat.test/ws", options.jitter(0.0), Frozen).unwrap()
}

/// What connection `n` (from 0) of this thread sent.
fn sent(n: usize) -> Vec<String> {
    SENT.with(|all| all.borrow()[n].borrow().clone())
}

fn close(code: u16, reason: &str, was_clean: bool) -> Event {
    Event::Close(CloseEvent {
        code,
        reason: reason.into(),
        was_clean,
    })
}

fn text(line: &str) -> Event {
    Event::Message(Message::Text(line.into()))
}

fn refused() -> FailureCause {
    FailureCause::Connect(IoFailure::new(std::io::ErrorKind::ConnectionRefused, "refused"))
}

const CONNECTED: ChatEvent = ChatEvent::Connected {
    again: false,
    sent_from_queue: 0,
};

#[test]
fn reports_connected_lines_and_a_clean_leave() {
    let chat = chat(vec![vec![Event::Open, text("hi")]], reconnect_options());
    assert_eq!(chat.status().to_string(), "connecting");
    assert_eq!(block_on(chat.next()), Some(CONNECTED));
    assert_eq!(chat.status().to_string(), "open");
    chat.send("hello").unwrap();
    assert_eq!(block_on(chat.next()), Some(ChatEvent::Line("hi".into())));
    chat.leave();
    assert_eq!(chat.status().to_string(), "closing");
    let end = ChatEnd::Closed {
        code: 1000,
        reason: String::new(),
    };
    assert_eq!(end.to_string(), "closed (code 1000)");
    assert_eq!(
        block_on(chat.next()),
        Some(ChatEvent::Ended {
            end,
            unsent: Vec::new()
        })
    );
    assert_eq!(chat.status().to_string(), "closed");
    assert_eq!(block_on(chat.next()), None);
    assert_eq!(sent(0), ["hello"]);
}

#[test]
fn lines_typed_before_the_connection_opens_are_sent_when_it_does() {
    let chat = chat(vec![vec![Event::Open]], reconnect_options());
    chat.send("early").unwrap();
    assert_eq!(
        block_on(chat.next()),
        Some(ChatEvent::Connected {
            again: false,
            sent_from_queue: 1
        })
    );
    assert_eq!(sent(0), ["early"]);
}

#[test]
fn binary_messages_are_shown_as_text() {
    // The tutorial's Node server (ws 8) re-broadcasts text as binary frames.
    let chat = chat(
        vec![vec![
            Event::Open,
            Event::Message(Message::Binary("héllo".as_bytes().to_vec().into())),
            Event::Message(Message::Binary(vec![0xff, b'!'].into())),
        ]],
        reconnect_options(),
    );
    assert_eq!(block_on(chat.next()), Some(CONNECTED));
    assert_eq!(block_on(chat.next()), Some(ChatEvent::Line("héllo".into())));
    assert_eq!(block_on(chat.next()), Some(ChatEvent::Line("\u{fffd}!".into())));
}

#[test]
fn a_lost_connection_shows_reconnecting_with_the_attempt_and_delay_and_queues_lines() {
    let chat = chat(
        vec![vec![Event::Open, close(1006, "", false)]],
        reconnect_options(),
    );
    assert_eq!(block_on(chat.next()), Some(CONNECTED));
    assert_eq!(
        block_on(chat.next()),
        Some(ChatEvent::Reconnecting {
            attempt: 1,
            delay: Duration::from_secs(1)
        })
    );
    assert_eq!(chat.status().to_string(), "reconnecting in 1.0 s (attempt 1)");
    chat.send("typed while away").unwrap();
    // Leaving while waiting ends the chat at once and hands the queued line back.
    chat.leave();
    assert_eq!(
        block_on(chat.next()),
        Some(ChatEvent::Ended {
            end: ChatEnd::Died {
                code: 1006,
                cause: None
            },
            unsent: vec!["typed while away".into()]
        })
    );
    assert_eq!(
        chat.send("too late"),
        Err(SendError::Closed {
            message: Message::Text("too late".into())
        })
    );
}

#[test]
fn a_server_that_goes_away_with_1001_is_reconnected() {
    let chat = chat(
        vec![vec![Event::Open, close(1001, "", true)]],
        reconnect_options(),
    );
    assert_eq!(block_on(chat.next()), Some(CONNECTED));
    assert!(matches!(
        block_on(chat.next()),
        Some(ChatEvent::Reconnecting { attempt: 1, .. })
    ));
}

#[test]
fn the_servers_final_codes_end_the_chat() {
    for code in FINAL_CLOSE_CODES {
        let chat = chat(
            vec![vec![Event::Open, close(code, "no", true)]],
            reconnect_options(),
        );
        assert_eq!(block_on(chat.next()), Some(CONNECTED));
        let end = ChatEnd::Closed {
            code,
            reason: "no".into(),
        };
        assert_eq!(end.to_string(), format!("closed (code {code}: no)"));
        assert_eq!(
            block_on(chat.next()),
            Some(ChatEvent::Ended {
                end,
                unsent: Vec::new()
            })
        );
    }
}

#[test]
fn giving_up_reports_the_attempts_and_the_cause() {
    let chat = chat(
        vec![vec![Event::Error(refused()), close(1006, "", false)]],
        reconnect_options().max_attempts(Some(0)),
    );
    chat.send("kept").unwrap();
    let end = ChatEnd::GaveUp {
        attempts: 0,
        cause: Some(refused()),
    };
    assert_eq!(
        end.to_string(),
        "gave up after 0 attempts: could not connect: refused"
    );
    assert_eq!(
        block_on(chat.next()),
        Some(ChatEvent::Ended {
            end,
            unsent: vec!["kept".into()]
        })
    );
}

#[test]
fn leaving_while_connecting_ends_with_the_abandoned_attempt() {
    let chat = chat(vec![Vec::new()], reconnect_options());
    chat.leave();
    let end = ChatEnd::Died {
        code: 1006,
        cause: Some(FailureCause::Aborted),
    };
    assert_eq!(
        end.to_string(),
        "connection died (code 1006): closed before the connection opened"
    );
    assert_eq!(
        block_on(chat.next()),
        Some(ChatEvent::Ended {
            end,
            unsent: Vec::new()
        })
    );
}

#[test]
fn statuses_read_as_the_clients_show_them() {
    let shown = [
        ChatStatus::Connecting,
        ChatStatus::Open,
        ChatStatus::Reconnecting {
            attempt: 3,
            delay: Duration::from_millis(1690),
        },
        ChatStatus::Retrying { attempt: 3 },
        ChatStatus::Closing,
        ChatStatus::Closed,
    ]
    .map(|status| status.to_string());
    assert_eq!(
        shown,
        [
            "connecting",
            "open",
            "reconnecting in 1.7 s (attempt 3)",
            "connecting (attempt 3)",
            "closing",
            "closed"
        ]
    );
}

#[test]
fn lines_are_cut_to_50_characters() {
    assert_eq!(cut_line(&"a".repeat(60)), "a".repeat(50));
    assert_eq!(cut_line(&"é".repeat(60)), "é".repeat(50));
    assert_eq!(cut_line(&"😀".repeat(51)), "😀".repeat(50));
    assert_eq!(cut_line("short"), "short");
    assert_eq!(cut_line(""), "");
}
