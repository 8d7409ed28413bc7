//! The result of a run: what was set up, what was delivered per media kind, and the client-side
//! counters that tell bot trouble from server trouble; printed as a table, saved as JSON.

use std::fmt::{self, Write as _};

use hdrhistogram::Histogram;

use crate::load::LoadPlan;
use crate::participant::ClientTotals;
use crate::probe::Kind;
use crate::shape::MediaShape;
use crate::stats::{KindTotals, Timeline};

/// How the connections went.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Setup {
    /// Participants the plan asked for.
    pub wanted: usize,
    /// Participants that connected at least once.
    pub connected: usize,
    /// Seconds from the first connection attempt until all connected (or the timeout).
    pub connect_secs: f64,
    /// Connection attempts that failed.
    pub connect_failures: u64,
    /// Established connections that were lost.
    pub disconnects: u64,
    /// Video key frame requests publishers received.
    pub keyframe_requests: u64,
    /// Key frames sent outside the schedule because of requests.
    pub forced_keyframes: u64,
    /// The last connect error seen, if any.
    pub last_error: Option<String>,
}

/// The run's parameters, as recorded in the report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Params {
    /// Transport of the first server.
    pub transport: &'static str,
    /// Number of servers participants were spread over.
    pub servers: usize,
    /// Rooms.
    pub rooms: usize,
    /// Publishers per room.
    pub publishers: usize,
    /// Subscribers per room.
    pub subscribers: usize,
    /// Seconds publishers sent.
    pub duration_secs: f64,
    /// What each publisher sent.
    pub shape: MediaShape,
}

/// Latency percentiles, milliseconds.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

impl Latency {
    fn of(histogram: &Histogram<u64>) -> Self {
        if histogram.is_empty() {
            return Self::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Self {
            p50: ms(histogram.value_at_quantile(0.50)),
            p90: ms(histogram.value_at_quantile(0.90)),
            p99: ms(histogram.value_at_quantile(0.99)),
            max: ms(histogram.max()),
        }
    }
}

/// Delivery of one media kind, or of all together.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Delivery {
    /// `video`, `audio` or `all`.
    pub kind: &'static str,
    /// Packets publishers handed to their clients.
    pub sent: u64,
    /// Packets the clients refused before sending.
    pub not_sent: u64,
    /// Deliveries that should have happened.
    pub expected: u64,
    /// Distinct packets received.
    pub delivered: u64,
    /// Expected but never received.
    pub lost: u64,
    /// `lost / expected`, percent.
    pub loss_pct: f64,
    /// Extra copies received.
    pub duplicates: u64,
    /// Received after a later packet of the same stream.
    pub reordered: u64,
    /// Holes in received sequences.
    pub gaps: u64,
    /// Delivered packets per second of sending.
    pub msgs_per_sec: f64,
    /// Delivered megabits per second of sending (envelopes included).
    pub mbit_per_sec: f64,
    /// Send-to-receive latency.
    pub latency_ms: Latency,
}

impl Delivery {
    fn of(kind: &'static str, totals: &KindTotals, secs: f64) -> Self {
        let lost = totals.lost();
        let per_sec = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
        Self {
            kind,
            sent: totals.sent,
            not_sent: totals.not_sent,
            expected: totals.expected,
            delivered: totals.delivered,
            lost,
            loss_pct: if totals.expected == 0 {
                0.0
            } else {
                100.0 * lost as f64 / totals.expected as f64
            },
            duplicates: totals.duplicates,
            reordered: totals.reordered,
            gaps: totals.gaps,
            msgs_per_sec: per_sec(totals.delivered),
            mbit_per_sec: per_sec(totals.bytes) * 8.0 / 1e6,
            latency_ms: Latency::of(&totals.latency),
        }
    }
}

/// Everything a load run found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// The run's parameters.
    pub params: Params,
    /// How the connections went.
    pub setup: Setup,
    /// Client-side counters (bot trouble, not server trouble).
    pub client: ClientTotals,
    /// Video, audio, and both together.
    pub delivery: Vec<Delivery>,
    /// Packets delivered per wall-clock second: `[unix second, deliveries]`.
    pub timeline: Vec<(u64, u64)>,
}

impl Report {
    /// Builds the report of a finished run.
    pub fn new(
        plan: &LoadPlan,
        setup: Setup,
        client: ClientTotals,
        kinds: [KindTotals; 2],
        timeline: &Timeline,
    ) -> Self {
        let secs = plan.duration.as_secs_f64();
        let mut all = KindTotals::default();
        for totals in &kinds {
            all.sent += totals.sent;
            all.not_sent += totals.not_sent;
            all.expected += totals.expected;
            all.delivered += totals.delivered;
            all.duplicates += totals.duplicates;
            all.reordered += totals.reordered;
            all.gaps += totals.gaps;
            all.bytes += totals.bytes;
            let _ = all.latency.add(&totals.latency);
        }
        let mut delivery: Vec<Delivery> =
            Kind::ALL.iter().map(|k| Delivery::of(k.as_str(), &kinds[k.index()], secs)).collect();
        delivery.push(Delivery::of("all", &all, secs));
        let transport = match plan.servers.first() {
            Some(crate::target::Server::WebTransport { .. }) => "webtransport",
            _ => "websocket",
        };
        let params = Params {
            transport,
            servers: plan.servers.len(),
            rooms: plan.rooms,
            publishers: plan.publishers,
            subscribers: plan.subscribers,
            duration_secs: secs,
            shape: plan.shape,
        };
        Self { params, setup, client, delivery, timeline: timeline.seconds() }
    }

    /// The totals over both kinds.
    pub fn all(&self) -> Option<&Delivery> {
        self.delivery.iter().find(|d| d.kind == "all")
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.params;
        let s = &self.setup;
        writeln!(
            f,
            "{} x ({} publishers + {} subscribers) over {} ({} server{}), {:.0} s",
            p.rooms,
            p.publishers,
            p.subscribers,
            p.transport,
            p.servers,
            if p.servers == 1 { "" } else { "s" },
            p.duration_secs
        )?;
        writeln!(
            f,
            "connected {}/{} in {:.1} s; connect failures {}, disconnects {}, key frame requests {}",
            s.connected,
            s.wanted,
            s.connect_secs,
            s.connect_failures,
            s.disconnects,
            s.keyframe_requests
        )?;
        let mut table = String::new();
        let _ = writeln!(
            table,
            "{:<6} {:>10} {:>11} {:>11} {:>9} {:>7} {:>5} {:>10} {:>8} {:>8} {:>8} {:>8} {:>8}",
            "kind",
            "sent",
            "expected",
            "delivered",
            "lost",
            "loss%",
            "dup",
            "msgs/s",
            "Mbit/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms"
        );
        for d in &self.delivery {
            let l = d.latency_ms;
            let _ = writeln!(
                table,
                "{:<6} {:>10} {:>11} {:>11} {:>9} {:>7.3} {:>5} {:>10.0} {:>8.1} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
                d.kind,
                d.sent,
                d.expected,
                d.delivered,
                d.lost,
                d.loss_pct,
                d.duplicates,
                d.msgs_per_sec,
                d.mbit_per_sec,
                l.p50,
                l.p90,
                l.p99,
                l.max
            );
        }
        f.write_str(&table)?;
        let c = &self.client;
        write!(
            f,
            "bot side: events dropped {}, sends refused {}, inbound refused {}, malformed {}, reconnects {}",
            c.dropped_events, c.dropped_outgoing, c.dropped_inbound, c.malformed, c.reconnects
        )?;
        if let Some(error) = &s.last_error {
            write!(f, "\nlast connect error: {error}")?;
        }
        Ok(())
    }
}
