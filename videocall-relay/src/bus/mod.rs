//! The bus between server instances: a small publish/subscribe trait and its two
//! implementations, [`LocalBus`] (in-process) and [`NatsBus`] (NATS).
//!
//! Subjects follow NATS rules (`.`-separated tokens, `*` matches one token, `>` the rest) and
//! come from `videocall_types::subject`. A bus never echoes an instance's own publications back
//! to it.

mod local;
mod nats;

pub use local::{LocalBus, LocalHub};
pub use nats::{NatsAuth, NatsBus, NatsOptions, NatsTls, redact_url};

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;

/// One message received from the bus.
#[derive(Debug, Clone)]
pub struct BusMessage {
    /// The subject it was published to.
    pub subject: String,
    /// The payload, as published.
    pub payload: Bytes,
}

/// A stream of messages for one subscription; dropping it unsubscribes.
pub type Subscription = BoxStream<'static, BusMessage>;

/// Why a bus operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The bus is not connected (publishing would be lost).
    #[error("bus is not connected")]
    Disconnected,
    /// The NATS client reported an error.
    #[error("nats: {0}")]
    Nats(String),
}

/// Publish/subscribe between server instances.
pub trait Bus: Send + Sync + 'static {
    /// Publishes `payload` to `subject`.
    fn publish(&self, subject: String, payload: Bytes) -> BoxFuture<'_, Result<(), BusError>>;

    /// Subscribes to `subject` (wildcards allowed).
    fn subscribe(&self, subject: String) -> BoxFuture<'_, Result<Subscription, BusError>>;

    /// Whether the bus is connected right now (drives `/readyz`).
    fn is_connected(&self) -> bool;

    /// Whether another instance could receive what this one publishes. `false` (a standalone
    /// in-process bus) lets the relay skip publishing altogether; checked per packet, so it
    /// must be cheap.
    fn reaches_others(&self) -> bool {
        true
    }
}

/// Whether `subject` matches the subscription `pattern` under NATS wildcard rules.
pub fn subject_matches(pattern: &str, subject: &str) -> bool {
    let mut subject_tokens = subject.split('.');
    for token in pattern.split('.') {
        match (token, subject_tokens.next()) {
            (">", Some(_)) => return true,
            ("*", Some(_)) => {}
            (literal, Some(s)) if literal == s => {}
            _ => return false,
        }
    }
    subject_tokens.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::subject_matches;

    #[test]
    fn wildcards_follow_nats_rules() {
        assert!(subject_matches("room.a.>", "room.a.1"));
        assert!(subject_matches("room.a.>", "room.a.1.ctl"));
        assert!(!subject_matches("room.a.>", "room.a"));
        assert!(!subject_matches("room.a.>", "room.b.1"));
        assert!(subject_matches("room.*.1", "room.x.1"));
        assert!(!subject_matches("room.*", "room.x.1"));
        assert!(subject_matches("room.a.1", "room.a.1"));
        assert!(!subject_matches("room.a.1", "room.a.1.ctl"));
    }
}
