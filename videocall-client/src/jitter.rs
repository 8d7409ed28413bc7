//! The video jitter buffer: puts one stream's frames back in sequence order, waits a little for
//! stragglers, and after a loss hands the decoder nothing until the next key frame (asking the
//! sender for one) — a delta frame decoded on top of a gap only shows garbage.
//!
//! Pure logic (time is passed in), shared by the browser decoder and native receivers.
//!
//! Policy:
//! - frames come out in sequence order; a frame older than the last one handed out is dropped;
//! - a missing frame is waited for at most [`JitterConfig::reorder_wait`] after a later frame
//!   arrived; then the gap is skipped, and if the next frame is a delta the buffer discards deltas
//!   until a key frame and asks for one ([`Output::RequestKeyframe`], at most once per
//!   [`JitterConfig::keyframe_retry`]);
//! - the buffer holds at most [`JitterConfig::capacity`] frames: when full it jumps to its newest
//!   key frame if it holds one, else it empties and waits for a key frame;
//! - a key frame far behind the expected sequence (the sender restarted) resets the stream;
//! - sequence numbers are the sender's choice: any value (0, `u64::MAX`, jumps of 2^60) is
//!   handled without overflow, and a gap costs the same work whatever its size.

use std::collections::BTreeMap;
use std::time::Duration;

/// Tuning of a [`JitterBuffer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitterConfig {
    /// How long a gap is waited for once a later frame is there (default 60 ms).
    pub reorder_wait: Duration,
    /// Frames held at most (default 64: two seconds at 30 fps).
    pub capacity: usize,
    /// Least time between two key frame requests (default 500 ms).
    pub keyframe_retry: Duration,
    /// A key frame this far behind the expected sequence restarts the stream (default 300).
    pub restart_distance: u64,
}

impl Default for JitterConfig {
    fn default() -> Self {
        Self {
            reorder_wait: Duration::from_millis(60),
            capacity: 64,
            keyframe_retry: Duration::from_millis(500),
            restart_distance: 300,
        }
    }
}

/// One encoded frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// The sender's sequence number for this stream.
    pub sequence: u64,
    /// Whether it is a key frame.
    pub key: bool,
    /// The sender's timestamp (µs).
    pub timestamp_us: f64,
    /// The encoded bytes.
    pub data: Vec<u8>,
}

/// What the buffer asks its owner to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Decode this frame now.
    Decode(Frame),
    /// Ask the sender for a key frame.
    RequestKeyframe,
}

/// What happened to frames, for diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JitterStats {
    /// Frames handed out for decoding.
    pub decoded: u64,
    /// Frames that never arrived (sequence numbers skipped).
    pub lost: u64,
    /// Frames that arrived after their turn, or twice.
    pub late: u64,
    /// Delta frames discarded while waiting for a key frame.
    pub discarded: u64,
    /// Key frame requests made.
    pub keyframe_requests: u64,
}

/// The jitter buffer of one video stream.
#[derive(Debug, Clone)]
pub struct JitterBuffer {
    config: JitterConfig,
    frames: BTreeMap<u64, (Frame, Duration)>,
    /// The sequence number due next; `None` before the first key frame.
    next: Option<u64>,
    /// Deltas are useless until a key frame arrives.
    need_keyframe: bool,
    last_request: Option<Duration>,
    stats: JitterStats,
}

impl JitterBuffer {
    /// An empty buffer waiting for its first key frame.
    pub fn new(config: JitterConfig) -> Self {
        Self {
            config,
            frames: BTreeMap::new(),
            next: None,
            need_keyframe: true,
            last_request: None,
            stats: JitterStats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// Frames waiting.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Whether no frame is waiting.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Takes in one frame that arrived at `now`, and appends what to do to `out`.
    pub fn push(&mut self, frame: Frame, now: Duration, out: &mut Vec<Output>) {
        if let Some(next) = self.next {
            let restarted =
                frame.key && next.saturating_sub(frame.sequence) > self.config.restart_distance;
            if restarted {
                self.stats.discarded += self.frames.len() as u64;
                self.frames.clear();
                self.next = None;
            } else if frame.sequence < next || self.frames.contains_key(&frame.sequence) {
                self.stats.late += 1;
                return;
            }
        }
        self.frames.insert(frame.sequence, (frame, now));
        if self.frames.len() > self.config.capacity {
            self.overflow();
        }
        self.drain(now, out);
    }

    /// Acts on waits that have run out; call at [`Self::poll_timeout`].
    pub fn handle_timeout(&mut self, now: Duration, out: &mut Vec<Output>) {
        self.drain(now, out);
    }

    /// When [`Self::handle_timeout`] should run next, if anything is waiting on a gap.
    pub fn poll_timeout(&self) -> Option<Duration> {
        let next = self.next?;
        let (&first, (_, arrived)) = self.frames.iter().next()?;
        (first > next).then_some(*arrived + self.config.reorder_wait)
    }

    /// Hands out every frame that is due, skipping gaps that waited long enough.
    fn drain(&mut self, now: Duration, out: &mut Vec<Output>) {
        while let Some((&first, (frame, arrived))) = self.frames.iter().next() {
            let (key, arrived) = (frame.key, *arrived);
            match self.next {
                // Nothing decoded yet (or restarted): the stream starts at a key frame.
                None if key => self.next = Some(first),
                None => {
                    self.discard_first();
                    continue;
                }
                Some(next) if first == next => {}
                Some(next) => {
                    // A gap. Wait for it unless the wait is over (or a key frame heals it).
                    if !key && now < arrived + self.config.reorder_wait {
                        break;
                    }
                    // A sender's jump of 2^60 is one gap, counted without a loop.
                    self.stats.lost = self.stats.lost.saturating_add(first - next);
                    self.need_keyframe = true;
                    self.next = Some(first);
                }
            }
            if key {
                self.need_keyframe = false;
            }
            if self.need_keyframe {
                self.discard_first();
                continue;
            }
            if let Some((_, (frame, _))) = self.frames.pop_first() {
                // Saturating: after u64::MAX nothing can follow in order.
                self.next = Some(frame.sequence.saturating_add(1));
                self.stats.decoded += 1;
                out.push(Output::Decode(frame));
            }
        }
        if self.need_keyframe {
            self.request_keyframe(now, out);
        }
    }

    /// Drops the oldest frame while waiting for a key frame.
    fn discard_first(&mut self) {
        if let Some((sequence, _)) = self.frames.pop_first() {
            self.stats.discarded += 1;
            if self.next.is_some() {
                self.next = Some(sequence.saturating_add(1));
            }
        }
    }

    /// Full: jump to the newest key frame held, or give up what is held and wait for one.
    fn overflow(&mut self) {
        let newest_key = self.frames.iter().rev().find(|(_, (f, _))| f.key).map(|(&s, _)| s);
        let keep_from = newest_key.unwrap_or(u64::MAX);
        let dropped: Vec<u64> = self.frames.range(..keep_from).map(|(&s, _)| s).collect();
        let count = dropped.len() as u64;
        self.stats.discarded += count;
        for sequence in dropped {
            self.frames.remove(&sequence);
        }
        if let (Some(next), Some(key)) = (self.next, newest_key) {
            // Everything before the key frame that was not held never arrived.
            let missing = key.saturating_sub(next).saturating_sub(count);
            self.stats.lost = self.stats.lost.saturating_add(missing);
            self.next = Some(key);
        } else {
            self.need_keyframe = true;
        }
    }

    fn request_keyframe(&mut self, now: Duration, out: &mut Vec<Output>) {
        let due = self.last_request.is_none_or(|last| now >= last + self.config.keyframe_retry);
        if due {
            self.last_request = Some(now);
            self.stats.keyframe_requests += 1;
            out.push(Output::RequestKeyframe);
        }
    }
}

/// The video codecs a receiver can tell apart from a key frame's bytes alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VideoCodec {
    /// VP8 (`"vp8"`).
    Vp8,
    /// VP9 profile 0, 8-bit (`"vp09.00.10.08"`).
    Vp9,
}

impl VideoCodec {
    /// The WebCodecs codec string.
    pub const fn webcodecs(self) -> &'static str {
        match self {
            Self::Vp8 => "vp8",
            Self::Vp9 => "vp09.00.10.08",
        }
    }

    /// Which codec produced this key frame: VP8 key frames carry the start code `9d 01 2a`
    /// after their 3-byte frame tag; VP9 key frames (profiles 0–2) start with the frame marker
    /// `0b10` in their first byte and carry the sync code `49 83 42` right after it. Senders
    /// need not say which codec they use.
    pub fn sniff(key_frame: &[u8]) -> Option<Self> {
        if key_frame.get(3..6) == Some(&[0x9d, 0x01, 0x2a]) && key_frame[0] & 1 == 0 {
            return Some(Self::Vp8);
        }
        let marker = key_frame.first().is_some_and(|b| b >> 6 == 0b10);
        let sync = key_frame.get(1..4) == Some(&[0x49, 0x83, 0x42]);
        (marker && sync).then_some(Self::Vp9)
    }
}

#[cfg(test)]
mod tests;
