//! The native client against a tiny scripted WebSocket server on 127.0.0.1:0.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use protobuf::{Message as _, MessageField};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use url::Url;
use videocall_client::{
    BackoffConfig, Client, ClientHandle, ClientOptions, Event, Events, PeerInfo, PeerKey,
    SendError, TransportChoice, TransportKind,
};
use videocall_types::protos::media_packet::VideoMetadata;
use videocall_types::protos::server_packet::{Participant, ServerError, Welcome, server_packet};
use videocall_types::{
    CloseReason, MediaPacket, MediaType, PacketType, PacketWrapper, RoomId, ServerPacket,
    SessionId, UserId,
};

const WAIT: Duration = Duration::from_secs(10);

type Ws = WebSocketStream<TcpStream>;

fn sid(n: u64) -> SessionId {
    SessionId::new(n).unwrap()
}

fn options(addr: std::net::SocketAddr) -> ClientOptions {
    let url = Url::parse(&format!("ws://{addr}")).unwrap();
    let mut options = ClientOptions::new(
        UserId::new("alice").unwrap(),
        RoomId::new("r1").unwrap(),
        TransportChoice::WebSocket { url },
    );
    options.backoff = BackoffConfig {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(100),
        jitter_seed: None,
        ..BackoffConfig::default()
    };
    options
}

fn start(options: ClientOptions) -> (ClientHandle, Events, tokio::task::JoinHandle<()>) {
    let (handle, events, driver) = Client::new(options).unwrap();
    (handle, events, tokio::spawn(driver))
}

async fn next(events: &mut Events) -> Event {
    timeout(WAIT, events.next()).await.expect("no event in time").expect("event stream ended")
}

/// Accepts one WebSocket and returns it with the request's path and query.
#[allow(clippy::result_large_err)] // the callback's type is tungstenite's
async fn accept(listener: &TcpListener) -> (Ws, String) {
    let (tcp, _) = listener.accept().await.unwrap();
    let mut path = String::new();
    let ws = tokio_tungstenite::accept_hdr_async(tcp, |req: &Request, resp: Response| {
        path = req.uri().to_string();
        Ok(resp)
    })
    .await
    .unwrap();
    (ws, path)
}

fn participant(session_id: u64, user: &str) -> Participant {
    Participant { session_id, user_id: user.into(), ..Default::default() }
}

fn server_packet(event: server_packet::Event) -> Message {
    let inner = ServerPacket { event: Some(event), ..Default::default() };
    let wrapper = PacketWrapper {
        packet_type: PacketType::SERVER.into(),
        data: inner.write_to_bytes().unwrap(),
        ..Default::default()
    };
    Message::Binary(wrapper.write_to_bytes().unwrap().into())
}

fn welcome(you: u64) -> Message {
    server_packet(server_packet::Event::Welcome(Welcome {
        you: MessageField::some(participant(you, "alice")),
        room_id: "r1".into(),
        participants: vec![participant(7, "bob")],
        ..Default::default()
    }))
}

fn key_frame(sequence: u64) -> MediaPacket {
    MediaPacket {
        media_type: MediaType::VIDEO.into(),
        frame_type: "key".into(),
        data: vec![0xab; 300],
        video_metadata: MessageField::some(VideoMetadata { sequence, ..Default::default() }),
        ..Default::default()
    }
}

/// Bob's key frame as our server relays it: stamped with his user id and session 7.
fn stamped_media() -> PacketWrapper {
    PacketWrapper {
        packet_type: PacketType::MEDIA.into(),
        email: "bob".into(),
        session_id: 7,
        data: key_frame(1).write_to_bytes().unwrap(),
        ..Default::default()
    }
}

/// Reads packets from the client until one of `kind` arrives.
async fn read_until(ws: &mut Ws, kind: MediaType) -> (PacketWrapper, MediaPacket) {
    loop {
        let message = timeout(WAIT, ws.next()).await.unwrap().unwrap().unwrap();
        let Message::Binary(bytes) = message else { continue };
        let wrapper = PacketWrapper::parse_from_bytes(&bytes).unwrap();
        let media = MediaPacket::parse_from_bytes(&wrapper.data).unwrap();
        if media.media_type.enum_value() == Ok(kind) {
            return (wrapper, media);
        }
    }
}

async fn close(mut ws: Ws, reason: CloseReason) {
    let frame = CloseFrame { code: reason.code().into(), reason: reason.description().into() };
    ws.close(Some(frame)).await.unwrap();
    while let Some(Ok(_)) = ws.next().await {}
}

fn bob() -> PeerInfo {
    PeerInfo::anonymous(PeerKey::Session(sid(7)), "bob")
}

#[tokio::test]
async fn client_joins_gets_a_stamped_packet_and_reconnects_after_the_server_closes() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (handle, mut events, driver) = start(options(listener.local_addr().unwrap()));
    handle.set_enabled(true, false, false);

    let server = tokio::spawn(async move {
        let (mut ws, path) = accept(&listener).await;
        assert_eq!(path, "/lobby/alice/r1?ext=1");
        ws.send(welcome(1)).await.unwrap();
        let relayed = stamped_media().write_to_bytes().unwrap();
        ws.send(Message::Binary(relayed.into())).await.unwrap();
        let (wrapper, heartbeat) = read_until(&mut ws, MediaType::HEARTBEAT).await;
        close(ws, CloseReason::GoingAway).await;

        // The client comes back on its own.
        let (mut ws, _) = accept(&listener).await;
        ws.send(welcome(2)).await.unwrap();
        while let Some(Ok(_)) = ws.next().await {}
        (wrapper, heartbeat)
    });

    let connected = Event::Connected {
        transport: TransportKind::WebSocket,
        session_id: Some(sid(1)),
        participants: vec![bob()],
    };
    assert_eq!(next(&mut events).await, connected);
    assert_eq!(next(&mut events).await, Event::PeerJoined(bob()));
    assert_eq!(
        next(&mut events).await,
        Event::Packet { from: PeerKey::Session(sid(7)), wrapper: stamped_media() }
    );
    assert_eq!(
        next(&mut events).await,
        Event::Disconnected { reason: Some(CloseReason::GoingAway), will_retry: true }
    );
    assert!(matches!(next(&mut events).await, Event::Reconnecting { attempt: 1, .. }));
    let reconnected = next(&mut events).await;
    assert!(matches!(reconnected, Event::Connected { session_id: Some(s), .. } if s == sid(2)));
    assert_eq!(handle.stats().reconnects, 1);

    handle.close();
    assert_eq!(
        next(&mut events).await,
        Event::Disconnected { reason: Some(CloseReason::Normal), will_retry: false }
    );
    assert_eq!(
        timeout(WAIT, events.next()).await.unwrap(),
        None,
        "the stream ends with the driver"
    );
    timeout(WAIT, driver).await.unwrap().unwrap();

    let (wrapper, heartbeat) = server.await.unwrap();
    assert_eq!(wrapper.email, "alice");
    assert_eq!(wrapper.route.media_type.enum_value(), Ok(MediaType::HEARTBEAT));
    assert_eq!(heartbeat.email, "alice");
    assert!(heartbeat.timestamp > 1.6e12, "ms since the epoch");
    assert!(
        heartbeat.heartbeat_metadata.video_enabled && !heartbeat.heartbeat_metadata.audio_enabled
    );
}

#[tokio::test]
async fn media_sent_through_the_handle_reaches_the_server_with_a_routing_header() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (handle, mut events, driver) = start(options(listener.local_addr().unwrap()));
    let server = tokio::spawn(async move {
        let (mut ws, _) = accept(&listener).await;
        ws.send(welcome(1)).await.unwrap();
        let received = read_until(&mut ws, MediaType::VIDEO).await;
        close(ws, CloseReason::Normal).await;
        received
    });

    assert!(matches!(next(&mut events).await, Event::Connected { .. }));
    handle.send_media(key_frame(42)).unwrap();
    let (wrapper, media) = timeout(WAIT, server).await.unwrap().unwrap();
    assert_eq!(wrapper.email, "alice");
    assert_eq!(wrapper.route.media_type.enum_value(), Ok(MediaType::VIDEO));
    assert!(wrapper.route.keyframe);
    assert_eq!(wrapper.route.sequence, 42);
    assert_eq!(media.data, vec![0xab; 300]);
    assert!(handle.stats().sent >= 2, "a heartbeat and the frame");
    handle.close();
    timeout(WAIT, driver).await.unwrap().unwrap();
}

#[tokio::test]
async fn invalid_id_close_ends_the_client_without_a_retry() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (handle, mut events, driver) = start(options(listener.local_addr().unwrap()));
    tokio::spawn(async move {
        let (mut ws, _) = accept(&listener).await;
        let error = ServerError {
            code: CloseReason::InvalidId.code().into(),
            reason: CloseReason::InvalidId.description().into(),
            ..Default::default()
        };
        ws.send(server_packet(server_packet::Event::Error(error))).await.unwrap();
        close(ws, CloseReason::InvalidId).await;
        // A retry would hang here in accept and fail the test's last assertions.
        let _ = listener.accept().await;
    });

    assert!(matches!(next(&mut events).await, Event::Connected { session_id: None, .. }));
    assert!(matches!(
        next(&mut events).await,
        Event::ServerError { reason: Some(CloseReason::InvalidId), code: 4011, .. }
    ));
    assert_eq!(
        next(&mut events).await,
        Event::Disconnected { reason: Some(CloseReason::InvalidId), will_retry: false }
    );
    assert_eq!(timeout(WAIT, events.next()).await.unwrap(), None);
    timeout(WAIT, driver).await.unwrap().unwrap();
    assert_eq!(handle.send_media(key_frame(1)), Err(SendError::NotConnected));
}

#[tokio::test]
async fn failed_connects_are_reported_and_sends_are_refused_meanwhile() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener); // nothing listens: every attempt is refused
    let (handle, mut events, driver) = start(options(addr));

    assert!(matches!(
        next(&mut events).await,
        Event::ConnectFailed { transport: TransportKind::WebSocket, will_retry: true, .. }
    ));
    assert!(matches!(next(&mut events).await, Event::Reconnecting { attempt: 1, .. }));
    assert_eq!(handle.send(PacketWrapper::default()), Err(SendError::NotConnected));
    assert!(matches!(next(&mut events).await, Event::ConnectFailed { .. }));
    assert!(matches!(next(&mut events).await, Event::Reconnecting { attempt: 2, .. }));
    assert_eq!(handle.stats().dropped_outgoing, 1);

    handle.close();
    timeout(WAIT, driver).await.unwrap().unwrap();
    assert_eq!(handle.send(PacketWrapper::default()), Err(SendError::Closed));
}

#[tokio::test]
async fn wss_is_supported_and_a_failed_tls_handshake_is_a_connect_failure() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        // Speaks no TLS: the handshake fails on the client's side.
        let (tcp, _) = listener.accept().await.unwrap();
        drop(tcp);
    });
    let mut options = options(addr);
    options.transport =
        TransportChoice::WebSocket { url: Url::parse(&format!("wss://{addr}")).unwrap() };
    options.reconnect = false;
    let (_handle, mut events, driver) = start(options);

    match next(&mut events).await {
        Event::ConnectFailed { will_retry: false, error, .. } => {
            assert!(!error.contains("not compiled"), "TLS support must be built in: {error}");
        }
        other => panic!("expected a connect failure, got {other:?}"),
    }
    assert_eq!(timeout(WAIT, events.next()).await.unwrap(), None);
    timeout(WAIT, driver).await.unwrap().unwrap();
}
