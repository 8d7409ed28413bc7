//! Clients of the old videocall-rs protocol (mid-2025 until its v4.0.0) over a real WebSocket:
//! their health reports are dropped, their round-trip probes come back to them alone.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::packets::{OLD_HEALTH_REPORT, OLD_RTT_PROBE, parse, plain_media, server_event, varint};
use common::{Server, Ws, ws_recv, ws_send};
use videocall_types::MediaType;

const SHORT: Duration = Duration::from_millis(300);
const LONG: Duration = Duration::from_secs(5);

/// Alice and Bob as old clients, Carol as one of ours (`?ext=1`), all in one room.
async fn room(server: &Server) -> (Ws, Ws, Ws) {
    let alice = server.ws("alice", "r1", false).await;
    let bob = server.ws("bob", "r1", false).await;
    let carol = server.ws("carol", "r1", true).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    (alice, bob, carol)
}

/// The next packet for `ws` within `within` that is not the server's own.
async fn next_relayed(ws: &mut Ws, within: Duration) -> Option<Vec<u8>> {
    loop {
        let packet = ws_recv(ws, within).await?;
        if server_event(&packet).is_none() {
            return Some(packet);
        }
    }
}

#[tokio::test]
async fn an_old_clients_health_report_neither_disconnects_it_nor_reaches_anyone() {
    let server = Server::start(|_| {}).await;
    let (mut alice, mut bob, mut carol) = room(&server).await;
    let audio = plain_media(MediaType::AUDIO, "alice", true, 1, 10);
    ws_send(&mut alice, OLD_HEALTH_REPORT.to_vec()).await;
    ws_send(&mut alice, audio.clone()).await;
    // The first thing the others hear from alice is her audio: the report went nowhere.
    for ws in [&mut bob, &mut carol] {
        let got = next_relayed(ws, LONG).await.expect("alice is still connected and heard");
        assert_eq!(parse(&got).data, parse(&audio).data);
    }
    assert_eq!(next_relayed(&mut alice, SHORT).await, None, "nothing comes back");
    assert_eq!(server.metric("videocall_health_reports_dropped_total").await, 1);
    assert_eq!(server.metric("videocall_closed_sessions_total{reason=\"unsupported\"}").await, 0);
}

#[tokio::test]
async fn an_old_clients_rtt_probe_comes_back_to_it_alone_as_sent_but_for_the_stamp() {
    let server = Server::start(|_| {}).await;
    let (mut alice, mut bob, mut carol) = room(&server).await;
    ws_send(&mut alice, OLD_RTT_PROBE.to_vec()).await;
    let echo = next_relayed(&mut alice, LONG).await.expect("the probe comes back");
    let audio = plain_media(MediaType::AUDIO, "alice", true, 1, 10);
    ws_send(&mut alice, audio.clone()).await;
    // Bob's first packet from alice is her audio, with her session id as the server stamps it.
    let heard = parse(&next_relayed(&mut bob, LONG).await.unwrap());
    assert_eq!(heard.data, parse(&audio).data, "bob heard no probe");
    let session = heard.session_id;
    assert_ne!(session, 0);
    // Every field as sent, in order, except `email` (field 2), which moves to the end as the
    // server stamps it, followed by the session id (field 4): the stamp, and nothing else.
    let mut expected = [&OLD_RTT_PROBE[..2], &OLD_RTT_PROBE[9..]].concat();
    expected.extend_from_slice(&[0x12, 0x05, b'a', b'l', b'i', b'c', b'e', 0x20]);
    expected.extend_from_slice(&varint(session));
    assert_eq!(echo, expected);
    let got = next_relayed(&mut carol, LONG).await.unwrap();
    assert_eq!(parse(&got).data, parse(&audio).data, "carol heard no probe either");
    assert_eq!(next_relayed(&mut alice, SHORT).await, None, "one echo");
    assert_eq!(server.metric("videocall_rtt_echoes_total").await, 1);
}
