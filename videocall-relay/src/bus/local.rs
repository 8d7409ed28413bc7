//! The in-process bus: several relays in one process share a [`LocalHub`].
//!
//! Used by the all-in-one server (one relay, so nothing crosses it) and by tests that run
//! several instances in one process.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use tokio::sync::mpsc;

use super::{Bus, BusError, BusMessage, Subscription, subject_matches};

/// Messages waiting for one subscriber; when full, new messages for it are dropped and counted
/// (the same policy NATS applies to a slow consumer).
const SUBSCRIBER_QUEUE: usize = 8192;

struct Subscriber {
    instance: u64,
    pattern: String,
    tx: mpsc::Sender<BusMessage>,
}

#[derive(Default)]
struct Hub {
    subscribers: Mutex<Vec<Subscriber>>,
    next_instance: AtomicU64,
    dropped: AtomicU64,
}

/// The shared in-process bus; cheap to clone.
#[derive(Clone, Default)]
pub struct LocalHub(Arc<Hub>);

impl LocalHub {
    /// A new, empty hub.
    pub fn new() -> Self {
        Self::default()
    }

    /// A connection for one relay instance; it does not receive its own publications.
    pub fn connect(&self) -> LocalBus {
        LocalBus { hub: self.clone(), instance: self.0.next_instance.fetch_add(1, Relaxed) }
    }

    /// Messages dropped because a subscriber's queue was full.
    pub fn dropped(&self) -> u64 {
        self.0.dropped.load(Relaxed)
    }
}

/// One instance's connection to a [`LocalHub`].
#[derive(Clone)]
pub struct LocalBus {
    hub: LocalHub,
    instance: u64,
}

impl LocalBus {
    /// A bus of its own, for a single-instance server.
    pub fn standalone() -> Self {
        LocalHub::new().connect()
    }
}

impl Bus for LocalBus {
    fn publish(&self, subject: String, payload: Bytes) -> BoxFuture<'_, Result<(), BusError>> {
        let hub = &self.hub.0;
        let mut subscribers = hub.subscribers.lock().unwrap_or_else(PoisonError::into_inner);
        subscribers.retain(|s| !s.tx.is_closed());
        for sub in subscribers.iter() {
            if sub.instance == self.instance || !subject_matches(&sub.pattern, &subject) {
                continue;
            }
            let message = BusMessage { subject: subject.clone(), payload: payload.clone() };
            if sub.tx.try_send(message).is_err() {
                hub.dropped.fetch_add(1, Relaxed);
            }
        }
        futures::future::ready(Ok(())).boxed()
    }

    fn subscribe(&self, pattern: String) -> BoxFuture<'_, Result<Subscription, BusError>> {
        let (tx, rx) = mpsc::channel(SUBSCRIBER_QUEUE);
        let subscriber = Subscriber { instance: self.instance, pattern, tx };
        let hub = &self.hub.0;
        hub.subscribers.lock().unwrap_or_else(PoisonError::into_inner).push(subscriber);
        let stream = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|message| (message, rx))
        });
        futures::future::ready(Ok(stream.boxed())).boxed()
    }

    fn is_connected(&self) -> bool {
        true
    }

    fn reaches_others(&self) -> bool {
        // Instances are numbered from 0 as they connect: a second one may be listening.
        self.hub.0.next_instance.load(Relaxed) > 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn delivers_to_other_instances_only() {
        let hub = LocalHub::new();
        let (a, b) = (hub.connect(), hub.connect());
        let mut sub_a = a.subscribe("room.r.>".into()).await.unwrap();
        let mut sub_b = b.subscribe("room.r.>".into()).await.unwrap();
        a.publish("room.r.1".into(), Bytes::from_static(b"x")).await.unwrap();
        let got = sub_b.next().await.unwrap();
        assert_eq!((got.subject.as_str(), &got.payload[..]), ("room.r.1", &b"x"[..]));
        b.publish("room.q.1".into(), Bytes::from_static(b"y")).await.unwrap();
        b.publish("room.r.2".into(), Bytes::from_static(b"z")).await.unwrap();
        assert_eq!(&sub_a.next().await.unwrap().payload[..], b"z");
    }

    #[test]
    fn a_standalone_bus_reaches_nobody_else() {
        assert!(!LocalBus::standalone().reaches_others());
        let hub = LocalHub::new();
        let first = hub.connect();
        assert!(!first.reaches_others());
        let _second = hub.connect();
        assert!(first.reaches_others());
    }

    #[tokio::test]
    async fn dropping_a_subscription_unsubscribes() {
        let hub = LocalHub::new();
        let (a, b) = (hub.connect(), hub.connect());
        drop(a.subscribe("x".into()).await.unwrap());
        b.publish("x".into(), Bytes::new()).await.unwrap();
        assert!(hub.0.subscribers.lock().unwrap().is_empty());
        assert_eq!(hub.dropped(), 0);
    }
}
