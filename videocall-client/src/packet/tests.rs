use protobuf::{Message, MessageField};
use videocall_types::protos::media_packet::{AudioMetadata, VideoMetadata};
use videocall_types::protos::server_packet::{KeyframeRequest, MuteRequest, ServerError, Welcome};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::*;

fn alice() -> UserId {
    UserId::new("alice").unwrap()
}

fn sid(n: u64) -> SessionId {
    SessionId::new(n).unwrap()
}

fn server_bytes(event: server_packet::Event) -> Vec<u8> {
    let inner = ServerPacket { event: Some(event), ..Default::default() };
    PacketWrapper {
        packet_type: PacketType::SERVER.into(),
        data: inner.write_to_bytes().unwrap(),
        ..Default::default()
    }
    .write_to_bytes()
    .unwrap()
}

fn participant(session_id: u64, user: &str) -> Participant {
    Participant { session_id, user_id: user.into(), ..Default::default() }
}

#[test]
fn heartbeat_round_trips_with_route_and_flags() {
    let flags = MediaFlags { video: true, audio: false, screen: true };
    let wrapper = heartbeat(&alice(), flags, 1_700_000_000_123.0).unwrap();
    let bytes = encode(&wrapper).unwrap();

    let back = PacketWrapper::parse_from_bytes(&bytes).unwrap();
    assert_eq!(back.packet_type.enum_value(), Ok(PacketType::MEDIA));
    assert_eq!(back.email, "alice");
    assert_eq!(back.route.media_type.enum_value(), Ok(MediaType::HEARTBEAT));
    let media = MediaPacket::parse_from_bytes(&back.data).unwrap();
    assert_eq!(media.media_type.enum_value(), Ok(MediaType::HEARTBEAT));
    assert_eq!(media.email, "alice");
    assert_eq!(media.timestamp, 1_700_000_000_123.0);
    assert!(media.heartbeat_metadata.video_enabled);
    assert!(!media.heartbeat_metadata.audio_enabled);
    assert!(media.heartbeat_metadata.screen_enabled);

    match parse(&bytes, true).unwrap() {
        Inbound::Heartbeat { flags: got, .. } => assert_eq!(got, flags),
        other => panic!("expected a heartbeat, got {other:?}"),
    }
}

#[test]
fn video_key_frame_gets_a_routing_header_with_its_sequence() {
    let frame = MediaPacket {
        media_type: MediaType::VIDEO.into(),
        frame_type: "key".into(),
        data: vec![9; 64],
        video_metadata: MessageField::some(VideoMetadata { sequence: 41, ..Default::default() }),
        ..Default::default()
    };
    let wrapper = media(&alice(), frame).unwrap();
    let back = PacketWrapper::parse_from_bytes(&encode(&wrapper).unwrap()).unwrap();
    assert_eq!(back.route.media_type.enum_value(), Ok(MediaType::VIDEO));
    assert!(back.route.keyframe);
    assert_eq!(back.route.sequence, 41);
    let inner = MediaPacket::parse_from_bytes(&back.data).unwrap();
    assert_eq!(inner.email, "alice", "an empty MediaPacket.email is filled in");
    assert_eq!(inner.data, vec![9; 64]);
}

#[test]
fn audio_delta_route_uses_the_audio_sequence() {
    let packet = MediaPacket {
        media_type: MediaType::AUDIO.into(),
        email: "kept".into(),
        frame_type: "delta".into(),
        audio_metadata: MessageField::some(AudioMetadata { sequence: 7, ..Default::default() }),
        ..Default::default()
    };
    let route = route_of(&packet);
    assert_eq!(route.media_type.enum_value(), Ok(MediaType::AUDIO));
    assert!(!route.keyframe);
    assert_eq!(route.sequence, 7);
    let wrapper = media(&alice(), packet).unwrap();
    assert_eq!(MediaPacket::parse_from_bytes(&wrapper.data).unwrap().email, "kept");
}

#[test]
fn media_from_a_peer_is_delivered_as_is() {
    let frame = MediaPacket { media_type: MediaType::SCREEN.into(), ..Default::default() };
    let mut wrapper = media(&alice(), frame).unwrap();
    wrapper.session_id = 5;
    match parse(&encode(&wrapper).unwrap(), true).unwrap() {
        Inbound::Peer(got) => assert_eq!(got, wrapper),
        other => panic!("expected a peer packet, got {other:?}"),
    }
}

#[test]
fn encrypted_heartbeat_goes_to_the_application() {
    let mut wrapper = heartbeat(&alice(), MediaFlags::default(), 0.0).unwrap();
    wrapper.data = vec![0xff; 40]; // ciphertext: not a MediaPacket
    assert!(matches!(parse(&encode(&wrapper).unwrap(), true), Ok(Inbound::Peer(_))));
}

#[test]
fn old_heartbeat_without_route_is_still_read() {
    let mut wrapper =
        heartbeat(&alice(), MediaFlags { audio: true, ..Default::default() }, 1.0).unwrap();
    wrapper.route = MessageField::none();
    match parse(&encode(&wrapper).unwrap(), false).unwrap() {
        Inbound::Heartbeat { flags, .. } => assert!(flags.audio && !flags.video),
        other => panic!("expected a heartbeat, got {other:?}"),
    }
}

#[test]
fn welcome_lists_self_and_participants() {
    let welcome = Welcome {
        you: MessageField::some(participant(3, "alice")),
        room_id: "r1".into(),
        participants: vec![participant(1, "bob"), participant(0, "old")],
        ..Default::default()
    };
    let got = parse(&server_bytes(server_packet::Event::Welcome(welcome)), true).unwrap();
    let expected = ServerMessage::Welcome {
        you: Some(sid(3)),
        room_id: "r1".into(),
        participants: vec![
            PeerInfo::anonymous(PeerKey::Session(sid(1)), "bob"),
            PeerInfo::anonymous(PeerKey::Email("old".into()), "old"),
        ],
    };
    assert_eq!(got, Inbound::Server(expected));
}

#[test]
fn control_messages_are_typed() {
    let cases = [
        (
            server_packet::Event::Joined(participant(8, "carol")),
            ServerMessage::Joined(PeerInfo::anonymous(PeerKey::Session(sid(8)), "carol")),
        ),
        (
            server_packet::Event::Left(participant(8, "carol")),
            ServerMessage::Left(PeerInfo::anonymous(PeerKey::Session(sid(8)), "carol")),
        ),
        (
            server_packet::Event::KeyframeRequest(KeyframeRequest {
                media_type: MediaType::SCREEN.into(),
                ..Default::default()
            }),
            ServerMessage::KeyframeRequest(MediaType::SCREEN),
        ),
        (
            server_packet::Event::Error(ServerError {
                code: 4011,
                reason: "bad id".into(),
                ..Default::default()
            }),
            ServerMessage::Error { code: 4011, text: "bad id".into() },
        ),
        (
            server_packet::Event::MuteRequest(MuteRequest {
                media_type: MediaType::AUDIO.into(),
                ..Default::default()
            }),
            ServerMessage::MuteRequest(MediaType::AUDIO),
        ),
    ];
    for (event, expected) in cases {
        assert_eq!(parse(&server_bytes(event), true).unwrap(), Inbound::Server(expected));
    }
}

#[test]
fn unknown_server_messages_are_ignored_not_errors() {
    let empty = PacketWrapper { packet_type: PacketType::SERVER.into(), ..Default::default() };
    let bytes = empty.write_to_bytes().unwrap();
    assert_eq!(parse(&bytes, true).unwrap(), Inbound::Server(ServerMessage::Unknown));

    let request =
        KeyframeRequest { media_type: protobuf::EnumOrUnknown::from_i32(99), ..Default::default() };
    let bytes = server_bytes(server_packet::Event::KeyframeRequest(request));
    assert_eq!(parse(&bytes, true).unwrap(), Inbound::Server(ServerMessage::Unknown));
}

#[test]
fn server_packets_are_refused_without_extensions() {
    let bytes = server_bytes(server_packet::Event::Joined(participant(1, "x")));
    assert_eq!(parse(&bytes, false), Err(ParseError::UnexpectedServer));
}

#[test]
fn malformed_bytes_are_errors_not_panics() {
    assert!(matches!(parse(&[0x0a, 0x05, 1], true), Err(ParseError::Wrapper(_))));
    assert!(matches!(parse(&[0xff; 11], true), Err(ParseError::Wrapper(_))));
    assert!(matches!(parse(&[0x12, 0x02, 0xff, 0xfe], true), Err(ParseError::Wrapper(_))));
    let bad_server = PacketWrapper {
        packet_type: PacketType::SERVER.into(),
        data: vec![0x0a, 0x09, 1],
        ..Default::default()
    };
    let bytes = bad_server.write_to_bytes().unwrap();
    assert!(matches!(parse(&bytes, true), Err(ParseError::Server(_))));

    let good = encode(&heartbeat(&alice(), MediaFlags::default(), 5.0).unwrap()).unwrap();
    for cut in 0..good.len() {
        let _ = parse(&good[..cut], true);
    }
}

#[test]
fn sender_without_session_is_keyed_by_email() {
    let mut wrapper = PacketWrapper { email: "bob".into(), ..Default::default() };
    assert_eq!(sender_key(&wrapper), PeerKey::Email("bob".into()));
    wrapper.session_id = 12;
    assert_eq!(sender_key(&wrapper), PeerKey::Session(sid(12)));
}
