//! A client's bounded outgoing queue: one producer side (the hub) and one consumer (the
//! client's writer task).
//!
//! It allocates nothing until something is queued, and gives its memory back as it empties
//! below a quarter of what it holds. A tokio `mpsc` channel allocates a block of 32 slots at
//! creation: about 2 KiB for every idle client, a third of what a connection costs in all.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Waker};

/// Creates a queue that holds at most `capacity` items.
pub fn bounded<T>(capacity: usize) -> (QueueSender<T>, QueueReceiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            items: VecDeque::new(),
            waker: None,
            sender_gone: false,
        }),
        capacity,
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
    capacity: usize,
}

#[derive(Debug)]
struct State<T> {
    items: VecDeque<T>,
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

/// The queue was full: the item comes back.
#[derive(Debug)]
pub struct Full<T>(pub T);

impl<T> QueueSender<T> {
    /// Queues `item` without waiting; gives it back when the queue holds `capacity` items.
    pub fn try_send(&self, item: T) -> Result<(), Full<T>> {
        let waker = {
            let mut state = self.shared.lock();
            if state.items.len() >= self.shared.capacity {
                return Err(Full(item));
            }
            state.items.push_back(item);
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
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
            if let Some(item) = state.items.pop_front() {
                let (len, capacity) = (state.items.len(), state.items.capacity());
                if capacity > 16 && len < capacity / 4 {
                    state.items.shrink_to(len * 2);
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

    #[test]
    fn holds_capacity_items_in_order_and_refuses_more() {
        let (sender, mut receiver) = bounded(2);
        sender.try_send(1).unwrap();
        sender.try_send(2).unwrap();
        assert!(matches!(sender.try_send(3), Err(Full(3))));
        assert!(!receiver.is_empty());
        futures::executor::block_on(async {
            assert_eq!(receiver.recv().await, Some(1));
            sender.try_send(3).unwrap();
            assert_eq!(receiver.recv().await, Some(2));
            assert_eq!(receiver.recv().await, Some(3));
        });
        assert!(receiver.is_empty());
    }

    #[test]
    fn ends_after_the_sender_is_gone_and_the_queue_is_empty() {
        let (sender, mut receiver) = bounded(4);
        sender.try_send("last").unwrap();
        drop(sender);
        futures::executor::block_on(async {
            assert_eq!(receiver.recv().await, Some("last"));
            assert_eq!(receiver.recv().await, None);
        });
    }

    #[test]
    fn a_waiting_receiver_is_woken_by_a_send_from_another_thread() {
        let (sender, mut receiver) = bounded(1);
        let producer = std::thread::spawn(move || {
            sender.try_send(7).unwrap();
            sender
        });
        let got = futures::executor::block_on(receiver.recv());
        assert_eq!(got, Some(7));
        drop(producer.join().unwrap());
        assert_eq!(futures::executor::block_on(receiver.recv()), None);
    }

    #[test]
    fn gives_memory_back_as_it_empties() {
        let (sender, mut receiver) = bounded(1024);
        for i in 0..1024 {
            sender.try_send(i).unwrap();
        }
        futures::executor::block_on(async {
            for _ in 0..1024 {
                receiver.recv().await;
            }
        });
        assert!(receiver.shared.lock().items.capacity() <= 16);
    }
}
