//! The store in the server: the token secret of a zero-config server, the history of who
//! joined, the join check, readiness.

use std::time::Duration;

use videocall_store::{NewMeeting, Store};
use wtransport::error::ConnectingError;

use crate::common::{Server, ws_recv};
use crate::{eventually, kept_secret, token};

/// Opens the SQLite store of a server's data directory beside the server.
async fn store_of(data: &std::path::Path) -> Store {
    Store::open(None, data).await.unwrap()
}

async fn create(store: &Store, id: &str) {
    let new = NewMeeting {
        id: id.into(),
        title: "Stand-up".into(),
        host_user_id: "ann".into(),
        ..NewMeeting::default()
    };
    store.create_meeting(&new).await.unwrap();
}

#[tokio::test]
async fn a_zero_config_server_signs_with_a_kept_secret_that_survives_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start_in(data.path(), |_| {}).await;
    let file = data.path().join("jwt-secret");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let before = std::fs::read_to_string(&file).unwrap();
    let zoe = token(&kept_secret(data.path()), "zoe", "Zoë", "board", false);
    let path = format!("/lobby?token={zoe}&ext=1");
    let mut ws = server.ws_path(&path).await.unwrap();
    assert!(ws_recv(&mut ws, Duration::from_secs(5)).await.is_some(), "no welcome");
    // The embedded WebTransport listener checks with the same secret.
    server.wt_path(&path).await.unwrap();
    ws.close(None).await.unwrap();
    server.stop().await.unwrap();

    let server = Server::start_in(data.path(), |_| {}).await;
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
    let mut ws = server.ws_path(&path).await.unwrap();
    assert!(ws_recv(&mut ws, Duration::from_secs(5)).await.is_some(), "no welcome after restart");
}

#[tokio::test]
async fn joins_to_a_stored_meeting_are_recorded_with_their_leaves_on_both_transports() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start_in(data.path(), |c| c.instance_name = Some("node-a".into())).await;
    let store = store_of(data.path()).await;
    create(&store, "standup").await;
    let secrets = kept_secret(data.path());
    let ann = token(&secrets, "ann", "Ann Ødegård", "standup", true);
    let bob = token(&secrets, "bob", "Bob", "standup", false);
    let mut ws = server.ws_path(&format!("/lobby?token={ann}")).await.unwrap();
    let wt = server.wt_path(&format!("/lobby?token={bob}")).await.unwrap();
    eventually(Duration::from_secs(5), "both joins recorded", || async {
        store.participants("standup").await.unwrap().len() == 2
    })
    .await;
    let present = store.participants("standup").await.unwrap();
    let ann_row = present.iter().find(|p| p.user_id == "ann").unwrap();
    assert_eq!((ann_row.display_name.as_str(), ann_row.host), ("Ann Ødegård", true));
    assert_eq!(ann_row.instance, "node-a");
    assert!(present.iter().any(|p| p.user_id == "bob" && !p.host));
    assert!(store.meeting("standup").await.unwrap().started_at.is_some());

    ws.close(None).await.unwrap();
    wt.close(0u32.into(), b"bye");
    eventually(Duration::from_secs(10), "both leaves recorded", || async {
        store.participants("standup").await.unwrap().is_empty()
    })
    .await;
    let history = store.history("standup").await.unwrap();
    assert_eq!(history.len(), 2);
    assert!(history.iter().all(|p| p.left_at.is_some() && !p.abandoned));
    // Open-mode rooms are not meetings of the store: nothing to record, nothing refused.
    server.ws_path("/lobby/guest/lounge").await.unwrap();
    assert_eq!(server.metric("videocall_store_errors_total{op=\"record_join\"}").await, 0);
}

#[tokio::test]
async fn a_stored_meeting_refuses_the_url_alone_ended_meetings_and_removed_users_when_locked() {
    let server = Server::start(|_| {}).await;
    let data = server.data.clone();
    let store = store_of(&data).await;
    create(&store, "board").await;
    let secrets = kept_secret(&data);
    // Knowing the id is not enough: the waiting room and removals would mean nothing.
    assert_eq!(server.ws_path("/lobby/eve/board").await.err(), Some(401));
    assert!(matches!(
        server.wt_path("/lobby/eve/board").await,
        Err(ConnectingError::SessionRejected)
    ));
    let refused = "videocall_meeting_refused_total{reason=\"meeting_requires_token\"}";
    assert_eq!(server.metric(refused).await, 2);

    // Removed, but the meeting is open: the removal alone does not bar (the host locks to).
    let eve = token(&secrets, "eve", "Eve", "board", false);
    store.remove_user("board", "eve").await.unwrap();
    server.ws_path(&format!("/lobby?token={eve}")).await.unwrap();
    store.set_locked("board", true).await.unwrap();
    assert_eq!(server.ws_path(&format!("/lobby?token={eve}")).await.err(), Some(403));
    let wt = server.wt_path(&format!("/lobby?token={eve}")).await;
    assert!(matches!(wt, Err(ConnectingError::SessionRejected)), "{wt:?}");
    assert_eq!(server.metric("videocall_meeting_refused_total{reason=\"removed\"}").await, 2);
    // Locked keeps out the removed, not those already holding a token.
    let ann = token(&secrets, "ann", "Ann", "board", true);
    server.ws_path(&format!("/lobby?token={ann}")).await.unwrap();

    store.end_meeting("board").await.unwrap();
    let sessions = server.metric("videocall_sessions_total").await;
    assert_eq!(server.ws_path(&format!("/lobby?token={ann}")).await.err(), Some(410));
    let wt = server.wt_path(&format!("/lobby?token={ann}")).await;
    assert!(matches!(wt, Err(ConnectingError::SessionRejected)), "{wt:?}");
    assert_eq!(server.metric("videocall_meeting_refused_total{reason=\"meeting_ended\"}").await, 2);
    // Refused before any room work.
    assert_eq!(server.metric("videocall_sessions_total").await, sessions);
}

#[tokio::test]
async fn a_restart_closes_the_sessions_its_instance_left_open() {
    let data = tempfile::tempdir().unwrap();
    let store = store_of(data.path()).await;
    create(&store, "standup").await;
    let crashed = |session: u64, instance: &str| videocall_store::Join {
        meeting_id: "standup".into(),
        session_id: session,
        user_id: "ann".into(),
        display_name: "Ann".into(),
        host: false,
        instance: instance.into(),
    };
    store.record_join(&crashed(1, "node-a")).await.unwrap();
    store.record_join(&crashed(2, "node-b")).await.unwrap();
    let _server = Server::start_in(data.path(), |c| c.instance_name = Some("node-a".into())).await;
    let history = store.history("standup").await.unwrap();
    let ours = history.iter().find(|p| p.session_id == 1).unwrap();
    assert!(ours.left_at.is_some() && ours.abandoned, "{ours:?}");
    let theirs = history.iter().find(|p| p.session_id == 2).unwrap();
    assert!(theirs.left_at.is_none() && !theirs.abandoned, "{theirs:?}");
}

#[tokio::test]
async fn readyz_fails_while_the_postgres_store_is_unreachable() {
    let postgres = videocall_store::testing::Postgres::start().unwrap();
    let url = postgres.url().to_owned();
    let server = Server::start(move |c| c.database_url = Some(url)).await;
    server.wait_ready(200, Duration::from_secs(5)).await;
    drop(postgres);
    server.wait_ready(503, Duration::from_secs(10)).await;
    let (_, body) = server.get("/readyz").await.unwrap();
    assert!(body.contains("store"), "{body}");
}
