//! A client's outgoing queue, bounded by bytes: one producer side (the hub) and one consumer
//! (the client's writer task).
//!
//! The queue itself never refuses: the hub looks at [`QueueSender::is_full`] first, and
//! either waits for room (it is woken through the `room` [`Notify`] when a full queue drains
//! below its bound), or closes a client that does not read. An item is taken while there is
//! any room, so a queue holds at most its bound plus one item.
//!
//! It allocates nothing until something is queued, and gives its memory back as it empties
//! below a quarter of what it holds. A tokio `mpsc` channel allocates a block of 32 slots at
//! creation: about 2 KiB for every idle client, a third of what a connection costs in all.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Waker};

use tokio::sync::Notify;

/// What each queued item costs besides its payload, in bytes: its slot (an
/// [`crate::hub::Outgoing`], 40 bytes) and its share of the payload's allocation, rounded up.
pub const ENTRY_COST: usize = 64;

/// Creates a queue that takes items while it holds fewer than `bound` bytes; `room` is
/// notified (every waiter) whenever a full queue drains below its bound.
pub fn bounded<T>(bound: usize, room: Arc<Notify>) -> (QueueSender<T>, QueueReceiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            items: VecDeque::new(),
            bytes: 0,
            waker: None,
            sender_gone: false,
        }),
        bound,
        room,
    });
    (
        QueueSender {
            shared: Arc::clone(&shared),
        },
        QueueReceiver { shared },
    )
}

#[derive(Debug)]
struct Shared<T> {
    state: Mutex<State<T>>,
    bound: usize,
    room: Arc<Notify>,
}

#[derive(Debug)]
struct State<T> {
    /// The items and what each costs.
    items: VecDeque<(T, usize)>,
    /// The sum of the items' costs.
    bytes: usize,
    /// The receiver waiting for an item.
    waker: Option<Waker>,
    sender_gone: bool,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The producing side; dropping it ends the queue once the receiver has taken what is in it.
#[derive(Debug)]
pub struct QueueSender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> QueueSender<T> {
    /// Whether the queue holds its bound or more.
    pub fn is_full(&self) -> bool {
        self.shared.lock().bytes >= self.shared.bound
    }

    /// Queues `item`, which costs `cost` bytes, whether or not the queue is full (the caller
    /// looks at [`QueueSender::is_full`] first).
    pub fn push(&self, item: T, cost: usize) {
        let waker = {
            let mut state = self.shared.lock();
            state.items.push_back((item, cost));
            state.bytes += cost;
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Drop for QueueSender<T> {
    fn drop(&mut self) {
        let waker = {
            let mut state = self.shared.lock();
            state.sender_gone = true;
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// The consuming side.
#[derive(Debug)]
pub struct QueueReceiver<T> {
    shared: Arc<Shared<T>>,
}

impl<T> QueueReceiver<T> {
    /// The next item; `None` once the sender is gone and the queue is empty.
    pub async fn recv(&mut self) -> Option<T> {
        poll_fn(|cx| {
            let mut state = self.shared.lock();
            if let Some((item, cost)) = state.items.pop_front() {
                let was_full = state.bytes >= self.shared.bound;
                state.bytes -= cost;
                let (len, capacity) = (state.items.len(), state.items.capacity());
                if capacity > 16 && len < capacity / 4 {
                    state.items.shrink_to(len * 2);
                }
                if was_full && state.bytes < self.shared.bound {
                    self.shared.room.notify_waiters();
                }
                return Poll::Ready(Some(item));
            }
            if state.sender_gone {
                return Poll::Ready(None);
            }
            state.waker = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }

    /// Whether nothing is queued now.
    pub fn is_empty(&self) -> bool {
        self.shared.lock().items.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue<T>(bound: usize) -> (QueueSender<T>, QueueReceiver<T>, Arc<Notify>) {
        let room = Arc::new(Notify::new());
        let (sender, receiver) = bounded(bound, Arc::clone(&room));
        (sender, receiver, room)
    }

    #[test]
    fn is_full_at_its_bound_in_bytes_and_keeps_the_order() {
        let (sender, mut receiver, _) = queue(10);
        sender.push(1, 4);
        sender.push(2, 4);
        assert!(!sender.is_full());
        sender.push(3, 4);
        assert!(sender.is_full());
        futures::executor::block_on(async {
            assert_eq!(receiver.recv().await, Some(1));
            assert!(!sender.is_full());
            assert_eq!(receiver.recv().await, Some(2));
            assert_eq!(receiver.recv().await, Some(3));
        });
        assert!(receiver.is_empty());
    }

    #[test]
    fn draining_below_the_bound_notifies_the_waiting_senders() {
        let (sender, mut receiver, room) = queue(8);
        sender.push("a", 8);
        let waiting = room.notified();
        futures::pin_mut!(waiting);
        waiting.as_mut().enable();
        futures::executor::block_on(async {
            assert_eq!(receiver.recv().await, Some("a"));
            // Completes only if notified.
            waiting.await;
        });
    }

    #[test]
    fn ends_after_the_sender_is_gone_and_the_queue_is_empty() {
        let (sender, mut receiver, _) = queue(4);
        sender.push("last", 1);
        drop(sender);
        futures::executor::block_on(async {
            assert_eq!(receiver.recv().await, Some("last"));
            assert_eq!(receiver.recv().await, None);
        });
    }

    #[test]
    fn a_waiting_receiver_is_woken_by_a_push_from_another_thread() {
        let (sender, mut receiver, _) = queue(1);
        let producer = std::thread::spawn(move || {
            sender.push(7, 1);
            sender
        });
        let got = futures::executor::block_on(receiver.recv());
        assert_eq!(got, Some(7));
        drop(producer.join().unwrap());
        assert_eq!(futures::executor::block_on(receiver.recv()), None);
    }

    #[test]
    fn gives_memory_back_as_it_empties() {
        let (sender, mut receiver, _) = queue(usize::MAX);
        for i in 0..1024 {
            sender.push(i, 1);
        }
        futures::executor::block_on(async {
            for _ in 0..1024 {
                receiver.recv().await;
            }
        });
        assert!(receiver.shared.lock().items.capacity() <= 16);
    }
}
