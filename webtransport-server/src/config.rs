//! What the WebTransport listener needs to know; binaries fill it from their flags.

use std::time::Duration;

use videocall_relay::RelayConfig;

use crate::identity::SelfSignedRenewal;

/// Limits and timers of the WebTransport listener.
#[derive(Debug, Clone)]
pub struct Config {
    /// Largest packet a client may send on one stream, in bytes; a longer stream closes the
    /// connection with `TooLarge` (1009).
    pub max_packet_bytes: usize,
    /// Client streams read at once per connection. While this many are being read no further
    /// stream is accepted, so QUIC flow control holds the client back. A connection buffers at
    /// most `max_incoming_streams × max_packet_bytes`.
    pub max_incoming_streams: u32,
    /// How often QUIC sends a keep-alive when nothing else is sent.
    pub keep_alive: Duration,
    /// QUIC closes a connection that heard nothing, not even an acknowledgement, for this long.
    pub max_idle_timeout: Duration,
    /// Close a client that sent no packet for this long (browsers send a heartbeat each second).
    pub idle_timeout: Duration,
    /// Longest time from a client's first packet to its WebTransport session request.
    pub handshake_timeout: Duration,
    /// After shutdown, how long open connections get to close before they are dropped.
    pub drain_timeout: Duration,
    /// Renew a self-signed certificate before browsers refuse it (`None`: the identity is
    /// served as given, e.g. one loaded from files and renewed by whoever issues it).
    pub renewal: Option<SelfSignedRenewal>,
}

impl Config {
    /// Defaults, with the packet size limit of the relay the listener feeds.
    pub fn from_relay(relay: &RelayConfig) -> Self {
        Self { max_packet_bytes: relay.max_packet_bytes, ..Self::default() }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_packet_bytes: RelayConfig::default().max_packet_bytes,
            max_incoming_streams: 64,
            keep_alive: Duration::from_secs(2),
            max_idle_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            handshake_timeout: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(5),
            renewal: None,
        }
    }
}
