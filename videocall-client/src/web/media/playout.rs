//! Audio playout: decoded Opus frames scheduled back to back on one `AudioContext`, per peer,
//! so that they play without gaps or clicks.
//!
//! Policy: each peer has a play cursor. A frame is scheduled at the cursor; when the cursor
//! fell behind the clock (a late packet: underrun) playback restarts [`TARGET_DELAY`] ahead;
//! when the cursor runs more than [`MAX_DELAY`] ahead (a burst after a stall), the frame is
//! dropped and counted, so delay never builds up.

use std::cell::Cell;

use wasm_bindgen::JsValue;
use web_sys::{
    AudioContext, AudioContextOptions, AudioData, AudioDataCopyToOptions, AudioSampleFormat,
    GainNode,
};

use super::MediaError;
use crate::web::js;

/// Where playback restarts after an underrun, ahead of the clock (seconds).
const TARGET_DELAY: f64 = 0.06;

/// The most audio queued ahead of the clock (seconds).
const MAX_DELAY: f64 = 0.3;

/// The page's one audio output.
pub(crate) struct Playout {
    context: AudioContext,
}

impl Playout {
    /// Opens the output (at 48 kHz, Opus's rate). Call it from a user gesture (the join click)
    /// so the browser lets it play.
    pub(crate) fn new() -> Result<Self, MediaError> {
        let options = AudioContextOptions::new();
        options.set_sample_rate(48_000.0);
        let context = AudioContext::new_with_context_options(&options)
            .map_err(|e| MediaError::Browser(js::describe(&e)))?;
        let _ = context.resume();
        Ok(Self { context })
    }

    /// A playout lane for one peer.
    pub(crate) fn lane(&self) -> Result<Lane, MediaError> {
        let gain = self.context.create_gain().map_err(|e| MediaError::Browser(js::describe(&e)))?;
        gain.connect_with_audio_node(&self.context.destination())
            .map_err(|e| MediaError::Browser(js::describe(&e)))?;
        Ok(Lane {
            context: self.context.clone(),
            gain,
            cursor: Cell::new(0.0),
            dropped: Cell::new(0),
            level: Cell::new(0.0),
        })
    }

    /// Sends the output to the speaker `device` (where the browser supports `setSinkId`).
    pub(crate) fn set_speaker(&self, device: &str) {
        let set_sink = js_sys::Reflect::get(&self.context, &"setSinkId".into()).ok();
        if let Some(set_sink) =
            set_sink.and_then(|f| wasm_bindgen::JsCast::dyn_into::<js_sys::Function>(f).ok())
        {
            let _ = set_sink.call1(&self.context, &JsValue::from_str(device));
        }
    }
}

impl Drop for Playout {
    fn drop(&mut self) {
        let _ = self.context.close();
    }
}

/// One peer's audio: frames play back to back.
pub(crate) struct Lane {
    context: AudioContext,
    gain: GainNode,
    cursor: Cell<f64>,
    dropped: Cell<u64>,
    /// Loudness (RMS of the first channel), smoothed: rises at once, falls over ~300 ms.
    level: Cell<f32>,
}

impl Lane {
    /// Schedules one decoded frame (and closes it).
    pub(crate) fn play(&self, data: &AudioData) {
        let result = self.schedule(data);
        data.close();
        if result.is_err() {
            self.dropped.set(self.dropped.get() + 1);
        }
    }

    /// How loud the peer is now (0 silence … 1 full scale), for a speaking indicator.
    pub(crate) fn level(&self) -> f32 {
        self.level.get()
    }

    /// Frames dropped (too far ahead, or unplayable).
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.get()
    }

    fn schedule(&self, data: &AudioData) -> Result<(), JsValue> {
        let frames = data.number_of_frames();
        let channels = data.number_of_channels().max(1);
        let rate = data.sample_rate();
        if frames == 0 {
            return Ok(());
        }
        let now = self.context.current_time();
        let mut at = self.cursor.get();
        if at < now {
            at = now + TARGET_DELAY;
        } else if at > now + MAX_DELAY {
            self.dropped.set(self.dropped.get() + 1);
            return Ok(());
        }
        let buffer = self.context.create_buffer(channels, frames, rate)?;
        let samples = js_sys::Float32Array::new_with_length(frames);
        for channel in 0..channels {
            let options = AudioDataCopyToOptions::new(channel);
            options.set_format(AudioSampleFormat::F32Planar);
            data.copy_to_with_buffer_source(&samples, &options)?;
            buffer.copy_to_channel_with_f32_array(&samples, channel as i32)?;
            if channel == 0 {
                self.measure(&samples.to_vec());
            }
        }
        let source = self.context.create_buffer_source()?;
        source.set_buffer(Some(&buffer));
        source.connect_with_audio_node(&self.gain)?;
        source.start_with_when(at)?;
        self.cursor.set(at + f64::from(frames) / f64::from(rate));
        Ok(())
    }
}

impl Lane {
    fn measure(&self, samples: &[f32]) {
        if samples.is_empty() {
            return;
        }
        let power = samples.iter().map(|s| s * s).sum::<f32>() / samples.len() as f32;
        let rms = power.sqrt();
        let previous = self.level.get();
        self.level.set(if rms > previous { rms } else { previous * 0.93 + rms * 0.07 });
    }
}

impl Drop for Lane {
    fn drop(&mut self) {
        let _ = self.gain.disconnect();
    }
}
