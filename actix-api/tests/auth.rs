//! Join tokens and `AUTH_REQUIRED` over both transports: what is refused before any room work,
//! and who a token makes a participant.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::packets::{routed_media, server_event};
use common::{Server, Ws, http_request, ws_recv, ws_send};
use videocall_access::{Claims, Secrets};
use videocall_types::protos::server_packet::server_packet::Event;
use videocall_types::{DisplayName, MediaType, RoomId, UserId};

const SECRET: &str = "an HS256 secret of 32+ bytes, for tests only";
const API_KEY: &str = "operator-key-of-at-least-32-characters";

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

struct Token {
    user: &'static str,
    name: &'static str,
    meeting: &'static str,
    host: bool,
    publish: bool,
    expires_in: i64,
}

const ZOE: Token = Token {
    user: "zoe",
    name: "Zoë Ångström",
    meeting: "board",
    host: true,
    publish: true,
    expires_in: 600,
};

impl Token {
    fn mint(&self) -> String {
        let secrets = Secrets::new(Some(SECRET), None).unwrap().unwrap();
        secrets.mint(&Claims {
            user: UserId::new(self.user).unwrap(),
            name: DisplayName::new(self.name).unwrap(),
            meeting: RoomId::new(self.meeting).unwrap(),
            issued_at: now() - 5,
            expires_at: now().saturating_add_signed(self.expires_in),
            host: self.host,
            publish: self.publish,
        })
    }
}

/// Every kind of token a server must refuse, with the reason counted for it.
fn bad_tokens() -> Vec<(&'static str, String, &'static str)> {
    let good = ZOE.mint();
    let parts: Vec<&str> = good.split('.').collect();
    let unsigned_payload = URL_SAFE_NO_PAD.decode(parts[1]).unwrap();
    let mut tampered: serde_json::Value = serde_json::from_slice(&unsigned_payload).unwrap();
    tampered["sub"] = "mallory".into();
    let tampered =
        format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(tampered.to_string()), parts[2]);
    let alg_none =
        format!("{}.{}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#), parts[1]);
    vec![
        ("expired", Token { expires_in: -3600, ..ZOE }.mint(), "token_expired"),
        ("tampered", tampered, "token_invalid"),
        ("alg none", alg_none, "token_invalid"),
        ("garbage", "not-a-token".into(), "token_invalid"),
    ]
}

async fn auth_server() -> Server {
    Server::start(|c| {
        c.access.auth_required = true;
        c.access.jwt_secret = Some(SECRET.into());
        c.api_key = Some(API_KEY.into());
    })
    .await
}

/// The welcome of an extended connection (the first packet).
async fn welcome_over_ws(ws: &mut Ws) -> videocall_types::protos::server_packet::Welcome {
    let first = ws_recv(ws, Duration::from_secs(5)).await.unwrap();
    match server_event(&first) {
        Some(Event::Welcome(welcome)) => welcome,
        other => panic!("expected a welcome, got {other:?}"),
    }
}

#[tokio::test]
async fn auth_required_refuses_websockets_without_a_valid_token_before_the_upgrade() {
    let server = auth_server().await;
    assert_eq!(server.ws_path("/lobby/zoe/board").await.err(), Some(401));
    assert_eq!(server.ws_path("/lobby").await.err(), Some(401));
    assert_eq!(server.metric("videocall_access_denied_total{reason=\"token_missing\"}").await, 2);
    for (what, token, reason) in bad_tokens() {
        let before =
            server.metric(&format!("videocall_access_denied_total{{reason=\"{reason}\"}}")).await;
        assert_eq!(
            server.ws_path(&format!("/lobby?token={token}")).await.err(),
            Some(401),
            "{what}"
        );
        let after =
            server.metric(&format!("videocall_access_denied_total{{reason=\"{reason}\"}}")).await;
        assert_eq!(after, before + 1, "{what}");
    }
    // A valid token for another meeting than the URL names.
    let path = format!("/lobby/zoe/other?token={}", ZOE.mint());
    assert_eq!(server.ws_path(&path).await.err(), Some(401));
    assert_eq!(server.metric("videocall_access_denied_total{reason=\"token_mismatch\"}").await, 1);
    // None of them reached a room.
    assert_eq!(server.metric("videocall_sessions_total").await, 0);
}

#[tokio::test]
async fn a_valid_token_joins_as_its_user_with_its_name_on_both_paths() {
    let server = auth_server().await;
    let mut ws = server.ws_path(&format!("/lobby?token={}&ext=1", ZOE.mint())).await.unwrap();
    let welcome = welcome_over_ws(&mut ws).await;
    assert_eq!((welcome.you.user_id.as_str(), welcome.room_id.as_str()), ("zoe", "board"));
    assert_eq!((welcome.you.display_name.as_str(), welcome.you.host), ("Zoë Ångström", true));
    // The old path works when it names what the token does.
    let bob = Token { user: "bob", name: "Bob", host: false, ..ZOE }.mint();
    let mut ws = server.ws_path(&format!("/lobby/bob/board?token={bob}&ext=1")).await.unwrap();
    let welcome = welcome_over_ws(&mut ws).await;
    assert_eq!(welcome.participants[0].display_name, "Zoë Ångström");
    assert_eq!((welcome.you.user_id.as_str(), welcome.you.host), ("bob", false));
}

#[tokio::test]
async fn auth_required_refuses_webtransport_sessions_without_a_valid_token() {
    let server = auth_server().await;
    for path in ["/lobby/zoe/board", "/lobby"] {
        let refused = server.wt_path(path).await.err();
        assert!(
            matches!(refused, Some(wtransport::error::ConnectingError::SessionRejected)),
            "{path}: {refused:?}"
        );
    }
    for (what, token, _) in bad_tokens() {
        let refused = server.wt_path(&format!("/lobby?token={token}")).await.err();
        assert!(
            matches!(refused, Some(wtransport::error::ConnectingError::SessionRejected)),
            "{what}: {refused:?}"
        );
    }
    assert_eq!(server.metric("videocall_access_denied_total{reason=\"token_missing\"}").await, 2);
    let connection = server.wt_path(&format!("/lobby?token={}&ext=1", ZOE.mint())).await.unwrap();
    let first = common::wt_recv(&connection, Duration::from_secs(5)).await.unwrap();
    let Some(Event::Welcome(welcome)) = server_event(&first) else { panic!("no welcome") };
    assert_eq!(
        (welcome.you.user_id.as_str(), welcome.you.display_name.as_str()),
        ("zoe", "Zoë Ångström")
    );
    assert_eq!(server.metric("videocall_sessions_total").await, 1);
}

#[tokio::test]
async fn a_receive_only_token_receives_everything_and_sends_no_media() {
    let server = auth_server().await;
    let viewer =
        Token { user: "viewer", name: "Viewer", host: false, publish: false, ..ZOE }.mint();
    let mut viewer = server.ws_path(&format!("/lobby?token={viewer}")).await.unwrap();
    let mut zoe = server.ws_path(&format!("/lobby?token={}", ZOE.mint())).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    ws_send(&mut zoe, routed_media(MediaType::AUDIO, "zoe", true, 1, 100)).await;
    let got = ws_recv(&mut viewer, Duration::from_secs(5)).await.unwrap();
    assert_eq!(common::packets::parse(&got).email, "zoe");
    for seq in 1..=3 {
        ws_send(&mut viewer, routed_media(MediaType::VIDEO, "viewer", true, seq, 100)).await;
    }
    assert_eq!(ws_recv(&mut zoe, Duration::from_millis(500)).await, None);
    assert_eq!(server.metric("videocall_media_withheld_total").await, 3);
}

#[tokio::test]
async fn open_mode_takes_tokens_when_given_and_names_from_the_url() {
    let server = Server::start(|c| c.access.jwt_secret = Some(SECRET.into())).await;
    let mut guest = server.ws_path("/lobby/guest/board?ext=1&name=Jos%C3%A9%20M.").await.unwrap();
    let welcome = welcome_over_ws(&mut guest).await;
    assert_eq!(
        (welcome.you.user_id.as_str(), welcome.you.display_name.as_str()),
        ("guest", "José M.")
    );
    assert!(server.ws_path(&format!("/lobby?token={}", ZOE.mint())).await.is_ok());
    // A token is checked even where none is needed.
    let expired = Token { expires_in: -3600, ..ZOE }.mint();
    assert_eq!(server.ws_path(&format!("/lobby/zoe/board?token={expired}")).await.err(), Some(401));
    assert_eq!(server.ws_path("/lobby/guest/board?name=a%0Ab").await.err(), Some(400));
}

#[tokio::test]
async fn the_operator_api_key_mints_tokens_that_join() {
    let server = auth_server().await;
    let body = r#"{"user":"ana","meeting":"board","name":"Ana Núñez","ttl_secs":120}"#;
    let post = |headers: &'static [&'static str], body: &'static str| {
        http_request(server.http, "POST", "/api/v1/tokens", headers, body)
    };
    let json = &["Content-Type: application/json"];
    let (status, head, _) = post(json, body).await.unwrap();
    assert_eq!(status, 401);
    assert!(head.to_ascii_lowercase().contains("www-authenticate: bearer"), "{head}");
    let wrong: &[&str] = &["Content-Type: application/json", "Authorization: Bearer nope"];
    assert_eq!(post(wrong, body).await.unwrap().0, 401);
    let auth: &[&str] = &[
        "Content-Type: application/json",
        "Authorization: Bearer operator-key-of-at-least-32-characters",
    ];
    let (status, _, bad) = post(auth, r#"{"user":"a b","meeting":"board"}"#).await.unwrap();
    assert_eq!(status, 400);
    assert!(bad.contains(r#""code":"user""#), "{bad}");
    let (status, _, minted) = post(auth, body).await.unwrap();
    assert_eq!(status, 201, "{minted}");
    let minted: serde_json::Value = serde_json::from_str(&minted).unwrap();
    let expires = minted["expires_at"].as_u64().unwrap();
    assert!((now() + 110..=now() + 130).contains(&expires), "{expires}");
    let token = minted["token"].as_str().unwrap();
    let mut ws = server.ws_path(&format!("/lobby?token={token}&ext=1")).await.unwrap();
    let welcome = welcome_over_ws(&mut ws).await;
    assert_eq!(
        (welcome.you.user_id.as_str(), welcome.you.display_name.as_str()),
        ("ana", "Ana Núñez")
    );
    // Without API_KEY there is nothing to authenticate to.
    let plain = Server::start(|c| c.access.jwt_secret = Some(SECRET.into())).await;
    let (status, _, _) =
        http_request(plain.http, "POST", "/api/v1/tokens", auth, body).await.unwrap();
    assert_eq!(status, 404);
}

#[tokio::test]
async fn settings_that_cannot_work_stop_the_server_with_a_clear_error() {
    let bind = || actix_api::Listeners {
        http: std::net::TcpListener::bind("127.0.0.1:0").unwrap(),
        webtransport: None,
    };
    let data = tempfile::tempdir().unwrap();
    let mut config = actix_api::Config::defaults();
    config.data_dir = data.path().to_owned();
    config.embedded_webtransport = Some(false);
    config.access.auth_required = true;
    let err = actix_api::run(bind(), config.clone(), async {}).await.unwrap_err();
    assert!(err.to_string().contains("JWT_SECRET"), "{err}");
    config.access.jwt_secret = Some("short".into());
    let err = actix_api::run(bind(), config.clone(), async {}).await.unwrap_err();
    assert!(err.to_string().contains("at least 32"), "{err}");
    config.access.jwt_secret = Some(SECRET.into());
    config.api_key = Some("short".into());
    let err = actix_api::run(bind(), config.clone(), async {}).await.unwrap_err();
    assert!(err.to_string().contains("API_KEY"), "{err}");
    config.api_key = None;
    config.database_url = Some("mysql://user:hunter2@db/videocall".into());
    let err = actix_api::run(bind(), config, async {}).await.unwrap_err();
    assert!(err.to_string().contains("\"mysql\""), "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
}
