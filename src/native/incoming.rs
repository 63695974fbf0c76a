//! The events a connection has for the application and that it has not taken yet, with the
//! receive flow control: above a byte budget of queued message payload, the connection stops
//! reading the socket (so the server meets TCP's backpressure) until the application has taken
//! enough. Nothing is dropped. Owned by the connection.

use std::collections::VecDeque;

use crate::event::Event;

/// The queued events and their payload bytes.
#[derive(Debug)]
pub(crate) struct Incoming {
    events: VecDeque<Event>,
    /// Payload bytes of the queued messages.
    bytes: usize,
    /// Stop reading at this many bytes queued.
    limit: usize,
}

impl Incoming {
    /// An empty queue that stops reading at `limit` bytes.
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            events: VecDeque::new(),
            bytes: 0,
            limit,
        }
    }

    /// Queues `event`.
    pub(crate) fn push(&mut self, event: Event) {
        if let Event::Message(message) = &event {
            self.bytes += message.len();
        }
        self.events.push_back(event);
    }

    /// The next event, if any.
    pub(crate) fn pop(&mut self) -> Option<Event> {
        let event = self.events.pop_front()?;
        if let Event::Message(message) = &event {
            self.bytes -= message.len();
        }
        if self.events.is_empty() && self.events.capacity() > 16 {
            // An idle socket keeps no queue (a burst's queue can be large).
            self.events = VecDeque::new();
        }
        Some(event)
    }

    /// `true` while no event waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// `true` while the budget is used up: do not read more.
    pub(crate) fn is_full(&self) -> bool {
        self.bytes >= self.limit
    }

    /// Drops the queued messages and the open event (the application abandoned the socket while
    /// it still saw it connecting, or dropped its handle).
    pub(crate) fn discard_open_and_messages(&mut self) {
        self.events
            .retain(|event| !matches!(event, Event::Open | Event::Message(_)));
        self.bytes = 0;
    }

    /// Drops every event (nobody will take them).
    pub(crate) fn clear(&mut self) {
        self.events = VecDeque::new();
        self.bytes = 0;
    }
}
