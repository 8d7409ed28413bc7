//! The native client: [`Client::new`] returns a [`ClientHandle`] to send and control, an
//! [`Events`] stream, and the [`Driver`] future that does the work where the caller spawns it.

mod driver;
mod events;
mod transport;
mod websocket;
mod webtransport;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::task::{Context, Poll};

use tokio::sync::{Notify, mpsc};
use tracing::Instrument;
use videocall_types::{MediaPacket, PacketWrapper, UserId};

use crate::event::MediaFlags;
use crate::lobby::LobbyError;
use crate::options::ClientOptions;
use crate::packet;
use crate::send::SendError;
use crate::stats::{Counter, Counters, Stats};

pub use events::Events;

/// Queue capacities are clamped to this (a configuration typo must not reserve gigabytes).
const MAX_QUEUE: usize = 1 << 20;

/// State shared by the handles and the driver.
#[derive(Debug, Default)]
struct Shared {
    counters: Arc<Counters>,
    connected: AtomicBool,
    flags: AtomicU8,
    closed: AtomicBool,
    close: Notify,
}

impl Shared {
    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    fn flags(&self) -> MediaFlags {
        MediaFlags::from_bits(self.flags.load(Ordering::Relaxed))
    }
}

/// Builds clients.
#[derive(Debug)]
pub struct Client;

impl Client {
    /// A client for `options`: the handle, the event stream and the driver to spawn. Nothing
    /// happens until the driver is polled. Fails only when the lobby URLs cannot be built.
    #[expect(clippy::new_ret_no_self, reason = "a (handle, events, driver) triple, as in quinn")]
    pub fn new(options: ClientOptions) -> Result<(ClientHandle, Events, Driver), LobbyError> {
        let endpoints = options.endpoints()?;
        let shared = Arc::new(Shared::default());
        // Outgoing queue policy: bounded; a full queue refuses the new packet (`SendError::Full`).
        let (outgoing_tx, outgoing_rx) = mpsc::channel(options.send_capacity.clamp(1, MAX_QUEUE));
        let capacity = options.event_capacity.min(MAX_QUEUE);
        let (events_tx, events) = events::channel(capacity, shared.clone());
        let handle = ClientHandle {
            outgoing: outgoing_tx,
            shared: shared.clone(),
            user: options.user.clone(),
        };
        let span = tracing::info_span!("client", user = %options.user, room = %options.room);
        let run = driver::run(driver::Context {
            options,
            endpoints,
            shared,
            outgoing: outgoing_rx,
            events: events_tx,
        });
        let driver = Driver { future: Box::pin(run.instrument(span)) };
        Ok((handle, events, driver))
    }
}

/// Sends packets and controls a client; cheap to clone. When every handle is dropped, the
/// client closes.
#[derive(Debug, Clone)]
pub struct ClientHandle {
    outgoing: mpsc::Sender<Vec<u8>>,
    shared: Arc<Shared>,
    user: UserId,
}

impl ClientHandle {
    /// Queues `wrapper` for sending; never waits (see [`SendError`] for refusals).
    pub fn send(&self, wrapper: PacketWrapper) -> Result<(), SendError> {
        let refuse = |error| {
            self.shared.counters.bump(Counter::DroppedOutgoing);
            Err(error)
        };
        if self.shared.is_closed() {
            return refuse(SendError::Closed);
        }
        if !self.shared.connected.load(Ordering::Acquire) {
            return refuse(SendError::NotConnected);
        }
        let bytes = packet::encode(&wrapper)?;
        match self.outgoing.try_send(bytes) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => refuse(SendError::Full),
            Err(mpsc::error::TrySendError::Closed(_)) => refuse(SendError::Closed),
        }
    }

    /// Wraps `media` with this user's identity and its routing header, then [`Self::send`]s it.
    pub fn send_media(&self, media: MediaPacket) -> Result<(), SendError> {
        self.send(packet::media(&self.user, media)?)
    }

    /// Sets the flags announced by the next heartbeats.
    pub fn set_enabled(&self, video: bool, audio: bool, screen: bool) {
        let bits = MediaFlags { video, audio, screen }.to_bits();
        self.shared.flags.store(bits, Ordering::Relaxed);
    }

    /// Closes the connection (code Normal) and ends the driver; the event stream then ends.
    pub fn close(&self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.close.notify_one();
    }

    /// Whether a connection is up right now.
    pub fn is_connected(&self) -> bool {
        self.shared.connected.load(Ordering::Acquire)
    }

    /// A snapshot of the client's counters.
    pub fn stats(&self) -> Stats {
        self.shared.counters.snapshot()
    }

    /// The user this client speaks for.
    pub fn user(&self) -> &UserId {
        &self.user
    }
}

/// The future that runs a client: connects, sends heartbeats, reads, reconnects. Spawn it (or
/// await it); it completes when the client is closed, every handle is dropped, or a retry is
/// not allowed.
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
