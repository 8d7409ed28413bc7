//! The meeting check both servers run after the token policy and before any room work.
//!
//! A meeting that a host created lives in the meetings store, and its state may refuse a join
//! the token policy let through: the meeting ended, or the user was removed and the meeting is
//! locked. Joins to such a meeting are recorded in its history. The servers only call a
//! [`Gate`]; `actix-api` implements it over its store, so this crate stays free of I/O.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use videocall_types::SessionId;

use crate::Grant;

/// What [`Gate::check`] returns: a future, boxed so the trait can be a trait object.
pub type Check<'a> = Pin<Box<dyn Future<Output = Result<Pass, Barred>> + Send + 'a>>;

/// Asked about every join that the token policy admitted.
pub trait Gate: fmt::Debug + Send + Sync + 'static {
    /// Whether `grant` may join its meeting now. Called before any room work, so it must be
    /// fast (one indexed lookup).
    fn check<'a>(&'a self, grant: &'a Grant) -> Check<'a>;

    /// Notes that the relay joined `grant` as `session`, without waiting for any I/O; the
    /// returned guard notes the leave when dropped, so a forgotten leave cannot happen.
    fn joined(&self, pass: Pass, grant: &Grant, session: SessionId) -> Stay;
}

/// A join the gate let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// The meeting is not one the store knows (an open-mode room): nothing to record.
    Unmanaged,
    /// A stored meeting: the session is recorded in its history.
    Managed,
}

/// Why the gate refused a join.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Barred {
    /// The host ended the meeting.
    #[error("the meeting has ended")]
    MeetingEnded,
    /// A host removed this user and the meeting is locked.
    #[error("you were removed from this meeting")]
    Removed,
    /// A stored meeting is joined with a token only (from its join API), never by URL alone.
    #[error("this meeting needs a token: ask to join through /api/v1/meetings/{{id}}/join")]
    TokenRequired,
    /// The store did not answer; the join cannot be checked.
    #[error("the meetings store is unavailable; retry later")]
    Unavailable,
}

impl Barred {
    /// Every refusal, in the order of [`Barred::label`]'s counters.
    pub const ALL: [Barred; 4] =
        [Self::MeetingEnded, Self::Removed, Self::TokenRequired, Self::Unavailable];

    /// A short stable name, for metrics labels and the JSON `code` of an HTTP refusal.
    pub fn label(self) -> &'static str {
        match self {
            Self::MeetingEnded => "meeting_ended",
            Self::Removed => "removed",
            Self::TokenRequired => "meeting_requires_token",
            Self::Unavailable => "store_unavailable",
        }
    }
}

/// Held for a session's life; dropping it runs what notes the leave.
#[must_use = "dropping it at once notes the leave at once"]
pub struct Stay(Option<Box<dyn FnOnce() + Send>>);

impl Stay {
    /// A stay that runs `on_leave` when dropped.
    pub fn new(on_leave: impl FnOnce() + Send + 'static) -> Self {
        Self(Some(Box::new(on_leave)))
    }

    /// A stay with nothing to note.
    pub fn none() -> Self {
        Self(None)
    }
}

impl fmt::Debug for Stay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Stay").field(&self.0.is_some()).finish()
    }
}

impl Drop for Stay {
    fn drop(&mut self) {
        if let Some(on_leave) = self.0.take() {
            on_leave();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

    use super::*;

    #[test]
    fn a_stay_notes_the_leave_once_when_dropped() {
        let left = Arc::new(AtomicUsize::new(0));
        let stay = Stay::new({
            let left = left.clone();
            move || {
                left.fetch_add(1, SeqCst);
            }
        });
        assert_eq!(left.load(SeqCst), 0);
        drop(stay);
        assert_eq!(left.load(SeqCst), 1);
        drop(Stay::none());
    }

    #[test]
    fn labels_are_distinct() {
        let mut labels: Vec<&str> = Barred::ALL.iter().map(|b| b.label()).collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), Barred::ALL.len());
    }
}
