//! Where the reconnecting socket's delays come from: a [`Clock`] makes sleeps. The
//! [`SystemClock`] uses real timers; tests give a fake one to move time by hand.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// A source of sleeps: the backoff delays, the connect timeouts and the uptime check of a
/// [`ReconnectingSocket`](super::ReconnectingSocket) are each one sleep. Implement it to run
/// the socket on a clock of your own (a test's fake clock, say).
pub trait Clock {
    /// A sleep: completes once `duration` has passed.
    type Sleep: Future<Output = ()> + Unpin;

    /// Starts a sleep of `duration`.
    fn sleep(&self, duration: Duration) -> Self::Sleep;
}

/// Real time, without a runtime: natively a `futures-timer` delay (one helper thread for
/// every timer of the process), in a page a `setTimeout` (through `gloo-timers`; delays over
/// about 24.8 days are cut to that, the browser's limit).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

/// A sleep of the [`SystemClock`].
#[derive(Debug)]
pub struct SystemSleep {
    #[cfg(not(target_arch = "wasm32"))]
    delay: futures_timer::Delay,
    #[cfg(target_arch = "wasm32")]
    delay: gloo_timers::future::TimeoutFuture,
}

impl Clock for SystemClock {
    type Sleep = SystemSleep;

    fn sleep(&self, duration: Duration) -> SystemSleep {
        cfg_if::cfg_if! {
            if #[cfg(target_arch = "wasm32")] {
                // setTimeout takes a signed 32-bit number of milliseconds.
                let millis = u32::try_from(duration.as_millis()).unwrap_or(u32::MAX).min(i32::MAX as u32);
                SystemSleep { delay: gloo_timers::future::TimeoutFuture::new(millis) }
            } else {
                SystemSleep { delay: futures_timer::Delay::new(duration) }
            }
        }
    }
}

impl Future for SystemSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.delay).poll(cx)
    }
}
