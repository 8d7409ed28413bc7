//! What receivers measure, and how measurements add up: per-stream sequence tracking (new,
//! duplicate, out of order, gaps), latency histograms, and totals per media kind.
//!
//! Pure: time is passed in. Each receiver owns its [`ReceiverStats`]; the runner merges them
//! into [`KindTotals`] once the run is over, so the hot path takes no lock.

use std::collections::HashMap;

use hdrhistogram::Histogram;

use crate::probe::{Kind, Probe};

/// Sequence numbers above this are not tracked (about 4 days of video at 30 fps): a bound on the
/// memory a misbehaving sender can make a receiver use.
pub const MAX_TRACKED_SEQUENCE: u64 = 1 << 24;

/// Latencies above this (one minute, in µs) are recorded as this.
const MAX_LATENCY_US: u64 = 60_000_000;

/// A new latency histogram: 1 µs to one minute, two significant digits (1% resolution).
pub fn histogram() -> Histogram<u64> {
    // ok: the bounds are constants that hdrhistogram accepts; failure would be a programming error.
    #[allow(clippy::expect_used)]
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 2).expect("valid histogram bounds")
}

/// The sequence numbers one receiver saw of one sender's stream.
#[derive(Debug, Default, Clone)]
pub struct StreamTracker {
    seen: Vec<u64>,
    unique: u64,
    duplicates: u64,
    reordered: u64,
    untracked: u64,
    highest: Option<u64>,
}

/// What [`StreamTracker::record`] made of a sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// First time: counts as delivered.
    New,
    /// Seen before.
    Duplicate,
    /// Beyond [`MAX_TRACKED_SEQUENCE`]: ignored.
    Untracked,
}

impl StreamTracker {
    /// Records one received sequence number.
    pub fn record(&mut self, seq: u64) -> Seen {
        if seq >= MAX_TRACKED_SEQUENCE {
            self.untracked += 1;
            return Seen::Untracked;
        }
        let (word, bit) = ((seq / 64) as usize, 1u64 << (seq % 64));
        if word >= self.seen.len() {
            self.seen.resize(word + 1, 0);
        }
        if self.seen[word] & bit != 0 {
            self.duplicates += 1;
            return Seen::Duplicate;
        }
        self.seen[word] |= bit;
        self.unique += 1;
        match self.highest {
            Some(highest) if seq < highest => self.reordered += 1,
            _ => self.highest = Some(seq),
        }
        Seen::New
    }

    /// Distinct sequence numbers received.
    pub fn unique(&self) -> u64 {
        self.unique
    }

    /// Sequence numbers received more than once (each extra copy counts).
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Packets that arrived after a higher sequence number.
    pub fn reordered(&self) -> u64 {
        self.reordered
    }

    /// Sequence numbers below the highest received that never arrived. Losses after the last
    /// received packet are invisible here; the runner compares with what was sent.
    pub fn gaps(&self) -> u64 {
        self.highest.map_or(0, |h| (h + 1).saturating_sub(self.unique))
    }
}

/// Everything one receiving participant measured.
#[derive(Debug)]
pub struct ReceiverStats {
    streams: HashMap<(String, Kind), StreamTracker>,
    latency: [Histogram<u64>; 2],
    bytes: [u64; 2],
    untracked: u64,
    timeline: Timeline,
}

/// Packets delivered per wall-clock second (Unix seconds), to see when delivery stopped and
/// when it recovered during a fault.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Timeline {
    first_sec: u64,
    counts: Vec<u64>,
}

impl Timeline {
    /// Most seconds a timeline covers (an hour): a bound on its memory.
    pub const MAX_SECS: usize = 3600;

    /// Counts one delivery at `now_us`.
    pub fn count(&mut self, now_us: u64) {
        let sec = now_us / 1_000_000;
        if self.counts.is_empty() {
            self.first_sec = sec;
        }
        let Some(index) = sec.checked_sub(self.first_sec).map(|i| i as usize) else { return };
        if index >= Self::MAX_SECS {
            return;
        }
        if index >= self.counts.len() {
            self.counts.resize(index + 1, 0);
        }
        self.counts[index] += 1;
    }

    /// Adds another timeline (which may start earlier or later).
    pub fn merge(&mut self, other: &Timeline) {
        if other.counts.is_empty() {
            return;
        }
        if self.counts.is_empty() {
            *self = other.clone();
            return;
        }
        if other.first_sec < self.first_sec {
            let shift = (self.first_sec - other.first_sec) as usize;
            let mut counts = vec![0; shift];
            counts.extend_from_slice(&self.counts);
            counts.truncate(Self::MAX_SECS);
            (self.counts, self.first_sec) = (counts, other.first_sec);
        }
        let offset = (other.first_sec - self.first_sec) as usize;
        for (i, n) in other.counts.iter().enumerate() {
            let index = offset + i;
            if index >= Self::MAX_SECS {
                break;
            }
            if index >= self.counts.len() {
                self.counts.resize(index + 1, 0);
            }
            self.counts[index] += n;
        }
    }

    /// `(unix second, deliveries)` pairs, in order.
    pub fn seconds(&self) -> Vec<(u64, u64)> {
        self.counts.iter().enumerate().map(|(i, n)| (self.first_sec + i as u64, *n)).collect()
    }
}

impl Default for ReceiverStats {
    fn default() -> Self {
        Self {
            streams: HashMap::new(),
            latency: [histogram(), histogram()],
            bytes: [0; 2],
            untracked: 0,
            timeline: Timeline::default(),
        }
    }
}

impl ReceiverStats {
    /// Records a packet of `bytes` wire bytes from `sender`, received at `now_us` (Unix µs).
    /// Duplicates count neither as delivered nor towards latency.
    pub fn record(&mut self, sender: &str, probe: Probe, bytes: usize, now_us: u64) {
        let stream = match self.streams.get_mut(&(sender.to_owned(), probe.kind)) {
            Some(stream) => stream,
            None => self.streams.entry((sender.to_owned(), probe.kind)).or_default(),
        };
        match stream.record(probe.sequence) {
            Seen::New => {}
            Seen::Duplicate => return,
            Seen::Untracked => {
                self.untracked += 1;
                return;
            }
        }
        let k = probe.kind.index();
        self.bytes[k] += bytes as u64;
        self.timeline.count(now_us);
        let latency = now_us.saturating_sub(probe.sent_us).clamp(1, MAX_LATENCY_US);
        // In bounds by the clamp above.
        let _ = self.latency[k].record(latency);
    }

    /// Deliveries per second.
    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    /// The tracker of one stream, if anything of it arrived.
    pub fn stream(&self, sender: &str, kind: Kind) -> Option<&StreamTracker> {
        self.streams.get(&(sender.to_owned(), kind))
    }
}

/// Totals of one media kind over every receiver of a run.
#[derive(Debug, Clone)]
pub struct KindTotals {
    /// Packets publishers handed to their client.
    pub sent: u64,
    /// Packets the client refused or discarded before sending (queue full, disconnected).
    pub not_sent: u64,
    /// Deliveries that should have happened: every sent packet times the receivers in its room.
    pub expected: u64,
    /// Distinct packets received.
    pub delivered: u64,
    /// Extra copies received.
    pub duplicates: u64,
    /// Packets that arrived after a later one of the same stream.
    pub reordered: u64,
    /// Missing sequence numbers below the highest received, per stream.
    pub gaps: u64,
    /// Wire bytes of the delivered packets.
    pub bytes: u64,
    /// Latency of delivered packets, µs.
    pub latency: Histogram<u64>,
}

impl Default for KindTotals {
    fn default() -> Self {
        Self {
            sent: 0,
            not_sent: 0,
            expected: 0,
            delivered: 0,
            duplicates: 0,
            reordered: 0,
            gaps: 0,
            bytes: 0,
            latency: histogram(),
        }
    }
}

impl KindTotals {
    /// Expected deliveries that did not happen.
    pub fn lost(&self) -> u64 {
        self.expected.saturating_sub(self.delivered)
    }

    /// Adds one receiver's measurements of this kind.
    pub fn absorb(&mut self, kind: Kind, stats: &ReceiverStats) {
        for ((_, k), stream) in &stats.streams {
            if *k == kind {
                self.delivered += stream.unique();
                self.duplicates += stream.duplicates();
                self.reordered += stream.reordered();
                self.gaps += stream.gaps();
            }
        }
        self.bytes += stats.bytes[kind.index()];
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.latency.add(&stats.latency[kind.index()]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(kind: Kind, sequence: u64, sent_us: u64) -> Probe {
        Probe { kind, sequence, sent_us }
    }

    #[test]
    fn a_tracker_tells_new_duplicate_reordered_and_gaps_apart() {
        let mut t = StreamTracker::default();
        for seq in [0, 1, 2, 5, 3, 3, 9] {
            t.record(seq);
        }
        assert_eq!((t.unique(), t.duplicates(), t.reordered()), (6, 1, 1));
        // 4, 6, 7, 8 are missing below the highest (9).
        assert_eq!(t.gaps(), 4);
        assert_eq!(t.record(MAX_TRACKED_SEQUENCE), Seen::Untracked);
        assert_eq!(StreamTracker::default().gaps(), 0);
    }

    #[test]
    fn a_late_first_packet_is_a_gap_from_zero() {
        let mut t = StreamTracker::default();
        t.record(10);
        assert_eq!(t.gaps(), 10);
    }

    #[test]
    fn receivers_add_up_per_kind_and_duplicates_are_not_delivered() {
        let mut a = ReceiverStats::default();
        a.record("p0", probe(Kind::Video, 0, 1_000), 3000, 3_000);
        a.record("p0", probe(Kind::Video, 0, 1_000), 3000, 9_000);
        a.record("p1", probe(Kind::Video, 0, 1_000), 3000, 2_000);
        a.record("p0", probe(Kind::Audio, 0, 1_000), 100, 1_500);
        let mut b = ReceiverStats::default();
        b.record("p0", probe(Kind::Video, 1, 1_000), 3000, 5_000);
        assert_eq!(b.stream("p0", Kind::Video).unwrap().gaps(), 1);

        let mut video = KindTotals { sent: 2, expected: 4, ..Default::default() };
        video.absorb(Kind::Video, &a);
        video.absorb(Kind::Video, &b);
        assert_eq!((video.delivered, video.duplicates, video.gaps, video.lost()), (3, 1, 1, 1));
        assert_eq!(video.bytes, 9000);
        assert_eq!(video.latency.len(), 3);
        assert_eq!(video.latency.max(), video.latency.highest_equivalent(4_000));
        let mut audio = KindTotals::default();
        audio.absorb(Kind::Audio, &a);
        assert_eq!((audio.delivered, audio.bytes), (1, 100));
        assert_eq!(audio.latency.value_at_quantile(0.5), audio.latency.highest_equivalent(500));
    }

    #[test]
    fn timelines_count_per_second_and_merge() {
        let mut a = Timeline::default();
        a.count(10_000_000);
        a.count(10_500_000);
        a.count(12_000_000);
        let mut b = Timeline::default();
        b.count(9_000_000);
        b.count(12_100_000);
        b.merge(&a);
        assert_eq!(b.seconds(), [(9, 1), (10, 2), (11, 0), (12, 2)]);
        let mut late = Timeline::default();
        late.count(11_000_000);
        late.merge(&b);
        assert_eq!(late.seconds(), [(9, 1), (10, 2), (11, 1), (12, 2)]);
    }

    #[test]
    fn a_clock_that_runs_backwards_records_the_smallest_latency() {
        let mut a = ReceiverStats::default();
        a.record("p0", probe(Kind::Audio, 0, 10_000), 100, 5_000);
        let mut totals = KindTotals::default();
        totals.absorb(Kind::Audio, &a);
        assert_eq!(totals.latency.min(), 1);
    }
}
