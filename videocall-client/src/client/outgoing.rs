//! The bounded queue of packets from the handles to the driver, and its policy.
//!
//! Capacity [`ClientOptions::send_capacity`] (default 256). A full queue refuses the new packet
//! at once (`SendError::Full`): the connection is slower than the sender, and waiting would
//! only make the media older. When a connection is lost, the packets still queued are
//! discarded (stale media is worthless). Both are counted in `dropped_outgoing` by the caller.
//! One lock per packet; nothing is allocated beyond the packets themselves.
//!
//! [`ClientOptions::send_capacity`]: crate::options::ClientOptions::send_capacity

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use futures::task::AtomicWaker;

/// Packets waiting for the driver.
#[derive(Debug)]
pub(crate) struct Outgoing {
    packets: Mutex<VecDeque<Vec<u8>>>,
    capacity: usize,
    /// The driver, waiting for a packet.
    waker: AtomicWaker,
}

impl Outgoing {
    /// An empty queue of at most `capacity` packets.
    pub(crate) fn new(capacity: usize) -> Self {
        Self { packets: Mutex::new(VecDeque::new()), capacity, waker: AtomicWaker::new() }
    }

    fn packets(&self) -> MutexGuard<'_, VecDeque<Vec<u8>>> {
        // Nothing panics while holding the lock; a poisoned queue is still a valid queue.
        self.packets.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `packet`, or gives it back when the queue is full.
    pub(crate) fn push(&self, packet: Vec<u8>) -> Result<(), Vec<u8>> {
        {
            let mut packets = self.packets();
            if packets.len() >= self.capacity {
                return Err(packet);
            }
            packets.push_back(packet);
        }
        self.waker.wake();
        Ok(())
    }

    /// The oldest packet; registers `cx` to be woken by the next push when there is none.
    pub(crate) fn poll_pop(&self, cx: &mut Context<'_>) -> Poll<Vec<u8>> {
        self.waker.register(cx.waker());
        match self.packets().pop_front() {
            Some(packet) => Poll::Ready(packet),
            None => Poll::Pending,
        }
    }

    /// Discards every queued packet and says how many there were.
    pub(crate) fn clear(&self) -> u64 {
        let mut packets = self.packets();
        let discarded = packets.len() as u64;
        packets.clear();
        discarded
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn a_full_queue_refuses_and_keeps_the_order_of_what_it_took() {
        let queue = Outgoing::new(2);
        assert_eq!(queue.push(vec![1]), Ok(()));
        assert_eq!(queue.push(vec![2]), Ok(()));
        assert_eq!(queue.push(vec![3]), Err(vec![3]));
        let mut cx = Context::from_waker(futures::task::noop_waker_ref());
        assert_eq!(queue.poll_pop(&mut cx), Poll::Ready(vec![1]));
        assert_eq!(queue.push(vec![4]), Ok(()), "a slot is free again");
        assert_eq!(queue.clear(), 2);
        assert_eq!(queue.poll_pop(&mut cx), Poll::Pending);
    }
}
