//! The application's side of a client, the same on every platform: the [`ClientHandle`] that
//! sends and controls, the [`Events`] stream, and the state both share with the driver.
//!
//! It is all atomics and short critical sections, so handles and events can move between
//! threads on native targets; the browser, on one thread, pays next to nothing for that.

mod events;
mod outgoing;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::task::{Context, Poll};

use futures::task::AtomicWaker;
use videocall_types::{MediaPacket, PacketWrapper, UserId};

use crate::event::{MediaFlags, TransportKind};
use crate::packet;
use crate::send::SendError;
use crate::stats::{Counter, Counters, Stats};

pub use events::Events;
pub(crate) use events::{EventSender, channel as event_channel};
use outgoing::Outgoing;

/// Queue capacities are clamped to this: a configuration typo must not let a queue grow to
/// gigabytes.
pub(crate) const MAX_QUEUE: usize = 1 << 16;

/// State shared by the handles, the event queue and the driver.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) counters: Arc<Counters>,
    /// Packets from the handles to the driver.
    pub(crate) outgoing: Outgoing,
    /// The transport of the connection that is up: 0 none, else [`transport_bits`].
    transport: AtomicU8,
    flags: AtomicU8,
    closed: AtomicBool,
    /// Wakes the driver when the client is closed.
    close: AtomicWaker,
}

impl Shared {
    /// Fresh state with an outgoing queue of `send_capacity` packets.
    pub(crate) fn new(send_capacity: usize) -> Self {
        Self {
            counters: Arc::new(Counters::default()),
            outgoing: Outgoing::new(send_capacity.clamp(1, MAX_QUEUE)),
            transport: AtomicU8::new(0),
            flags: AtomicU8::new(0),
            closed: AtomicBool::new(false),
            close: AtomicWaker::new(),
        }
    }

    /// Whether the application closed the client (or dropped every handle).
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Closes the client and wakes the driver.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.close.wake();
    }

    /// Ready once the client is closed; registers `cx` to be woken then.
    pub(crate) fn poll_closed(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.close.register(cx.waker());
        if self.is_closed() { Poll::Ready(()) } else { Poll::Pending }
    }

    /// The flags the heartbeats announce.
    pub(crate) fn flags(&self) -> MediaFlags {
        MediaFlags::from_bits(self.flags.load(Ordering::Relaxed))
    }

    /// The transport of the connection that is up, if any.
    pub(crate) fn transport(&self) -> Option<TransportKind> {
        match self.transport.load(Ordering::Acquire) {
            1 => Some(TransportKind::WebSocket),
            2 => Some(TransportKind::WebTransport),
            _ => None,
        }
    }

    /// Records the connection that is up (`None`: none); sends are refused while there is none.
    pub(crate) fn set_transport(&self, transport: Option<TransportKind>) {
        self.transport.store(transport.map_or(0, transport_bits), Ordering::Release);
    }
}

fn transport_bits(kind: TransportKind) -> u8 {
    match kind {
        TransportKind::WebSocket => 1,
        TransportKind::WebTransport => 2,
    }
}

/// Closes the client when the last handle is gone: nobody could send or close it any more.
#[derive(Debug)]
struct Owner(Arc<Shared>);

impl Drop for Owner {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// Sends packets and controls a client; cheap to clone. When every handle is dropped, the
/// client closes.
#[derive(Debug, Clone)]
pub struct ClientHandle {
    owner: Arc<Owner>,
    user: UserId,
}

impl ClientHandle {
    /// The first handle of a client of `user`.
    pub(crate) fn new(shared: Arc<Shared>, user: UserId) -> Self {
        Self { owner: Arc::new(Owner(shared)), user }
    }

    fn shared(&self) -> &Shared {
        &self.owner.0
    }

    /// Queues `wrapper` for sending; never waits (see [`SendError`] for refusals).
    pub fn send(&self, wrapper: PacketWrapper) -> Result<(), SendError> {
        let shared = self.shared();
        let refuse = |error| {
            shared.counters.bump(Counter::DroppedOutgoing);
            Err(error)
        };
        if shared.is_closed() {
            return refuse(SendError::Closed);
        }
        if shared.transport().is_none() {
            return refuse(SendError::NotConnected);
        }
        let bytes = packet::encode(&wrapper)?;
        match shared.outgoing.push(bytes) {
            Ok(()) => Ok(()),
            Err(_full) => refuse(SendError::Full),
        }
    }

    /// Wraps `media` with this user's identity and its routing header, then [`Self::send`]s it.
    pub fn send_media(&self, media: MediaPacket) -> Result<(), SendError> {
        self.send(packet::media(&self.user, media)?)
    }

    /// Sets the flags announced by the next heartbeats.
    pub fn set_enabled(&self, video: bool, audio: bool, screen: bool) {
        let bits = MediaFlags { video, audio, screen }.to_bits();
        self.shared().flags.store(bits, Ordering::Relaxed);
    }

    /// The flags the heartbeats announce.
    pub fn enabled(&self) -> MediaFlags {
        self.shared().flags()
    }

    /// Closes the connection (code Normal) and ends the driver; the event stream then ends.
    pub fn close(&self) {
        self.shared().close();
    }

    /// The transport of the connection that is up right now, if any.
    pub fn transport(&self) -> Option<TransportKind> {
        self.shared().transport()
    }

    /// Whether a connection is up right now.
    pub fn is_connected(&self) -> bool {
        self.transport().is_some()
    }

    /// A snapshot of the client's counters.
    pub fn stats(&self) -> Stats {
        self.shared().counters.snapshot()
    }

    /// The user this client speaks for.
    pub fn user(&self) -> &UserId {
        &self.user
    }
}
