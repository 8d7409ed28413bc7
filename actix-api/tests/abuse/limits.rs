//! Connection caps, floods and churn over real WebSocket and WebTransport connections.

use std::net::SocketAddr;
use std::time::Duration;

use futures::SinkExt;
use protobuf::Message as _;
use tokio_tungstenite::tungstenite::Message;
use videocall_types::{MediaType, PacketType, PacketWrapper};

use crate::common::packets::routed_media;
use crate::common::{Server, Ws, ws_close_code, ws_recv, ws_send};

/// Opens a WebSocket from the loopback address `from` (any of 127.0.0.0/8); the HTTP status
/// of the refusal when the server does not upgrade.
async fn ws_from(server: &Server, from: &str, user: &str, room: &str) -> Result<Ws, u16> {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse::<SocketAddr>().unwrap()).unwrap();
    let stream = socket.connect(server.http).await.unwrap();
    let url = format!("ws://{}/lobby/{user}/{room}?ext=1", server.http);
    let stream = tokio_tungstenite::MaybeTlsStream::Plain(stream);
    match tokio_tungstenite::client_async(url, stream).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(other) => panic!("{other}"),
    }
}

fn key_exchange() -> Vec<u8> {
    PacketWrapper {
        packet_type: PacketType::RSA_PUB_KEY.into(),
        data: vec![1; 200],
        ..Default::default()
    }
    .write_to_bytes()
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_connection_flood_from_one_address_leaves_the_server_serving_others() {
    let server = Server::start(|c| c.connections.max_connections_per_ip = 20).await;
    let mut held = Vec::new();
    let mut refused = 0;
    for n in 0..60 {
        match ws_from(&server, "127.0.0.1", &format!("idle{n}"), "flood").await {
            Ok(ws) => held.push(ws),
            Err(status) => {
                assert_eq!(status, 503);
                refused += 1;
            }
        }
    }
    assert_eq!((held.len(), refused), (20, 40));
    // Health, metrics and a participant from elsewhere are unaffected.
    assert_eq!(server.get("/healthz").await.unwrap().0, 200);
    assert_eq!(
        server.metric("videocall_closed_sessions_total{reason=\"too_many_connections\"}").await,
        40
    );
    let mut guest = ws_from(&server, "127.0.0.2", "guest", "flood").await.unwrap();
    assert!(ws_recv(&mut guest, Duration::from_secs(2)).await.is_some(), "welcomed");
    // Places come back as connections close.
    held.truncate(10);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(ws_from(&server, "127.0.0.1", "again", "flood").await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_total_cap_holds_across_addresses() {
    let server = Server::start(|c| c.connections.max_connections = 5).await;
    let mut held = Vec::new();
    for n in 1..=5 {
        held.push(ws_from(&server, &format!("127.0.0.{n}"), "u", "r").await.unwrap());
    }
    assert_eq!(ws_from(&server, "127.0.0.9", "u", "r").await.err(), Some(503));
    assert_eq!(server.get("/metrics").await.unwrap().0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_room_refuses_with_503_and_other_rooms_still_join() {
    let server = Server::start(|c| c.connections.max_room_size = 3).await;
    let mut room = Vec::new();
    for n in 0..3 {
        room.push(ws_from(&server, "127.0.0.1", &format!("p{n}"), "small").await.unwrap());
    }
    assert_eq!(ws_from(&server, "127.0.0.1", "late", "small").await.err(), Some(503));
    assert!(ws_from(&server, "127.0.0.1", "late", "big").await.is_ok());
    assert_eq!(server.metric("videocall_closed_sessions_total{reason=\"room_full\"}").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_exchange_flood_from_one_participant_disconnects_no_one_else() {
    let server = Server::start(|_| {}).await;
    let mut mallory = ws_from(&server, "127.0.0.1", "mallory", "r").await.unwrap();
    let mut alice = ws_from(&server, "127.0.0.2", "alice", "r").await.unwrap();
    let mut bob = server.ws_small_buffer("bob", "r").await;
    // Bob does not read while Mallory sends more key packets than his queue could ever hold.
    for _ in 0..1500 {
        ws_send(&mut mallory, key_exchange()).await;
    }
    ws_send(&mut alice, routed_media(MediaType::AUDIO, "alice", true, 1, 50)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Bob then reads: he is still connected and gets Alice's audio.
    let mut from_alice = 0;
    while let Some(packet) = ws_recv(&mut bob, Duration::from_millis(500)).await {
        let wrapper = PacketWrapper::parse_from_bytes(&packet).unwrap();
        from_alice += usize::from(wrapper.email == "alice");
    }
    assert_eq!(from_alice, 1);
    assert!(
        server.metric("videocall_dropped_packets_total{reason=\"peer_control_flood\"}").await > 0
    );
    assert_eq!(server.metric("videocall_closed_sessions_total{reason=\"slow_receiver\"}").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ping_flood_is_rate_limited_like_packets() {
    let server = Server::start(|c| c.rate_limit_packets = 100).await;
    let mut ws = ws_from(&server, "127.0.0.1", "pinger", "r").await.unwrap();
    for _ in 0..1000 {
        if ws.send(Message::Ping(Vec::new().into())).await.is_err() {
            break;
        }
    }
    assert_eq!(ws_close_code(&mut ws).await, Some(4008));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webtransport_connections_over_the_cap_are_refused() {
    let server = Server::start(|c| c.connections.max_connections_per_ip = 2).await;
    let _a = server.wt("a", "r", true).await;
    let _b = server.wt("b", "r", true).await;
    assert!(server.try_wt("c", "r", true).await.is_err());
    assert_eq!(
        server.metric("videocall_closed_sessions_total{reason=\"too_many_connections\"}").await,
        1
    );
}
