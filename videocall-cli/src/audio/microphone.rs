//! The microphone through cpal (ALSA on Linux): 48 kHz, mixed down to mono 16-bit chunks.

use std::sync::mpsc::{SyncSender, TrySendError};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};

use super::opus::SAMPLE_RATE;

/// Why the microphone cannot be listed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MicrophoneError {
    /// No input device has this name.
    #[error("no audio input device named {name:?} ({})", available_text(.available))]
    NotFound {
        /// The name asked for (`default` for the system default).
        name: String,
        /// The input devices there are.
        available: Vec<String>,
    },
    /// The device offers no 48 kHz mono or stereo format in i16 or f32.
    #[error("audio device {0:?} cannot record 48 kHz 16-bit or float audio")]
    Unsupported(String),
    /// The audio system failed.
    #[error("audio system: {0}")]
    Host(String),
}

fn available_text(available: &[String]) -> String {
    if available.is_empty() {
        "no audio input devices found".into()
    } else {
        format!("available: {}", available.join(", "))
    }
}

/// Names of the input devices.
pub fn list() -> Result<Vec<String>, MicrophoneError> {
    let host = cpal::default_host();
    let devices = host.input_devices().map_err(|e| MicrophoneError::Host(e.to_string()))?;
    Ok(devices.filter_map(|d| d.name().ok()).collect())
}

/// An open, running input stream. Not `Send` on every platform: keep it on the thread that
/// opened it; dropping it stops the recording.
pub struct Microphone {
    _stream: cpal::Stream,
    /// The device's name.
    pub name: String,
}

impl std::fmt::Debug for Microphone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Microphone").field("name", &self.name).finish_non_exhaustive()
    }
}

/// Opens device `name` (`default` for the system default) and sends mono 48 kHz chunks to
/// `chunks`. Queue policy: `chunks` is bounded by its creator; when it is full the newest chunk
/// is dropped and `on_drop` is called (the audio callback never waits).
pub fn open(
    name: &str,
    chunks: SyncSender<Vec<i16>>,
    mut on_drop: impl FnMut() + Send + 'static,
) -> Result<Microphone, MicrophoneError> {
    let host = cpal::default_host();
    let device = find(&host, name)?;
    let device_name = device.name().unwrap_or_else(|_| name.to_owned());
    let config = device
        .supported_input_configs()
        .map_err(|e| MicrophoneError::Host(e.to_string()))?
        .filter(|c| c.channels() <= 2)
        .filter(|c| matches!(c.sample_format(), cpal::SampleFormat::I16 | cpal::SampleFormat::F32))
        .find_map(|c| c.try_with_sample_rate(cpal::SampleRate(SAMPLE_RATE)))
        .ok_or_else(|| MicrophoneError::Unsupported(device_name.clone()))?;
    let channels = usize::from(config.channels());
    let format = config.sample_format();
    let stream_config = config.config();
    let on_error = |e: cpal::StreamError| tracing::warn!(error = %e, "microphone");
    let mut deliver = move |mono: Vec<i16>| match chunks.try_send(mono) {
        Ok(()) | Err(TrySendError::Disconnected(_)) => {}
        Err(TrySendError::Full(_)) => on_drop(),
    };
    let stream = match format {
        cpal::SampleFormat::F32 => device.build_input_stream(
            &stream_config,
            move |data: &[f32], _: &_| {
                deliver(mix(data, channels, |s| (s.clamp(-1.0, 1.0) * 32767.0) as i32))
            },
            on_error,
            None,
        ),
        _ => device.build_input_stream(
            &stream_config,
            move |data: &[i16], _: &_| deliver(mix(data, channels, i32::from)),
            on_error,
            None,
        ),
    }
    .map_err(|e| MicrophoneError::Host(e.to_string()))?;
    stream.play().map_err(|e| MicrophoneError::Host(e.to_string()))?;
    Ok(Microphone { _stream: stream, name: device_name })
}

fn find(host: &cpal::Host, name: &str) -> Result<cpal::Device, MicrophoneError> {
    let not_found = || MicrophoneError::NotFound {
        name: name.to_owned(),
        available: list().unwrap_or_default(),
    };
    if name == "default" {
        return host.default_input_device().ok_or_else(not_found);
    }
    let mut devices = host.input_devices().map_err(|e| MicrophoneError::Host(e.to_string()))?;
    devices.find(|d| d.name().is_ok_and(|n| n == name)).ok_or_else(not_found)
}

/// Mixes interleaved frames of `channels` samples down to mono 16-bit.
fn mix<T: Copy>(data: &[T], channels: usize, to_i32: impl Fn(T) -> i32) -> Vec<i16> {
    let channels = channels.max(1);
    data.chunks_exact(channels)
        .map(|frame| {
            let sum: i32 = frame.iter().map(|&s| to_i32(s)).sum();
            (sum / channels as i32).clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stereo_is_averaged_to_mono() {
        assert_eq!(mix(&[100i16, 300, -5, -7], 2, i32::from), vec![200, -6]);
        assert_eq!(mix(&[0.5f32], 1, |s| (s * 32767.0) as i32), vec![16383]);
    }

    #[test]
    fn an_unknown_device_names_what_there_is() {
        let err = MicrophoneError::NotFound { name: "usb".into(), available: vec![] };
        assert_eq!(
            err.to_string(),
            "no audio input device named \"usb\" (no audio input devices found)"
        );
    }
}
