use super::*;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const TIMEOUT: Duration = Duration::from_secs(5);

fn sid(n: u64) -> SessionId {
    SessionId::new(n).unwrap()
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn packet(session_id: u64, email: &str) -> PacketWrapper {
    PacketWrapper { session_id, email: email.into(), ..Default::default() }
}

fn info(session_id: u64, user: &str) -> PeerInfo {
    PeerInfo::anonymous(PeerKey::Session(sid(session_id)), user)
}

fn table() -> PeerTable {
    PeerTable::new(TIMEOUT, DEFAULT_MAX_PEERS)
}

#[test]
fn first_packet_from_an_unknown_session_announces_the_peer_once() {
    let mut peers = table();
    let mut out = Vec::new();
    let key = peers.handle_packet(&packet(4, "bob"), None, secs(0), &mut out);
    assert_eq!(key, Some(PeerKey::Session(sid(4))));
    assert_eq!(out, vec![Event::PeerJoined(info(4, "bob"))]);

    out.clear();
    peers.handle_packet(&packet(4, "bob"), None, secs(1), &mut out);
    assert!(out.is_empty());
    assert_eq!(peers.len(), 1);
}

#[test]
fn two_sessions_of_one_user_are_two_peers() {
    let mut peers = table();
    let mut out = Vec::new();
    peers.handle_packet(&packet(1, "bob"), None, secs(0), &mut out);
    peers.handle_packet(&packet(2, "bob"), None, secs(0), &mut out);
    assert_eq!(out, vec![Event::PeerJoined(info(1, "bob")), Event::PeerJoined(info(2, "bob"))]);
}

#[test]
fn old_server_packets_without_session_are_keyed_by_email() {
    let mut peers = table();
    let mut out = Vec::new();
    let key = peers.handle_packet(&packet(0, "carol"), None, secs(0), &mut out);
    let carol = PeerKey::Email("carol".into());
    assert_eq!(key, Some(carol.clone()));
    peers.handle_packet(&packet(0, "carol"), None, secs(1), &mut out);
    assert_eq!(out, vec![Event::PeerJoined(PeerInfo::anonymous(carol.clone(), "carol"))]);

    // Nothing else tells us an old-server peer left: the timeout does.
    out.clear();
    peers.handle_timeout(secs(6), &mut out);
    assert_eq!(
        out,
        vec![Event::PeerLeft {
            peer: PeerInfo::anonymous(carol, "carol"),
            reason: LeaveReason::TimedOut
        }]
    );
    assert!(peers.is_empty());
}

#[test]
fn heartbeat_flags_are_reported_when_they_change() {
    let mut peers = table();
    let mut out = Vec::new();
    let on = MediaFlags { video: true, audio: true, screen: false };
    let key = PeerKey::Session(sid(9));
    peers.handle_packet(&packet(9, "dan"), Some(on), secs(0), &mut out);
    assert_eq!(
        out,
        vec![Event::PeerJoined(info(9, "dan")), Event::PeerFlags { peer: key.clone(), flags: on }]
    );

    out.clear();
    peers.handle_packet(&packet(9, "dan"), Some(on), secs(1), &mut out);
    assert!(out.is_empty(), "unchanged flags are not repeated");

    let muted = MediaFlags { audio: false, ..on };
    peers.handle_packet(&packet(9, "dan"), Some(muted), secs(2), &mut out);
    assert_eq!(out, vec![Event::PeerFlags { peer: key.clone(), flags: muted }]);
    assert_eq!(peers.flags(&key), Some(muted));
}

#[test]
fn silent_peer_times_out_and_a_heard_one_stays() {
    let mut peers = table();
    let mut out = Vec::new();
    peers.handle_packet(&packet(1, "quiet"), None, secs(0), &mut out);
    peers.handle_packet(&packet(2, "chatty"), None, secs(0), &mut out);
    peers.handle_packet(&packet(2, "chatty"), None, secs(3), &mut out);
    assert_eq!(peers.poll_timeout(), Some(secs(5)));

    out.clear();
    peers.handle_timeout(Duration::from_millis(4999), &mut out);
    assert!(out.is_empty(), "not yet silent for the whole timeout");
    peers.handle_timeout(secs(5), &mut out);
    assert_eq!(
        out,
        vec![Event::PeerLeft { peer: info(1, "quiet"), reason: LeaveReason::TimedOut }]
    );
    assert!(peers.contains(&PeerKey::Session(sid(2))));
    assert_eq!(peers.poll_timeout(), Some(secs(8)));
}

#[test]
fn server_join_and_leave_take_effect_at_once() {
    let mut peers = table();
    let mut out = Vec::new();
    peers.handle_joined(&info(5, "erin"), secs(0), &mut out);
    peers.handle_left(&PeerKey::Session(sid(5)), &mut out);
    peers.handle_left(&PeerKey::Session(sid(6)), &mut out); // unknown: ignored
    assert_eq!(
        out,
        vec![
            Event::PeerJoined(info(5, "erin")),
            Event::PeerLeft { peer: info(5, "erin"), reason: LeaveReason::Left }
        ]
    );
}

#[test]
fn welcome_after_a_reconnect_reconciles_session_peers_and_keeps_email_peers() {
    let mut peers = table();
    let mut out = Vec::new();
    peers.handle_welcome(Some(sid(10)), &[info(1, "a"), info(2, "b")], secs(0), &mut out);
    peers.handle_packet(&packet(0, "legacy"), None, secs(0), &mut out);
    assert_eq!(peers.len(), 3);

    // Reconnected as session 11: b is gone, c is new, our old session 10 lingers on the server.
    out.clear();
    peers.handle_welcome(
        Some(sid(11)),
        &[info(1, "a"), info(3, "c"), info(10, "me")],
        secs(2),
        &mut out,
    );
    assert_eq!(
        out,
        vec![
            Event::PeerLeft { peer: info(2, "b"), reason: LeaveReason::Absent },
            Event::PeerJoined(info(3, "c")),
        ]
    );
    assert!(peers.contains(&PeerKey::Email("legacy".into())));
    assert!(!peers.contains(&PeerKey::Session(sid(10))), "our previous session is not a peer");
}

#[test]
fn own_session_is_never_a_peer() {
    let mut peers = table();
    let mut out = Vec::new();
    peers.handle_welcome(Some(sid(7)), &[], secs(0), &mut out);
    assert_eq!(peers.handle_packet(&packet(7, "me"), None, secs(1), &mut out), None);
    peers.handle_joined(&info(7, "me"), secs(1), &mut out);
    assert!(out.is_empty());
    assert!(peers.is_empty());
}

#[test]
fn full_table_refuses_new_senders_but_keeps_known_ones() {
    let mut peers = PeerTable::new(TIMEOUT, 2);
    let mut out = Vec::new();
    assert!(peers.handle_packet(&packet(1, "a"), None, secs(0), &mut out).is_some());
    assert!(peers.handle_packet(&packet(2, "b"), None, secs(0), &mut out).is_some());
    assert_eq!(peers.handle_packet(&packet(3, "c"), None, secs(0), &mut out), None);
    assert!(peers.handle_packet(&packet(1, "a"), None, secs(1), &mut out).is_some());
    assert_eq!(out.len(), 2);
    let users: Vec<String> = peers.iter().map(|p| p.user).collect();
    assert_eq!(users, ["a", "b"]);
}
