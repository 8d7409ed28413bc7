//! Opening a store: choosing the backend, readiness, and data surviving a reopen.

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};
use videocall_store::testing::Scratch;
use videocall_store::{Decision, Join, Store, StoreError, Verdict};

use crate::{join, on_both_backends, open};

#[tokio::test]
async fn without_a_url_the_store_is_a_wal_sqlite_file_in_the_data_dir() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let data_dir = dir.path().join("not/yet/there");
    let store = Store::open(None, &data_dir).await.expect("open");
    assert_eq!(store.kind(), "sqlite");
    store.ping().await.expect("ping");
    store.close().await;

    let file = data_dir.join("videocall.db");
    let mut raw = SqliteConnectOptions::new().filename(&file).connect().await.expect("raw open");
    let (mode,): (String,) =
        sqlx::query_as("PRAGMA journal_mode").fetch_one(&mut raw).await.expect("pragma");
    assert_eq!(mode, "wal");
    raw.close().await.expect("close");
}

#[tokio::test]
async fn an_empty_url_also_means_the_default_file() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = Store::open(Some(""), dir.path()).await.expect("open");
    assert_eq!(store.kind(), "sqlite");
    assert!(dir.path().join("videocall.db").is_file());
}

#[tokio::test]
async fn a_sqlite_url_names_the_file() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("elsewhere.db");
    let url = format!("sqlite://{}", file.display());
    let unused = dir.path().join("data");
    let store = Store::open(Some(&url), &unused).await.expect("open");
    assert_eq!(store.kind(), "sqlite");
    store.ping().await.expect("ping");
    assert!(file.is_file());
    assert!(!unused.exists(), "the data directory is only for the default file");
}

#[tokio::test]
async fn other_schemes_are_refused_by_name_without_the_password() {
    let dir = tempfile::tempdir().expect("temporary directory");
    for (url, scheme) in [("mysql://root:hunter2@db/videocall", "mysql"), ("hunter2", "")] {
        let err = Store::open(Some(url), dir.path()).await.expect_err("refused");
        assert!(matches!(&err, StoreError::UnsupportedUrl { scheme: s } if s == scheme), "{err}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}

async fn the_store_pings_and_names_its_backend(scratch: &Scratch) {
    let store = open(scratch).await;
    store.ping().await.expect("ping");
    let expected = match scratch {
        Scratch::Sqlite(_) => "sqlite",
        Scratch::Postgres(_) => "postgres",
    };
    assert_eq!(store.kind(), expected);
}
on_both_backends!(the_store_pings_and_names_its_backend);

async fn everything_survives_reopening_the_store(scratch: &Scratch) {
    let store = open(scratch).await;
    crate::meeting(&store, "m").await;
    store.set_locked("m", true).await.expect("lock");
    store.record_join(&Join { host: true, ..join("m", 1, "alice") }).await.expect("join");
    store.record_join(&join("m", 2, "bob")).await.expect("join");
    store.record_leave("m", 2).await.expect("leave");
    let ann = store.request_entry("m", "ann", "Ann").await.expect("ask");
    store.decide("m", ann.id, Verdict::Admit).await.expect("admit");
    store.request_entry("m", "cy", "Cy").await.expect("ask");
    store.remove_user("m", "bob").await.expect("remove");
    let (key, secret) = store.create_api_key("ci").await.expect("key");
    let meeting = store.meeting("m").await.expect("read");
    let history = store.history("m").await.expect("history");
    let waiting = store.waiting("m").await.expect("waiting");
    store.close().await;
    drop(store);

    let store = open(scratch).await;
    assert_eq!(store.meeting("m").await.expect("read"), meeting);
    assert_eq!(store.history("m").await.expect("history"), history);
    assert_eq!(history.len(), 2);
    assert_eq!(store.waiting("m").await.expect("waiting"), waiting);
    assert_eq!(store.waiting_entry("m", ann.id).await.expect("poll").decision, Decision::Admitted);
    assert!(store.is_removed("m", "bob").await.expect("removed"));
    assert_eq!(store.verify_api_key(&secret).await.expect("verify"), Some(key));
}
on_both_backends!(everything_survives_reopening_the_store);
