//! What a transport link yields, the same for the native and the browser transports.

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
