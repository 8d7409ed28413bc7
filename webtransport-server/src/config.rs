//! What the WebTransport listener needs to know, and the QUIC limits built from it; binaries
//! fill it from their flags.
//!
//! Every QUIC resource a client can make the server hold is set here explicitly (quinn's
//! defaults are tuned for bulk transfer: 100 bidirectional and 100 unidirectional streams of
//! 1.25 MB each and an unbounded connection window). The worst-case memory these limits allow
//! per connection is worked out in the crate's README ("Memory per connection").

use std::sync::Arc;
use std::time::Duration;

use videocall_access::{Access, Gate};
use videocall_relay::RelayConfig;
use wtransport::config::QuicTransportConfig;
use wtransport::quinn::{IdleTimeout, VarInt};

use crate::Error;
use crate::identity::SelfSignedRenewal;

/// Client-initiated bidirectional streams a connection may have open: exactly the HTTP/3
/// CONNECT request that carries the WebTransport session. Our protocol sends packets on
/// unidirectional streams only, so a second one is never granted: quinn gives no credit for it
/// and the client's `createBidirectionalStream` waits forever. (0 would refuse the session
/// request itself.)
pub(crate) const MAX_BIDI_STREAMS: u32 = 1;

/// Unidirectional streams an HTTP/3 client keeps open besides WebTransport's: control, QPACK
/// encoder and QPACK decoder.
pub(crate) const H3_UNI_STREAMS: u32 = 3;

/// Longest WebTransport stream header before the payload: a 2-byte stream type and a session
/// id of up to 8 bytes, rounded up as `wtransport_proto::stream_header::StreamHeader::MAX_SIZE`
/// does. It counts against a stream's flow-control window like the payload.
const WT_STREAM_HEADER_MAX: u64 = 16;

/// Out-of-order TLS handshake bytes buffered per connection (quinn's default, set here so it
/// is written down): a ClientHello with its certificates fits easily.
const CRYPTO_BUFFER_BYTES: usize = 16 * 1024;

/// Bytes of not-yet-accepted connection attempts (early Initial and 0-RTT packets) buffered
/// per attempt. The accept loop takes attempts as they come, so this only fills while it is
/// busy; a few full-size Initial packets fit.
const INCOMING_BUFFER_BYTES: u64 = 64 * 1024;

/// The same for all pending attempts together (quinn's default is 100 MiB).
const INCOMING_BUFFER_BYTES_TOTAL: u64 = 16 << 20;

/// Limits and timers of the WebTransport listener.
#[derive(Debug, Clone)]
pub struct Config {
    /// Largest packet a client may send on one stream, in bytes; a longer stream closes the
    /// connection with `TooLarge` (1009). Also sets each stream's QUIC receive window (see
    /// [`Config::stream_receive_window`]).
    pub max_packet_bytes: usize,
    /// Client streams a connection may have open besides HTTP/3's own (QUIC `MAX_STREAMS`):
    /// the one being read plus those waiting behind it. While this many are open the client
    /// cannot open another, so it waits instead of making the server hold more.
    pub max_incoming_streams: u32,
    /// Bytes a client may have sent across all its streams that the server has not read yet
    /// (the QUIC connection receive window). Streams are read one at a time, so this is what
    /// the streams waiting behind the one being read can hold; it caps the throughput of one
    /// client at about `receive_window / RTT`. Raised to at least one stream window.
    pub receive_window: u64,
    /// Bytes the server has written to a client and the client not yet acknowledged (the QUIC
    /// send window). Bounds what a slow or silent receiver makes the server hold below the
    /// relay's outbound queue; caps what a receiver gets at about `send_window / RTT`.
    pub send_window: u64,
    /// Bytes of received datagrams waiting to be read; quinn drops the oldest beyond this.
    pub datagram_buffer: usize,
    /// Longest time to read one client stream, from when it is next in line. A stream still
    /// open after this (a client dribbling bytes, or holding a stream open without finishing
    /// it) is stopped and the connection closed with `Timeout` (4010).
    pub stream_timeout: Duration,
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
    /// Who may open a session (open mode by default).
    pub access: Access,
    /// The meetings store's say on each join the access policy admitted (ended meetings,
    /// removed users) and the record of who joined; `None` checks and records nothing.
    pub gate: Option<Arc<dyn Gate>>,
}

impl Config {
    /// Defaults, with the packet size limit of the relay the listener feeds (and the windows
    /// sized for it).
    pub fn from_relay(relay: &RelayConfig) -> Self {
        Self::with_max_packet_bytes(relay.max_packet_bytes)
    }

    /// Defaults for packets of at most `max_packet_bytes`: each window holds two packets.
    fn with_max_packet_bytes(max_packet_bytes: usize) -> Self {
        let window = stream_window(max_packet_bytes);
        Self {
            max_packet_bytes,
            // A browser opens a stream per packet; at 300 packets/s and a 200 ms round trip
            // about 60 are in flight before the server's stream credit comes back.
            max_incoming_streams: 64,
            // One maximum packet being read plus one waiting behind it, so two key frames
            // sent at once (camera and screen) do not wait on each other; at the default 1 MB
            // packets that allows about 10 MB/s at a 200 ms round trip, over the relay's rate
            // limit.
            receive_window: 2 * window,
            // Two maximum packets in flight to a receiver; a 20-person room at 2 Mbit/s per
            // sender needs about 1 MB at a 200 ms round trip.
            send_window: 2 * window,
            // Datagrams are at most one QUIC packet (~1.2–1.4 kB); about 50 of them cover a
            // burst while the connection task is busy. Datagrams are unreliable: dropping
            // the oldest is their policy.
            datagram_buffer: 64 * 1024,
            // A 1 MB packet takes 10 s at 800 kbit/s; a stream slower than that is either
            // hostile or on a path that cannot carry video. Below `idle_timeout`.
            stream_timeout: Duration::from_secs(10),
            keep_alive: Duration::from_secs(2),
            max_idle_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            handshake_timeout: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(5),
            renewal: None,
            access: Access::open(),
            gate: None,
        }
    }

    /// Bytes a client may send on one stream before the server reads them: a maximum packet,
    /// its WebTransport stream header, and the one byte more that shows a stream is too long.
    pub fn stream_receive_window(&self) -> u64 {
        stream_window(self.max_packet_bytes)
    }

    /// The QUIC transport limits: every value a client could otherwise make the server
    /// allocate is set, none left to quinn's defaults.
    pub(crate) fn quic_transport(&self) -> Result<QuicTransportConfig, Error> {
        let stream_window = self.stream_receive_window();
        let mut transport = QuicTransportConfig::default();
        transport
            .max_concurrent_bidi_streams(VarInt::from_u32(MAX_BIDI_STREAMS))
            // Ours plus HTTP/3's; wtransport reads its own, we read the rest.
            .max_concurrent_uni_streams(VarInt::from_u32(
                self.max_incoming_streams.saturating_add(H3_UNI_STREAMS),
            ))
            .stream_receive_window(varint(stream_window)?)
            // At least one stream window, or a maximum packet could never arrive.
            .receive_window(varint(self.receive_window.max(stream_window))?)
            .send_window(self.send_window.max(1))
            .datagram_receive_buffer_size(Some(self.datagram_buffer))
            // We send no datagrams; bounded like the receiving side should that change.
            .datagram_send_buffer_size(self.datagram_buffer)
            .crypto_buffer_size(CRYPTO_BUFFER_BYTES)
            .keep_alive_interval(Some(self.keep_alive))
            .max_idle_timeout(Some(
                IdleTimeout::try_from(self.max_idle_timeout).map_err(|_| Error::IdleTimeout)?,
            ));
        Ok(transport)
    }

    /// Bounds on connection attempts not yet accepted, applied to quinn's server config.
    pub(crate) fn bound_incoming(server: &mut wtransport::config::QuicServerConfig) {
        server
            .incoming_buffer_size(INCOMING_BUFFER_BYTES)
            .incoming_buffer_size_total(INCOMING_BUFFER_BYTES_TOTAL);
    }
}

impl Default for Config {
    fn default() -> Self {
        Self::with_max_packet_bytes(RelayConfig::default().max_packet_bytes)
    }
}

fn stream_window(max_packet_bytes: usize) -> u64 {
    (max_packet_bytes as u64).saturating_add(WT_STREAM_HEADER_MAX + 1)
}

/// A window as a QUIC variable-length integer (at most 2^62 - 1).
fn varint(bytes: u64) -> Result<VarInt, Error> {
    VarInt::from_u64(bytes).map_err(|_| Error::Window(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_follow_the_packet_limit() {
        let config =
            Config::from_relay(&RelayConfig { max_packet_bytes: 1000, ..Default::default() });
        assert_eq!(config.stream_receive_window(), 1017);
        assert_eq!((config.receive_window, config.send_window), (2034, 2034));
        assert_eq!(Config::default().max_packet_bytes, RelayConfig::default().max_packet_bytes);
    }

    #[test]
    fn transport_builds_and_refuses_what_quic_cannot_express() {
        assert!(Config::default().quic_transport().is_ok());
        let huge = Config { receive_window: u64::MAX, ..Config::default() };
        assert!(matches!(huge.quic_transport(), Err(Error::Window(_))));
        let forever = Config { max_idle_timeout: Duration::MAX, ..Config::default() };
        assert!(matches!(forever.quic_transport(), Err(Error::IdleTimeout)));
    }
}
