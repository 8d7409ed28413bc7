//! The native `videocall-client` against a real all-in-one server, over both transports.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::Server;
use protobuf::Message;
use url::Url;
use videocall_client::{
    Client, ClientHandle, ClientOptions, Event, Events, MediaFlags, PeerKey, TransportChoice,
    TransportKind,
};
use videocall_types::{MediaPacket, MediaType, RoomId, UserId};

const LONG: Duration = Duration::from_secs(10);

fn start(user: &str, room: &str, transport: TransportChoice) -> (ClientHandle, Events) {
    let mut options =
        ClientOptions::new(UserId::new(user).unwrap(), RoomId::new(room).unwrap(), transport);
    options.connect_timeout = Duration::from_secs(2);
    let (handle, events, driver) = Client::new(options).unwrap();
    tokio::spawn(driver);
    (handle, events)
}

fn ws(server: &Server) -> TransportChoice {
    TransportChoice::WebSocket { url: Url::parse(&format!("ws://{}", server.http)).unwrap() }
}

async fn wt(server: &Server) -> TransportChoice {
    let url = Url::parse(&format!("https://{}", server.webtransport.unwrap())).unwrap();
    TransportChoice::WebTransport { url, cert_hash: Some(server.certificate_hash().await) }
}

/// The first event matching `pick`, within [`LONG`].
async fn until<T>(events: &mut Events, mut pick: impl FnMut(Event) -> Option<T>) -> T {
    tokio::time::timeout(LONG, async {
        loop {
            let event = events.recv().await.expect("client ended");
            if let Some(found) = pick(event) {
                return found;
            }
        }
    })
    .await
    .expect("expected event never came")
}

fn video_key_frame(seq: u64) -> MediaPacket {
    let mut packet = MediaPacket::new();
    packet.media_type = MediaType::VIDEO.into();
    packet.frame_type = "key".into();
    packet.data = vec![9; 5000];
    packet.video_metadata.mut_or_insert_default().sequence = seq;
    packet
}

#[tokio::test]
async fn native_clients_over_websocket_and_webtransport_meet_and_exchange_media() {
    let server = Server::start(|_| {}).await;
    let (alice, mut alice_events) = start("alice", "demo", ws(&server));
    let alice_session = until(&mut alice_events, |e| match e {
        Event::Connected { transport: TransportKind::WebSocket, session_id, .. } => session_id,
        _ => None,
    })
    .await;
    let (bob, mut bob_events) = start("bob", "demo", wt(&server).await);
    let participants = until(&mut bob_events, |e| match e {
        Event::Connected { transport: TransportKind::WebTransport, participants, .. } => {
            Some(participants)
        }
        _ => None,
    })
    .await;
    assert_eq!(participants.len(), 1);
    assert_eq!(
        (&participants[0].user, &participants[0].key),
        (&"alice".to_owned(), &PeerKey::Session(alice_session))
    );
    let bob_peer = until(&mut alice_events, |e| match e {
        Event::PeerJoined(peer) => Some(peer),
        _ => None,
    })
    .await;
    assert_eq!(bob_peer.user, "bob");

    // Video from bob reaches alice as-is, stamped with bob's session.
    bob.send_media(video_key_frame(1)).unwrap();
    let (from, wrapper) = until(&mut alice_events, |e| match e {
        Event::Packet { from, wrapper } => Some((from, wrapper)),
        _ => None,
    })
    .await;
    assert_eq!(from, bob_peer.key);
    assert_eq!(wrapper.email, "bob");
    let packet = MediaPacket::parse_from_bytes(&wrapper.data).unwrap();
    assert_eq!((packet.video_metadata.sequence, packet.data.len()), (1, 5000));

    // Heartbeat flags travel the other way.
    alice.set_enabled(true, false, true);
    let flags = until(&mut bob_events, |e| match e {
        Event::PeerFlags { flags, .. } if flags.video => Some(flags),
        _ => None,
    })
    .await;
    assert_eq!(flags, MediaFlags { video: true, audio: false, screen: true });

    // Leaving is seen at once, not after a heartbeat timeout.
    bob.close();
    let left = until(&mut alice_events, |e| match e {
        Event::PeerLeft { peer, .. } => Some(peer),
        _ => None,
    })
    .await;
    assert_eq!(left.user, "bob");
}

fn video_frame(seq: u64) -> MediaPacket {
    let mut packet = video_key_frame(seq);
    if seq % 10 != 1 {
        packet.frame_type = "delta".into();
    }
    packet
}

/// The video sequence numbers of the next `count` packets `events` delivers from `user`.
async fn video_sequences(events: &mut Events, user: &str, count: usize) -> Vec<u64> {
    let mut got = Vec::new();
    while got.len() < count {
        let seq = until(events, |e| match e {
            Event::Packet { wrapper, .. } if wrapper.email == user => {
                let packet = MediaPacket::parse_from_bytes(&wrapper.data).ok()?;
                (packet.media_type.enum_value() == Ok(MediaType::VIDEO))
                    .then_some(packet.video_metadata.sequence)
            }
            _ => None,
        })
        .await;
        got.push(seq);
    }
    got
}

#[tokio::test]
async fn framed_and_one_packet_webtransport_clients_exchange_video_in_order() {
    let server = Server::start(|_| {}).await;
    let start_wt = |user: &str, wt_streams: bool, transport: TransportChoice| {
        let mut options =
            ClientOptions::new(UserId::new(user).unwrap(), RoomId::new("demo").unwrap(), transport);
        options.wt_streams = wt_streams;
        let (handle, events, driver) = Client::new(options).unwrap();
        tokio::spawn(driver);
        (handle, events)
    };
    let (framed, mut framed_events) = start_wt("framed", true, wt(&server).await);
    let (old, mut old_events) = start_wt("old", false, wt(&server).await);
    until(&mut framed_events, |e| matches!(e, Event::PeerJoined(_)).then_some(())).await;
    until(&mut old_events, |e| matches!(e, Event::Connected { .. }).then_some(())).await;

    // Key frames every tenth packet from the first: the framed client starts a new stream for
    // each group.
    let frames = 30;
    for seq in 1..=frames {
        framed.send_media(video_frame(seq)).unwrap();
        old.send_media(video_frame(seq)).unwrap();
    }
    let expected: Vec<u64> = (1..=frames).collect();
    // Framed, each group of pictures (its own stream) arrives in order; groups are read
    // concurrently, so a newer group may overtake the end of an older one.
    let framed_got = video_sequences(&mut framed_events, "old", expected.len()).await;
    for group in [1..=10, 11..=20, 21..=30] {
        let order: Vec<u64> = framed_got.iter().copied().filter(|s| group.contains(s)).collect();
        assert_eq!(order, group.collect::<Vec<_>>(), "one group in order: {framed_got:?}");
    }
    // One packet per stream, packets arrive as the concurrently read streams complete.
    let mut got = video_sequences(&mut old_events, "framed", expected.len()).await;
    got.sort_unstable();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn auto_falls_back_to_websocket_when_webtransport_is_unreachable() {
    let server = Server::start(|c| c.embedded_webtransport = Some(false)).await;
    // A UDP port nobody serves.
    let dead = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let choice = TransportChoice::Auto {
        webtransport: Url::parse(&format!("https://{dead}")).unwrap(),
        cert_hash: Some([0; 32]),
        websocket: Url::parse(&format!("ws://{}", server.http)).unwrap(),
    };
    let (_client, mut events) = start("carol", "demo", choice);
    let transport = until(&mut events, |e| match e {
        Event::Connected { transport, .. } => Some(transport),
        _ => None,
    })
    .await;
    assert_eq!(transport, TransportKind::WebSocket);
}

#[tokio::test]
async fn a_client_reconnects_when_its_server_restarts() {
    let server = Server::start(|c| c.embedded_webtransport = Some(false)).await;
    let addr = server.http;
    let (client, mut events) = start("dave", "demo", ws(&server));
    until(&mut events, |e| matches!(e, Event::Connected { .. }).then_some(())).await;
    server.stop().await.unwrap();
    let will_retry = until(&mut events, |e| match e {
        Event::Disconnected { will_retry, .. } => Some(will_retry),
        _ => None,
    })
    .await;
    assert!(will_retry, "going away is retried");
    let _server = Server::start(move |c| {
        c.listen = addr;
        c.embedded_webtransport = Some(false);
    })
    .await;
    until(&mut events, |e| matches!(e, Event::Connected { .. }).then_some(())).await;
    assert_eq!(client.stats().reconnects, 1);
}
