//! Limits a relay enforces; binaries fill this from their flags.

use std::time::Duration;

pub use crate::admission::ConnectionLimits;

/// Everything the relay core needs to know from configuration.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Largest accepted packet (a serialized `PacketWrapper`), in bytes.
    pub max_packet_bytes: usize,
    /// Per-session inbound rate limit.
    pub rate: RateLimit,
    /// Per-session outbound queue bounds.
    pub outbox: OutboxLimits,
    /// A participant on another instance that sent nothing for this long is gone.
    pub remote_timeout: Duration,
    /// Packets waiting to be published on the bus, for the whole instance.
    pub publish_queue: usize,
    /// Bytes waiting to be published on the bus, for the whole instance.
    pub publish_queue_bytes: usize,
    /// Caps on connections, in total, per address and per room.
    pub connections: ConnectionLimits,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            max_packet_bytes: 1_000_000,
            rate: RateLimit::default(),
            outbox: OutboxLimits::default(),
            remote_timeout: Duration::from_secs(15),
            publish_queue: 8192,
            // A second of a busy instance's traffic; what does not fit is not published.
            publish_queue_bytes: 64 << 20,
            connections: ConnectionLimits::default(),
        }
    }
}

/// A token bucket on packets and bytes per second.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    /// Sustained packets per second.
    pub packets_per_sec: u32,
    /// Sustained bytes per second.
    pub bytes_per_sec: u32,
    /// How many seconds of traffic may arrive in one burst.
    pub burst_secs: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        // A 1080p screen share plus camera plus audio is well under 300 packets and 1 MB a second;
        // these leave room for key frames and clients that batch.
        Self { packets_per_sec: 1000, bytes_per_sec: 4_000_000, burst_secs: 2 }
    }
}

/// Bounds of one session's outbound queue (see [`crate::outbox`] for the policy).
#[derive(Debug, Clone, Copy)]
pub struct OutboxLimits {
    /// Server control packets waiting; more than this disconnects the receiver.
    pub control_packets: usize,
    /// Bytes of server control packets waiting; more disconnects the receiver.
    pub control_bytes: usize,
    /// Key-exchange packets from one sender waiting for one receiver; more are dropped, so one
    /// participant cannot fill another's queue.
    pub peer_control_packets: usize,
    /// Bytes of key-exchange packets from one sender waiting for one receiver.
    pub peer_control_bytes: usize,
    /// Bytes of key-exchange packets from all senders waiting for one receiver.
    pub peer_control_total_bytes: usize,
    /// The receiver's own round-trip probes waiting to go back to it; more drops the oldest.
    pub echo_packets: usize,
    /// Bytes of round-trip probes waiting; more drops the oldest.
    pub echo_bytes: usize,
    /// Audio, heartbeat and diagnostics packets waiting; more drops the oldest.
    pub lossy_packets: usize,
    /// Bytes of audio, heartbeat and diagnostics packets waiting; more drops the oldest.
    pub lossy_bytes: usize,
    /// Video packets waiting; more drops video until the stream's next key frame.
    pub video_packets: usize,
    /// Bytes of video waiting; more drops video until the stream's next key frame.
    pub video_bytes: usize,
    /// A receiver with work queued that took nothing for this long is disconnected.
    pub stall_timeout: Duration,
    /// Least time between two key frame requests for one stream on behalf of one receiver.
    pub keyframe_request_interval: Duration,
}

impl Default for OutboxLimits {
    fn default() -> Self {
        Self {
            control_packets: 512,
            // Welcomes name at most a room's participants (a few dozen bytes each).
            control_bytes: 1 << 20,
            // A key exchange is a handful of small packets per peer (a public key, a wrapped
            // key per rotation); sixteen waiting is already a flood.
            peer_control_packets: 16,
            peer_control_bytes: 64 << 10,
            peer_control_total_bytes: 1 << 20,
            // Old clients probe about once a second (a few times a second while they choose a
            // server); a probe is ~40 bytes. More waiting means the client stopped reading.
            echo_packets: 16,
            echo_bytes: 64 << 10,
            lossy_packets: 512,
            lossy_bytes: 1 << 20,
            video_packets: 1024,
            video_bytes: 4 << 20,
            stall_timeout: Duration::from_secs(10),
            keyframe_request_interval: Duration::from_millis(500),
        }
    }
}
