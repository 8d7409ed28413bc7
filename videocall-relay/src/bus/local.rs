//! The in-process bus: several relays in one process share a [`LocalHub`].
//!
//! Used by the all-in-one server (one relay, so nothing crosses it) and by tests that run
//! several instances in one process.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use tokio::sync::mpsc;

use super::{Bus, BusError, BusMessage, Subscription, subject_matches};

/// Messages waiting for one subscriber; when full, new messages for it are dropped and counted
/// (the same policy NATS applies to a slow consumer).
const SUBSCRIBER_QUEUE: usize = 8192;

/// Bytes waiting for one subscriber; past this, new messages for it are dropped and counted.
const SUBSCRIBER_QUEUE_BYTES: usize = 64 << 20;

struct Subscriber {
    id: u64,
    instance: u64,
    pattern: String,
    tx: mpsc::Sender<BusMessage>,
    /// Payload bytes queued in `tx`, taken back as the subscription yields them.
    queued: Arc<AtomicUsize>,
}

#[derive(Default)]
struct Hub {
    subscribers: Mutex<Vec<Subscriber>>,
    next_instance: AtomicU64,
    next_subscriber: AtomicU64,
    dropped: AtomicU64,
}

impl Hub {
    fn subscribers(&self) -> MutexGuard<'_, Vec<Subscriber>> {
        self.subscribers.lock().unwrap_or_else(PoisonError::into_inner)
    }
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

    /// Live subscriptions (each is removed as soon as it is dropped).
    pub fn subscriptions(&self) -> usize {
        self.0.subscribers().len()
    }
}

/// Removes its subscriber from the hub when the subscription is dropped, so a hub that nobody
/// publishes on (a lone all-in-one instance) does not keep one per room ever opened.
struct Unsubscribe {
    hub: Arc<Hub>,
    id: u64,
}

impl Drop for Unsubscribe {
    fn drop(&mut self) {
        self.hub.subscribers().retain(|s| s.id != self.id);
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
        for sub in hub.subscribers().iter() {
            if sub.instance == self.instance || !subject_matches(&sub.pattern, &subject) {
                continue;
            }
            let len = payload.len();
            let message = BusMessage { subject: subject.clone(), payload: payload.clone() };
            if sub.queued.fetch_add(len, Relaxed) + len > SUBSCRIBER_QUEUE_BYTES
                || sub.tx.try_send(message).is_err()
            {
                sub.queued.fetch_sub(len, Relaxed);
                hub.dropped.fetch_add(1, Relaxed);
            }
        }
        futures::future::ready(Ok(())).boxed()
    }

    fn subscribe(&self, pattern: String) -> BoxFuture<'_, Result<Subscription, BusError>> {
        let (tx, rx) = mpsc::channel(SUBSCRIBER_QUEUE);
        let hub = self.hub.0.clone();
        let id = hub.next_subscriber.fetch_add(1, Relaxed);
        let queued = Arc::new(AtomicUsize::new(0));
        let subscriber =
            Subscriber { id, instance: self.instance, pattern, tx, queued: queued.clone() };
        hub.subscribers().push(subscriber);
        let state = (rx, queued, Unsubscribe { hub, id });
        let stream = futures::stream::unfold(state, |(mut rx, queued, guard)| async move {
            let message = rx.recv().await?;
            queued.fetch_sub(message.payload.len(), Relaxed);
            Some((message, (rx, queued, guard)))
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
        assert_eq!(hub.subscriptions(), 0);
        assert_eq!(hub.dropped(), 0);
    }

    #[tokio::test]
    async fn subscriptions_are_gone_when_dropped_even_if_nobody_publishes() {
        let hub = LocalHub::new();
        let bus = hub.connect();
        for room in 0..1000 {
            drop(bus.subscribe(format!("room.{room}.>")).await.unwrap());
        }
        assert_eq!(hub.subscriptions(), 0);
    }

    #[tokio::test]
    async fn a_subscriber_that_does_not_read_holds_a_bounded_number_of_bytes() {
        let hub = LocalHub::new();
        let (a, b) = (hub.connect(), hub.connect());
        let mut sub = a.subscribe("x".into()).await.unwrap();
        let big = Bytes::from(vec![0u8; 1 << 20]);
        for _ in 0..100 {
            b.publish("x".into(), big.clone()).await.unwrap();
        }
        // 64 MiB fit; the rest is dropped and counted.
        assert_eq!(hub.dropped(), 36);
        for _ in 0..64 {
            sub.next().await.unwrap();
        }
        b.publish("x".into(), big).await.unwrap();
        assert_eq!(sub.next().await.unwrap().payload.len(), 1 << 20);
    }
}
