//! The driver on a simulated platform: a fake clock that jumps to the next live timer whenever
//! the driver waits, and fake links whose connects, received packets and losses the test
//! scripts. Nothing sleeps and every run is the same, so the policy is pinned to the
//! millisecond.

mod sim;

use std::time::Duration;

use protobuf::{Message, MessageField};
use url::Url;
use videocall_types::protos::server_packet::{Participant, ServerPacket, Welcome, server_packet};
use videocall_types::{
    CloseReason, MediaPacket, MediaType, PacketType, PacketWrapper, RoomId, UserId,
};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use crate::backoff::BackoffConfig;
use crate::dial::ConnectFailure;
use crate::event::{Event, TransportKind};
use crate::link::Received;
use crate::options::{ClientOptions, TransportChoice};
use crate::send::SendError;
use sim::{Harness, Step};

const WT: TransportKind = TransportKind::WebTransport;
const WS: TransportKind = TransportKind::WebSocket;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn options(transport: TransportChoice) -> ClientOptions {
    let mut options =
        ClientOptions::new(UserId::new("alice").unwrap(), RoomId::new("r1").unwrap(), transport);
    options.backoff = BackoffConfig { jitter_seed: None, ..BackoffConfig::default() };
    options
}

fn auto() -> ClientOptions {
    options(TransportChoice::Auto {
        webtransport: Url::parse("https://h:4433").unwrap(),
        cert_hash: None,
        websocket: Url::parse("ws://h:8080").unwrap(),
    })
}

fn websocket() -> ClientOptions {
    options(TransportChoice::WebSocket { url: Url::parse("ws://h:8080").unwrap() })
}

fn refused() -> Step {
    Step::Fail { after: ms(0), failure: ConnectFailure::new("connection refused") }
}

fn welcome(you: u64) -> Received {
    let participant =
        Participant { session_id: you, user_id: "alice".into(), ..Default::default() };
    let welcome = Welcome {
        you: MessageField::some(participant),
        room_id: "r1".into(),
        ..Default::default()
    };
    let inner =
        ServerPacket { event: Some(server_packet::Event::Welcome(welcome)), ..Default::default() };
    let wrapper = PacketWrapper {
        packet_type: PacketType::SERVER.into(),
        data: inner.write_to_bytes().unwrap(),
        ..Default::default()
    };
    Received::Packet(wrapper.write_to_bytes().unwrap())
}

fn connected(transport: TransportKind) -> impl Fn(&Event) -> bool {
    move |e| matches!(e, Event::Connected { transport: t, .. } if *t == transport)
}

fn lost(code: Option<u32>) -> Received {
    Received::Closed(code)
}

/// The delays of the `Reconnecting` events among `events`.
fn delays(events: &[Event]) -> Vec<Duration> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Reconnecting { delay, .. } => Some(*delay),
            _ => None,
        })
        .collect()
}

#[test]
fn webtransport_that_fails_to_connect_falls_back_to_websocket_at_once() {
    let mut h = Harness::start(auto(), [refused(), Step::accept()]);
    h.run_until(ms(0));
    assert_eq!(h.attempts(), [(ms(0), WT), (ms(0), WS)]);
    h.wire().push(welcome(1));
    h.run_until(ms(1));
    let events = h.events();
    assert!(connected(WS)(&events[0]), "{events:?}");
    assert!(!events.iter().any(|e| matches!(e, Event::ConnectFailed { .. })), "the round worked");
    assert_eq!(h.handle().transport(), Some(WS));
}

#[test]
fn unanswered_webtransport_falls_back_after_the_connect_timeout() {
    let mut h = Harness::start(auto(), [Step::Hang, Step::accept()]);
    h.run_until(secs(4));
    assert_eq!(h.attempts(), [(ms(0), WT)]);
    assert_eq!(h.sim.deadlines(), [secs(5)], "only the connect timeout is pending");
    h.run_until(secs(6));
    assert_eq!(h.attempts(), [(ms(0), WT), (secs(5), WS)]);
    assert_eq!(h.handle().transport(), Some(WS));
}

#[test]
fn a_lost_webtransport_session_comes_back_over_websocket() {
    let mut h = Harness::start(auto(), [Step::accept(), Step::accept(), Step::accept()]);
    h.run_until(secs(60));
    h.events();
    h.wire().push(lost(None));
    h.run_until(secs(61));
    assert_eq!(h.attempts()[1], (secs(60) + ms(250), WS));
    h.wire().push(welcome(2));
    h.run_until(secs(61));
    let events = h.events();
    assert_eq!(events[0], Event::Disconnected { reason: None, will_retry: true });
    assert_eq!(events[1], Event::Reconnecting { attempt: 1, delay: ms(250) });
    assert!(connected(WS)(&events[2]), "{events:?}");

    // WebSocket worked where WebTransport died: the next reconnect starts with it too.
    h.wire().push(lost(None));
    h.run_until(secs(120));
    assert_eq!(h.attempts()[2].1, WS);
}

#[test]
fn a_webtransport_session_closed_by_the_server_comes_back_over_webtransport() {
    let mut h = Harness::start(auto(), [Step::accept(), Step::accept()]);
    h.run_until(secs(60));
    h.wire().push(lost(Some(CloseReason::GoingAway.code().into())));
    h.run_until(secs(70));
    assert_eq!(h.attempts().iter().map(|a| a.1).collect::<Vec<_>>(), [WT, WT]);
}

#[test]
fn webtransport_is_tried_first_again_once_its_demotion_is_over() {
    let mut h = Harness::start(auto(), [refused(), Step::accept(), Step::accept(), Step::accept()]);
    h.run_until(secs(60));
    h.wire().push(lost(Some(CloseReason::Timeout.code().into())));
    h.run_until(secs(61));
    assert_eq!(h.attempts()[2], (secs(60) + ms(250), WS), "demoted: WebSocket first");
    h.run_until(secs(6 * 60));
    h.wire().push(lost(Some(CloseReason::Timeout.code().into())));
    h.run_until(secs(6 * 60 + 1));
    let after_demotion = (secs(6 * 60) + ms(250), WT);
    assert_eq!(h.attempts()[3], after_demotion, "five minutes later: WebTransport first");
}

#[test]
fn failed_rounds_back_off_doubling_to_the_cap() {
    let mut h = Harness::start(websocket(), std::iter::repeat_with(refused).take(20));
    h.run_until(secs(60));
    let events = h.events();
    let expected = [250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000, 10_000, 10_000];
    assert_eq!(delays(&events), expected.map(ms));
    let times: Vec<Duration> = h.attempts().iter().map(|a| a.0).collect();
    let expected = [0, 250, 750, 1750, 3750, 7750, 15_750, 25_750, 35_750, 45_750, 55_750];
    assert_eq!(times, expected.map(ms));
    assert!(matches!(
        &events[0],
        Event::ConnectFailed { transport: WS, will_retry: true, error } if error == "websocket: connection refused"
    ));
}

#[test]
fn one_connect_failure_is_reported_per_round_with_every_error() {
    let mut h = Harness::start(auto(), [refused(), refused()]);
    h.run_until(ms(0));
    let events = h.events();
    assert_eq!(
        events[0],
        Event::ConnectFailed {
            transport: WS,
            error: "webtransport: connection refused; websocket: connection refused".into(),
            will_retry: true,
        }
    );
    assert_eq!(events[1], Event::Reconnecting { attempt: 1, delay: ms(250) });
    assert_eq!(events.len(), 2);
}

#[test]
fn a_refused_upgrade_stops_the_client_for_good() {
    let refusal = Step::Fail { after: ms(5), failure: ConnectFailure::refused(403, "HTTP 403") };
    let mut h = Harness::start(auto(), [refused(), refusal, Step::accept()]);
    h.run_until(secs(3600));
    assert!(h.finished());
    assert_eq!(h.attempts().len(), 2);
    assert!(matches!(h.events()[..], [Event::ConnectFailed { will_retry: false, .. }]));
    assert_eq!(h.handle().send(PacketWrapper::default()), Err(SendError::NotConnected));
}

#[test]
fn an_invalid_id_close_stops_the_client_for_good() {
    let mut h = Harness::start(websocket(), [Step::accept(), Step::accept()]);
    h.run_until(ms(10));
    h.wire().push(lost(Some(CloseReason::InvalidId.code().into())));
    h.run_until(secs(3600));
    assert!(h.finished());
    assert_eq!(h.attempts().len(), 1);
    let last = h.events().pop();
    let stop = Event::Disconnected { reason: Some(CloseReason::InvalidId), will_retry: false };
    assert_eq!(last, Some(stop));
}

#[test]
fn full_rooms_and_busy_servers_are_retried_with_growing_delays() {
    for reason in [CloseReason::RoomFull, CloseReason::TooManyConnections, CloseReason::Unavailable]
    {
        let mut h = Harness::start(websocket(), std::iter::repeat_with(Step::accept).take(5));
        h.run_until(ms(0));
        let mut seen = Vec::new();
        for _ in 0..4 {
            // The server closes each connection as soon as it is up.
            h.wire().push(lost(Some(reason.code().into())));
            h.run_until(h.sim.now());
            let events = h.events();
            let retried = Event::Disconnected { reason: Some(reason), will_retry: true };
            assert_eq!(events[0], retried, "{reason:?}");
            seen.extend(delays(&events));
            h.run_until(h.sim.now() + seen[seen.len() - 1]);
        }
        assert_eq!(seen, [250, 500, 1000, 2000].map(ms), "{reason:?}");
        assert_eq!(h.attempts().len(), 5, "{reason:?}");
        assert!(!h.finished());
    }
}

#[test]
fn a_stable_connection_resets_the_backoff_and_a_flapping_one_does_not() {
    let script = [refused(), refused(), Step::accept(), Step::accept()];
    let mut h = Harness::start(websocket(), script);
    h.run_until(ms(750));
    assert_eq!(delays(&h.events()), [ms(250), ms(500)]);
    h.run_until(ms(1750));
    h.wire().push(lost(None));
    h.run_until(ms(1750));
    assert_eq!(delays(&h.events()), [ms(1000)], "up for a second: the delays go on growing");
    h.run_until(ms(2750) + secs(5));
    h.wire().push(lost(None));
    h.run_until(ms(2750) + secs(5));
    assert_eq!(delays(&h.events()), [ms(250)], "up for five seconds: back to the first delay");
    assert_eq!(h.handle().stats().reconnects, 1);
}

#[test]
fn packets_queued_when_the_connection_is_lost_are_discarded_and_counted() {
    let mut h = Harness::start(websocket(), [Step::accept()]);
    h.run_until(ms(500));
    let sent_before = h.handle().stats().sent;
    for _ in 0..3 {
        h.handle().send(PacketWrapper::default()).unwrap();
    }
    h.wire().push(lost(None)); // arrives before the driver got to the packets
    h.run_until(ms(600));
    assert_eq!(h.handle().send(PacketWrapper::default()), Err(SendError::NotConnected));
    let stats = h.handle().stats();
    assert_eq!(stats.dropped_outgoing, 4, "three discarded, one refused");
    assert_eq!(stats.sent, sent_before, "none of them went out");
    assert_eq!(h.wire().sent().len(), 1, "only the first heartbeat");
}

#[test]
fn packets_sent_while_connected_go_out_in_order() {
    let mut h = Harness::start(websocket(), [Step::accept()]);
    h.run_until(ms(500));
    for n in 1..=3u64 {
        let wrapper = PacketWrapper { session_id: n, ..Default::default() };
        h.handle().send(wrapper).unwrap();
    }
    h.run_until(ms(501));
    let sent: Vec<u64> = h.wire().sent()[1..]
        .iter()
        .map(|(_, bytes)| PacketWrapper::parse_from_bytes(bytes).unwrap().session_id)
        .collect();
    assert_eq!(sent, [1, 2, 3]);
    assert_eq!(h.handle().stats().sent, 4);
}

#[test]
fn a_link_that_drops_a_packet_counts_it() {
    let mut h = Harness::start(websocket(), [Step::accept()]);
    h.run_until(ms(500));
    h.wire().set_backed_up(true);
    h.handle().send(PacketWrapper::default()).unwrap();
    h.run_until(ms(501));
    let stats = h.handle().stats();
    assert_eq!((stats.sent, stats.dropped_outgoing), (1, 1));
}

#[test]
fn heartbeats_go_out_every_second_while_connected() {
    let mut h = Harness::start(websocket(), [Step::accept()]);
    h.handle().set_enabled(false, true, false);
    h.run_until(ms(5500));
    let sent = h.wire().sent();
    let times: Vec<Duration> = sent.iter().map(|(at, _)| *at).collect();
    assert_eq!(times, [0, 1, 2, 3, 4, 5].map(secs));
    for (at, bytes) in &sent {
        let wrapper = PacketWrapper::parse_from_bytes(bytes).unwrap();
        let media = MediaPacket::parse_from_bytes(&wrapper.data).unwrap();
        assert_eq!(media.media_type.enum_value(), Ok(MediaType::HEARTBEAT));
        assert!(media.heartbeat_metadata.audio_enabled && !media.heartbeat_metadata.video_enabled);
        assert_eq!(media.timestamp, sim::EPOCH_MS + at.as_secs_f64() * 1000.0);
    }
    assert_eq!(h.handle().stats().sent, 6);
}

#[test]
fn nothing_wakes_the_driver_that_the_protocol_does_not_need() {
    // Connecting: only the connect timeout.
    let mut h = Harness::start(websocket(), [Step::Hang, Step::accept()]);
    h.run_until(ms(100));
    assert_eq!(h.sim.deadlines(), [secs(5)]);
    // Waiting to retry: only the end of the delay.
    h.run_until(secs(5));
    assert_eq!(h.sim.deadlines(), [secs(5) + ms(250)]);
    // Connected, alone in the room: only the next heartbeat, and one wake-up per heartbeat.
    h.run_until(secs(6));
    h.wire().push(welcome(1));
    h.run_until(secs(6) + ms(500));
    assert_eq!(h.sim.deadlines(), [secs(7) + ms(250)]);
    let polls = h.polls();
    h.run_until(secs(16) + ms(500));
    assert_eq!(h.polls() - polls, 10, "ten heartbeats, nothing else");
    // Closed: the driver ends and leaves no timer behind.
    h.handle().close();
    h.run_until(secs(17));
    assert!(h.finished());
    assert!(h.sim.deadlines().is_empty(), "no timer is left behind");
}

#[test]
fn peers_time_out_while_a_connect_attempt_hangs() {
    let options = ClientOptions { connect_timeout: secs(10), ..websocket() };
    let mut h = Harness::start(options, [Step::accept(), Step::Hang]);
    h.run_until(ms(10));
    let bob = PacketWrapper {
        packet_type: PacketType::MEDIA.into(),
        email: "bob".into(),
        session_id: 7,
        ..Default::default()
    };
    h.wire().push(welcome(1));
    h.wire().push(Received::Packet(bob.write_to_bytes().unwrap()));
    h.run_until(ms(20));
    h.wire().push(lost(None));
    h.run_until(secs(1)); // reconnecting; the attempt never answers
    assert!(h.events().iter().any(|e| matches!(e, Event::PeerJoined(_))));
    h.run_until(secs(5) + ms(10) + secs(1));
    let left = h.events().into_iter().find(|e| matches!(e, Event::PeerLeft { .. }));
    assert!(left.is_some(), "bob, silent for 5 s, is gone while the attempt still hangs");
    assert_eq!(h.attempts().len(), 2);
}

#[test]
fn closing_the_client_closes_the_link_normally_and_ends_the_events() {
    let mut h = Harness::start(websocket(), [Step::accept()]);
    h.run_until(secs(2));
    h.events();
    h.handle().close();
    h.run_until(secs(2));
    assert!(h.finished());
    assert_eq!(h.wire().closed_with(), Some(CloseReason::Normal));
    let stop = Event::Disconnected { reason: Some(CloseReason::Normal), will_retry: false };
    assert_eq!(h.events(), [stop]);
    assert!(h.events_ended());
    assert_eq!(h.handle().send(PacketWrapper::default()), Err(SendError::Closed));
}

#[test]
fn dropping_every_handle_closes_the_client() {
    let mut h = Harness::start(websocket(), [Step::accept()]);
    h.run_until(secs(1));
    let clone = h.handle().clone();
    drop(clone);
    h.run_until(secs(2));
    assert!(!h.finished(), "a handle is left");
    h.drop_handle();
    h.run_until(secs(2));
    assert!(h.finished());
    assert_eq!(h.wire().closed_with(), Some(CloseReason::Normal));
}

#[test]
fn closing_interrupts_a_send_that_waits_for_the_network() {
    let mut h = Harness::start(websocket(), [Step::accept()]);
    h.run_until(ms(500));
    h.wire().set_stalled(true);
    h.handle().send(PacketWrapper::default()).unwrap();
    h.run_until(secs(3));
    assert!(!h.finished());
    h.handle().close();
    h.run_until(secs(3));
    assert!(h.finished(), "leaving does not wait for the network");
}
