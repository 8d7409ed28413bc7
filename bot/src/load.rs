//! The load run: R rooms × (N publishers + M subscribers) join with a ramp, publishers send paced
//! media for the run's duration, everyone measures what arrives, and the totals become a
//! [`Report`].
//!
//! Phases: connect (at `ramp_per_sec`, until everyone is connected or `connect_timeout`), settle
//! (joins propagate, e.g. across NATS), send for `duration`, drain (late packets still count),
//! stop and add up. Loss is exact: every publisher counts what it sent, and every receiver in its
//! room should get each packet once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use rand::Rng;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use videocall_client::{Client, ClientHandle, ClientOptions};
use videocall_types::{IdError, RoomId, UserId};

use crate::participant::{self, ClientTotals, Received, Sent, Signals, Window};
use crate::probe::Kind;
use crate::report::{Report, Setup};
use crate::shape::MediaShape;
use crate::stats::{KindTotals, Timeline};
use crate::target::Server;

/// Stands in for "never" where the client wants an interval (no heartbeats).
const NEVER: Duration = Duration::from_secs(365 * 24 * 3600);

/// Everything a load run needs.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    /// Servers to join; participant `i` joins `servers[i % len]`.
    pub servers: Vec<Server>,
    /// Number of rooms.
    pub rooms: usize,
    /// Publishers per room (they receive everyone else too).
    pub publishers: usize,
    /// Subscribers per room (receive only).
    pub subscribers: usize,
    /// What each publisher sends.
    pub shape: MediaShape,
    /// How long publishers send.
    pub duration: Duration,
    /// Connections opened per second.
    pub ramp_per_sec: f64,
    /// Pause between everyone being connected and the first packet.
    pub settle: Duration,
    /// How long receivers keep measuring after the last packet was sent.
    pub drain: Duration,
    /// Give up waiting for connections after this long (on top of the ramp).
    pub connect_timeout: Duration,
    /// Heartbeat interval of publishers (`None`: no heartbeats).
    pub publisher_heartbeat: Option<Duration>,
    /// Heartbeat interval of subscribers (`None`: no heartbeats).
    pub subscriber_heartbeat: Option<Duration>,
    /// Ask servers for extensions (`?ext=1`); off speaks the old protocol.
    pub ext: bool,
    /// Over WebTransport, several packets per stream (`?streams=1`); off sends one packet per
    /// stream as old clients do.
    pub wt_streams: bool,
    /// Prefix of room names, so runs against one server do not meet.
    pub room_prefix: String,
}

impl LoadPlan {
    /// A plan with the defaults of the `bot load` command.
    pub fn new(servers: Vec<Server>) -> Self {
        Self {
            servers,
            rooms: 1,
            publishers: 2,
            subscribers: 0,
            shape: MediaShape::default(),
            duration: Duration::from_secs(10),
            ramp_per_sec: 100.0,
            settle: Duration::from_secs(1),
            drain: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(30),
            publisher_heartbeat: Some(Duration::from_secs(1)),
            subscriber_heartbeat: Some(Duration::from_secs(1)),
            ext: true,
            wt_streams: true,
            room_prefix: "load".into(),
        }
    }

    fn per_room(&self) -> usize {
        self.publishers + self.subscribers
    }
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// No server to join.
    #[error("no server given")]
    NoServer,
    /// A generated room or user name is not a valid id (a bad room prefix).
    #[error("invalid name: {0}")]
    Name(#[from] IdError),
    /// A lobby URL could not be built from a server URL.
    #[error("bad server URL: {0}")]
    Url(#[from] videocall_client::lobby::LobbyError),
}

struct Joined {
    room: usize,
    handle: ClientHandle,
    receiver: JoinHandle<Received>,
    publisher: Option<JoinHandle<Sent>>,
}

/// Runs a load test and reports what was delivered.
pub async fn run(plan: LoadPlan) -> Result<Report, LoadError> {
    if plan.servers.is_empty() {
        return Err(LoadError::NoServer);
    }
    let (window_tx, window_rx) = watch::channel::<Window>(None);
    let (stop_tx, stop_rx) = watch::channel(false);
    let connected = Arc::new(AtomicUsize::new(0));
    let wanted = plan.rooms * plan.per_room();
    let began = Instant::now();

    let mut joined = Vec::with_capacity(wanted);
    let gap = Duration::from_secs_f64(1.0 / plan.ramp_per_sec.max(0.001));
    let mut next = Instant::now();
    for index in 0..wanted {
        let (room, slot) = (index / plan.per_room(), index % plan.per_room());
        let publisher = slot < plan.publishers;
        let signals = Signals {
            connected: connected.clone(),
            keyframe: Arc::new(AtomicBool::new(false)),
            stop: stop_rx.clone(),
        };
        let options = options(&plan, index, room, slot, publisher)?;
        let (handle, events, driver) = Client::new(options)?;
        handle.set_enabled(publisher, publisher, false);
        tokio::spawn(driver);
        let keyframe = signals.keyframe.clone();
        let receiver = tokio::spawn(participant::receive(events, signals));
        let publisher = publisher.then(|| {
            let phase = rand::rng().random::<f64>();
            let task = participant::publish(
                handle.clone(),
                plan.shape,
                window_rx.clone(),
                keyframe,
                phase,
            );
            tokio::spawn(task)
        });
        joined.push(Joined { room, handle, receiver, publisher });
        next += gap;
        tokio::time::sleep_until(next).await;
    }

    let deadline = Instant::now() + plan.connect_timeout;
    while connected.load(Ordering::Relaxed) < wanted && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let connect_secs = began.elapsed().as_secs_f64();
    tracing::info!(
        connected = connected.load(Ordering::Relaxed),
        wanted,
        connect_secs,
        "connected"
    );

    let start = Instant::now() + plan.settle;
    let end = start + plan.duration;
    let _ = window_tx.send(Some((start, end)));
    tokio::time::sleep_until(end + plan.drain).await;
    let _ = stop_tx.send(true);

    let report = collect(&plan, joined, connect_secs).await;
    Ok(report)
}

fn options(
    plan: &LoadPlan,
    index: usize,
    room: usize,
    slot: usize,
    publisher: bool,
) -> Result<ClientOptions, LoadError> {
    let user = if publisher { format!("p{slot}") } else { format!("s{}", slot - plan.publishers) };
    let room_id = RoomId::new(&format!("{}-r{room}", plan.room_prefix))?;
    let server = &plan.servers[index % plan.servers.len()];
    let mut options = ClientOptions::new(UserId::new(&user)?, room_id, server.choice());
    let heartbeat = if publisher { plan.publisher_heartbeat } else { plan.subscriber_heartbeat };
    options.heartbeat_interval = heartbeat.unwrap_or(NEVER);
    options.ext = plan.ext;
    options.wt_streams = plan.wt_streams;
    // Large rooms: every participant is a peer of every other.
    options.max_peers = options.max_peers.max(plan.per_room());
    Ok(options)
}

/// Waits for every task, closes every client and adds everything up.
async fn collect(plan: &LoadPlan, joined: Vec<Joined>, connect_secs: f64) -> Report {
    let mut kinds = [KindTotals::default(), KindTotals::default()];
    let mut setup = Setup { wanted: joined.len(), connect_secs, ..Setup::default() };
    let mut client = ClientTotals::default();
    let mut timeline = Timeline::default();
    let mut sent_per_room = vec![Sent::default(); plan.rooms];
    for participant in joined {
        let Joined { room, handle, receiver, publisher } = participant;
        if let Some(publisher) = publisher
            && let Ok(sent) = publisher.await
        {
            let total = &mut sent_per_room[room];
            for k in 0..2 {
                total.sent[k] += sent.sent[k];
                total.not_sent[k] += sent.not_sent[k];
            }
            setup.forced_keyframes += sent.forced_keyframes;
        }
        if let Ok(received) = receiver.await {
            setup.connected += usize::from(received.connected);
            setup.disconnects += received.disconnects;
            setup.connect_failures += received.connect_failures;
            setup.keyframe_requests += received.keyframe_requests;
            if received.last_error.is_some() {
                setup.last_error = received.last_error;
            }
            for kind in Kind::ALL {
                kinds[kind.index()].absorb(kind, &received.stats);
            }
            timeline.merge(received.stats.timeline());
        }
        client.add(handle.stats());
        handle.close();
    }
    let receivers_per_packet = plan.per_room().saturating_sub(1) as u64;
    for sent in &sent_per_room {
        for kind in Kind::ALL {
            let totals = &mut kinds[kind.index()];
            totals.sent += sent.sent[kind.index()];
            totals.not_sent += sent.not_sent[kind.index()];
            totals.expected += sent.sent[kind.index()] * receivers_per_packet;
        }
    }
    Report::new(plan, setup, client, kinds, &timeline)
}
