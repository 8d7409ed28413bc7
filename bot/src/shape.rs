//! The shape of the synthetic media a publisher sends: frame rates, sizes, key frame cadence.
//!
//! Pure: no clocks, no I/O. Sizes vary by up to ±10% around their nominal value, deterministic in
//! the sequence number, so runs are repeatable and packets are not all the same length.

use std::time::Duration;

/// What one publisher sends per second, and how big it is.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct MediaShape {
    /// Video frames per second (0: no video).
    pub video_fps: f64,
    /// Seconds between scheduled key frames.
    pub keyframe_interval_secs: f64,
    /// Nominal size of a key frame, bytes of payload.
    pub keyframe_bytes: usize,
    /// Nominal size of a delta frame, bytes of payload.
    pub delta_bytes: usize,
    /// Audio packets per second (0: no audio).
    pub audio_pps: f64,
    /// Nominal size of an audio packet, bytes of payload.
    pub audio_bytes: usize,
}

impl Default for MediaShape {
    /// A camera and microphone: VP9-like video at 30 fps with a ~40 KB key frame every 5 s and
    /// ~3 KB deltas, Opus-like audio at 50 packets/s of ~100 B.
    fn default() -> Self {
        Self {
            video_fps: 30.0,
            keyframe_interval_secs: 5.0,
            keyframe_bytes: 40_000,
            delta_bytes: 3_000,
            audio_pps: 50.0,
            audio_bytes: 100,
        }
    }
}

/// One video frame to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// Whether decoding can start here.
    pub keyframe: bool,
    /// Payload bytes.
    pub bytes: usize,
}

impl MediaShape {
    /// Time between video frames, `None` without video.
    pub fn video_period(&self) -> Option<Duration> {
        period(self.video_fps)
    }

    /// Time between audio packets, `None` without audio.
    pub fn audio_period(&self) -> Option<Duration> {
        period(self.audio_pps)
    }

    /// Frames between scheduled key frames (at least 1).
    pub fn keyframe_every(&self) -> u64 {
        (self.video_fps * self.keyframe_interval_secs).round().max(1.0) as u64
    }

    /// Video frame number `seq` of a stream; `forced` makes it a key frame (a receiver asked).
    pub fn video_frame(&self, seq: u64, forced: bool) -> Frame {
        let keyframe = forced || seq.is_multiple_of(self.keyframe_every());
        let nominal = if keyframe { self.keyframe_bytes } else { self.delta_bytes };
        Frame { keyframe, bytes: vary(nominal, seq) }
    }

    /// Payload bytes of audio packet number `seq`.
    pub fn audio_bytes(&self, seq: u64) -> usize {
        vary(self.audio_bytes, seq)
    }

    /// Nominal payload bits per second of one publisher (without envelopes).
    pub fn bits_per_sec(&self) -> f64 {
        let every = self.keyframe_every() as f64;
        let video_frame =
            (self.keyframe_bytes as f64 + (every - 1.0) * self.delta_bytes as f64) / every;
        8.0 * (self.video_fps.max(0.0) * video_frame
            + self.audio_pps.max(0.0) * self.audio_bytes as f64)
    }
}

fn period(rate: f64) -> Option<Duration> {
    (rate > 0.0 && rate.is_finite()).then(|| Duration::from_secs_f64(1.0 / rate))
}

/// `nominal` ±10%, chosen by a hash of `seq`.
fn vary(nominal: usize, seq: u64) -> usize {
    let spread = nominal / 10;
    if spread == 0 {
        return nominal;
    }
    let hash = seq.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32;
    let offset = (hash % (2 * spread as u64 + 1)) as usize;
    nominal - spread + offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_frames_come_every_five_seconds_and_on_request() {
        let shape = MediaShape::default();
        assert_eq!(shape.keyframe_every(), 150);
        let keys: Vec<u64> = (0..400).filter(|&s| shape.video_frame(s, false).keyframe).collect();
        assert_eq!(keys, [0, 150, 300]);
        assert!(shape.video_frame(7, true).keyframe);
    }

    #[test]
    fn sizes_stay_within_ten_percent_of_nominal() {
        let shape = MediaShape::default();
        for seq in 1..1000 {
            let frame = shape.video_frame(seq, false);
            if !frame.keyframe {
                assert!((2700..=3300).contains(&frame.bytes), "{}", frame.bytes);
            }
            assert!((90..=110).contains(&shape.audio_bytes(seq)));
        }
        let sizes: std::collections::HashSet<usize> =
            (1..100).map(|s| shape.video_frame(s, false).bytes).collect();
        assert!(sizes.len() > 10, "sizes vary");
    }

    #[test]
    fn rates_and_bitrate_follow_the_shape() {
        let shape = MediaShape::default();
        assert_eq!(shape.audio_period(), Some(Duration::from_millis(20)));
        let kbps = shape.bits_per_sec() / 1000.0;
        // 30 fps: (40 KB + 149 × 3 KB) / 150 per frame, plus 50 × 100 B of audio.
        assert!((815.0..=825.0).contains(&kbps), "{kbps}");
        let silent = MediaShape { video_fps: 0.0, audio_pps: 0.0, ..shape };
        assert_eq!((silent.video_period(), silent.audio_period()), (None, None));
    }
}
