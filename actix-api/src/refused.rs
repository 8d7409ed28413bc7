//! Counters of HTTP requests refused before any room work, by reason, for `/metrics`.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Why a request was refused before it reached the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// `/lobby` without `Upgrade: websocket` (426).
    NotWebSocket,
    /// A WebSocket handshake with a bad version, key or `Connection` header (400).
    BadHandshake,
    /// A WebSocket upgrade from an origin that is not allowed (403).
    Origin,
    /// A host that does not parse or a forwarded scheme that is neither http nor https (400).
    BadHost,
}

impl Refusal {
    /// Every reason, in declaration order (the index of the counter).
    const ALL: [Self; 4] = [Self::NotWebSocket, Self::BadHandshake, Self::Origin, Self::BadHost];

    /// The `reason` label.
    fn label(self) -> &'static str {
        match self {
            Self::NotWebSocket => "not_websocket",
            Self::BadHandshake => "bad_handshake",
            Self::Origin => "origin",
            Self::BadHost => "bad_host",
        }
    }
}

/// Refused requests so far, per [`Refusal`].
#[derive(Debug, Default)]
pub(crate) struct Refused([AtomicU64; Refusal::ALL.len()]);

impl Refused {
    /// Counts one refused request.
    pub(crate) fn count(&self, reason: Refusal) {
        self.0[reason as usize].fetch_add(1, Relaxed);
    }

    /// Appends the Prometheus text of the counters to `out`.
    pub(crate) fn render(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP videocall_http_refused_total Requests refused before any room work, by reason.\n\
             # TYPE videocall_http_refused_total counter"
        );
        for reason in Refusal::ALL {
            let value = self.0[reason as usize].load(Relaxed);
            let _ = writeln!(
                out,
                "videocall_http_refused_total{{reason=\"{}\"}} {value}",
                reason.label()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_is_rendered_with_its_count() {
        let refused = Refused::default();
        refused.count(Refusal::Origin);
        refused.count(Refusal::Origin);
        let mut out = String::new();
        refused.render(&mut out);
        assert!(out.contains("videocall_http_refused_total{reason=\"origin\"} 2\n"));
        for reason in Refusal::ALL {
            assert!(out.contains(&format!("{{reason=\"{}\"}}", reason.label())));
        }
    }
}
