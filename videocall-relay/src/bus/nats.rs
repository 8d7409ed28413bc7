//! The NATS bus: core publish/subscribe through `async-nats`, which reconnects by itself and
//! re-establishes subscriptions after a reconnect.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use async_nats::connection::State;
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};

use super::{Bus, BusError, BusMessage, Subscription};

/// How to connect to NATS.
#[derive(Clone)]
pub struct NatsOptions {
    /// Server URL(s), comma-separated, e.g. `nats://127.0.0.1:4222`. May carry a user and
    /// password; it is never logged with them (see [`redact_url`]).
    pub url: String,
    /// Messages buffered per subscription inside the client; past this NATS reports a slow
    /// consumer and drops (counted in `bus_errors`). The relay drains subscriptions promptly;
    /// the client bounds this queue by count only, so its worst case in bytes is this times the
    /// NATS server's `max_payload` (1 MiB by default).
    pub subscription_capacity: usize,
    /// How long to wait for the first connection before giving up on it (the client keeps
    /// retrying in the background either way).
    pub connect_timeout: Duration,
    /// How to authenticate.
    pub auth: NatsAuth,
    /// TLS settings.
    pub tls: NatsTls,
}

/// How an instance authenticates to NATS (at most one way; user and password go in the URL).
#[derive(Clone, Default)]
pub enum NatsAuth {
    /// No credentials beyond what the URL carries.
    #[default]
    None,
    /// A `.creds` file (user JWT and nkey seed), as `nsc` writes it.
    CredsFile(PathBuf),
    /// An nkey seed (`SU...`).
    Nkey(String),
    /// A token.
    Token(String),
}

/// TLS to NATS; a `tls://` URL or a `tls_required` server turns it on as well.
#[derive(Debug, Clone, Default)]
pub struct NatsTls {
    /// Require TLS even if the server does not ask for it.
    pub required: bool,
    /// PEM file of the CA(s) to trust instead of the system's roots.
    pub ca: Option<PathBuf>,
    /// Client certificate and key (PEM), for servers that verify clients.
    pub client: Option<(PathBuf, PathBuf)>,
}

impl std::fmt::Debug for NatsOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let auth = match &self.auth {
            NatsAuth::None => "none",
            NatsAuth::CredsFile(_) => "creds file",
            NatsAuth::Nkey(_) => "nkey",
            NatsAuth::Token(_) => "token",
        };
        f.debug_struct("NatsOptions")
            .field("url", &redact_url(&self.url))
            .field("subscription_capacity", &self.subscription_capacity)
            .field("connect_timeout", &self.connect_timeout)
            .field("auth", &auth)
            .field("tls", &self.tls)
            .finish()
    }
}

impl NatsOptions {
    /// Defaults for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            subscription_capacity: 2048,
            connect_timeout: Duration::from_secs(5),
            auth: NatsAuth::None,
            tls: NatsTls::default(),
        }
    }

    async fn connect_options(&self) -> Result<async_nats::ConnectOptions, BusError> {
        let options = async_nats::ConnectOptions::new();
        let options = match &self.auth {
            NatsAuth::None => options,
            NatsAuth::CredsFile(path) => options.credentials_file(path).await.map_err(|e| {
                BusError::Nats(format!("cannot read NATS credentials {}: {e}", path.display()))
            })?,
            NatsAuth::Nkey(seed) => options.nkey(seed.clone()),
            NatsAuth::Token(token) => options.token(token.clone()),
        };
        let mut options = options.require_tls(self.tls.required);
        if let Some(ca) = &self.tls.ca {
            options = options.add_root_certificates(ca.clone());
        }
        if let Some((cert, key)) = &self.tls.client {
            options = options.add_client_certificate(cert.clone(), key.clone());
        }
        Ok(options)
    }
}

/// `url` (one or several, comma-separated) without user names, passwords or tokens, for logs.
pub fn redact_url(url: &str) -> String {
    url.split(',')
        .map(|one| match one.split_once("://") {
            Some((scheme, rest)) => match rest.rsplit_once('@') {
                Some((_, host)) => format!("{scheme}://***@{host}"),
                None => one.to_owned(),
            },
            None => match one.rsplit_once('@') {
                Some((_, host)) => format!("***@{host}"),
                None => one.to_owned(),
            },
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The wait before reconnect attempt `attempt`: exponential from 100 ms to 3.2 s, with up to
/// half again of random jitter so that instances that lost one NATS server together do not
/// all come back in the same instant.
fn reconnect_delay(attempt: usize, jitter: f64) -> Duration {
    let base = Duration::from_millis(100 * 2u64.saturating_pow(attempt.min(5) as u32));
    base.mul_f64(1.0 + jitter.clamp(0.0, 1.0) / 2.0)
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
        let client = options
            .connect_options()
            .await?
            .no_echo()
            .retry_on_initial_connect()
            .max_reconnects(None)
            .connection_timeout(options.connect_timeout)
            .subscription_capacity(options.subscription_capacity)
            .reconnect_delay_callback(|attempt| reconnect_delay(attempt, rand::random()))
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
            .map_err(|e| BusError::Nats(redact_url(&e.to_string())))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_logged_without_credentials() {
        assert_eq!(redact_url("nats://127.0.0.1:4222"), "nats://127.0.0.1:4222");
        assert_eq!(redact_url("nats://user:s3cret@nats:4222"), "nats://***@nats:4222");
        assert_eq!(
            redact_url("tls://tok@a:4222,nats://u:p@b:4222,c:4222"),
            "tls://***@a:4222,nats://***@b:4222,c:4222"
        );
        assert_eq!(redact_url("u:p@nats"), "***@nats");
        let options = NatsOptions {
            auth: NatsAuth::Token("s3cret".into()),
            ..NatsOptions::new("nats://x:y@h")
        };
        let shown = format!("{options:?}");
        assert!(!shown.contains("s3cret") && !shown.contains("x:y"), "{shown}");
    }

    #[test]
    fn reconnects_back_off_with_jitter() {
        assert_eq!(reconnect_delay(0, 0.0), Duration::from_millis(100));
        assert_eq!(reconnect_delay(0, 1.0), Duration::from_millis(150));
        assert_eq!(reconnect_delay(9, 0.0), Duration::from_millis(3200));
        assert!(reconnect_delay(usize::MAX, 0.5) <= Duration::from_millis(4800));
    }
}
