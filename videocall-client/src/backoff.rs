//! Reconnect backoff: exponential delays with an optional deterministic jitter, reset once a
//! connection has stayed up long enough. Pure: the caller measures how long a connection lasted
//! and says why it closed; the randomness comes from the seed in [`BackoffConfig`].
//!
//! A server that drains (close code 1001, [`CloseReason::GoingAway`]) sends all its clients away
//! at once; if they all came back after the first backoff step (125–250 ms) they would hit the
//! remaining servers as one wave. So the first delay after a drain is drawn uniformly from
//! [`BackoffConfig::drain_min`]..=[`BackoffConfig::drain_max`] (0.5–5 s by default): N
//! clients arrive at about N / 4.5 per second instead. Later delays follow the usual sequence.

use std::time::Duration;

use videocall_types::CloseReason;

/// How reconnect delays grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffConfig {
    /// The first delay.
    pub initial: Duration,
    /// The largest delay; doubling stops here.
    pub max: Duration,
    /// A connection that lasted this long resets the delays to `initial`.
    pub stable_after: Duration,
    /// Seed of the jitter (each delay is drawn from `[d/2, d]`); `None` for exact delays.
    /// Different clients should use different seeds so they do not reconnect in lockstep.
    pub jitter_seed: Option<u64>,
    /// Shortest wait after the server went away (drain); without jitter the wait is exactly this.
    pub drain_min: Duration,
    /// Longest wait after the server went away (drain).
    pub drain_max: Duration,
}

impl Default for BackoffConfig {
    /// 250 ms doubling to 10 s, reset after 5 s up, 0.5–5 s after a drain, no jitter.
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(250),
            max: Duration::from_secs(10),
            stable_after: Duration::from_secs(5),
            jitter_seed: None,
            drain_min: Duration::from_millis(500),
            drain_max: Duration::from_secs(5),
        }
    }
}

/// The state of a reconnect sequence.
#[derive(Debug, Clone)]
pub struct Backoff {
    config: BackoffConfig,
    attempt: u32,
    rng: u64,
    /// The last connection ended in a drain: the next delay is spread over the drain range.
    drained: bool,
}

impl Backoff {
    /// A fresh sequence.
    pub fn new(config: BackoffConfig) -> Self {
        Self { config, attempt: 0, rng: config.jitter_seed.unwrap_or(0), drained: false }
    }

    /// How many delays were handed out since the last reset.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The delay before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        if std::mem::take(&mut self.drained) {
            self.attempt = self.attempt.saturating_add(1);
            return self.drain_delay();
        }
        let doublings = self.attempt.min(32);
        self.attempt = self.attempt.saturating_add(1);
        let base = self
            .config
            .initial
            .checked_mul(1u32 << doublings.min(31))
            .map_or(self.config.max, |d| d.min(self.config.max));
        if self.config.jitter_seed.is_none() {
            return base;
        }
        let half = base / 2;
        half + self.uniform(base - half)
    }

    /// Uniform in `drain_min..=drain_max` (exactly `drain_min` without jitter).
    fn drain_delay(&mut self) -> Duration {
        let min = self.config.drain_min;
        if self.config.jitter_seed.is_none() {
            return min;
        }
        min + self.uniform(self.config.drain_max.saturating_sub(min))
    }

    /// Uniform in `0..=span`, from the seeded generator.
    fn uniform(&mut self, span: Duration) -> Duration {
        let spread = u64::try_from(span.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(self.next_random() % spread.saturating_add(1))
    }

    /// Starts over from `initial`.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// Reports how long the last connection stayed up; a stable one resets the delays.
    pub fn connection_lasted(&mut self, up: Duration) {
        if up >= self.config.stable_after {
            self.reset();
        }
    }

    /// A connection that stayed up for `up` closed for `reason`: a stable one resets the
    /// delays, and a drain spreads the next one over seconds.
    pub fn handle_close(&mut self, up: Duration, reason: Option<CloseReason>) {
        self.connection_lasted(up);
        self.drained = reason == Some(CloseReason::GoingAway);
    }

    /// splitmix64: tiny, deterministic, good enough to spread reconnects.
    fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn delays_double_up_to_the_cap() {
        let mut backoff = Backoff::new(BackoffConfig::default());
        let delays: Vec<Duration> = (0..9).map(|_| backoff.next_delay()).collect();
        let expected = [250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000].map(ms);
        assert_eq!(delays, expected);
        assert_eq!(backoff.attempt(), 9);
    }

    #[test]
    fn many_attempts_never_overflow() {
        let mut backoff = Backoff::new(BackoffConfig::default());
        for _ in 0..200 {
            assert!(backoff.next_delay() <= ms(10_000));
        }
    }

    #[test]
    fn a_stable_connection_resets_and_a_short_one_does_not() {
        let mut backoff = Backoff::new(BackoffConfig::default());
        backoff.next_delay();
        backoff.next_delay();
        backoff.connection_lasted(ms(4999));
        assert_eq!(backoff.next_delay(), ms(1000));
        backoff.connection_lasted(Duration::from_secs(5));
        assert_eq!(backoff.next_delay(), ms(250));
    }

    #[test]
    fn jitter_stays_within_half_to_full_delay_and_is_reproducible() {
        let config = BackoffConfig { jitter_seed: Some(42), ..Default::default() };
        let run = || {
            let mut backoff = Backoff::new(config);
            (0..8).map(|_| backoff.next_delay()).collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run(), "same seed, same delays");
        let mut exact = Backoff::new(BackoffConfig::default());
        for delay in &first {
            let base = exact.next_delay();
            assert!(
                *delay >= base / 2 && *delay <= base,
                "{delay:?} outside [{:?}, {base:?}]",
                base / 2
            );
        }
        let other = Backoff::new(BackoffConfig { jitter_seed: Some(7), ..config });
        let mut other = other;
        let second: Vec<Duration> = (0..8).map(|_| other.next_delay()).collect();
        assert_ne!(first, second, "different seeds spread clients apart");
    }

    #[test]
    fn after_a_drain_clients_spread_their_return_over_seconds() {
        let long_up = Duration::from_secs(60);
        let delays: Vec<Duration> = (0..1000u64)
            .map(|seed| {
                let config = BackoffConfig { jitter_seed: Some(seed), ..Default::default() };
                let mut backoff = Backoff::new(config);
                backoff.handle_close(long_up, Some(CloseReason::GoingAway));
                backoff.next_delay()
            })
            .collect();
        assert!(delays.iter().all(|d| (ms(500)..=ms(5000)).contains(d)));
        // Spread, not a wave: every 0.5 s slice of the range gets a fair share of the clients.
        for slice in 1..10u64 {
            let lo = ms(slice * 500);
            let n = delays.iter().filter(|d| (lo..lo + ms(500)).contains(*d)).count();
            assert!((70..=160).contains(&n), "{n} clients in the slice from {lo:?}");
        }
    }

    #[test]
    fn after_a_drain_later_attempts_back_off_as_usual_with_jitter() {
        let config = BackoffConfig { jitter_seed: Some(3), ..Default::default() };
        let mut backoff = Backoff::new(config);
        backoff.handle_close(Duration::from_secs(60), Some(CloseReason::GoingAway));
        assert!(backoff.next_delay() >= ms(500));
        let second = backoff.next_delay();
        assert!((ms(250)..=ms(500)).contains(&second), "{second:?}");
        // An ordinary loss does not spread over seconds.
        backoff.handle_close(Duration::from_secs(60), None);
        assert!(backoff.next_delay() <= ms(250));
    }

    #[test]
    fn without_jitter_a_drain_waits_exactly_the_minimum() {
        let mut backoff = Backoff::new(BackoffConfig::default());
        backoff.handle_close(Duration::ZERO, Some(CloseReason::GoingAway));
        assert_eq!(backoff.next_delay(), ms(500));
        assert_eq!(backoff.attempt(), 1);
    }
}
