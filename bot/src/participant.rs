//! One simulated participant: a `videocall-client` whose events a receiver task measures, and,
//! for publishers, a task that sends paced synthetic media until the run ends.
//!
//! Tasks per participant: the client's driver, one receiver, and one publisher if it publishes —
//! never one per packet.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use protobuf::Message;
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};
use videocall_client::{ClientHandle, Event, Events, Stats};
use videocall_types::MediaType;

use crate::probe::{self, Kind};
use crate::shape::MediaShape;
use crate::stats::ReceiverStats;

/// When publishers send: from the first instant until the second.
pub type Window = Option<(Instant, Instant)>;

/// What a receiver task hands back.
#[derive(Debug, Default)]
pub struct Received {
    /// Its measurements.
    pub stats: ReceiverStats,
    /// Whether the client ever connected.
    pub connected: bool,
    /// Connections lost after being established.
    pub disconnects: u64,
    /// Connection attempts that failed.
    pub connect_failures: u64,
    /// Key frame requests the server sent.
    pub keyframe_requests: u64,
    /// The last connect error, for the report.
    pub last_error: Option<String>,
}

/// What a publisher task hands back.
#[derive(Debug, Default, Clone, Copy)]
pub struct Sent {
    /// Packets queued in the client, per [`Kind`].
    pub sent: [u64; 2],
    /// Packets the client refused (queue full, not connected), per [`Kind`].
    pub not_sent: [u64; 2],
    /// Key frames sent because a receiver asked.
    pub forced_keyframes: u64,
}

/// Signals a receiver shares with the runner and its publisher.
#[derive(Debug, Clone)]
pub struct Signals {
    /// Bumped once when the client first connects.
    pub connected: Arc<AtomicUsize>,
    /// Set when the server asks for a video key frame.
    pub keyframe: Arc<AtomicBool>,
    /// Becomes true when the run is over.
    pub stop: watch::Receiver<bool>,
}

/// Measures every event of one client until `stop`.
pub async fn receive(mut events: Events, mut signals: Signals) -> Received {
    let mut out = Received::default();
    loop {
        let event = tokio::select! {
            biased;
            _ = signals.stop.wait_for(|stop| *stop) => break,
            event = events.recv() => match event {
                Some(event) => event,
                None => break,
            },
        };
        match event {
            Event::Packet { wrapper, .. } => {
                if let Some(probe) = probe::read(&wrapper) {
                    let size = wrapper.compute_size() as usize;
                    out.stats.record(&wrapper.email, probe, size, probe::unix_us());
                }
            }
            Event::Connected { .. } if !out.connected => {
                out.connected = true;
                signals.connected.fetch_add(1, Ordering::Relaxed);
            }
            Event::KeyframeRequested(MediaType::VIDEO) => {
                out.keyframe_requests += 1;
                signals.keyframe.store(true, Ordering::Relaxed);
            }
            Event::Disconnected { .. } => out.disconnects += 1,
            Event::ConnectFailed { error, .. } => {
                out.connect_failures += 1;
                out.last_error = Some(error);
            }
            _ => {}
        }
    }
    out
}

/// Sends `shape` in real time during the window the runner announces, phase-shifted by
/// `phase` (0..1 of a period) so publishers do not all send at the same instant.
pub async fn publish(
    handle: ClientHandle,
    shape: MediaShape,
    mut window: watch::Receiver<Window>,
    keyframe: Arc<AtomicBool>,
    phase: f64,
) -> Sent {
    let mut out = Sent::default();
    let announced = match window.wait_for(Option::is_some).await {
        Ok(guard) => *guard,
        Err(_) => return out,
    };
    let Some((start, end)) = announced else { return out };
    let ticker = |period: Option<Duration>| {
        period.map(|p| {
            let mut timer = tokio::time::interval_at(start + p.mul_f64(phase), p);
            // A bot that falls behind sends less rather than bursting: the report shows it.
            timer.set_missed_tick_behavior(MissedTickBehavior::Skip);
            timer
        })
    };
    let (mut video, mut audio) = (ticker(shape.video_period()), ticker(shape.audio_period()));
    let mut seq = [0u64; 2];
    let mut forced = true; // a stream starts with a key frame
    loop {
        let kind = tokio::select! {
            () = tokio::time::sleep_until(end) => break,
            _ = tick(&mut video) => Kind::Video,
            _ = tick(&mut audio) => Kind::Audio,
        };
        let k = kind.index();
        let now = probe::unix_us();
        let (packet, extra_keyframe) = match kind {
            Kind::Video => {
                forced |= keyframe.swap(false, Ordering::Relaxed);
                let scheduled = seq[k].is_multiple_of(shape.keyframe_every());
                let frame = shape.video_frame(seq[k], forced);
                (probe::video(seq[k], frame.keyframe, frame.bytes, now), forced && !scheduled)
            }
            Kind::Audio => (probe::audio(seq[k], shape.audio_bytes(seq[k]), now), false),
        };
        match handle.send_media(packet) {
            Ok(()) => {
                out.sent[k] += 1;
                seq[k] += 1;
                if kind == Kind::Video {
                    forced = false;
                    out.forced_keyframes += u64::from(extra_keyframe);
                }
            }
            // The sequence number is not used up (receivers see no gap for it), and a refused
            // key frame stays due.
            Err(_) => out.not_sent[k] += 1,
        }
    }
    out
}

async fn tick(timer: &mut Option<tokio::time::Interval>) {
    match timer {
        Some(timer) => {
            timer.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Client counters of every participant, added up.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct ClientTotals {
    /// Packet events the bot did not read in time (the bot itself was too slow).
    pub dropped_events: u64,
    /// Packets the client refused or discarded before sending.
    pub dropped_outgoing: u64,
    /// Received packets from unknown senders refused (peer table full).
    pub dropped_inbound: u64,
    /// Received bytes that were not a usable packet.
    pub malformed: u64,
    /// Reconnections.
    pub reconnects: u64,
}

impl ClientTotals {
    /// Adds one client's counters.
    pub fn add(&mut self, stats: Stats) {
        self.dropped_events += stats.dropped_events;
        self.dropped_outgoing += stats.dropped_outgoing;
        self.dropped_inbound += stats.dropped_inbound;
        self.malformed += stats.malformed;
        self.reconnects += stats.reconnects;
    }
}
