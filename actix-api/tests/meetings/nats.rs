//! Host actions across instances: two servers share a real PostgreSQL and a real NATS; the
//! host acts through server A's API and sessions connected to server B obey.

use std::time::Duration;

use serde_json::json;
use videocall_types::CloseReason;
use videocall_types::protos::server_packet::server_packet::Event;

use super::host::{events, guest, until_closed};
use crate::common::Server;
use crate::common::nats::Nats;
use crate::{call, create, eventually};

/// Both servers check and mint tokens with this secret (a split deployment sets it).
const SECRET: &str = "a shared HS256 secret, 32+ bytes, tests only";

async fn server(nats: &Nats, database: &str) -> Server {
    let (nats, database) = (nats.url(), database.to_owned());
    Server::start(move |c| {
        c.nats_url = Some(nats);
        c.embedded_webtransport = Some(false);
        c.database_url = Some(database);
        c.access.jwt_secret = Some(SECRET.into());
    })
    .await
}

#[tokio::test]
async fn host_actions_on_server_a_reach_sessions_on_server_b_through_nats() {
    let nats = Nats::start().await;
    let db = videocall_store::testing::Postgres::start().unwrap();
    let a = server(&nats, db.url()).await;
    let b = server(&nats, db.url()).await;
    // The meeting and its tokens come from A; everyone connects to B.
    let meeting = create(&a, json!({})).await;
    let (eve, eve_token) = guest(&a, &meeting.id, "Eve").await;
    let (larry, larry_token) = guest(&a, &meeting.id, "Larry").await;
    let mut eve_ws = b.ws_path(&format!("/lobby?token={eve_token}&ext=1")).await.unwrap();
    let mut larry_ws = b.ws_path(&format!("/lobby?token={larry_token}&ext=1")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    events(&mut larry_ws, Duration::from_millis(200)).await;

    let path = |action: &str| format!("/api/v1/meetings/{}/{action}", meeting.id);
    let mute =
        call(&a, "POST", &path(&format!("participants/{larry}/mute")), Some(&meeting.host), None)
            .await;
    assert_eq!(mute.status, 202, "{mute:?}");
    let got = events(&mut larry_ws, Duration::from_millis(500)).await;
    assert!(got.iter().any(|e| matches!(e, Event::MuteRequest(_))), "{got:?}");

    let removed =
        call(&a, "POST", &path(&format!("participants/{eve}/remove")), Some(&meeting.host), None)
            .await;
    assert_eq!(removed.status, 200, "{removed:?}");
    let (_, code) = until_closed(&mut eve_ws).await;
    assert_eq!(code, Some(CloseReason::Removed.code()));
    eventually(Duration::from_secs(5), "B counts the removal", || async {
        b.metric("videocall_closed_sessions_total{reason=\"removed\"}").await == 1
    })
    .await;
    // Larry, on the same server, stays.
    let got = events(&mut larry_ws, Duration::from_millis(300)).await;
    assert!(got.iter().all(|e| !matches!(e, Event::Error(_))), "{got:?}");
    // Locked, B refuses Eve again: both read the same store.
    assert_eq!(call(&a, "POST", &path("lock"), Some(&meeting.host), None).await.status, 200);
    assert_eq!(b.ws_path(&format!("/lobby?token={eve_token}")).await.err(), Some(403));

    assert_eq!(call(&a, "POST", &path("end"), Some(&meeting.host), None).await.status, 200);
    let (_, code) = until_closed(&mut larry_ws).await;
    assert_eq!(code, Some(CloseReason::MeetingEnded.code()));
    assert_eq!(b.ws_path(&format!("/lobby?token={larry_token}")).await.err(), Some(410));
    assert_eq!(a.metric("videocall_host_actions_total").await, 0, "nothing of it ran on A");
    assert_eq!(b.metric("videocall_host_actions_total").await, 3);
}
