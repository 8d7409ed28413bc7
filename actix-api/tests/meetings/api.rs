//! The meeting API over real HTTP against an all-in-one server (SQLite in a temporary data
//! directory): creating, reading, joining, the waiting room, locks, the end, rate limits.

use std::time::Duration;

use serde_json::json;
use videocall_types::protos::server_packet::Welcome;
use videocall_types::protos::server_packet::server_packet::Event;

use crate::common::packets::server_event;
use crate::common::{Server, Ws, ws_recv};
use crate::{call, create, join, on_both_stores};

/// Joins over WebSocket with `token` (extended) and returns the welcome.
async fn joined(server: &Server, token: &str) -> (Ws, Welcome) {
    let mut ws = server.ws_path(&format!("/lobby?token={token}&ext=1")).await.unwrap();
    let first = ws_recv(&mut ws, Duration::from_secs(5)).await.unwrap();
    match server_event(&first) {
        Some(Event::Welcome(welcome)) => (ws, welcome),
        other => panic!("expected a welcome, got {other:?}"),
    }
}

async fn the_creator_gets_a_host_token_that_joins_and_reads_who_is_in(server: &Server) {
    let body = json!({ "title": "Weekly — Zoë", "host_name": "Hanna Höst", "e2ee_required": true });
    let created = call(server, "POST", "/api/v1/meetings", None, Some(body)).await;
    assert_eq!(created.status, 201, "{created:?}");
    assert!(created.has_header("cache-control: no-store"), "{}", created.head);
    let meeting = &created.json["meeting"];
    let id = meeting["id"].as_str().unwrap().to_owned();
    assert!(
        id.len() >= 10 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{id}"
    );
    assert_eq!(
        (meeting["title"].as_str(), meeting["e2ee_required"].as_bool()),
        (Some("Weekly — Zoë"), Some(true))
    );
    assert_eq!(
        (meeting["locked"].as_bool(), meeting["waiting_room"].as_bool()),
        (Some(false), Some(false))
    );
    // A second meeting gets another id.
    assert_ne!(crate::create(server, json!({})).await.id, id);

    let (_host_ws, welcome) = joined(server, &created.text("token")).await;
    assert_eq!(welcome.room_id, id);
    assert_eq!((welcome.you.display_name.as_str(), welcome.you.host), ("Hanna Höst", true));
    assert_eq!(welcome.you.user_id, created.text("user"));

    // The host's token shows who is in it. The join is recorded off the join path: give it a
    // moment.
    let path = format!("/api/v1/meetings/{id}");
    let host = created.text("token");
    let mut seen = serde_json::Value::Null;
    for _ in 0..250 {
        seen = call(server, "GET", &path, Some(&host), None).await.json;
        if seen["participants"].as_array().is_some_and(|list| list.len() == 1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(seen["participants"][0]["name"], "Hanna Höst");
    assert_eq!(seen["participants"][0]["host"], true);
    // The public facts (read once the join is recorded) say nothing of who is in it.
    let public = call(server, "GET", &path, None, None).await;
    assert_eq!(public.status, 200);
    assert!(
        public.json["participants"].is_null() && public.json["started_at"].is_number(),
        "{public:?}"
    );
    // Anything but a host token for this meeting is refused, not ignored.
    assert_eq!(call(server, "GET", &path, Some("nonsense"), None).await.status, 401);
    assert_eq!(
        call(server, "GET", "/api/v1/meetings/nosuchmeeting", None, None).await.code(),
        "not_found"
    );
}
on_both_stores!(the_creator_gets_a_host_token_that_joins_and_reads_who_is_in);

async fn a_waiting_room_admits_with_a_token_that_joins_and_rejects_for_good(server: &Server) {
    let meeting = create(server, json!({ "waiting_room": true })).await;
    let asked = join(server, &meeting.id, "José Müller").await;
    assert_eq!((asked.status, asked.text("status").as_str()), (202, "waiting"), "{asked:?}");
    let entry = asked.text("entry");
    let poll_path = format!("/api/v1/meetings/{}/waiting/{entry}", meeting.id);
    let poll = call(server, "GET", &poll_path, None, None).await;
    assert_eq!((poll.status, poll.text("status").as_str()), (200, "pending"));
    assert!(poll.json["token"].is_null());
    // Row ids count up, but a handle opens its own entry only: José's tag on the next row
    // (someone else's pending entry) opens nothing.
    let neighbour = join(server, &meeting.id, "Nosy Neighbour").await.text("entry");
    let (their_row, _) = neighbour.split_once('.').unwrap();
    let (_, my_tag) = entry.split_once('.').unwrap();
    let forged_path = format!("/api/v1/meetings/{}/waiting/{their_row}.{my_tag}", meeting.id);
    assert_eq!(call(server, "GET", &forged_path, None, None).await.code(), "not_found");

    let waiting_path = format!("/api/v1/meetings/{}/waiting", meeting.id);
    assert_eq!(call(server, "GET", &waiting_path, None, None).await.code(), "host_token_required");
    let list = call(server, "GET", &waiting_path, Some(&meeting.host), None).await;
    assert_eq!(list.json["waiting"][0]["name"], "José Müller", "{list:?}");
    assert_eq!(list.json["waiting"][0]["entry"].as_str(), Some(entry.as_str()));
    // A guest's own token is no host's.
    let other = create(server, json!({})).await;
    let guest = join(server, &other.id, "Guest").await.text("token");
    let admit = format!("/api/v1/meetings/{}/waiting/{entry}/admit", meeting.id);
    assert_eq!(call(server, "POST", &admit, Some(&guest), None).await.code(), "not_host");
    assert_eq!(call(server, "POST", &admit, Some(&other.host), None).await.code(), "not_host");

    let admitted = call(server, "POST", &admit, Some(&meeting.host), None).await;
    assert_eq!((admitted.status, admitted.text("status").as_str()), (200, "admitted"));
    assert_eq!(
        call(server, "POST", &admit, Some(&meeting.host), None).await.code(),
        "already_decided"
    );
    let poll = call(server, "GET", &poll_path, None, None).await;
    assert_eq!(poll.text("status"), "admitted", "{poll:?}");
    assert!(poll.has_header("cache-control: no-store"));
    let (_ws, welcome) = joined(server, &poll.text("token")).await;
    assert_eq!(welcome.room_id, meeting.id);
    assert_eq!((welcome.you.display_name.as_str(), welcome.you.host), ("José Müller", false));

    let turned_away = join(server, &meeting.id, "Mallory").await.text("entry");
    let reject = format!("/api/v1/meetings/{}/waiting/{turned_away}/reject", meeting.id);
    assert_eq!(
        call(server, "POST", &reject, Some(&meeting.host), None).await.text("status"),
        "rejected"
    );
    let poll = format!("/api/v1/meetings/{}/waiting/{turned_away}", meeting.id);
    let refused = call(server, "GET", &poll, None, None).await;
    assert_eq!((refused.status, refused.code()), (403, "rejected"));
    let left = call(server, "GET", &waiting_path, Some(&meeting.host), None).await;
    assert_eq!(left.json["waiting"].as_array().map(Vec::len), Some(1), "{left:?}");
    assert_eq!(left.json["waiting"][0]["name"], "Nosy Neighbour");
}
on_both_stores!(a_waiting_room_admits_with_a_token_that_joins_and_rejects_for_good);

async fn a_locked_meeting_refuses_joins_and_an_ended_one_is_gone(server: &Server) {
    let meeting = create(server, json!({ "locked": true })).await;
    let refused = join(server, &meeting.id, "Late Larry").await;
    assert_eq!((refused.status, refused.code()), (403, "meeting_locked"));
    let path = |action: &str| format!("/api/v1/meetings/{}/{action}", meeting.id);
    assert_eq!(call(server, "POST", &path("unlock"), None, None).await.status, 401);
    let unlocked = call(server, "POST", &path("unlock"), Some(&meeting.host), None).await;
    assert_eq!(unlocked.json["locked"], false, "{unlocked:?}");
    let guest = join(server, &meeting.id, "Larry").await;
    assert_eq!((guest.status, guest.text("status").as_str()), (200, "admitted"));
    let guest = guest.text("token");
    joined(server, &guest).await;
    let locked = call(server, "POST", &path("lock"), Some(&meeting.host), None).await;
    assert_eq!(locked.json["locked"], true);
    assert_eq!(join(server, &meeting.id, "Nope").await.code(), "meeting_locked");

    let ended = call(server, "POST", &path("end"), Some(&meeting.host), None).await;
    assert_eq!((ended.status, ended.json["ended"].as_bool()), (200, Some(true)), "{ended:?}");
    let gone = join(server, &meeting.id, "Later").await;
    assert_eq!((gone.status, gone.code()), (410, "meeting_ended"));
    assert_eq!(call(server, "POST", &path("unlock"), Some(&meeting.host), None).await.status, 410);
    let facts = call(server, "GET", &format!("/api/v1/meetings/{}", meeting.id), None, None).await;
    assert!(facts.json["ended_at"].is_number(), "{facts:?}");
    // Tokens minted before the end no longer open it.
    assert_eq!(server.ws_path(&format!("/lobby?token={guest}")).await.err(), Some(410));
}
on_both_stores!(a_locked_meeting_refuses_joins_and_an_ended_one_is_gone);

#[tokio::test]
async fn bad_requests_get_json_errors_with_stable_codes_and_chosen_ids_need_the_operator() {
    const KEY: &str = "operator-key-of-at-least-32-characters";
    let server = Server::start(|c| c.api_key = Some(KEY.into())).await;
    let create_with = |body: serde_json::Value, bearer: Option<&'static str>| {
        let server = &server;
        async move { call(server, "POST", "/api/v1/meetings", bearer, Some(body)).await }
    };
    let no_name = create_with(json!({ "title": "x" }), None).await;
    assert_eq!((no_name.status, no_name.code()), (400, "body"), "{no_name:?}");
    let bad_name = create_with(json!({ "title": "x", "host_name": "a\nb" }), None).await;
    assert_eq!(bad_name.code(), "host_name");
    let long_title = create_with(json!({ "title": "t".repeat(201), "host_name": "a" }), None).await;
    assert_eq!(long_title.code(), "title");
    let unknown = create_with(json!({ "title": "x", "host_name": "a", "admin": true }), None).await;
    assert_eq!(unknown.code(), "body");

    let chosen = json!({ "title": "Board", "host_name": "Chair", "id": "board-2026" });
    assert_eq!(create_with(chosen.clone(), None).await.code(), "id");
    let made = create_with(chosen.clone(), Some(KEY)).await;
    assert_eq!((made.status, made.json["meeting"]["id"].as_str()), (201, Some("board-2026")));
    assert_eq!(create_with(chosen, Some(KEY)).await.code(), "meeting_exists");
    let invalid = json!({ "title": "x", "host_name": "a", "id": "a.b" });
    assert_eq!(create_with(invalid, Some(KEY)).await.code(), "id");
    assert_eq!(join(&server, "board-2026", "").await.code(), "name");
}

#[tokio::test]
async fn public_endpoints_are_rate_limited_per_address_with_a_counter() {
    let server = Server::start(|c| c.meeting_api_rate_per_minute = 3).await;
    let meeting = create(&server, json!({})).await;
    for _ in 0..2 {
        create(&server, json!({})).await;
    }
    let body = json!({ "title": "x", "host_name": "a" });
    let limited = call(&server, "POST", "/api/v1/meetings", None, Some(body)).await;
    assert_eq!((limited.status, limited.code()), (429, "rate_limited"), "{limited:?}");
    assert!(limited.has_header("retry-after: 20"), "{}", limited.head);
    assert_eq!(server.metric("videocall_api_rate_limited_total{endpoint=\"create\"}").await, 1);
    // Joining has its own budget.
    for name in ["a", "b", "c"] {
        assert_eq!(join(&server, &meeting.id, name).await.status, 200);
    }
    assert_eq!(join(&server, &meeting.id, "d").await.status, 429);
    assert_eq!(server.metric("videocall_api_rate_limited_total{endpoint=\"join\"}").await, 1);
    // Host endpoints carry a host token and are not limited per address.
    let lock = format!("/api/v1/meetings/{}/lock", meeting.id);
    for _ in 0..5 {
        assert_eq!(call(&server, "POST", &lock, Some(&meeting.host), None).await.status, 200);
    }
}

#[tokio::test]
async fn meetings_and_their_history_survive_a_restart_on_the_same_data_directory() {
    let data = tempfile::tempdir().unwrap();
    let name = |c: &mut actix_api::Config| c.instance_name = Some("node-1".into());
    let server = Server::start_in(data.path(), name).await;
    let meeting = create(&server, json!({ "waiting_room": false })).await;
    let (mut host_ws, _) = joined(&server, &meeting.host).await;
    let guest = join(&server, &meeting.id, "Gäst").await.text("token");
    let (mut guest_ws, _) = joined(&server, &guest).await;
    // Wait for the guest's Joined notice, so both joins are in before the restart.
    ws_recv(&mut host_ws, Duration::from_secs(5)).await.unwrap();
    guest_ws.close(None).await.unwrap();
    server.stop().await.unwrap();

    let server = Server::start_in(data.path(), name).await;
    let path = format!("/api/v1/meetings/{}", meeting.id);
    let facts = call(&server, "GET", &path, Some(&meeting.host), None).await;
    assert_eq!(facts.status, 200, "{facts:?}");
    assert!(facts.json["started_at"].is_number() && !facts.json["ended"].as_bool().unwrap());
    assert_eq!(facts.json["participants"].as_array().map(Vec::len), Some(0), "{facts:?}");
    let store = videocall_store::Store::open(None, data.path()).await.unwrap();
    let history = store.history(&meeting.id).await.unwrap();
    let mut names: Vec<&str> = history.iter().map(|p| p.display_name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["Gäst", "Hanna Höst"]);
    // A clean stop records every leave; nothing was left for the restart to close.
    assert!(history.iter().all(|p| p.left_at.is_some() && !p.abandoned), "{history:?}");
    // The tokens of before the restart still work: the secret was kept.
    let (_ws, welcome) = joined(&server, &meeting.host).await;
    assert!(welcome.you.host);
}
