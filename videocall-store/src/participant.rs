//! Who was in a meeting and when: one row per session, opened on join and closed on leave.
//!
//! Each row names the server instance holding the session. A server that dies mid-meeting
//! leaves its rows open (`left_at` NULL); when it starts again under the same instance name it
//! calls [`Store::close_open_sessions`], which closes them at that moment and marks them
//! `abandoned` (the real leave time is unknown). Instance names must therefore be stable across
//! restarts (a host name, a StatefulSet pod name), not random per process. Ending a meeting
//! closes its open rows too.
//!
//! Session ids are the relay's random `u64`, stored bit-cast as a signed 64-bit integer (the
//! same bits, so ids above `i64::MAX` read back negative in SQL but exact through this API).

use time::OffsetDateTime;

use crate::error::conflict_if_unique;
use crate::stamp::Stamp;
use crate::{Result, Store, StoreError, with_pool};

/// One session's stay in a meeting.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Participant {
    /// The meeting.
    pub meeting_id: String,
    /// The relay's session id.
    #[sqlx(try_from = "SessionBits")]
    pub session_id: u64,
    /// The (stamped) user id.
    pub user_id: String,
    /// The display name the user chose (any Unicode, at most 64 characters).
    pub display_name: String,
    /// Whether the session joined as a host.
    #[sqlx(rename = "is_host")]
    pub host: bool,
    /// The server instance that held the session.
    pub instance: String,
    /// When it joined.
    pub joined_at: OffsetDateTime,
    /// When it left; `None` while it is in the meeting.
    pub left_at: Option<OffsetDateTime>,
    /// Closed by [`Store::close_open_sessions`]: its server stopped without recording the leave.
    pub abandoned: bool,
}

impl Participant {
    /// Whether the session is still in the meeting.
    pub fn is_present(&self) -> bool {
        self.left_at.is_none()
    }
}

/// A session joining a meeting.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Join {
    /// The meeting.
    pub meeting_id: String,
    /// The relay's session id.
    pub session_id: u64,
    /// The (stamped) user id.
    pub user_id: String,
    /// The display name (at most 64 characters, checked by the caller).
    pub display_name: String,
    /// Whether the session is a host.
    pub host: bool,
    /// The server instance holding the session: a name stable across its restarts.
    pub instance: String,
}

/// A `u64` session id as the database holds it: the same 64 bits, signed.
#[derive(sqlx::Type)]
#[sqlx(transparent, no_pg_array)]
struct SessionBits(i64);

impl SessionBits {
    fn of(session_id: u64) -> i64 {
        session_id.cast_signed()
    }
}

impl From<SessionBits> for u64 {
    fn from(bits: SessionBits) -> u64 {
        bits.0.cast_unsigned()
    }
}

/// The columns a [`Participant`] reads, as a literal for `concat!`.
macro_rules! columns {
    () => {
        "meeting_id, session_id, user_id, display_name, is_host, instance, joined_at, left_at, \
         abandoned"
    };
}

/// The first join starts the meeting; this also locks the meeting's row (PostgreSQL) or the
/// database (SQLite) against a concurrent end until the join is recorded.
const START: &str = "UPDATE meetings SET started_at = COALESCE(started_at, $2) \
     WHERE id = $1 AND ended_at IS NULL";

const INSERT: &str = concat!(
    "INSERT INTO participants \
     (meeting_id, session_id, user_id, display_name, is_host, instance, joined_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ",
    columns!()
);

const LEAVE: &str = concat!(
    "UPDATE participants SET left_at = $3 \
     WHERE meeting_id = $1 AND session_id = $2 AND left_at IS NULL RETURNING ",
    columns!()
);

const ONE: &str =
    concat!("SELECT ", columns!(), " FROM participants WHERE meeting_id = $1 AND session_id = $2");

const PRESENT: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM participants WHERE meeting_id = $1 AND left_at IS NULL ORDER BY joined_at, session_id"
);

const HISTORY: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM participants WHERE meeting_id = $1 ORDER BY joined_at, session_id"
);

const CLOSE_INSTANCE: &str = "UPDATE participants SET left_at = $2, abandoned = TRUE \
     WHERE instance = $1 AND left_at IS NULL";

impl Store {
    /// Records a session joining a meeting that has not ended, starting the meeting on its
    /// first join. [`StoreError::Conflict`] if the session is already recorded in it.
    pub async fn record_join(&self, join: &Join) -> Result<Participant> {
        let now = Stamp::now();
        let joined: Option<Participant> = with_pool!(self, db => {
            let mut tx = db.begin().await?;
            let started =
                sqlx::query(START).bind(&join.meeting_id).bind(now).execute(&mut *tx).await?;
            if started.rows_affected() == 0 {
                None
            } else {
                let participant = sqlx::query_as(INSERT)
                    .bind(&join.meeting_id)
                    .bind(SessionBits::of(join.session_id))
                    .bind(&join.user_id)
                    .bind(&join.display_name)
                    .bind(join.host)
                    .bind(&join.instance)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(conflict_if_unique)?;
                tx.commit().await?;
                Some(participant)
            }
        });
        match joined {
            Some(participant) => Ok(participant),
            None => Err(self.why_closed(&join.meeting_id).await),
        }
    }

    /// Records a session leaving; a session that already left is returned unchanged.
    pub async fn record_leave(&self, meeting: &str, session_id: u64) -> Result<Participant> {
        let session = SessionBits::of(session_id);
        let left: Option<Participant> = with_pool!(self, db => sqlx::query_as(LEAVE)
            .bind(meeting)
            .bind(session)
            .bind(Stamp::now())
            .fetch_optional(db)
            .await)?;
        if let Some(participant) = left {
            return Ok(participant);
        }
        let found: Option<Participant> = with_pool!(self, db =>
            sqlx::query_as(ONE).bind(meeting).bind(session).fetch_optional(db).await)?;
        found.ok_or(StoreError::NotFound)
    }

    /// The sessions in the meeting now, in the order they joined.
    pub async fn participants(&self, meeting: &str) -> Result<Vec<Participant>> {
        self.participant_list(PRESENT, meeting).await
    }

    /// Every session that was ever in the meeting (present or not), in the order they joined.
    pub async fn history(&self, meeting: &str) -> Result<Vec<Participant>> {
        self.participant_list(HISTORY, meeting).await
    }

    /// Closes every session `instance` left open (it stopped without recording their leaves),
    /// marking them abandoned; returns how many. Call it when the instance starts.
    pub async fn close_open_sessions(&self, instance: &str) -> Result<u64> {
        let closed = with_pool!(self, db => sqlx::query(CLOSE_INSTANCE)
            .bind(instance)
            .bind(Stamp::now())
            .execute(db)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(closed)
    }

    async fn participant_list(&self, sql: &'static str, meeting: &str) -> Result<Vec<Participant>> {
        let list: Vec<Participant> =
            with_pool!(self, db => sqlx::query_as(sql).bind(meeting).fetch_all(db).await)?;
        if list.is_empty() {
            // An unknown meeting is an error, an empty one is not.
            self.meeting(meeting).await?;
        }
        Ok(list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_keep_all_64_bits() {
        for id in [1, 42, i64::MAX as u64, 1 << 63, u64::MAX] {
            assert_eq!(u64::from(SessionBits(SessionBits::of(id))), id);
        }
        assert_eq!(SessionBits::of(u64::MAX), -1);
    }
}
