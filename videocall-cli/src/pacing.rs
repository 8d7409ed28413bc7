//! Frame pacing for sources without their own clock (the test pattern and the tone): frames are
//! due on a fixed grid from the start; a source that falls behind skips the missed slots
//! instead of bursting to catch up. Pure: the caller passes the time in.

use std::time::{Duration, Instant};

/// When the next frame is due.
#[derive(Debug, Clone)]
pub struct Pacer {
    start: Instant,
    interval: Duration,
    next: u64,
}

/// The next frame to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tick {
    /// Its index on the grid (0 is due at the start).
    pub index: u64,
    /// When it is due.
    pub due: Instant,
    /// Grid slots skipped because the caller was late.
    pub skipped: u64,
}

impl Pacer {
    /// A grid of `interval` steps starting at `start`.
    pub fn new(start: Instant, interval: Duration) -> Self {
        Self { start, interval: interval.max(Duration::from_micros(1)), next: 0 }
    }

    /// A grid for `fps` frames per second.
    pub fn per_second(start: Instant, fps: u32) -> Self {
        Self::new(start, Duration::from_secs(1) / fps.max(1))
    }

    /// The next slot to produce at `now`: the following grid slot, or, when `now` is already
    /// past it by a whole interval or more, the latest slot that is due (skipping the others).
    pub fn next(&mut self, now: Instant) -> Tick {
        let elapsed = now.saturating_duration_since(self.start);
        let latest_due = (elapsed.as_nanos() / self.interval.as_nanos()) as u64;
        let index = self.next.max(latest_due);
        let skipped = index - self.next;
        self.next = index + 1;
        Tick { index, due: self.due(index), skipped }
    }

    /// When slot `index` is due.
    pub fn due(&self, index: u64) -> Instant {
        let nanos = self.interval.as_nanos().saturating_mul(u128::from(index));
        self.start + Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn an_on_time_source_gets_every_slot_on_a_fixed_grid() {
        let t0 = Instant::now();
        let mut pacer = Pacer::per_second(t0, 25); // 40 ms
        let first = pacer.next(t0);
        assert_eq!(first, Tick { index: 0, due: t0, skipped: 0 });
        // Woken a little late each time: the grid does not drift.
        let second = pacer.next(t0 + 43 * MS);
        assert_eq!((second.index, second.due, second.skipped), (1, t0 + 40 * MS, 0));
        let third = pacer.next(t0 + 45 * MS);
        assert_eq!((third.index, third.due, third.skipped), (2, t0 + 80 * MS, 0));
    }

    #[test]
    fn a_late_source_skips_missed_slots_instead_of_bursting() {
        let t0 = Instant::now();
        let mut pacer = Pacer::per_second(t0, 25);
        pacer.next(t0);
        // 130 ms late: slots 1 and 2 are past, slot 3 (120 ms) is the latest due.
        let tick = pacer.next(t0 + 130 * MS);
        assert_eq!((tick.index, tick.skipped, tick.due), (3, 2, t0 + 120 * MS));
        assert_eq!(pacer.next(t0 + 131 * MS).index, 4, "then back on the grid");
    }

    #[test]
    fn thirty_fps_is_thirty_slots_a_second() {
        let t0 = Instant::now();
        let pacer = Pacer::per_second(t0, 30);
        assert_eq!(pacer.due(30), t0 + Duration::from_secs(1) - Duration::from_nanos(10));
    }
}
