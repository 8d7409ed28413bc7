//! The bounded event queue from the driver to the application, and its policy.
//!
//! Capacity `N` (default 1024). [`Event::Packet`] is only queued while more than a reserve of
//! slots is free (an eighth of `N`, at most 64), else it is dropped and counted: media is
//! perishable. Every other event is never dropped: it may use the reserve, and when the queue is
//! completely full the driver waits for the application to read. Events keep their order.
//! The one exception is closing: once the application has called `close`, the driver no longer
//! waits, and the last events are queued only if there is room.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;
use tokio::sync::mpsc;

use super::Shared;
use crate::event::Event;
use crate::stats::Counter;

/// The driver's side of the queue.
#[derive(Debug)]
pub(super) struct EventSender {
    tx: mpsc::Sender<Event>,
    reserve: usize,
    shared: Arc<Shared>,
}

/// The stream of [`Event`]s of one client; it ends when the driver finishes.
#[derive(Debug)]
pub struct Events {
    rx: mpsc::Receiver<Event>,
}

/// A queue of `capacity` events (at least 2).
pub(super) fn channel(capacity: usize, shared: Arc<Shared>) -> (EventSender, Events) {
    let capacity = capacity.max(2);
    let (tx, rx) = mpsc::channel(capacity);
    let reserve = (capacity / 8).clamp(1, 64);
    (EventSender { tx, reserve, shared }, Events { rx })
}

impl EventSender {
    /// Queues `event` under the policy above. If the application dropped [`Events`], events
    /// are discarded without counting: nobody is listening.
    pub(super) async fn deliver(&self, event: Event) {
        if self.tx.is_closed() {
            return;
        }
        if event.is_droppable() {
            if self.tx.capacity() <= self.reserve || self.tx.try_send(event).is_err() {
                self.shared.counters.bump(Counter::DroppedEvents);
            }
            return;
        }
        if self.shared.is_closed() {
            let _ = self.tx.try_send(event);
            return;
        }
        // Control events wait for room, unless the application closes the client meanwhile (the
        // driver's loops check `is_closed` after this). An error means the receiver is gone.
        tokio::select! {
            _ = self.tx.send(event) => {}
            () = self.shared.close.notified() => {}
        }
    }
}

impl Events {
    /// The next event; `None` once the driver has finished.
    pub async fn recv(&mut self) -> Option<Event> {
        self.rx.recv().await
    }

    /// The next event if one is queued, without waiting.
    pub fn try_recv(&mut self) -> Option<Event> {
        self.rx.try_recv().ok()
    }
}

impl Stream for Events {
    type Item = Event;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.rx.poll_recv(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{PeerKey, TransportKind};
    use futures::StreamExt;
    use videocall_types::PacketWrapper;

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

    #[tokio::test]
    async fn packets_are_dropped_before_the_reserve_but_control_events_are_kept() {
        let shared = Arc::new(Shared::default());
        let (tx, mut events) = channel(16, shared.clone()); // reserve 2
        for _ in 0..20 {
            tx.deliver(packet()).await;
        }
        assert_eq!(shared.counters.snapshot().dropped_events, 6, "14 fit above the reserve");
        tx.deliver(control()).await;
        tx.deliver(control()).await;
        drop(tx);
        let all: Vec<Event> = events.by_ref().collect().await;
        assert_eq!(all.len(), 16);
        assert!(all[..14].iter().all(Event::is_droppable));
        assert!(all[14..].iter().all(|e| !e.is_droppable()));
    }

    #[tokio::test]
    async fn closing_the_client_releases_a_driver_blocked_on_a_full_queue() {
        let shared = Arc::new(Shared::default());
        let (tx, _events) = channel(2, shared.clone());
        tx.deliver(control()).await;
        tx.deliver(control()).await;
        let blocked = tx.deliver(control());
        let closer = async {
            tokio::task::yield_now().await;
            shared.closed.store(true, std::sync::atomic::Ordering::Release);
            shared.close.notify_one();
        };
        let ((), ()) = tokio::time::timeout(std::time::Duration::from_secs(10), async {
            futures::join!(blocked, closer)
        })
        .await
        .unwrap();
        tx.deliver(control()).await; // closed: does not wait
    }

    #[tokio::test]
    async fn a_dropped_receiver_is_not_counted_as_loss() {
        let shared = Arc::new(Shared::default());
        let (tx, events) = channel(4, shared.clone());
        drop(events);
        tx.deliver(packet()).await;
        tx.deliver(control()).await;
        assert_eq!(shared.counters.snapshot().dropped_events, 0);
    }
}
