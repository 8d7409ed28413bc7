//! The NATS bus: core publish/subscribe through `async-nats`, which reconnects by itself and
//! re-establishes subscriptions after a reconnect.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use async_nats::connection::State;
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};

use super::{Bus, BusError, BusMessage, Subscription};

/// How to connect to NATS.
#[derive(Debug, Clone)]
pub struct NatsOptions {
    /// Server URL(s), comma-separated, e.g. `nats://127.0.0.1:4222`.
    pub url: String,
    /// Messages buffered per subscription inside the client; past this NATS reports a slow
    /// consumer and drops (counted in `bus_errors`). The relay drains subscriptions promptly.
    pub subscription_capacity: usize,
    /// How long to wait for the first connection before giving up on it (the client keeps
    /// retrying in the background either way).
    pub connect_timeout: Duration,
}

impl NatsOptions {
    /// Defaults for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            subscription_capacity: 8192,
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// A connection to NATS shared by one relay instance.
#[derive(Clone)]
pub struct NatsBus {
    client: async_nats::Client,
    errors: Arc<AtomicU64>,
}

impl NatsBus {
    /// Connects (retrying in the background if the server is not up yet) with `no_echo`, so this
    /// instance never receives its own publications.
    pub async fn connect(options: &NatsOptions) -> Result<Self, BusError> {
        let errors = Arc::new(AtomicU64::new(0));
        let counted = errors.clone();
        let client = async_nats::ConnectOptions::new()
            .no_echo()
            .retry_on_initial_connect()
            .max_reconnects(None)
            .connection_timeout(options.connect_timeout)
            .subscription_capacity(options.subscription_capacity)
            .reconnect_delay_callback(|attempt| {
                Duration::from_millis(100 * 2u64.saturating_pow(attempt.min(5) as u32))
            })
            .event_callback(move |event| {
                let counted = counted.clone();
                async move {
                    match event {
                        async_nats::Event::Connected => tracing::info!("nats connected"),
                        async_nats::Event::Disconnected => {
                            counted.fetch_add(1, Relaxed);
                            tracing::warn!("nats disconnected; reconnecting");
                        }
                        other => {
                            counted.fetch_add(1, Relaxed);
                            tracing::warn!(event = %other, "nats event");
                        }
                    }
                }
            })
            .connect(options.url.as_str())
            .await
            .map_err(|e| BusError::Nats(e.to_string()))?;
        Ok(Self { client, errors })
    }

    /// Disconnections, slow-consumer and server error events seen so far.
    pub fn error_events(&self) -> u64 {
        self.errors.load(Relaxed)
    }
}

impl Bus for NatsBus {
    fn publish(&self, subject: String, payload: Bytes) -> BoxFuture<'_, Result<(), BusError>> {
        async move {
            if !self.is_connected() {
                // The client would buffer while disconnected; stale media is worse than none.
                return Err(BusError::Disconnected);
            }
            self.client.publish(subject, payload).await.map_err(|e| BusError::Nats(e.to_string()))
        }
        .boxed()
    }

    fn subscribe(&self, subject: String) -> BoxFuture<'_, Result<Subscription, BusError>> {
        async move {
            let subscriber =
                self.client.subscribe(subject).await.map_err(|e| BusError::Nats(e.to_string()))?;
            let stream = subscriber
                .map(|m| BusMessage { subject: m.subject.to_string(), payload: m.payload });
            Ok(stream.boxed())
        }
        .boxed()
    }

    fn is_connected(&self) -> bool {
        self.client.connection_state() == State::Connected
    }
}
