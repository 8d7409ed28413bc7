//! A per-session token bucket on packets and bytes (pure: time is passed in).

use std::time::Instant;

use crate::config::RateLimit;

/// Tokens for one session; refilled continuously at the configured rate.
#[derive(Debug)]
pub struct RateLimiter {
    limit: RateLimit,
    packets: f64,
    bytes: f64,
    last: Instant,
}

impl RateLimiter {
    /// A full bucket at `now`.
    pub fn new(limit: RateLimit, now: Instant) -> Self {
        let burst = f64::from(limit.burst_secs.max(1));
        Self {
            limit,
            packets: f64::from(limit.packets_per_sec) * burst,
            bytes: f64::from(limit.bytes_per_sec) * burst,
            last: now,
        }
    }

    /// Takes one packet of `len` bytes; `false` when the session is over its rate.
    pub fn admit(&mut self, len: usize, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        let burst = f64::from(self.limit.burst_secs.max(1));
        let max_packets = f64::from(self.limit.packets_per_sec) * burst;
        let max_bytes = f64::from(self.limit.bytes_per_sec) * burst;
        self.packets =
            (self.packets + elapsed * f64::from(self.limit.packets_per_sec)).min(max_packets);
        self.bytes = (self.bytes + elapsed * f64::from(self.limit.bytes_per_sec)).min(max_bytes);
        let len = len as f64;
        if self.packets < 1.0 || self.bytes < len {
            return false;
        }
        self.packets -= 1.0;
        self.bytes -= len;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn period(rate: u32) -> Duration {
        Duration::from_secs_f64(1.0 / f64::from(rate))
    }

    const LIMIT: RateLimit = RateLimit { packets_per_sec: 10, bytes_per_sec: 1000, burst_secs: 1 };

    #[test]
    fn a_burst_passes_then_a_flood_is_refused() {
        let t0 = Instant::now();
        let mut bucket = RateLimiter::new(LIMIT, t0);
        assert!((0..10).all(|_| bucket.admit(10, t0)));
        assert!(!bucket.admit(10, t0));
    }

    #[test]
    fn tokens_come_back_at_the_sustained_rate() {
        let t0 = Instant::now();
        let mut bucket = RateLimiter::new(LIMIT, t0);
        (0..10).for_each(|_| assert!(bucket.admit(1, t0)));
        let mut t = t0;
        for _ in 0..100 {
            t += period(LIMIT.packets_per_sec);
            assert!(bucket.admit(1, t), "a steady 10 packets/s stays admitted");
        }
    }

    #[test]
    fn bytes_are_limited_too() {
        let t0 = Instant::now();
        let mut bucket = RateLimiter::new(LIMIT, t0);
        assert!(bucket.admit(900, t0));
        assert!(!bucket.admit(200, t0));
        assert!(bucket.admit(200, t0 + Duration::from_millis(200)));
    }
}
