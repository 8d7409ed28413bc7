//! Counters the relay keeps, and their Prometheus text rendering.
//!
//! Plain atomics updated on the hot path with relaxed ordering; a binary renders them at
//! `/metrics`. Every dropped packet and every close is counted by reason.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

use videocall_types::CloseReason;

use crate::outbox::DropReason;

/// The relay's counters and gauges.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Connected sessions (gauge).
    pub sessions: AtomicI64,
    /// Rooms with at least one local session (gauge).
    pub rooms: AtomicI64,
    /// Sessions ever accepted.
    pub sessions_total: AtomicU64,
    /// Packets received from clients.
    pub packets_in: AtomicU64,
    /// Bytes received from clients.
    pub bytes_in: AtomicU64,
    /// Packets handed to transports for clients.
    pub packets_out: AtomicU64,
    /// Bytes handed to transports for clients.
    pub bytes_out: AtomicU64,
    /// Packets published to the bus.
    pub bus_published: AtomicU64,
    /// Packets received from the bus.
    pub bus_received: AtomicU64,
    /// Bus operations that failed (publish, subscribe) and bus events that signal loss.
    pub bus_errors: AtomicU64,
    /// Packets not published because the instance's publish queue was full.
    pub bus_publish_dropped: AtomicU64,
    /// Malformed packets received from the bus (another instance or a foreign publisher).
    pub bus_malformed: AtomicU64,
    /// Participants named on the bus but not taken: their room is full (as far as this
    /// instance knows) or they claim a session connected here.
    pub bus_refused: AtomicU64,
    /// Key frame requests sent to publishers.
    pub keyframe_requests: AtomicU64,
    /// Health reports (`PacketType` HEALTH) from old clients, dropped: they were meant for the
    /// old server's own diagnostics. How many there are says how many old clients are in use.
    pub health_reports_dropped: AtomicU64,
    /// Round-trip probes (`MediaType` RTT) queued back to their senders.
    pub rtt_echoes: AtomicU64,
    /// Host actions (remove, ask to mute, end) applied to a session here, from this instance's
    /// meeting API or from another instance over the bus.
    pub host_actions: AtomicU64,
    /// Media packets from participants who may not publish (`publish: false`), dropped.
    pub media_withheld: AtomicU64,
    // Indexed by `reason as usize`: `ALL` lists the variants in declaration order.
    drops: [AtomicU64; DropReason::ALL.len()],
    closes: [AtomicU64; CloseReason::ALL.len()],
}

impl Metrics {
    /// Counts one packet dropped for one receiver.
    pub fn dropped(&self, reason: DropReason) {
        self.drops[reason as usize].fetch_add(1, Relaxed);
    }

    /// Packets dropped for `reason` so far.
    pub fn drops(&self, reason: DropReason) -> u64 {
        self.drops[reason as usize].load(Relaxed)
    }

    /// Counts one connection closed for `reason`.
    pub fn closed(&self, reason: CloseReason) {
        self.closes[reason as usize].fetch_add(1, Relaxed);
    }

    /// Connections closed for `reason` so far.
    pub fn closes(&self, reason: CloseReason) -> u64 {
        self.closes[reason as usize].load(Relaxed)
    }

    /// Appends the Prometheus text exposition of every counter to `out`.
    pub fn render(&self, out: &mut String) {
        let mut metric = |name: &str, kind: &str, help: &str, value: i64| {
            let _ = writeln!(out, "# HELP videocall_{name} {help}\n# TYPE videocall_{name} {kind}");
            let _ = writeln!(out, "videocall_{name} {value}");
        };
        let get = |c: &AtomicU64| c.load(Relaxed) as i64;
        metric("sessions", "gauge", "Connected sessions.", self.sessions.load(Relaxed));
        metric("rooms", "gauge", "Rooms with a local session.", self.rooms.load(Relaxed));
        metric("sessions_total", "counter", "Sessions accepted.", get(&self.sessions_total));
        metric("packets_in_total", "counter", "Packets from clients.", get(&self.packets_in));
        metric("bytes_in_total", "counter", "Bytes from clients.", get(&self.bytes_in));
        metric("packets_out_total", "counter", "Packets to clients.", get(&self.packets_out));
        metric("bytes_out_total", "counter", "Bytes to clients.", get(&self.bytes_out));
        metric(
            "bus_published_total",
            "counter",
            "Packets published to the bus.",
            get(&self.bus_published),
        );
        metric(
            "bus_received_total",
            "counter",
            "Packets received from the bus.",
            get(&self.bus_received),
        );
        metric("bus_errors_total", "counter", "Bus failures.", get(&self.bus_errors));
        metric(
            "bus_publish_dropped_total",
            "counter",
            "Packets not published: publish queue full.",
            get(&self.bus_publish_dropped),
        );
        metric(
            "bus_malformed_total",
            "counter",
            "Malformed or invalid messages from the bus.",
            get(&self.bus_malformed),
        );
        metric(
            "bus_refused_total",
            "counter",
            "Participants named on the bus but not taken (room full or a local session id).",
            get(&self.bus_refused),
        );
        metric(
            "keyframe_requests_total",
            "counter",
            "Key frame requests sent.",
            get(&self.keyframe_requests),
        );
        metric(
            "health_reports_dropped_total",
            "counter",
            "Old clients' health reports (packet type 5), dropped: meant for the old server.",
            get(&self.health_reports_dropped),
        );
        metric(
            "media_withheld_total",
            "counter",
            "Media packets from participants whose token says publish: false, dropped.",
            get(&self.media_withheld),
        );
        metric(
            "host_actions_total",
            "counter",
            "Host actions (remove, ask to mute, end) applied to local sessions.",
            get(&self.host_actions),
        );
        metric(
            "rtt_echoes_total",
            "counter",
            "Round-trip probes (media type 4) queued back to their senders.",
            get(&self.rtt_echoes),
        );
        let _ = writeln!(
            out,
            "# HELP videocall_dropped_packets_total Packets dropped for a receiver, by reason.\n\
             # TYPE videocall_dropped_packets_total counter"
        );
        for (reason, count) in DropReason::ALL.iter().zip(&self.drops) {
            let _ = writeln!(
                out,
                "videocall_dropped_packets_total{{reason=\"{}\"}} {}",
                reason.as_str(),
                count.load(Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP videocall_closed_sessions_total Connections closed, by reason.\n\
             # TYPE videocall_closed_sessions_total counter"
        );
        for (reason, count) in CloseReason::ALL.iter().zip(&self.closes) {
            let _ = writeln!(
                out,
                "videocall_closed_sessions_total{{reason=\"{}\"}} {}",
                reason.as_str(),
                count.load(Relaxed)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_counter_with_labels() {
        let m = Metrics::default();
        m.dropped(DropReason::LossyOldest);
        m.closed(CloseReason::Malformed);
        m.packets_in.fetch_add(3, Relaxed);
        m.health_reports_dropped.fetch_add(2, Relaxed);
        m.dropped(DropReason::EchoOldest);
        let mut out = String::new();
        m.render(&mut out);
        assert!(out.contains("videocall_packets_in_total 3\n"));
        assert!(out.contains("videocall_health_reports_dropped_total 2\n"));
        assert!(out.contains("videocall_rtt_echoes_total 0\n"));
        assert!(out.contains("videocall_dropped_packets_total{reason=\"echo_oldest\"} 1\n"));
        assert!(out.contains("videocall_dropped_packets_total{reason=\"lossy_oldest\"} 1\n"));
        assert!(out.contains("videocall_closed_sessions_total{reason=\"malformed\"} 1\n"));
        assert!(out.contains("videocall_closed_sessions_total{reason=\"timeout\"} 0\n"));
    }
}
