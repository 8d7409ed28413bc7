//! The client's counters: shared atomics the driver bumps and a plain snapshot for applications.

use std::sync::atomic::{AtomicU64, Ordering};

/// One counter of [`Counters`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Counter {
    /// Packets written to the transport (heartbeats included).
    Sent,
    /// Packets read from the transport (malformed ones included).
    Received,
    /// Received bytes that were not a usable packet.
    Malformed,
    /// Connections established after the first one.
    Reconnects,
    /// `Packet` events dropped because the application did not read them in time.
    DroppedEvents,
    /// Outgoing packets refused (queue full) or discarded (connection lost before sending).
    DroppedOutgoing,
    /// Received packets from unknown senders refused because the peer table was full.
    DroppedInbound,
    /// Key frame requests (from the server or a receiver) that did not cause a key frame of
    /// their own: deferred to the end of the interval, merged into a pending one, or for a kind
    /// without key frames (see [`crate::keyframe`]).
    LimitedKeyframeRequests,
    /// Peers not admitted because the peer table was full (from a join notice, a `Welcome`, or
    /// each packet of an unknown sender).
    RefusedPeers,
}

/// Counters shared between the driver and the handles; cheap to bump from any thread.
#[derive(Debug, Default)]
pub struct Counters {
    sent: AtomicU64,
    received: AtomicU64,
    malformed: AtomicU64,
    reconnects: AtomicU64,
    dropped_events: AtomicU64,
    dropped_outgoing: AtomicU64,
    dropped_inbound: AtomicU64,
    limited_keyframe_requests: AtomicU64,
    refused_peers: AtomicU64,
}

/// A snapshot of [`Counters`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Packets written to the transport (heartbeats included).
    pub sent: u64,
    /// Packets read from the transport (malformed ones included).
    pub received: u64,
    /// Received bytes that were not a usable packet.
    pub malformed: u64,
    /// Connections established after the first one.
    pub reconnects: u64,
    /// `Packet` events dropped because the application did not read them in time.
    pub dropped_events: u64,
    /// Outgoing packets refused (queue full) or discarded (connection lost before sending).
    pub dropped_outgoing: u64,
    /// Received packets from unknown senders refused because the peer table was full.
    pub dropped_inbound: u64,
    /// Key frame requests that did not cause a key frame of their own (rate limit).
    pub limited_keyframe_requests: u64,
    /// Peers not admitted because the peer table was full.
    pub refused_peers: u64,
}

impl Counters {
    fn cell(&self, counter: Counter) -> &AtomicU64 {
        match counter {
            Counter::Sent => &self.sent,
            Counter::Received => &self.received,
            Counter::Malformed => &self.malformed,
            Counter::Reconnects => &self.reconnects,
            Counter::DroppedEvents => &self.dropped_events,
            Counter::DroppedOutgoing => &self.dropped_outgoing,
            Counter::DroppedInbound => &self.dropped_inbound,
            Counter::LimitedKeyframeRequests => &self.limited_keyframe_requests,
            Counter::RefusedPeers => &self.refused_peers,
        }
    }

    /// Adds `n` to `counter`.
    pub fn add(&self, counter: Counter, n: u64) {
        self.cell(counter).fetch_add(n, Ordering::Relaxed);
    }

    /// Adds one to `counter`.
    pub fn bump(&self, counter: Counter) {
        self.add(counter, 1);
    }

    /// The current values.
    pub fn snapshot(&self) -> Stats {
        let get = |c| self.cell(c).load(Ordering::Relaxed);
        Stats {
            sent: get(Counter::Sent),
            received: get(Counter::Received),
            malformed: get(Counter::Malformed),
            reconnects: get(Counter::Reconnects),
            dropped_events: get(Counter::DroppedEvents),
            dropped_outgoing: get(Counter::DroppedOutgoing),
            dropped_inbound: get(Counter::DroppedInbound),
            limited_keyframe_requests: get(Counter::LimitedKeyframeRequests),
            refused_peers: get(Counter::RefusedPeers),
        }
    }
}
