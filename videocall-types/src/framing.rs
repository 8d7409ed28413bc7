//! Several packets on one WebTransport stream (`?streams=1`): length prefixes and which stream
//! a packet belongs on.
//!
//! A framed stream is a sequence of `[u32 big-endian length][serialized PacketWrapper]`. The
//! first byte of a framed stream is therefore 0 (packets are far below 16 MiB), while a
//! serialized `PacketWrapper` never starts with 0 (protobuf has no field number 0): a reader can
//! tell a framed stream from an old one-packet stream by its first byte ([`is_framed`]).
//!
//! Packets are grouped the way Media-over-QUIC groups objects: each sender's video and screen
//! share start a new stream at every key frame (a stream lost or reset costs at most the rest of
//! its group of pictures, which the next key frame replaces anyway), while its audio and its
//! other packets (heartbeats, keys, diagnostics, server packets) each keep one long-lived stream.
//! Separate streams keep one track's retransmissions from holding up another's packets.

use crate::MediaType;
use crate::wire::Envelope;

/// Bytes of the length prefix before each packet on a framed stream.
pub const PREFIX_LEN: usize = 4;

/// The length prefix of a packet of `len` bytes, or `None` for a length a prefix cannot hold.
pub fn prefix(len: usize) -> Option<[u8; PREFIX_LEN]> {
    u32::try_from(len).ok().map(u32::to_be_bytes)
}

/// The packet length a prefix announces.
pub fn announced(prefix: [u8; PREFIX_LEN]) -> usize {
    // A u32 always fits a usize on the 32- and 64-bit targets this crate builds for.
    u32::from_be_bytes(prefix) as usize
}

/// Whether a stream whose first byte is `first` is framed (rather than one bare packet).
pub fn is_framed(first: u8) -> bool {
    first == 0
}

/// Which of a sender's tracks a packet travels with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lane {
    /// Camera video: a new stream per group of pictures.
    Video,
    /// Screen share: a new stream per group of pictures.
    Screen,
    /// Audio: one long-lived stream.
    Audio,
    /// Everything else: one long-lived stream.
    Other,
}

/// Where a packet goes: the stream group of `(sender, lane)`, and whether it starts a new group
/// (a video or screen key frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// The sender's session id as stamped by the server (0 in what a client sends).
    pub sender: u64,
    /// The sender's track.
    pub lane: Lane,
    /// Finish the group's current stream and start a new one with this packet.
    pub starts_group: bool,
}

impl Placement {
    /// Places a serialized `PacketWrapper` by its envelope and routing header alone (the
    /// payload may be encrypted). A packet that cannot be read goes with the sender's other
    /// packets.
    pub fn of(packet: &[u8]) -> Self {
        let Ok(envelope) = Envelope::read(packet) else {
            return Self { sender: 0, lane: Lane::Other, starts_group: false };
        };
        let sender = envelope.session_id;
        let (lane, keyframe) = match envelope.media_route() {
            Some(route) => match route.kind() {
                Some(MediaType::VIDEO) => (Lane::Video, route.keyframe),
                Some(MediaType::SCREEN) => (Lane::Screen, route.keyframe),
                Some(MediaType::AUDIO) => (Lane::Audio, false),
                _ => (Lane::Other, false),
            },
            None => (Lane::Other, false),
        };
        Self { sender, lane, starts_group: keyframe }
    }
}

#[cfg(test)]
mod tests {
    use protobuf::Message;

    use super::*;
    use crate::{MediaPacket, PacketType, PacketWrapper, RoutingHeader};

    fn media(kind: MediaType, keyframe: bool, session: u64) -> Vec<u8> {
        let route = RoutingHeader { media_type: kind.into(), keyframe, ..Default::default() };
        let inner = MediaPacket { media_type: kind.into(), ..Default::default() };
        PacketWrapper {
            packet_type: PacketType::MEDIA.into(),
            data: inner.write_to_bytes().unwrap(),
            session_id: session,
            route: Some(route).into(),
            ..Default::default()
        }
        .write_to_bytes()
        .unwrap()
    }

    #[test]
    fn prefixes_are_big_endian_and_mark_the_stream_as_framed() {
        let p = prefix(0x0102_0304).unwrap();
        assert_eq!(p, [1, 2, 3, 4]);
        assert_eq!(announced(p), 0x0102_0304);
        assert!(is_framed(prefix(1_000_000).unwrap()[0]));
        assert!(!is_framed(media(MediaType::AUDIO, false, 0)[0]), "protobuf never starts with 0");
    }

    #[test]
    fn video_and_screen_key_frames_start_groups_and_audio_never_does() {
        let place = |kind, key| Placement::of(&media(kind, key, 7));
        assert_eq!(
            place(MediaType::VIDEO, true),
            Placement { sender: 7, lane: Lane::Video, starts_group: true }
        );
        assert!(!place(MediaType::VIDEO, false).starts_group);
        assert_eq!(place(MediaType::SCREEN, true).lane, Lane::Screen);
        assert!(place(MediaType::SCREEN, true).starts_group);
        assert_eq!(place(MediaType::AUDIO, true).lane, Lane::Audio);
        assert!(!place(MediaType::AUDIO, true).starts_group);
        assert_eq!(place(MediaType::HEARTBEAT, false).lane, Lane::Other);
    }

    #[test]
    fn unreadable_packets_go_with_the_other_packets() {
        assert_eq!(
            Placement::of(&[0xff, 0xff]),
            Placement { sender: 0, lane: Lane::Other, starts_group: false }
        );
    }
}
