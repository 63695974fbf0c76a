//! A clock that moves only when the test says: sleeps complete when [`FakeClock::advance`]
//! passes their deadline.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::Clock;

/// The fake time, shared by the clock and its sleeps.
#[derive(Default)]
struct Time {
    now: Duration,
    /// The wakers of pending sleeps, with their deadlines.
    sleepers: Vec<(Duration, Waker)>,
}

/// A hand-moved clock; clones share the time.
#[derive(Clone, Default)]
pub(super) struct FakeClock {
    time: Rc<RefCell<Time>>,
}

impl FakeClock {
    /// Moves time on by `step`, waking the sleeps that are then due.
    pub(super) fn advance(&self, step: Duration) {
        let due: Vec<Waker> = {
            let mut time = self.time.borrow_mut();
            time.now += step;
            let now = time.now;
            let (due, pending) = time
                .sleepers
                .drain(..)
                .partition(|(deadline, _)| *deadline <= now);
            time.sleepers = pending;
            due.into_iter().map(|(_, waker)| waker).collect()
        };
        for waker in due {
            waker.wake();
        }
    }
}

/// A sleep of the fake clock.
pub(super) struct FakeSleep {
    time: Rc<RefCell<Time>>,
    deadline: Duration,
}

impl Clock for FakeClock {
    type Sleep = FakeSleep;

    fn sleep(&self, duration: Duration) -> FakeSleep {
        FakeSleep {
            time: self.time.clone(),
            deadline: self.time.borrow().now + duration,
        }
    }
}

impl Future for FakeSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut time = self.time.borrow_mut();
        if time.now >= self.deadline {
            return Poll::Ready(());
        }
        time.sleepers.push((self.deadline, cx.waker().clone()));
        Poll::Pending
    }
}
