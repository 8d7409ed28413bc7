//! A room's members on this instance, the participants known on other instances, and fan-out.
//!
//! Locks are plain mutexes held for microseconds and never across an await. Lock order: a
//! room's `members`, then a member's `state`.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::task::AtomicWaker;
use tokio::sync::{OnceCell, oneshot};
use videocall_types::{CloseReason, RoomId, SessionId, UserId};

use crate::config::OutboxLimits;
use crate::control::{self, Peer};
use crate::metrics::Metrics;
use crate::outbox::{Class, Notice, Outbox, Push, StreamKey};
use crate::relay::{HostAction, Identity};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks cannot leave the data half-updated in a way that
    // matters more than losing the whole relay, so keep serving.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One connection's place in a room: identity and outbound queue.
#[derive(Debug)]
pub(crate) struct Member {
    pub(crate) peer: Peer,
    pub(crate) user: UserId,
    /// Whether it may send media (a `publish: false` token receives only).
    pub(crate) publish: bool,
    /// Whether the client asked for SERVER packets (`?ext=1`).
    pub(crate) ext: bool,
    state: Mutex<MemberState>,
    /// The writer's task, woken when there is something new for it (one writer per member).
    writer: AtomicWaker,
}

#[derive(Debug)]
struct MemberState {
    outbox: Outbox,
    closed: Option<CloseReason>,
    /// When a key frame of each media type was last requested from this member.
    keyframe_asked: HashMap<i32, Instant>,
}

impl Member {
    pub(crate) fn new(
        session: SessionId,
        identity: &Identity,
        ext: bool,
        limits: OutboxLimits,
    ) -> Self {
        Self {
            peer: Peer {
                session,
                user: identity.user.to_string(),
                name: identity.name.to_string(),
                host: identity.host,
            },
            user: identity.user.clone(),
            publish: identity.publish,
            ext,
            state: Mutex::new(MemberState {
                outbox: Outbox::new(limits),
                closed: None,
                keyframe_asked: HashMap::new(),
            }),
            writer: AtomicWaker::new(),
        }
    }

    /// Queues a packet; counts drops; closes the member when it is hopelessly behind.
    pub(crate) fn push(
        &self,
        class: Class,
        packet: Bytes,
        now: Instant,
        metrics: &Metrics,
    ) -> Option<StreamKey> {
        self.queue(metrics, |outbox| outbox.push(class, packet, now))
    }

    /// Tells an extended client that session `about` joined or left; plain clients never hear
    /// of it. `packet` is the encoded notice, shared by every receiver.
    pub(crate) fn push_notice(
        &self,
        about: SessionId,
        notice: Notice,
        packet: &Bytes,
        now: Instant,
        metrics: &Metrics,
    ) {
        if self.ext {
            self.queue(metrics, |outbox| outbox.push_notice(about, notice, packet.clone(), now));
        }
    }

    fn queue(
        &self,
        metrics: &Metrics,
        push: impl FnOnce(&mut Outbox) -> Push,
    ) -> Option<StreamKey> {
        let mut state = lock(&self.state);
        if state.closed.is_some() {
            return None;
        }
        match push(&mut state.outbox) {
            Push::Queued => {}
            Push::QueuedDroppingOldest(reason) => metrics.dropped(reason),
            Push::Dropped { reason, keyframe_request } => {
                metrics.dropped(reason);
                return keyframe_request;
            }
            Push::Disconnect => {
                tracing::info!(session = %self.peer.session, "receiver too slow; disconnecting");
                state.closed = Some(CloseReason::SlowReceiver);
            }
        }
        drop(state);
        self.writer.wake();
        None
    }

    /// Queues a control packet for an extended client; plain clients never see them.
    pub(crate) fn push_control(&self, packet: Bytes, now: Instant, metrics: &Metrics) {
        if self.ext {
            self.push(Class::Control, packet, now, metrics);
        }
    }

    /// Asks this member's client for a key frame, at most once per `interval` per media type.
    pub(crate) fn request_keyframe(
        &self,
        media_type: i32,
        interval: Duration,
        now: Instant,
        metrics: &Metrics,
    ) {
        if !self.ext {
            return;
        }
        {
            let mut state = lock(&self.state);
            let due = state
                .keyframe_asked
                .get(&media_type)
                .is_none_or(|at| now.saturating_duration_since(*at) >= interval);
            if !due {
                return;
            }
            state.keyframe_asked.insert(media_type, now);
        }
        metrics.keyframe_requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.push(Class::Control, control::keyframe_request(media_type), now, metrics);
    }

    /// Marks the member closed (the first reason wins) and wakes its writer.
    pub(crate) fn close(&self, reason: CloseReason) {
        lock(&self.state).closed.get_or_insert(reason);
        self.writer.wake();
    }

    /// The reason the member was closed, if it was.
    pub(crate) fn closed(&self) -> Option<CloseReason> {
        lock(&self.state).closed
    }

    /// Takes up to `max` waiting packets into `batch` under one lock, in queue order: `Ready`
    /// with at least one, `Pending` (the writer's task is woken when that changes) with none,
    /// or `Ready(Err)` when the member is closed (what is still queued is not sent).
    pub(crate) fn poll_batch(
        &self,
        cx: &mut Context<'_>,
        now: Instant,
        batch: &mut Vec<Bytes>,
        max: usize,
    ) -> Poll<Result<(), CloseReason>> {
        // Register before looking, so that a push between the look and the return still wakes.
        self.writer.register(cx.waker());
        let mut state = lock(&self.state);
        if let Some(reason) = state.closed {
            return Poll::Ready(Err(reason));
        }
        let before = batch.len();
        while batch.len() < max {
            match state.outbox.pop(now) {
                Some(packet) => batch.push(packet),
                None => break,
            }
        }
        if batch.len() == before {
            return Poll::Pending;
        }
        Poll::Ready(Ok(()))
    }

    /// Whether packets have waited longer than the stall timeout with the writer taking none.
    pub(crate) fn stalled(&self, now: Instant) -> bool {
        lock(&self.state).outbox.is_stalled(now)
    }

    fn forget_sender(&self, sender: SessionId) {
        lock(&self.state).outbox.forget_sender(sender);
    }
}

#[derive(Debug)]
struct Remote {
    peer: Peer,
    last_seen: Instant,
}

#[derive(Debug, Default)]
struct Members {
    /// Local sessions, in join order.
    local: Vec<Arc<Member>>,
    /// Sessions on other instances, as last heard of on the bus.
    remote: HashMap<SessionId, Remote>,
}

/// A room as seen by this instance.
#[derive(Debug)]
pub(crate) struct Room {
    pub(crate) id: RoomId,
    /// Most participants, local and remote together.
    max_size: usize,
    members: Mutex<Members>,
    /// When this instance last answered another's `sync` with its roster.
    roster_answered: Mutex<Option<Instant>>,
    /// Set once the room's bus subscription is running; dropping the sender (with the room)
    /// stops it.
    pub(crate) subscription: OnceCell<oneshot::Sender<()>>,
}

impl Room {
    pub(crate) fn new(id: RoomId, max_size: usize) -> Self {
        Self {
            id,
            max_size,
            members: Mutex::new(Members::default()),
            roster_answered: Mutex::new(None),
            subscription: OnceCell::new(),
        }
    }

    /// Adds a local member: welcomes it with everyone present and announces it to the others.
    /// `false` (and nothing done) when the room is full.
    pub(crate) fn add_local(&self, member: Arc<Member>, now: Instant, metrics: &Metrics) -> bool {
        let mut members = lock(&self.members);
        if members.local.len() + members.remote.len() >= self.max_size {
            return false;
        }
        let others: Vec<Peer> = members
            .local
            .iter()
            .map(|m| m.peer.clone())
            .chain(members.remote.values().map(|r| r.peer.clone()))
            .collect();
        member.push_control(control::welcome(&member.peer, &self.id, &others), now, metrics);
        let joined = control::joined(&member.peer);
        for other in &members.local {
            other.push_notice(member.peer.session, Notice::Joined, &joined, now, metrics);
        }
        members.local.push(member);
        true
    }

    /// Whether to answer another instance's `sync` now: at most once per `interval`, so a
    /// flood of syncs on the bus cannot make this instance flood rosters back.
    pub(crate) fn may_answer_sync(&self, interval: Duration, now: Instant) -> bool {
        let mut answered = lock(&self.roster_answered);
        let due = answered.is_none_or(|at| now.saturating_duration_since(at) >= interval);
        if due {
            *answered = Some(now);
        }
        due
    }

    /// Removes a local member and tells the others; returns whether no local member is left.
    pub(crate) fn remove_local(&self, session: SessionId, now: Instant, metrics: &Metrics) -> bool {
        let mut members = lock(&self.members);
        let Some(index) = members.local.iter().position(|m| m.peer.session == session) else {
            return members.local.is_empty();
        };
        let gone = members.local.remove(index);
        announce_left(&members.local, &gone.peer, now, metrics);
        members.local.is_empty()
    }

    /// Local members, for presence announcements.
    pub(crate) fn local_peers(&self) -> Vec<Peer> {
        lock(&self.members).local.iter().map(|m| m.peer.clone()).collect()
    }

    /// Tells every local member to close.
    pub(crate) fn close_all(&self, reason: CloseReason) {
        for member in &lock(&self.members).local {
            member.close(reason);
        }
    }

    /// Applies a host's action to the local members it is about; returns how many.
    pub(crate) fn host_action(
        &self,
        action: &HostAction,
        now: Instant,
        metrics: &Metrics,
    ) -> usize {
        let members = lock(&self.members);
        let mut reached = 0;
        for member in &members.local {
            match action {
                HostAction::Remove(user) if member.user == *user => {
                    member.close(CloseReason::Removed)
                }
                HostAction::AskToMute(user) if member.user == *user => {
                    member.push_control(control::mute_request(), now, metrics)
                }
                HostAction::End => member.close(CloseReason::MeetingEnded),
                _ => continue,
            }
            reached += 1;
        }
        reached
    }

    /// The local member with this session id, if any.
    pub(crate) fn local(&self, session: SessionId) -> Option<Arc<Member>> {
        lock(&self.members).local.iter().find(|m| m.peer.session == session).cloned()
    }

    /// Queues `packet` for every local member except `from`; returns the streams whose
    /// senders should be asked for a key frame.
    pub(crate) fn fan_out(
        &self,
        from: SessionId,
        class: Class,
        packet: &Bytes,
        now: Instant,
        metrics: &Metrics,
    ) -> Vec<StreamKey> {
        let members = lock(&self.members);
        let mut requests = Vec::new();
        for member in members.local.iter().filter(|m| m.peer.session != from) {
            if let Some(stream) = member.push(class, packet.clone(), now, metrics)
                && !requests.contains(&stream)
            {
                requests.push(stream);
            }
        }
        requests
    }

    /// Notes that a remote session is alive; announces it to local members when it is new.
    /// `false` when the session is not taken: the room is full, or the id is a local session's
    /// (what the bus says cannot shadow a participant connected here).
    /// `complete` says `peer` comes from a presence event (with name and role), not from a
    /// media packet (which carries only the user id): a complete peer updates what is known.
    pub(crate) fn saw_remote(
        &self,
        peer: Peer,
        complete: bool,
        now: Instant,
        metrics: &Metrics,
    ) -> bool {
        let session = peer.session;
        let mut members = lock(&self.members);
        let Members { local, remote } = &mut *members;
        let size = local.len() + remote.len();
        match remote.entry(session) {
            Entry::Occupied(mut seen) => {
                let seen = seen.get_mut();
                seen.last_seen = now;
                if complete {
                    seen.peer = peer;
                }
            }
            Entry::Vacant(_) if size >= self.max_size => return false,
            Entry::Vacant(_) if local.iter().any(|m| m.peer.session == session) => return false,
            Entry::Vacant(slot) => {
                let joined = control::joined(&peer);
                for member in local.iter() {
                    member.push_notice(session, Notice::Joined, &joined, now, metrics);
                }
                slot.insert(Remote { peer, last_seen: now });
            }
        }
        true
    }

    /// Forgets a remote session that left; tells local members if it was known.
    pub(crate) fn remote_left(&self, session: SessionId, now: Instant, metrics: &Metrics) {
        let mut members = lock(&self.members);
        if let Some(gone) = members.remote.remove(&session) {
            announce_left(&members.local, &gone.peer, now, metrics);
        }
    }

    /// Forgets remote sessions not heard of for `timeout` (their instance died or lost the bus).
    pub(crate) fn expire_remotes(&self, timeout: Duration, now: Instant, metrics: &Metrics) {
        let mut members = lock(&self.members);
        let expired: Vec<SessionId> = members
            .remote
            .iter()
            .filter(|(_, r)| now.saturating_duration_since(r.last_seen) > timeout)
            .map(|(s, _)| *s)
            .collect();
        for session in expired {
            if let Some(gone) = members.remote.remove(&session) {
                announce_left(&members.local, &gone.peer, now, metrics);
            }
        }
    }
}

fn announce_left(local: &[Arc<Member>], peer: &Peer, now: Instant, metrics: &Metrics) {
    let left = control::left(peer);
    for member in local {
        member.forget_sender(peer.session);
        member.push_notice(peer.session, Notice::Left, &left, now, metrics);
    }
}
