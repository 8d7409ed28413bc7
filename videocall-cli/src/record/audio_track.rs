//! One participant's microphone in a recording: checked, decoded, written to Ogg Opus.
//!
//! A gap in the sender's sequence numbers is filled with empty Opus frames (a lone TOC byte,
//! which players conceal as a lost frame), up to [`MAX_FILL`] frames, so the audio stays in
//! time with the video.
//!
//! Sequence numbers are the sender's choice, so filling is bounded per packet and over time:
//! fillers come from a budget of [`MAX_FILL`] that each written packet refills by one. A real
//! outage (up to 5 s) is filled in full; a sender jumping its numbers with every packet gets at
//! most one filler per real packet, not 250 (counted in [`AudioStats::unfilled`]).

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::PathBuf;

use videocall_types::MediaPacket;

use super::reorder::Reorder;
use crate::audio::opus::{Decoder, SAMPLE_RATE};
use crate::container::ogg_opus;

/// Most missing frames filled for one gap (5 s of 20 ms frames).
pub const MAX_FILL: u64 = 250;
/// Packets held back waiting for one that was overtaken (200 ms of audio).
const REORDER_WINDOW: usize = 10;
/// Encoder look-ahead written as the Ogg pre-skip: libopus's at 48 kHz.
const PRE_SKIP: u16 = 312;

/// What happened to one audio track.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AudioStats {
    /// Packets received.
    pub received: u64,
    /// Packets written (fillers not included).
    pub written: u64,
    /// Samples decoded (concealment included).
    pub decoded_samples: u64,
    /// Packets that did not decode (not written).
    pub decode_errors: u64,
    /// Places where packets were lost (sequence numbers that never came).
    pub gaps: u64,
    /// Lost packets filled in.
    pub concealed: u64,
    /// Lost packets not filled in: beyond [`MAX_FILL`] for one gap, or beyond the fill budget.
    pub unfilled: u64,
    /// Late or repeated packets ignored.
    pub stale: u64,
    /// Samples in the file (48 kHz).
    pub samples: u64,
}

/// An audio track being recorded; the file is created at the first packet.
pub struct AudioTrack {
    path: PathBuf,
    serial: u32,
    decoder: Option<Decoder>,
    writer: Option<ogg_opus::Writer<BufWriter<File>>>,
    reorder: Reorder<MediaPacket>,
    last_toc: u8,
    /// Fillers that may still be written; refilled by one per written packet.
    fill_budget: u64,
    stats: AudioStats,
}

impl std::fmt::Debug for AudioTrack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioTrack").field("path", &self.path).field("stats", &self.stats).finish()
    }
}

impl AudioTrack {
    /// A track to be written to `path` as Ogg stream `serial`.
    pub fn new(path: PathBuf, serial: u32) -> Self {
        Self {
            path,
            serial,
            decoder: None,
            writer: None,
            reorder: Reorder::new(REORDER_WINDOW),
            last_toc: 0,
            fill_budget: MAX_FILL,
            stats: AudioStats::default(),
        }
    }

    /// The statistics so far.
    pub fn stats(&self) -> &AudioStats {
        &self.stats
    }

    /// Takes one received packet. Only file errors are errors.
    pub fn push(&mut self, media: MediaPacket) -> io::Result<()> {
        self.stats.received += 1;
        // Senders that number nothing (always 0) are taken in arrival order.
        let ready = match media.audio_metadata.as_ref().map(|m| m.sequence) {
            Some(sequence) if sequence > 0 || self.stats.received == 1 => {
                self.reorder.push(sequence, media)
            }
            _ => vec![(0, media)],
        };
        self.stats.stale = self.reorder.late;
        for (lost, media) in ready {
            self.process(&media, lost)?;
        }
        Ok(())
    }

    fn process(&mut self, media: &MediaPacket, missing: u64) -> io::Result<()> {
        let data = &media.data;
        let Ok(samples) = opus::packet::get_nb_samples(data, SAMPLE_RATE) else {
            self.stats.decode_errors += 1;
            return Ok(());
        };
        if self.writer.is_none() {
            let file = BufWriter::new(File::create(&self.path)?);
            self.writer = Some(ogg_opus::Writer::new(file, self.serial, PRE_SKIP)?);
            self.decoder =
                Decoder::new().map_err(|e| tracing::warn!(error = %e, "no decoder")).ok();
        }
        if missing > 0 {
            self.stats.gaps += 1;
            let count = missing.min(self.fill_budget);
            self.fill_budget -= count;
            self.stats.unfilled = self.stats.unfilled.saturating_add(missing - count);
            self.fill(count)?;
        }
        if let Some(decoder) = &mut self.decoder {
            match decoder.decode(data) {
                Ok(pcm) => self.stats.decoded_samples += pcm.len() as u64,
                Err(_) => {
                    self.stats.decode_errors += 1;
                    return Ok(());
                }
            }
        }
        if let Some(&toc) = data.first() {
            self.last_toc = toc;
        }
        self.write(data.clone(), samples)?;
        self.stats.written += 1;
        self.fill_budget = (self.fill_budget + 1).min(MAX_FILL);
        Ok(())
    }

    /// Writes `count` empty frames shaped like the last packet and conceals them.
    fn fill(&mut self, count: u64) -> io::Result<()> {
        // Code 0 (one frame) with the last packet's mode, bandwidth and frame size.
        let filler = [self.last_toc & 0xfc];
        let samples = opus::packet::get_nb_samples(&filler, SAMPLE_RATE).unwrap_or(960);
        for _ in 0..count {
            if let Some(Ok(pcm)) = self.decoder.as_mut().map(|d| d.conceal(samples)) {
                self.stats.decoded_samples += pcm.len() as u64;
            }
            self.write(filler.to_vec(), samples)?;
            self.stats.concealed += 1;
        }
        Ok(())
    }

    fn write(&mut self, packet: Vec<u8>, samples: usize) -> io::Result<()> {
        if let Some(writer) = &mut self.writer {
            writer.write(packet, samples as u64)?;
            self.stats.samples = writer.samples();
        }
        Ok(())
    }

    /// Ends the Ogg stream and returns the statistics and the file, if one was made.
    pub fn finish(mut self) -> io::Result<(AudioStats, Option<PathBuf>)> {
        for (lost, media) in self.reorder.flush() {
            self.process(&media, lost)?;
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
