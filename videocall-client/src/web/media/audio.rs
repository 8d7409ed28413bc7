//! Publishing a microphone: blocks of samples from a [`Source`], encoded with WebCodecs'
//! `AudioEncoder` (Opus, 20 ms frames), sent as `MediaPacket`s.
//!
//! Queue policy: at most [`MAX_ENCODE_QUEUE`] blocks wait in the encoder; a newer block that
//! finds it full is dropped and counted (a short gap beats growing delay).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use protobuf::MessageField;
use videocall_types::protos::media_packet::AudioMetadata;
use videocall_types::{MediaPacket, MediaType};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{
    AudioData, AudioEncoder, AudioEncoderConfig, AudioEncoderInit, EncodedAudioChunk,
    MediaStreamTrack,
};

use super::source::Source;
use super::{MediaError, Rate};
use crate::web::{ClientHandle, js};

/// Blocks waiting in the encoder at most.
const MAX_ENCODE_QUEUE: u32 = 8;

/// What an [`AudioSender`] did.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct AudioSenderStats {
    /// Blocks of samples read from the track.
    pub captured: u64,
    /// Blocks dropped because the encoder was behind.
    pub dropped: u64,
    /// Opus packets handed to the client.
    pub sent: u64,
    /// Packets the client refused (not connected, queue full).
    pub refused: u64,
    /// Packets per second, over the last second.
    pub packets_per_second: f64,
    /// kbit/s, over the last second.
    pub kbps: f64,
}

struct State {
    client: ClientHandle,
    bitrate: u32,
    format: Cell<(u32, f32)>,
    sequence: Cell<u64>,
    stats: Cell<AudioSenderStats>,
    rate: RefCell<Rate>,
    stopped: Cell<bool>,
    error: RefCell<Option<String>>,
}

impl State {
    fn update(&self, change: impl FnOnce(&mut AudioSenderStats)) {
        let mut stats = self.stats.get();
        change(&mut stats);
        self.stats.set(stats);
    }
}

/// Publishes one audio track until stopped or dropped.
pub struct AudioSender {
    state: Rc<State>,
}

impl std::fmt::Debug for AudioSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioSender").field("stats", &self.state.stats.get()).finish()
    }
}

impl AudioSender {
    /// Starts publishing `track` through `client` at `bitrate` bit/s.
    pub fn start(
        client: ClientHandle,
        track: &MediaStreamTrack,
        bitrate: u32,
    ) -> Result<Self, MediaError> {
        let state = Rc::new(State {
            client,
            bitrate,
            format: Cell::new((0, 0.0)),
            sequence: Cell::new(0),
            stats: Cell::new(AudioSenderStats::default()),
            rate: RefCell::new(Rate::default()),
            stopped: Cell::new(false),
            error: RefCell::new(None),
        });
        let source = Source::audio(track)?;
        let encoder = Encoder::new(state.clone())?;
        wasm_bindgen_futures::spawn_local(capture(state.clone(), source, encoder));
        Ok(Self { state })
    }

    /// Counters and rates so far.
    pub fn stats(&self) -> AudioSenderStats {
        self.state.stats.get()
    }

    /// The last encoder error, if the sender stopped because of one.
    pub fn error(&self) -> Option<String> {
        self.state.error.borrow().clone()
    }

    /// Stops capturing and encoding.
    pub fn stop(&self) {
        self.state.stopped.set(true);
    }
}

impl Drop for AudioSender {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Encoder {
    encoder: AudioEncoder,
    format: Option<(u32, f32)>,
    _output: Closure<dyn FnMut(EncodedAudioChunk)>,
    _error: Closure<dyn FnMut(wasm_bindgen::JsValue)>,
}

impl Encoder {
    fn new(state: Rc<State>) -> Result<Self, MediaError> {
        let sink = state.clone();
        let output =
            Closure::<dyn FnMut(EncodedAudioChunk)>::new(move |chunk| send_chunk(&sink, &chunk));
        let sink = state;
        let error = Closure::<dyn FnMut(wasm_bindgen::JsValue)>::new(move |e| {
            *sink.error.borrow_mut() = Some(js::describe(&e));
            sink.stopped.set(true);
        });
        let init =
            AudioEncoderInit::new(error.as_ref().unchecked_ref(), output.as_ref().unchecked_ref());
        let encoder =
            AudioEncoder::new(&init).map_err(|e| MediaError::Browser(js::describe(&e)))?;
        Ok(Self { encoder, format: None, _output: output, _error: error })
    }

    fn encode(&mut self, state: &State, data: &AudioData) -> Result<(), MediaError> {
        let format = (data.number_of_channels(), data.sample_rate());
        if self.format != Some(format) {
            // Opus takes the microphone's own rate and channels and resamples inside.
            let config = AudioEncoderConfig::new("opus", format.0, format.1 as u32);
            config.set_bitrate(state.bitrate);
            self.encoder.configure(&config).map_err(|e| MediaError::Browser(js::describe(&e)))?;
            self.format = Some(format);
            state.format.set(format);
        }
        if self.encoder.encode_queue_size() >= MAX_ENCODE_QUEUE {
            state.update(|s| s.dropped += 1);
            return Ok(());
        }
        self.encoder.encode(data).map_err(|e| MediaError::Browser(js::describe(&e)))
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        let _ = self.encoder.close();
    }
}

async fn capture(state: Rc<State>, mut source: Source, mut encoder: Encoder) {
    while !state.stopped.get() {
        let Some(data) = source.next_audio().await else { break };
        state.update(|s| s.captured += 1);
        let result = if state.stopped.get() { Ok(()) } else { encoder.encode(&state, &data) };
        data.close();
        if let Err(error) = result {
            *state.error.borrow_mut() = Some(error.to_string());
            break;
        }
    }
    source.close();
}

fn send_chunk(state: &State, chunk: &EncodedAudioChunk) {
    let mut data = vec![0; chunk.byte_length() as usize];
    if chunk.copy_to_with_u8_slice(&mut data).is_err() {
        return;
    }
    let (channels, sample_rate) = state.format.get();
    let sequence = state.sequence.get();
    state.sequence.set(sequence + 1);
    let duration = chunk.duration().unwrap_or(20_000.0);
    let bytes = data.len();
    let packet = MediaPacket {
        media_type: MediaType::AUDIO.into(),
        data,
        frame_type: "key".into(),
        timestamp: chunk.timestamp(),
        duration,
        audio_metadata: MessageField::some(AudioMetadata {
            audio_format: "opus".into(),
            audio_number_of_channels: channels,
            audio_number_of_frames: (duration * 48_000.0 / 1e6) as u32,
            audio_sample_rate: sample_rate,
            sequence,
            ..Default::default()
        }),
        ..Default::default()
    };
    let sent = state.client.send_media(packet).is_ok();
    let (rate, kbps) = state.rate.borrow_mut().record(js::monotonic(), bytes);
    state.update(|s| {
        if sent {
            s.sent += 1
        } else {
            s.refused += 1
        }
        (s.packets_per_second, s.kbps) = (rate, kbps);
    });
}
