//! Meetings and their host controls: create, look up, lock, waiting room, end, remove users.
//!
//! An ended meeting is final: every change to it (and every join, entry request or decision)
//! fails with [`StoreError::Ended`]; reading it still works.

use time::OffsetDateTime;

use crate::error::conflict_if_unique;
use crate::stamp::Stamp;
use crate::{Result, Store, StoreError, with_pool};

/// A stored meeting.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Meeting {
    /// The meeting id from the URL (`[A-Za-z0-9_-]{1,64}`, validated by the caller).
    pub id: String,
    /// Free-text title.
    pub title: String,
    /// The user id of the host who created it.
    pub host_user_id: String,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// The first join, if anyone joined yet.
    pub started_at: Option<OffsetDateTime>,
    /// When a host ended it.
    pub ended_at: Option<OffsetDateTime>,
    /// Locked: the caller lets nobody new in (and removed users never back).
    pub locked: bool,
    /// Newcomers wait for a host's admission.
    pub waiting_room: bool,
    /// Every participant must encrypt end to end.
    pub e2ee_required: bool,
}

/// What a host gives to create a meeting.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewMeeting {
    /// The meeting id (`[A-Za-z0-9_-]{1,64}`, validated by the caller).
    pub id: String,
    /// Free-text title.
    pub title: String,
    /// The creating host's user id.
    pub host_user_id: String,
    /// Start with the waiting room on.
    pub waiting_room: bool,
    /// Require end-to-end encryption.
    pub e2ee_required: bool,
}

impl Meeting {
    /// Whether a host has ended it.
    pub fn has_ended(&self) -> bool {
        self.ended_at.is_some()
    }
}

/// The columns a [`Meeting`] reads, as a literal for `concat!`.
macro_rules! columns {
    () => {
        "id, title, host_user_id, created_at, started_at, ended_at, locked, waiting_room, \
         e2ee_required"
    };
}

const SELECT: &str = concat!("SELECT ", columns!(), " FROM meetings WHERE id = $1");

const INSERT: &str = concat!(
    "INSERT INTO meetings (id, title, host_user_id, created_at, waiting_room, e2ee_required) \
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
    columns!()
);

const SET_LOCKED: &str = concat!(
    "UPDATE meetings SET locked = $2 WHERE id = $1 AND ended_at IS NULL RETURNING ",
    columns!()
);

const SET_WAITING_ROOM: &str = concat!(
    "UPDATE meetings SET waiting_room = $2 WHERE id = $1 AND ended_at IS NULL RETURNING ",
    columns!()
);

const END: &str = "UPDATE meetings SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL";

/// Ending a meeting ends every session still in it, at the same instant.
const END_SESSIONS: &str =
    "UPDATE participants SET left_at = $2 WHERE meeting_id = $1 AND left_at IS NULL";

const REMOVE: &str = "INSERT INTO removed_users (meeting_id, user_id, removed_at) \
     SELECT $1, $2, $3 WHERE EXISTS \
     (SELECT 1 FROM meetings WHERE id = $1 AND ended_at IS NULL) \
     ON CONFLICT (meeting_id, user_id) DO NOTHING";

const IS_REMOVED: &str =
    "SELECT removed_at FROM removed_users WHERE meeting_id = $1 AND user_id = $2";

impl Store {
    /// Creates a meeting; [`StoreError::Conflict`] if its id is taken (even by an ended one).
    pub async fn create_meeting(&self, new: &NewMeeting) -> Result<Meeting> {
        let created = with_pool!(self, db => sqlx::query_as(INSERT)
            .bind(&new.id)
            .bind(&new.title)
            .bind(&new.host_user_id)
            .bind(Stamp::now())
            .bind(new.waiting_room)
            .bind(new.e2ee_required)
            .fetch_one(db)
            .await);
        created.map_err(conflict_if_unique)
    }

    /// The meeting `id`, ended or not; [`StoreError::NotFound`] if there is none.
    pub async fn meeting(&self, id: &str) -> Result<Meeting> {
        let found: Option<Meeting> =
            with_pool!(self, db => sqlx::query_as(SELECT).bind(id).fetch_optional(db).await)?;
        found.ok_or(StoreError::NotFound)
    }

    /// Locks or unlocks a meeting that has not ended.
    pub async fn set_locked(&self, id: &str, locked: bool) -> Result<Meeting> {
        let updated: Option<Meeting> = with_pool!(self, db =>
            sqlx::query_as(SET_LOCKED).bind(id).bind(locked).fetch_optional(db).await)?;
        match updated {
            Some(meeting) => Ok(meeting),
            None => Err(self.why_closed(id).await),
        }
    }

    /// Turns the waiting room of a meeting that has not ended on or off.
    pub async fn set_waiting_room(&self, id: &str, on: bool) -> Result<Meeting> {
        let updated: Option<Meeting> = with_pool!(self, db =>
            sqlx::query_as(SET_WAITING_ROOM).bind(id).bind(on).fetch_optional(db).await)?;
        match updated {
            Some(meeting) => Ok(meeting),
            None => Err(self.why_closed(id).await),
        }
    }

    /// Ends a meeting and every session still in it; ending it again changes nothing and
    /// returns it as it is.
    pub async fn end_meeting(&self, id: &str) -> Result<Meeting> {
        let now = Stamp::now();
        with_pool!(self, db => {
            let mut tx = db.begin().await?;
            let ended = sqlx::query(END).bind(id).bind(now).execute(&mut *tx).await?;
            if ended.rows_affected() > 0 {
                sqlx::query(END_SESSIONS).bind(id).bind(now).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        self.meeting(id).await
    }

    /// Records that a host removed `user_id` from the meeting (again: no change).
    pub async fn remove_user(&self, meeting: &str, user_id: &str) -> Result<()> {
        let inserted = with_pool!(self, db => sqlx::query(REMOVE)
            .bind(meeting)
            .bind(user_id)
            .bind(Stamp::now())
            .execute(db)
            .await
            .map(|done| done.rows_affected()))?;
        if inserted == 0 {
            // Already removed, or the meeting is missing or over.
            self.require_open(meeting).await?;
        }
        Ok(())
    }

    /// Whether a host removed `user_id` from the meeting.
    pub async fn is_removed(&self, meeting: &str, user_id: &str) -> Result<bool> {
        let found: Option<(OffsetDateTime,)> = with_pool!(self, db => sqlx::query_as(IS_REMOVED)
            .bind(meeting)
            .bind(user_id)
            .fetch_optional(db)
            .await)?;
        Ok(found.is_some())
    }

    /// The meeting if it exists and has not ended, else why not.
    pub(crate) async fn require_open(&self, id: &str) -> Result<Meeting> {
        let meeting = self.meeting(id).await?;
        if meeting.has_ended() { Err(StoreError::Ended) } else { Ok(meeting) }
    }

    /// Why a statement that needs the meeting open touched nothing: it is missing
    /// ([`StoreError::NotFound`]) or over ([`StoreError::Ended`]); if neither, the state changed
    /// under the statement ([`StoreError::Conflict`]).
    pub(crate) async fn why_closed(&self, id: &str) -> StoreError {
        match self.require_open(id).await {
            Ok(_) => StoreError::Conflict,
            Err(err) => err,
        }
    }
}
