//! The session against hostile or unlucky circumstances: key frame request floods, reconnects
//! after a drain, and more peers than the cap.

use videocall_types::protos::diagnostics_packet::DiagnosticsPacket;
use videocall_types::protos::server_packet::KeyframeRequest;
// Explicit, so it wins over the `test` the glob below brings from the parent module.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::*;

/// A DIAGNOSTICS packet from `bob` (session 2) about the stream of session `about`.
fn keyframe_request_from_bob(about: u64) -> Vec<u8> {
    let report = DiagnosticsPacket {
        sender_id: "alice".into(),
        sender_session: about,
        media_type: MediaType::VIDEO.into(),
        keyframe_request: true,
        ..Default::default()
    };
    let mut wrapper = packet::diagnostics(&UserId::new("bob").unwrap(), &report).unwrap();
    wrapper.session_id = 2;
    bytes(&wrapper)
}

fn server_keyframe_request() -> Vec<u8> {
    let request = KeyframeRequest { media_type: MediaType::VIDEO.into(), ..Default::default() };
    server(server_packet::Event::KeyframeRequest(request))
}

/// A connected session (us: session 1) with bob (session 2) in the room.
fn connected() -> (Session, Arc<Counters>) {
    let (mut s, counters) = session(true);
    s.handle_connected(WS, ms(0));
    s.handle_bytes(&welcome(1, &[(2, "bob")]), ms(0)).unwrap();
    events(&mut s);
    (s, counters)
}

fn keyframes(events: &[Event]) -> usize {
    events.iter().filter(|e| matches!(e, Event::KeyframeRequested(_))).count()
}

/// Runs the session's timers up to `now`, as a driver does (heartbeats included: their
/// deadline only moves when one is taken).
fn run_until(s: &mut Session, now: Duration) {
    while let Some(at) = s.poll_timeout().filter(|at| *at <= now) {
        s.handle_timeout(at);
        let _ = s.poll_heartbeat(at, MediaFlags::default(), 0.0);
    }
}

#[test]
fn a_receiver_flooding_key_frame_requests_gets_at_most_two_a_second() {
    let (mut s, counters) = connected();
    let mut got = Vec::new();
    for t in (0..1000).step_by(10) {
        run_until(&mut s, ms(t));
        s.handle_bytes(&keyframe_request_from_bob(1), ms(t)).unwrap();
        got.extend(events(&mut s));
    }
    run_until(&mut s, ms(1000));
    got.extend(events(&mut s));
    // At 0 ms, then at 500 ms and 1000 ms for the requests in between: never more.
    assert_eq!(keyframes(&got), 3, "{got:?}");
    assert_eq!(counters.snapshot().limited_keyframe_requests, 99);
    let packets = got.iter().filter(|e| matches!(e, Event::Packet { .. })).count();
    assert_eq!(packets, 100, "the reports themselves still reach the application");
}

#[test]
fn server_and_receiver_requests_share_one_limit_and_none_is_lost() {
    let (mut s, counters) = connected();
    s.handle_bytes(&server_keyframe_request(), ms(0)).unwrap();
    assert_eq!(keyframes(&events(&mut s)), 1);
    s.handle_bytes(&keyframe_request_from_bob(1), ms(100)).unwrap();
    s.handle_bytes(&server_keyframe_request(), ms(200)).unwrap();
    assert_eq!(keyframes(&events(&mut s)), 0, "too soon after the last key frame");
    s.handle_timeout(ms(499));
    assert_eq!(keyframes(&events(&mut s)), 0);
    s.handle_timeout(ms(500));
    assert_eq!(events(&mut s), vec![Event::KeyframeRequested(MediaType::VIDEO)]);
    assert_eq!(counters.snapshot().limited_keyframe_requests, 2);
}

#[test]
fn a_report_about_someone_else_asks_this_client_for_nothing() {
    let (mut s, counters) = connected();
    s.handle_bytes(&keyframe_request_from_bob(3), ms(0)).unwrap();
    assert_eq!(keyframes(&events(&mut s)), 0);
    assert_eq!(counters.snapshot().limited_keyframe_requests, 0);
}

/// A session of user `user` that was connected for a minute and then closed with `code`.
fn closed_after_a_minute(user: &str, code: Option<u32>) -> Session {
    let transport = TransportChoice::WebSocket { url: Url::parse("ws://h").unwrap() };
    let options =
        ClientOptions::new(UserId::new(user).unwrap(), RoomId::new("r1").unwrap(), transport);
    let mut s = Session::new(&options, Arc::new(Counters::default())).unwrap();
    s.handle_connected(WS, ms(0));
    s.handle_disconnected(code, ms(60_000));
    s
}

/// The delay of the `Reconnecting` event the session queued.
fn retry_delay(s: &mut Session) -> Duration {
    events(s)
        .into_iter()
        .find_map(|e| match e {
            Event::Reconnecting { delay, .. } => Some(delay),
            _ => None,
        })
        .expect("a Reconnecting event")
}

#[test]
fn clients_of_a_draining_server_come_back_spread_over_seconds() {
    let delays: Vec<Duration> = (0..200)
        .map(|i| retry_delay(&mut closed_after_a_minute(&format!("user{i}"), Some(1001))))
        .collect();
    assert!(delays.iter().all(|d| (ms(500)..=ms(5000)).contains(d)), "{delays:?}");
    let first_second = delays.iter().filter(|d| **d < ms(1000)).count();
    assert!(first_second < 50, "{first_second} of 200 clients return within a second");
}

#[test]
fn an_ordinary_loss_reconnects_quickly_with_jitter_and_says_so() {
    let mut s = closed_after_a_minute("alice", None);
    let got = events(&mut s);
    let Event::Reconnecting { attempt: 1, delay } = got[1] else { panic!("{got:?}") };
    assert!((ms(125)..=ms(250)).contains(&delay), "{delay:?}");
    assert_eq!(got[0], Event::Disconnected { reason: None, will_retry: true });
    assert_eq!(s.poll_timeout(), Some(ms(60_000) + delay), "the retry is the next deadline");
}

#[test]
fn a_drain_announced_by_a_server_error_is_spread_too() {
    let (mut s, _) = session(true);
    s.handle_connected(WS, ms(0));
    let error = ServerError { code: 1001, reason: "draining".into(), ..Default::default() };
    s.handle_bytes(&server(server_packet::Event::Error(error)), ms(1)).unwrap();
    s.handle_disconnected(None, ms(60_000));
    assert!(retry_delay(&mut s) >= ms(500));
}

#[test]
fn peers_beyond_the_cap_are_refused_and_counted_however_they_arrive() {
    let (mut s, counters) = connected();
    events(&mut s);
    for id in 3..300 {
        let joined = server(server_packet::Event::Joined(participant(id, "mallory")));
        s.handle_bytes(&joined, ms(1)).unwrap();
    }
    assert_eq!(s.peers().len(), crate::peers::DEFAULT_MAX_PEERS);
    assert_eq!(crate::peers::DEFAULT_MAX_PEERS, 256);
    let joins = events(&mut s).iter().filter(|e| matches!(e, Event::PeerJoined(_))).count();
    assert_eq!(joins, 255, "bob plus 255 newcomers fill the table");
    assert_eq!(counters.snapshot().refused_peers, 297 - 255);
    // A packet from one more unknown sender is refused and dropped, not delivered.
    s.handle_bytes(&bytes(&video_from(1000, "mallory")), ms(2)).unwrap();
    assert!(events(&mut s).is_empty());
    let stats = counters.snapshot();
    assert_eq!((stats.refused_peers, stats.dropped_inbound), (43, 1));
}
