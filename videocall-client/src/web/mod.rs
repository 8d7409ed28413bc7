//! The browser client: the same shape as the native one — [`Client::new`] returns a
//! [`ClientHandle`], an [`Events`] stream and the [`Driver`] future the page spawns with
//! `wasm_bindgen_futures::spawn_local` — and the same connection loop, on [`Browser`]: the
//! page's clock and timers and the browser's `WebTransport` and `WebSocket`.
//!
//! [`media`] captures, encodes and decodes with WebCodecs on top of a handle and the events.

mod js;
pub mod media;
mod transport;
mod websocket;
mod webtransport;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

pub use crate::client::{ClientHandle, Events};
use crate::dial::ConnectFailure;
use crate::driver;
use crate::link::Platform;
use crate::lobby::LobbyError;
use crate::options::{ClientOptions, Endpoint};
use transport::Transport;

/// Builds browser clients.
#[derive(Debug)]
pub struct Client;

impl Client {
    /// A client for `options`: the handle, the event stream and the driver to spawn. Nothing
    /// happens until the driver is polled. Fails only when the lobby URLs cannot be built.
    #[expect(clippy::new_ret_no_self, reason = "a (handle, events, driver) triple, as native")]
    pub fn new(options: ClientOptions) -> Result<(ClientHandle, Events, Driver), LobbyError> {
        let (handle, events, parts) = driver::prepare(&options)?;
        Ok((handle, events, Driver { future: Box::pin(driver::run(Browser, parts)) }))
    }
}

/// The future that runs a client: connects, sends heartbeats, reads, reconnects. Spawn it with
/// `wasm_bindgen_futures::spawn_local`; it completes when the client is closed, every handle
/// is dropped, or the client gives up (see [`crate::dial`]).
#[must_use = "the client does nothing unless its driver is polled"]
pub struct Driver {
    future: Pin<Box<dyn Future<Output = ()> + 'static>>,
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

/// The browser platform: `performance.now()`, browser timers, the browser's transports.
struct Browser;

impl Platform for Browser {
    type Link = Transport;

    fn now(&self) -> Duration {
        js::monotonic()
    }

    fn unix_ms(&self) -> f64 {
        js::unix_ms()
    }

    fn sleep_until(&self, deadline: Duration) -> impl Future<Output = ()> {
        // Browser timers count whole milliseconds: round up, so that the timer never fires
        // just before the deadline and costs a second wake-up.
        let remaining = deadline.saturating_sub(js::monotonic());
        let ms = u64::try_from(remaining.as_micros().div_ceil(1000)).unwrap_or(u64::MAX);
        js::sleep(Duration::from_millis(ms))
    }

    async fn connect(&self, endpoint: &Endpoint) -> Result<Transport, ConnectFailure> {
        // Browsers hide the HTTP status of a refused upgrade: no failure here is final.
        Transport::connect(endpoint).await.map_err(ConnectFailure::new)
    }
}
