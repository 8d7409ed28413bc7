//! Entry requests and hosts' decisions on them.

use videocall_store::testing::Scratch;
use videocall_store::{Decision, StoreError, Verdict};

use crate::{meeting, on_both_backends, open};

async fn hosts_admit_and_reject_waiting_users(scratch: &Scratch) {
    let store = open(scratch).await;
    meeting(&store, "m").await;
    let ann = store.request_entry("m", "ann", "Ann").await.expect("ann asks");
    let ben = store.request_entry("m", "ben", "Ben").await.expect("ben asks");
    assert_eq!((ann.decision, ann.decided_at), (Decision::Pending, None));
    assert_eq!(store.waiting("m").await.expect("list"), vec![ann.clone(), ben.clone()]);

    let admitted = store.decide("m", ann.id, Verdict::Admit).await.expect("admit");
    assert_eq!(admitted.decision, Decision::Admitted);
    assert!(admitted.decided_at.is_some_and(|at| at >= ann.requested_at));
    let rejected = store.decide("m", ben.id, Verdict::Reject).await.expect("reject");
    assert_eq!(rejected.decision, Decision::Rejected);

    assert_eq!(store.waiting("m").await.expect("list"), vec![]);
    assert_eq!(store.waiting_entry("m", ann.id).await.expect("poll"), admitted);
    assert_eq!(store.waiting_entry("m", ben.id).await.expect("poll"), rejected);
}
on_both_backends!(hosts_admit_and_reject_waiting_users);

async fn deciding_twice_is_a_conflict(scratch: &Scratch) {
    let store = open(scratch).await;
    meeting(&store, "m").await;
    meeting(&store, "other").await;
    let entry = store.request_entry("m", "ann", "Ann").await.expect("ask");
    store.decide("m", entry.id, Verdict::Admit).await.expect("admit");
    for verdict in [Verdict::Admit, Verdict::Reject] {
        let again = store.decide("m", entry.id, verdict).await;
        assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
    }
    assert_eq!(
        store.waiting_entry("m", entry.id).await.expect("poll").decision,
        Decision::Admitted
    );
    let unknown = store.decide("m", entry.id + 100, Verdict::Admit).await;
    assert!(matches!(unknown, Err(StoreError::NotFound)), "{unknown:?}");
    let elsewhere = store.request_entry("other", "ben", "Ben").await.expect("ask other");
    let wrong_meeting = store.decide("m", elsewhere.id, Verdict::Admit).await;
    assert!(matches!(wrong_meeting, Err(StoreError::NotFound)), "{wrong_meeting:?}");
    assert_eq!(store.waiting("other").await.expect("list"), vec![elsewhere]);
}
on_both_backends!(deciding_twice_is_a_conflict);

async fn asking_again_while_pending_returns_the_same_entry(scratch: &Scratch) {
    let store = open(scratch).await;
    meeting(&store, "m").await;
    let first = store.request_entry("m", "ann", "Ann").await.expect("ask");
    let again = store.request_entry("m", "ann", "Ann again").await.expect("ask again");
    assert_eq!(again, first);
    assert_eq!(store.waiting("m").await.expect("list").len(), 1);
    store.decide("m", first.id, Verdict::Reject).await.expect("reject");
    let later = store.request_entry("m", "ann", "Ann").await.expect("ask after rejection");
    assert_ne!(later.id, first.id);
    assert_eq!(later.decision, Decision::Pending);
}
on_both_backends!(asking_again_while_pending_returns_the_same_entry);

async fn nothing_is_decided_in_an_ended_meeting(scratch: &Scratch) {
    let store = open(scratch).await;
    meeting(&store, "m").await;
    let entry = store.request_entry("m", "ann", "Ann").await.expect("ask");
    store.end_meeting("m").await.expect("end");
    let decided = store.decide("m", entry.id, Verdict::Admit).await;
    assert!(matches!(decided, Err(StoreError::Ended)), "{decided:?}");
    assert_eq!(store.waiting_entry("m", entry.id).await.expect("poll").decision, Decision::Pending);
}
on_both_backends!(nothing_is_decided_in_an_ended_meeting);
