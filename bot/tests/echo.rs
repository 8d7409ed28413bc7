//! Echo mode against a real server: mirrors re-send one participant's stream as their own.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::time::Duration;

use bot::echo::{self, EchoPlan};
use bot::target::Server;
use common::start_server;
use protobuf::Message;
use videocall_client::{Client, ClientOptions, Event, TransportChoice};
use videocall_types::{MediaPacket, RoomId, UserId};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mirror_resends_the_echoed_stream_as_itself() {
    let server = start_server().await;
    let join = |user: &str| {
        let choice = TransportChoice::WebSocket { url: server.http.clone() };
        let options =
            ClientOptions::new(UserId::new(user).unwrap(), RoomId::new("demo").unwrap(), choice);
        let (handle, events, driver) = Client::new(options).unwrap();
        tokio::spawn(driver);
        (handle, events)
    };
    let (alice, _alice_events) = join("alice");
    let (_observer, mut observed) = join("observer");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let plan = EchoPlan {
        server: Server::WebSocket(server.http.clone()),
        room: "demo".into(),
        echo_user: "alice".into(),
        count: 2,
        prefix: "echo".into(),
        ramp_gap: Duration::ZERO,
    };
    let mirrors = tokio::spawn(echo::run(plan, async {
        let _ = stopped.await;
    }));

    // Alice keeps talking until the observer has heard both mirrors.
    let mut heard = HashSet::new();
    let mut seq = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while heard.len() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "heard only {heard:?}");
        seq += 1;
        let _ = alice.send_media(bot::probe::audio(seq, 20, bot::probe::unix_us()));
        let until = tokio::time::Instant::now() + Duration::from_millis(100);
        while let Ok(Some(event)) = tokio::time::timeout_at(until, observed.recv()).await {
            if let Event::Packet { wrapper, .. } = event
                && wrapper.email.starts_with("echo")
            {
                let inner = MediaPacket::parse_from_bytes(&wrapper.data).unwrap();
                assert_eq!(inner.email, wrapper.email, "the inner packet names the mirror too");
                heard.insert(wrapper.email.clone());
            }
        }
    }
    let _ = stop.send(());
    let stats = mirrors.await.unwrap().unwrap();
    assert!(stats.echoed >= 2 && stats.received >= stats.echoed, "{stats:?}");
}
