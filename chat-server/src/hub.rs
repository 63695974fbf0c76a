//! The registry of connected clients: admission (at most `max_clients`), each client's
//! bounded outgoing queue, the broadcast, and asking a client's connection to close.
//!
//! The hub never waits for a client: it queues with `try_send`, and a client whose queue is
//! full is asked to close with 1013 instead.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::ws::Message;
use tokio::sync::{oneshot, watch};

use crate::queue::{self, Full, QueueReceiver, QueueSender};

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
    /// 1013: the client's queue was full.
    pub const TOO_SLOW: Self = Self::new(1013, "too slow");

    const fn new(code: u16, reason: &'static str) -> Self {
        Self { code, reason }
    }
}

/// An entry of a client's outgoing queue.
#[derive(Debug)]
pub enum Outgoing {
    /// A message to send.
    Message(Message),
    /// Close after the messages queued before this.
    Close(Close),
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
    max_clients: usize,
    queue: usize,
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
}

impl Member {
    /// Asks the connection to close at once (queued messages are dropped); no-op if asked already.
    fn close(&mut self, close: Close) {
        if let Some(asked) = self.close.take() {
            let _ = asked.send(close);
        }
    }

    /// Queues `item`; a full queue closes the client with 1013.
    fn push(&mut self, item: Outgoing) {
        if self.close.is_some() {
            if let Err(Full(_)) = self.queue.try_send(item) {
                self.close(Close::TOO_SLOW);
            }
        }
    }
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
    /// A hub admitting `max_clients` clients, each with a queue of `queue` messages.
    pub fn new(max_clients: usize, queue: usize) -> Arc<Self> {
        Arc::new(Self {
            registry: Mutex::default(),
            count: watch::Sender::new(0),
            max_clients,
            queue,
        })
    }

    /// Admits a client that receives broadcasts if `listens`.
    pub fn join(self: &Arc<Self>, listens: bool) -> Result<(Membership, Mailbox), JoinError> {
        let mut registry = self.lock();
        if registry.shutting_down {
            return Err(JoinError::ShuttingDown);
        }
        if registry.members.len() >= self.max_clients {
            return Err(JoinError::Full);
        }
        let (queue, queue_rx) = queue::bounded(self.queue);
        let (close, close_rx) = oneshot::channel();
        let id = registry.next_id;
        registry.next_id += 1;
        registry.members.insert(
            id,
            Member {
                queue,
                close: Some(close),
                listens,
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

impl Membership {
    /// Queues `message` for every listening client that is not closing, this one included.
    /// Messages are queued under one lock, so every client gets them in the same order.
    pub fn broadcast(&self, message: Message) {
        let mut registry = self.hub.lock();
        for member in registry.members.values_mut().filter(|member| member.listens) {
            member.push(Outgoing::Message(message.clone()));
        }
    }

    /// Queues `item` for this client only.
    pub fn reply(&self, item: Outgoing) {
        if let Some(member) = self.hub.lock().members.get_mut(&self.id) {
            member.push(item);
        }
    }

    /// Asks this client's connection to close at once with `close`.
    pub fn close(&self, close: Close) {
        if let Some(member) = self.hub.lock().members.get_mut(&self.id) {
            member.close(close);
        }
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        let mut registry = self.hub.lock();
        registry.members.remove(&self.id);
        self.hub.count.send_replace(registry.members.len());
    }
}
