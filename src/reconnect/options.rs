//! The reconnecting socket's options: the backoff between attempts, the per-attempt connect
//! timeout, the send queue's bound, and the close codes after which it stops.

use std::time::Duration;

use super::error::InvalidOption;

/// The default delay before the first reconnection attempt: 1 s, as in reconnecting-websocket.
pub const DEFAULT_MIN_DELAY: Duration = Duration::from_secs(1);
/// The default longest delay between attempts: 10 s, as in reconnecting-websocket.
pub const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(10);
/// The default growth of the delay from one attempt to the next: 1.3, as in
/// reconnecting-websocket.
pub const DEFAULT_GROWTH_FACTOR: f64 = 1.3;
/// The default jitter: each delay is lengthened by up to half of itself, at random.
pub const DEFAULT_JITTER: f64 = 0.5;
/// The default time an attempt may take to open: 4 s, as reconnecting-websocket's
/// `connectionTimeout`.
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(4);
/// The default time a connection must stay open for the backoff to start again from the
/// minimum delay: 5 s, as reconnecting-websocket's `minUptime`.
pub const DEFAULT_MIN_UPTIME: Duration = Duration::from_secs(5);
/// The default bound of the send queue while disconnected: 1,000 messages.
pub const DEFAULT_MAX_QUEUED: usize = 1000;

/// How a [`ReconnectingSocket`](super::ReconnectingSocket) reconnects. The defaults are those
/// JavaScript users know from reconnecting-websocket, with a bound on the queue: 1 s first
/// delay, growing by 1.3 per attempt up to 10 s, plus up to 50 % jitter (never past the
/// maximum); unlimited attempts; 4 s per attempt to open; 5 s of uptime before the delays start
/// again from the minimum; at most 1,000 messages queued while disconnected; no final close
/// code. The same on both targets.
#[derive(Debug, Clone, PartialEq)]
pub struct ReconnectOptions {
    pub(crate) min_delay: Duration,
    pub(crate) max_delay: Duration,
    pub(crate) growth_factor: f64,
    pub(crate) jitter: f64,
    pub(crate) max_attempts: Option<u32>,
    pub(crate) connect_timeout: Duration,
    pub(crate) min_uptime: Duration,
    pub(crate) max_queued: usize,
    pub(crate) final_close_codes: Vec<u16>,
}

impl Default for ReconnectOptions {
    fn default() -> Self {
        Self {
            min_delay: DEFAULT_MIN_DELAY,
            max_delay: DEFAULT_MAX_DELAY,
            growth_factor: DEFAULT_GROWTH_FACTOR,
            jitter: DEFAULT_JITTER,
            max_attempts: None,
            connect_timeout: DEFAULT_ATTEMPT_TIMEOUT,
            min_uptime: DEFAULT_MIN_UPTIME,
            max_queued: DEFAULT_MAX_QUEUED,
            final_close_codes: Vec::new(),
        }
    }
}

impl ReconnectOptions {
    /// The defaults (see the type's documentation).
    pub fn new() -> Self {
        Self::default()
    }

    /// The delay before the first attempt after a loss, before jitter (default 1 s). Attempt
    /// `k` waits `min_delay × growth_factor^(k−1)`, capped at the maximum delay.
    pub fn min_delay(mut self, delay: Duration) -> Self {
        self.min_delay = delay;
        self
    }

    /// The longest delay between attempts, jitter included (default 10 s).
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// How much longer each delay is than the one before (default 1.3; at least 1).
    pub fn growth_factor(mut self, factor: f64) -> Self {
        self.growth_factor = factor;
        self
    }

    /// The random part of each delay, as a fraction of it: the delay is lengthened by a
    /// uniformly random share of up to `jitter` of itself (never past the maximum delay), so
    /// that clients cut off together do not all come back at the same instant. 0..=1;
    /// default 0.5; 0 for exact delays.
    pub fn jitter(mut self, jitter: f64) -> Self {
        self.jitter = jitter;
        self
    }

    /// The most attempts in a row before giving up (`None`, the default: never give up).
    /// `Some(0)` never reconnects. The count starts again once a connection has stayed open
    /// for the minimum uptime.
    pub fn max_attempts(mut self, attempts: Option<u32>) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// How long each attempt, the first included, may take to open before it is abandoned
    /// and counted as failed with [`FailureCause::ConnectTimeout`](crate::FailureCause)
    /// (default 4 s). Both targets: in a browser, where no connect timeout exists, this is the
    /// only one; natively the builder's own (longer by default) still applies too.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a connection must stay open for the next loss to start the delays again from
    /// the minimum (default 5 s). A server that accepts and drops at once is thus retried
    /// with growing delays, not in a tight loop.
    pub fn min_uptime(mut self, uptime: Duration) -> Self {
        self.min_uptime = uptime;
        self
    }

    /// How many messages may be queued while not connected (default 1,000); one more is
    /// refused with [`SendError::QueueFull`](super::SendError), which hands it back. 0 queues
    /// nothing.
    pub fn max_queued(mut self, messages: usize) -> Self {
        self.max_queued = messages;
        self
    }

    /// Close codes after which the socket does not reconnect: the server meant it (for
    /// example 1008 policy violation, or an application's 4xxx "banned"). None by default.
    pub fn final_close_codes(mut self, codes: impl IntoIterator<Item = u16>) -> Self {
        self.final_close_codes = codes.into_iter().collect();
        self
    }

    /// Checks the options' ranges.
    ///
    /// # Errors
    /// The first option out of range, as an [`InvalidOption`].
    pub(crate) fn validate(&self) -> Result<(), InvalidOption> {
        if self.min_delay > self.max_delay {
            return Err(InvalidOption::DelayRange {
                min: self.min_delay,
                max: self.max_delay,
            });
        }
        if !(self.growth_factor.is_finite() && self.growth_factor >= 1.0) {
            return Err(InvalidOption::GrowthFactor(self.growth_factor));
        }
        if !(0.0..=1.0).contains(&self.jitter) {
            return Err(InvalidOption::Jitter(self.jitter));
        }
        if self.connect_timeout.is_zero() {
            return Err(InvalidOption::ZeroConnectTimeout);
        }
        Ok(())
    }
}
