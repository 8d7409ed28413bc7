//! The native client: [`Client::new`] returns a [`ClientHandle`] to send and control, an
//! [`Events`] stream, and the [`Driver`] future that does the work where the caller spawns it.
//! The driver is the crate's one connection loop on [`Tokio`]: tokio's clock and timers, and
//! WebSocket (tokio-tungstenite) and WebTransport (wtransport) links.

mod transport;
mod websocket;
mod webtransport;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;
use tracing::Instrument;

pub use crate::client::{ClientHandle, Events};
use crate::dial::ConnectFailure;
use crate::driver;
use crate::link::Platform;
use crate::lobby::LobbyError;
use crate::options::{ClientOptions, Endpoint};
use transport::Transport;

/// Builds clients.
#[derive(Debug)]
pub struct Client;

impl Client {
    /// A client for `options`: the handle, the event stream and the driver to spawn. Nothing
    /// happens until the driver is polled. Fails only when the lobby URLs cannot be built.
    #[expect(clippy::new_ret_no_self, reason = "a (handle, events, driver) triple, as in quinn")]
    pub fn new(options: ClientOptions) -> Result<(ClientHandle, Events, Driver), LobbyError> {
        let (handle, events, parts) = driver::prepare(&options)?;
        let span = tracing::info_span!("client", user = %options.user, room = %options.room);
        // The clock starts when the driver is first polled, inside the caller's runtime.
        let run = async move { driver::run(Tokio { start: Instant::now() }, parts).await };
        Ok((handle, events, Driver { future: Box::pin(run.instrument(span)) }))
    }
}

/// The future that runs a client: connects, sends heartbeats, reads, reconnects. Spawn it (or
/// await it); it completes when the client is closed, every handle is dropped, or the client
/// gives up (see [`crate::dial`]).
#[must_use = "the client does nothing unless its driver is polled"]
pub struct Driver {
    future: Pin<Box<dyn Future<Output = ()> + Send + 'static>>,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver").finish_non_exhaustive()
    }
}

impl Future for Driver {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.future.as_mut().poll(cx)
    }
}

/// The tokio platform: time since the driver started, tokio timers, the native transports.
struct Tokio {
    start: Instant,
}

impl Platform for Tokio {
    type Link = Transport;

    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    fn unix_ms(&self) -> f64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    }

    fn sleep_until(&self, deadline: Duration) -> impl Future<Output = ()> {
        tokio::time::sleep_until(self.start + deadline)
    }

    async fn connect(&self, endpoint: &Endpoint) -> Result<Transport, ConnectFailure> {
        Transport::connect(endpoint).await.map_err(|error| match error.http_status() {
            Some(status) => ConnectFailure::refused(status, &error),
            None => ConnectFailure::new(&error),
        })
    }
}
