//! Meetings on real servers: the store in the server (history, the join check, the generated
//! token secret), the meeting API over HTTP, and host controls reaching sessions, on SQLite and
//! on a real PostgreSQL, across instances through a real NATS.

#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;

mod store;

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use videocall_access::{Claims, Secrets};
use videocall_types::{DisplayName, RoomId, UserId};

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
