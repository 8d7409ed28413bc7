//! A one-place mailbox between a producer and a slower consumer: the newest item wins.
//!
//! Queue policy: holds at most one item. Putting an item while one is still waiting replaces
//! (drops) the older one and reports it, so a consumer that falls behind always gets the
//! latest picture and never a backlog.

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

/// The mailbox; share it in an `Arc`.
#[derive(Debug)]
pub struct Latest<T> {
    state: Mutex<State<T>>,
    ready: Condvar,
}

#[derive(Debug)]
struct State<T> {
    item: Option<T>,
    closed: bool,
}

impl<T> Default for Latest<T> {
    fn default() -> Self {
        Self { state: Mutex::new(State { item: None, closed: false }), ready: Condvar::new() }
    }
}

impl<T> Latest<T> {
    /// Puts `item` in; returns true when it replaced one that was never taken.
    pub fn put(&self, item: T) -> bool {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let replaced = state.item.replace(item).is_some();
        self.ready.notify_one();
        replaced
    }

    /// Takes the waiting item, waiting up to `timeout` for one. `Err(Closed)` once closed.
    pub fn take(&self, timeout: Duration) -> Result<Option<T>, Closed> {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut state, _) = self
            .ready
            .wait_timeout_while(state, timeout, |s| s.item.is_none() && !s.closed)
            .unwrap_or_else(PoisonError::into_inner);
        if state.closed {
            return Err(Closed);
        }
        Ok(state.item.take())
    }

    /// Closes the mailbox: the consumer's next `take` returns `Err(Closed)`.
    pub fn close(&self) {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).closed = true;
        self.ready.notify_all();
    }
}

/// The mailbox was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const SHORT: Duration = Duration::from_millis(10);

    #[test]
    fn a_slow_consumer_gets_the_newest_item_and_the_rest_are_counted() {
        let slot = Latest::default();
        assert!(!slot.put(1));
        assert!(slot.put(2), "1 was never taken: dropped");
        assert!(slot.put(3));
        assert_eq!(slot.take(SHORT), Ok(Some(3)));
        assert_eq!(slot.take(SHORT), Ok(None), "nothing new within the timeout");
    }

    #[test]
    fn closing_wakes_a_waiting_consumer() {
        let slot = Arc::new(Latest::<u32>::default());
        let waiter = {
            let slot = slot.clone();
            std::thread::spawn(move || slot.take(Duration::from_secs(30)))
        };
        slot.close();
        assert_eq!(waiter.join().unwrap(), Err(Closed));
    }
}
