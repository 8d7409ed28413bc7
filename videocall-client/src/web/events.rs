//! The bounded event queue from the driver to the page, with the native client's policy.
//!
//! Capacity `N` (default 1024). [`Event::Packet`] is only queued while more than a reserve of
//! slots is free (an eighth of `N`, at most 64), else it is dropped and counted: media is
//! perishable. Every other event is never dropped: it may use the reserve, and when the queue is
//! completely full the driver waits for the page to read. Events keep their order. Once the
//! application has closed the client, the driver no longer waits: last events are queued only
//! if there is room.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use futures::Stream;

use super::Shared;
use crate::event::Event;
use crate::stats::Counter;

#[derive(Debug)]
struct Queue {
    items: VecDeque<Event>,
    capacity: usize,
    /// The page is reading (the [`Events`] stream exists).
    listening: bool,
    /// The driver has finished: the stream ends once drained.
    finished: bool,
    reader: Option<Waker>,
    writer: Option<Waker>,
}

/// The driver's side of the queue.
#[derive(Debug)]
pub(super) struct EventSender {
    queue: Rc<RefCell<Queue>>,
    reserve: usize,
    shared: Rc<Shared>,
}

/// The stream of [`Event`]s of one client; it ends when the driver finishes.
#[derive(Debug)]
pub struct Events {
    queue: Rc<RefCell<Queue>>,
}

/// A queue of `capacity` events (at least 2).
pub(super) fn channel(capacity: usize, shared: Rc<Shared>) -> (EventSender, Events) {
    let capacity = capacity.max(2);
    let queue = Rc::new(RefCell::new(Queue {
        items: VecDeque::with_capacity(capacity.min(64)),
        capacity,
        listening: true,
        finished: false,
        reader: None,
        writer: None,
    }));
    let reserve = (capacity / 8).clamp(1, 64);
    (EventSender { queue: queue.clone(), reserve, shared }, Events { queue })
}

impl EventSender {
    /// Queues `event` under the policy above; discarded silently when nobody listens.
    pub(super) async fn deliver(&self, event: Event) {
        let mut event = Some(event);
        futures::future::poll_fn(|cx| {
            let mut queue = self.queue.borrow_mut();
            let Some(next) = event.take() else { return Poll::Ready(()) };
            if !queue.listening {
                return Poll::Ready(());
            }
            let free = queue.capacity - queue.items.len();
            let room = if next.is_droppable() { free > self.reserve } else { free > 0 };
            if room {
                queue.items.push_back(next);
                if let Some(reader) = queue.reader.take() {
                    reader.wake();
                }
            } else if next.is_droppable() {
                self.shared.counters.bump(Counter::DroppedEvents);
            } else if !self.shared.is_closed() {
                // A control event waits for the page to read (or for the client to close).
                queue.writer = Some(cx.waker().clone());
                self.shared.close.register(cx.waker());
                event = Some(next);
                return Poll::Pending;
            }
            Poll::Ready(())
        })
        .await;
    }
}

impl Drop for EventSender {
    fn drop(&mut self) {
        let mut queue = self.queue.borrow_mut();
        queue.finished = true;
        if let Some(reader) = queue.reader.take() {
            reader.wake();
        }
    }
}

impl Events {
    /// The next event if one is queued, without waiting.
    pub fn try_recv(&mut self) -> Option<Event> {
        let mut queue = self.queue.borrow_mut();
        let event = queue.items.pop_front();
        if let Some(writer) = queue.writer.take() {
            writer.wake();
        }
        event
    }
}

impl Stream for Events {
    type Item = Event;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        let mut queue = self.queue.borrow_mut();
        if let Some(event) = queue.items.pop_front() {
            if let Some(writer) = queue.writer.take() {
                writer.wake();
            }
            return Poll::Ready(Some(event));
        }
        if queue.finished {
            return Poll::Ready(None);
        }
        queue.reader = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        let mut queue = self.queue.borrow_mut();
        queue.listening = false;
        queue.items.clear();
        if let Some(writer) = queue.writer.take() {
            writer.wake();
        }
    }
}
