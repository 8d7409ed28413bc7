//! One all-in-one server on loopback, raw clients of both transports.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::packets::{heartbeat, parse, plain_media, routed_media, sequence, server_event};
use common::{Server, ws_close_code, ws_recv, ws_send, wt_recv, wt_send, wt_send_refusable};
use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use videocall_types::protos::server_packet::server_packet::Event;
use videocall_types::{CloseReason, MediaType};

const SHORT: Duration = Duration::from_millis(300);
const LONG: Duration = Duration::from_secs(5);

#[tokio::test]
async fn websocket_and_webtransport_clients_exchange_media_both_ways() {
    let server = Server::start(|_| {}).await;
    let mut ws = server.ws("alice", "r1", false).await;
    let wt = server.wt("bob", "r1", false).await;
    let mut other_room = server.ws("carol", "r2", false).await;
    // Both joins are registered before anyone speaks.
    tokio::time::sleep(Duration::from_millis(100)).await;

    ws_send(&mut ws, routed_media(MediaType::AUDIO, "alice", true, 1, 200)).await;
    let got = parse(&wt_recv(&wt, LONG).await.expect("webtransport client got nothing"));
    assert_eq!(got.email, "alice");

    wt_send(&wt, &routed_media(MediaType::AUDIO, "bob", true, 2, 200)).await;
    let got = parse(&ws_recv(&mut ws, LONG).await.expect("websocket client got nothing"));
    assert_eq!(got.email, "bob");

    assert_eq!(ws_recv(&mut other_room, SHORT).await, None, "another room hears nothing");
}

#[tokio::test]
async fn the_self_signed_certificate_is_renewed_without_dropping_sessions() {
    let server = Server::start(|c| c.certificate_renewal_secs = Some(1)).await;
    let first = server.certificate_hash().await;
    let early = server.wt("alice", "r1", false).await;
    let mut renewed = first;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        renewed = server.certificate_hash().await;
        if renewed != first {
            break;
        }
    }
    assert_ne!(renewed, first, "no new certificate after 5 s");

    // Newcomers are served the new certificate (they connect with the new hash only), and the
    // session opened under the old one still carries media.
    let late = server.wt("bob", "r1", false).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    wt_send(&early, &routed_media(MediaType::AUDIO, "alice", true, 1, 200)).await;
    let got = parse(&wt_recv(&late, LONG).await.expect("the new session got nothing"));
    assert_eq!(got.email, "alice");
    let (_, body) = server.get("/api/v1/config").await.unwrap();
    let hex: String = renewed.iter().map(|b| format!("{b:02x}")).collect();
    assert!(body.contains(&hex), "/api/v1/config hands out the new hash: {body}");
}

#[tokio::test]
async fn a_spoofed_identity_is_overwritten_by_the_server() {
    let server = Server::start(|_| {}).await;
    let mut mallory = server.ws("mallory", "r1", false).await;
    let mut bob = server.ws("bob", "r1", false).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    ws_send(&mut mallory, plain_media(MediaType::AUDIO, "alice", true, 1, 10)).await;
    let got = parse(&ws_recv(&mut bob, LONG).await.unwrap());
    assert_eq!(got.email, "mallory");
    assert_ne!(got.session_id, 0);
}

#[tokio::test]
async fn a_client_of_the_plain_old_protocol_works_and_never_sees_server_packets() {
    let server = Server::start(|_| {}).await;
    let mut old = server.ws("old", "r1", false).await;
    let mut new = server.ws("new", "r1", true).await;
    let Some(Event::Welcome(_)) = server_event(&ws_recv(&mut new, LONG).await.unwrap()) else {
        panic!("extended client is welcomed first")
    };
    ws_send(&mut old, heartbeat("old")).await;
    ws_send(&mut old, plain_media(MediaType::VIDEO, "old", true, 7, 1000)).await;
    let first = ws_recv(&mut new, LONG).await.unwrap();
    let second = ws_recv(&mut new, LONG).await.unwrap();
    assert_eq!(parse(&first).email, "old");
    assert_eq!(sequence(&second), 7);

    ws_send(&mut new, routed_media(MediaType::AUDIO, "new", true, 1, 100)).await;
    let got = ws_recv(&mut old, LONG).await.unwrap();
    assert_eq!(server_event(&got), None, "the old client gets media, not server packets");
    assert_eq!(parse(&got).email, "new");
}

#[tokio::test]
async fn invalid_ids_are_refused_before_the_upgrade() {
    let server = Server::start(|_| {}).await;
    for path in [
        "/lobby/alice/*",
        "/lobby/alice/%2A",
        "/lobby/alice/a.b",
        "/lobby/alice/%3E",
        "/lobby/a.b/r1",
    ] {
        let (status, body) = server.get(path).await.unwrap();
        assert_eq!(status, 400, "{path}: {body}");
        assert!(body.contains("only letters, digits"), "{path}: {body}");
    }
    let long = "u".repeat(65);
    assert_eq!(server.get(&format!("/lobby/{long}/r1")).await.unwrap().0, 400);
    assert_eq!(server.metric("videocall_closed_sessions_total{reason=\"invalid_id\"}").await, 6);
}

#[tokio::test]
async fn bad_frames_close_with_the_documented_code_and_others_keep_talking() {
    let server = Server::start(|c| c.max_packet_bytes = 10_000).await;
    let mut alice = server.ws("alice", "r1", false).await;
    let mut bob = server.ws("bob", "r1", false).await;

    let cases: [(Message, CloseReason); 4] = [
        (Message::Binary(vec![0x0b, 0x01].into()), CloseReason::Malformed),
        (Message::Binary(vec![0x08, 0x63].into()), CloseReason::Unsupported),
        (Message::Text("hello".into()), CloseReason::Unsupported),
        (
            Message::Binary(plain_media(MediaType::VIDEO, "m", true, 1, 20_000).into()),
            CloseReason::TooLarge,
        ),
    ];
    for (message, reason) in cases {
        let mut mallory = server.ws("mallory", "r1", false).await;
        mallory.send(message).await.unwrap();
        assert_eq!(ws_close_code(&mut mallory).await, Some(reason.code()), "{reason:?}");
    }

    ws_send(&mut alice, plain_media(MediaType::AUDIO, "alice", true, 1, 10)).await;
    assert_eq!(parse(&ws_recv(&mut bob, LONG).await.unwrap()).email, "alice");
    assert_eq!(server.metric("videocall_closed_sessions_total{reason=\"malformed\"}").await, 1);
    assert_eq!(server.metric("videocall_closed_sessions_total{reason=\"unsupported\"}").await, 2);
    assert_eq!(server.metric("videocall_closed_sessions_total{reason=\"too_large\"}").await, 1);
}

#[tokio::test]
async fn bad_webtransport_streams_close_with_the_documented_code() {
    let server = Server::start(|c| c.max_packet_bytes = 10_000).await;
    let bob = server.wt("bob", "r1", false).await;
    for (packet, reason) in
        [(vec![0x0b], CloseReason::Malformed), (vec![0u8; 20_000], CloseReason::TooLarge)]
    {
        let mallory = server.wt("mallory", "r1", false).await;
        wt_send_refusable(&mallory, &packet).await;
        let closed = tokio::time::timeout(LONG, mallory.closed()).await.unwrap();
        match closed {
            wtransport::error::ConnectionError::ApplicationClosed(close) => {
                assert_eq!(close.code().into_inner(), u64::from(reason.code()), "{reason:?}");
            }
            other => panic!("{reason:?}: closed with {other:?}"),
        }
    }
    let alice = server.wt("alice", "r1", false).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    wt_send(&alice, &plain_media(MediaType::AUDIO, "alice", true, 1, 10)).await;
    assert_eq!(parse(&wt_recv(&bob, LONG).await.unwrap()).email, "alice");
}

#[tokio::test]
async fn a_receiver_that_stops_reading_does_not_stall_the_room() {
    let server = Server::start(|c| {
        c.rate_limit_packets = 100_000;
        c.rate_limit_bytes = 100_000_000;
        c.slow_receiver_timeout_secs = 2;
    })
    .await;
    let mut publisher = server.ws("pub", "r1", false).await;
    let mut reader = server.ws("reader", "r1", false).await;
    // Never reads: its socket buffers fill, then the server's queue for it, then it is cut off.
    let mut stalled = server.ws_small_buffer("stalled", "r1").await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    const FRAMES: u64 = 1500;
    let sender = tokio::spawn(async move {
        for seq in 0..FRAMES {
            let frame = routed_media(MediaType::VIDEO, "pub", seq % 30 == 0, seq, 20_000);
            ws_send(&mut publisher, frame).await;
            // About 10 MB/s: far more than any real sender, little enough for a debug build.
            if seq % 10 == 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        publisher
    });
    let mut delivered = 0;
    while delivered < FRAMES {
        let Some(frame) = ws_recv(&mut reader, LONG).await else { break };
        assert_eq!(sequence(&frame), delivered, "in order, nothing lost");
        delivered += 1;
    }
    let _publisher = sender.await.unwrap();
    assert_eq!(delivered, FRAMES, "the reading receiver got every frame");

    // 30 MB went out to a receiver that reads nothing: the server dropped video for it (until a
    // key frame that never fit) instead of buffering, then disconnected it.
    let dropped = server
        .metric("videocall_dropped_packets_total{reason=\"video_queue_full\"}")
        .await
        + server.metric("videocall_dropped_packets_total{reason=\"video_until_keyframe\"}").await;
    assert!(dropped > 0, "nothing was dropped for the stalled receiver");
    let deadline = tokio::time::Instant::now() + LONG;
    while server.metric("videocall_closed_sessions_total{reason=\"slow_receiver\"}").await == 0 {
        assert!(tokio::time::Instant::now() < deadline, "the stalled receiver was never cut off");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Its socket is not kept either: once it has taken nothing for twice the slow-receiver
    // timeout, the server's kernel aborts it (TCP_USER_TIMEOUT). Without that, reading now
    // would unblock the server's pending write and end in a clean close frame.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let ended = loop {
        match tokio::time::timeout(LONG, stalled.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => break format!("a close frame: {frame:?}"),
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(err))) => break format!("error: {err}"),
            Ok(None) => break "end of stream".into(),
            Err(_) => panic!("the stalled connection is still open"),
        }
    };
    assert!(ended.contains("reset"), "the server should have aborted it, got {ended}");
}

#[tokio::test]
async fn health_readiness_and_metrics_are_served() {
    let server = Server::start(|_| {}).await;
    assert_eq!(server.get("/healthz").await.unwrap(), (200, "ok".into()));
    assert_eq!(server.get("/readyz").await.unwrap().0, 200);
    let mut ws = server.ws("alice", "r1", false).await;
    ws_send(&mut ws, heartbeat("alice")).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.metric("videocall_sessions").await, 1);
    assert_eq!(server.metric("videocall_rooms").await, 1);
    assert_eq!(server.metric("videocall_packets_in_total").await, 1);
    assert_eq!(server.metric("videocall_bus_connected").await, 1);
    let (status, page) = server.get("/meeting/alice/r1").await.unwrap();
    assert_eq!(status, 200);
    assert!(page.contains("videocall"), "SPA fallback serves the page");
}

#[tokio::test]
async fn the_browser_app_gets_its_settings_at_run_time() {
    let server = Server::start(|_| {}).await;
    let (status, body) = server.get("/api/v1/config").await.unwrap();
    assert_eq!(status, 200);
    let config: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(config["websocket_url"], format!("ws://{}", server.http));
    let port = server.webtransport.unwrap().port();
    assert_eq!(config["webtransport_url"], format!("https://127.0.0.1:{port}"));
    let hash = server.certificate_hash().await;
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(config["certificate_hash"], hex);
    assert_eq!(config["video_codec"], "vp9");

    let split = Server::start(|c| {
        c.embedded_webtransport = Some(false);
        c.websocket_url = Some("wss://api.example.com".into());
        c.video_codec = "vp8".into();
    })
    .await;
    let (_, body) = split.get("/api/v1/config").await.unwrap();
    let config: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(config["websocket_url"], "wss://api.example.com");
    assert!(config["webtransport_url"].is_null(), "no WebTransport here: {config}");
    assert!(config["certificate_hash"].is_null());
    assert_eq!(config["video_codec"], "vp8");
}

#[tokio::test]
async fn shutdown_tells_clients_to_go_away() {
    let server = Server::start(|_| {}).await;
    let mut ws = server.ws("alice", "r1", true).await;
    assert!(matches!(
        server_event(&ws_recv(&mut ws, LONG).await.unwrap()),
        Some(Event::Welcome(_))
    ));
    let stopping = tokio::spawn(server.stop());
    let Some(Event::Error(error)) = server_event(&ws_recv(&mut ws, LONG).await.unwrap()) else {
        panic!("extended clients are told why")
    };
    assert_eq!(error.code, u32::from(CloseReason::GoingAway.code()));
    assert_eq!(ws_close_code(&mut ws).await, Some(CloseReason::GoingAway.code()));
    stopping.await.unwrap().unwrap();
}

/// The frames a client may send in pieces (RFC 6455 §5.4) are joined, within the packet limit;
/// pings are answered with the same payload; a burst of packets arrives whole and in order
/// although the writer batches them.
#[tokio::test]
async fn websocket_fragments_are_joined_pings_answered_and_bursts_kept_in_order() {
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

    let server = Server::start(|c| c.max_packet_bytes = 10_000).await;
    let mut alice = server.ws("alice", "r1", false).await;
    let mut bob = server.ws("bob", "r1", false).await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    let packet = plain_media(MediaType::VIDEO, "alice", true, 1, 3_000);
    let pieces: Vec<&[u8]> = packet.chunks(packet.len() / 3 + 1).collect();
    assert_eq!(pieces.len(), 3);
    for (i, piece) in pieces.iter().enumerate() {
        let opcode = if i == 0 { OpCode::Data(Data::Binary) } else { OpCode::Data(Data::Continue) };
        let frame = Frame::message(piece.to_vec(), opcode, i == pieces.len() - 1);
        alice.send(Message::Frame(frame)).await.unwrap();
    }
    let got = ws_recv(&mut bob, LONG).await.expect("the joined packet");
    assert_eq!(parse(&got).email, "alice");
    assert_eq!(parse(&got).data, parse(&packet).data);

    bob.send(Message::Ping(b"are you there".to_vec().into())).await.unwrap();
    let pong = loop {
        match tokio::time::timeout(LONG, bob.next()).await.unwrap().unwrap().unwrap() {
            Message::Pong(payload) => break payload,
            _ => continue,
        }
    };
    assert_eq!(&pong[..], b"are you there");

    for seq in 0..200 {
        ws_send(&mut alice, plain_media(MediaType::VIDEO, "alice", true, seq, 100)).await;
    }
    for seq in 0..200 {
        let got = ws_recv(&mut bob, LONG).await.expect("every packet of the burst");
        assert_eq!(sequence(&got), seq, "in order");
    }

    // Pieces that add up to more than a packet are closed as too large.
    let mut mallory = server.ws("mallory", "r1", false).await;
    for i in 0..3 {
        let opcode = if i == 0 { OpCode::Data(Data::Binary) } else { OpCode::Data(Data::Continue) };
        mallory
            .send(Message::Frame(Frame::message(vec![0u8; 4_000], opcode, false)))
            .await
            .unwrap();
    }
    assert_eq!(ws_close_code(&mut mallory).await, Some(CloseReason::TooLarge.code()));
}

#[test]
fn log_format_json_writes_one_json_object_per_line() {
    use std::io::{BufRead, BufReader};
    let data = tempfile::tempdir().unwrap();
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_actix-api"))
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .env("EMBEDDED_WEBTRANSPORT", "0")
        .env("DATA_DIR", data.path())
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(server.stdout.take().unwrap());
    let mut listening = None;
    for line in stdout.lines().take(50) {
        let line = line.unwrap();
        if let Ok(entry) = serde_json::from_str::<serde_json::Value>(&line)
            && entry["message"] == "listening"
        {
            listening = Some(entry);
            break;
        }
    }
    let _ = server.kill();
    let _ = server.wait();
    let entry = listening.expect("a JSON log line for \"listening\"");
    assert_eq!(entry["level"], "INFO");
    assert!(entry["http"].as_str().is_some_and(|a| a.starts_with("127.0.0.1:")), "{entry}");
}
