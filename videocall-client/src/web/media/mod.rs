//! Media in the browser: capture ([`capture`]), publish ([`VideoSender`], [`AudioSender`]) and
//! receive ([`Receiver`]) with WebCodecs, on top of a [`ClientHandle`](super::ClientHandle) and
//! its events.
//!
//! Capture and encode loops run on the page's executor (`spawn_local`) for as long as their
//! sender lives; decoders run inside the browser and call back into [`Receiver`]'s closures.

mod audio;
pub mod capture;
mod playout;
mod receive;
mod source;
mod video;

pub use audio::{AudioSender, AudioSenderStats};
pub use receive::{Notice, PeerMediaStats, Receiver, canvas_id};
pub use video::{VideoSender, VideoSenderStats, VideoSettings};

pub(crate) use crate::meter::Rate;

/// Why media could not be captured, encoded or played.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    /// The browser lacks an API this needs.
    #[error("this browser lacks {0}")]
    Unsupported(&'static str),
    /// The user or the browser refused access to a device.
    #[error("access refused: {0}")]
    Denied(String),
    /// A browser API failed.
    #[error("{0}")]
    Browser(String),
}
