//! Creating, reading, locking and ending meetings, and removing users from them.

use videocall_store::testing::Scratch;
use videocall_store::{NewMeeting, StoreError};

use crate::{join, meeting, on_both_backends, open};

async fn a_created_meeting_reads_back_as_created(scratch: &Scratch) {
    let store = open(scratch).await;
    let new = NewMeeting {
        id: "standup_2026-07".to_owned(),
        title: "Daily standup".to_owned(),
        host_user_id: "alice".to_owned(),
        waiting_room: true,
        e2ee_required: true,
    };
    let created = store.create_meeting(&new).await.expect("create");
    assert_eq!(created.id, "standup_2026-07");
    assert_eq!(created.title, "Daily standup");
    assert_eq!(created.host_user_id, "alice");
    assert!(created.waiting_room && created.e2ee_required && !created.locked);
    assert_eq!((created.started_at, created.ended_at), (None, None));
    assert_eq!(store.meeting("standup_2026-07").await.expect("read"), created);
}
on_both_backends!(a_created_meeting_reads_back_as_created);

async fn a_taken_meeting_id_is_a_conflict(scratch: &Scratch) {
    let store = open(scratch).await;
    let first = meeting(&store, "m1").await;
    let again = NewMeeting {
        id: "m1".to_owned(),
        title: "Other".to_owned(),
        host_user_id: "bob".to_owned(),
        ..NewMeeting::default()
    };
    assert!(matches!(store.create_meeting(&again).await, Err(StoreError::Conflict)));
    store.end_meeting("m1").await.expect("end");
    assert!(matches!(store.create_meeting(&again).await, Err(StoreError::Conflict)));
    assert_eq!(store.meeting("m1").await.expect("read").title, first.title);
}
on_both_backends!(a_taken_meeting_id_is_a_conflict);

async fn an_unknown_meeting_is_not_found_everywhere(scratch: &Scratch) {
    let store = open(scratch).await;
    meeting(&store, "known").await;
    let nf = |r: Result<(), StoreError>| matches!(r, Err(StoreError::NotFound));
    assert!(nf(store.meeting("nope").await.map(drop)));
    assert!(nf(store.set_locked("nope", true).await.map(drop)));
    assert!(nf(store.set_waiting_room("nope", true).await.map(drop)));
    assert!(nf(store.end_meeting("nope").await.map(drop)));
    assert!(nf(store.participants("nope").await.map(drop)));
    assert!(nf(store.history("nope").await.map(drop)));
    assert!(nf(store.record_join(&join("nope", 1, "u")).await.map(drop)));
    assert!(nf(store.request_entry("nope", "u", "U").await.map(drop)));
    assert!(nf(store.waiting("nope").await.map(drop)));
    assert!(nf(store.remove_user("nope", "u").await));
    // A known meeting with nobody in it is not an error.
    assert_eq!(store.participants("known").await.expect("empty list"), vec![]);
    assert_eq!(store.waiting("known").await.expect("empty list"), vec![]);
}
on_both_backends!(an_unknown_meeting_is_not_found_everywhere);

async fn hosts_lock_and_unlock_and_toggle_the_waiting_room(scratch: &Scratch) {
    let store = open(scratch).await;
    meeting(&store, "m").await;
    assert!(store.set_locked("m", true).await.expect("lock").locked);
    assert!(store.meeting("m").await.expect("read").locked);
    assert!(!store.set_locked("m", false).await.expect("unlock").locked);
    let on = store.set_waiting_room("m", true).await.expect("waiting room on");
    assert!(on.waiting_room && !on.locked);
    assert!(store.meeting("m").await.expect("read").waiting_room);
    assert!(!store.set_waiting_room("m", false).await.expect("off").waiting_room);
}
on_both_backends!(hosts_lock_and_unlock_and_toggle_the_waiting_room);

async fn ending_closes_sessions_and_is_final(scratch: &Scratch) {
    let store = open(scratch).await;
    meeting(&store, "m").await;
    store.record_join(&join("m", 1, "u")).await.expect("join");
    let ended = store.end_meeting("m").await.expect("end");
    let at = ended.ended_at.expect("ended_at set");
    assert!(ended.has_ended());
    let history = store.history("m").await.expect("history");
    assert_eq!(history[0].left_at, Some(at), "the open session ends with the meeting");
    assert!(!history[0].abandoned);
    assert_eq!(store.participants("m").await.expect("present"), vec![]);

    let again = store.end_meeting("m").await.expect("end again");
    assert_eq!(again.ended_at, Some(at), "ending again keeps the first end");
    let ended_err = |r: Result<(), StoreError>| matches!(r, Err(StoreError::Ended));
    assert!(ended_err(store.set_locked("m", true).await.map(drop)));
    assert!(ended_err(store.set_waiting_room("m", true).await.map(drop)));
    assert!(ended_err(store.record_join(&join("m", 2, "v")).await.map(drop)));
    assert!(ended_err(store.request_entry("m", "v", "V").await.map(drop)));
    assert!(ended_err(store.remove_user("m", "v").await));
    assert!(!store.meeting("m").await.expect("read").locked);
}
on_both_backends!(ending_closes_sessions_and_is_final);

async fn removed_users_are_remembered_per_meeting(scratch: &Scratch) {
    let store = open(scratch).await;
    meeting(&store, "m1").await;
    meeting(&store, "m2").await;
    assert!(!store.is_removed("m1", "mallory").await.expect("check"));
    store.remove_user("m1", "mallory").await.expect("remove");
    store.remove_user("m1", "mallory").await.expect("removing again is fine");
    assert!(store.is_removed("m1", "mallory").await.expect("check"));
    assert!(!store.is_removed("m2", "mallory").await.expect("other meeting"));
    assert!(!store.is_removed("m1", "alice").await.expect("other user"));
}
on_both_backends!(removed_users_are_remembered_per_meeting);
