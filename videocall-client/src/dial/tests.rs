use url::Url;
use videocall_types::{RoomId, UserId};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::*;
use crate::backoff::BackoffConfig;
use crate::options::TransportChoice;

const WT: TransportKind = TransportKind::WebTransport;
const WS: TransportKind = TransportKind::WebSocket;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn minutes(n: u64) -> Duration {
    Duration::from_secs(60 * n)
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

fn dialer(options: &ClientOptions) -> Dialer {
    Dialer::new(options.endpoints().unwrap(), options)
}

/// The transport the dialer wants to connect to at `now`, if any.
fn next(d: &mut Dialer, now: Duration) -> Option<TransportKind> {
    match d.poll(now) {
        Dial::Connect { endpoint, .. } => Some(endpoint.kind),
        Dial::Wait | Dial::Stop => None,
    }
}

fn fail(d: &mut Dialer, now: Duration) -> Next {
    d.handle_connect_failed(&ConnectFailure::new("unreachable"), now)
}

/// Runs a round at `now` in which only `works` connects (if any): the transports tried, in order.
fn round(d: &mut Dialer, now: Duration, works: Option<TransportKind>) -> Vec<TransportKind> {
    let mut tried = Vec::new();
    while let Some(kind) = next(d, now) {
        tried.push(kind);
        if Some(kind) == works {
            d.handle_connected(kind, now);
            break;
        }
        if fail(d, now) != Next::Endpoint {
            break;
        }
    }
    tried
}

#[test]
fn a_round_tries_webtransport_then_websocket_at_once_then_backs_off() {
    let mut d = dialer(&auto());
    assert_eq!(next(&mut d, ms(0)), Some(WT));
    assert_eq!(fail(&mut d, ms(0)), Next::Endpoint, "no wait before the fallback");
    assert_eq!(next(&mut d, ms(0)), Some(WS));
    assert_eq!(fail(&mut d, ms(0)), Next::Retry { attempt: 1, delay: ms(250) });
    assert_eq!(d.failures(), "webtransport: unreachable; websocket: unreachable");
    assert_eq!(d.poll(ms(249)), Dial::Wait);
    assert_eq!(d.poll_timeout(), Some(ms(250)));
    // Both failed: that says nothing against WebTransport, which stays first.
    assert_eq!(round(&mut d, ms(250), None), [WT, WS]);
    assert_eq!(d.poll_timeout(), Some(ms(750)), "the second delay doubles");
}

#[test]
fn webtransport_that_failed_where_websocket_worked_goes_last_for_five_minutes() {
    let mut d = dialer(&auto());
    assert_eq!(round(&mut d, ms(0), Some(WS)), [WT, WS]);
    assert!(d.is_demoted(ms(0)));
    // Reconnects within the demotion start with WebSocket, even when it fails.
    d.handle_lost(None, false, minutes(1));
    assert_eq!(round(&mut d, minutes(2), None), [WS, WT]);
    assert_eq!(round(&mut d, minutes(3), Some(WS)), [WS]);
    d.handle_lost(Some(CloseReason::GoingAway), true, minutes(4));
    assert_eq!(round(&mut d, minutes(5) - ms(1), Some(WS)), [WS]);
    // After it, WebTransport is preferred again.
    d.handle_lost(None, false, minutes(5));
    assert!(!d.is_demoted(minutes(6)));
    assert_eq!(round(&mut d, minutes(6), Some(WT)), [WT]);
}

#[test]
fn demotions_double_while_webtransport_keeps_failing_and_end_when_it_connects() {
    let mut d = dialer(&auto());
    let mut now = Duration::ZERO;
    for hold in [5, 10, 20, 40, 60, 60] {
        assert_eq!(round(&mut d, now, Some(WS)), [WT, WS]);
        assert!(d.is_demoted(now + minutes(hold) - ms(1)), "held {hold} min");
        assert!(!d.is_demoted(now + minutes(hold)), "held only {hold} min");
        now += minutes(hold);
        d.handle_lost(None, false, now);
        now += ms(1000); // past the backoff delay
    }
    assert_eq!(round(&mut d, now, Some(WT)), [WT]);
    d.handle_lost(None, true, now);
    now += ms(1000);
    assert_eq!(round(&mut d, now, Some(WS)), [WT, WS]);
    assert!(d.is_demoted(now + minutes(5) - ms(1)));
    assert!(!d.is_demoted(now + minutes(5)), "the streak started over");
}

#[test]
fn a_lost_webtransport_session_is_retried_over_websocket_first() {
    let mut d = dialer(&auto());
    assert_eq!(round(&mut d, ms(0), Some(WT)), [WT]);
    assert_eq!(d.handle_lost(None, false, minutes(1)), Next::Retry { attempt: 1, delay: ms(250) });
    assert_eq!(round(&mut d, minutes(2), Some(WS)), [WS]);
    assert!(d.is_demoted(minutes(2)), "WebSocket worked where WebTransport died");
}

#[test]
fn after_a_lost_session_a_round_where_everything_fails_puts_webtransport_first_again() {
    let mut d = dialer(&auto());
    round(&mut d, ms(0), Some(WT));
    d.handle_lost(None, false, minutes(1));
    assert_eq!(round(&mut d, minutes(2), None), [WS, WT]);
    assert!(!d.is_demoted(minutes(2)));
    assert_eq!(round(&mut d, minutes(3), Some(WS)), [WT, WS]);
}

#[test]
fn a_session_the_server_closed_with_a_code_keeps_webtransport_first() {
    for (reason, code) in [
        (Some(CloseReason::GoingAway), true),
        (Some(CloseReason::RoomFull), true),
        (None, true), // a code that is not one of ours
    ] {
        let mut d = dialer(&auto());
        round(&mut d, ms(0), Some(WT));
        assert!(matches!(d.handle_lost(reason, code, minutes(1)), Next::Retry { .. }));
        assert_eq!(round(&mut d, minutes(2), Some(WT)), [WT], "{reason:?}");
    }
}

#[test]
fn a_refused_request_is_final_and_no_other_transport_is_tried() {
    let mut d = dialer(&auto());
    assert_eq!(next(&mut d, ms(0)), Some(WT));
    assert_eq!(
        d.handle_connect_failed(&ConnectFailure::refused(403, "forbidden"), ms(0)),
        Next::Stop
    );
    assert_eq!(d.poll(minutes(60)), Dial::Stop);
    assert!(d.is_stopped());
}

#[test]
fn refusals_that_ask_to_come_back_later_are_retried() {
    for status in [408, 429, 500, 503] {
        let failure = ConnectFailure::refused(status, "later");
        assert!(!failure.is_final(), "{status}");
        let mut d =
            dialer(&options(TransportChoice::WebSocket { url: Url::parse("ws://h").unwrap() }));
        assert_eq!(next(&mut d, ms(0)), Some(WS));
        assert!(matches!(d.handle_connect_failed(&failure, ms(0)), Next::Retry { .. }));
    }
    assert!(ConnectFailure::refused(400, "bad").is_final());
    assert!(ConnectFailure::refused(404, "no lobby").is_final());
}

#[test]
fn only_invalid_ids_removals_and_ended_meetings_are_final() {
    let finals = [CloseReason::InvalidId, CloseReason::Removed, CloseReason::MeetingEnded];
    for reason in CloseReason::ALL {
        let mut d = dialer(&auto());
        round(&mut d, ms(0), Some(WT));
        let next = d.handle_lost(Some(reason), true, minutes(1));
        assert_eq!(next == Next::Stop, finals.contains(&reason), "{reason:?}");
    }
}

#[test]
fn without_reconnects_the_first_round_still_falls_back_but_nothing_follows() {
    let mut d = dialer(&ClientOptions { reconnect: false, ..auto() });
    assert_eq!(round(&mut d, ms(0), None), [WT, WS]);
    assert_eq!(d.poll(minutes(1)), Dial::Stop);

    let mut d = dialer(&ClientOptions { reconnect: false, ..auto() });
    round(&mut d, ms(0), Some(WS));
    assert_eq!(d.handle_lost(None, false, minutes(1)), Next::Stop);
}

#[test]
fn a_stable_connection_resets_the_backoff_and_a_flapping_one_does_not() {
    let mut d = dialer(&auto());
    round(&mut d, ms(0), None);
    round(&mut d, ms(250), None);
    round(&mut d, ms(750), Some(WT));
    // Up for less than five seconds: the delays keep growing.
    assert_eq!(d.handle_lost(None, true, ms(1000)), Next::Retry { attempt: 3, delay: ms(1000) });
    round(&mut d, ms(2000), Some(WT));
    assert_eq!(d.handle_lost(None, true, ms(7000)), Next::Retry { attempt: 1, delay: ms(250) });
}
