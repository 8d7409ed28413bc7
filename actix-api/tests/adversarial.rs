//! An adversarial client against one server: garbage, truncated protobuf, 1 MB + 1, a 10k
//! packet flood, bad names, a spoofed identity and thousands of rooms. The server stays up, a
//! meeting in progress is not disturbed, and every rejection is counted in /metrics.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::packets::{parse, routed_media, sequence};
use common::{Server, Ws, ws_close_code, ws_recv, ws_send};
use futures::SinkExt;
use protobuf::Message as _;
use tokio_tungstenite::tungstenite::Message;
use videocall_types::{CloseReason, MediaType};

const LONG: Duration = Duration::from_secs(10);

/// Alice talks to Bob; `check` proves the meeting still works, packet by packet, in order.
struct Meeting {
    alice: Ws,
    bob: Ws,
    seq: u64,
}

impl Meeting {
    async fn start(server: &Server) -> Self {
        let alice = server.ws("alice", "r1", false).await;
        let bob = server.ws("bob", "r1", false).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut meeting = Self { alice, bob, seq: 0 };
        meeting.check().await;
        meeting
    }

    async fn check(&mut self) {
        self.seq += 1;
        ws_send(&mut self.alice, routed_media(MediaType::AUDIO, "alice", true, self.seq, 100))
            .await;
        let got = ws_recv(&mut self.bob, LONG).await.expect("bob still hears alice");
        assert_eq!((parse(&got).email.as_str(), sequence(&got)), ("alice", self.seq));
    }
}

/// Sends `frame` from a fresh connection and returns the close code the server answers with.
async fn attack(server: &Server, frame: Message) -> Option<u16> {
    let mut mallory = server.ws("mallory", "r1", false).await;
    mallory.send(frame).await.unwrap();
    ws_close_code(&mut mallory).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adversary_neither_takes_the_server_down_nor_disturbs_a_meeting() {
    let server = Server::start(|_| {}).await; // default limits: 1 MB packets, 1000 packets/s
    let mut meeting = Meeting::start(&server).await;

    let garbage: Vec<u8> = (0..256u32).map(|i| (i * 131 + 7) as u8).collect();
    assert_eq!(
        attack(&server, Message::Binary(garbage.into())).await,
        Some(CloseReason::Malformed.code())
    );
    meeting.check().await;

    let packet = routed_media(MediaType::VIDEO, "mallory", true, 1, 500);
    // Cut inside the 500-byte payload, whatever the fields after it take.
    let truncated = packet[..packet.len() / 2].to_vec();
    assert_eq!(
        attack(&server, Message::Binary(truncated.into())).await,
        Some(CloseReason::Malformed.code())
    );
    meeting.check().await;

    let oversized = vec![0x1a; 1_000_001];
    assert_eq!(
        attack(&server, Message::Binary(oversized.into())).await,
        Some(CloseReason::TooLarge.code())
    );
    meeting.check().await;

    // 10 000 packets at once: the first two seconds' worth pass, then the flood is cut off.
    let mut flooder = server.ws("flooder", "r1", false).await;
    for seq in 0..10_000 {
        let packet = routed_media(MediaType::AUDIO, "flooder", true, seq, 20);
        if flooder.feed(Message::Binary(packet.into())).await.is_err() {
            break;
        }
    }
    let _ = flooder.flush().await;
    assert_eq!(ws_close_code(&mut flooder).await, Some(CloseReason::RateLimited.code()));
    // Bob got the flood's first packets (the ones within the limit); skip past them.
    let mut skipped = 0;
    loop {
        let got = ws_recv(&mut meeting.bob, Duration::from_millis(500)).await;
        match got {
            Some(packet) if parse(&packet).email == "flooder" => skipped += 1,
            Some(other) => panic!("unexpected packet from {}", parse(&other).email),
            None => break,
        }
    }
    assert!((1..10_000).contains(&skipped), "bob saw {skipped} flood packets");
    meeting.check().await;

    // Spoofed identity: email and session id are the server's, whatever the sender wrote.
    let mut spoofer = server.ws("mallory", "r1", false).await;
    let mut spoofed = parse(&routed_media(MediaType::AUDIO, "alice", true, 99, 10));
    spoofed.session_id = 12_345;
    ws_send(&mut spoofer, spoofed.write_to_bytes().unwrap()).await;
    let got = parse(&ws_recv(&mut meeting.bob, LONG).await.unwrap());
    assert_eq!(got.email, "mallory");
    assert_ne!(got.session_id, 12_345);
    drop(spoofer);
    meeting.check().await;

    // Names that could change a NATS subject, or are too long, never get a connection.
    let long = "x".repeat(200);
    let bad_paths = [
        "/lobby/alice/%3E".to_owned(),
        "/lobby/alice/room.*".to_owned(),
        "/lobby/%2A/r1".to_owned(),
        format!("/lobby/{long}/r1"),
        format!("/lobby/alice/{long}"),
    ];
    for path in &bad_paths {
        assert_eq!(server.get(path).await.unwrap().0, 400, "{path}");
    }
    meeting.check().await;

    assert_eq!(server.metric("videocall_closed_sessions_total{reason=\"malformed\"}").await, 2);
    assert_eq!(server.metric("videocall_closed_sessions_total{reason=\"too_large\"}").await, 1);
    assert_eq!(server.metric("videocall_closed_sessions_total{reason=\"rate_limited\"}").await, 1);
    let refused = server.metric("videocall_closed_sessions_total{reason=\"invalid_id\"}").await;
    assert_eq!(refused, bad_paths.len() as u64);
    assert_eq!(server.get("/healthz").await.unwrap().0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_rooms_come_and_go_while_a_meeting_goes_on() {
    const ROOMS: usize = 2000;
    // Every connection of this test comes from 127.0.0.1.
    let server = Server::start(|c| c.connections.max_connections_per_ip = 2 * ROOMS).await;
    let mut meeting = Meeting::start(&server).await;
    let rooms: Vec<String> = (0..ROOMS).map(|i| format!("room{i}")).collect();
    let mut squatters = Vec::with_capacity(ROOMS);
    for chunk in rooms.chunks(100) {
        let opened =
            futures::future::join_all(chunk.iter().map(|room| server.ws("squatter", room, false)))
                .await;
        squatters.extend(opened);
        meeting.check().await;
    }
    assert_eq!(server.metric("videocall_rooms").await, ROOMS as u64 + 1);
    assert_eq!(server.metric("videocall_sessions").await, ROOMS as u64 + 2);
    for squatter in &mut squatters {
        squatter.close(None).await.unwrap();
    }
    drop(squatters);
    let deadline = tokio::time::Instant::now() + LONG;
    while server.metric("videocall_rooms").await != 1 {
        assert!(tokio::time::Instant::now() < deadline, "empty rooms were never removed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    meeting.check().await;
}
