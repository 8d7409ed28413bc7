//! Getting media from the browser: camera and microphone (`getUserMedia`), the screen
//! (`getDisplayMedia`), the device lists, and what this browser supports.

use js_sys::{Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    DisplayMediaStreamConstraints, MediaDeviceInfo, MediaDeviceKind, MediaDevices, MediaStream,
    MediaStreamConstraints, MediaStreamTrack,
};

use super::MediaError;
use crate::web::js;

/// One capture or playback device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// The browser's id for it (stable per origin).
    pub id: String,
    /// A name for people; empty before the user granted access.
    pub label: String,
}

/// The devices of each kind.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Devices {
    /// Cameras.
    pub cameras: Vec<Device>,
    /// Microphones.
    pub microphones: Vec<Device>,
    /// Speakers (empty where the browser cannot choose one).
    pub speakers: Vec<Device>,
}

/// What this browser lacks for a meeting; empty when it has everything.
pub fn missing_features() -> Vec<&'static str> {
    let Some(window) = web_sys::window() else { return vec!["a browser window"] };
    let has = |name: &str| Reflect::has(&window, &name.into()).unwrap_or(false);
    let mut missing = Vec::new();
    for (name, what) in [
        ("VideoEncoder", "WebCodecs video (VideoEncoder)"),
        ("VideoDecoder", "WebCodecs video (VideoDecoder)"),
        ("AudioEncoder", "WebCodecs audio (AudioEncoder)"),
        ("AudioDecoder", "WebCodecs audio (AudioDecoder)"),
        ("AudioContext", "Web Audio"),
    ] {
        if !has(name) {
            missing.push(what);
        }
    }
    if media_devices().is_err() {
        missing.push("camera access (navigator.mediaDevices; the page must be https or localhost)");
    }
    missing
}

/// Whether the browser can open WebTransport sessions.
pub fn has_webtransport() -> bool {
    web_sys::window().is_some_and(|w| Reflect::has(&w, &"WebTransport".into()).unwrap_or(false))
}

/// Whether frames can be read from tracks directly (`MediaStreamTrackProcessor`); without it
/// capture falls back to a `<video>` element (video) and an audio graph (audio).
pub fn has_track_processor() -> bool {
    web_sys::window()
        .is_some_and(|w| Reflect::has(&w, &"MediaStreamTrackProcessor".into()).unwrap_or(false))
}

fn media_devices() -> Result<MediaDevices, MediaError> {
    let window = web_sys::window().ok_or(MediaError::Unsupported("a browser window"))?;
    let navigator = window.navigator();
    // Absent on insecure origins: `navigator.mediaDevices` is undefined there.
    let devices = Reflect::get(&navigator, &"mediaDevices".into()).unwrap_or(JsValue::UNDEFINED);
    if devices.is_undefined() {
        return Err(MediaError::Unsupported("navigator.mediaDevices (needs https or localhost)"));
    }
    navigator.media_devices().map_err(|e| MediaError::Browser(js::describe(&e)))
}

/// A constraint: `true`, or `{deviceId: {exact: id}}` plus `extra` properties.
fn constraint(device: Option<&str>, extra: &[(&str, JsValue)]) -> JsValue {
    if device.is_none() && extra.is_empty() {
        return JsValue::TRUE;
    }
    let object = Object::new();
    if let Some(id) = device {
        let exact = Object::new();
        let _ = Reflect::set(&exact, &"exact".into(), &id.into());
        let _ = Reflect::set(&object, &"deviceId".into(), &exact);
    }
    for (key, value) in extra {
        let _ = Reflect::set(&object, &(*key).into(), value);
    }
    object.into()
}

/// Opens the camera (`video`) and/or the microphone (`audio`), each on the given device or the
/// default one. The camera asks for 640x480 at 30 fps, which every camera offers.
pub async fn user_media(
    video: Option<Option<&str>>,
    audio: Option<Option<&str>>,
) -> Result<MediaStream, MediaError> {
    let devices = media_devices()?;
    let constraints = MediaStreamConstraints::new();
    match video {
        Some(device) => {
            let extra = [("width", 640.into()), ("height", 480.into()), ("frameRate", 30.into())];
            constraints.set_video(&constraint(device, &extra));
        }
        None => constraints.set_video(&JsValue::FALSE),
    }
    match audio {
        Some(device) => {
            let extra = [
                ("echoCancellation", JsValue::TRUE),
                ("noiseSuppression", JsValue::TRUE),
                ("autoGainControl", JsValue::TRUE),
            ];
            constraints.set_audio(&constraint(device, &extra));
        }
        None => constraints.set_audio(&JsValue::FALSE),
    }
    let promise = devices
        .get_user_media_with_constraints(&constraints)
        .map_err(|e| MediaError::Browser(js::describe(&e)))?;
    let stream = JsFuture::from(promise).await.map_err(|e| MediaError::Denied(js::describe(&e)))?;
    stream.dyn_into().map_err(|_| MediaError::Browser("getUserMedia returned no stream".into()))
}

/// Asks the user for a screen, window or tab to share.
pub async fn display_media() -> Result<MediaStream, MediaError> {
    let devices = media_devices()?;
    let constraints = DisplayMediaStreamConstraints::new();
    constraints.set_video(&constraint(None, &[("frameRate", 15.into())]));
    constraints.set_audio(&JsValue::FALSE);
    let promise = devices
        .get_display_media_with_constraints(&constraints)
        .map_err(|e| MediaError::Browser(js::describe(&e)))?;
    let stream = JsFuture::from(promise).await.map_err(|e| MediaError::Denied(js::describe(&e)))?;
    stream.dyn_into().map_err(|_| MediaError::Browser("getDisplayMedia returned no stream".into()))
}

/// The first video track of `stream`.
pub fn video_track(stream: &MediaStream) -> Option<MediaStreamTrack> {
    stream.get_video_tracks().get(0).dyn_into().ok()
}

/// The first audio track of `stream`.
pub fn audio_track(stream: &MediaStream) -> Option<MediaStreamTrack> {
    stream.get_audio_tracks().get(0).dyn_into().ok()
}

/// Stops every track of `stream` (the camera light goes off).
pub fn stop_all(stream: &MediaStream) {
    for track in stream.get_tracks() {
        if let Ok(track) = track.dyn_into::<MediaStreamTrack>() {
            track.stop();
        }
    }
}

/// The capture and playback devices. Labels are empty until the user granted access once.
pub async fn devices() -> Result<Devices, MediaError> {
    let promise =
        media_devices()?.enumerate_devices().map_err(|e| MediaError::Browser(js::describe(&e)))?;
    let list = JsFuture::from(promise).await.map_err(|e| MediaError::Browser(js::describe(&e)))?;
    let mut devices = Devices::default();
    for info in js_sys::Array::from(&list) {
        let Ok(info) = info.dyn_into::<MediaDeviceInfo>() else { continue };
        let device = Device { id: info.device_id(), label: info.label() };
        match info.kind() {
            MediaDeviceKind::Videoinput => devices.cameras.push(device),
            MediaDeviceKind::Audioinput => devices.microphones.push(device),
            MediaDeviceKind::Audiooutput => devices.speakers.push(device),
            _ => {}
        }
    }
    Ok(devices)
}
