//! The reconnecting socket over an in-memory socket and a fake clock: every rule without a
//! network or real time.

mod fake_clock;
mod memory;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake};
use std::time::Duration;

use futures::FutureExt;

use self::fake_clock::FakeClock;
use self::memory::MemorySocket;
use crate::{
    CloseEvent, Ending, Error, FailureCause, InvalidOption, Message, ReadyState, ReconnectError,
    ReconnectEvent, ReconnectOptions, ReconnectingSocket, SendError, WebSocketBuilder,
};

type Reconnecting = ReconnectingSocket<MemorySocket, FakeClock>;

const SECOND: Duration = Duration::from_secs(1);

/// Exact delays (no jitter) so that the fake clock can be moved to each deadline.
fn exact() -> ReconnectOptions {
    ReconnectOptions::new().jitter(0.0)
}

fn open_with(options: ReconnectOptions) -> (Reconnecting, FakeClock) {
    let clock = FakeClock::default();
    let socket = Reconnecting::with_clock(WebSocketBuilder::new("memory:chat"), options, clock.clone())
        .expect("valid options");
    (socket, clock)
}

/// The next event if one is ready now, `None` if the socket would wait.
fn ready(socket: &Reconnecting) -> Option<Option<ReconnectEvent>> {
    socket.next_event().now_or_never()
}

/// The next event, which must be ready now.
fn event(socket: &Reconnecting) -> ReconnectEvent {
    ready(socket)
        .expect("an event is ready")
        .expect("the stream has not ended")
}

fn open_event(reopened: bool, sent_from_queue: usize) -> ReconnectEvent {
    ReconnectEvent::Open {
        reopened,
        sent_from_queue,
    }
}

fn died() -> CloseEvent {
    CloseEvent {
        code: 1006,
        reason: String::new(),
        was_clean: false,
    }
}

fn refused() -> Option<FailureCause> {
    Some(FailureCause::Connect(crate::IoFailure::new(
        std::io::ErrorKind::ConnectionRefused,
        "refused",
    )))
}

/// Opens and takes the open event.
fn opened(options: ReconnectOptions) -> (Reconnecting, FakeClock) {
    let (socket, clock) = open_with(options);
    memory::last().accept();
    assert_eq!(event(&socket), open_event(false, 0));
    (socket, clock)
}

/// Expects `Reconnecting` for `attempt` after a refusal or reset; returns its delay.
fn expect_reconnecting(socket: &Reconnecting, attempt: u32) -> Duration {
    match event(socket) {
        ReconnectEvent::Reconnecting {
            attempt: got,
            delay,
            close,
            cause,
        } => {
            assert_eq!((got, &close, &cause), (attempt, &died(), &refused()));
            delay
        }
        other => panic!("expected reconnecting (attempt {attempt}), got {other:?}"),
    }
}

/// Waits out `delay` on the fake clock (nothing happens a millisecond before it) and takes the
/// `Connecting` event of `attempt`.
fn wait_out(socket: &Reconnecting, clock: &FakeClock, delay: Duration, attempt: u32) {
    let before = memory::opened();
    clock.advance(delay - Duration::from_millis(1));
    assert_eq!(ready(socket), None, "attempt {attempt} started early");
    assert_eq!(memory::opened(), before);
    clock.advance(Duration::from_millis(1));
    assert_eq!(event(socket), ReconnectEvent::Connecting { attempt });
    assert_eq!(
        memory::opened(),
        before + 1,
        "a new connection for attempt {attempt}"
    );
}

#[test]
fn the_first_connection_opens_and_delivers_messages() {
    let (socket, _clock) = open_with(exact());
    assert_eq!(socket.ready_state(), ReadyState::Connecting);
    assert_eq!(ready(&socket), None);
    memory::last().accept();
    assert_eq!(event(&socket), open_event(false, 0));
    assert_eq!(socket.ready_state(), ReadyState::Open);
    memory::last().send_text("hi");
    assert_eq!(
        event(&socket),
        ReconnectEvent::Message(Message::Text("hi".into()))
    );
    socket.send_text("hello").unwrap();
    assert_eq!(memory::last().sent_texts(), ["hello"]);
}

#[test]
fn a_lost_connection_waits_the_minimum_delay_then_opens_again() {
    let (socket, clock) = opened(exact());
    memory::last().fail();
    let delay = expect_reconnecting(&socket, 1);
    assert_eq!(delay, SECOND);
    assert_eq!(socket.ready_state(), ReadyState::Connecting);
    wait_out(&socket, &clock, delay, 1);
    memory::last().accept();
    assert_eq!(event(&socket), open_event(true, 0));
    assert_eq!(socket.ready_state(), ReadyState::Open);
}

#[test]
fn each_failed_attempt_waits_longer_by_the_factor_up_to_the_maximum() {
    let (socket, clock) = open_with(exact());
    let mut delays = Vec::new();
    memory::last().fail();
    for attempt in 1..=12 {
        let delay = expect_reconnecting(&socket, attempt);
        delays.push((delay.as_secs_f64() * 1000.0).round() / 1000.0);
        wait_out(&socket, &clock, delay, attempt);
        memory::last().fail();
    }
    assert_eq!(
        delays,
        [1.0, 1.3, 1.69, 2.197, 2.856, 3.713, 4.827, 6.275, 8.157, 10.0, 10.0, 10.0]
    );
}

#[test]
fn sends_while_disconnected_are_queued_and_sent_in_order_on_reconnect() {
    let (socket, clock) = open_with(exact());
    // Before the first connection opens...
    socket.send_text("one").unwrap();
    memory::last().fail();
    let delay = expect_reconnecting(&socket, 1);
    // ... and between connections.
    socket.send_text("two").unwrap();
    socket.send_binary(vec![3]).unwrap();
    assert_eq!((socket.queued(), socket.buffered_amount()), (3, 7));
    wait_out(&socket, &clock, delay, 1);
    // ... and while the next attempt connects.
    socket.send_text("four").unwrap();
    memory::last().accept();
    // The first connection that opens, though not the first attempt.
    assert_eq!(event(&socket), open_event(false, 4));
    socket.send_text("five").unwrap();
    assert_eq!(
        memory::last().sent_texts(),
        ["one", "two", "binary [3]", "four", "five"]
    );
    assert_eq!(socket.queued(), 0);
}

#[test]
fn a_full_queue_refuses_the_message_and_hands_it_back() {
    let (socket, _clock) = open_with(exact().max_queued(2));
    socket.send_text("a").unwrap();
    socket.send_text("b").unwrap();
    let refused = socket.send_text("c").unwrap_err();
    assert_eq!(
        refused,
        SendError::QueueFull {
            limit: 2,
            message: Message::Text("c".into())
        }
    );
    assert_eq!(
        refused.to_string(),
        "not connected and the send queue is full (2 messages): message not queued"
    );
    assert_eq!(refused.into_message(), Message::Text("c".into()));
    memory::last().accept();
    assert_eq!(event(&socket), open_event(false, 2));
    assert_eq!(memory::last().sent_texts(), ["a", "b"]);
}

#[test]
fn an_attempt_that_does_not_open_in_time_is_abandoned_as_a_connect_timeout() {
    let (socket, clock) = open_with(exact().connect_timeout(Duration::from_secs(3)));
    clock.advance(Duration::from_millis(2999));
    assert_eq!(ready(&socket), None);
    clock.advance(Duration::from_millis(1));
    match event(&socket) {
        ReconnectEvent::Reconnecting {
            attempt: 1,
            close,
            cause: Some(FailureCause::ConnectTimeout),
            ..
        } => assert_eq!(close, died()),
        other => panic!("{other:?}"),
    }
    // The abandoned attempt was closed without a code.
    assert_eq!(memory::opened(), 1);
}

#[test]
fn the_applications_close_is_final_and_hands_back_nothing_when_nothing_is_queued() {
    let (socket, _clock) = opened(exact());
    socket.close(Some(1000), Some("bye")).unwrap();
    assert_eq!(socket.ready_state(), ReadyState::Closing);
    assert_eq!(
        *memory::last().closed_with.borrow(),
        Some((Some(1000), Some("bye".to_string())))
    );
    memory::last().close(1000);
    assert_eq!(
        event(&socket),
        ReconnectEvent::Closed {
            close: CloseEvent {
                code: 1000,
                reason: String::new(),
                was_clean: true
            },
            cause: None,
            ending: Ending::ClosedByApplication,
            unsent: Vec::new(),
        }
    );
    assert_eq!(socket.ready_state(), ReadyState::Closed);
    assert_eq!(ready(&socket), Some(None), "nothing follows the closed event");
    assert_eq!(memory::opened(), 1, "no reconnection");
}

/// A waker that records that it was woken.
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn close_while_waiting_ends_at_once_wakes_the_poller_and_hands_back_the_queue() {
    let (socket, clock) = opened(exact());
    memory::last().fail();
    expect_reconnecting(&socket, 1);
    socket.send_text("not yet sent").unwrap();
    let flag = Arc::new(Flag(AtomicBool::new(false)));
    let waker = flag.clone().into();
    assert!(socket.poll_event(&mut Context::from_waker(&waker)).is_pending());
    socket.close(None, None).unwrap();
    assert!(flag.0.load(Ordering::SeqCst), "the waiting task was woken");
    match socket.poll_event(&mut Context::from_waker(&waker)) {
        Poll::Ready(Some(ReconnectEvent::Closed {
            close,
            cause,
            ending: Ending::ClosedByApplication,
            unsent,
        })) => {
            assert_eq!((close, cause), (died(), refused()));
            assert_eq!(unsent, [Message::Text("not yet sent".into())]);
        }
        other => panic!("{other:?}"),
    }
    clock.advance(Duration::from_secs(60));
    assert_eq!(ready(&socket), Some(None));
    assert_eq!(memory::opened(), 1, "no reconnection after close");
}

#[test]
fn close_while_connecting_abandons_the_attempt_for_good() {
    let (socket, clock) = open_with(exact());
    socket.send_text("queued").unwrap();
    socket.close(None, None).unwrap();
    match event(&socket) {
        ReconnectEvent::Closed {
            close,
            cause: Some(FailureCause::Aborted),
            ending: Ending::ClosedByApplication,
            unsent,
        } => {
            assert_eq!(close, died());
            assert_eq!(unsent, [Message::Text("queued".into())]);
        }
        other => panic!("{other:?}"),
    }
    clock.advance(Duration::from_secs(60));
    assert_eq!(ready(&socket), Some(None));
    assert_eq!(memory::opened(), 1);
}

#[test]
fn sends_after_close_are_refused_with_the_message() {
    let (socket, _clock) = opened(exact());
    socket.close(None, None).unwrap();
    assert_eq!(
        socket.send_text("late"),
        Err(SendError::Closed {
            message: Message::Text("late".into())
        })
    );
    memory::last().close(1005);
    assert!(matches!(event(&socket), ReconnectEvent::Closed { .. }));
    assert_eq!(
        socket.send_text("later").map_err(SendError::into_message),
        Err(Message::Text("later".into()))
    );
    assert!(memory::last().sent_texts().is_empty());
}

#[test]
fn invalid_close_arguments_are_refused_and_change_nothing() {
    let (socket, _clock) = opened(exact());
    assert_eq!(socket.close(Some(1001), None), Err(Error::InvalidCloseCode(1001)));
    assert_eq!(
        socket.close(Some(1000), Some(&"x".repeat(124))),
        Err(Error::CloseReasonTooLong(124))
    );
    assert_eq!(socket.ready_state(), ReadyState::Open);
    assert_eq!(*memory::last().closed_with.borrow(), None);
}

#[test]
fn a_final_close_code_from_the_server_is_not_reconnected() {
    let (socket, clock) = opened(exact().final_close_codes([1008, 4001]));
    memory::last().close(4001);
    match event(&socket) {
        ReconnectEvent::Closed {
            close,
            ending: Ending::FinalCloseCode,
            ..
        } => assert_eq!(close.code, 4001),
        other => panic!("{other:?}"),
    }
    clock.advance(Duration::from_secs(60));
    assert_eq!(ready(&socket), Some(None));
    assert_eq!(memory::opened(), 1);
}

#[test]
fn other_close_codes_from_the_server_are_reconnected() {
    let (socket, _clock) = opened(exact().final_close_codes([1008]));
    memory::last().close(1001);
    assert!(matches!(
        event(&socket),
        ReconnectEvent::Reconnecting {
            attempt: 1,
            close: CloseEvent { code: 1001, .. },
            cause: None,
            ..
        }
    ));
}

#[test]
fn attempts_stop_at_the_maximum_and_hand_back_the_queue() {
    let (socket, clock) = open_with(exact().max_attempts(Some(2)));
    socket.send_text("kept").unwrap();
    memory::last().fail();
    for attempt in 1..=2 {
        let delay = expect_reconnecting(&socket, attempt);
        wait_out(&socket, &clock, delay, attempt);
        memory::last().fail();
    }
    assert_eq!(
        event(&socket),
        ReconnectEvent::Closed {
            close: died(),
            cause: refused(),
            ending: Ending::AttemptsExhausted { attempts: 2 },
            unsent: vec![Message::Text("kept".into())],
        }
    );
    assert_eq!(memory::opened(), 3);
}

#[test]
fn no_attempts_means_the_first_loss_is_final() {
    let (socket, _clock) = opened(exact().max_attempts(Some(0)));
    memory::last().fail();
    assert!(matches!(
        event(&socket),
        ReconnectEvent::Closed {
            ending: Ending::AttemptsExhausted { attempts: 0 },
            ..
        }
    ));
}

#[test]
fn a_connection_that_stays_up_for_the_minimum_uptime_starts_the_delays_again() {
    let (socket, clock) = opened(exact().min_uptime(Duration::from_secs(5)));
    memory::last().fail();
    let first = expect_reconnecting(&socket, 1);
    wait_out(&socket, &clock, first, 1);
    memory::last().fail();
    let second = expect_reconnecting(&socket, 2);
    wait_out(&socket, &clock, second, 2);
    memory::last().accept();
    assert_eq!(event(&socket), open_event(true, 0));
    clock.advance(Duration::from_secs(5));
    assert_eq!(ready(&socket), None);
    memory::last().fail();
    assert_eq!(expect_reconnecting(&socket, 1), SECOND);
}

#[test]
fn a_connection_lost_before_the_minimum_uptime_keeps_backing_off() {
    let (socket, clock) = opened(exact().min_uptime(Duration::from_secs(5)));
    memory::last().fail();
    let first = expect_reconnecting(&socket, 1);
    wait_out(&socket, &clock, first, 1);
    memory::last().accept();
    assert_eq!(event(&socket), open_event(true, 0));
    clock.advance(Duration::from_millis(4999));
    assert_eq!(ready(&socket), None);
    memory::last().fail();
    assert_eq!(expect_reconnecting(&socket, 2), Duration::from_millis(1300));
}

#[test]
fn jitter_spreads_the_first_delay_of_sockets_cut_off_together() {
    let delays: Vec<Duration> = (0..20)
        .map(|_| {
            let (socket, _clock) = opened(ReconnectOptions::new());
            memory::last().fail();
            expect_reconnecting(&socket, 1)
        })
        .collect();
    assert!(
        delays
            .iter()
            .all(|d| (SECOND..=Duration::from_millis(1500)).contains(d)),
        "{delays:?}"
    );
    assert!(delays.windows(2).any(|w| w[0] != w[1]), "{delays:?}");
}

#[test]
fn invalid_options_are_refused_before_anything_is_attempted() {
    let cases = [
        (
            exact().min_delay(Duration::from_secs(20)),
            InvalidOption::DelayRange {
                min: Duration::from_secs(20),
                max: Duration::from_secs(10),
            },
        ),
        (exact().growth_factor(0.9), InvalidOption::GrowthFactor(0.9)),
        (
            exact().growth_factor(f64::INFINITY),
            InvalidOption::GrowthFactor(f64::INFINITY),
        ),
        (exact().jitter(1.5), InvalidOption::Jitter(1.5)),
        (
            exact().connect_timeout(Duration::ZERO),
            InvalidOption::ZeroConnectTimeout,
        ),
    ];
    for (options, invalid) in cases {
        let opened_before = memory::opened();
        let error = Reconnecting::with_clock(
            WebSocketBuilder::new("memory:chat"),
            options,
            FakeClock::default(),
        )
        .unwrap_err();
        assert_eq!(error, ReconnectError::InvalidOption(invalid));
        assert!(
            error.to_string().starts_with("invalid reconnect option: "),
            "{error}"
        );
        assert_eq!(memory::opened(), opened_before);
    }
    let nan = exact().jitter(f64::NAN).validate();
    assert!(matches!(nan, Err(InvalidOption::Jitter(j)) if j.is_nan()));
}

#[test]
fn an_invalid_url_is_the_sockets_own_error() {
    let error = Reconnecting::with_clock(
        WebSocketBuilder::new(memory::INVALID_URL),
        exact(),
        FakeClock::default(),
    )
    .unwrap_err();
    assert_eq!(
        error,
        ReconnectError::Socket(Error::InvalidUrl(crate::UrlError::Relative))
    );
    assert!(std::error::Error::source(&error).is_some());
}

#[test]
fn messages_before_the_close_are_delivered_after_the_applications_close() {
    let (socket, _clock) = opened(exact());
    socket.close(Some(1000), None).unwrap();
    memory::last().send_text("in flight");
    memory::last().close(1000);
    assert_eq!(
        event(&socket),
        ReconnectEvent::Message(Message::Text("in flight".into()))
    );
    assert!(matches!(
        event(&socket),
        ReconnectEvent::Closed {
            ending: Ending::ClosedByApplication,
            ..
        }
    ));
}
