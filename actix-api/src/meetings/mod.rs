//! The meetings store as this server uses it: the [`Gate`](videocall_access::Gate) every join
//! passes on both transports (ended meetings, removed users), the participants history, the
//! meeting API ([`api`], [`host`]) and its counters.
//!
//! History is written off the join path: [`Meetings::joined`] starts one task per session on
//! the server's runtime that records the join, waits for the session's [`Stay`] to drop and
//! records the leave, so media never waits for the database. A store error there is logged and
//! counted (`videocall_store_errors_total`), never shown to the client.

pub(crate) mod api;
mod error;
mod gate;
pub(crate) mod host;
mod ids;
pub(crate) mod limit;
mod metrics;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

use videocall_access::{Grant, Stay};
use videocall_store::{Join, Store, StoreError};
use videocall_types::SessionId;

pub(crate) use metrics::{Counters, StoreOp};

/// Largest JSON body the meeting API reads.
const MAX_BODY_BYTES: usize = 16 * 1024;

/// The meeting API under `/api/v1/meetings`; JSON bodies that do not parse are 400s with a
/// JSON error like every other refusal.
pub(crate) fn routes() -> actix_web::Scope {
    use actix_web::web::{self, get, post};
    let json = web::JsonConfig::default().limit(MAX_BODY_BYTES).error_handler(|err, _| {
        error::ApiError::invalid("body", format!("the JSON body is not valid: {err}")).into()
    });
    web::scope("/api/v1/meetings")
        .app_data(json)
        .route("", post().to(api::create))
        .route("/{id}", get().to(api::get))
        .route("/{id}/join", post().to(api::join))
        .route("/{id}/waiting", get().to(host::waiting))
        .route("/{id}/waiting/{entry}", get().to(api::poll))
        .route("/{id}/waiting/{entry}/{verdict}", post().to(host::decide))
        .route("/{id}/lock", post().to(host::lock))
        .route("/{id}/unlock", post().to(host::unlock))
        .route("/{id}/participants/{user}/remove", post().to(host::remove))
        .route("/{id}/participants/{user}/mute", post().to(host::mute))
        .route("/{id}/end", post().to(host::end))
}

/// How often shutdown looks whether the history tasks are done.
const DRAIN_POLL: Duration = Duration::from_millis(20);

/// The store, this instance's name in it, and what is written in the background.
#[derive(Debug)]
pub(crate) struct Meetings {
    pub(crate) store: Store,
    /// This instance's stable name in the participants history.
    instance: String,
    /// Where the history tasks run: the server's runtime, not an HTTP worker's, so they
    /// outlive the connection that started them.
    runtime: tokio::runtime::Handle,
    /// History tasks still running (shutdown waits for them).
    in_flight: Arc<AtomicUsize>,
    pub(crate) counters: Counters,
}

impl Meetings {
    /// The service over an opened `store`; history tasks run on `runtime`.
    pub(crate) fn new(store: Store, instance: String, runtime: tokio::runtime::Handle) -> Self {
        Self { store, instance, runtime, in_flight: Arc::default(), counters: Counters::default() }
    }

    /// Closes the history rows this instance left open when it last stopped without recording
    /// their leaves (a crash, a kill); returns how many.
    pub(crate) async fn close_abandoned(&self) -> u64 {
        match self.store.close_open_sessions(&self.instance).await {
            Ok(closed) => closed,
            Err(err) => {
                self.counters.store_error(StoreOp::CloseAbandoned);
                tracing::warn!(%err, instance = %self.instance, "cannot close abandoned sessions");
                0
            }
        }
    }

    /// Records `session` joining the stored meeting of `grant`, and its leave once the returned
    /// guard drops.
    pub(crate) fn record(&self, grant: &Grant, session: SessionId) -> Stay {
        let join = Join {
            meeting_id: grant.meeting.to_string(),
            session_id: session.get(),
            user_id: grant.user.to_string(),
            display_name: grant.name.to_string(),
            host: grant.host,
            instance: self.instance.clone(),
        };
        let (left, leaving) = tokio::sync::oneshot::channel::<()>();
        let store = self.store.clone();
        let counters = self.counters.clone();
        let in_flight = InFlight::new(&self.in_flight);
        self.runtime.spawn(async move {
            let _in_flight = in_flight;
            match store.record_join(&join).await {
                Ok(_) => {}
                // It ended since the join's check: nothing to record. (The end closed the
                // meeting's sessions of that moment; one that joined the room a moment later
                // stays until it leaves: a known race, milliseconds wide.)
                Err(StoreError::Ended) => return,
                Err(err) => {
                    counters.store_error(StoreOp::RecordJoin);
                    tracing::warn!(%err, meeting = %join.meeting_id, session = join.session_id, "cannot record a join");
                    return;
                }
            }
            // Resolves (with an error) when the stay drops the sender.
            let _ = leaving.await;
            if let Err(err) = store.record_leave(&join.meeting_id, join.session_id).await {
                counters.store_error(StoreOp::RecordLeave);
                tracing::warn!(%err, meeting = %join.meeting_id, session = join.session_id, "cannot record a leave");
            }
        });
        Stay::new(move || drop(left))
    }

    /// Waits up to `deadline` for the history tasks to finish (sessions are gone by now, so
    /// their leaves are being written), then closes the store.
    pub(crate) async fn shutdown(&self, deadline: Duration) {
        let waited = tokio::time::timeout(deadline, async {
            while self.in_flight.load(Relaxed) > 0 {
                tokio::time::sleep(DRAIN_POLL).await;
            }
        });
        if waited.await.is_err() {
            let left = self.in_flight.load(Relaxed);
            tracing::warn!(
                left,
                "history writes still running at shutdown; the next start closes their rows"
            );
        }
        self.store.close().await;
    }
}

/// One running history task, counted while it lives.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn new(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Relaxed);
        Self(count.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}
