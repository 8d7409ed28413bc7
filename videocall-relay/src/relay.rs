//! The relay: joins sessions to rooms, checks and stamps what they send, fans packets out to the
//! room on this instance and across the bus, and keeps one bus subscription per room.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::{mpsc, oneshot};
use videocall_types::wire::{self, Envelope};
use videocall_types::{
    CloseReason, DisplayName, MediaType, PacketType, RoomId, SessionId, UserId, subject,
};

use crate::admission::{Admission, Permit};
use crate::bus::{Bus, BusError, BusMessage, Subscription};
use crate::config::RelayConfig;
use crate::control::{self, Peer, Presence};
use crate::metrics::Metrics;
use crate::outbox::{Class, StreamKey};
use crate::rate::RateLimiter;
use crate::room::{Member, Room};

/// How often an instance re-announces its sessions and expires silent remote ones.
const PRESENCE_INTERVAL: Duration = Duration::from_secs(5);

/// Most sessions named in one roster message (a few KiB; far below NATS's 1 MB payload limit).
/// A longer roster from the bus is not ours and is refused.
const ROSTER_CHUNK: usize = 256;

/// Least time between two rosters sent in answer to other instances' `sync` for one room.
const SYNC_ANSWER_INTERVAL: Duration = Duration::from_secs(1);

/// Room subscriptions waiting to be handed to the driver; joins wait when it is full.
const NEW_SUBSCRIPTIONS_QUEUE: usize = 64;

/// Why a session could not join.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    /// The server is shutting down.
    #[error("server is shutting down")]
    ShuttingDown,
    /// The room's bus subscription could not be made.
    #[error("cannot subscribe to the room: {0}")]
    Bus(#[from] BusError),
    /// The room has as many participants as it may.
    #[error("the room is full")]
    RoomFull,
}

impl JoinError {
    /// The close reason to give the client.
    pub fn close_reason(&self) -> CloseReason {
        match self {
            Self::ShuttingDown => CloseReason::GoingAway,
            Self::Bus(_) => CloseReason::Unavailable,
            Self::RoomFull => CloseReason::RoomFull,
        }
    }
}

fn random_id() -> SessionId {
    loop {
        if let Some(id) = SessionId::new(rand::random()) {
            return id;
        }
    }
}

fn now() -> Instant {
    // Through tokio's clock, so tests with paused time stay deterministic.
    tokio::time::Instant::now().into_std()
}

struct NewSubscription {
    room: Weak<Room>,
    subscription: Subscription,
    stop: oneshot::Receiver<()>,
}

struct Shared {
    /// This instance's id on the bus, the subject of its rosters.
    instance: SessionId,
    config: RelayConfig,
    metrics: Arc<Metrics>,
    bus: Arc<dyn Bus>,
    rooms: Mutex<HashMap<RoomId, Arc<Room>>>,
    admission: Arc<Admission>,
    /// Packets for the bus. Bounded in packets (`publish_queue`) and bytes
    /// (`publish_queue_bytes`, counted in `publish_bytes`); when full the packet is not
    /// published and is counted in `bus_publish_dropped` (local receivers already have it;
    /// remote ones lose it).
    publish: mpsc::Sender<(String, Bytes)>,
    publish_bytes: Arc<AtomicUsize>,
    subscriptions: mpsc::Sender<NewSubscription>,
    shutting_down: AtomicBool,
}

impl Shared {
    fn rooms(&self) -> std::sync::MutexGuard<'_, HashMap<RoomId, Arc<Room>>> {
        self.rooms.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether publishing can reach anyone (not with a standalone in-process bus).
    fn bus_reaches_others(&self) -> bool {
        self.bus.reaches_others()
    }

    fn publish(&self, subject: String, payload: Bytes) {
        let len = payload.len();
        let queued = self.publish_bytes.fetch_add(len, Relaxed);
        if queued + len > self.config.publish_queue_bytes
            || self.publish.try_send((subject, payload)).is_err()
        {
            self.publish_bytes.fetch_sub(len, Relaxed);
            self.metrics.bus_publish_dropped.fetch_add(1, Relaxed);
        }
    }

    fn announce(&self, room: &RoomId, session: SessionId, event: Presence) {
        if self.bus_reaches_others() {
            self.publish(subject::presence(room, session), event.encode());
        }
    }

    /// Tells the other instances which sessions of `room` are here: one message per
    /// [`ROSTER_CHUNK`] sessions, not one per session.
    fn announce_roster(&self, room: &Room) {
        if !self.bus_reaches_others() {
            return;
        }
        let peers = room.local_peers();
        for chunk in peers.chunks(ROSTER_CHUNK) {
            let roster = Presence::Roster(chunk.to_vec());
            self.publish(subject::presence(&room.id, self.instance), roster.encode());
        }
    }

    /// Routes key frame requests to the streams' senders, local or on another instance.
    fn request_keyframes(&self, room: &Room, streams: Vec<StreamKey>, now: Instant) {
        let interval = self.config.outbox.keyframe_request_interval;
        for stream in streams {
            match room.local(stream.sender) {
                Some(sender) => {
                    sender.request_keyframe(stream.media_type, interval, now, &self.metrics)
                }
                None => self.announce(
                    &room.id,
                    stream.sender,
                    Presence::KeyframeRequest(stream.media_type),
                ),
            }
        }
    }

    /// Applies a host's action to the local sessions of `room`, if any are here.
    fn host_action(&self, room: &RoomId, action: &HostAction, now: Instant) -> usize {
        let Some(room) = self.rooms().get(room).cloned() else { return 0 };
        let reached = room.host_action(action, now, &self.metrics);
        self.metrics.host_actions.fetch_add(reached as u64, Relaxed);
        if reached > 0 {
            tracing::info!(room = %room.id, ?action, reached, "host action applied");
        }
        reached
    }

    fn fan_out(&self, room: &Room, from: SessionId, class: Class, packet: &Bytes, now: Instant) {
        let requests = room.fan_out(from, class, packet, now, &self.metrics);
        self.request_keyframes(room, requests, now);
    }
}

/// What the relay does with a packet a client sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    /// Queue it for the rest of the room, here and on other instances.
    Relay(Class),
    /// Send it back to its sender only: a round-trip probe of the old protocol, which measures
    /// the path to the server (the old server echoed it the same way). Never fanned out or
    /// published: the rest of the room has no use for it.
    Echo,
    /// Drop it and count it (`health_reports_dropped`): an old client's health report. It was
    /// for the old server's own diagnostics, which never relayed it, so no client of either
    /// protocol expects one from a peer, and it holds the reporter's statistics about every
    /// peer. Relaying it would cost every receiver bandwidth for nothing; refusing it would
    /// disconnect every old client within seconds.
    Drop,
}

/// What the relay does with a packet from `sender`, or why it refuses it: unknown packet types
/// and SERVER packets, which only servers send.
fn classify(envelope: &Envelope<'_>, sender: SessionId) -> Result<Action, CloseReason> {
    Ok(match envelope.kind() {
        None | Some(PacketType::SERVER) => return Err(CloseReason::Unsupported),
        Some(PacketType::HEALTH) => Action::Drop,
        Some(PacketType::RSA_PUB_KEY | PacketType::AES_KEY | PacketType::CONNECTION) => {
            Action::Relay(Class::PeerControl { sender })
        }
        Some(PacketType::DIAGNOSTICS) => Action::Relay(Class::Lossy),
        Some(PacketType::MEDIA) if envelope.is_rtt_probe() => Action::Echo,
        Some(PacketType::MEDIA) => Action::Relay(media_class(envelope, sender)),
    })
}

/// Whether a packet carries media a participant who may not publish must not send: any MEDIA
/// packet but a heartbeat (which says the receive-only participant is alive).
fn is_media(envelope: &Envelope<'_>) -> bool {
    envelope.kind() == Some(PacketType::MEDIA)
        && envelope.media_route().and_then(|route| route.kind()) != Some(MediaType::HEARTBEAT)
}

/// How a media packet is queued for each receiver.
fn media_class(envelope: &Envelope<'_>, sender: SessionId) -> Class {
    match envelope.media_route() {
        Some(route) if matches!(route.kind(), Some(MediaType::VIDEO | MediaType::SCREEN)) => {
            let stream = StreamKey { sender, media_type: route.media_type };
            Class::Video { stream, keyframe: route.keyframe }
        }
        // Audio, heartbeats, and media we cannot see into (encrypted, from an old client).
        _ => Class::Lossy,
    }
}

/// The relay core of one server instance; cheap to clone.
#[derive(Clone)]
pub struct Relay {
    shared: Arc<Shared>,
}

/// Drives the relay's bus traffic: publishes queued packets and drains every room
/// subscription. Spawn it once; it ends when the [`Relay`] and all sessions are dropped.
pub struct Driver {
    bus: Arc<dyn Bus>,
    shared: Weak<Shared>,
    /// The relay's counters and queued publish bytes, kept past the relay so that what was
    /// queued before it went (the last sessions' `left` announcements) is still published.
    metrics: Arc<Metrics>,
    publish_bytes: Arc<AtomicUsize>,
    publish: mpsc::Receiver<(String, Bytes)>,
    subscriptions: mpsc::Receiver<NewSubscription>,
}

impl Relay {
    /// A relay over `bus`, and the driver future that must be spawned next to it.
    pub fn new(bus: Arc<dyn Bus>, config: RelayConfig) -> (Self, Driver) {
        let (publish_tx, publish_rx) = mpsc::channel(config.publish_queue.max(1));
        let (subscriptions_tx, subscriptions_rx) = mpsc::channel(NEW_SUBSCRIPTIONS_QUEUE);
        let metrics = Arc::new(Metrics::default());
        let publish_bytes = Arc::new(AtomicUsize::new(0));
        let shared = Arc::new(Shared {
            instance: random_id(),
            admission: Admission::new(config.connections),
            config,
            metrics: metrics.clone(),
            bus: bus.clone(),
            rooms: Mutex::new(HashMap::new()),
            publish: publish_tx,
            publish_bytes: publish_bytes.clone(),
            subscriptions: subscriptions_tx,
            shutting_down: AtomicBool::new(false),
        });
        let driver = Driver {
            bus,
            shared: Arc::downgrade(&shared),
            metrics,
            publish_bytes,
            publish: publish_rx,
            subscriptions: subscriptions_rx,
        };
        (Self { shared }, driver)
    }

    /// The relay's counters.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.shared.metrics
    }

    /// The configuration the relay runs with.
    pub fn config(&self) -> &RelayConfig {
        &self.shared.config
    }

    /// Whether the relay can serve: its bus is connected and it is not shutting down.
    pub fn is_ready(&self) -> bool {
        !self.shared.shutting_down.load(Relaxed) && self.shared.bus.is_connected()
    }

    /// Refuses new sessions and tells every session to close with "going away".
    pub fn shutdown(&self) {
        self.shared.shutting_down.store(true, Relaxed);
        let rooms: Vec<Arc<Room>> = self.shared.rooms().values().cloned().collect();
        for room in rooms {
            room.close_all(CloseReason::GoingAway);
        }
    }

    /// Takes a place for a connection from `ip` under the connection caps; transports call it
    /// before any other work for the connection and keep the permit until [`Relay::join`]. A
    /// refusal is counted in the close counters; callers only tell the client.
    pub fn admit(&self, ip: IpAddr) -> Result<Permit, CloseReason> {
        self.shared.admission.admit(ip).inspect_err(|reason| self.shared.metrics.closed(*reason))
    }

    /// Open connections (admitted, not yet closed) and the distinct addresses they come from.
    pub fn connections(&self) -> (usize, usize) {
        self.shared.admission.open()
    }

    /// Rooms with a session on this instance.
    pub fn rooms(&self) -> usize {
        self.shared.rooms().len()
    }

    /// Joins `who` (a [`UserId`] for a guest known by id alone) to `room` on the place `permit`
    /// holds. `ext` asks for SERVER packets (the client sent `?ext=1`). A refused join is
    /// counted in the close counters; callers only tell the client.
    pub async fn join(
        &self,
        permit: Permit,
        who: impl Into<Identity>,
        room: RoomId,
        ext: bool,
    ) -> Result<Session, JoinError> {
        let identity = who.into();
        let shared = &self.shared;
        if shared.shutting_down.load(Relaxed) {
            shared.metrics.closed(CloseReason::GoingAway);
            return Err(JoinError::ShuttingDown);
        }
        let session_id = random_id();
        let member = Arc::new(Member::new(session_id, &identity, ext, shared.config.outbox));
        let now = now();
        let room = {
            let mut rooms = shared.rooms();
            let max_size = shared.admission.limits().max_room_size;
            let room = rooms
                .entry(room.clone())
                .or_insert_with(|| {
                    shared.metrics.rooms.fetch_add(1, Relaxed);
                    Arc::new(Room::new(room, max_size))
                })
                .clone();
            if !room.add_local(member.clone(), now, &shared.metrics) {
                shared.metrics.closed(CloseReason::RoomFull);
                return Err(JoinError::RoomFull);
            }
            room
        };
        shared.metrics.sessions.fetch_add(1, Relaxed);
        shared.metrics.sessions_total.fetch_add(1, Relaxed);
        // From here on, dropping `session` undoes the join (and counts the close).
        let mut session = Session {
            shared: shared.clone(),
            rate: RateLimiter::new(shared.config.rate, now),
            room,
            member,
            close_reason: None,
            _permit: permit,
        };
        tracing::debug!(room = %session.room.id, session = %session_id, "joined");
        shared.announce(
            &session.room.id,
            session_id,
            Presence::Joined(session.member.peer.clone()),
        );
        if let Err(err) = self.subscribe(&session.room, session_id).await {
            session.close_reason = Some(err.close_reason());
            return Err(err);
        }
        Ok(session)
    }

    /// Applies a host's `action` to the sessions of `room` on this instance and publishes it for
    /// the other instances, which apply it to theirs; returns how many sessions here it
    /// reached. The caller (a meeting API) has checked that the host may do it. An error means
    /// the other instances were not told (this one was); doing it again is harmless.
    pub async fn host_action(&self, room: &RoomId, action: HostAction) -> Result<usize, BusError> {
        let shared = &self.shared;
        let reached = shared.host_action(room, &action, now());
        if shared.bus_reaches_others() {
            let subject = subject::presence(room, shared.instance);
            let published = shared.bus.publish(subject, action.presence().encode()).await;
            let counter = if published.is_ok() {
                &shared.metrics.bus_published
            } else {
                &shared.metrics.bus_errors
            };
            counter.fetch_add(1, Relaxed);
            published?;
        }
        Ok(reached)
    }

    /// Makes sure this instance holds the room's one bus subscription.
    async fn subscribe(&self, room: &Arc<Room>, joiner: SessionId) -> Result<(), JoinError> {
        let shared = &self.shared;
        room.subscription
            .get_or_try_init(|| async {
                let subscription =
                    shared.bus.subscribe(subject::room(&room.id)).await.inspect_err(|_| {
                        shared.metrics.bus_errors.fetch_add(1, Relaxed);
                    })?;
                let (stop_tx, stop) = oneshot::channel();
                let new = NewSubscription { room: Arc::downgrade(room), subscription, stop };
                shared.subscriptions.send(new).await.map_err(|_| JoinError::ShuttingDown)?;
                // Ask the other instances who is already here.
                shared.announce(&room.id, joiner, Presence::Sync);
                Ok::<_, JoinError>(stop_tx)
            })
            .await
            .map(|_| ())
    }
}

/// What a host did that reaches the sessions of a meeting, on every instance
/// ([`Relay::host_action`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostAction {
    /// Close the user's sessions with [`CloseReason::Removed`].
    Remove(UserId),
    /// Send the user's sessions (those that asked for SERVER packets) a `MuteRequest`.
    AskToMute(UserId),
    /// Close every session with [`CloseReason::MeetingEnded`].
    End,
}

impl HostAction {
    fn presence(&self) -> Presence {
        match self {
            Self::Remove(user) => Presence::Removed(user.clone()),
            Self::AskToMute(user) => Presence::Mute(user.clone()),
            Self::End => Presence::Ended,
        }
    }
}

/// Who a session is: the user id the relay stamps, the name others see, and what the session
/// may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Stamped on everything the session sends.
    pub user: UserId,
    /// Shown to the others.
    pub name: DisplayName,
    /// Runs the meeting.
    pub host: bool,
    /// May send media; when `false`, media packets (all but heartbeats) are dropped and counted.
    pub publish: bool,
}

/// A guest known by user id alone (open mode): named after the id, may publish, not host.
impl From<UserId> for Identity {
    fn from(user: UserId) -> Self {
        Self { name: DisplayName::of_user(&user), user, host: false, publish: true }
    }
}

/// One client connection in a room. Transports feed it what the client sends
/// ([`Session::handle_packet`]) and write what [`Session::outbound`] yields. Dropping it leaves
/// the room.
pub struct Session {
    shared: Arc<Shared>,
    room: Arc<Room>,
    member: Arc<Member>,
    rate: RateLimiter,
    close_reason: Option<CloseReason>,
    /// The connection's place under the caps, freed after the session has left.
    _permit: Permit,
}

impl Session {
    /// The server-assigned session id.
    pub fn id(&self) -> SessionId {
        self.member.peer.session
    }

    /// The authenticated user id.
    pub fn user(&self) -> &UserId {
        &self.member.user
    }

    /// The room.
    pub fn room(&self) -> &RoomId {
        &self.room.id
    }

    /// Checks, stamps and relays one packet from the client. An error means the connection must
    /// be closed with that reason (it has been counted).
    pub fn handle_packet(&mut self, packet: &[u8]) -> Result<(), CloseReason> {
        let result = self.relay_packet(packet);
        if let Err(reason) = result {
            tracing::info!(session = %self.id(), reason = reason.as_str(), "refusing client packet");
            self.close_reason = Some(reason);
        }
        result
    }

    /// Counts a keep-alive frame from the client (a WebSocket ping or pong) against its rate
    /// limit, so that pings cannot flood the server; an error closes as for packets.
    pub fn handle_keepalive(&mut self) -> Result<(), CloseReason> {
        // A keep-alive frame is a few bytes: it counts as one packet.
        if self.rate.admit(0, now()) {
            return Ok(());
        }
        self.close_reason = Some(CloseReason::RateLimited);
        Err(CloseReason::RateLimited)
    }

    fn relay_packet(&mut self, packet: &[u8]) -> Result<(), CloseReason> {
        let shared = &self.shared;
        let now = now();
        shared.metrics.packets_in.fetch_add(1, Relaxed);
        shared.metrics.bytes_in.fetch_add(packet.len() as u64, Relaxed);
        if packet.len() > shared.config.max_packet_bytes {
            return Err(CloseReason::TooLarge);
        }
        if !self.rate.admit(packet.len(), now) {
            return Err(CloseReason::RateLimited);
        }
        let envelope = Envelope::read(packet).map_err(|_| CloseReason::Malformed)?;
        match classify(&envelope, self.id())? {
            Action::Relay(_) if !self.member.publish && is_media(&envelope) => {
                shared.metrics.media_withheld.fetch_add(1, Relaxed);
            }
            Action::Relay(class) => {
                let stamped = self.stamp(packet)?;
                shared.fan_out(&self.room, self.id(), class, &stamped, now);
                if shared.bus_reaches_others() {
                    shared.publish(subject::media(&self.room.id, self.id()), stamped);
                }
            }
            Action::Echo => {
                let stamped = self.stamp(packet)?;
                shared.metrics.rtt_echoes.fetch_add(1, Relaxed);
                self.member.push(Class::Echo, stamped, now, &shared.metrics);
            }
            Action::Drop => {
                shared.metrics.health_reports_dropped.fetch_add(1, Relaxed);
            }
        }
        Ok(())
    }

    /// `packet` with this session's identity stamped over the sender's (see [`wire::stamp`]).
    /// Echoes are stamped too: a client sees the server's view of itself on everything that
    /// comes back, and an old client recognises its probe by that email, which is the user id
    /// it connected with (unless that had a space, which validation turned into `_`).
    fn stamp(&self, packet: &[u8]) -> Result<Bytes, CloseReason> {
        wire::stamp(packet, self.member.user.as_str(), self.id().get())
            .map(Bytes::from)
            .map_err(|_| CloseReason::Malformed)
    }

    /// The reading end of this session's outbound queue, usable while the session handles
    /// client packets and after it is gone (to send the last words).
    pub fn receiver(&self) -> Receiver {
        Receiver {
            member: self.member.clone(),
            metrics: self.shared.metrics.clone(),
            stall_timeout: self.shared.config.outbox.stall_timeout,
        }
    }

    /// Ends the session for `reason`: its writer stops sending queued packets, says its last
    /// words and closes. When the relay closed it first (shutdown, a receiver hopelessly
    /// behind), that reason stands.
    pub fn close(&mut self, reason: CloseReason) {
        self.close_reason.get_or_insert(reason);
        self.member.close(reason);
    }
}

/// The reading end of a session's outbound queue: what a transport's writer sends.
pub struct Receiver {
    member: Arc<Member>,
    metrics: Arc<Metrics>,
    stall_timeout: Duration,
}

impl Receiver {
    /// How long a client may take to accept one packet before it counts as stalled.
    pub fn stall_timeout(&self) -> Duration {
        self.stall_timeout
    }

    /// Moves up to `max` queued packets into `batch` (in queue order) at once: `Ready(Ok)` with
    /// at least one; `Pending` with none, and the task is woken when there are some; or the
    /// reason the connection must close. One lock and one wake-up per batch, not per packet.
    pub fn poll_batch(
        &self,
        cx: &mut Context<'_>,
        batch: &mut Vec<Bytes>,
        max: usize,
    ) -> Poll<Result<(), CloseReason>> {
        let before = batch.len();
        let polled = self.member.poll_batch(cx, now(), batch, max);
        if let Poll::Ready(Ok(())) = polled {
            let taken = &batch[before..];
            let bytes: usize = taken.iter().map(Bytes::len).sum();
            self.metrics.packets_out.fetch_add(taken.len() as u64, Relaxed);
            self.metrics.bytes_out.fetch_add(bytes as u64, Relaxed);
        }
        polled
    }

    /// [`Self::poll_batch`] as a future.
    pub async fn next_batch(&self, batch: &mut Vec<Bytes>, max: usize) -> Result<(), CloseReason> {
        std::future::poll_fn(|cx| self.poll_batch(cx, batch, max)).await
    }

    /// Whether packets have waited longer than the stall timeout with the writer taking none:
    /// the client stopped reading (or its connection did).
    pub fn stalled(&self) -> bool {
        self.member.stalled(now())
    }

    /// Why the session was closed, once it was.
    pub fn closed(&self) -> Option<CloseReason> {
        self.member.closed()
    }

    /// The packet to send before closing for `reason`: a `ServerError` naming it, for clients
    /// that asked for SERVER packets; nothing for a normal close.
    pub fn last_words(&self, reason: CloseReason) -> Option<Bytes> {
        (self.member.ext && reason != CloseReason::Normal).then(|| control::error(reason))
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let shared = &self.shared;
        let now = now();
        let session = self.id();
        {
            let mut rooms = shared.rooms();
            let empty = self.room.remove_local(session, now, &shared.metrics);
            if empty && rooms.get(&self.room.id).is_some_and(|r| Arc::ptr_eq(r, &self.room)) {
                rooms.remove(&self.room.id);
                shared.metrics.rooms.fetch_sub(1, Relaxed);
            }
        }
        shared.announce(&self.room.id, session, Presence::Left(self.member.peer.clone()));
        // What the client was told wins over what the session saw afterwards (a connection that
        // ends once the relay has closed it reads as a normal end).
        let reason = self.member.closed().or(self.close_reason).unwrap_or(CloseReason::Normal);
        shared.metrics.closed(reason);
        shared.metrics.sessions.fetch_sub(1, Relaxed);
        tracing::debug!(room = %self.room.id, session = %session, reason = reason.as_str(), "left");
    }
}

impl Driver {
    /// Runs until the relay is gone.
    pub async fn run(self) {
        let Driver { bus, shared, metrics, publish_bytes, mut publish, mut subscriptions } = self;
        // Ends once the relay and every session are gone and all they queued is published.
        let publisher = async move {
            while let Some((subject, payload)) = publish.recv().await {
                publish_bytes.fetch_sub(payload.len(), Relaxed);
                let counter = match bus.publish(subject, payload).await {
                    Ok(()) => &metrics.bus_published,
                    Err(BusError::Disconnected) => &metrics.bus_publish_dropped,
                    Err(_) => &metrics.bus_errors,
                };
                counter.fetch_add(1, Relaxed);
            }
        };
        let pumps = async move {
            let mut running = FuturesUnordered::new();
            loop {
                tokio::select! {
                    new = subscriptions.recv() => match new {
                        Some(new) => running.push(pump(shared.clone(), new)),
                        None => break,
                    },
                    Some(()) = running.next(), if !running.is_empty() => {}
                }
            }
            // The relay is gone; finish what is running so rooms can end cleanly.
            while running.next().await.is_some() {}
        };
        futures::future::join(publisher, pumps).await;
    }
}

/// Drains one room's subscription until the room is gone.
async fn pump(shared: Weak<Shared>, new: NewSubscription) {
    let NewSubscription { room, mut subscription, mut stop } = new;
    let mut presence = tokio::time::interval(PRESENCE_INTERVAL);
    presence.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            _ = &mut stop => break,
            message = subscription.next() => {
                let (Some(message), Some(shared), Some(room)) = (message, shared.upgrade(), room.upgrade()) else {
                    break;
                };
                on_bus_message(&shared, &room, message);
            }
            _ = presence.tick() => {
                let (Some(shared), Some(room)) = (shared.upgrade(), room.upgrade()) else { break };
                room.expire_remotes(shared.config.remote_timeout, now(), &shared.metrics);
                shared.announce_roster(&room);
            }
        }
    }
}

fn on_bus_message(shared: &Shared, room: &Room, message: BusMessage) {
    let now = now();
    shared.metrics.bus_received.fetch_add(1, Relaxed);
    match subject::parse(&room.id, &message.subject) {
        Some(subject::Kind::Media(sender)) => {
            on_remote_packet(shared, room, sender, &message.payload, now)
        }
        Some(subject::Kind::Presence(about)) => match Presence::decode(&message.payload) {
            Some(event) => on_presence(shared, room, about, event, now),
            None => {
                shared.metrics.bus_malformed.fetch_add(1, Relaxed);
            }
        },
        None => {
            shared.metrics.bus_malformed.fetch_add(1, Relaxed);
        }
    }
}

/// How a relayed packet from another instance is queued, or `None` when it is not one our
/// relays could have published: too large, not an envelope, of a type clients may not send or
/// relays do not relay (health reports, round-trip probes), or not stamped with a valid user id
/// and the session id its subject names.
/// Also returns the sender's user id.
fn check_remote_packet(
    payload: &[u8],
    sender: SessionId,
    max_bytes: usize,
) -> Option<(Class, &str)> {
    // Stamping adds the user id and session id (at most ~80 bytes) to what a client sent.
    if payload.len() > max_bytes.saturating_add(128) {
        return None;
    }
    let envelope = Envelope::read(payload).ok()?;
    if envelope.session_id != sender.get() || !stamped_user(envelope.email) {
        return None;
    }
    match classify(&envelope, sender) {
        Ok(Action::Relay(class)) => Some((class, envelope.email)),
        Ok(Action::Echo | Action::Drop) | Err(_) => None,
    }
}

fn on_remote_packet(
    shared: &Shared,
    room: &Room,
    sender: SessionId,
    payload: &Bytes,
    now: Instant,
) {
    let max_bytes = shared.config.max_packet_bytes;
    let Some((class, user)) = check_remote_packet(payload, sender, max_bytes) else {
        shared.metrics.bus_malformed.fetch_add(1, Relaxed);
        return;
    };
    if room.saw_remote(Peer::new(sender, user), false, now, &shared.metrics) {
        shared.fan_out(room, sender, class, payload, now);
    } else {
        shared.metrics.bus_refused.fetch_add(1, Relaxed);
    }
}

/// Whether `user` is a user id exactly as a relay stamps it (valid, and already in the form
/// validation gives it: a space a client typed has become `_`).
fn stamped_user(user: &str) -> bool {
    control::exact_user(user).is_some()
}

/// Whether streams of this raw `MediaType` have key frames (video and screen).
fn has_keyframes(media_type: i32) -> bool {
    [MediaType::VIDEO, MediaType::SCREEN].iter().any(|kind| *kind as i32 == media_type)
}

/// Whether a participant named on the bus has a valid user id.
fn valid_peer(peer: &Peer) -> bool {
    stamped_user(&peer.user)
}

fn on_presence(shared: &Shared, room: &Room, about: SessionId, event: Presence, now: Instant) {
    match event {
        Presence::Joined(peer) if peer.session == about && valid_peer(&peer) => {
            if !room.saw_remote(peer, true, now, &shared.metrics) {
                shared.metrics.bus_refused.fetch_add(1, Relaxed);
            }
        }
        Presence::Left(peer) if peer.session == about => {
            room.remote_left(about, now, &shared.metrics)
        }
        Presence::Sync => {
            if room.may_answer_sync(SYNC_ANSWER_INTERVAL, now) {
                shared.announce_roster(room)
            }
        }
        Presence::Roster(peers) if peers.len() <= ROSTER_CHUNK && peers.iter().all(valid_peer) => {
            for peer in peers {
                if !room.saw_remote(peer, true, now, &shared.metrics) {
                    shared.metrics.bus_refused.fetch_add(1, Relaxed);
                }
            }
        }
        // Only streams with key frames: each media type has its own request timer, so any
        // other number would be a fresh timer (and a fresh request) every time.
        Presence::KeyframeRequest(media_type) if has_keyframes(media_type) => {
            if let Some(member) = room.local(about) {
                let interval = shared.config.outbox.keyframe_request_interval;
                member.request_keyframe(media_type, interval, now, &shared.metrics);
            }
        }
        // A host action can do no more over the bus than through the meeting API: name one
        // valid user (decoding refused anything else) or the whole meeting, of the subject's
        // room; never a session, another room or a close reason of its choosing.
        Presence::Removed(user) => {
            shared.host_action(&room.id, &HostAction::Remove(user), now);
        }
        Presence::Mute(user) => {
            shared.host_action(&room.id, &HostAction::AskToMute(user), now);
        }
        Presence::Ended => {
            shared.host_action(&room.id, &HostAction::End, now);
        }
        Presence::Joined(_)
        | Presence::Left(_)
        | Presence::Roster(_)
        | Presence::KeyframeRequest(_) => {
            shared.metrics.bus_malformed.fetch_add(1, Relaxed);
        }
    }
}
