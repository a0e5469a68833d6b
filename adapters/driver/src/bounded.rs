//! Bounded queues from the driver to the application, for streams a peer can fill faster than
//! the application reads: a call's progress reports and a client's event subscriptions.
//!
//! The driver never waits on the application: a full queue drops its oldest item instead, and
//! the receiver learns how many it missed ([`Received::Missed`]) before the next item. What the
//! application does with that is the stream's policy: progress streams skip them (the latest
//! progress is what matters), event streams report `ClientEvent::Lagged`.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use futures_util::Stream;

struct State<T> {
    items: VecDeque<T>,
    capacity: usize,
    /// Items dropped since the receiver last heard of it.
    missed: u64,
    /// How many senders are alive (a call's rounds share one progress queue).
    senders: usize,
    receiver_alive: bool,
    waker: Option<Waker>,
}

struct Shared<T>(Mutex<State<T>>);

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // Every update is one step under the lock, so a poisoned lock still holds a valid state.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A queue of at most `capacity` items (at least 1).
pub(crate) fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared(Mutex::new(State {
        items: VecDeque::new(),
        capacity: capacity.max(1),
        missed: 0,
        senders: 1,
        receiver_alive: true,
        waker: None,
    })));
    (Sender(shared.clone()), Receiver(shared))
}

/// The driver's end.
pub(crate) struct Sender<T>(Arc<Shared<T>>);

impl<T> Sender<T> {
    /// Queues `item`, dropping the oldest one when full; gives it back if the receiver is gone.
    pub(crate) fn send(&self, item: T) -> Result<(), T> {
        let mut state = self.0.lock();
        if !state.receiver_alive {
            return Err(item);
        }
        if state.items.len() >= state.capacity {
            state.items.pop_front();
            state.missed += 1;
        }
        state.items.push_back(item);
        if let Some(waker) = state.waker.take() {
            waker.wake();
        }
        Ok(())
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.0.lock().senders += 1;
        Sender(self.0.clone())
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.senders -= 1;
        if state.senders > 0 {
            return;
        }
        if let Some(waker) = state.waker.take() {
            waker.wake();
        }
    }
}

/// What the application's end yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Received<T> {
    /// The next item.
    Item(T),
    /// This many items were dropped here because the queue was full.
    Missed(u64),
}

/// The application's end: a stream that ends once the sender is gone and the queue is empty.
pub(crate) struct Receiver<T>(Arc<Shared<T>>);

impl<T> Stream for Receiver<T> {
    type Item = Received<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Received<T>>> {
        let mut state = self.0.lock();
        if state.missed > 0 {
            return Poll::Ready(Some(Received::Missed(std::mem::take(&mut state.missed))));
        }
        match state.items.pop_front() {
            Some(item) => Poll::Ready(Some(Received::Item(item))),
            None if state.senders == 0 => Poll::Ready(None),
            None => {
                state.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.receiver_alive = false;
        state.items.clear();
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;

    #[test]
    fn a_full_queue_drops_the_oldest_and_says_how_many_were_missed() {
        let (sender, receiver) = channel(3);
        for n in 0..10 {
            sender.send(n).unwrap();
        }
        drop(sender);
        let got: Vec<Received<i32>> = futures_executor::block_on(receiver.collect());
        assert_eq!(
            got,
            vec![Received::Missed(7), Received::Item(7), Received::Item(8), Received::Item(9)]
        );
    }

    #[test]
    fn the_stream_ends_only_when_the_last_sender_is_gone() {
        let (sender, mut receiver) = channel(2);
        let second = sender.clone();
        drop(sender);
        second.send(1).unwrap();
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let next = Pin::new(&mut receiver).poll_next(&mut cx);
        assert_eq!(next, Poll::Ready(Some(Received::Item(1))));
        assert_eq!(Pin::new(&mut receiver).poll_next(&mut cx), Poll::Pending);
        drop(second);
        assert_eq!(Pin::new(&mut receiver).poll_next(&mut cx), Poll::Ready(None));
    }

    #[test]
    fn a_dropped_receiver_refuses_further_items() {
        let (sender, receiver) = channel(2);
        drop(receiver);
        assert_eq!(sender.send(1), Err(1));
    }
}
