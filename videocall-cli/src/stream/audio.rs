//! The audio half of `stream`: a 440 Hz tone or the microphone, 20 ms Opus packets, sent.

use std::sync::atomic::Ordering;
use std::sync::mpsc::{RecvTimeoutError, sync_channel};
use std::time::{Duration, Instant};

use protobuf::MessageField;
use videocall_types::protos::media_packet::AudioMetadata;
use videocall_types::{MediaPacket, MediaType};

use super::counters::Counters;
use super::{Shared, StreamError, spawn_worker, wall_clock_us};
use crate::audio::microphone;
use crate::audio::opus::{Encoder, FRAME_SAMPLES, SAMPLE_RATE};
use crate::pacing::Pacer;
use crate::video::pattern::Tone;

/// Microphone chunks waiting for the encoder (cpal delivers ~10 ms chunks: about half a second).
const MIC_QUEUE: usize = 50;

/// Missed 20 ms tone frames sent late after a stall (more are skipped).
const MAX_CATCH_UP: u64 = 5;

/// Where sound comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioSource {
    /// The test tone.
    Tone,
    /// A microphone by name (`default` for the system default).
    Microphone(String),
}

/// Starts the audio thread; fails when the microphone or the encoder cannot be set up.
pub(super) fn start(
    source: AudioSource,
    bitrate_kbps: i32,
    shared: &Shared,
) -> Result<std::thread::JoinHandle<()>, StreamError> {
    let shared = shared.clone();
    match source {
        AudioSource::Tone => spawn_worker(
            "tone",
            move || Encoder::new(bitrate_kbps * 1000).map_err(StreamError::from),
            move |encoder| tone_loop(encoder, &shared),
        ),
        AudioSource::Microphone(name) => spawn_worker(
            "microphone",
            move || {
                let encoder = Encoder::new(bitrate_kbps * 1000)?;
                // Queue policy: bounded (MIC_QUEUE chunks); when full the audio callback drops
                // the newest chunk and counts it in `audio_dropped` (it must never wait).
                let (tx, rx) = sync_channel(MIC_QUEUE);
                let counters = shared.counters.clone();
                let on_drop = move || Counters::bump(&counters.audio_dropped);
                let mic = microphone::open(&name, tx, on_drop)?;
                tracing::info!(device = mic.name, "microphone open");
                Ok((encoder, mic, rx, shared))
            },
            |(encoder, mic, rx, shared)| {
                microphone_loop(encoder, &rx, &shared);
                drop(mic);
            },
        ),
    }
}

fn tone_loop(mut encoder: Encoder, shared: &Shared) {
    let interval = Duration::from_secs(FRAME_SAMPLES as u64) / SAMPLE_RATE;
    let mut pacer = Pacer::new(Instant::now(), interval);
    let mut tone = Tone::default();
    let mut sequence = 0;
    let mut frame = [0i16; FRAME_SAMPLES];
    while !shared.stop.load(Ordering::Acquire) {
        let tick = pacer.next(Instant::now());
        std::thread::sleep(tick.due.saturating_duration_since(Instant::now()));
        // After a stall, make up for up to 100 ms of missed frames so the sound keeps time.
        for _ in 0..=tick.skipped.min(MAX_CATCH_UP) {
            tone.fill(&mut frame);
            send(&mut encoder, &frame, &mut sequence, shared);
        }
    }
}

fn microphone_loop(
    mut encoder: Encoder,
    rx: &std::sync::mpsc::Receiver<Vec<i16>>,
    shared: &Shared,
) {
    let mut pending: Vec<i16> = Vec::with_capacity(FRAME_SAMPLES * 4);
    let mut sequence = 0;
    while !shared.stop.load(Ordering::Acquire) {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(chunk) => pending.extend_from_slice(&chunk),
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => break,
        }
        while pending.len() >= FRAME_SAMPLES {
            let frame: Vec<i16> = pending.drain(..FRAME_SAMPLES).collect();
            send(&mut encoder, &frame, &mut sequence, shared);
        }
    }
}

fn send(encoder: &mut Encoder, frame: &[i16], sequence: &mut u64, shared: &Shared) {
    if !shared.handle.is_connected() {
        return;
    }
    let wall_us = wall_clock_us();
    let data = match encoder.encode(frame) {
        Ok(data) => data,
        Err(e) => {
            tracing::warn!(error = %e, "opus encode failed");
            return;
        }
    };
    let media = media_packet(data, wall_us, *sequence);
    *sequence += 1;
    match shared.handle.send_media(media) {
        Ok(()) => Counters::bump(&shared.counters.audio_sent),
        Err(_) => Counters::bump(&shared.counters.send_failed),
    }
}

/// The `MediaPacket` for one Opus packet captured at `wall_us` (µs since the epoch).
fn media_packet(data: Vec<u8>, wall_us: f64, sequence: u64) -> MediaPacket {
    MediaPacket {
        media_type: MediaType::AUDIO.into(),
        frame_type: "key".to_owned(),
        data,
        timestamp: wall_us,
        duration: 20_000.0,
        audio_metadata: MessageField::some(AudioMetadata {
            audio_format: "opus".to_owned(),
            audio_number_of_channels: 1,
            audio_number_of_frames: FRAME_SAMPLES as u32,
            audio_sample_rate: SAMPLE_RATE as f32,
            sequence,
            ..Default::default()
        }),
        ..Default::default()
    }
}
