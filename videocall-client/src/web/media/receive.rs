//! Receiving media: per peer, a jitter buffer and a WebCodecs `VideoDecoder` for the camera and
//! for the screen (drawn to the canvas whose id [`canvas_id`] gives), and an `AudioDecoder`
//! feeding a playout lane. Receivers report each stream to its sender once a second and ask
//! it for a key frame after a loss; reports addressed to this page come out as [`Notice`]s
//! (key frame requests in them come out of the session core as rate-limited events).
//!
//! A peer's malformed packet or failing decoder never affects other peers: it is counted, the
//! decoder is rebuilt, and the stream waits for the next key frame. Pictures larger than
//! [`picture::MAX_SIDE`] are refused and counted ([`PeerMediaStats::oversized`]): a key frame
//! declaring one is not decoded, and a decoded one never resizes a canvas.

use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use protobuf::{Message, MessageField};
use videocall_types::protos::diagnostics_packet::{AudioMetrics, DiagnosticsPacket, VideoMetrics};
use videocall_types::{MediaPacket, MediaType, PacketType, PacketWrapper, SessionId};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{
    AudioData, AudioDecoder, AudioDecoderConfig, AudioDecoderInit, CanvasRenderingContext2d,
    EncodedAudioChunk, EncodedAudioChunkInit, EncodedAudioChunkType, EncodedVideoChunk,
    EncodedVideoChunkInit, EncodedVideoChunkType, HtmlCanvasElement, VideoDecoder,
    VideoDecoderConfig, VideoDecoderInit, VideoFrame,
};

use super::playout::{Lane, Playout};
use super::{MediaError, Rate};
use crate::event::{Event, PeerKey};
use crate::jitter::{Frame, JitterBuffer, JitterConfig, Output, VideoCodec};
use crate::web::{ClientHandle, js};
use crate::{packet, picture};

/// How often each stream is reported to its sender.
const REPORT_INTERVAL: Duration = Duration::from_secs(1);

/// Frames waiting in a video decoder at most; beyond that the stream skips to a key frame.
const MAX_DECODE_QUEUE: u32 = 8;

/// The id of the canvas a peer's camera (`VIDEO`) or screen (`SCREEN`) is drawn on.
pub fn canvas_id(kind: MediaType, peer: &PeerKey) -> String {
    let prefix = if kind == MediaType::SCREEN { "screen" } else { "video" };
    format!("{prefix}-{peer}")
}

/// Something addressed to this page's senders.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// A receiver needs a key frame of this kind. No longer produced: receivers' requests now
    /// arrive as the rate-limited [`Event::KeyframeRequested`] from the session core, shared with
    /// native clients; the variant stays so existing matches keep compiling.
    KeyframeRequested(MediaType),
    /// A receiver's report on this page's stream of `kind`.
    Report {
        /// The receiver (its user id).
        receiver: String,
        /// The stream.
        kind: MediaType,
        /// Frames per second it received.
        fps: f64,
        /// Frames it never received, in total.
        frames_lost: u64,
    },
}

/// One peer's media, as counted here.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PeerMediaStats {
    /// Camera frames drawn.
    pub video_frames: u64,
    /// When the first camera frame was drawn (page clock, `performance.now()`).
    pub first_video_at: Option<Duration>,
    /// Screen frames drawn.
    pub screen_frames: u64,
    /// Audio packets received.
    pub audio_packets: u64,
    /// Audio frames decoded and scheduled.
    pub audio_frames: u64,
    /// Camera frames per second received.
    pub video_fps: f64,
    /// Camera kbit/s received.
    pub video_kbps: f64,
    /// Screen frames per second received.
    pub screen_fps: f64,
    /// Audio kbit/s received.
    pub audio_kbps: f64,
    /// How loud the peer is now (0 silence … 1 full scale).
    pub audio_level: f32,
    /// Audio frames dropped at playout (arrived too late or in a burst).
    pub audio_dropped: u64,
    /// Camera frames lost in transit.
    pub video_lost: u64,
    /// Packets from this peer that could not be used.
    pub malformed: u64,
    /// Camera and screen pictures refused for their size (above [`picture::MAX_SIDE`]).
    pub oversized: u64,
    /// Whether the peer shares its screen (frames arrived in the last two seconds).
    pub screen_active: bool,
}

/// Decodes and plays every peer's media.
pub struct Receiver {
    client: ClientHandle,
    playout: Option<Playout>,
    peers: HashMap<PeerKey, PeerMedia>,
    me: Option<SessionId>,
    next_report: Duration,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver").field("peers", &self.peers.len()).finish_non_exhaustive()
    }
}

impl Receiver {
    /// A receiver that reports through `client`. Create it from a user gesture (the join click)
    /// so the browser lets its audio play; without audio output it still shows video.
    pub fn new(client: ClientHandle) -> Self {
        let playout = Playout::new()
            .inspect_err(|e| web_sys::console::warn_1(&format!("no audio output: {e}").into()))
            .ok();
        Self { client, playout, peers: HashMap::new(), me: None, next_report: Duration::ZERO }
    }

    /// Takes one client event; returns what this page's senders should act on.
    pub fn handle_event(&mut self, event: &Event) -> Vec<Notice> {
        match event {
            Event::Connected { session_id, .. } => self.me = *session_id,
            Event::PeerLeft { peer, .. } => {
                self.peers.remove(&peer.key);
            }
            Event::Packet { from, wrapper } => return self.handle_packet(from, wrapper),
            _ => {}
        }
        Vec::new()
    }

    /// Runs timers: jitter-buffer waits and the periodic reports. Call it every few tens of ms.
    pub fn tick(&mut self) {
        let now = js::monotonic();
        let mut requests = Vec::new();
        for (key, peer) in &mut self.peers {
            for stream in [&mut peer.video, &mut peer.screen].into_iter().flatten() {
                if stream.jitter.poll_timeout().is_some_and(|at| at <= now) {
                    let mut out = Vec::new();
                    stream.jitter.handle_timeout(now, &mut out);
                    if stream.apply(out, now) {
                        requests.push((key.clone(), peer.user.clone(), stream.kind));
                    }
                }
            }
        }
        for (key, user, kind) in requests {
            self.send_report(&key, &user, kind, true);
        }
        if now >= self.next_report {
            self.next_report = now + REPORT_INTERVAL;
            let streams: Vec<_> = self
                .peers
                .iter()
                .flat_map(|(key, peer)| {
                    let kinds = [
                        peer.video.as_ref().map(|_| MediaType::VIDEO),
                        peer.screen.as_ref().map(|_| MediaType::SCREEN),
                        peer.audio.as_ref().map(|_| MediaType::AUDIO),
                    ];
                    kinds.into_iter().flatten().map(|kind| (key.clone(), peer.user.clone(), kind))
                })
                .collect();
            for (key, user, kind) in streams {
                self.send_report(&key, &user, kind, false);
            }
        }
    }

    /// Sends audio to the speaker `device` where the browser can choose.
    pub fn set_speaker(&self, device: &str) {
        if let Some(playout) = &self.playout {
            playout.set_speaker(device);
        }
    }

    /// What was received from `peer`.
    pub fn stats(&mut self, peer: &PeerKey) -> Option<PeerMediaStats> {
        let now = js::monotonic();
        self.peers.get_mut(peer).map(|p| p.stats(now))
    }

    fn handle_packet(&mut self, from: &PeerKey, wrapper: &PacketWrapper) -> Vec<Notice> {
        match wrapper.packet_type.enum_value() {
            Ok(PacketType::MEDIA) => {
                let now = js::monotonic();
                let peer = self
                    .peers
                    .entry(from.clone())
                    .or_insert_with(|| PeerMedia::new(from.clone(), wrapper.email.clone()));
                let Ok(media) = MediaPacket::parse_from_bytes(&wrapper.data) else {
                    peer.malformed += 1;
                    return Vec::new();
                };
                let request = peer.handle_media(media, self.playout.as_ref(), now);
                if let Some(kind) = request {
                    let user = wrapper.email.clone();
                    self.send_report(from, &user, kind, true);
                }
                Vec::new()
            }
            Ok(PacketType::DIAGNOSTICS) => self.handle_report(wrapper),
            _ => Vec::new(),
        }
    }

    /// A report from a receiver: kept only when it is about this page's streams.
    fn handle_report(&mut self, wrapper: &PacketWrapper) -> Vec<Notice> {
        let Ok(report) = DiagnosticsPacket::parse_from_bytes(&wrapper.data) else {
            return Vec::new();
        };
        if !packet::report_is_for(&report, self.client.user(), self.me) {
            return Vec::new();
        }
        // A key frame request in it was already handled (and rate-limited) by the session.
        let kind = report.media_type.enum_value_or_default();
        let fps = match kind {
            MediaType::AUDIO => report.audio_metrics.fps_received,
            _ => report.video_metrics.fps_received,
        };
        vec![Notice::Report {
            receiver: wrapper.email.clone(),
            kind,
            fps: f64::from(fps),
            frames_lost: report.frames_lost,
        }]
    }

    fn send_report(&mut self, key: &PeerKey, user: &str, kind: MediaType, keyframe_request: bool) {
        let now = js::monotonic();
        let Some(peer) = self.peers.get_mut(key) else { return };
        let stats = peer.stats(now);
        let (fps, kbps, lost) = match kind {
            MediaType::SCREEN => {
                (stats.screen_fps, 0.0, peer.screen.as_ref().map_or(0, |s| s.jitter.stats().lost))
            }
            MediaType::AUDIO => {
                (peer.audio.as_mut().map_or(0.0, |a| a.rate.current(now).0), stats.audio_kbps, 0)
            }
            _ => (stats.video_fps, stats.video_kbps, stats.video_lost),
        };
        let mut report = DiagnosticsPacket {
            stream_id: format!("{key}/{kind:?}"),
            sender_id: user.to_owned(),
            target_id: self.client.user().as_str().to_owned(),
            timestamp_ms: js::unix_ms() as u64,
            media_type: kind.into(),
            sender_session: match key {
                PeerKey::Session(id) => id.get(),
                PeerKey::Email(_) => 0,
            },
            keyframe_request,
            frames_lost: lost,
            ..Default::default()
        };
        if kind == MediaType::AUDIO {
            report.audio_metrics = MessageField::some(AudioMetrics {
                fps_received: fps as f32,
                bitrate_kbps: kbps as u32,
                ..Default::default()
            });
        } else {
            report.video_metrics = MessageField::some(VideoMetrics {
                fps_received: fps as f32,
                bitrate_kbps: kbps as u32,
                ..Default::default()
            });
        }
        if let Ok(wrapper) = packet::diagnostics(self.client.user(), &report) {
            let _ = self.client.send(wrapper);
        }
    }
}

/// One peer's streams.
struct PeerMedia {
    key: PeerKey,
    user: String,
    video: Option<VideoStream>,
    screen: Option<VideoStream>,
    audio: Option<AudioStream>,
    malformed: u64,
}

impl PeerMedia {
    fn new(key: PeerKey, user: String) -> Self {
        Self { key, user, video: None, screen: None, audio: None, malformed: 0 }
    }

    /// Takes one media packet; returns the kind of stream that needs a key frame, if any.
    fn handle_media(
        &mut self,
        media: MediaPacket,
        playout: Option<&Playout>,
        now: Duration,
    ) -> Option<MediaType> {
        let kind = media.media_type.enum_value_or_default();
        match kind {
            MediaType::VIDEO | MediaType::SCREEN => {
                let slot =
                    if kind == MediaType::SCREEN { &mut self.screen } else { &mut self.video };
                let stream =
                    slot.get_or_insert_with(|| VideoStream::new(kind, canvas_id(kind, &self.key)));
                stream.handle(media, now).then_some(kind)
            }
            MediaType::AUDIO => {
                let playout = playout?;
                if self.audio.is_none() {
                    match AudioStream::new(playout) {
                        Ok(audio) => self.audio = Some(audio),
                        Err(_) => {
                            self.malformed += 1;
                            return None;
                        }
                    }
                }
                if let Some(audio) = &mut self.audio
                    && !audio.handle(&media, now)
                {
                    self.malformed += 1;
                    if audio.decoder.state() == web_sys::CodecState::Closed {
                        self.audio = None; // a failed decoder is rebuilt with the next packet
                    }
                }
                None
            }
            MediaType::HEARTBEAT | MediaType::RTT => None,
        }
    }

    fn stats(&mut self, now: Duration) -> PeerMediaStats {
        let mut stats = PeerMediaStats { malformed: self.malformed, ..PeerMediaStats::default() };
        if let Some(video) = &mut self.video {
            stats.video_frames = video.drawn.count.get();
            stats.first_video_at = video.drawn.first.get();
            (stats.video_fps, stats.video_kbps) = video.rate.current(now);
            stats.video_lost = video.jitter.stats().lost;
            stats.malformed += video.errors;
            stats.oversized += video.drawn.oversized.get();
        }
        if let Some(screen) = &mut self.screen {
            stats.screen_frames = screen.drawn.count.get();
            stats.screen_fps = screen.rate.current(now).0;
            stats.screen_active = now.saturating_sub(screen.last_packet) < Duration::from_secs(2);
            stats.malformed += screen.errors;
            stats.oversized += screen.drawn.oversized.get();
        }
        if let Some(audio) = &mut self.audio {
            stats.audio_packets = audio.packets;
            stats.audio_frames = audio.decoded.get();
            stats.audio_kbps = audio.rate.current(now).1;
            stats.audio_level = audio.lane.level();
            stats.audio_dropped = audio.lane.dropped();
        }
        stats
    }
}

/// One peer's camera or screen.
struct VideoStream {
    kind: MediaType,
    canvas: String,
    jitter: JitterBuffer,
    decoder: Option<Decoder>,
    drawn: Rc<Drawn>,
    rate: Rate,
    errors: u64,
    last_packet: Duration,
}

impl VideoStream {
    fn new(kind: MediaType, canvas: String) -> Self {
        Self {
            kind,
            canvas,
            jitter: JitterBuffer::new(JitterConfig::default()),
            decoder: None,
            drawn: Rc::new(Drawn::default()),
            rate: Rate::default(),
            errors: 0,
            last_packet: Duration::ZERO,
        }
    }

    /// Takes one packet; true when the sender should be asked for a key frame.
    fn handle(&mut self, media: MediaPacket, now: Duration) -> bool {
        self.rate.record(now, media.data.len());
        self.last_packet = now;
        let Some(sequence) = media.video_metadata.as_ref().map(|m| m.sequence) else {
            self.errors += 1;
            return false;
        };
        let frame = Frame {
            sequence,
            key: media.frame_type == "key",
            timestamp_us: media.timestamp,
            data: media.data,
        };
        let mut out = Vec::new();
        self.jitter.push(frame, now, &mut out);
        self.apply(out, now)
    }

    /// Decodes what the jitter buffer released; true when a key frame should be requested.
    fn apply(&mut self, out: Vec<Output>, _now: Duration) -> bool {
        let mut request = false;
        for output in out {
            match output {
                Output::RequestKeyframe => request = true,
                Output::Decode(frame) => {
                    if !self.decode(&frame) {
                        // Start over from the next key frame with a fresh decoder.
                        self.errors += 1;
                        self.decoder = None;
                        self.jitter = JitterBuffer::new(JitterConfig::default());
                        request = true;
                    }
                }
            }
        }
        request
    }

    fn decode(&mut self, frame: &Frame) -> bool {
        if self.decoder.as_ref().is_some_and(|d| d.failed.get()) {
            return false;
        }
        if frame.key {
            if picture::keyframe_size(&frame.data).is_some_and(|(w, h)| !picture::allowed(w, h)) {
                // Refused without asking for another key frame: the sender would send the same.
                self.drawn.refuse();
                self.decoder = None; // its deltas must not decode on an older picture
                return true;
            }
            let Some(codec) = VideoCodec::sniff(&frame.data) else { return false };
            if self.decoder.as_ref().is_none_or(|d| d.codec != codec) {
                match Decoder::new(codec, self.canvas.clone(), self.drawn.clone()) {
                    Ok(decoder) => self.decoder = Some(decoder),
                    Err(_) => return false,
                }
            }
        }
        let Some(decoder) = &self.decoder else { return !frame.key };
        if decoder.decoder.decode_queue_size() > MAX_DECODE_QUEUE {
            return false;
        }
        let kind =
            if frame.key { EncodedVideoChunkType::Key } else { EncodedVideoChunkType::Delta };
        let data = js_sys::Uint8Array::from(frame.data.as_slice());
        let init = EncodedVideoChunkInit::new(&data, 0, kind);
        init.set_timestamp_f64(frame.timestamp_us);
        let Ok(chunk) = EncodedVideoChunk::new(&init) else { return false };
        decoder.decoder.decode(&chunk).is_ok()
    }
}

/// Frames drawn on a stream's canvas, and pictures refused for their size.
#[derive(Default)]
struct Drawn {
    count: Cell<u64>,
    first: Cell<Option<Duration>>,
    oversized: Cell<u64>,
}

impl Drawn {
    fn refuse(&self) {
        self.oversized.set(self.oversized.get() + 1);
    }

    fn record(&self) {
        if self.count.get() == 0 {
            self.first.set(Some(js::monotonic()));
        }
        self.count.set(self.count.get() + 1);
    }
}

/// A WebCodecs video decoder drawing to a canvas.
struct Decoder {
    decoder: VideoDecoder,
    codec: VideoCodec,
    failed: Rc<Cell<bool>>,
    _output: Closure<dyn FnMut(VideoFrame)>,
    _error: Closure<dyn FnMut(JsValue)>,
}

impl Decoder {
    fn new(codec: VideoCodec, canvas: String, drawn: Rc<Drawn>) -> Result<Self, MediaError> {
        let output = Closure::<dyn FnMut(VideoFrame)>::new(move |frame: VideoFrame| {
            if !picture::allowed(frame.display_width(), frame.display_height()) {
                drawn.refuse();
            } else if draw(&canvas, &frame) {
                drawn.record();
            }
            frame.close();
        });
        let failed = Rc::new(Cell::new(false));
        let flag = failed.clone();
        let error = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
            web_sys::console::warn_1(&format!("video decoder: {}", js::describe(&e)).into());
            flag.set(true);
        });
        let init =
            VideoDecoderInit::new(error.as_ref().unchecked_ref(), output.as_ref().unchecked_ref());
        let decoder =
            VideoDecoder::new(&init).map_err(|e| MediaError::Browser(js::describe(&e)))?;
        let config = VideoDecoderConfig::new(codec.webcodecs());
        config.set_optimize_for_latency(true);
        decoder.configure(&config).map_err(|e| MediaError::Browser(js::describe(&e)))?;
        Ok(Self { decoder, codec, failed, _output: output, _error: error })
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        let _ = self.decoder.close();
    }
}

/// Draws `frame` on the canvas with id `canvas`, sized to the frame (the caller has checked
/// the size against [`picture::MAX_SIDE`]); false when there is no such canvas.
fn draw(canvas: &str, frame: &VideoFrame) -> bool {
    let Some(element) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(canvas))
        .and_then(|e| e.dyn_into::<HtmlCanvasElement>().ok())
    else {
        return false;
    };
    let (width, height) = (frame.display_width(), frame.display_height());
    if element.width() != width || element.height() != height {
        element.set_width(width);
        element.set_height(height);
    }
    let Some(context) = element
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok())
    else {
        return false;
    };
    context.draw_image_with_video_frame(frame, 0.0, 0.0).is_ok()
}

/// One peer's microphone.
struct AudioStream {
    decoder: AudioDecoder,
    lane: Rc<Lane>,
    configured: Option<(u32, u32)>,
    packets: u64,
    decoded: Rc<Cell<u64>>,
    rate: Rate,
    _output: Closure<dyn FnMut(AudioData)>,
    _error: Closure<dyn FnMut(JsValue)>,
}

impl AudioStream {
    fn new(playout: &Playout) -> Result<Self, MediaError> {
        let lane = Rc::new(playout.lane()?);
        let decoded = Rc::new(Cell::new(0));
        let count = decoded.clone();
        let player = lane.clone();
        let output = Closure::<dyn FnMut(AudioData)>::new(move |data: AudioData| {
            count.set(count.get() + 1);
            player.play(&data);
        });
        let error = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
            web_sys::console::warn_1(&format!("audio decoder: {}", js::describe(&e)).into());
        });
        let init =
            AudioDecoderInit::new(error.as_ref().unchecked_ref(), output.as_ref().unchecked_ref());
        let decoder =
            AudioDecoder::new(&init).map_err(|e| MediaError::Browser(js::describe(&e)))?;
        Ok(Self {
            decoder,
            lane,
            configured: None,
            packets: 0,
            decoded,
            rate: Rate::default(),
            _output: output,
            _error: error,
        })
    }

    /// Decodes one packet; false when it could not be used.
    fn handle(&mut self, media: &MediaPacket, now: Duration) -> bool {
        self.packets += 1;
        self.rate.record(now, media.data.len());
        let metadata = media.audio_metadata.as_ref();
        let channels = metadata.map_or(1, |m| m.audio_number_of_channels).clamp(1, 2);
        let rate = metadata.map_or(48_000.0, |m| m.audio_sample_rate);
        let rate = if (8_000.0..=96_000.0).contains(&rate) { rate as u32 } else { 48_000 };
        if self.decoder.state() == web_sys::CodecState::Closed {
            return false;
        }
        if self.configured != Some((channels, rate)) {
            let config = AudioDecoderConfig::new("opus", channels, rate);
            if self.decoder.configure(&config).is_err() {
                return false;
            }
            self.configured = Some((channels, rate));
        }
        let data = js_sys::Uint8Array::from(media.data.as_slice());
        let init = EncodedAudioChunkInit::new(&data, 0, EncodedAudioChunkType::Key);
        init.set_timestamp_f64(media.timestamp);
        match EncodedAudioChunk::new(&init) {
            Ok(chunk) => self.decoder.decode(&chunk).is_ok(),
            Err(_) => false,
        }
    }
}

impl Drop for AudioStream {
    fn drop(&mut self) {
        let _ = self.decoder.close();
    }
}
