//! The store's behaviour, each test run against both backends: a SQLite file and a real
//! PostgreSQL server (started per test by `videocall_store::testing::Postgres`).

mod api_keys;
mod meetings;
mod open;
mod participants;
mod schema;
mod waiting_room;

use videocall_store::testing::Scratch;
use videocall_store::{Join, NewMeeting, Store};

/// Runs the test `async fn $name(&Scratch)` on both backends: defines `mod $name` with the tests
/// `sqlite` and `postgres`, each giving it a fresh database of that backend.
macro_rules! on_both_backends {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name(&crate::Scratch::sqlite().expect("temporary directory")).await
            }

            #[tokio::test]
            async fn postgres() {
                super::$name(&crate::Scratch::postgres().expect("temporary PostgreSQL server"))
                    .await
            }
        }
    };
}
pub(crate) use on_both_backends;

/// Opens a store on `scratch`.
async fn open(scratch: &Scratch) -> Store {
    scratch.open().await.expect("open the store")
}

/// Creates the meeting `id`, hosted by `host`, with the waiting room off.
async fn meeting(store: &Store, id: &str) -> videocall_store::Meeting {
    let new = NewMeeting {
        id: id.to_owned(),
        title: format!("Meeting {id}"),
        host_user_id: "host".to_owned(),
        ..NewMeeting::default()
    };
    store.create_meeting(&new).await.expect("create the meeting")
}

/// A join of session `session` of `user` into `meeting` through instance `a`.
fn join(meeting: &str, session: u64, user: &str) -> Join {
    Join {
        meeting_id: meeting.to_owned(),
        session_id: session,
        user_id: user.to_owned(),
        display_name: format!("{user} name"),
        host: false,
        instance: "a".to_owned(),
    }
}
