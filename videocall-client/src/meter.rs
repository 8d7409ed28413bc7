//! Rates for diagnostics: events and bytes per second over windows of about a second.

use std::time::Duration;

/// Counts events and bytes, and turns them into per-second rates once per [`WINDOW`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rate {
    start: Option<Duration>,
    last: Duration,
    events: u64,
    bytes: u64,
    per_second: f64,
    kbps: f64,
}

/// How long a measurement window lasts.
pub const WINDOW: Duration = Duration::from_secs(1);

impl Rate {
    /// Records one event of `bytes` at `now`; returns the latest (events/s, kbit/s).
    pub fn record(&mut self, now: Duration, bytes: usize) -> (f64, f64) {
        self.roll(now);
        let start = *self.start.get_or_insert(now);
        self.events += 1;
        self.bytes += bytes as u64;
        self.last = now;
        let elapsed = now.saturating_sub(start);
        if elapsed >= WINDOW {
            let seconds = elapsed.as_secs_f64();
            self.per_second = self.events as f64 / seconds;
            self.kbps = self.bytes as f64 * 8.0 / seconds / 1000.0;
            *self = Self {
                start: Some(now),
                last: now,
                per_second: self.per_second,
                kbps: self.kbps,
                ..Self::default()
            };
        }
        (self.per_second, self.kbps)
    }

    /// The latest (events/s, kbit/s); zero once nothing was recorded for two windows.
    pub fn current(&mut self, now: Duration) -> (f64, f64) {
        self.roll(now);
        (self.per_second, self.kbps)
    }

    fn roll(&mut self, now: Duration) {
        if self.start.is_some() && now.saturating_sub(self.last) >= 2 * WINDOW {
            *self = Self::default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn thirty_frames_a_second_read_as_thirty_fps() {
        let mut rate = Rate::default();
        let mut last = (0.0, 0.0);
        for i in 0..=60u32 {
            last = rate.record(MS * (i * 1000 / 30), 1000);
        }
        assert!((last.0 - 30.0).abs() < 1.5, "{last:?}");
        assert!((last.1 - 240.0).abs() < 12.0, "{last:?}");
    }

    #[test]
    fn a_silent_stream_decays_to_zero() {
        let mut rate = Rate::default();
        for i in 0..40u32 {
            rate.record(MS * (i * 33), 500);
        }
        assert!(rate.current(MS * 1400).0 > 0.0);
        assert_eq!(rate.current(MS * 5000), (0.0, 0.0));
    }
}
