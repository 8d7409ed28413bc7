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
