//! Cameras through nokhwa (V4L2 on Linux): listing, and capture converted to I420.

use nokhwa::utils::{
    ApiBackend, CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType,
    Resolution,
};

use crate::video::convert::{self, PixelFormat};
use crate::video::frame::{I420, Size};

/// Why a camera cannot be listed, found or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CameraError {
    /// No camera matches the index or name.
    #[error("no camera {wanted:?} ({})", found_text(.available))]
    NotFound {
        /// The index or name asked for.
        wanted: String,
        /// The cameras there are, as `index: name`.
        available: Vec<String>,
    },
    /// The camera refused the format, or the driver failed.
    #[error("camera {index}: {message}")]
    Device {
        /// The camera's index.
        index: u32,
        /// nokhwa's explanation.
        message: String,
    },
    /// The cameras could not be listed.
    #[error("cannot list cameras: {0}")]
    Query(String),
}

fn found_text(available: &[String]) -> String {
    if available.is_empty() {
        "no cameras found".into()
    } else {
        format!("found: {}", available.join(", "))
    }
}

/// A camera as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraInfo {
    /// Its index for `--video-device-index`.
    pub index: u32,
    /// Its name.
    pub name: String,
    /// The driver's description.
    pub description: String,
}

/// The cameras attached.
pub fn list() -> Result<Vec<CameraInfo>, CameraError> {
    let cameras = nokhwa::query(ApiBackend::Auto).map_err(|e| CameraError::Query(e.to_string()))?;
    Ok(cameras
        .into_iter()
        .enumerate()
        .map(|(i, c)| CameraInfo {
            index: match c.index() {
                CameraIndex::Index(n) => *n,
                CameraIndex::String(_) => u32::try_from(i).unwrap_or(u32::MAX),
            },
            name: c.human_name(),
            description: c.description().to_owned(),
        })
        .collect())
}

/// Finds a camera by index (`0`) or by name.
pub fn resolve(wanted: &str) -> Result<CameraInfo, CameraError> {
    let cameras = list()?;
    let by_index = wanted.parse::<u32>().ok();
    cameras.iter().find(|c| Some(c.index) == by_index || c.name == wanted).cloned().ok_or_else(
        || CameraError::NotFound {
            wanted: wanted.to_owned(),
            available: cameras.iter().map(|c| format!("{}: {}", c.index, c.name)).collect(),
        },
    )
}

fn open(index: u32, request: RequestedFormatType) -> Result<nokhwa::Camera, CameraError> {
    let formats = [FrameFormat::NV12, FrameFormat::YUYV, FrameFormat::MJPEG];
    let requested = RequestedFormat::with_formats(request, &formats);
    nokhwa::Camera::new(CameraIndex::Index(index), requested)
        .map_err(|e| CameraError::Device { index, message: e.to_string() })
}

/// The pixel formats camera `index` offers.
pub fn formats(index: u32) -> Result<Vec<String>, CameraError> {
    let mut camera = open(index, RequestedFormatType::None)?;
    let fourccs = camera
        .compatible_fourcc()
        .map_err(|e| CameraError::Device { index, message: e.to_string() })?;
    Ok(fourccs.iter().map(ToString::to_string).collect())
}

/// One mode a camera offers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mode {
    /// Pixel format, as the driver names it.
    pub format: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Frame rates offered at this size, ascending.
    pub fps: Vec<u32>,
}

/// Every mode camera `index` offers, sorted.
pub fn resolutions(index: u32) -> Result<Vec<Mode>, CameraError> {
    let mut camera = open(index, RequestedFormatType::None)?;
    let device = |e: nokhwa::NokhwaError| CameraError::Device { index, message: e.to_string() };
    let mut out = Vec::new();
    for fourcc in camera.compatible_fourcc().map_err(device)? {
        for (res, mut rates) in camera.compatible_list_by_resolution(fourcc).map_err(device)? {
            rates.sort_unstable();
            let (width, height) = (res.width(), res.height());
            out.push(Mode { format: fourcc.to_string(), width, height, fps: rates });
        }
    }
    out.sort();
    Ok(out)
}

/// A running camera delivering I420 pictures. Not `Send`: open it on the capture thread.
pub struct Capture {
    camera: nokhwa::Camera,
    index: u32,
    format: PixelFormat,
}

impl std::fmt::Debug for Capture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capture").field("index", &self.index).field("format", &self.format).finish()
    }
}

impl Capture {
    /// Opens camera `index` at exactly `size`, `fps` and `format`, and starts it.
    pub fn open(
        index: u32,
        size: Size,
        fps: u32,
        format: PixelFormat,
    ) -> Result<Self, CameraError> {
        let fourcc = match format {
            PixelFormat::Nv12 => FrameFormat::NV12,
            PixelFormat::Yuyv => FrameFormat::YUYV,
        };
        let wanted = CameraFormat::new(Resolution::new(size.width, size.height), fourcc, fps);
        let mut camera = open(index, RequestedFormatType::Exact(wanted))?;
        camera.open_stream().map_err(|e| CameraError::Device { index, message: e.to_string() })?;
        Ok(Self { camera, index, format })
    }

    /// Waits for the next picture and converts it into `out`.
    pub fn next(&mut self, out: &mut I420) -> Result<(), CameraError> {
        let index = self.index;
        let raw = self
            .camera
            .frame_raw()
            .map_err(|e| CameraError::Device { index, message: e.to_string() })?;
        convert::to_i420(self.format, &raw, out)
            .map_err(|e| CameraError::Device { index, message: e.to_string() })
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if let Err(e) = self.camera.stop_stream() {
            tracing::debug!(error = %e, "stopping the camera");
        }
    }
}
