//! The messages sent while not connected, kept in order up to a bound until the next
//! connection opens.

use std::collections::VecDeque;

use super::error::SendError;
use crate::event::Message;

/// A bounded FIFO of messages. Owned by the reconnecting socket's state (behind its lock).
#[derive(Debug)]
pub(crate) struct Outbox {
    messages: VecDeque<Message>,
    limit: usize,
    /// The payload bytes queued (what `buffered_amount` adds).
    bytes: u64,
}

impl Outbox {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            messages: VecDeque::new(),
            limit,
            bytes: 0,
        }
    }

    /// Queues `message` at the end.
    ///
    /// # Errors
    /// [`SendError::QueueFull`] with the message when the queue holds `limit` messages.
    pub(crate) fn push(&mut self, message: Message) -> Result<(), SendError> {
        if self.messages.len() >= self.limit {
            return Err(SendError::QueueFull {
                limit: self.limit,
                message,
            });
        }
        self.bytes += message.len() as u64;
        self.messages.push_back(message);
        Ok(())
    }

    /// Takes every queued message, oldest first.
    pub(crate) fn take_all(&mut self) -> Vec<Message> {
        self.bytes = 0;
        self.messages.drain(..).collect()
    }

    /// How many messages are queued.
    pub(crate) fn len(&self) -> usize {
        self.messages.len()
    }

    /// The payload bytes queued.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }
}
