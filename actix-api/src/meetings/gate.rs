//! The meeting check of every join, on both transports: a stored meeting takes token holders
//! only, none once it ended, and no user a host removed while it is locked. Rooms the store
//! does not know are open-mode rooms and pass unchecked.

use std::time::Duration;

use videocall_access::gate::Check;
use videocall_access::{Barred, Gate, Grant, Pass, Stay};
use videocall_store::StoreError;
use videocall_types::SessionId;

use super::{Meetings, StoreOp};

/// Longest a join waits for the store (a lookup by primary key takes well under a millisecond;
/// this only bites when the database hangs).
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

impl Meetings {
    /// Whether `grant` may join now; refusals are counted.
    pub(crate) async fn admit(&self, grant: &Grant) -> Result<Pass, Barred> {
        let checked = tokio::time::timeout(CHECK_TIMEOUT, self.decide(grant)).await;
        let checked = checked.unwrap_or_else(|_| {
            self.counters.store_error(StoreOp::Check);
            tracing::warn!(meeting = %grant.meeting, "the store did not answer a join check in time");
            Err(Barred::Unavailable)
        });
        if let Err(barred) = checked {
            self.counters.refused(barred);
        }
        checked
    }

    async fn decide(&self, grant: &Grant) -> Result<Pass, Barred> {
        let unavailable = |err: StoreError| {
            self.counters.store_error(StoreOp::Check);
            tracing::warn!(%err, meeting = %grant.meeting, "cannot check a join");
            Barred::Unavailable
        };
        let meeting = match self.store.meeting(grant.meeting.as_str()).await {
            Ok(meeting) => meeting,
            Err(StoreError::NotFound) => return Ok(Pass::Unmanaged),
            Err(err) => return Err(unavailable(err)),
        };
        if meeting.has_ended() {
            return Err(Barred::MeetingEnded);
        }
        if !grant.token {
            return Err(Barred::TokenRequired);
        }
        if meeting.locked
            && self.store.is_removed(&meeting.id, grant.user.as_str()).await.map_err(unavailable)?
        {
            return Err(Barred::Removed);
        }
        Ok(Pass::Managed)
    }
}

/// The gate both transports share: [`Meetings::admit`], and the history of stored meetings.
impl Gate for Meetings {
    fn check<'a>(&'a self, grant: &'a Grant) -> Check<'a> {
        Box::pin(self.admit(grant))
    }

    fn joined(&self, pass: Pass, grant: &Grant, session: SessionId) -> Stay {
        match pass {
            Pass::Unmanaged => Stay::none(),
            Pass::Managed => self.record(grant, session),
        }
    }
}
