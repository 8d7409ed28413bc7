//! What the driver needs from a platform: a clock, timers, and transport links it can connect,
//! the same for the native and the browser transports (and the tests' fakes).
//!
//! The traits are crate-private and use `async fn`: the browser's futures are not `Send`, and
//! none is required here. The native driver is still `Send`, because its platform's futures
//! are and the compiler sees the concrete types where the driver is boxed.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use videocall_types::CloseReason;

use crate::dial::ConnectFailure;
use crate::event::TransportKind;
use crate::options::Endpoint;

/// The largest packet accepted from the server: its 1 MB limit plus envelope slack.
pub(crate) const MAX_PACKET: usize = 2 * 1024 * 1024;

/// What one receive on a link yields.
#[derive(Debug)]
pub(crate) enum Received {
    /// One message: a serialized `PacketWrapper` (not yet checked).
    Packet(Vec<u8>),
    /// A message that could not be used whole (too large, text frame, reset stream, full inbox).
    Unreadable(&'static str),
    /// The connection is over, with the close code if the server gave one.
    Closed(Option<u32>),
}

/// What became of a packet handed to a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sent {
    /// Written to the transport.
    Written,
    /// Dropped by the link's own backlog policy (counted as `dropped_outgoing`).
    #[cfg_attr(
        not(target_arch = "wasm32"),
        allow(dead_code, reason = "of the real links, only the browser's WebSocket drops")
    )]
    Dropped,
}

/// An established connection.
pub(crate) trait Link {
    /// Why a send failed; the connection is then considered lost.
    type Error: fmt::Display;

    /// Which transport this is.
    fn kind(&self) -> TransportKind;

    /// Sends one serialized packet.
    async fn send(&mut self, packet: Vec<u8>) -> Result<Sent, Self::Error>;

    /// The next message from the server. Must be cancel-safe: the driver drops this future
    /// whenever something else wakes it, and nothing may be lost then.
    async fn recv(&mut self) -> Received;

    /// Closes the connection with `reason`, waiting at most briefly for the close to go out.
    async fn close(self, reason: CloseReason);
}

/// A platform's clock, timers and transports. No spawning: the driver is one future and the
/// links multiplex their streams inside themselves.
pub(crate) trait Platform {
    /// The platform's established connection.
    type Link: Link;

    /// Monotonic time since a fixed origin (the session's clock).
    fn now(&self) -> Duration;

    /// Wall-clock milliseconds since the Unix epoch, for heartbeat timestamps.
    fn unix_ms(&self) -> f64;

    /// Resolves once [`Platform::now`] has reached `deadline`.
    fn sleep_until(&self, deadline: Duration) -> impl Future<Output = ()>;

    /// Connects to `endpoint`. The driver enforces the connect timeout by dropping the future.
    async fn connect(&self, endpoint: &Endpoint) -> Result<Self::Link, ConnectFailure>;
}
