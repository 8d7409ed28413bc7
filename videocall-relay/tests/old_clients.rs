//! What clients of the old videocall-rs protocol (mid-2025 until its v4.0.0) send besides media:
//! health reports, dropped and counted, and round-trip probes, echoed to their sender alone.
//! The packets are written byte for byte from that project's published `.proto` files.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use common::{Out, next};
use futures::StreamExt;
use protobuf::Message;
use videocall_relay::bus::{Bus, LocalHub, Subscription};
use videocall_relay::outbox::DropReason;
use videocall_relay::{Receiver, Relay, RelayConfig, Session};
use videocall_types::{CloseReason, MediaPacket, PacketType, PacketWrapper, RoomId, UserId};

/// A health report as a videocall-rs client sends it, from protobuf/types/packet_wrapper.proto
/// and health_packet.proto at commit 3145a82973964e4ab9e7b8eeceb5da56cec28da6: a PacketWrapper
/// (`packet_type = 1` HEALTH = 5, `email = 2`, `data = 3`) holding a HealthPacket
/// (`session_id = 1`, `meeting_id = 2`, `reporting_peer = 3`, `timestamp_ms = 4`,
/// `reporting_audio_enabled = 5`, `map<string, PeerStats> peer_stats = 7` with PeerStats
/// `can_listen = 1`, `can_see = 2`).
const HEALTH_REPORT: [u8; 48] = [
    0x08, 0x05, // packet_type: HEALTH
    0x12, 0x05, b'a', b'l', b'i', b'c', b'e', // email
    0x1a, 0x25, // data: a 37-byte HealthPacket
    0x0a, 0x02, b's', b'1', // session_id
    0x12, 0x02, b'r', b'1', // meeting_id
    0x1a, 0x05, b'a', b'l', b'i', b'c', b'e', // reporting_peer
    0x20, 0xfb, 0xb8, 0xf9, 0x97, 0x89, 0x33, // timestamp_ms: 1754812800123
    0x28, 0x01, // reporting_audio_enabled
    0x3a, 0x0b, 0x0a, 0x03, b'b', b'o', b'b', // peer_stats: {"bob":
    0x12, 0x04, 0x08, 0x01, 0x10, 0x01, //  can_listen, can_see}
];

/// A round-trip probe as a videocall-rs client sends it: packet_wrapper.proto at the commit
/// above (MEDIA = 2) around a MediaPacket of media_packet.proto with RTT = 4 (as generated into
/// videocall-types/src/protos/media_packet.rs at commit
/// 82d89391cfd5c28b2193c4522040cda3d6b46be3: `media_type = 1`, `email = 2`, `timestamp = 5`
/// double, the send time in ms).
const RTT_PROBE: [u8; 29] = [
    0x08, 0x02, // packet_type: MEDIA
    0x12, 0x05, b'a', b'l', b'i', b'c', b'e', // email
    0x1a, 0x12, // data: an 18-byte MediaPacket
    0x08, 0x04, // media_type: RTT
    0x12, 0x05, b'a', b'l', b'i', b'c', b'e', // email
    0x29, 0x00, 0xb0, 0xc7, 0xe5, 0x2f, 0x89, 0x79, 0x42, // timestamp: 1754812800123.0 ms
];

/// An old client's audio packet, from the same files: MEDIA around a MediaPacket with
/// `media_type` AUDIO = 1, `data` and `frame_type = 4` "key".
const AUDIO: [u8; 16] = [
    0x08, 0x02, 0x1a, 0x0c, // packet_type: MEDIA, data: a 12-byte MediaPacket
    0x08, 0x01, 0x1a, 0x03, b'a', b'u', b'd', // media_type: AUDIO, data
    0x22, 0x03, b'k', b'e', b'y', // frame_type
];

const LOOPBACK: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

fn relay_on(hub: &LocalHub) -> Relay {
    let mut config = RelayConfig::default();
    config.connections.max_per_ip = config.connections.max_connections;
    let (relay, driver) = Relay::new(Arc::new(hub.connect()), config);
    tokio::spawn(driver.run());
    relay
}

async fn join(relay: &Relay, user: &str, ext: bool) -> Session {
    let permit = relay.admit(LOOPBACK).unwrap();
    let (user, room) = (UserId::new(user).unwrap(), RoomId::new("r1").unwrap());
    relay.join(permit, user, room, ext).await.unwrap()
}

/// Packets queued for `rx` within a short wait, but for the server's own.
async fn media(rx: &Receiver) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while let Ok(got) = tokio::time::timeout(Duration::from_millis(50), next(rx)).await {
        let Out::Packet(packet) = got else { panic!("closed: {got:?}") };
        let wrapper = PacketWrapper::parse_from_bytes(&packet).unwrap();
        if wrapper.packet_type.enum_value() != Ok(PacketType::SERVER) {
            out.push(packet.to_vec());
        }
    }
    out
}

/// Media subjects published on the bus within a short wait (presence skipped).
async fn published(bus: &mut Subscription) -> Vec<String> {
    let mut out = Vec::new();
    while let Ok(Some(message)) = tokio::time::timeout(Duration::from_millis(50), bus.next()).await
    {
        if !message.subject.ends_with(".ctl") {
            out.push(message.subject);
        }
    }
    out
}

/// A room on two instances: alice and bob on `a`, carol on `b`, and a bus observer.
struct Room {
    a: Relay,
    alice: Session,
    bob: Session,
    carol: Session,
    bus: Subscription,
}

async fn room() -> Room {
    let hub = LocalHub::new();
    let (a, b) = (relay_on(&hub), relay_on(&hub));
    let bus = hub.connect().subscribe("room.r1.>".into()).await.unwrap();
    let (alice, bob) = (join(&a, "alice", false).await, join(&a, "bob", false).await);
    let carol = join(&b, "carol", true).await;
    let mut room = Room { a, alice, bob, carol, bus };
    // Everyone hears alice before the test starts: carol's instance knows her.
    room.alice.handle_packet(&AUDIO).unwrap();
    for rx in [room.bob.receiver(), room.carol.receiver()] {
        assert_eq!(media(&rx).await.len(), 1);
    }
    published(&mut room.bus).await;
    room
}

#[tokio::test]
async fn an_old_clients_health_report_is_dropped_and_counted_never_a_disconnect() {
    let mut room = room().await;
    room.alice.handle_packet(&HEALTH_REPORT).expect("not a reason to disconnect");
    room.alice.handle_packet(&HEALTH_REPORT).unwrap();
    let metrics = room.a.metrics();
    assert_eq!(metrics.health_reports_dropped.load(Relaxed), 2);
    assert_eq!(metrics.closes(CloseReason::Unsupported), 0);
    assert!(media(&room.bob.receiver()).await.is_empty(), "bob hears no health report");
    assert!(media(&room.alice.receiver()).await.is_empty(), "alice gets nothing back");
    assert!(published(&mut room.bus).await.is_empty(), "nothing is published");
    // Alice is still connected and heard, on both instances, and nothing came before that.
    room.alice.handle_packet(&AUDIO).unwrap();
    assert_eq!(media(&room.bob.receiver()).await.len(), 1);
    assert_eq!(media(&room.carol.receiver()).await.len(), 1);
}

#[tokio::test]
async fn an_rtt_probe_comes_back_to_its_sender_alone_with_the_identity_stamped() {
    let mut room = room().await;
    room.alice.handle_packet(&RTT_PROBE).unwrap();
    // The stamp keeps every field but `email` and `session_id` byte for byte, in order, and
    // appends the server's: email "alice" (field 2) and alice's session id (field 4).
    let mut expected = [&RTT_PROBE[..2], &RTT_PROBE[9..]].concat();
    expected.extend_from_slice(&[0x12, 0x05, b'a', b'l', b'i', b'c', b'e', 0x20]);
    let mut session = room.alice.id().get();
    while session >= 0x80 {
        expected.push((session as u8) | 0x80);
        session >>= 7;
    }
    expected.push(session as u8);
    assert_eq!(media(&room.alice.receiver()).await, [expected], "one echo, stamped");
    assert_eq!(room.a.metrics().rtt_echoes.load(Relaxed), 1);
    assert!(media(&room.bob.receiver()).await.is_empty(), "bob gets no probe");
    assert!(published(&mut room.bus).await.is_empty(), "no probe is published");
    room.alice.handle_packet(&AUDIO).unwrap();
    assert_eq!(media(&room.carol.receiver()).await.len(), 1, "carol's next packet is audio");
}

#[tokio::test]
async fn media_types_this_relay_does_not_know_are_still_relayed_to_the_room() {
    let room = room().await;
    // videocall-rs v4 numbers RTT 5 (media_packet.proto at commit
    // af8cfd1f0fc5181e796ae9238e35300f1148c34b); to this relay 5 is no media type it knows.
    let mut v4_probe = RTT_PROBE;
    v4_probe[12] = 0x05;
    let mut alice = room.alice;
    alice.handle_packet(&v4_probe).unwrap();
    assert_eq!(media(&room.bob.receiver()).await.len(), 1);
    assert!(media(&alice.receiver()).await.is_empty());
    assert_eq!(room.a.metrics().rtt_echoes.load(Relaxed), 0);
}

#[tokio::test(start_paused = true)]
async fn probes_a_client_never_reads_back_cost_at_most_the_echo_lane() {
    let room = room().await;
    let mut alice = room.alice;
    let lane = RelayConfig::default().outbox.echo_packets;
    for _ in 0..100 {
        alice.handle_packet(&RTT_PROBE).unwrap();
    }
    let drops = room.a.metrics().drops(DropReason::EchoOldest);
    assert_eq!(drops, 100 - lane as u64);
    let echoes = media(&alice.receiver()).await;
    assert_eq!(echoes.len(), lane);
    let timestamp = |bytes: &[u8]| {
        let wrapper = PacketWrapper::parse_from_bytes(bytes).unwrap();
        MediaPacket::parse_from_bytes(&wrapper.data).unwrap().timestamp
    };
    assert!(echoes.iter().all(|e| timestamp(e) == 1_754_812_800_123.0));
    assert!(media(&room.bob.receiver()).await.is_empty());
}
