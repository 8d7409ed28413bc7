//! The waiting room: entry requests and a host's decisions on them.
//!
//! A request starts `pending`; a host admits or rejects it once. A user has at most one pending
//! request per meeting: asking again while pending returns the same entry, asking after a
//! decision makes a new one. Requests and decisions need the meeting not to have ended.

use time::OffsetDateTime;

use crate::stamp::Stamp;
use crate::{Result, Store, StoreError, with_pool};

/// One request to enter a meeting.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct WaitingEntry {
    /// The entry's id (unique across meetings).
    pub id: i64,
    /// The meeting.
    pub meeting_id: String,
    /// The (stamped) user id asking.
    pub user_id: String,
    /// The display name the user chose.
    pub display_name: String,
    /// When the user asked.
    pub requested_at: OffsetDateTime,
    /// Where the request stands.
    #[sqlx(try_from = "String")]
    pub decision: Decision,
    /// When a host decided.
    pub decided_at: Option<OffsetDateTime>,
}

/// Where an entry request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Waiting for a host.
    Pending,
    /// A host let the user in.
    Admitted,
    /// A host turned the user away.
    Rejected,
}

/// What a host decides about a pending request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Let the user in.
    Admit,
    /// Turn the user away.
    Reject,
}

impl Decision {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Pending => "pending",
            Decision::Admitted => "admitted",
            Decision::Rejected => "rejected",
        }
    }
}

impl From<Verdict> for Decision {
    fn from(verdict: Verdict) -> Decision {
        match verdict {
            Verdict::Admit => Decision::Admitted,
            Verdict::Reject => Decision::Rejected,
        }
    }
}

/// Text that names no [`Decision`] (the schema's CHECK keeps it out of the database).
#[derive(Debug, thiserror::Error)]
#[error("unknown waiting-room decision {0:?}")]
pub struct UnknownDecision(pub String);

impl TryFrom<String> for Decision {
    type Error = UnknownDecision;

    fn try_from(text: String) -> Result<Decision, UnknownDecision> {
        match text.as_str() {
            "pending" => Ok(Decision::Pending),
            "admitted" => Ok(Decision::Admitted),
            "rejected" => Ok(Decision::Rejected),
            _ => Err(UnknownDecision(text)),
        }
    }
}

/// The columns a [`WaitingEntry`] reads, as a literal for `concat!`.
macro_rules! columns {
    () => {
        "id, meeting_id, user_id, display_name, requested_at, decision, decided_at"
    };
}

/// Inserts nothing if the meeting is missing or over, or the user is already pending (the
/// partial unique index); SQLite needs the `WHERE` before `ON CONFLICT` to parse it.
const REQUEST: &str = concat!(
    "INSERT INTO waiting_entries (meeting_id, user_id, display_name, requested_at) \
     SELECT $1, $2, $3, $4 WHERE EXISTS \
     (SELECT 1 FROM meetings WHERE id = $1 AND ended_at IS NULL) \
     ON CONFLICT (meeting_id, user_id) WHERE decision = 'pending' DO NOTHING RETURNING ",
    columns!()
);

const PENDING_OF_USER: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM waiting_entries WHERE meeting_id = $1 AND user_id = $2 AND decision = 'pending'"
);

const PENDING: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM waiting_entries WHERE meeting_id = $1 AND decision = 'pending' \
     ORDER BY requested_at, id"
);

const ONE: &str =
    concat!("SELECT ", columns!(), " FROM waiting_entries WHERE meeting_id = $1 AND id = $2");

const DECIDE: &str = concat!(
    "UPDATE waiting_entries SET decision = $3, decided_at = $4 \
     WHERE meeting_id = $1 AND id = $2 AND decision = 'pending' AND EXISTS \
     (SELECT 1 FROM meetings WHERE id = $1 AND ended_at IS NULL) RETURNING ",
    columns!()
);

impl Store {
    /// Puts `user_id` in the meeting's waiting room, or returns its pending request if it
    /// already waits there.
    pub async fn request_entry(
        &self,
        meeting: &str,
        user_id: &str,
        display_name: &str,
    ) -> Result<WaitingEntry> {
        let inserted: Option<WaitingEntry> = with_pool!(self, db => sqlx::query_as(REQUEST)
            .bind(meeting)
            .bind(user_id)
            .bind(display_name)
            .bind(Stamp::now())
            .fetch_optional(db)
            .await)?;
        if let Some(entry) = inserted {
            return Ok(entry);
        }
        let pending: Option<WaitingEntry> = with_pool!(self, db => sqlx::query_as(PENDING_OF_USER)
            .bind(meeting)
            .bind(user_id)
            .fetch_optional(db)
            .await)?;
        match pending {
            Some(entry) => Ok(entry),
            None => Err(self.why_closed(meeting).await),
        }
    }

    /// The meeting's pending requests, oldest first.
    pub async fn waiting(&self, meeting: &str) -> Result<Vec<WaitingEntry>> {
        let list: Vec<WaitingEntry> =
            with_pool!(self, db => sqlx::query_as(PENDING).bind(meeting).fetch_all(db).await)?;
        if list.is_empty() {
            // An unknown meeting is an error, an empty waiting room is not.
            self.meeting(meeting).await?;
        }
        Ok(list)
    }

    /// One request of the meeting, whatever its state (for the user polling it).
    pub async fn waiting_entry(&self, meeting: &str, entry: i64) -> Result<WaitingEntry> {
        let found: Option<WaitingEntry> = with_pool!(self, db =>
            sqlx::query_as(ONE).bind(meeting).bind(entry).fetch_optional(db).await)?;
        found.ok_or(StoreError::NotFound)
    }

    /// Decides a pending request of the meeting. [`StoreError::Conflict`] if it was already
    /// decided, [`StoreError::NotFound`] if the meeting has no such entry.
    pub async fn decide(
        &self,
        meeting: &str,
        entry: i64,
        verdict: Verdict,
    ) -> Result<WaitingEntry> {
        let decided: Option<WaitingEntry> = with_pool!(self, db => sqlx::query_as(DECIDE)
            .bind(meeting)
            .bind(entry)
            .bind(Decision::from(verdict).as_str())
            .bind(Stamp::now())
            .fetch_optional(db)
            .await)?;
        if let Some(entry) = decided {
            return Ok(entry);
        }
        // The entry is missing, already decided, or its meeting is over.
        self.waiting_entry(meeting, entry).await?;
        self.require_open(meeting).await?;
        Err(StoreError::Conflict)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_round_trip_through_their_text() {
        for decision in [Decision::Pending, Decision::Admitted, Decision::Rejected] {
            assert_eq!(Decision::try_from(decision.as_str().to_owned()).ok(), Some(decision));
        }
        assert!(Decision::try_from("maybe".to_owned()).is_err());
    }
}
