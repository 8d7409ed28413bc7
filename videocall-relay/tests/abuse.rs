//! The relay under hostile input, without sockets: caps, floods, room churn and a bus that
//! carries forged or oversized messages.

#![allow(clippy::unwrap_used)]

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use bytes::Bytes;
use common::{Out, next};
use protobuf::Message;
use videocall_relay::bus::{Bus, LocalBus, LocalHub};
use videocall_relay::control::{Peer, Presence};
use videocall_relay::outbox::DropReason;
use videocall_relay::{ConnectionLimits, JoinError, Receiver, Relay, RelayConfig, Session};
use videocall_types::{
    CloseReason, MediaPacket, MediaType, PacketType, PacketWrapper, RoomId, SessionId, UserId,
    subject, wire,
};

fn relay_with(bus: LocalBus, limits: ConnectionLimits) -> Relay {
    let (relay, driver) =
        Relay::new(Arc::new(bus), RelayConfig { connections: limits, ..Default::default() });
    tokio::spawn(driver.run());
    relay
}

fn limits(max_connections: usize, max_per_ip: usize, max_room_size: usize) -> ConnectionLimits {
    ConnectionLimits { max_connections, max_per_ip, max_room_size }
}

fn ip(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, n))
}

async fn join_from(
    relay: &Relay,
    from: IpAddr,
    user: &str,
    room: &str,
) -> Result<Session, JoinError> {
    let permit = relay.admit(from).map_err(|_| JoinError::ShuttingDown)?;
    relay.join(permit, UserId::new(user).unwrap(), RoomId::new(room).unwrap(), true).await
}

/// Everything queued for `rx` right now.
async fn drain(rx: &Receiver) -> Vec<Out> {
    let mut out = Vec::new();
    while let Ok(next) = tokio::time::timeout(Duration::from_millis(20), next(rx)).await {
        out.push(next);
    }
    out
}

fn key_exchange(payload_len: usize) -> Vec<u8> {
    PacketWrapper {
        packet_type: PacketType::RSA_PUB_KEY.into(),
        data: vec![7; payload_len],
        ..Default::default()
    }
    .write_to_bytes()
    .unwrap()
}

/// Waits (bounded) until `done` holds; background tasks end rooms' subscriptions.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never: {what}");
}

#[tokio::test]
async fn connections_over_the_caps_are_refused_before_any_room_work() {
    let relay = relay_with(LocalBus::standalone(), limits(3, 2, 100));
    let _a1 = join_from(&relay, ip(1), "a1", "r").await.unwrap();
    let _a2 = join_from(&relay, ip(1), "a2", "r").await.unwrap();
    assert_eq!(relay.admit(ip(1)).unwrap_err(), CloseReason::TooManyConnections);
    let b1 = join_from(&relay, ip(2), "b1", "r").await.unwrap();
    // The instance is full: a third address is refused too, until someone leaves.
    assert!(relay.admit(ip(3)).is_err());
    drop(b1);
    assert!(relay.admit(ip(3)).is_ok());
    assert_eq!(relay.metrics().closes(CloseReason::TooManyConnections), 2);
}

#[tokio::test]
async fn a_full_room_refuses_the_next_participant_and_nobody_hears_of_it() {
    let relay = relay_with(LocalBus::standalone(), limits(100, 100, 2));
    let alice = join_from(&relay, ip(1), "alice", "r").await.unwrap();
    let _bob = join_from(&relay, ip(1), "bob", "r").await.unwrap();
    let alice_rx = alice.receiver();
    drain(&alice_rx).await;
    let refused = join_from(&relay, ip(1), "carol", "r").await;
    assert!(matches!(refused, Err(JoinError::RoomFull)));
    assert!(drain(&alice_rx).await.is_empty(), "no notice of a refused join");
    assert_eq!(relay.metrics().closes(CloseReason::RoomFull), 1);
    // The refused connection's place is free again; another room has room.
    assert_eq!(relay.connections().0, 2);
    assert!(join_from(&relay, ip(1), "carol", "other").await.is_ok());
}

#[tokio::test]
async fn rooms_opened_and_closed_leave_nothing_behind() {
    let hub = LocalHub::new();
    let relay = relay_with(hub.connect(), ConnectionLimits::default());
    for n in 0..2000 {
        let session = join_from(&relay, ip(1), "solo", &format!("room{n}")).await.unwrap();
        drop(session);
    }
    assert_eq!(relay.rooms(), 0);
    assert_eq!(relay.connections(), (0, 0));
    assert_eq!(relay.metrics().rooms.load(Relaxed), 0);
    eventually("every room subscription is gone", || hub.subscriptions() == 0).await;
}

#[tokio::test]
async fn one_participants_key_exchange_flood_disconnects_no_one() {
    let relay = relay_with(LocalBus::standalone(), ConnectionLimits::default());
    let mut mallory = join_from(&relay, ip(1), "mallory", "r").await.unwrap();
    let mut alice = join_from(&relay, ip(2), "alice", "r").await.unwrap();
    let bob = join_from(&relay, ip(3), "bob", "r").await.unwrap();
    // Bob reads nothing while Mallory sends far more than his control lane used to hold.
    for _ in 0..2000 {
        mallory.handle_packet(&key_exchange(100)).unwrap();
    }
    alice.handle_packet(&key_exchange(100)).unwrap();
    let got = drain(&bob.receiver()).await;
    assert!(got.iter().all(|o| matches!(o, Out::Packet(_))), "bob stays connected");
    let from = |user: &str| {
        got.iter()
            .filter_map(|o| match o {
                Out::Packet(p) => PacketWrapper::parse_from_bytes(p).ok(),
                Out::Close(_) => None,
            })
            .filter(|w| w.packet_type.enum_value() == Ok(PacketType::RSA_PUB_KEY))
            .filter(|w| w.email == user)
            .count()
    };
    let limits = relay.config().outbox;
    assert_eq!(from("mallory"), limits.peer_control_packets);
    assert_eq!(from("alice"), 1, "another sender's key still arrives");
    assert!(relay.metrics().drops(DropReason::PeerControlFlood) > 0);
    assert_eq!(relay.metrics().closes(CloseReason::SlowReceiver), 0);
}

/// Two instances on one hub, each with a participant in room `r`, and a raw connection to the
/// hub for forging bus messages.
struct TwoInstances {
    a: Relay,
    alice: Session,
    forger: LocalBus,
    room: RoomId,
}

async fn two_instances(limits: ConnectionLimits) -> TwoInstances {
    let hub = LocalHub::new();
    let a = relay_with(hub.connect(), limits);
    let b = relay_with(hub.connect(), limits);
    let forger = hub.connect();
    let alice = join_from(&a, ip(1), "alice", "r").await.unwrap();
    let bob = join_from(&b, ip(2), "bob", "r").await.unwrap();
    // Wait until each instance knows the other's participant.
    let alice_rx = alice.receiver();
    eventually_async(|| async { !drain(&alice_rx).await.is_empty() }).await;
    std::mem::forget(bob);
    std::mem::forget(b);
    TwoInstances { a, alice, forger, room: RoomId::new("r").unwrap() }
}

async fn eventually_async<F: std::future::Future<Output = bool>>(mut done: impl FnMut() -> F) {
    for _ in 0..200 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never happened");
}

fn sid(n: u64) -> SessionId {
    SessionId::new(n).unwrap()
}

fn stamped(user: &str, session: u64) -> Bytes {
    stamped_as(PacketType::MEDIA, b"hello".to_vec(), user, session)
}

fn stamped_as(kind: PacketType, data: Vec<u8>, user: &str, session: u64) -> Bytes {
    let packet = PacketWrapper { packet_type: kind.into(), data, ..Default::default() };
    Bytes::from(wire::stamp(&packet.write_to_bytes().unwrap(), user, session).unwrap())
}

#[tokio::test]
async fn forged_bus_packets_are_dropped_and_counted() {
    let t = two_instances(ConnectionLimits::default()).await;
    let rx = t.alice.receiver();
    drain(&rx).await;
    let malformed = || t.a.metrics().bus_malformed.load(Relaxed);
    let before = malformed();
    let probe =
        MediaPacket { media_type: MediaType::RTT.into(), timestamp: 1.0, ..Default::default() };
    let probe = probe.write_to_bytes().unwrap();
    let forged = [
        // The payload names another session than its subject.
        (subject::media(&t.room, sid(77)), stamped("eve", 78)),
        // A user id no client could have.
        (subject::media(&t.room, sid(77)), stamped("eve.>", 77)),
        (subject::media(&t.room, sid(77)), stamped("", 77)),
        // Not an envelope; larger than any packet a relay accepts.
        (subject::media(&t.room, sid(77)), Bytes::from_static(&[0xff, 0xff])),
        (subject::media(&t.room, sid(77)), Bytes::from(vec![0u8; 2_000_000])),
        // A round-trip probe or a health report: relays echo or drop those, never publish them.
        (subject::media(&t.room, sid(77)), stamped_as(PacketType::MEDIA, probe, "eve", 77)),
        (subject::media(&t.room, sid(77)), stamped_as(PacketType::HEALTH, vec![], "eve", 77)),
    ];
    let count = forged.len() as u64;
    for (subject, payload) in forged {
        t.forger.publish(subject, payload).await.unwrap();
    }
    eventually_async(|| async { malformed() == before + count }).await;
    assert!(drain(&rx).await.is_empty(), "nothing forged reaches alice");
    // A well-formed one does.
    t.forger.publish(subject::media(&t.room, sid(77)), stamped("eve", 77)).await.unwrap();
    eventually_async(|| async { !drain(&rx).await.is_empty() }).await;
}

#[tokio::test]
async fn oversized_or_invalid_rosters_are_refused() {
    let t = two_instances(ConnectionLimits::default()).await;
    let rx = t.alice.receiver();
    drain(&rx).await;
    let malformed = || t.a.metrics().bus_malformed.load(Relaxed);
    let before = malformed();
    let peer = |n: u64, user: &str| Peer::new(sid(n), user);
    let huge = Presence::Roster((1..=300).map(|n| peer(1000 + n, "x")).collect());
    let bad_name = Presence::Roster(vec![peer(5, "ok"), peer(6, &"y".repeat(65))]);
    let bad_join = Presence::Joined(peer(9, "a b"));
    for event in [huge, bad_name] {
        t.forger.publish(subject::presence(&t.room, sid(4242)), event.encode()).await.unwrap();
    }
    t.forger.publish(subject::presence(&t.room, sid(9)), bad_join.encode()).await.unwrap();
    eventually_async(|| async { malformed() == before + 3 }).await;
    assert!(drain(&rx).await.is_empty(), "alice hears of nobody");
}

#[tokio::test]
async fn the_bus_cannot_grow_a_room_past_its_size() {
    let t = two_instances(limits(100, 100, 10)).await;
    let rx = t.alice.receiver();
    drain(&rx).await;
    // Two participants are real; a roster claims 50 more.
    let peers = (1..=50).map(|n| Peer::new(sid(5000 + n), &format!("p{n}"))).collect();
    let roster = Presence::Roster(peers).encode();
    t.forger.publish(subject::presence(&t.room, sid(4242)), roster).await.unwrap();
    let refused = || t.a.metrics().bus_refused.load(Relaxed);
    eventually_async(|| async { refused() == 42 }).await;
    let joined = drain(&rx).await.len();
    assert_eq!(joined, 8, "alice hears of the 8 that fit");
    // A forged announcement cannot shadow a session connected here.
    let shadow = Presence::Joined(Peer::new(t.alice.id(), "alice"));
    t.forger.publish(subject::presence(&t.room, t.alice.id()), shadow.encode()).await.unwrap();
    eventually_async(|| async { refused() == 43 }).await;
}

#[tokio::test]
async fn a_flood_of_sync_requests_gets_one_roster_a_second() {
    let t = two_instances(ConnectionLimits::default()).await;
    let published = || t.a.metrics().bus_published.load(Relaxed);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let before = published();
    for n in 0..500 {
        let sync = Presence::Sync.encode();
        t.forger.publish(subject::presence(&t.room, sid(9000 + n)), sync).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // At most one answer (and perhaps one periodic roster) in that time.
    assert!(published() - before <= 2, "{} rosters", published() - before);
}

#[tokio::test]
async fn forged_key_frame_requests_for_made_up_media_types_are_refused() {
    let t = two_instances(ConnectionLimits::default()).await;
    let rx = t.alice.receiver();
    drain(&rx).await;
    let malformed = || t.a.metrics().bus_malformed.load(Relaxed);
    let before = malformed();
    // Each made-up type would have had a request timer of its own: a request per message.
    for media_type in 100..200 {
        let request = Presence::KeyframeRequest(media_type).encode();
        t.forger.publish(subject::presence(&t.room, t.alice.id()), request).await.unwrap();
    }
    eventually_async(|| async { malformed() == before + 100 }).await;
    assert!(drain(&rx).await.is_empty(), "alice is asked for nothing");
    assert_eq!(t.a.metrics().keyframe_requests.load(Relaxed), 0);
}

#[tokio::test]
async fn host_actions_from_the_bus_name_one_valid_user_of_the_subjects_room_only() {
    use videocall_types::protos::server_packet::{HostAction, PresenceEvent, presence_event};
    let t = two_instances(ConnectionLimits::default()).await;
    let rx = t.alice.receiver();
    drain(&rx).await;
    let malformed = || t.a.metrics().bus_malformed.load(Relaxed);
    let before = malformed();
    // Users no API could name (a wildcard, an empty id, a space) are refused and counted.
    for user in ["", "*", "alice bob", "alice.>"] {
        let mut event = PresenceEvent::new();
        event.event = Some(presence_event::Event::Removed(HostAction {
            user_id: user.into(),
            ..Default::default()
        }));
        let payload = Bytes::from(event.write_to_bytes().unwrap());
        t.forger.publish(subject::presence(&t.room, sid(4242)), payload).await.unwrap();
    }
    eventually_async(|| async { malformed() == before + 4 }).await;
    // The end of another meeting, or a removal of someone else, leaves alice in.
    let other = RoomId::new("other").unwrap();
    t.forger.publish(subject::presence(&other, sid(4242)), Presence::Ended.encode()).await.unwrap();
    let bob = Presence::Removed(UserId::new("bob").unwrap()).encode();
    t.forger.publish(subject::presence(&t.room, sid(4242)), bob).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(rx.closed().is_none());
    assert_eq!(t.a.metrics().host_actions.load(Relaxed), 0);
}
