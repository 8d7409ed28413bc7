//! Sessions over real QUIC on loopback: relaying, refusals, close codes and shutdown.

mod support;

use std::sync::atomic::Ordering::Relaxed;

use protobuf::Message;
use support::{TestServer, media_packet, payload_of};
use videocall_types::protos::server_packet::{ServerPacket, server_packet};
use videocall_types::{CloseReason, PacketType, PacketWrapper};
use webtransport_server::Config;
use wtransport::error::ConnectingError;

#[tokio::test]
async fn two_clients_in_a_room_exchange_stamped_packets_and_other_rooms_hear_nothing() {
    let server = TestServer::start().await;
    let alice = server.join("alice", "r1").await;
    let bob = server.join("bob", "r1").await;
    let carol = server.join("carol", "r2").await;

    alice.send(&media_packet("mallory", b"hello")).await;

    let got = bob.recv_relayed().await;
    assert_eq!(got.packet_type.enum_value(), Ok(PacketType::MEDIA));
    assert_eq!(got.email, "alice", "the server stamps the URL user over what the client wrote");
    assert_ne!(got.session_id, 0, "the server stamps a session id");
    assert_eq!(payload_of(&got), b"hello");
    carol.expect_silence().await;
    alice.expect_silence().await;
}

#[tokio::test]
async fn invalid_lobby_paths_are_refused_and_counted() {
    let server = TestServer::start().await;
    let paths = [
        "/lobby/alice/a.b",
        "/lobby/alice/%2A",
        "/lobby/alice/r%3E",
        "/lobby/alice",
        "/elsewhere",
        "/lobby/al%zzice/r1",
    ];
    for path in paths {
        match server.connect(path).await {
            Err(ConnectingError::SessionRejected) => {}
            Err(other) => panic!("{path}: refused the wrong way: {other}"),
            Ok(_) => panic!("{path}: accepted"),
        }
    }
    assert_eq!(server.relay.metrics().closes(CloseReason::InvalidId), paths.len() as u64);
    assert_eq!(server.relay.metrics().sessions_total.load(Relaxed), 0);
}

#[tokio::test]
async fn url_user_with_a_space_joins_as_underscore() {
    let server = TestServer::start().await;
    let alice = server.join_path("/lobby/team%20lead/r1").await;
    let bob = server.join("bob", "r1").await;
    alice.send(&media_packet("x", b"hi")).await;
    assert_eq!(bob.recv_relayed().await.email, "team_lead");
}

#[tokio::test]
async fn malformed_stream_closes_with_1007_and_room_keeps_working() {
    let server = TestServer::start().await;
    let alice = server.join("alice", "r1").await;
    let bob = server.join("bob", "r1").await;
    let mallory = server.join("mallory", "r1").await;

    mallory.send(&[0x0b]).await;

    assert_eq!(mallory.close_code().await, u64::from(CloseReason::Malformed.code()));
    alice.send(&media_packet("alice", b"still here")).await;
    assert_eq!(payload_of(&bob.recv_relayed().await), b"still here");
    server.until(|relay| relay.metrics().closes(CloseReason::Malformed) == 1).await;
}

#[tokio::test]
async fn oversized_stream_closes_with_1009() {
    let server =
        TestServer::with_config(Config { max_packet_bytes: 10_000, ..Config::default() }).await;
    let alice = server.join("alice", "r1").await;
    let bob = server.join("bob", "r1").await;

    alice.send(&media_packet("alice", &[7; 9_000])).await;
    assert_eq!(
        payload_of(&bob.recv_relayed().await).len(),
        9_000,
        "a packet under the limit passes"
    );
    alice.send(&media_packet("alice", &[7; 20_000])).await;

    assert_eq!(alice.close_code().await, u64::from(CloseReason::TooLarge.code()));
    bob.expect_silence().await;
}

#[tokio::test]
async fn packets_keep_the_order_their_streams_were_opened() {
    let server = TestServer::start().await;
    let alice = server.join("alice", "r1").await;
    let bob = server.join("bob", "r1").await;

    // The first stream finishes after the second: the server must still relay it first.
    let first = media_packet("alice", b"first");
    let mut slow = alice.connection.open_uni().await.unwrap().await.unwrap();
    slow.write_all(&first[..3]).await.unwrap();
    tokio::time::sleep(support::QUIET / 3).await;
    alice.send(&media_packet("alice", b"second")).await;
    tokio::time::sleep(support::QUIET / 3).await;
    slow.write_all(&first[3..]).await.unwrap();
    slow.finish().await.unwrap();
    for i in 0..20u8 {
        alice.send(&media_packet("alice", &[i])).await;
    }

    assert_eq!(payload_of(&bob.recv_relayed().await), b"first");
    assert_eq!(payload_of(&bob.recv_relayed().await), b"second");
    for i in 0..20u8 {
        assert_eq!(payload_of(&bob.recv_relayed().await), [i]);
    }
}

#[tokio::test]
async fn datagrams_are_relayed_like_streams() {
    let server = TestServer::start().await;
    let alice = server.join("alice", "r1").await;
    let bob = server.join("bob", "r1").await;

    alice.connection.send_datagram(media_packet("alice", b"small")).unwrap();

    let got = bob.recv_relayed().await;
    assert_eq!((got.email.as_str(), payload_of(&got)), ("alice", b"small".to_vec()));
}

#[tokio::test]
async fn ext_query_asks_for_a_welcome() {
    let server = TestServer::start().await;
    let plain = server.join("plain", "r1").await;
    let ext = server.join_path("/lobby/alice/r1?ext=1").await;

    let packet = PacketWrapper::parse_from_bytes(&ext.recv().await).unwrap();
    assert_eq!(packet.packet_type.enum_value(), Ok(PacketType::SERVER));
    let event = ServerPacket::parse_from_bytes(&packet.data).unwrap().event;
    let Some(server_packet::Event::Welcome(welcome)) = event else {
        panic!("expected a welcome, got {event:?}")
    };
    assert_eq!((welcome.you.user_id.as_str(), welcome.room_id.as_str()), ("alice", "r1"));
    assert_eq!(welcome.participants.len(), 1);
    plain.expect_silence().await;
}

#[tokio::test]
async fn shutdown_closes_sessions_with_1001_and_run_returns() {
    let server = TestServer::start().await;
    let alice = server.join("alice", "r1").await;
    let relay = server.relay.clone();

    server.stop().await.unwrap();

    assert_eq!(alice.close_code().await, u64::from(CloseReason::GoingAway.code()));
    assert_eq!(relay.metrics().closes(CloseReason::GoingAway), 1);
    assert_eq!(relay.metrics().sessions.load(Relaxed), 0, "run returned with a session still open");
}
