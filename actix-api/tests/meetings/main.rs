//! Meetings on real servers: the store in the server (history, the join check, the generated
//! token secret), the meeting API over HTTP, and host controls reaching sessions, on SQLite and
//! on a real PostgreSQL, across instances through a real NATS.

#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;

mod api;
mod host;
mod nats;
mod store;

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::Server;
use serde_json::{Value, json};
use videocall_access::{Claims, Secrets};
use videocall_types::{DisplayName, RoomId, UserId};

/// Runs `async fn $name(&Server)` against an all-in-one server on SQLite and one on a real
/// PostgreSQL (started for the test): defines `mod $name` with the tests `sqlite` and
/// `postgres`.
macro_rules! on_both_stores {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name(&crate::common::Server::start(|_| {}).await).await
            }

            #[tokio::test]
            async fn postgres() {
                let db = videocall_store::testing::Postgres::start().expect("PostgreSQL server");
                let url = db.url().to_owned();
                let server =
                    crate::common::Server::start(move |c| c.database_url = Some(url)).await;
                super::$name(&server).await;
                server.stop().await.expect("the server stops cleanly");
            }
        }
    };
}
pub(crate) use on_both_stores;

/// Seconds since the Unix epoch.
fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// The secret a zero-config server generated in its data directory.
fn kept_secret(data: &Path) -> Secrets {
    let secret = std::fs::read_to_string(data.join("jwt-secret")).unwrap();
    Secrets::new(Some(secret.trim()), None).unwrap().unwrap()
}

/// A token for `user` (named `name`) in `meeting`, valid for ten minutes.
fn token(secrets: &Secrets, user: &str, name: &str, meeting: &str, host: bool) -> String {
    secrets.mint(&Claims {
        user: UserId::new(user).unwrap(),
        name: DisplayName::new(name).unwrap(),
        meeting: RoomId::new(meeting).unwrap(),
        issued_at: now() - 5,
        expires_at: now() + 600,
        host,
        publish: true,
    })
}

/// Polls `check` every 20 ms until it holds, for at most `within`.
async fn eventually<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{what}: not within {within:?}");
}

/// An answer of the meeting API.
#[derive(Debug)]
struct Answer {
    status: u16,
    head: String,
    json: Value,
}

impl Answer {
    /// The JSON error `code`.
    fn code(&self) -> &str {
        self.json["code"].as_str().unwrap_or_default()
    }

    /// A string field of the body.
    fn text(&self, field: &str) -> String {
        self.json[field].as_str().unwrap_or_else(|| panic!("no {field} in {self:?}")).to_owned()
    }

    /// Whether a response header `name: value` is present (case-insensitive).
    fn has_header(&self, line: &str) -> bool {
        self.head.to_ascii_lowercase().contains(&line.to_ascii_lowercase())
    }
}

/// Calls the meeting API of `server`: `method` on `path`, with a bearer token and a JSON body.
async fn call(
    server: &Server,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> Answer {
    let auth = bearer.map(|token| format!("Authorization: Bearer {token}"));
    let mut headers = vec!["Content-Type: application/json"];
    headers.extend(auth.as_deref());
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let (status, head, text) =
        common::http_request(server.http, method, path, &headers, &body).await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer { status, head, json }
}

/// A meeting made through the API: its id and the host's token.
struct Created {
    id: String,
    host: String,
}

/// Creates a meeting titled "Weekly" with `options` (e.g. `{"waiting_room": true}`).
async fn create(server: &Server, options: Value) -> Created {
    let mut body = json!({ "title": "Weekly", "host_name": "Hanna Höst" });
    body.as_object_mut().unwrap().extend(options.as_object().unwrap().clone());
    let created = call(server, "POST", "/api/v1/meetings", None, Some(body)).await;
    assert_eq!(created.status, 201, "{created:?}");
    let id = created.json["meeting"]["id"].as_str().unwrap().to_owned();
    Created { id, host: created.text("token") }
}

/// Asks to join `meeting` as `name`; the answer as it comes.
async fn join(server: &Server, meeting: &str, name: &str) -> Answer {
    let path = format!("/api/v1/meetings/{meeting}/join");
    call(server, "POST", &path, None, Some(json!({ "name": name }))).await
}
