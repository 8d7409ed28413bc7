//! Adaptive sender bitrate from receivers' reports: back off when receivers get fewer frames
//! than are sent or lose frames, probe upwards slowly while they keep up.
//!
//! Pure logic (time is passed in). Multiplicative decrease (×0.75, at most once per second),
//! gentle increase (×1.08 after two clean seconds), always within `[min, max]`.
//!
//! Robust to a lying (or just hopeless) receiver: the sender sends one stream to everyone, so
//! it follows the majority, not the worst report.
//! - Each receiver has one vote: its latest report. Flooding reports adds nothing.
//! - Reports older than [`REPORT_TTL`] are forgotten (a receiver that left stops voting), and
//!   only reports made since the last change vote on the next one.
//! - The rate backs off only when a strict majority of the receivers with a fresh report are
//!   in trouble (the median receiver is): one receiver among two or more cannot hold it down.
//!   A lone receiver is followed: it is the only viewer, so it can only hurt its own picture.
//!   Receivers outvoted this way still get the relay's protection (it drops their video to the
//!   next key frame when they fall behind).
//! - At most [`MAX_RECEIVERS`] receivers are tracked; reports from further ones, and reports
//!   with impossible numbers (negative or non-finite rates), are refused and counted.

use std::collections::HashMap;
use std::time::Duration;

use crate::peers::DEFAULT_MAX_PEERS;

/// A report older than this no longer counts.
pub const REPORT_TTL: Duration = Duration::from_secs(4);

/// Most receivers whose reports are kept: one per peer the client admits.
pub const MAX_RECEIVERS: usize = DEFAULT_MAX_PEERS;

/// One receiver's latest view of this sender's stream.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Report {
    at: Duration,
    fps_received: f64,
    frames_lost: u64,
    /// Frames lost since the previous report from this receiver.
    new_losses: u64,
    /// The receiver asked for a key frame (it lost something) at this time.
    loss_at: Option<Duration>,
}

impl Report {
    /// Whether this receiver says, since `since`, that the stream is too much for it.
    fn in_trouble(&self, since: Duration, sent_fps: f64) -> bool {
        let loss = self.loss_at.is_some_and(|at| at >= since);
        let slow = self.at >= since && (self.new_losses > 0 || self.fps_received < 0.8 * sent_fps);
        loss || slow
    }
}

/// Chooses a sender's bitrate from its receivers' reports.
#[derive(Debug, Clone)]
pub struct BitrateController {
    min: u32,
    max: u32,
    current: u32,
    last_change: Duration,
    reports: HashMap<String, Report>,
    refused: u64,
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
            refused: 0,
        }
    }

    /// The bitrate to use now (bit/s).
    pub fn bitrate(&self) -> u32 {
        self.current
    }

    /// Reports refused: impossible numbers, or a new receiver while [`MAX_RECEIVERS`] are kept.
    pub fn refused_reports(&self) -> u64 {
        self.refused
    }

    /// Takes a receiver's report: frames per second it received and frames it lost in total.
    pub fn handle_report(
        &mut self,
        receiver: &str,
        fps_received: f64,
        frames_lost: u64,
        now: Duration,
    ) {
        if !fps_received.is_finite() || fps_received < 0.0 {
            self.refused += 1;
            return;
        }
        let known = self.reports.contains_key(receiver);
        let Some(report) = self.slot(receiver, now) else { return };
        // Losses before a receiver's first report are not news.
        let new_losses = if known { frames_lost.saturating_sub(report.frames_lost) } else { 0 };
        *report = Report { at: now, fps_received, frames_lost, new_losses, ..*report };
    }

    /// `receiver` asked for a key frame: it lost something (one vote, like a bad report).
    pub fn handle_loss(&mut self, receiver: &str, now: Duration) {
        if let Some(report) = self.slot(receiver, now) {
            report.loss_at = Some(now);
        }
    }

    /// The entry of `receiver`, made if there is room (stale entries make room first).
    fn slot(&mut self, receiver: &str, now: Duration) -> Option<&mut Report> {
        if !self.reports.contains_key(receiver) && self.reports.len() >= MAX_RECEIVERS {
            self.forget_stale(now);
            if self.reports.len() >= MAX_RECEIVERS {
                self.refused += 1;
                return None;
            }
        }
        // A new receiver starts from its first report: no losses before it are counted.
        let fresh =
            Report { at: now, fps_received: 0.0, frames_lost: 0, new_losses: 0, loss_at: None };
        Some(self.reports.entry(receiver.to_owned()).or_insert(fresh))
    }

    fn forget_stale(&mut self, now: Duration) {
        self.reports.retain(|_, r| {
            now.saturating_sub(r.at.max(r.loss_at.unwrap_or_default())) < REPORT_TTL
        });
    }

    /// Whether a strict majority of the receivers heard from recently is in trouble.
    fn majority_in_trouble(&self, sent_fps: f64) -> bool {
        let troubled =
            self.reports.values().filter(|r| r.in_trouble(self.last_change, sent_fps)).count();
        troubled * 2 > self.reports.len()
    }

    /// Re-evaluates with the sender's own output rate; returns the new bitrate when it changed.
    pub fn poll(&mut self, sent_fps: f64, now: Duration) -> Option<u32> {
        self.forget_stale(now);
        let since = now.saturating_sub(self.last_change);
        let slow = self.majority_in_trouble(sent_fps);
        let next = if slow && since >= Duration::from_secs(1) {
            (f64::from(self.current) * 0.75) as u32
        } else if !slow && since >= Duration::from_secs(2) {
            (f64::from(self.current) * 1.08) as u32
        } else {
            return None;
        };
        let next = next.clamp(self.min, self.max);
        self.last_change = now;
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
        control.handle_loss("bob", 4 * S);
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

    #[test]
    fn one_lying_receiver_among_honest_ones_cannot_hold_the_rate_down() {
        let mut control = BitrateController::new(300_000, 100_000, 1_000_000);
        for second in 1..120u32 {
            let now = S * second;
            control.handle_report("bob", 30.0, 0, now);
            control.handle_report("carol", 29.0, 0, now);
            // Mallory claims to see nothing, to lose frames all the time, and asks for key frames.
            for _ in 0..50 {
                control.handle_report("mallory", 0.0, u64::from(second) * 100, now);
                control.handle_loss("mallory", now);
            }
            control.poll(30.0, now);
        }
        assert_eq!(control.bitrate(), 1_000_000);
    }

    #[test]
    fn a_majority_in_trouble_backs_off() {
        let mut control = BitrateController::new(800_000, 100_000, 1_000_000);
        control.handle_report("bob", 30.0, 0, S);
        control.handle_report("carol", 12.0, 0, S);
        control.handle_report("dave", 10.0, 0, S);
        assert_eq!(control.poll(30.0, 2 * S), Some(600_000));
    }

    #[test]
    fn impossible_reports_are_refused_and_counted() {
        let mut control = BitrateController::new(800_000, 100_000, 1_000_000);
        control.handle_report("bob", f64::NAN, 0, S);
        control.handle_report("bob", -1.0, 0, S);
        control.handle_report("bob", f64::INFINITY, 0, S);
        assert_eq!(control.refused_reports(), 3);
        assert_eq!(control.poll(30.0, 2 * S), Some(864_000), "nobody voted: probe upwards");
    }

    #[test]
    fn the_receivers_kept_are_bounded_and_stale_ones_make_room() {
        let mut control = BitrateController::new(800_000, 100_000, 1_000_000);
        for i in 0..MAX_RECEIVERS + 10 {
            control.handle_report(&format!("r{i}"), 30.0, 0, S);
        }
        assert_eq!(control.reports.len(), MAX_RECEIVERS);
        assert_eq!(control.refused_reports(), 10);
        control.handle_report("late", 30.0, 0, S + REPORT_TTL);
        assert_eq!(control.reports.len(), 1, "the stale reports made room");
    }
}
