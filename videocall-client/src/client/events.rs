//! The bounded event queue from the driver to the application, and its policy.
//!
//! Capacity `N` ([`ClientOptions::event_capacity`], default 1024). [`Event::Packet`] is only
//! queued while more than a reserve of slots is free (an eighth of `N`, at most 64), else it is
//! dropped and counted: media is perishable. Every other event is never dropped: it may use
//! the reserve, and when the queue is completely full the driver waits for the application to
//! read (the connection stalls; a server then drops the client as a slow receiver and it
//! reconnects). Events keep their order. Once the application has closed the client, the driver
//! no longer waits: last events are queued only if there is room. If the application dropped
//! [`Events`], events are discarded without counting: nobody is listening.
//!
//! [`ClientOptions::event_capacity`]: crate::options::ClientOptions::event_capacity

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use futures::{Stream, StreamExt};

use super::Shared;
use crate::event::Event;
use crate::stats::Counter;

#[derive(Debug)]
struct Queue {
    items: VecDeque<Event>,
    capacity: usize,
    /// The application holds the [`Events`] stream.
    listening: bool,
    /// The driver has finished: the stream ends once drained.
    finished: bool,
    reader: Option<Waker>,
    writer: Option<Waker>,
}

fn lock(queue: &Mutex<Queue>) -> MutexGuard<'_, Queue> {
    // Nothing panics while holding the lock; a poisoned queue is still a valid queue.
    queue.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The driver's side of the queue.
#[derive(Debug)]
pub(crate) struct EventSender {
    queue: Arc<Mutex<Queue>>,
    reserve: usize,
    shared: Arc<Shared>,
}

/// The stream of [`Event`]s of one client; it ends when the driver finishes.
#[derive(Debug)]
pub struct Events {
    queue: Arc<Mutex<Queue>>,
}

/// A queue of `capacity` events (at least 2).
pub(crate) fn channel(capacity: usize, shared: Arc<Shared>) -> (EventSender, Events) {
    let capacity = capacity.clamp(2, super::MAX_QUEUE);
    let queue = Arc::new(Mutex::new(Queue {
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
    /// Queues `event` under the policy above.
    pub(crate) async fn deliver(&self, event: Event) {
        let mut event = Some(event);
        futures::future::poll_fn(|cx| {
            let Some(next) = event.take() else { return Poll::Ready(()) };
            let mut queue = lock(&self.queue);
            if !queue.listening {
                return Poll::Ready(());
            }
            let free = queue.capacity.saturating_sub(queue.items.len());
            let room = if next.is_droppable() { free > self.reserve } else { free > 0 };
            if room {
                queue.items.push_back(next);
                if let Some(reader) = queue.reader.take() {
                    reader.wake();
                }
            } else if next.is_droppable() {
                self.shared.counters.bump(Counter::DroppedEvents);
            } else if self.shared.poll_closed(cx).is_pending() {
                // A control event waits for the application to read (or to close the client).
                queue.writer = Some(cx.waker().clone());
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
        let mut queue = lock(&self.queue);
        queue.finished = true;
        if let Some(reader) = queue.reader.take() {
            reader.wake();
        }
    }
}

impl Events {
    /// The next event; `None` once the driver has finished.
    pub async fn recv(&mut self) -> Option<Event> {
        self.next().await
    }

    /// The next event if one is queued, without waiting.
    pub fn try_recv(&mut self) -> Option<Event> {
        let mut queue = lock(&self.queue);
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
        let mut queue = lock(&self.queue);
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
        let mut queue = lock(&self.queue);
        queue.listening = false;
        queue.items.clear();
        if let Some(writer) = queue.writer.take() {
            writer.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{PeerKey, TransportKind};
    use futures::FutureExt;
    use videocall_types::PacketWrapper;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn packet() -> Event {
        Event::Packet { from: PeerKey::Email("x".into()), wrapper: PacketWrapper::default() }
    }

    fn control() -> Event {
        Event::Connected {
            transport: TransportKind::WebSocket,
            session_id: None,
            participants: vec![],
        }
    }

    fn queue(capacity: usize) -> (EventSender, Events, Arc<Shared>) {
        let shared = Arc::new(Shared::new(1));
        let (tx, events) = channel(capacity, shared.clone());
        (tx, events, shared)
    }

    #[test]
    fn packets_are_dropped_before_the_reserve_but_control_events_are_kept() {
        let (tx, mut events, shared) = queue(16); // reserve 2
        for _ in 0..20 {
            assert!(tx.deliver(packet()).now_or_never().is_some());
        }
        assert_eq!(shared.counters.snapshot().dropped_events, 6, "14 fit above the reserve");
        assert!(tx.deliver(control()).now_or_never().is_some());
        assert!(tx.deliver(control()).now_or_never().is_some());
        drop(tx);
        let all: Vec<Event> = std::iter::from_fn(|| events.try_recv()).collect();
        assert_eq!(all.len(), 16);
        assert!(all[..14].iter().all(Event::is_droppable));
        assert!(all[14..].iter().all(|e| !e.is_droppable()));
        assert_eq!(events.next().now_or_never(), Some(None), "the stream ends with the driver");
    }

    #[test]
    fn a_control_event_waits_for_the_reader_and_closing_releases_it() {
        let (tx, mut events, shared) = queue(2);
        assert!(tx.deliver(control()).now_or_never().is_some());
        assert!(tx.deliver(control()).now_or_never().is_some());
        let mut blocked = Box::pin(tx.deliver(control()));
        assert!(blocked.as_mut().now_or_never().is_none(), "a full queue holds the driver");
        assert!(events.try_recv().is_some());
        assert!(blocked.as_mut().now_or_never().is_some(), "reading makes room");

        let mut blocked = Box::pin(tx.deliver(control()));
        assert!(blocked.as_mut().now_or_never().is_none());
        shared.close();
        assert!(blocked.as_mut().now_or_never().is_some(), "closing releases the driver");
        assert!(tx.deliver(control()).now_or_never().is_some(), "closed: does not wait");
    }

    #[test]
    fn a_dropped_receiver_is_not_counted_as_loss() {
        let (tx, events, shared) = queue(4);
        drop(events);
        assert!(tx.deliver(packet()).now_or_never().is_some());
        assert!(tx.deliver(control()).now_or_never().is_some());
        assert_eq!(shared.counters.snapshot().dropped_events, 0);
    }
}
