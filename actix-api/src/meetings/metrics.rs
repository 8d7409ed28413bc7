//! Counters of the meetings store's use, for `/metrics`.

use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use videocall_access::Barred;

use super::limit::Endpoint;

/// What the server was doing when the store failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StoreOp {
    /// Checking a join (the join was refused as `store_unavailable`).
    Check,
    /// Recording a join in the history.
    RecordJoin,
    /// Recording a leave.
    RecordLeave,
    /// Closing the sessions a previous run left open.
    CloseAbandoned,
    /// Serving the meeting API (the request got a 503).
    Api,
}

impl StoreOp {
    const ALL: [Self; 5] =
        [Self::Check, Self::RecordJoin, Self::RecordLeave, Self::CloseAbandoned, Self::Api];

    fn label(self) -> &'static str {
        match self {
            Self::Check => "check",
            Self::RecordJoin => "record_join",
            Self::RecordLeave => "record_leave",
            Self::CloseAbandoned => "close_abandoned",
            Self::Api => "api",
        }
    }
}

/// Store errors by operation and joins the meeting gate refused by reason; clones share them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Counters(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    store_errors: [AtomicU64; StoreOp::ALL.len()],
    refused: [AtomicU64; Barred::ALL.len()],
    rate_limited: [AtomicU64; Endpoint::ALL.len()],
}

impl Counters {
    /// Counts a store error.
    pub(crate) fn store_error(&self, op: StoreOp) {
        self.0.store_errors[op as usize].fetch_add(1, Relaxed);
    }

    /// Counts a join the gate refused.
    pub(crate) fn refused(&self, barred: Barred) {
        let index = Barred::ALL.iter().position(|b| *b == barred).unwrap_or(0);
        self.0.refused[index].fetch_add(1, Relaxed);
    }

    /// Counts a request the rate limits refused.
    pub(crate) fn rate_limited(&self, endpoint: Endpoint) {
        self.0.rate_limited[endpoint as usize].fetch_add(1, Relaxed);
    }

    /// Appends the Prometheus text of the counters to `out`.
    pub(crate) fn render(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP videocall_store_errors_total Meetings store operations that failed, by operation.\n\
             # TYPE videocall_store_errors_total counter"
        );
        for op in StoreOp::ALL {
            let count = self.0.store_errors[op as usize].load(Relaxed);
            let _ = writeln!(out, "videocall_store_errors_total{{op=\"{}\"}} {count}", op.label());
        }
        let _ = writeln!(
            out,
            "# HELP videocall_meeting_refused_total Joins a stored meeting refused, by reason.\n\
             # TYPE videocall_meeting_refused_total counter"
        );
        for (barred, count) in Barred::ALL.iter().zip(&self.0.refused) {
            let count = count.load(Relaxed);
            let _ = writeln!(
                out,
                "videocall_meeting_refused_total{{reason=\"{}\"}} {count}",
                barred.label()
            );
        }
        let _ = writeln!(
            out,
            "# HELP videocall_api_rate_limited_total Meeting API requests refused by the per-address rate limit (429), by endpoint.\n\
             # TYPE videocall_api_rate_limited_total counter"
        );
        for endpoint in Endpoint::ALL {
            let count = self.0.rate_limited[endpoint as usize].load(Relaxed);
            let _ = writeln!(
                out,
                "videocall_api_rate_limited_total{{endpoint=\"{}\"}} {count}",
                endpoint.label()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_is_rendered_with_its_count() {
        let counters = Counters::default();
        counters.store_error(StoreOp::RecordLeave);
        counters.refused(Barred::Removed);
        counters.clone().refused(Barred::Removed);
        counters.rate_limited(Endpoint::Join);
        let mut out = String::new();
        counters.render(&mut out);
        assert!(out.contains("videocall_store_errors_total{op=\"record_leave\"} 1\n"));
        assert!(out.contains("videocall_store_errors_total{op=\"check\"} 0\n"));
        assert!(out.contains("videocall_meeting_refused_total{reason=\"removed\"} 2\n"));
        assert!(out.contains("videocall_meeting_refused_total{reason=\"meeting_ended\"} 0\n"));
        assert!(out.contains("videocall_api_rate_limited_total{endpoint=\"join\"} 1\n"));
        assert!(out.contains("videocall_api_rate_limited_total{endpoint=\"create\"} 0\n"));
    }
}
