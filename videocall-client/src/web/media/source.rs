//! Reading raw frames from a track: with `MediaStreamTrackProcessor` where the browser has it,
//! otherwise from a hidden `<video>` element (one `VideoFrame` per presented frame, through
//! `requestVideoFrameCallback` or a timer) and, for audio, a Web Audio graph that hands out
//! sample blocks as `AudioData`.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

use futures::channel::oneshot;
use js_sys::{Float32Array, Function, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AudioContext, AudioData, AudioDataInit, AudioProcessingEvent, AudioSampleFormat,
    HtmlVideoElement, MediaStream, MediaStreamTrack, MediaStreamTrackProcessor,
    MediaStreamTrackProcessorInit, ReadableStreamDefaultReader, ReadableStreamReadResult,
    ScriptProcessorNode, VideoFrame, VideoFrameInit,
};

use super::MediaError;
use super::capture::has_track_processor;
use crate::web::js;

/// Blocks of audio held for the encoder at most (policy: the oldest is dropped when full; at
/// 2048 samples a block that is ~170 ms).
const AUDIO_BACKLOG: usize = 4;

/// Where frames of one track come from.
pub(crate) enum Source {
    /// `MediaStreamTrackProcessor`'s readable stream.
    Processor(ReadableStreamDefaultReader),
    /// A `<video>` element playing the track.
    Video { element: HtmlVideoElement, interval: Duration },
    /// A script processor node feeding sample blocks.
    Audio(AudioGraph),
}

impl Source {
    /// A video frame source for `track`, delivering about `fps` frames a second when it has to
    /// poll.
    pub(crate) async fn video(track: &MediaStreamTrack, fps: f64) -> Result<Self, MediaError> {
        if has_track_processor() {
            return Ok(Self::Processor(processor(track)?));
        }
        let document = web_sys::window()
            .and_then(|w| w.document())
            .ok_or(MediaError::Unsupported("a document"))?;
        let element: HtmlVideoElement = document
            .create_element("video")
            .map_err(|e| MediaError::Browser(js::describe(&e)))?
            .unchecked_into();
        element.set_muted(true);
        let _ = element.set_attribute("playsinline", "");
        let stream = MediaStream::new().map_err(|e| MediaError::Browser(js::describe(&e)))?;
        stream.add_track(track);
        element.set_src_object(Some(&stream));
        if let Ok(playing) = element.play() {
            let _ = JsFuture::from(playing).await;
        }
        Ok(Self::Video { element, interval: Duration::from_secs_f64(1.0 / fps.max(1.0)) })
    }

    /// An audio source for `track`.
    pub(crate) fn audio(track: &MediaStreamTrack) -> Result<Self, MediaError> {
        if has_track_processor() {
            return Ok(Self::Processor(processor(track)?));
        }
        AudioGraph::new(track).map(Self::Audio)
    }

    /// The next video frame; `None` when the track has ended.
    pub(crate) async fn next_video(&mut self) -> Option<VideoFrame> {
        match self {
            Self::Processor(reader) => read(reader).await.map(JsCast::unchecked_into),
            Self::Video { element, interval } => loop {
                next_presented_frame(element, *interval).await;
                if element.ended() {
                    return None;
                }
                if element.ready_state() < 2 || element.video_width() == 0 {
                    continue; // no picture yet
                }
                let init = VideoFrameInit::new();
                init.set_timestamp_f64(js::monotonic().as_secs_f64() * 1e6);
                match VideoFrame::new_with_html_video_element_and_video_frame_init(element, &init) {
                    Ok(frame) => return Some(frame),
                    Err(_) => continue,
                }
            },
            Self::Audio(_) => None,
        }
    }

    /// The next block of audio; `None` when the track has ended.
    pub(crate) async fn next_audio(&mut self) -> Option<AudioData> {
        match self {
            Self::Processor(reader) => read(reader).await.map(JsCast::unchecked_into),
            Self::Audio(graph) => graph.next().await,
            Self::Video { .. } => None,
        }
    }

    /// Stops reading.
    pub(crate) fn close(&self) {
        match self {
            Self::Processor(reader) => {
                js::ignore_rejection(&reader.cancel());
            }
            Self::Video { element, .. } => element.set_src_object(None),
            Self::Audio(graph) => graph.close(),
        }
    }
}

fn processor(track: &MediaStreamTrack) -> Result<ReadableStreamDefaultReader, MediaError> {
    let init = MediaStreamTrackProcessorInit::new(track);
    let processor =
        MediaStreamTrackProcessor::new(&init).map_err(|e| MediaError::Browser(js::describe(&e)))?;
    processor
        .readable()
        .get_reader()
        .dyn_into()
        .map_err(|_| MediaError::Browser("cannot read the track".into()))
}

/// The next chunk of a reader; `None` at the end or on an error.
async fn read(reader: &ReadableStreamDefaultReader) -> Option<JsValue> {
    let result: ReadableStreamReadResult =
        JsFuture::from(reader.read()).await.ok()?.unchecked_into();
    if result.get_done().unwrap_or(true) { None } else { Some(result.get_value()) }
}

/// Waits for the element's next presented frame (`requestVideoFrameCallback`), or `interval`
/// where the browser lacks it.
async fn next_presented_frame(element: &HtmlVideoElement, interval: Duration) {
    let request = Reflect::get(element, &"requestVideoFrameCallback".into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok());
    let Some(request) = request else { return js::sleep(interval).await };
    let (tx, rx) = oneshot::channel::<()>();
    let callback = Closure::once(move || {
        let _ = tx.send(());
    });
    let Ok(handle) = request.call1(element, callback.as_ref()) else {
        return js::sleep(interval).await;
    };
    // A paused element presents nothing: don't wait forever.
    let timeout = js::sleep(Duration::from_secs(1));
    futures::pin_mut!(timeout);
    if let futures::future::Either::Right(_) = futures::future::select(rx, timeout).await {
        // The request is still pending: cancel it before its callback is freed.
        let cancel = Reflect::get(element, &"cancelVideoFrameCallback".into())
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok());
        if let Some(cancel) = cancel {
            let _ = cancel.call1(element, &handle);
        } else {
            callback.forget(); // cannot cancel: leak one small closure rather than fault
            return;
        }
    }
    drop(callback);
}

/// Microphone samples through Web Audio, for browsers without `MediaStreamTrackProcessor`.
pub(crate) struct AudioGraph {
    context: AudioContext,
    node: ScriptProcessorNode,
    blocks: Rc<RefCell<Blocks>>,
    _on_audio: Closure<dyn FnMut(AudioProcessingEvent)>,
}

#[derive(Default)]
struct Blocks {
    queue: VecDeque<AudioData>,
    waker: Option<std::task::Waker>,
    closed: bool,
}

impl AudioGraph {
    fn new(track: &MediaStreamTrack) -> Result<Self, MediaError> {
        let fail = |e: JsValue| MediaError::Browser(js::describe(&e));
        let context = AudioContext::new().map_err(fail)?;
        let stream = MediaStream::new().map_err(fail)?;
        stream.add_track(track);
        let input = context.create_media_stream_source(&stream).map_err(fail)?;
        let node = context
            .create_script_processor_with_buffer_size_and_number_of_input_channels_and_number_of_output_channels(2048, 1, 1)
            .map_err(fail)?;
        let blocks = Rc::new(RefCell::new(Blocks::default()));
        let sink = blocks.clone();
        let rate = context.sample_rate();
        let on_audio =
            Closure::<dyn FnMut(AudioProcessingEvent)>::new(move |event: AudioProcessingEvent| {
                let Ok(buffer) = event.input_buffer() else { return };
                let Ok(samples) = buffer.get_channel_data(0) else { return };
                let array = Float32Array::from(samples.as_slice());
                let timestamp = js::monotonic().as_secs_f64() * 1e6;

                let init = AudioDataInit::new(
                    &array,
                    AudioSampleFormat::F32Planar,
                    1,
                    samples.len() as u32,
                    rate,
                    0,
                );
                init.set_timestamp_f64(timestamp);
                let Ok(data) = AudioData::new(&init) else { return };
                let mut blocks = sink.borrow_mut();
                if blocks.queue.len() >= AUDIO_BACKLOG
                    && let Some(old) = blocks.queue.pop_front()
                {
                    old.close();
                }
                blocks.queue.push_back(data);
                if let Some(waker) = blocks.waker.take() {
                    waker.wake();
                }
            });
        node.set_onaudioprocess(Some(on_audio.as_ref().unchecked_ref()));
        input.connect_with_audio_node(&node).map_err(fail)?;
        // The node only runs when connected onwards; its output is silence.
        node.connect_with_audio_node(&context.destination()).map_err(fail)?;
        Ok(Self { context, node, blocks, _on_audio: on_audio })
    }

    async fn next(&mut self) -> Option<AudioData> {
        futures::future::poll_fn(|cx| {
            let mut blocks = self.blocks.borrow_mut();
            if let Some(data) = blocks.queue.pop_front() {
                return std::task::Poll::Ready(Some(data));
            }
            if blocks.closed {
                return std::task::Poll::Ready(None);
            }
            blocks.waker = Some(cx.waker().clone());
            std::task::Poll::Pending
        })
        .await
    }

    fn close(&self) {
        self.node.set_onaudioprocess(None);
        let _ = self.node.disconnect();
        let _ = self.context.close();
        let mut blocks = self.blocks.borrow_mut();
        blocks.closed = true;
        for data in blocks.queue.drain(..) {
            data.close();
        }
        if let Some(waker) = blocks.waker.take() {
            waker.wake();
        }
    }
}
