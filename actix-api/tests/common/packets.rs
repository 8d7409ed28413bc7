//! Packets as clients build them.

use protobuf::{Message, MessageField};
use videocall_types::protos::media_packet::{AudioMetadata, HeartbeatMetadata, VideoMetadata};
use videocall_types::protos::server_packet::server_packet::Event;
use videocall_types::{
    MediaPacket, MediaType, PacketType, PacketWrapper, RoutingHeader, ServerPacket,
};

/// A media packet the way the old protocol sends it: envelope only, no routing header.
pub fn plain_media(kind: MediaType, email: &str, key: bool, seq: u64, payload: usize) -> Vec<u8> {
    let inner = MediaPacket {
        media_type: kind.into(),
        email: email.into(),
        data: vec![0x5a; payload],
        frame_type: if key { "key" } else { "delta" }.into(),
        timestamp: seq as f64 * 33_000.0,
        video_metadata: MessageField::some(VideoMetadata { sequence: seq, ..Default::default() }),
        audio_metadata: MessageField::some(AudioMetadata { sequence: seq, ..Default::default() }),
        ..Default::default()
    };
    PacketWrapper {
        packet_type: PacketType::MEDIA.into(),
        email: email.into(),
        data: inner.write_to_bytes().unwrap(),
        ..Default::default()
    }
    .write_to_bytes()
    .unwrap()
}

/// A media packet with our routing header.
pub fn routed_media(kind: MediaType, email: &str, key: bool, seq: u64, payload: usize) -> Vec<u8> {
    let mut wrapper =
        PacketWrapper::parse_from_bytes(&plain_media(kind, email, key, seq, payload)).unwrap();
    wrapper.route = MessageField::some(RoutingHeader {
        media_type: kind.into(),
        keyframe: key,
        sequence: seq,
        ..Default::default()
    });
    wrapper.write_to_bytes().unwrap()
}

/// A heartbeat as the old browser client sends it every second.
pub fn heartbeat(email: &str) -> Vec<u8> {
    let inner = MediaPacket {
        media_type: MediaType::HEARTBEAT.into(),
        email: email.into(),
        heartbeat_metadata: MessageField::some(HeartbeatMetadata {
            video_enabled: true,
            audio_enabled: true,
            ..Default::default()
        }),
        ..Default::default()
    };
    PacketWrapper {
        packet_type: PacketType::MEDIA.into(),
        email: email.into(),
        data: inner.write_to_bytes().unwrap(),
        ..Default::default()
    }
    .write_to_bytes()
    .unwrap()
}

/// Parses a received envelope.
pub fn parse(bytes: &[u8]) -> PacketWrapper {
    PacketWrapper::parse_from_bytes(bytes).unwrap()
}

/// The server event in a SERVER packet, `None` for any other packet.
pub fn server_event(bytes: &[u8]) -> Option<Event> {
    let wrapper = parse(bytes);
    (wrapper.packet_type.enum_value() == Ok(PacketType::SERVER))
        .then(|| ServerPacket::parse_from_bytes(&wrapper.data).unwrap().event)
        .flatten()
}

/// The sequence number of a received media packet.
pub fn sequence(bytes: &[u8]) -> u64 {
    MediaPacket::parse_from_bytes(&parse(bytes).data).unwrap().video_metadata.sequence
}

/// A health report as a videocall-rs client of mid-2025 sends it, byte for byte from that
/// project's protobuf/types/packet_wrapper.proto and health_packet.proto at commit
/// 3145a82973964e4ab9e7b8eeceb5da56cec28da6: PacketWrapper `packet_type = 1` (HEALTH = 5),
/// `email = 2`, `data = 3`, around a HealthPacket with `session_id = 1`, `meeting_id = 2`,
/// `reporting_peer = 3`, `timestamp_ms = 4` and `reporting_video_enabled = 6`.
pub const OLD_HEALTH_REPORT: [u8; 35] = [
    0x08, 0x05, // packet_type: HEALTH
    0x12, 0x05, b'a', b'l', b'i', b'c', b'e', // email
    0x1a, 0x18, // data: a 24-byte HealthPacket
    0x0a, 0x02, b's', b'1', // session_id
    0x12, 0x02, b'r', b'1', // meeting_id
    0x1a, 0x05, b'a', b'l', b'i', b'c', b'e', // reporting_peer
    0x20, 0xfb, 0xb8, 0xf9, 0x97, 0x89, 0x33, // timestamp_ms: 1754812800123
    0x30, 0x01, // reporting_video_enabled
];

/// A round-trip probe as the same clients send it: packet_wrapper.proto at the commit above
/// (MEDIA = 2) around a MediaPacket with RTT = 4 (media_packet.proto as generated into
/// videocall-types/src/protos/media_packet.rs at commit
/// 82d89391cfd5c28b2193c4522040cda3d6b46be3: `media_type = 1`, `email = 2`, `timestamp = 5`
/// double, the send time in ms).
pub const OLD_RTT_PROBE: [u8; 29] = [
    0x08, 0x02, // packet_type: MEDIA
    0x12, 0x05, b'a', b'l', b'i', b'c', b'e', // email
    0x1a, 0x12, // data: an 18-byte MediaPacket
    0x08, 0x04, // media_type: RTT
    0x12, 0x05, b'a', b'l', b'i', b'c', b'e', // email
    0x29, 0x00, 0xb0, 0xc7, 0xe5, 0x2f, 0x89, 0x79, 0x42, // timestamp: 1754812800123.0 ms
];

/// `value` as a protobuf varint.
pub fn varint(mut value: u64) -> Vec<u8> {
    let mut out = Vec::new();
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
    out
}
