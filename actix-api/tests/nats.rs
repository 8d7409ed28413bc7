//! Several servers sharing rooms through a real nats-server.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::nats::Nats;
use common::packets::{parse, routed_media, server_event};
use common::{Server, Ws, ws_recv, ws_send, wt_recv, wt_send};
use videocall_types::MediaType;
use videocall_types::protos::server_packet::server_packet::Event;

const LONG: Duration = Duration::from_secs(10);

/// Reads SERVER packets until `user` is announced as joined.
async fn ws_wait_joined(ws: &mut Ws, user: &str) {
    let deadline = tokio::time::Instant::now() + LONG;
    loop {
        let within = deadline.saturating_duration_since(tokio::time::Instant::now());
        let packet = ws_recv(ws, within).await.unwrap_or_else(|| panic!("{user} never joined"));
        match server_event(&packet) {
            Some(Event::Joined(p)) if p.user_id == user => return,
            Some(Event::Welcome(w)) if w.participants.iter().any(|p| p.user_id == user) => return,
            _ => {}
        }
    }
}

async fn wt_wait_joined(wt: &wtransport::Connection, user: &str) {
    let deadline = tokio::time::Instant::now() + LONG;
    loop {
        let within = deadline.saturating_duration_since(tokio::time::Instant::now());
        let packet = wt_recv(wt, within).await.unwrap_or_else(|| panic!("{user} never joined"));
        match server_event(&packet) {
            Some(Event::Joined(p)) if p.user_id == user => return,
            Some(Event::Welcome(w)) if w.participants.iter().any(|p| p.user_id == user) => return,
            _ => {}
        }
    }
}

/// The next media packet, skipping SERVER packets.
async fn ws_next_media(ws: &mut Ws) -> Vec<u8> {
    loop {
        let packet = ws_recv(ws, LONG).await.expect("no media arrived");
        if server_event(&packet).is_none() {
            return packet;
        }
    }
}

async fn wt_next_media(wt: &wtransport::Connection) -> Vec<u8> {
    loop {
        let packet = wt_recv(wt, LONG).await.expect("no media arrived");
        if server_event(&packet).is_none() {
            return packet;
        }
    }
}

#[tokio::test]
async fn a_websocket_client_on_one_server_and_a_webtransport_client_on_another_share_a_room() {
    let nats = Nats::start().await;
    let a = Server::with_nats(&nats.url(), false).await;
    let b = Server::with_nats(&nats.url(), true).await;
    let mut alice = a.ws("alice", "r1", true).await;
    let bob = b.wt("bob", "r1", true).await;
    ws_wait_joined(&mut alice, "bob").await;
    wt_wait_joined(&bob, "alice").await;

    ws_send(&mut alice, routed_media(MediaType::AUDIO, "alice", true, 1, 100)).await;
    assert_eq!(parse(&wt_next_media(&bob).await).email, "alice");
    wt_send(&bob, &routed_media(MediaType::AUDIO, "bob", true, 2, 100)).await;
    assert_eq!(parse(&ws_next_media(&mut alice).await).email, "bob");
}

#[tokio::test]
async fn nats_carries_each_packet_once_per_server_not_once_per_participant() {
    let nats = Nats::start().await;
    let a = Server::with_nats(&nats.url(), false).await;
    let b = Server::with_nats(&nats.url(), false).await;
    let mut listeners = Vec::new();
    for user in ["l1", "l2", "l3"] {
        listeners.push(a.ws(user, "r1", true).await);
    }
    let mut speaker = b.ws("speaker", "r1", false).await;
    for listener in &mut listeners {
        ws_wait_joined(listener, "speaker").await;
    }

    const PACKETS: u64 = 200;
    let received_before = a.metric("videocall_bus_received_total").await;
    let delivered_before = nats.out_msgs().await;
    for seq in 0..PACKETS {
        ws_send(&mut speaker, routed_media(MediaType::AUDIO, "speaker", true, seq, 100)).await;
    }
    for listener in &mut listeners {
        for _ in 0..PACKETS {
            assert_eq!(parse(&ws_next_media(listener).await).email, "speaker");
        }
    }
    let received = a.metric("videocall_bus_received_total").await - received_before;
    let delivered = nats.out_msgs().await - delivered_before;
    println!(
        "{PACKETS} packets to 3 listeners on one server: server received {received}, nats delivered {delivered}"
    );
    // Presence announcements (a few every 5 s) ride along; per-participant delivery would be 3x.
    assert!((PACKETS..PACKETS + 20).contains(&received), "server received {received}");
    assert!((PACKETS..PACKETS + 20).contains(&delivered), "nats delivered {delivered}");
}

#[tokio::test]
async fn servers_outlive_a_nats_restart_and_the_room_works_again() {
    let mut nats = Nats::start().await;
    let a = Server::with_nats(&nats.url(), false).await;
    let b = Server::with_nats(&nats.url(), true).await;
    let mut alice = a.ws("alice", "r1", true).await;
    let bob = b.wt("bob", "r1", true).await;
    ws_wait_joined(&mut alice, "bob").await;

    nats.kill();
    a.wait_ready(503, LONG).await;
    b.wait_ready(503, LONG).await;
    assert_eq!(a.get("/healthz").await.unwrap().0, 200);
    assert_eq!(b.get("/healthz").await.unwrap().0, 200);

    nats.restart().await;
    a.wait_ready(200, Duration::from_secs(20)).await;
    b.wait_ready(200, Duration::from_secs(20)).await;
    // The same connections, through the re-established subscriptions.
    let deadline = tokio::time::Instant::now() + LONG;
    let mut seq = 0;
    let got = loop {
        assert!(tokio::time::Instant::now() < deadline, "the room never worked again");
        seq += 1;
        ws_send(&mut alice, routed_media(MediaType::AUDIO, "alice", true, seq, 100)).await;
        match tokio::time::timeout(Duration::from_millis(500), wt_next_media(&bob)).await {
            Ok(packet) => break packet,
            Err(_) => continue,
        }
    };
    assert_eq!(parse(&got).email, "alice");
    wt_send(&bob, &routed_media(MediaType::AUDIO, "bob", true, 1, 100)).await;
    assert_eq!(parse(&ws_next_media(&mut alice).await).email, "bob");
}
