//! The transport-agnostic relay core of videocall.
//!
//! A [`Relay`] joins client connections to rooms as [`Session`]s. Transports (WebSocket,
//! WebTransport) hand each packet a client sends to [`Session::handle_packet`], which checks it,
//! stamps the sender's identity and fans it out to the room's other sessions on this instance
//! and, once, to the [`bus`] for the other instances. Each session's outbound queue applies the
//! drop policy of [`outbox`]; transports run [`connection::serve`], which writes what the
//! session's [`Receiver`] yields.
//!
//! Nothing here touches sockets or media bytes; the one background future, [`Driver`], moves
//! packets between the relay and the bus and is spawned by the binary.

mod admission;
pub mod bus;
#[cfg(feature = "cli")]
pub mod cli;
pub mod config;
pub mod connection;
pub mod control;
pub mod metrics;
pub mod outbox;
pub mod rate;
mod relay;
mod room;

pub use admission::Permit;
pub use config::{ConnectionLimits, OutboxLimits, RateLimit, RelayConfig};
pub use metrics::Metrics;
pub use relay::{Driver, HostAction, Identity, JoinError, Receiver, Relay, Session};
