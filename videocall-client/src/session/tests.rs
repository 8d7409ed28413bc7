use protobuf::{Message, MessageField};
use url::Url;
use videocall_types::protos::server_packet::{
    Participant, ServerError, ServerPacket, Welcome, server_packet,
};
use videocall_types::{MediaPacket, MediaType, PacketType, PacketWrapper, RoomId};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::*;
use crate::event::{LeaveReason, PeerKey};
use crate::options::TransportChoice;

const WS: TransportKind = TransportKind::WebSocket;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn sid(n: u64) -> SessionId {
    SessionId::new(n).unwrap()
}

fn options(ext: bool) -> ClientOptions {
    let transport = TransportChoice::WebSocket { url: Url::parse("ws://h").unwrap() };
    let mut options =
        ClientOptions::new(UserId::new("alice").unwrap(), RoomId::new("r1").unwrap(), transport);
    options.ext = ext;
    options
}

fn session_with(options: &ClientOptions) -> (Session, Arc<Counters>) {
    let counters = Arc::new(Counters::default());
    (Session::new(options, counters.clone()).unwrap(), counters)
}

fn session(ext: bool) -> (Session, Arc<Counters>) {
    session_with(&options(ext))
}

fn events(session: &mut Session) -> Vec<Event> {
    std::iter::from_fn(|| session.poll_event()).collect()
}

fn participant(session_id: u64, user: &str) -> Participant {
    Participant { session_id, user_id: user.into(), ..Default::default() }
}

fn server(event: server_packet::Event) -> Vec<u8> {
    let inner = ServerPacket { event: Some(event), ..Default::default() };
    let wrapper = PacketWrapper {
        packet_type: PacketType::SERVER.into(),
        data: inner.write_to_bytes().unwrap(),
        ..Default::default()
    };
    wrapper.write_to_bytes().unwrap()
}

fn welcome(you: u64, others: &[(u64, &str)]) -> Vec<u8> {
    server(server_packet::Event::Welcome(Welcome {
        you: MessageField::some(participant(you, "alice")),
        room_id: "r1".into(),
        participants: others.iter().map(|(s, u)| participant(*s, u)).collect(),
        ..Default::default()
    }))
}

fn video_from(session_id: u64, email: &str) -> PacketWrapper {
    let media = MediaPacket {
        media_type: MediaType::VIDEO.into(),
        frame_type: "key".into(),
        ..Default::default()
    };
    let mut wrapper = packet::media(&UserId::new(email).unwrap(), media).unwrap();
    wrapper.session_id = session_id;
    wrapper
}

fn bytes(wrapper: &PacketWrapper) -> Vec<u8> {
    packet::encode(wrapper).unwrap()
}

fn bob(session_id: u64) -> PeerInfo {
    PeerInfo::anonymous(PeerKey::Session(sid(session_id)), "bob")
}

#[test]
fn welcome_announces_the_connection_then_its_participants() {
    let (mut s, _) = session(true);
    s.handle_connected(WS, ms(0));
    assert!(events(&mut s).is_empty(), "with extensions, Connected waits for the Welcome");

    s.handle_bytes(&welcome(3, &[(7, "bob")]), ms(10)).unwrap();
    assert_eq!(
        events(&mut s),
        vec![
            Event::Connected {
                transport: WS,
                session_id: Some(sid(3)),
                participants: vec![bob(7)]
            },
            Event::PeerJoined(bob(7)),
        ]
    );
}

#[test]
fn stamped_media_becomes_a_packet_event_from_its_session() {
    let (mut s, counters) = session(true);
    s.handle_connected(WS, ms(0));
    s.handle_bytes(&welcome(3, &[(7, "bob")]), ms(0)).unwrap();
    events(&mut s);
    let video = video_from(7, "bob");
    s.handle_bytes(&bytes(&video), ms(5)).unwrap();
    assert_eq!(
        events(&mut s),
        vec![Event::Packet { from: PeerKey::Session(sid(7)), wrapper: video }]
    );
    assert_eq!(counters.snapshot().received, 2);
}

#[test]
fn old_server_without_welcome_is_announced_after_the_wait() {
    let (mut s, _) = session(true);
    s.handle_connected(WS, ms(0));
    assert_eq!(s.poll_timeout(), Some(ms(0)), "first heartbeat is due at once");
    let _ = s.poll_heartbeat(ms(0), MediaFlags::default(), 0.0);
    s.handle_timeout(WELCOME_WAIT - ms(1));
    assert!(events(&mut s).is_empty());
    s.handle_timeout(WELCOME_WAIT);
    assert_eq!(
        events(&mut s),
        vec![Event::Connected { transport: WS, session_id: None, participants: vec![] }]
    );
}

#[test]
fn a_peer_packet_before_any_welcome_announces_the_connection_first() {
    let (mut s, _) = session(true);
    s.handle_connected(WS, ms(0));
    s.handle_bytes(&bytes(&video_from(0, "bob")), ms(1)).unwrap();
    let got = events(&mut s);
    assert!(matches!(got[0], Event::Connected { session_id: None, .. }));
    assert!(matches!(&got[1], Event::PeerJoined(p) if p.key == PeerKey::Email("bob".into())));
    assert!(matches!(&got[2], Event::Packet { from: PeerKey::Email(e), .. } if e == "bob"));
}

#[test]
fn without_extensions_the_connection_is_announced_at_once() {
    let (mut s, _) = session(false);
    s.handle_connected(TransportKind::WebTransport, ms(0));
    assert_eq!(
        events(&mut s),
        vec![Event::Connected {
            transport: TransportKind::WebTransport,
            session_id: None,
            participants: vec![]
        }]
    );
    assert_eq!(s.handle_bytes(&welcome(1, &[]), ms(1)), Err(ParseError::UnexpectedServer));
}

#[test]
fn heartbeats_follow_the_interval_and_carry_the_flags() {
    let (mut s, _) = session(true);
    assert!(
        s.poll_heartbeat(ms(0), MediaFlags::default(), 0.0).is_none(),
        "none while disconnected"
    );
    s.handle_connected(WS, ms(100));
    let flags = MediaFlags { video: true, audio: true, screen: false };
    let first = s.poll_heartbeat(ms(100), flags, 1234.0).unwrap().unwrap();
    assert!(s.poll_heartbeat(ms(600), flags, 0.0).is_none());
    assert!(s.poll_heartbeat(ms(1100), flags, 0.0).is_some());
    // After a 3 s stall only one heartbeat goes out, not three.
    assert!(s.poll_heartbeat(ms(4100), flags, 0.0).is_some());
    assert!(s.poll_heartbeat(ms(4100), flags, 0.0).is_none());

    let wrapper = PacketWrapper::parse_from_bytes(&first).unwrap();
    let media = MediaPacket::parse_from_bytes(&wrapper.data).unwrap();
    assert_eq!(media.media_type.enum_value(), Ok(MediaType::HEARTBEAT));
    assert_eq!(media.timestamp, 1234.0);
    assert!(media.heartbeat_metadata.video_enabled && !media.heartbeat_metadata.screen_enabled);
}

#[test]
fn malformed_bytes_are_counted_and_change_nothing() {
    let (mut s, counters) = session(true);
    s.handle_connected(WS, ms(0));
    assert!(s.handle_bytes(&[0xff, 0xff, 0xff], ms(0)).is_err());
    assert!(events(&mut s).is_empty());
    let stats = counters.snapshot();
    assert_eq!((stats.received, stats.malformed), (1, 1));
}

#[test]
fn server_error_gives_the_disconnect_its_reason_and_invalid_id_is_final() {
    let (mut s, _) = session(true);
    s.handle_connected(WS, ms(0));
    s.handle_bytes(&welcome(3, &[]), ms(0)).unwrap();
    let error =
        ServerError { code: 4011, reason: "invalid user or room id".into(), ..Default::default() };
    s.handle_bytes(&server(server_packet::Event::Error(error)), ms(1)).unwrap();
    // The transport closed without a code of its own.
    let retry = s.handle_disconnected(None, ms(0));
    assert!(!retry);
    let got = events(&mut s);
    assert!(matches!(
        got[1],
        Event::ServerError { reason: Some(CloseReason::InvalidId), code: 4011, .. }
    ));
    assert_eq!(
        got[2],
        Event::Disconnected { reason: Some(CloseReason::InvalidId), will_retry: false }
    );
    assert!(!s.is_connected());
}

#[test]
fn going_away_is_retried_unless_reconnect_is_off() {
    let (mut s, _) = session(true);
    s.handle_connected(WS, ms(0));
    assert!(s.handle_disconnected(Some(1001), ms(0)));
    let got = events(&mut s);
    assert_eq!(
        got[0],
        Event::Disconnected { reason: Some(CloseReason::GoingAway), will_retry: true }
    );
    assert!(matches!(got[1], Event::Reconnecting { attempt: 1, .. }));

    let (mut s, _) = session_with(&ClientOptions { reconnect: false, ..options(true) });
    s.handle_connected(WS, ms(0));
    assert!(!s.handle_disconnected(Some(1001), ms(0)));
    assert_eq!(
        events(&mut s),
        vec![Event::Disconnected { reason: Some(CloseReason::GoingAway), will_retry: false }]
    );
    assert_eq!(s.poll_dial(ms(10_000)), Dial::Stop);
}

#[test]
fn keyframe_requests_joins_leaves_and_mute_requests_reach_the_application() {
    let (mut s, _) = session(true);
    s.handle_connected(WS, ms(0));
    s.handle_bytes(&welcome(3, &[]), ms(0)).unwrap();
    events(&mut s);
    let request = videocall_types::protos::server_packet::KeyframeRequest {
        media_type: MediaType::VIDEO.into(),
        ..Default::default()
    };
    s.handle_bytes(&server(server_packet::Event::KeyframeRequest(request)), ms(1)).unwrap();
    s.handle_bytes(&server(server_packet::Event::Joined(participant(9, "bob"))), ms(2)).unwrap();
    s.handle_bytes(&server(server_packet::Event::Left(participant(9, "bob"))), ms(3)).unwrap();
    let mute = videocall_types::protos::server_packet::MuteRequest {
        media_type: MediaType::AUDIO.into(),
        ..Default::default()
    };
    s.handle_bytes(&server(server_packet::Event::MuteRequest(mute)), ms(4)).unwrap();
    assert_eq!(
        events(&mut s),
        vec![
            Event::KeyframeRequested(MediaType::VIDEO),
            Event::PeerJoined(bob(9)),
            Event::PeerLeft { peer: bob(9), reason: LeaveReason::Left },
            Event::MuteRequested(MediaType::AUDIO),
        ]
    );
}

#[test]
fn silent_peers_time_out_even_while_disconnected() {
    // Without reconnects no retry is scheduled: what remains is the sweep.
    let (mut s, _) = session_with(&ClientOptions { reconnect: false, ..options(false) });
    s.handle_connected(WS, ms(0));
    s.handle_bytes(&bytes(&video_from(0, "bob")), ms(0)).unwrap();
    s.handle_disconnected(None, ms(0));
    events(&mut s);
    assert!(s.poll_timeout().is_some(), "the sweep stays scheduled while peers remain");
    s.handle_timeout(ms(4000));
    assert!(events(&mut s).is_empty());
    s.handle_timeout(ms(5000));
    let got = events(&mut s);
    assert!(matches!(&got[..], [Event::PeerLeft { reason: LeaveReason::TimedOut, .. }]));
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn plaintext_heartbeats_update_flags_and_are_not_delivered_as_packets() {
    let (mut s, _) = session(false);
    s.handle_connected(WS, ms(0));
    events(&mut s);
    let flags = MediaFlags { audio: true, ..Default::default() };
    let mut hb = packet::heartbeat(&UserId::new("bob").unwrap(), flags, 0.0).unwrap();
    hb.session_id = 4;
    s.handle_bytes(&bytes(&hb), ms(0)).unwrap();
    assert_eq!(
        events(&mut s),
        vec![Event::PeerJoined(bob(4)), Event::PeerFlags { peer: PeerKey::Session(sid(4)), flags }]
    );
}

#[test]
fn webtransport_packets_that_overtake_the_welcome_wait_for_it() {
    let (mut s, _) = session(true);
    s.handle_connected(TransportKind::WebTransport, ms(0));
    let video = video_from(7, "bob");
    s.handle_bytes(&bytes(&video), ms(1)).unwrap();
    assert!(events(&mut s).is_empty(), "held until the Welcome");

    s.handle_bytes(&welcome(3, &[(7, "bob")]), ms(2)).unwrap();
    assert_eq!(
        events(&mut s),
        vec![
            Event::Connected {
                transport: TransportKind::WebTransport,
                session_id: Some(sid(3)),
                participants: vec![bob(7)]
            },
            Event::PeerJoined(bob(7)),
            Event::Packet { from: PeerKey::Session(sid(7)), wrapper: video },
        ]
    );
}

#[test]
fn old_webtransport_server_gets_its_early_packets_after_the_wait() {
    let (mut s, counters) = session(true);
    s.handle_connected(TransportKind::WebTransport, ms(0));
    for _ in 0..EARLY_LIMIT + 3 {
        s.handle_bytes(&bytes(&video_from(0, "bob")), ms(1)).unwrap();
    }
    assert_eq!(counters.snapshot().dropped_inbound, 3, "the hold is bounded");
    s.handle_timeout(WELCOME_WAIT);
    let got = events(&mut s);
    assert!(matches!(got[0], Event::Connected { session_id: None, .. }));
    assert!(matches!(got[1], Event::PeerJoined(_)));
    assert_eq!(got.len(), 2 + EARLY_LIMIT);
}

#[test]
fn websocket_takes_a_first_non_welcome_packet_as_an_old_server() {
    let (mut s, _) = session(true);
    s.handle_connected(WS, ms(0));
    s.handle_bytes(&bytes(&video_from(0, "bob")), ms(1)).unwrap();
    assert!(matches!(events(&mut s)[0], Event::Connected { session_id: None, .. }));
}

mod limits;
