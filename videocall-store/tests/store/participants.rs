//! Joins, leaves, the history they make, and sessions a dead server left open.

use videocall_store::testing::Scratch;
use videocall_store::{Join, StoreError};

use crate::{join, meeting, on_both_backends, open};

async fn joins_and_leaves_make_the_history(scratch: &Scratch) {
    let store = open(scratch).await;
    meeting(&store, "m").await;
    let host = Join { host: true, ..join("m", 1, "alice") };
    let alice = store.record_join(&host).await.expect("alice joins");
    assert!(alice.host && alice.is_present() && !alice.abandoned);
    assert_eq!((alice.user_id.as_str(), alice.display_name.as_str()), ("alice", "alice name"));
    let started = store.meeting("m").await.expect("read").started_at;
    assert_eq!(started, Some(alice.joined_at), "the first join starts the meeting");

    let bob = store.record_join(&join("m", 2, "bob")).await.expect("bob joins");
    assert!(!bob.host);
    assert_eq!(store.meeting("m").await.expect("read").started_at, started);
    assert_eq!(store.participants("m").await.expect("present"), vec![alice.clone(), bob.clone()]);

    let left = store.record_leave("m", 1).await.expect("alice leaves");
    let left_at = left.left_at.expect("left_at set");
    assert!(left_at >= left.joined_at);
    assert_eq!(store.participants("m").await.expect("present"), vec![bob.clone()]);
    assert_eq!(store.history("m").await.expect("history"), vec![left.clone(), bob]);

    let again = store.record_leave("m", 1).await.expect("leaving twice");
    assert_eq!(again, left, "a second leave changes nothing");
    assert!(matches!(store.record_leave("m", 3).await, Err(StoreError::NotFound)));
    assert!(matches!(store.record_leave("other", 1).await, Err(StoreError::NotFound)));
}
on_both_backends!(joins_and_leaves_make_the_history);

async fn a_session_recorded_twice_is_a_conflict(scratch: &Scratch) {
    let store = open(scratch).await;
    meeting(&store, "m").await;
    meeting(&store, "n").await;
    store.record_join(&join("m", 7, "u")).await.expect("first join");
    assert!(matches!(store.record_join(&join("m", 7, "u")).await, Err(StoreError::Conflict)));
    store.record_join(&join("n", 7, "u")).await.expect("the same id in another meeting");
    assert_eq!(store.history("m").await.expect("history").len(), 1);
}
on_both_backends!(a_session_recorded_twice_is_a_conflict);

async fn session_ids_keep_all_64_bits(scratch: &Scratch) {
    let store = open(scratch).await;
    meeting(&store, "m").await;
    for id in [u64::MAX, 1 << 63, i64::MAX as u64, 1] {
        assert_eq!(store.record_join(&join("m", id, "u")).await.expect("join").session_id, id);
        assert_eq!(store.record_leave("m", id).await.expect("leave").session_id, id);
    }
    let mut ids: Vec<u64> =
        store.history("m").await.expect("history").iter().map(|p| p.session_id).collect();
    ids.sort_unstable();
    assert_eq!(ids, vec![1, i64::MAX as u64, 1 << 63, u64::MAX]);
}
on_both_backends!(session_ids_keep_all_64_bits);

async fn unicode_display_names_round_trip(scratch: &Scratch) {
    let store = open(scratch).await;
    meeting(&store, "m").await;
    let names = [
        "Zoë Ñandú-Çelik",
        "李小龍",
        "Даша 🎥👩🏽‍💻",
        "عائشة",
        // 64 characters (not bytes) is the limit: 64 four-byte emoji fit.
        &"🦀".repeat(64),
    ];
    for (session, name) in (1..).zip(names) {
        let new = Join { display_name: name.to_owned(), ..join("m", session, "u") };
        assert_eq!(store.record_join(&new).await.expect("join").display_name, name);
    }
    let stored: Vec<String> =
        store.history("m").await.expect("history").into_iter().map(|p| p.display_name).collect();
    assert_eq!(stored, names);
    let entry = store.request_entry("m", "w", "Émilie 🌻").await.expect("waiting");
    assert_eq!(store.waiting("m").await.expect("list")[0].display_name, "Émilie 🌻");
    assert_eq!(entry.display_name, "Émilie 🌻");

    let too_long = Join { display_name: "é".repeat(65), ..join("m", 99, "u") };
    assert!(matches!(store.record_join(&too_long).await, Err(StoreError::Database(_))));
}
on_both_backends!(unicode_display_names_round_trip);

async fn sessions_a_dead_instance_left_open_are_closed_when_it_restarts(scratch: &Scratch) {
    let store = open(scratch).await;
    meeting(&store, "m").await;
    store.record_join(&join("m", 1, "crashed")).await.expect("join on a");
    store.record_join(&join("m", 2, "left")).await.expect("join on a");
    store.record_leave("m", 2).await.expect("a clean leave");
    let on_b = Join { instance: "b".to_owned(), ..join("m", 3, "elsewhere") };
    store.record_join(&on_b).await.expect("join on b");
    // Instance `a` dies: nothing records its sessions' leaves. It starts again later.
    store.close().await;
    let store = open(scratch).await;
    assert_eq!(store.close_open_sessions("a").await.expect("close"), 1);
    assert_eq!(store.close_open_sessions("a").await.expect("again"), 0);

    let history = store.history("m").await.expect("history");
    let [crashed, left, elsewhere] = &history[..] else { panic!("{history:?}") };
    assert!(crashed.abandoned && crashed.left_at.is_some(), "{crashed:?}");
    assert!(!left.abandoned && left.left_at.is_some(), "{left:?}");
    assert!(!elsewhere.abandoned && elsewhere.is_present(), "{elsewhere:?}");
    assert_eq!(store.participants("m").await.expect("present"), vec![elsewhere.clone()]);
}
on_both_backends!(sessions_a_dead_instance_left_open_are_closed_when_it_restarts);
