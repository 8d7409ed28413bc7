//! `videocall-cli info`: what cameras and microphones there are, in plain text.

use std::fmt::Write as _;

use crate::args::InfoArgs;
use crate::audio::microphone::{self, MicrophoneError};
use crate::camera::{self, CameraError};

/// Why a listing failed.
#[derive(Debug, thiserror::Error)]
pub enum InfoError {
    /// Camera listing or opening failed.
    #[error(transparent)]
    Camera(#[from] CameraError),
    /// Audio device listing failed.
    #[error(transparent)]
    Microphone(#[from] MicrophoneError),
}

/// The text for the listing `args` asks for.
pub fn run(args: &InfoArgs) -> Result<String, InfoError> {
    let mut out = String::new();
    if args.list_cameras {
        let cameras = camera::list()?;
        if cameras.is_empty() {
            out.push_str("no cameras found\n");
        }
        for c in cameras {
            let _ = writeln!(out, "{}: {} ({})", c.index, c.name, c.description);
        }
    }
    if let Some(index) = args.list_formats {
        require_camera(index)?;
        for format in camera::formats(index)? {
            let _ = writeln!(out, "{format}");
        }
    }
    if let Some(index) = args.list_resolutions {
        require_camera(index)?;
        for mode in camera::resolutions(index)? {
            let rates: Vec<String> = mode.fps.iter().map(ToString::to_string).collect();
            let (format, width, height) = (mode.format, mode.width, mode.height);
            let _ = writeln!(out, "{format} {width}x{height} @ {} fps", rates.join(", "));
        }
    }
    if args.list_audio_devices {
        let devices = microphone::list()?;
        if devices.is_empty() {
            out.push_str("no audio input devices found\n");
        }
        for name in devices {
            let _ = writeln!(out, "{name}");
        }
    }
    Ok(out)
}

/// A clear error for an index that is not there (instead of a driver message).
fn require_camera(index: u32) -> Result<(), CameraError> {
    camera::resolve(&index.to_string()).map(|_| ())
}
