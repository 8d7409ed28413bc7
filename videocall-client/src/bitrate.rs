//! Adaptive sender bitrate from receivers' reports: back off when a receiver gets fewer frames
//! than are sent or loses frames, probe upwards slowly while everyone keeps up.
//!
//! Pure logic (time is passed in). Multiplicative decrease (×0.75, at most once per second),
//! gentle increase (×1.08 after two clean seconds), always within `[min, max]`. Reports older
//! than [`REPORT_TTL`] are forgotten, so a receiver that left stops holding the rate down.

use std::collections::HashMap;
use std::time::Duration;

/// A report older than this no longer counts.
pub const REPORT_TTL: Duration = Duration::from_secs(4);

/// One receiver's latest view of this sender's stream.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Report {
    at: Duration,
    fps_received: f64,
    frames_lost: u64,
    /// Frames lost since the previous report from this receiver.
    new_losses: u64,
}

/// Chooses a sender's bitrate from its receivers' reports.
#[derive(Debug, Clone)]
pub struct BitrateController {
    min: u32,
    max: u32,
    current: u32,
    last_change: Duration,
    reports: HashMap<String, Report>,
    trouble_since_change: bool,
}

impl BitrateController {
    /// A controller starting at `start` bit/s, kept within `[min, max]`.
    pub fn new(start: u32, min: u32, max: u32) -> Self {
        Self {
            min,
            max: max.max(min),
            current: start.clamp(min, max.max(min)),
            last_change: Duration::ZERO,
            reports: HashMap::new(),
            trouble_since_change: false,
        }
    }

    /// The bitrate to use now (bit/s).
    pub fn bitrate(&self) -> u32 {
        self.current
    }

    /// Takes a receiver's report: frames per second it received and frames it lost in total.
    pub fn handle_report(
        &mut self,
        receiver: &str,
        fps_received: f64,
        frames_lost: u64,
        now: Duration,
    ) {
        let new_losses = self
            .reports
            .get(receiver)
            .map_or(0, |previous| frames_lost.saturating_sub(previous.frames_lost));
        let report = Report { at: now, fps_received, frames_lost, new_losses };
        self.reports.insert(receiver.to_owned(), report);
    }

    /// A receiver asked for a key frame: it lost something.
    pub fn handle_loss(&mut self) {
        self.trouble_since_change = true;
    }

    /// Re-evaluates with the sender's own output rate; returns the new bitrate when it changed.
    pub fn poll(&mut self, sent_fps: f64, now: Duration) -> Option<u32> {
        self.reports.retain(|_, r| now.saturating_sub(r.at) < REPORT_TTL);
        let since = now.saturating_sub(self.last_change);
        let slow = self.reports.values().any(|r| {
            r.at >= self.last_change && (r.new_losses > 0 || r.fps_received < 0.8 * sent_fps)
        });
        let next = if (slow || self.trouble_since_change) && since >= Duration::from_secs(1) {
            (f64::from(self.current) * 0.75) as u32
        } else if !slow && !self.trouble_since_change && since >= Duration::from_secs(2) {
            (f64::from(self.current) * 1.08) as u32
        } else {
            return None;
        };
        let next = next.clamp(self.min, self.max);
        self.last_change = now;
        self.trouble_since_change = false;
        (next != self.current).then(|| {
            self.current = next;
            next
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn a_receiver_that_keeps_up_lets_the_rate_climb_to_the_maximum() {
        let mut control = BitrateController::new(300_000, 100_000, 1_000_000);
        for second in 1..120u32 {
            control.handle_report("bob", 30.0, 0, S * second);
            control.poll(30.0, S * second);
        }
        assert_eq!(control.bitrate(), 1_000_000);
    }

    #[test]
    fn a_slow_receiver_pulls_the_rate_down_to_the_minimum() {
        let mut control = BitrateController::new(800_000, 100_000, 1_000_000);
        control.handle_report("bob", 30.0, 0, S);
        for second in 2..40u32 {
            control.handle_report("bob", 12.0, 0, S * second);
            control.poll(30.0, S * second);
        }
        assert_eq!(control.bitrate(), 100_000);
    }

    #[test]
    fn losses_and_key_frame_requests_back_off() {
        let mut control = BitrateController::new(800_000, 100_000, 1_000_000);
        control.handle_report("bob", 30.0, 0, S);
        control.handle_report("bob", 30.0, 5, 3 * S);
        assert_eq!(control.poll(30.0, 3 * S), Some(600_000));
        control.handle_loss();
        assert_eq!(control.poll(30.0, 4 * S), Some(450_000));
    }

    #[test]
    fn a_departed_receiver_stops_holding_the_rate_down() {
        let mut control = BitrateController::new(400_000, 100_000, 1_000_000);
        control.handle_report("gone", 5.0, 0, S);
        assert!(control.poll(30.0, 2 * S).is_some_and(|b| b < 400_000));
        let low = control.bitrate();
        control.poll(30.0, 2 * S + REPORT_TTL + S);
        assert!(control.bitrate() > low);
    }
}
