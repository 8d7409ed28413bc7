//! The videocall client core, shared by the browser app and the native CLI, bot and tests.
//!
//! The platform-independent part is pure protocol logic with no I/O and no clocks (time is
//! passed in), and compiles for `wasm32-unknown-unknown`:
//! [`session`] (the protocol state machine), [`dial`] (which transport to connect next, when
//! to retry, when to give up), [`peers`] (who is in the room), [`packet`] (building and reading
//! packets), [`backoff`], [`keyframe`] (key frame request limits), [`lobby`] (URLs), [`picture`]
//! (size limits on peers' pictures), [`event`] and [`options`].
//!
//! One connection loop (the crate-private `driver`) runs that core on every platform, generic
//! over a small platform trait (clock, timers, transport links): `Client` connects over
//! WebSocket or WebTransport with tokio on native targets, and with the browser's APIs in
//! `web` on wasm32, and runs the loop in a `Driver` future the caller spawns (native items are
//! not documented on wasm32). Handles and events are the same code on both. Queue policies:
//!
//! - **Events** (to the application): bounded ([`ClientOptions::event_capacity`], default
//!   1024). [`Event::Packet`] is dropped and counted when fewer than a reserve of free slots is
//!   left; control events (connection, peers, key frame requests) are never dropped: when even
//!   the reserve is used up the driver waits for the application to read, which stalls the
//!   connection (a server then drops the client as a slow receiver and it reconnects).
//! - **Outgoing** (from `ClientHandle::send`): bounded ([`ClientOptions::send_capacity`],
//!   default 256). A full queue refuses the new packet at once with `SendError::Full`; while
//!   disconnected sends are refused with `SendError::NotConnected`; packets still queued when
//!   a connection is lost are discarded. All of these are counted in [`Stats::dropped_outgoing`].

pub mod backoff;
pub mod bitrate;
mod client;
pub mod dial;
mod driver;
pub mod event;
pub mod jitter;
pub mod keyframe;
mod link;
pub mod lobby;
pub mod meter;
pub mod options;
pub mod packet;
pub mod peers;
pub mod picture;
pub mod send;
pub mod session;
pub mod stats;

#[cfg(not(target_arch = "wasm32"))]
mod native;
#[cfg(target_arch = "wasm32")]
pub mod web;

pub use backoff::{Backoff, BackoffConfig};
pub use event::{Event, LeaveReason, MediaFlags, PeerInfo, PeerKey, TransportKind};
pub use options::{ClientOptions, TransportChoice};
pub use stats::Stats;

#[cfg(not(target_arch = "wasm32"))]
pub use native::{Client, ClientHandle, Driver, Events};
pub use send::SendError;
