//! Host controls reaching sessions: a removal closes the user's connections with 4014 on both
//! transports, the end closes everyone's with 4015, a mute request reaches the user's sessions;
//! on SQLite and on a real PostgreSQL.

use std::time::Duration;

use serde_json::json;
use videocall_types::protos::server_packet::server_packet::Event;
use videocall_types::{CloseReason, MediaType};
use wtransport::error::{ConnectingError, ConnectionError};

use futures::StreamExt;
use tokio_tungstenite::tungstenite::Message;

use crate::common::packets::server_event;
use crate::common::{Server, Ws, ws_close_code, ws_recv};
use crate::{call, create, eventually, join, on_both_stores};

/// The SERVER events `ws` receives until nothing comes for `quiet` (or it closes).
pub(crate) async fn events(ws: &mut Ws, quiet: Duration) -> Vec<Event> {
    let mut events = Vec::new();
    while let Some(packet) = ws_recv(ws, quiet).await {
        events.extend(server_event(&packet));
    }
    events
}

/// The SERVER events `ws` receives until the server closes it, and the close code (`None`
/// when it does not close within 5 s).
pub(crate) async fn until_closed(ws: &mut Ws) -> (Vec<Event>, Option<u16>) {
    let mut events = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Binary(packet)))) => events.extend(server_event(&packet)),
            Ok(Some(Ok(Message::Close(frame)))) => {
                return (events, frame.map(|frame| u16::from(frame.code)));
            }
            Ok(Some(Ok(_))) => {}
            _ => return (events, None),
        }
    }
}

/// The application close code of a WebTransport connection, once it closes.
pub(crate) async fn wt_close_code(connection: &wtransport::Connection) -> u64 {
    match tokio::time::timeout(Duration::from_secs(5), connection.closed()).await.unwrap() {
        ConnectionError::ApplicationClosed(close) => close.code().into_inner(),
        other => panic!("closed with {other:?}"),
    }
}

/// A guest admitted through the API: its user id and token.
pub(crate) async fn guest(server: &Server, meeting: &str, name: &str) -> (String, String) {
    let answer = join(server, meeting, name).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    (answer.text("user"), answer.text("token"))
}

async fn removing_a_participant_closes_its_connections_with_4014_and_a_lock_keeps_it_out(
    server: &Server,
) {
    let meeting = create(server, json!({})).await;
    let mut host = server.ws_path(&format!("/lobby?token={}&ext=1", meeting.host)).await.unwrap();
    let (user, token) = guest(server, &meeting.id, "Eve").await;
    // One extended WebSocket, one old-style one and a WebTransport session, all of the user.
    let mut ext = server.ws_path(&format!("/lobby?token={token}&ext=1")).await.unwrap();
    let mut plain = server.ws_path(&format!("/lobby?token={token}")).await.unwrap();
    let wt = server.wt_path(&format!("/lobby?token={token}")).await.unwrap();
    let (_, other) = guest(server, &meeting.id, "Olga").await;
    let mut bystander = server.ws_path(&format!("/lobby?token={other}")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let remove = format!("/api/v1/meetings/{}/participants/{user}/remove", meeting.id);
    assert_eq!(call(server, "POST", &remove, Some(&token), None).await.code(), "not_host");
    let removed = call(server, "POST", &remove, Some(&meeting.host), None).await;
    assert_eq!(removed.status, 200, "{removed:?}");
    let (last_words, code) = until_closed(&mut ext).await;
    assert!(
        last_words.iter().any(|e| matches!(e, Event::Error(error) if error.code == 4014)),
        "{last_words:?}"
    );
    assert_eq!(code, Some(CloseReason::Removed.code()));
    assert_eq!(ws_close_code(&mut plain).await, Some(CloseReason::Removed.code()));
    assert_eq!(wt_close_code(&wt).await, u64::from(CloseReason::Removed.code()));
    // Counted as each session drops, a moment after its client heard of it.
    eventually(Duration::from_secs(5), "three sessions closed as removed", || async {
        server.metric("videocall_closed_sessions_total{reason=\"removed\"}").await == 3
    })
    .await;
    // The others stay: the host hears the three leave, the bystander keeps its connection.
    let left = events(&mut host, Duration::from_millis(500)).await;
    assert_eq!(left.iter().filter(|e| matches!(e, Event::Left(p) if p.user_id == user)).count(), 3);
    assert!(ws_recv(&mut bystander, Duration::from_millis(200)).await.is_none());
    assert_eq!(server.metric("videocall_sessions").await, 2);

    // The meeting is open: the removal alone keeps nobody out. Locked, it does.
    server.ws_path(&format!("/lobby?token={token}")).await.unwrap();
    let lock = format!("/api/v1/meetings/{}/lock", meeting.id);
    assert_eq!(call(server, "POST", &lock, Some(&meeting.host), None).await.status, 200);
    assert_eq!(server.ws_path(&format!("/lobby?token={token}")).await.err(), Some(403));
    let wt = server.wt_path(&format!("/lobby?token={token}")).await;
    assert!(matches!(wt, Err(ConnectingError::SessionRejected)), "{wt:?}");
    // Not a user of this meeting: nobody to remove, but no error either (the id is valid).
    let nobody = format!("/api/v1/meetings/{}/participants/nobody/remove", meeting.id);
    assert_eq!(call(server, "POST", &nobody, Some(&meeting.host), None).await.status, 200);
    let bad = format!("/api/v1/meetings/{}/participants/a.b/remove", meeting.id);
    assert_eq!(call(server, "POST", &bad, Some(&meeting.host), None).await.status, 404);
}
on_both_stores!(removing_a_participant_closes_its_connections_with_4014_and_a_lock_keeps_it_out);

async fn ending_a_meeting_closes_everyone_with_4015_and_later_joins_are_gone(server: &Server) {
    let meeting = create(server, json!({})).await;
    let mut host = server.ws_path(&format!("/lobby?token={}&ext=1", meeting.host)).await.unwrap();
    let (_, token) = guest(server, &meeting.id, "Gus").await;
    let mut plain = server.ws_path(&format!("/lobby?token={token}")).await.unwrap();
    let wt = server.wt_path(&format!("/lobby?token={token}")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let end = format!("/api/v1/meetings/{}/end", meeting.id);
    let ended = call(server, "POST", &end, Some(&meeting.host), None).await;
    assert_eq!(ended.json["ended"], true, "{ended:?}");
    let (last_words, code) = until_closed(&mut host).await;
    assert!(
        last_words.iter().any(|e| matches!(e, Event::Error(error) if error.code == 4015)),
        "{last_words:?}"
    );
    assert_eq!(code, Some(CloseReason::MeetingEnded.code()));
    assert_eq!(ws_close_code(&mut plain).await, Some(CloseReason::MeetingEnded.code()));
    assert_eq!(wt_close_code(&wt).await, u64::from(CloseReason::MeetingEnded.code()));
    let path = format!("/api/v1/meetings/{}", meeting.id);
    let facts = call(server, "GET", &path, Some(&meeting.host), None).await;
    assert_eq!(facts.json["participants"].as_array().map(Vec::len), Some(0), "{facts:?}");

    assert_eq!(join(server, &meeting.id, "Late").await.status, 410);
    assert_eq!(server.ws_path(&format!("/lobby?token={token}")).await.err(), Some(410));
    assert_eq!(server.ws_path(&format!("/lobby?token={}", meeting.host)).await.err(), Some(410));
    let wt = server.wt_path(&format!("/lobby?token={token}")).await;
    assert!(matches!(wt, Err(ConnectingError::SessionRejected)), "{wt:?}");
    assert_eq!(call(server, "POST", &end, Some(&meeting.host), None).await.status, 200);
}
on_both_stores!(ending_a_meeting_closes_everyone_with_4015_and_later_joins_are_gone);

#[tokio::test]
async fn asking_to_mute_sends_the_users_sessions_a_mute_request() {
    let server = Server::start(|_| {}).await;
    let meeting = create(&server, json!({})).await;
    let mut host = server.ws_path(&format!("/lobby?token={}&ext=1", meeting.host)).await.unwrap();
    let (user, token) = guest(&server, &meeting.id, "Loud Larry").await;
    let mut loud = server.ws_path(&format!("/lobby?token={token}&ext=1")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Drain the welcome and joined notices.
    events(&mut loud, Duration::from_millis(200)).await;
    events(&mut host, Duration::from_millis(200)).await;

    let mute = format!("/api/v1/meetings/{}/participants/{user}/mute", meeting.id);
    assert_eq!(call(&server, "POST", &mute, None, None).await.status, 401);
    let asked = call(&server, "POST", &mute, Some(&meeting.host), None).await;
    assert_eq!(asked.status, 202, "{asked:?}");
    let got = events(&mut loud, Duration::from_secs(1)).await;
    let requests: Vec<_> = got
        .iter()
        .filter_map(|e| match e {
            Event::MuteRequest(request) => Some(request.media_type.enum_value()),
            _ => None,
        })
        .collect();
    assert_eq!(requests, [Ok(MediaType::AUDIO)], "{got:?}");
    // Nobody else is asked, and nobody is disconnected.
    assert!(events(&mut host, Duration::from_millis(300)).await.is_empty());
    assert_eq!(server.metric("videocall_sessions").await, 2);
    assert_eq!(server.metric("videocall_host_actions_total").await, 1);
}
