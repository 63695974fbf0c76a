//! The registry of connected clients: admission (at most `max_clients`), each client's
//! outgoing queue (bounded by bytes), the broadcast, and asking a client's connection to close.
//!
//! Delivery pushes back instead of dropping: a message is queued for all its recipients at
//! once, under one lock (so every client gets the broadcasts in the same order), and only when
//! none of their queues is full. While one is, the sender waits, and with it the sender's
//! reader: the sender's own socket then fills, which is TCP's push-back on the client. A full
//! queue is not taken to mean a slow client: its writer may simply not have run yet (one
//! client's burst fills every queue before any writer gets a turn). A client is slow, and is
//! closed with 1013, only when its queue is full while its socket has taken nothing for
//! [`SLOW_AFTER`]; that is also the longest it holds the others up.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::ws::Message;
use tokio::sync::{oneshot, watch, Notify};
use tokio::time::Instant;

use crate::connection::Connection;
use crate::queue::{self, QueueReceiver, QueueSender, ENTRY_COST};

/// How long a client's socket may take nothing, while its queue is full (or while it owes the
/// client a pong, see [`crate::transport`]), before the client counts as slow (closed with
/// 1013).
pub const SLOW_AFTER: Duration = Duration::from_secs(1);

/// A close code and reason that the server sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Close {
    /// The close code.
    pub code: u16,
    /// The close reason.
    pub reason: &'static str,
}

impl Close {
    /// 1000: done (the `/hello` demo, after its greeting).
    pub const NORMAL: Self = Self::new(1000, "");
    /// 1001: the server is shutting down.
    pub const GOING_AWAY: Self = Self::new(1001, "server shutting down");
    /// 1002: the client broke the protocol.
    pub const PROTOCOL_ERROR: Self = Self::new(1002, "protocol error");
    /// 1003: the chat takes text only.
    pub const BINARY: Self = Self::new(1003, "binary messages are not supported");
    /// 1007: a text message that is not UTF-8.
    pub const INVALID_UTF8: Self = Self::new(1007, "invalid UTF-8");
    /// 1008: the client sent more than `--rate-limit` allows.
    pub const RATE_LIMIT: Self = Self::new(1008, "rate limit");
    /// 1009: a message over `--max-message-size`.
    pub const TOO_BIG: Self = Self::new(1009, "message too big");
    /// 1013: the client's queue was full while its socket took nothing.
    pub const TOO_SLOW: Self = Self::new(1013, "too slow");

    const fn new(code: u16, reason: &'static str) -> Self {
        Self { code, reason }
    }
}

/// An entry of a client's outgoing queue.
#[derive(Debug, Clone)]
pub enum Outgoing {
    /// A message to send.
    Message(Message),
    /// Close after the messages queued before this.
    Close(Close),
}

impl Outgoing {
    /// What it costs in a queue: its payload plus [`ENTRY_COST`].
    fn cost(&self) -> usize {
        let payload = match self {
            Self::Message(Message::Text(text)) => text.len(),
            Self::Message(Message::Binary(data) | Message::Ping(data) | Message::Pong(data)) => data.len(),
            Self::Message(Message::Close(_)) | Self::Close(_) => 0,
        };
        payload + ENTRY_COST
    }
}

/// Why a client was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinError {
    /// `max_clients` are connected.
    Full,
    /// The server is shutting down.
    ShuttingDown,
}

/// The connected clients.
#[derive(Debug)]
pub struct Hub {
    registry: Mutex<Registry>,
    /// The number of clients, for waiting until none is left.
    count: watch::Sender<usize>,
    /// Notified whenever a full queue drains, a client closes or leaves: senders waiting for
    /// room look again.
    room: Arc<Notify>,
    max_clients: usize,
    queue_bytes: usize,
}

#[derive(Debug, Default)]
struct Registry {
    next_id: u64,
    members: HashMap<u64, Member>,
    shutting_down: bool,
}

#[derive(Debug)]
struct Member {
    queue: QueueSender<Outgoing>,
    /// Taken when the client is asked to close; `None` means it is closing.
    close: Option<oneshot::Sender<Close>>,
    /// Whether it receives broadcasts (chat clients do).
    listens: bool,
    /// Its connection: whether its socket takes data.
    connection: Arc<Connection>,
}

impl Member {
    /// Asks the connection to close at once (queued messages are dropped); no-op if asked
    /// already. Returns whether it was asked now.
    fn close(&mut self, close: Close) -> bool {
        match self.close.take() {
            Some(asked) => {
                let _ = asked.send(close);
                true
            }
            None => false,
        }
    }

    /// Whether it takes no more messages (it is closing).
    fn is_closing(&self) -> bool {
        self.close.is_none()
    }
}

/// Which clients a delivery is for.
#[derive(Debug, Clone, Copy)]
enum Recipients {
    /// Every listening client.
    Listeners,
    /// One client.
    One(u64),
}

/// A client's place in the hub; leaving the hub when dropped.
#[derive(Debug)]
pub struct Membership {
    hub: Arc<Hub>,
    id: u64,
}

/// What a client's writer drains: its queue, and the request to close at once.
#[derive(Debug)]
pub struct Mailbox {
    /// The outgoing queue (bounded).
    pub queue: QueueReceiver<Outgoing>,
    /// Sent when the connection must close at once.
    pub close: oneshot::Receiver<Close>,
}

impl Hub {
    /// A hub admitting `max_clients` clients, each with a queue of `queue_bytes` bytes.
    pub fn new(max_clients: usize, queue_bytes: usize) -> Arc<Self> {
        Arc::new(Self {
            registry: Mutex::default(),
            count: watch::Sender::new(0),
            room: Arc::new(Notify::new()),
            max_clients,
            queue_bytes,
        })
    }

    /// How many clients are connected.
    pub fn clients(&self) -> usize {
        *self.count.borrow()
    }

    /// Admits the client on `connection`, which receives broadcasts if `listens`.
    pub fn join(
        self: &Arc<Self>,
        listens: bool,
        connection: Arc<Connection>,
    ) -> Result<(Membership, Mailbox), JoinError> {
        let mut registry = self.lock();
        if registry.shutting_down {
            return Err(JoinError::ShuttingDown);
        }
        if registry.members.len() >= self.max_clients {
            return Err(JoinError::Full);
        }
        let (queue, queue_rx) = queue::bounded(self.queue_bytes, Arc::clone(&self.room));
        let (close, close_rx) = oneshot::channel();
        let id = registry.next_id;
        registry.next_id += 1;
        registry.members.insert(
            id,
            Member {
                queue,
                close: Some(close),
                listens,
                connection,
            },
        );
        self.count.send_replace(registry.members.len());
        let membership = Membership {
            hub: Arc::clone(self),
            id,
        };
        let mailbox = Mailbox {
            queue: queue_rx,
            close: close_rx,
        };
        Ok((membership, mailbox))
    }

    /// Closes every client with `close` and admits no more.
    pub fn shut_down(&self, close: Close) {
        let mut registry = self.lock();
        registry.shutting_down = true;
        for member in registry.members.values_mut() {
            member.close(close);
        }
        drop(registry);
        self.room.notify_waiters();
    }

    /// Queues `message` for every listening client that is not closing, waiting while one
    /// that reads has a full queue. Messages are queued under one lock, so every client gets
    /// them in the same order.
    pub async fn broadcast(&self, message: Message) {
        self.deliver(Recipients::Listeners, Outgoing::Message(message))
            .await;
    }

    /// Queues `item` for `recipients` once none of their queues is full, closing (1013) those
    /// whose queue is full while their socket has taken nothing for [`SLOW_AFTER`].
    async fn deliver(&self, recipients: Recipients, item: Outgoing) {
        let cost = item.cost();
        loop {
            let room = self.room.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            let Some(look_again) = self.lock().try_deliver(recipients, &item, cost) else {
                return;
            };
            // A full queue drains (or its client leaves) and `room` is notified; or its client
            // may count as slow from `look_again` on.
            tokio::select! {
                () = room => {}
                () = tokio::time::sleep_until(look_again) => {}
            }
        }
    }

    /// Completes when no client is left.
    pub async fn emptied(&self) {
        let _ = self.count.subscribe().wait_for(|count| *count == 0).await;
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Registry {
    /// Queues `item` for every recipient that is not closing, if none of their queues is full;
    /// first closes those that are full and slow. Otherwise queues nothing and returns when
    /// the first full queue's client could count as slow.
    fn try_deliver(&mut self, recipients: Recipients, item: &Outgoing, cost: usize) -> Option<Instant> {
        let mut look_again: Option<Instant> = None;
        let now = Instant::now();
        for member in self.recipients(recipients) {
            if member.is_closing() || !member.queue.is_full() {
                continue;
            }
            let blocked = member.connection.write_blocked_for();
            if blocked >= SLOW_AFTER {
                member.close(Close::TOO_SLOW);
            } else {
                let slow_at = now + (SLOW_AFTER - blocked);
                look_again = Some(look_again.map_or(slow_at, |at| at.min(slow_at)));
            }
        }
        if look_again.is_some() {
            return look_again;
        }
        for member in self.recipients(recipients) {
            if !member.is_closing() {
                member.queue.push(item.clone(), cost);
            }
        }
        None
    }

    fn recipients(&mut self, recipients: Recipients) -> Box<dyn Iterator<Item = &mut Member> + '_> {
        match recipients {
            Recipients::Listeners => Box::new(self.members.values_mut().filter(|member| member.listens)),
            Recipients::One(id) => Box::new(self.members.get_mut(&id).into_iter()),
        }
    }
}

impl Membership {
    /// Queues `message` for every listening client (see [`Hub::broadcast`]), this one included.
    pub async fn broadcast(&self, message: Message) {
        self.hub.broadcast(message).await;
    }

    /// Queues `item` for this client only, waiting while its queue is full.
    pub async fn reply(&self, item: Outgoing) {
        self.hub.deliver(Recipients::One(self.id), item).await;
    }

    /// Asks this client's connection to close at once with `close`.
    pub fn close(&self, close: Close) {
        let asked = self
            .hub
            .lock()
            .members
            .get_mut(&self.id)
            .is_some_and(|member| member.close(close));
        if asked {
            self.hub.room.notify_waiters();
        }
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        let mut registry = self.hub.lock();
        registry.members.remove(&self.id);
        self.hub.count.send_replace(registry.members.len());
        drop(registry);
        self.hub.room.notify_waiters();
    }
}
