//! What the streamer counts, the live status line, and the final summary.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Counters shared by the capture, encoder and audio threads.
#[derive(Debug, Default)]
pub struct Counters {
    /// Pictures taken from the camera or drawn.
    pub captured: AtomicU64,
    /// Pictures replaced in the encoder's mailbox before it took them (encoder too slow).
    pub capture_dropped: AtomicU64,
    /// Pictures not encoded because no connection was up.
    pub offline_skipped: AtomicU64,
    /// Frames out of the encoder.
    pub encoded: AtomicU64,
    /// Key frames among them.
    pub keyframes: AtomicU64,
    /// Key frames made because the server asked for one (or a connection began).
    pub forced_keyframes: AtomicU64,
    /// Key frame requests received from the server.
    pub keyframe_requests: AtomicU64,
    /// Video frames handed to the client.
    pub video_sent: AtomicU64,
    /// Their bytes.
    pub video_bytes: AtomicU64,
    /// Encoder failures.
    pub encode_errors: AtomicU64,
    /// Media packets the client refused (queue full, connection lost).
    pub send_failed: AtomicU64,
    /// Opus packets handed to the client.
    pub audio_sent: AtomicU64,
    /// Microphone chunks dropped because the audio encoder was behind.
    pub audio_dropped: AtomicU64,
}

impl Counters {
    /// Adds one to `counter`.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }

    /// A copy of every counter.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            captured: self.captured.load(Relaxed),
            capture_dropped: self.capture_dropped.load(Relaxed),
            offline_skipped: self.offline_skipped.load(Relaxed),
            encoded: self.encoded.load(Relaxed),
            keyframes: self.keyframes.load(Relaxed),
            forced_keyframes: self.forced_keyframes.load(Relaxed),
            keyframe_requests: self.keyframe_requests.load(Relaxed),
            video_sent: self.video_sent.load(Relaxed),
            video_bytes: self.video_bytes.load(Relaxed),
            encode_errors: self.encode_errors.load(Relaxed),
            send_failed: self.send_failed.load(Relaxed),
            audio_sent: self.audio_sent.load(Relaxed),
            audio_dropped: self.audio_dropped.load(Relaxed),
        }
    }
}

/// The counters at one moment (the fields mean what [`Counters`]' do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Snapshot {
    /// Pictures taken or drawn.
    pub captured: u64,
    /// Pictures dropped before the encoder (newest wins).
    pub capture_dropped: u64,
    /// Pictures not encoded while disconnected.
    pub offline_skipped: u64,
    /// Frames out of the encoder.
    pub encoded: u64,
    /// Key frames among them.
    pub keyframes: u64,
    /// Key frames made on request or at a new connection.
    pub forced_keyframes: u64,
    /// Key frame requests from the server.
    pub keyframe_requests: u64,
    /// Video frames handed to the client.
    pub video_sent: u64,
    /// Their bytes.
    pub video_bytes: u64,
    /// Encoder failures.
    pub encode_errors: u64,
    /// Media packets the client refused.
    pub send_failed: u64,
    /// Opus packets handed to the client.
    pub audio_sent: u64,
    /// Microphone chunks dropped.
    pub audio_dropped: u64,
}

impl Snapshot {
    /// The live status line for the interval from `before` to `self`, `elapsed` long.
    pub fn status_line(&self, before: &Snapshot, elapsed: Duration, transport: &str) -> String {
        let secs = elapsed.as_secs_f64().max(1e-3);
        let rate = |now: u64, then: u64| now.saturating_sub(then) as f64 / secs;
        let drops = self.capture_dropped + self.send_failed + self.audio_dropped;
        format!(
            "[{transport}] fps {:.1} captured / {:.1} encoded / {:.1} sent | {:.0} kbps | audio {:.0} pkt/s | drops {drops} | key frames {} ({} requested)",
            rate(self.captured, before.captured),
            rate(self.encoded, before.encoded),
            rate(self.video_sent, before.video_sent),
            rate(self.video_bytes, before.video_bytes) * 8.0 / 1000.0,
            rate(self.audio_sent, before.audio_sent),
            self.keyframes,
            self.keyframe_requests,
        )
    }

    /// The final one-line summary, `key=value` pairs for people and scripts alike.
    pub fn summary(&self, elapsed: Duration, transport: &str) -> String {
        let secs = elapsed.as_secs_f64();
        let kbps = self.video_bytes as f64 * 8.0 / 1000.0 / secs.max(1e-3);
        format!(
            "stream summary: seconds={secs:.1} transport={transport} captured={} capture_dropped={} offline_skipped={} encoded={} sent={} keyframes={} forced_keyframes={} keyframe_requests={} encode_errors={} send_failed={} audio_sent={} audio_dropped={} video_kbps={kbps:.0}",
            self.captured,
            self.capture_dropped,
            self.offline_skipped,
            self.encoded,
            self.video_sent,
            self.keyframes,
            self.forced_keyframes,
            self.keyframe_requests,
            self.encode_errors,
            self.send_failed,
            self.audio_sent,
            self.audio_dropped,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_line_shows_rates_over_the_interval() {
        let before = Snapshot { captured: 10, encoded: 10, video_sent: 10, ..Default::default() };
        let now = Snapshot {
            captured: 40,
            encoded: 38,
            video_sent: 38,
            video_bytes: 62_500,
            audio_sent: 50,
            capture_dropped: 2,
            keyframes: 3,
            keyframe_requests: 1,
            ..Default::default()
        };
        let line = now.status_line(&before, Duration::from_secs(1), "websocket");
        assert_eq!(
            line,
            "[websocket] fps 30.0 captured / 28.0 encoded / 28.0 sent | 500 kbps | audio 50 pkt/s | drops 2 | key frames 3 (1 requested)"
        );
    }
}
