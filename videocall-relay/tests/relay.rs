//! The relay's behaviour without sockets: sessions driven directly, buses in-process.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Out, next};
use protobuf::{Message, MessageField};
use videocall_relay::bus::{LocalBus, LocalHub};
use videocall_relay::connection::{Incoming, Watch, read};
use videocall_relay::outbox::DropReason;
use videocall_relay::{HostAction, Identity, JoinError, Receiver, Relay, RelayConfig, Session};
use videocall_types::protos::media_packet::VideoMetadata;
use videocall_types::protos::server_packet::server_packet::Event;
use videocall_types::{
    CloseReason, DisplayName, MediaPacket, MediaType, PacketType, PacketWrapper, RoomId,
    RoutingHeader, ServerPacket, UserId,
};

fn relay_on(bus: LocalBus, config: RelayConfig) -> Relay {
    let (relay, driver) = Relay::new(Arc::new(bus), config);
    tokio::spawn(driver.run());
    relay
}

/// The defaults, but with room for crowds from one address (every test client is local).
fn config() -> RelayConfig {
    let mut config = RelayConfig::default();
    config.connections.max_per_ip = config.connections.max_connections;
    config
}

fn relay() -> Relay {
    relay_on(LocalBus::standalone(), config())
}

const LOOPBACK: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

async fn try_join(relay: &Relay, user: &str, room: &str, ext: bool) -> Result<Session, JoinError> {
    let permit = relay.admit(LOOPBACK).unwrap();
    relay.join(permit, UserId::new(user).unwrap(), RoomId::new(room).unwrap(), ext).await
}

async fn join(relay: &Relay, user: &str, room: &str, ext: bool) -> Session {
    try_join(relay, user, room, ext).await.unwrap()
}

fn media(kind: MediaType, key: bool, seq: u64, claimed_email: &str) -> Vec<u8> {
    let inner = MediaPacket {
        media_type: kind.into(),
        frame_type: if key { "key" } else { "delta" }.into(),
        data: vec![1; 64],
        video_metadata: MessageField::some(VideoMetadata { sequence: seq, ..Default::default() }),
        ..Default::default()
    };
    let route = RoutingHeader {
        media_type: kind.into(),
        keyframe: key,
        sequence: seq,
        ..Default::default()
    };
    PacketWrapper {
        packet_type: PacketType::MEDIA.into(),
        email: claimed_email.into(),
        data: inner.write_to_bytes().unwrap(),
        session_id: 424242,
        route: MessageField::some(route),
        ..Default::default()
    }
    .write_to_bytes()
    .unwrap()
}

fn audio(seq: u64) -> Vec<u8> {
    media(MediaType::AUDIO, true, seq, "")
}

/// Everything queued for `rx` right now (without waiting).
async fn drain(rx: &Receiver) -> Vec<Out> {
    let mut out = Vec::new();
    while let Ok(next) = tokio::time::timeout(Duration::from_millis(20), next(rx)).await {
        let closed = matches!(next, Out::Close(_));
        out.push(next);
        if closed {
            break;
        }
    }
    out
}

fn wrappers(out: &[Out]) -> Vec<PacketWrapper> {
    out.iter()
        .filter_map(|o| match o {
            Out::Packet(p) => Some(PacketWrapper::parse_from_bytes(p).unwrap()),
            Out::Close(_) => None,
        })
        .collect()
}

fn server_events(out: &[Out]) -> Vec<Event> {
    wrappers(out)
        .into_iter()
        .filter(|w| w.packet_type.enum_value() == Ok(PacketType::SERVER))
        .filter_map(|w| ServerPacket::parse_from_bytes(&w.data).unwrap().event)
        .collect()
}

fn media_only(out: &[Out]) -> Vec<PacketWrapper> {
    wrappers(out)
        .into_iter()
        .filter(|w| w.packet_type.enum_value() == Ok(PacketType::MEDIA))
        .collect()
}

#[tokio::test]
async fn fan_out_reaches_everyone_in_the_room_but_the_sender() {
    let relay = relay();
    let mut alice = join(&relay, "alice", "r1", false).await;
    let bob = join(&relay, "bob", "r1", false).await;
    let carol = join(&relay, "carol", "r1", false).await;
    let dave = join(&relay, "dave", "other", false).await;
    alice.handle_packet(&audio(1)).unwrap();
    assert_eq!(media_only(&drain(&bob.receiver()).await).len(), 1);
    assert_eq!(media_only(&drain(&carol.receiver()).await).len(), 1);
    assert!(drain(&alice.receiver()).await.is_empty(), "the sender gets nothing back");
    assert!(drain(&dave.receiver()).await.is_empty(), "another room gets nothing");
}

#[tokio::test]
async fn identity_is_stamped_over_what_the_client_claims() {
    let relay = relay();
    let mut mallory = join(&relay, "mallory", "r1", false).await;
    let bob = join(&relay, "bob", "r1", false).await;
    mallory.handle_packet(&media(MediaType::AUDIO, true, 1, "alice")).unwrap();
    let got = media_only(&drain(&bob.receiver()).await);
    assert_eq!(got[0].email, "mallory");
    assert_eq!(got[0].session_id, mallory.id().get());
    assert_ne!(got[0].session_id, 424242);
}

#[tokio::test]
async fn two_connections_of_one_user_are_two_participants() {
    let relay = relay();
    let mut tab1 = join(&relay, "alice", "r1", true).await;
    let tab2 = join(&relay, "alice", "r1", true).await;
    assert_ne!(tab1.id(), tab2.id());
    let rx2 = tab2.receiver();
    drain(&rx2).await;
    tab1.handle_packet(&audio(1)).unwrap();
    let got = media_only(&drain(&rx2).await);
    assert_eq!((got[0].email.as_str(), got[0].session_id), ("alice", tab1.id().get()));
}

#[tokio::test]
async fn extended_clients_are_welcomed_and_told_who_joins_and_leaves() {
    let relay = relay();
    let alice = join(&relay, "alice", "r1", true).await;
    let alice_rx = alice.receiver();
    let Event::Welcome(welcome) = &server_events(&drain(&alice_rx).await)[0] else {
        panic!("no welcome")
    };
    assert_eq!((welcome.you.user_id.as_str(), welcome.room_id.as_str()), ("alice", "r1"));
    assert!(welcome.participants.is_empty());

    let bob = join(&relay, "bob", "r1", true).await;
    let Event::Welcome(welcome) = &server_events(&drain(&bob.receiver()).await)[0] else {
        panic!()
    };
    assert_eq!(welcome.participants[0].user_id, "alice");
    assert_eq!(welcome.participants[0].session_id, alice.id().get());
    let Event::Joined(joined) = &server_events(&drain(&alice_rx).await)[0] else { panic!() };
    assert_eq!((joined.user_id.as_str(), joined.session_id), ("bob", bob.id().get()));

    let bob_id = bob.id();
    drop(bob);
    let Event::Left(left) = &server_events(&drain(&alice_rx).await)[0] else { panic!() };
    assert_eq!(left.session_id, bob_id.get());
}

fn named(user: &str, name: &str, host: bool, publish: bool) -> Identity {
    Identity {
        user: UserId::new(user).unwrap(),
        name: DisplayName::new(name).unwrap(),
        host,
        publish,
    }
}

async fn join_as(relay: &Relay, who: Identity, room: &str) -> Session {
    let permit = relay.admit(LOOPBACK).unwrap();
    relay.join(permit, who, RoomId::new(room).unwrap(), true).await.unwrap()
}

#[tokio::test]
async fn participants_are_announced_with_their_display_name_and_role_on_every_instance() {
    let hub = LocalHub::new();
    let (a, b) = (relay_on(hub.connect(), config()), relay_on(hub.connect(), config()));
    let host = join_as(&a, named("ana", "Ana Núñez 🎙", true, true), "r1").await;
    let host_rx = host.receiver();
    let Event::Welcome(welcome) = &server_events(&drain(&host_rx).await)[0] else { panic!() };
    assert_eq!((welcome.you.display_name.as_str(), welcome.you.host), ("Ana Núñez 🎙", true));
    let guest = join(&a, "bob", "r1", true).await;
    let Event::Welcome(welcome) = &server_events(&drain(&guest.receiver()).await)[0] else {
        panic!()
    };
    assert_eq!(welcome.participants[0].display_name, "Ana Núñez 🎙");
    assert!(welcome.participants[0].host);
    // A guest known by id alone is named after it.
    let Event::Joined(joined) = &server_events(&drain(&host_rx).await)[0] else { panic!() };
    assert_eq!((joined.display_name.as_str(), joined.host), ("bob", false));
    // Another instance learns the name and role through the bus.
    let far = join(&b, "cy", "r1", true).await;
    let far_rx = far.receiver();
    let mut seen = Vec::new();
    for _ in 0..50 {
        seen.extend(server_events(&drain(&far_rx).await).into_iter().filter_map(|e| match e {
            Event::Joined(p) => Some((p.display_name, p.host)),
            _ => None,
        }));
        if seen.len() == 2 {
            break;
        }
    }
    seen.sort();
    assert_eq!(seen, [("Ana Núñez 🎙".to_owned(), true), ("bob".to_owned(), false)]);
}

#[tokio::test]
async fn a_receive_only_participant_sends_heartbeats_and_keys_but_no_media() {
    let relay = relay();
    let mut viewer = join_as(&relay, named("zoe", "Zoë", false, false), "r1").await;
    let mut ann = join(&relay, "ann", "r1", true).await;
    let (ann_rx, viewer_rx) = (ann.receiver(), viewer.receiver());
    drain(&ann_rx).await;
    drain(&viewer_rx).await;
    // It receives everything.
    ann.handle_packet(&audio(1)).unwrap();
    assert_eq!(media_only(&drain(&viewer_rx).await).len(), 1);
    // What it sends of media is dropped and counted, without closing it.
    for kind in [MediaType::VIDEO, MediaType::AUDIO, MediaType::SCREEN] {
        viewer.handle_packet(&media(kind, true, 1, "")).unwrap();
    }
    viewer.handle_packet(&media(MediaType::HEARTBEAT, false, 2, "")).unwrap();
    let key = PacketWrapper {
        packet_type: PacketType::RSA_PUB_KEY.into(),
        data: vec![7; 32],
        ..Default::default()
    };
    viewer.handle_packet(&key.write_to_bytes().unwrap()).unwrap();
    // (Key exchange goes ahead of media in the receiver's queue.)
    let got = wrappers(&drain(&ann_rx).await);
    let kinds: Vec<_> = got.iter().map(|w| w.packet_type.enum_value().unwrap()).collect();
    assert_eq!(kinds, [PacketType::RSA_PUB_KEY, PacketType::MEDIA]);
    assert_eq!(got[1].route.media_type.enum_value(), Ok(MediaType::HEARTBEAT));
    assert_eq!(relay.metrics().media_withheld.load(std::sync::atomic::Ordering::Relaxed), 3);
}

#[tokio::test]
async fn a_join_storm_bigger_than_the_control_lane_disconnects_no_one() {
    let relay = relay();
    let first = join(&relay, "first", "storm", true).await;
    // More joins than the control lane holds, and some of them leave again, before `first`
    // reads anything.
    let lane = relay.config().outbox.control_packets;
    let mut crowd = Vec::new();
    for n in 0..lane + 100 {
        crowd.push(join(&relay, &format!("u{n}"), "storm", true).await);
    }
    let gone: Vec<u64> = crowd.drain(..50).map(|s| s.id().get()).collect();
    let events = server_events(&drain(&first.receiver()).await);
    assert!(matches!(events[0], Event::Welcome(_)));
    let joined: Vec<u64> = events[1..]
        .iter()
        .map(|e| match e {
            Event::Joined(p) => p.session_id,
            other => panic!("{other:?}"),
        })
        .collect();
    // Told of everyone still here, in join order; of the ones who came and went, nothing.
    assert_eq!(joined, crowd.iter().map(|s| s.id().get()).collect::<Vec<_>>());
    assert!(gone.iter().all(|g| !joined.contains(g)));
    assert_eq!(relay.metrics().closes(CloseReason::SlowReceiver), 0);
}

#[tokio::test]
async fn plain_clients_never_get_server_packets() {
    let relay = relay();
    let old = join(&relay, "old", "r1", false).await;
    let _new = join(&relay, "new", "r1", true).await;
    assert!(drain(&old.receiver()).await.is_empty());
}

#[tokio::test]
async fn a_late_joiner_gets_video_from_the_next_keyframe_and_the_sender_is_asked_for_one() {
    let relay = relay();
    let mut alice = join(&relay, "alice", "r1", true).await;
    let alice_rx = alice.receiver();
    let bob = join(&relay, "bob", "r1", false).await;
    drain(&alice_rx).await;
    for seq in 1..=3 {
        alice.handle_packet(&media(MediaType::VIDEO, false, seq, "")).unwrap();
    }
    let events = server_events(&drain(&alice_rx).await);
    assert_eq!(events.len(), 1, "one request, not one per frame: {events:?}");
    let Event::KeyframeRequest(request) = &events[0] else { panic!() };
    assert_eq!(request.media_type.enum_value(), Ok(MediaType::VIDEO));
    alice.handle_packet(&media(MediaType::VIDEO, true, 4, "")).unwrap();
    alice.handle_packet(&media(MediaType::VIDEO, false, 5, "")).unwrap();
    let seqs: Vec<u64> = media_only(&drain(&bob.receiver()).await)
        .iter()
        .map(|w| MediaPacket::parse_from_bytes(&w.data).unwrap().video_metadata.sequence)
        .collect();
    assert_eq!(seqs, [4, 5]);
    assert_eq!(relay.metrics().drops(DropReason::VideoUntilKeyframe), 3);
    assert_eq!(relay.metrics().keyframe_requests.load(std::sync::atomic::Ordering::Relaxed), 1);
}

#[tokio::test]
async fn bad_packets_are_refused_with_a_reason_and_counted() {
    let config = RelayConfig { max_packet_bytes: 1000, ..config() };
    let relay = relay_on(LocalBus::standalone(), config);
    let bob = join(&relay, "bob", "r1", false).await;
    let cases: [(Vec<u8>, CloseReason); 4] = [
        (vec![0x0b, 0x01], CloseReason::Malformed),
        (vec![0x08, 0x63], CloseReason::Unsupported), // packet_type 99
        (vec![0x08, 0xe8, 0x07], CloseReason::Unsupported), // SERVER (1000): only servers send it
        (vec![0u8; 1001], CloseReason::TooLarge),
    ];
    for (packet, reason) in cases {
        let mut mallory = join(&relay, "mallory", "r1", false).await;
        assert_eq!(mallory.handle_packet(&packet), Err(reason));
    }
    assert_eq!(relay.metrics().closes(CloseReason::Malformed), 1);
    assert_eq!(relay.metrics().closes(CloseReason::Unsupported), 2);
    assert_eq!(relay.metrics().closes(CloseReason::TooLarge), 1);
    assert!(drain(&bob.receiver()).await.is_empty(), "nothing bad was relayed");
}

#[tokio::test(start_paused = true)]
async fn a_flood_is_cut_off_by_the_rate_limit() {
    let relay = relay();
    let mut flooder = join(&relay, "flood", "r1", false).await;
    let packet = audio(1);
    let limit = RelayConfig::default().rate;
    let burst = (limit.packets_per_sec * limit.burst_secs) as usize;
    let refused = (0..burst + 10).position(|_| flooder.handle_packet(&packet).is_err());
    assert_eq!(refused, Some(burst));
    drop(flooder);
    assert_eq!(relay.metrics().closes(CloseReason::RateLimited), 1);
}

#[tokio::test(start_paused = true)]
async fn a_receiver_that_stops_reading_is_dropped_without_hurting_the_others() {
    let relay = relay();
    let mut alice = join(&relay, "alice", "r1", false).await;
    let stalled = join(&relay, "stalled", "r1", false).await;
    let bob = join(&relay, "bob", "r1", false).await;
    let bob_rx = bob.receiver();
    let limits = RelayConfig::default().outbox;
    let mut delivered = 0;
    // 20 s of audio at 50 packets/s; bob reads, `stalled` never does.
    for seq in 0..1000 {
        alice.handle_packet(&audio(seq)).unwrap();
        while let Ok(Out::Packet(_)) = tokio::time::timeout(Duration::ZERO, next(&bob_rx)).await {
            delivered += 1;
        }
        tokio::time::advance(Duration::from_millis(20)).await;
    }
    assert_eq!(delivered, 1000, "bob got every packet");
    // It was cut off once it had taken nothing for the stall timeout, holding at most one
    // lane's worth of packets until then.
    let stalled_out = drain(&stalled.receiver()).await;
    assert_eq!(stalled_out, [Out::Close(CloseReason::SlowReceiver)]);
    drop(stalled);
    assert_eq!(relay.metrics().closes(CloseReason::SlowReceiver), 1);
    let stall_packets = limits.stall_timeout.as_millis() / 20;
    assert!(stall_packets < limits.lossy_packets as u128, "the test must not depend on drops");
}

#[tokio::test]
async fn two_instances_share_a_room_through_the_bus() {
    let hub = LocalHub::new();
    let a = relay_on(hub.connect(), config());
    let b = relay_on(hub.connect(), config());
    let mut alice = join(&a, "alice", "r1", true).await;
    let bob = join(&b, "bob", "r1", true).await;
    let bob_rx = bob.receiver();
    // b asked who is in the room; a answered with alice.
    let mut joined = None;
    for _ in 0..50 {
        if let Some(Event::Joined(p)) =
            server_events(&drain(&bob_rx).await).into_iter().find(|e| matches!(e, Event::Joined(_)))
        {
            joined = Some(p);
            break;
        }
    }
    assert_eq!(joined.map(|p| p.session_id), Some(alice.id().get()));
    alice.handle_packet(&media(MediaType::AUDIO, true, 1, "eve")).unwrap();
    let got = media_only(&drain(&bob_rx).await);
    assert_eq!((got[0].email.as_str(), got[0].session_id), ("alice", alice.id().get()));
    // A video drop on b asks alice, on a, for a key frame.
    let alice_rx = alice.receiver();
    drain(&alice_rx).await;
    alice.handle_packet(&media(MediaType::VIDEO, false, 2, "")).unwrap();
    let events = server_events(&drain(&alice_rx).await);
    assert!(matches!(events.as_slice(), [Event::KeyframeRequest(_)]), "{events:?}");
}

#[tokio::test(start_paused = true)]
async fn instances_keep_a_big_room_alive_with_rosters_not_a_message_per_session() {
    use futures::StreamExt;
    use videocall_relay::bus::Bus;

    let hub = LocalHub::new();
    let a = relay_on(hub.connect(), config());
    let b = relay_on(hub.connect(), config());
    let mut crowd = Vec::new();
    for n in 0..300 {
        crowd.push(join(&a, &format!("listener{n}"), "big", false).await);
    }
    let observer = hub.connect();
    let mut bus = observer.subscribe("room.big.>".into()).await.unwrap();
    // b starts serving the room and asks who is there; a answers in two rosters (256 + 44).
    let bob = join(&b, "bob", "big", true).await;
    let bob_rx = bob.receiver();
    let mut known = std::collections::HashSet::new();
    for _ in 0..50 {
        for event in server_events(&drain(&bob_rx).await) {
            match event {
                Event::Joined(p) => assert!(known.insert(p.session_id), "told twice"),
                Event::Left(p) => panic!("{} reported gone", p.user_id),
                _ => {}
            }
        }
        if known.len() == crowd.len() {
            break;
        }
    }
    assert_eq!(known.len(), crowd.len());
    // The crowd's own join announcements and the answer to the sync are behind us.
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(1), bus.next()).await {}
    // 30 s later, twice the 15 s a silent remote session lasts: no one was reported gone, and
    // that took a few rosters per 5 s interval, not 300 announcements.
    let mut control_messages = 0;
    let mut window = tokio::time::interval(Duration::from_millis(500));
    let start = tokio::time::Instant::now();
    for _ in 0..60 {
        window.tick().await;
        while let Ok(Some(message)) =
            tokio::time::timeout(Duration::from_millis(1), bus.next()).await
        {
            control_messages += usize::from(message.subject.ends_with(".ctl"));
        }
        for event in server_events(&drain(&bob_rx).await) {
            assert!(!matches!(event, Event::Left(_)), "{event:?}");
        }
    }
    // Per interval: a's two rosters and b's one.
    let intervals = start.elapsed().as_secs() / 5 + 1;
    assert!(control_messages as u64 <= 3 * intervals, "{control_messages} presence messages");
    assert_eq!(b.metrics().bus_malformed.load(std::sync::atomic::Ordering::Relaxed), 0);
}

#[tokio::test]
async fn shutdown_tells_every_session_to_go_away_and_refuses_new_ones() {
    let relay = relay();
    let alice = join(&relay, "alice", "r1", false).await;
    relay.shutdown();
    assert_eq!(next(&alice.receiver()).await, Out::Close(CloseReason::GoingAway));
    assert!(try_join(&relay, "late", "r1", false).await.is_err());
    assert!(!relay.is_ready());
}

/// Client input that never ends: a keep-alive every second.
fn alive_every_second() -> impl futures::Stream<Item = Incoming> + Unpin {
    Box::pin(futures::stream::unfold((), |()| async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        Some((Incoming::Alive, ()))
    }))
}

#[tokio::test(start_paused = true)]
async fn a_writer_that_stopped_is_noticed_by_the_reader_even_in_a_quiet_room() {
    let relay = relay();
    let mut alice = join(&relay, "alice", "r1", false).await;
    let mut bob = join(&relay, "bob", "r1", false).await;
    // Bob's writer (owned by someone else, e.g. the HTTP server) never takes the one packet;
    // no further packet comes whose push would notice.
    alice.handle_packet(&audio(1)).unwrap();
    let start = tokio::time::Instant::now();
    let mut input = alive_every_second();
    let reason = read(&mut bob, &mut input, Duration::from_secs(60), Watch::Writer).await;
    assert_eq!(reason, CloseReason::SlowReceiver);
    let stall = RelayConfig::default().outbox.stall_timeout;
    let took = start.elapsed();
    assert!(took > stall && took <= stall + stall / 4 + Duration::from_millis(1), "{took:?}");
}

#[tokio::test(start_paused = true)]
async fn the_reader_ends_when_the_relay_closes_the_session_or_the_client_goes_quiet() {
    let relay = relay();
    let mut alice = join(&relay, "alice", "r1", false).await;
    let mut input = alive_every_second();
    let reading = read(&mut alice, &mut input, Duration::from_secs(60), Watch::Writer);
    let shutdown = async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        relay.shutdown();
        std::future::pending::<()>().await;
    };
    let reason = tokio::select! { reason = reading => reason, () = shutdown => unreachable!() };
    assert_eq!(reason, CloseReason::GoingAway);

    // A client that sends nothing is closed after the idle timeout, and not long after it.
    let relay = self::relay();
    let mut bob = join(&relay, "bob", "r1", false).await;
    let start = tokio::time::Instant::now();
    let mut silent = futures::stream::pending::<Incoming>();
    let idle = Duration::from_secs(8);
    assert_eq!(read(&mut bob, &mut silent, idle, Watch::Reader).await, CloseReason::Timeout);
    let took = start.elapsed();
    assert!(took >= idle && took <= idle + idle / 4 + Duration::from_millis(1), "{took:?}");
}

/// The SERVER event of a packet, if it is one.
fn server_event(packet: &[u8]) -> Option<Event> {
    let wrapper = PacketWrapper::parse_from_bytes(packet).ok()?;
    (wrapper.packet_type.enum_value() == Ok(PacketType::SERVER))
        .then(|| ServerPacket::parse_from_bytes(&wrapper.data).ok()?.event)
        .flatten()
}

/// Everything a session's writer gets within 50 ms of quiet.
async fn outputs(rx: &Receiver) -> Vec<common::Out> {
    let mut out = Vec::new();
    while let Ok(next) = tokio::time::timeout(Duration::from_millis(50), next(rx)).await {
        let closed = matches!(next, Out::Close(_));
        out.push(next);
        if closed {
            break;
        }
    }
    out
}

#[tokio::test]
async fn host_actions_reach_the_users_sessions_on_every_instance_and_nobody_else() {
    let hub = LocalHub::new();
    let a = relay_on(hub.connect(), config());
    let b = relay_on(hub.connect(), config());
    let eve_here = join(&a, "eve", "board", true).await;
    let alice = join(&a, "alice", "board", true).await;
    let eve_there = join(&b, "eve", "board", false).await;
    let bob = join(&b, "bob", "board", true).await;
    let eve_elsewhere = join(&b, "eve", "other", true).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    for session in [&eve_here, &alice, &eve_there, &bob, &eve_elsewhere] {
        outputs(&session.receiver()).await;
    }
    let board = RoomId::new("board").unwrap();

    // Asked on A, where B holds bob: one mute request reaches bob, nothing else happens.
    let reached = a.host_action(&board, HostAction::AskToMute(UserId::new("bob").unwrap())).await;
    assert_eq!(reached.unwrap(), 0, "bob is not on A");
    let got = outputs(&bob.receiver()).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let Out::Packet(packet) = &got[0] else { panic!("{got:?}") };
    let Some(Event::MuteRequest(request)) = server_event(packet) else { panic!("{got:?}") };
    assert_eq!(request.media_type.enum_value(), Ok(MediaType::AUDIO));

    // Removed on A: eve's sessions in this meeting close on both instances, not elsewhere.
    let reached = a.host_action(&board, HostAction::Remove(UserId::new("eve").unwrap())).await;
    assert_eq!(reached.unwrap(), 1);
    assert_eq!(next(&eve_here.receiver()).await, Out::Close(CloseReason::Removed));
    assert_eq!(next(&eve_there.receiver()).await, Out::Close(CloseReason::Removed));
    let last_words = eve_here.receiver().last_words(CloseReason::Removed).unwrap();
    let Some(Event::Error(error)) = server_event(&last_words) else { panic!("no last words") };
    assert_eq!(error.code, 4014);
    assert!(outputs(&eve_elsewhere.receiver()).await.is_empty());
    assert!(alice.receiver().closed().is_none() && bob.receiver().closed().is_none());

    // Ended on B: everyone in the meeting, on both instances.
    drop((eve_here, eve_there));
    b.host_action(&board, HostAction::End).await.unwrap();
    for session in [&alice, &bob] {
        // Perhaps after the notices of eve leaving.
        let closed = outputs(&session.receiver()).await;
        assert_eq!(closed.last(), Some(&Out::Close(CloseReason::MeetingEnded)), "{closed:?}");
    }
    assert!(eve_elsewhere.receiver().closed().is_none());
    assert_eq!(a.metrics().host_actions.load(std::sync::atomic::Ordering::Relaxed), 2);
}
