//! How often others may make this client send a key frame. Pure: time is passed in.
//!
//! A key frame costs several times a delta frame, so a receiver that asks for one with every
//! packet (or a forged request) could keep a sender's upstream full of key frames. Requests are
//! therefore limited per stream kind to one key frame per [`KEYFRAME_INTERVAL`]:
//!
//! | request arrives                         | result                                       |
//! |-----------------------------------------|----------------------------------------------|
//! | the interval since the last one is over | [`Decision::Now`]: send a key frame now       |
//! | within the interval, none pending       | [`Decision::Deferred`]: one follows when the interval ends ([`KeyframeLimiter::poll_due`]) |
//! | within the interval, one already pending | [`Decision::Merged`] into the pending one    |
//!
//! Nobody who asked is left without a key frame: a key frame reaches every receiver, so the
//! deferred one answers every request made before it. Only video and screen have key frames;
//! requests for other kinds are [`Decision::Ignored`].

use std::time::Duration;

use videocall_types::MediaType;

/// Least time between two requested key frames of one stream: at most two per second, the
/// rate the relay itself asks at (500 ms), so honest requests are never slowed down.
pub const KEYFRAME_INTERVAL: Duration = Duration::from_millis(500);

/// What to do with one key frame request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Send a key frame now.
    Now,
    /// Too soon: a key frame is scheduled for when the interval ends.
    Deferred,
    /// Too soon, and a key frame is already scheduled: this request is answered by it.
    Merged,
    /// The kind has no key frames (audio, heartbeat).
    Ignored,
}

impl Decision {
    /// Whether the request did not cause a key frame of its own (for counting).
    pub fn is_limited(self) -> bool {
        self != Self::Now
    }
}

/// The state of one stream kind.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    last: Option<Duration>,
    pending: bool,
}

impl Slot {
    fn due(&self) -> Option<Duration> {
        self.pending.then(|| self.last.map_or(Duration::ZERO, |at| at + KEYFRAME_INTERVAL))
    }
}

/// Key frame requests to this sender, limited per stream kind (camera and screen).
#[derive(Debug, Clone, Default)]
pub struct KeyframeLimiter {
    video: Slot,
    screen: Slot,
}

impl KeyframeLimiter {
    /// A limiter that has granted nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn slot(&mut self, kind: MediaType) -> Option<&mut Slot> {
        match kind {
            MediaType::VIDEO => Some(&mut self.video),
            MediaType::SCREEN => Some(&mut self.screen),
            MediaType::AUDIO | MediaType::HEARTBEAT | MediaType::RTT => None,
        }
    }

    /// Someone asks for a key frame of `kind` at `now`.
    pub fn handle_request(&mut self, kind: MediaType, now: Duration) -> Decision {
        let Some(slot) = self.slot(kind) else { return Decision::Ignored };
        let free = slot.last.is_none_or(|at| now >= at + KEYFRAME_INTERVAL);
        if free {
            *slot = Slot { last: Some(now), pending: false };
            Decision::Now
        } else if slot.pending {
            Decision::Merged
        } else {
            slot.pending = true;
            Decision::Deferred
        }
    }

    /// When a deferred key frame falls due, if one is scheduled.
    pub fn poll_timeout(&self) -> Option<Duration> {
        [self.video.due(), self.screen.due()].into_iter().flatten().min()
    }

    /// A deferred key frame that is due at `now`, if any; call until `None`.
    pub fn poll_due(&mut self, now: Duration) -> Option<MediaType> {
        for kind in [MediaType::VIDEO, MediaType::SCREEN] {
            if let Some(slot) = self.slot(kind)
                && slot.due().is_some_and(|due| now >= due)
            {
                *slot = Slot { last: Some(now), pending: false };
                return Some(kind);
            }
        }
        None
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

    /// Key frames sent over `seconds` when a request arrives every `every` ms.
    fn keyframes_sent(every: u64, seconds: u64) -> usize {
        let mut limiter = KeyframeLimiter::new();
        let mut sent = 0;
        for t in (0..seconds * 1000).step_by(every as usize) {
            while limiter.poll_due(ms(t)).is_some() {
                sent += 1;
            }
            sent += usize::from(limiter.handle_request(MediaType::VIDEO, ms(t)) == Decision::Now);
        }
        sent
    }

    #[test]
    fn a_flood_of_requests_makes_at_most_two_key_frames_a_second() {
        assert!(keyframes_sent(1, 10) <= 21, "{}", keyframes_sent(1, 10));
        assert!(keyframes_sent(1, 10) >= 19, "requests are still answered");
    }

    #[test]
    fn requests_far_apart_are_answered_at_once() {
        let mut limiter = KeyframeLimiter::new();
        assert_eq!(limiter.handle_request(MediaType::VIDEO, ms(0)), Decision::Now);
        assert_eq!(limiter.handle_request(MediaType::VIDEO, ms(500)), Decision::Now);
        assert_eq!(limiter.poll_timeout(), None);
    }

    #[test]
    fn a_request_too_soon_is_deferred_not_lost_and_later_ones_merge_into_it() {
        let mut limiter = KeyframeLimiter::new();
        limiter.handle_request(MediaType::VIDEO, ms(0));
        assert_eq!(limiter.handle_request(MediaType::VIDEO, ms(100)), Decision::Deferred);
        assert_eq!(limiter.handle_request(MediaType::VIDEO, ms(200)), Decision::Merged);
        assert_eq!(limiter.poll_timeout(), Some(ms(500)));
        assert_eq!(limiter.poll_due(ms(499)), None);
        assert_eq!(limiter.poll_due(ms(500)), Some(MediaType::VIDEO));
        assert_eq!(limiter.poll_due(ms(500)), None);
        assert_eq!(limiter.handle_request(MediaType::VIDEO, ms(600)), Decision::Deferred);
    }

    #[test]
    fn camera_and_screen_are_limited_separately_and_audio_has_no_key_frames() {
        let mut limiter = KeyframeLimiter::new();
        assert_eq!(limiter.handle_request(MediaType::VIDEO, ms(0)), Decision::Now);
        assert_eq!(limiter.handle_request(MediaType::SCREEN, ms(1)), Decision::Now);
        assert_eq!(limiter.handle_request(MediaType::AUDIO, ms(2)), Decision::Ignored);
        assert!(Decision::Ignored.is_limited() && !Decision::Now.is_limited());
    }
}
