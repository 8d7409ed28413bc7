//! The browser client: the same shape as the native one — [`Client::new`] returns a
//! [`ClientHandle`], an [`Events`] stream and the [`Driver`] future the page spawns with
//! `wasm_bindgen_futures::spawn_local` — over the browser's `WebTransport` and `WebSocket`.
//!
//! Everything here runs on the page's one thread, so shared state is `Rc` + `Cell`.
//! [`media`] captures, encodes and decodes with WebCodecs on top of a handle and the events.

mod driver;
mod events;
mod js;
pub mod media;
mod transport;
mod websocket;
mod webtransport;

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::channel::mpsc;
use futures::task::AtomicWaker;
use videocall_types::{MediaPacket, PacketWrapper, UserId};

use crate::event::{MediaFlags, TransportKind};
use crate::lobby::LobbyError;
use crate::options::ClientOptions;
use crate::packet;
use crate::send::SendError;
use crate::stats::{Counter, Counters, Stats};

pub use events::Events;

/// Queue capacities are clamped to this (a configuration typo must not reserve gigabytes).
const MAX_QUEUE: usize = 1 << 16;

/// State shared by the handles and the driver.
#[derive(Debug, Default)]
struct Shared {
    counters: Arc<Counters>,
    transport: Cell<Option<TransportKind>>,
    flags: Cell<MediaFlags>,
    closed: Cell<bool>,
    /// Woken when the application closes the client.
    close: AtomicWaker,
}

impl Shared {
    fn is_closed(&self) -> bool {
        self.closed.get()
    }

    fn is_connected(&self) -> bool {
        self.transport.get().is_some()
    }

    /// Resolves once the client is closed (cancel-safe; wakes on `close`).
    fn closed(&self) -> impl Future<Output = ()> + '_ {
        futures::future::poll_fn(move |cx| {
            self.close.register(cx.waker());
            if self.is_closed() { Poll::Ready(()) } else { Poll::Pending }
        })
    }
}

/// Builds browser clients.
#[derive(Debug)]
pub struct Client;

impl Client {
    /// A client for `options`: the handle, the event stream and the driver to spawn. Nothing
    /// happens until the driver is polled. Fails only when the lobby URLs cannot be built.
    #[expect(clippy::new_ret_no_self, reason = "a (handle, events, driver) triple, as native")]
    pub fn new(options: ClientOptions) -> Result<(ClientHandle, Events, Driver), LobbyError> {
        let endpoints = options.endpoints()?;
        let shared = Rc::new(Shared::default());
        // Outgoing queue policy: bounded; a full queue refuses the new packet (`SendError::Full`).
        let (outgoing_tx, outgoing_rx) = mpsc::channel(options.send_capacity.clamp(1, MAX_QUEUE));
        let capacity = options.event_capacity.min(MAX_QUEUE);
        let (events_tx, events) = events::channel(capacity, shared.clone());
        let handle = ClientHandle {
            outgoing: outgoing_tx,
            shared: shared.clone(),
            user: options.user.clone(),
        };
        let run = driver::run(driver::Context {
            options,
            endpoints,
            shared,
            outgoing: outgoing_rx,
            events: events_tx,
        });
        Ok((handle, events, Driver { future: Box::pin(run) }))
    }
}

/// Sends packets and controls a client; cheap to clone. When every handle is dropped, the
/// client closes.
#[derive(Debug, Clone)]
pub struct ClientHandle {
    outgoing: mpsc::Sender<Vec<u8>>,
    shared: Rc<Shared>,
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
        if !self.shared.is_connected() {
            return refuse(SendError::NotConnected);
        }
        let bytes = packet::encode(&wrapper)?;
        match self.outgoing.clone().try_send(bytes) {
            Ok(()) => Ok(()),
            Err(error) if error.is_full() => refuse(SendError::Full),
            Err(_) => refuse(SendError::Closed),
        }
    }

    /// Wraps `media` with this user's identity and its routing header, then [`Self::send`]s it.
    pub fn send_media(&self, media: MediaPacket) -> Result<(), SendError> {
        self.send(packet::media(&self.user, media)?)
    }

    /// Sets the flags announced by the next heartbeats.
    pub fn set_enabled(&self, video: bool, audio: bool, screen: bool) {
        self.shared.flags.set(MediaFlags { video, audio, screen });
    }

    /// The flags the heartbeats announce.
    pub fn enabled(&self) -> MediaFlags {
        self.shared.flags.get()
    }

    /// Closes the connection (code Normal) and ends the driver; the event stream then ends.
    pub fn close(&self) {
        self.shared.closed.set(true);
        self.shared.close.wake();
    }

    /// The transport of the connection that is up right now, if any.
    pub fn transport(&self) -> Option<TransportKind> {
        self.shared.transport.get()
    }

    /// Whether a connection is up right now.
    pub fn is_connected(&self) -> bool {
        self.shared.is_connected()
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

/// The future that runs a client: connects, sends heartbeats, reads, reconnects. Spawn it with
/// `wasm_bindgen_futures::spawn_local`; it completes when the client is closed, every handle
/// is dropped, or a retry is not allowed.
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
