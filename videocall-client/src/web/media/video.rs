//! Publishing a camera or a screen: frames from a [`Source`], encoded with WebCodecs'
//! `VideoEncoder` (VP9 or VP8, real-time mode), sent as `MediaPacket`s.
//!
//! Key frames: the first frame, every [`VideoSettings::keyframe_interval`], and as soon as
//! possible after [`VideoSender::request_keyframe`] (a receiver lost frames, or someone joined).
//! Queue policy: at most [`MAX_ENCODE_QUEUE`] frames wait in the encoder; a newer frame that
//! finds it full is dropped and counted (the picture stays live instead of lagging).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use protobuf::MessageField;
use videocall_types::protos::media_packet::VideoMetadata;
use videocall_types::{MediaPacket, MediaType};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{
    EncodedVideoChunk, EncodedVideoChunkType, LatencyMode, MediaStreamTrack, VideoEncoder,
    VideoEncoderConfig, VideoEncoderEncodeOptions, VideoEncoderInit, VideoFrame,
};

use super::source::Source;
use super::{MediaError, Rate};
use crate::jitter::VideoCodec;
use crate::web::{ClientHandle, js};

/// Frames waiting in the encoder at most.
const MAX_ENCODE_QUEUE: u32 = 2;

/// How to encode one video stream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoSettings {
    /// `VIDEO` for a camera, `SCREEN` for a screen share.
    pub kind: MediaType,
    /// The codec.
    pub codec: VideoCodec,
    /// Target bitrate in bits per second.
    pub bitrate: u32,
    /// Frames per second to expect (the fallback capture polls at this rate).
    pub framerate: f64,
    /// Longest time between two key frames.
    pub keyframe_interval: Duration,
}

impl VideoSettings {
    /// A camera: VP9 at 600 kbit/s, 30 fps, a key frame at least every 3 s.
    pub fn camera() -> Self {
        Self {
            kind: MediaType::VIDEO,
            codec: VideoCodec::Vp9,
            bitrate: 600_000,
            framerate: 30.0,
            keyframe_interval: Duration::from_secs(3),
        }
    }

    /// A screen: VP9 at 1 Mbit/s, 15 fps, a key frame at least every second (people join a
    /// share late and text must be sharp at once).
    pub fn screen() -> Self {
        Self {
            kind: MediaType::SCREEN,
            codec: VideoCodec::Vp9,
            bitrate: 1_000_000,
            framerate: 15.0,
            keyframe_interval: Duration::from_secs(1),
        }
    }
}

/// What a [`VideoSender`] did.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct VideoSenderStats {
    /// Frames read from the track.
    pub captured: u64,
    /// Frames dropped because the encoder was behind.
    pub dropped: u64,
    /// Encoded frames handed to the client.
    pub sent: u64,
    /// Encoded frames the client refused (not connected, queue full).
    pub refused: u64,
    /// Key frames produced.
    pub keyframes: u64,
    /// Encoded frames per second, over the last second.
    pub fps: f64,
    /// Encoded kbit/s, over the last second.
    pub kbps: f64,
    /// The encoded size.
    pub width: u32,
    /// The encoded size.
    pub height: u32,
    /// The bitrate the encoder aims at now (bit/s).
    pub target_bitrate: u32,
}

/// State shared by the capture loop, the encoder's output callback and the handle.
struct State {
    client: ClientHandle,
    settings: Cell<VideoSettings>,
    stats: Cell<VideoSenderStats>,
    rate: RefCell<Rate>,
    sequence: Cell<u64>,
    keyframe_due: Cell<bool>,
    reconfigure: Cell<bool>,
    stopped: Cell<bool>,
    error: RefCell<Option<String>>,
}

impl State {
    fn update(&self, change: impl FnOnce(&mut VideoSenderStats)) {
        let mut stats = self.stats.get();
        change(&mut stats);
        self.stats.set(stats);
    }
}

/// Publishes one video track until stopped or dropped.
pub struct VideoSender {
    state: Rc<State>,
    track: MediaStreamTrack,
}

impl std::fmt::Debug for VideoSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoSender").field("stats", &self.state.stats.get()).finish()
    }
}

impl VideoSender {
    /// Starts publishing `track` through `client` (the capture loop runs on the page's
    /// executor until [`VideoSender::stop`]).
    pub fn start(
        client: ClientHandle,
        track: MediaStreamTrack,
        settings: VideoSettings,
    ) -> Result<Self, MediaError> {
        let state = Rc::new(State {
            client,
            settings: Cell::new(settings),
            stats: Cell::new(VideoSenderStats {
                target_bitrate: settings.bitrate,
                ..VideoSenderStats::default()
            }),
            rate: RefCell::new(Rate::default()),
            sequence: Cell::new(0),
            keyframe_due: Cell::new(true),
            reconfigure: Cell::new(false),
            stopped: Cell::new(false),
            error: RefCell::new(None),
        });
        let encoder = Encoder::new(state.clone())?;
        wasm_bindgen_futures::spawn_local(capture(state.clone(), track.clone(), encoder));
        Ok(Self { state, track })
    }

    /// Sends a key frame with the next frame.
    pub fn request_keyframe(&self) {
        self.state.keyframe_due.set(true);
    }

    /// Changes the target bitrate (bit/s) from the next frame on.
    pub fn set_bitrate(&self, bitrate: u32) {
        let mut settings = self.state.settings.get();
        if settings.bitrate != bitrate {
            settings.bitrate = bitrate;
            self.state.settings.set(settings);
            self.state.reconfigure.set(true);
            self.state.update(|s| s.target_bitrate = bitrate);
        }
    }

    /// The settings in use.
    pub fn settings(&self) -> VideoSettings {
        self.state.settings.get()
    }

    /// Counters and rates so far.
    pub fn stats(&self) -> VideoSenderStats {
        self.state.stats.get()
    }

    /// The last encoder error, if the sender stopped because of one.
    pub fn error(&self) -> Option<String> {
        self.state.error.borrow().clone()
    }

    /// The track being published.
    pub fn track(&self) -> &MediaStreamTrack {
        &self.track
    }

    /// Stops capturing and encoding (the track itself is left to its owner).
    pub fn stop(&self) {
        self.state.stopped.set(true);
    }
}

impl Drop for VideoSender {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The WebCodecs encoder and its callbacks.
struct Encoder {
    encoder: VideoEncoder,
    size: Option<(u32, u32)>,
    last_key: Option<Duration>,
    _output: Closure<dyn FnMut(EncodedVideoChunk)>,
    _error: Closure<dyn FnMut(wasm_bindgen::JsValue)>,
}

impl Encoder {
    fn new(state: Rc<State>) -> Result<Self, MediaError> {
        let sink = state.clone();
        let output = Closure::<dyn FnMut(EncodedVideoChunk)>::new(move |chunk| {
            send_chunk(&sink, &chunk);
        });
        let sink = state;
        let error = Closure::<dyn FnMut(wasm_bindgen::JsValue)>::new(move |e| {
            *sink.error.borrow_mut() = Some(js::describe(&e));
            sink.stopped.set(true);
        });
        let init =
            VideoEncoderInit::new(error.as_ref().unchecked_ref(), output.as_ref().unchecked_ref());
        let encoder =
            VideoEncoder::new(&init).map_err(|e| MediaError::Browser(js::describe(&e)))?;
        Ok(Self { encoder, size: None, last_key: None, _output: output, _error: error })
    }

    fn configure(
        &mut self,
        settings: VideoSettings,
        width: u32,
        height: u32,
    ) -> Result<(), MediaError> {
        let config = VideoEncoderConfig::new(settings.codec.webcodecs(), height, width);
        config.set_bitrate(settings.bitrate);
        config.set_framerate(settings.framerate);
        config.set_latency_mode(LatencyMode::Realtime);
        if settings.kind == MediaType::SCREEN {
            config.set_content_hint("detail");
        }
        self.encoder.configure(&config).map_err(|e| MediaError::Browser(js::describe(&e)))?;
        self.size = Some((width, height));
        Ok(())
    }

    fn encode(&mut self, state: &State, frame: &VideoFrame) -> Result<(), MediaError> {
        let settings = state.settings.get();
        let (width, height) = (frame.display_width() & !1, frame.display_height() & !1);
        if width == 0 || height == 0 {
            return Ok(());
        }
        if self.size != Some((width, height)) || state.reconfigure.replace(false) {
            let resized = self.size != Some((width, height));
            self.configure(settings, width, height)?;
            if resized {
                state.keyframe_due.set(true);
            }
        }
        if self.encoder.encode_queue_size() >= MAX_ENCODE_QUEUE {
            state.update(|s| s.dropped += 1);
            return Ok(());
        }
        let now = js::monotonic();
        let periodic = self.last_key.is_none_or(|at| now >= at + settings.keyframe_interval);
        let key = state.keyframe_due.replace(false) || periodic;
        if key {
            self.last_key = Some(now);
        }
        let options = VideoEncoderEncodeOptions::new();
        options.set_key_frame(key);
        self.encoder
            .encode_with_options(frame, &options)
            .map_err(|e| MediaError::Browser(js::describe(&e)))?;
        state.update(|s| (s.width, s.height) = (width, height));
        Ok(())
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        let _ = self.encoder.close();
    }
}

/// Reads frames and encodes them until the sender stops or the track ends.
async fn capture(state: Rc<State>, track: MediaStreamTrack, mut encoder: Encoder) {
    let mut source = match Source::video(&track, state.settings.get().framerate).await {
        Ok(source) => source,
        Err(error) => {
            *state.error.borrow_mut() = Some(error.to_string());
            return;
        }
    };
    while !state.stopped.get() {
        let Some(frame) = source.next_video().await else { break };
        state.update(|s| s.captured += 1);
        if state.stopped.get() {
            frame.close();
            break;
        }
        let result = encoder.encode(&state, &frame);
        frame.close();
        if let Err(error) = result {
            *state.error.borrow_mut() = Some(error.to_string());
            break;
        }
    }
    source.close();
}

/// Wraps one encoded chunk in a `MediaPacket` and hands it to the client.
fn send_chunk(state: &State, chunk: &EncodedVideoChunk) {
    let mut data = vec![0; chunk.byte_length() as usize];
    if chunk.copy_to_with_u8_slice(&mut data).is_err() {
        return;
    }
    let key = chunk.type_() == EncodedVideoChunkType::Key;
    let sequence = state.sequence.get();
    state.sequence.set(sequence + 1);
    let bytes = data.len();
    let packet = MediaPacket {
        media_type: state.settings.get().kind.into(),
        data,
        frame_type: if key { "key" } else { "delta" }.into(),
        timestamp: chunk.timestamp(),
        duration: chunk.duration().unwrap_or(0.0),
        video_metadata: MessageField::some(VideoMetadata { sequence, ..Default::default() }),
        ..Default::default()
    };
    let sent = state.client.send_media(packet).is_ok();
    let (fps, kbps) = state.rate.borrow_mut().record(js::monotonic(), bytes);
    state.update(|s| {
        if sent {
            s.sent += 1
        } else {
            s.refused += 1
        }
        if key {
            s.keyframes += 1;
        }
        (s.fps, s.kbps) = (fps, kbps);
    });
}
