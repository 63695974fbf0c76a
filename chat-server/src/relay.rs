//! `--redis`: several chat servers sharing one chat through a Redis pub/sub channel.
//!
//! Each server delivers its own clients' messages to its own clients at once (as without
//! Redis) and publishes them, tagged with its id, on the channel; what comes from the channel
//! with another server's id is delivered to its clients. So every client gets every message
//! once, and each sender's messages in their order: one server publishes in the order it
//! delivers, on one connection, and Redis hands each subscriber the channel's messages in the
//! order it received them.
//!
//! The client is the `redis` crate (redis-rs, the maintained Rust client, on tokio): its
//! pub/sub stream and a multiplexed connection for `PUBLISH`. The link is this module's own
//! loop rather than the crate's reconnecting manager, so that its state is known at every
//! moment (`/health`, the log). When Redis goes away, each server goes on serving its own
//! clients and reconnects with exponential backoff (100 ms doubling to 5 s, with jitter);
//! messages sent meanwhile reach only the clients of their own server (Redis pub/sub keeps
//! nothing for a subscriber that is away), none twice.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, Utf8Bytes};
use futures::StreamExt;
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

use crate::hub::Hub;

/// The first wait before reconnecting; it doubles after each failure.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
/// The longest wait before reconnecting.
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How long connecting or publishing may take before the link counts as down.
const REDIS_TIMEOUT: Duration = Duration::from_secs(5);
/// Messages waiting to be published; when full (Redis is slow), senders wait.
const OUTBOX: usize = 1024;
/// The most messages published in one pipeline.
const BATCH: usize = 256;

/// The link to Redis, shared by the clients' readers (publishing) and `/health`.
#[derive(Debug)]
pub struct Relay {
    outbox: mpsc::Sender<Utf8Bytes>,
    up: watch::Receiver<bool>,
}

/// `--redis` is not a Redis URL.
#[derive(Debug)]
pub struct BadRedisUrl(redis::RedisError);

impl std::fmt::Display for BadRedisUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "--redis: {}", self.0)
    }
}

impl std::error::Error for BadRedisUrl {}

/// Checks `url` before the server starts.
///
/// # Errors
/// [`BadRedisUrl`] when it is not a Redis URL (`redis://HOST:PORT/`).
pub fn client(url: &str) -> Result<redis::Client, BadRedisUrl> {
    redis::Client::open(url).map_err(BadRedisUrl)
}

impl Relay {
    /// Starts the link on `channel` of `client`'s Redis, delivering the other servers'
    /// messages through `hub`. Must be called within the runtime.
    pub fn start(client: redis::Client, channel: String, hub: Arc<Hub>) -> Arc<Self> {
        let (outbox, outbox_rx) = mpsc::channel(OUTBOX);
        let (up_tx, up) = watch::channel(false);
        let link = Link {
            client,
            channel,
            hub,
            id: format!("{:016x}", fastrand::u64(..)),
            outbox: outbox_rx,
            up: up_tx,
        };
        tokio::spawn(link.run());
        Arc::new(Self { outbox, up })
    }

    /// Whether the link is up.
    pub fn is_up(&self) -> bool {
        *self.up.borrow()
    }

    /// Publishes `text`, a chat message already delivered to this server's clients, for the
    /// other servers; waits while the outbox is full. While the link is down it is not
    /// published.
    pub async fn publish(&self, text: Utf8Bytes) {
        if self.is_up() {
            let _ = self.outbox.send(text).await;
        }
    }
}

/// The link's loop and what it owns: the Redis connections (one at a time) and the outbox's
/// receiving end.
struct Link {
    client: redis::Client,
    channel: String,
    hub: Arc<Hub>,
    /// This server's id on the channel: its own messages come back and are skipped.
    id: String,
    outbox: mpsc::Receiver<Utf8Bytes>,
    up: watch::Sender<bool>,
}

impl Link {
    /// Connects, relays until the link fails, and reconnects, for the server's lifetime.
    async fn run(mut self) {
        let mut backoff = BACKOFF_MIN;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let problem = self.relay(&mut backoff).await;
            if self.up.send_replace(false) {
                warn!(%problem, "redis link down: serving this server's clients only; reconnecting");
                attempt = 1;
            } else if attempt == 1 || attempt.is_power_of_two() {
                warn!(%problem, attempt, "redis unreachable: serving this server's clients only; retrying");
            }
            // What was waiting to be published while the link failed is not relayed.
            while self.outbox.try_recv().is_ok() {}
            let jitter = backoff.mul_f64(fastrand::f64() * 0.5);
            tokio::time::sleep(backoff + jitter).await;
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }

    /// One connection's life: subscribes, then delivers and publishes until something fails;
    /// returns what failed. Resets `backoff` once connected.
    async fn relay(&mut self, backoff: &mut Duration) -> String {
        let connected = tokio::time::timeout(REDIS_TIMEOUT, async {
            let mut pubsub = self.client.get_async_pubsub().await?;
            pubsub.subscribe(&self.channel).await?;
            let publisher = self.client.get_multiplexed_async_connection().await?;
            Ok::<_, redis::RedisError>((pubsub, publisher))
        })
        .await;
        let (pubsub, mut publisher) = match connected {
            Ok(Ok(connected)) => connected,
            Ok(Err(problem)) => return problem.to_string(),
            Err(_) => return format!("no answer within {REDIS_TIMEOUT:?}"),
        };
        self.up.send_replace(true);
        *backoff = BACKOFF_MIN;
        info!(channel = %self.channel, id = %self.id, "redis link up: sharing the chat");
        let mut messages = pubsub.into_on_message();
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            tokio::select! {
                message = messages.next() => {
                    let Some(message) = message else {
                        return "the subscription ended".to_string();
                    };
                    if let Some(text) = self.foreign_text(message.get_payload_bytes()) {
                        self.hub.broadcast(Message::Text(text)).await;
                    }
                }
                received = self.outbox.recv_many(&mut batch, BATCH) => {
                    if received == 0 {
                        return "the server is stopping".to_string();
                    }
                    let mut pipeline = redis::pipe();
                    for text in batch.drain(..) {
                        let payload = format!("{}:{}", self.id, text.as_str());
                        pipeline.cmd("PUBLISH").arg(&self.channel).arg(payload).ignore();
                    }
                    match tokio::time::timeout(REDIS_TIMEOUT, pipeline.query_async::<()>(&mut publisher)).await {
                        Ok(Ok(())) => {}
                        Ok(Err(problem)) => return problem.to_string(),
                        Err(_) => return format!("PUBLISH not answered within {REDIS_TIMEOUT:?}"),
                    }
                }
            }
        }
    }

    /// The text of a message from another server (`ID:TEXT`); `None` for this server's own,
    /// and for anything else on the channel (logged).
    fn foreign_text(&self, payload: &[u8]) -> Option<Utf8Bytes> {
        let parsed = std::str::from_utf8(payload)
            .ok()
            .and_then(|payload| payload.split_once(':'));
        match parsed {
            Some((id, _)) if id == self.id => None,
            Some((_, text)) => Some(twinsock_chat::cut_line(text).into()),
            None => {
                warn!(
                    bytes = payload.len(),
                    "skipped a message on the channel that is not ID:TEXT in UTF-8"
                );
                None
            }
        }
    }
}
