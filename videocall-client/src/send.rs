//! Why a client refused to send a packet (shared by the native and browser clients).

use crate::packet::EncodeError;

/// Why a client handle's `send` refused a packet (every refusal is counted as dropped).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// No connection is up; nothing is queued for later.
    #[error("not connected")]
    NotConnected,
    /// The outgoing queue is full: the connection is slower than the sender.
    #[error("outgoing queue full")]
    Full,
    /// The client was closed or its driver has ended.
    #[error("client closed")]
    Closed,
    /// The packet could not be serialized.
    #[error(transparent)]
    Encode(#[from] EncodeError),
}
