//! One participant's camera (or screen) in a recording: checked, decoded, written to IVF.
//!
//! Frames are written as received, from the first key frame on. After a gap in the sequence
//! numbers or a frame that does not decode, writing pauses until the next key frame, so the
//! file always decodes cleanly.
//!
//! Everything about a frame is the sender's choice, so nothing in it may break the recorder:
//! pictures larger than [`picture::MAX_SIDE`] are refused before decoding when the key frame
//! declares them, and after decoding otherwise (counted in [`VideoStats::oversized`]), so the
//! IVF header always holds the real size; timestamps of any value give monotonic `pts`.

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::PathBuf;

use videocall_client::picture;
use videocall_types::MediaPacket;

use super::reorder::Reorder;
use crate::container::ivf;
use crate::video::frame::Size;
use crate::vpx::{Codec, Decoder};

/// What happened to one video track.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VideoStats {
    /// The codec, once known.
    pub codec: Option<Codec>,
    /// The picture size of the first decoded frame.
    pub size: Option<Size>,
    /// Frames received.
    pub received: u64,
    /// Frames written to the file.
    pub written: u64,
    /// Pictures decoded.
    pub decoded: u64,
    /// Frames that did not decode.
    pub decode_errors: u64,
    /// Frames not written because no key frame had come since the start or a gap.
    pub skipped: u64,
    /// Places where frames were lost (sequence numbers that never came).
    pub gaps: u64,
    /// Frames that came after their turn (or twice) and were dropped.
    pub late: u64,
    /// Frames refused because their picture is larger than [`picture::MAX_SIDE`].
    pub oversized: u64,
    /// Milliseconds between the first and the last written frame.
    pub duration_ms: u64,
    /// Capture-to-decode delay: sum, maximum and count, in microseconds.
    pub delay_sum_us: f64,
    /// The largest delay seen.
    pub delay_max_us: f64,
    /// Frames the delay was measured over.
    pub delay_count: u64,
}

/// A video track being recorded; the file is created at the first decodable key frame.
#[derive(Debug)]
pub struct VideoTrack {
    path: PathBuf,
    decoder: Option<Decoder>,
    writer: Option<ivf::Writer<BufWriter<File>>>,
    first_us: Option<f64>,
    last_pts: u64,
    reorder: Reorder<MediaPacket>,
    waiting_for_key: bool,
    stats: VideoStats,
}

/// Frames held back waiting for one that was overtaken (a third of a second at 30 fps).
const REORDER_WINDOW: usize = 10;

impl VideoTrack {
    /// A track to be written to `path`.
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            decoder: None,
            writer: None,
            first_us: None,
            last_pts: 0,
            reorder: Reorder::new(REORDER_WINDOW),
            waiting_for_key: true,
            stats: VideoStats::default(),
        }
    }

    /// The statistics so far.
    pub fn stats(&self) -> &VideoStats {
        &self.stats
    }

    /// The file, once created.
    pub fn path(&self) -> Option<&PathBuf> {
        self.writer.as_ref().map(|_| &self.path)
    }

    /// Takes one received frame; `now_us` gives the wall clock (µs since the epoch) after
    /// decoding, for the capture-to-decode delay. Only file errors are errors.
    pub fn push(&mut self, media: MediaPacket, now_us: impl Fn() -> f64) -> io::Result<()> {
        self.stats.received += 1;
        let ready = match media.video_metadata.as_ref().map(|m| m.sequence) {
            Some(sequence) => self.reorder.push(sequence, media),
            None => vec![(0, media)],
        };
        self.stats.late = self.reorder.late;
        for (lost, media) in ready {
            self.process(&media, lost, &now_us)?;
        }
        Ok(())
    }

    fn process(
        &mut self,
        media: &MediaPacket,
        lost: u64,
        now_us: &impl Fn() -> f64,
    ) -> io::Result<()> {
        if lost > 0 {
            self.stats.gaps += 1;
            self.waiting_for_key = true;
        }
        let keyframe = media.frame_type == "key";
        if self.waiting_for_key && !keyframe {
            self.stats.skipped += 1;
            return Ok(());
        }
        if keyframe && !declared_size_allowed(&media.data) {
            self.refuse_oversized();
            return Ok(());
        }
        let Some(decoder) = self.decoder(keyframe, &media.data) else {
            self.stats.skipped += 1;
            return Ok(());
        };
        let pictures = match decoder.decode(&media.data) {
            Ok(pictures) => pictures,
            Err(e) => {
                tracing::debug!(error = %e, "undecodable frame");
                self.stats.decode_errors += 1;
                self.waiting_for_key = true;
                return Ok(());
            }
        };
        let delay = now_us() - media.timestamp;
        if delay.is_finite() && delay >= 0.0 {
            self.stats.delay_sum_us += delay;
            self.stats.delay_max_us = self.stats.delay_max_us.max(delay);
            self.stats.delay_count += 1;
        }
        if !pictures.iter().all(|p| picture::allowed(p.size().width, p.size().height)) {
            self.refuse_oversized();
            return Ok(());
        }
        self.stats.decoded += pictures.len() as u64;
        self.waiting_for_key = false;
        if self.stats.size.is_none() {
            self.stats.size = pictures.first().map(|p| p.size());
        }
        self.write(media)
    }

    /// Counts a frame refused for its size and waits for a key frame of an allowed size; the
    /// decoder is dropped so its large buffers are freed.
    fn refuse_oversized(&mut self) {
        self.stats.oversized += 1;
        self.waiting_for_key = true;
        self.decoder = None;
    }

    /// The decoder, made at the first key frame from its bitstream; `None` until then.
    fn decoder(&mut self, keyframe: bool, data: &[u8]) -> Option<&mut Decoder> {
        if self.decoder.is_none() && keyframe {
            let codec = Codec::sniff_keyframe(data)?;
            match Decoder::new(codec, 1) {
                Ok(decoder) => {
                    self.stats.codec = Some(codec);
                    self.decoder = Some(decoder);
                }
                Err(e) => tracing::warn!(error = %e, "no decoder"),
            }
        }
        self.decoder.as_mut()
    }

    fn write(&mut self, media: &MediaPacket) -> io::Result<()> {
        let first = *self.first_us.get_or_insert(media.timestamp);
        // Milliseconds since the first frame, never going backwards.
        let pts = ((media.timestamp - first) / 1000.0).max(0.0) as u64;
        // Saturating: a hostile timestamp may already have put `pts` at u64::MAX.
        let pts = pts.max(self.last_pts.saturating_add(u64::from(self.stats.written > 0)));
        if self.writer.is_none() {
            let (Some(codec), Some(size)) = (self.stats.codec, self.stats.size) else {
                return Ok(());
            };
            // Sizes are at most `picture::MAX_SIDE` (checked above), so they fit.
            let side = |v: u32| u16::try_from(v).unwrap_or(u16::MAX);
            let file = BufWriter::new(File::create(&self.path)?);
            self.writer = Some(ivf::Writer::new(file, codec, side(size.width), side(size.height))?);
        }
        if let Some(writer) = &mut self.writer {
            writer.write(pts, &media.data)?;
            self.stats.written += 1;
            self.last_pts = pts;
            self.stats.duration_ms = pts;
        }
        Ok(())
    }

    /// Completes the file (frame count in the header) and returns the statistics.
    pub fn finish(mut self) -> io::Result<(VideoStats, Option<PathBuf>)> {
        for (lost, media) in self.reorder.flush() {
            self.process(&media, lost, &|| f64::NAN)?;
        }
        match self.writer.take() {
            Some(writer) => {
                writer.finish()?;
                Ok((self.stats, Some(self.path)))
            }
            None => Ok((self.stats, None)),
        }
    }
}

/// Whether a key frame's declared size (when it declares one) may be decoded.
fn declared_size_allowed(data: &[u8]) -> bool {
    picture::keyframe_size(data).is_none_or(|(width, height)| picture::allowed(width, height))
}
