//! The video half of `stream`: a capture thread (camera or test pattern) feeding the encoder
//! thread through a newest-wins mailbox, and the encoder thread sending to the client.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use protobuf::MessageField;
use videocall_types::MediaPacket;
use videocall_types::MediaType;
use videocall_types::protos::media_packet::VideoMetadata;

use super::counters::Counters;
use super::slot::Latest;
use super::{Shared, StreamError, spawn_worker, wall_clock_us};
use crate::camera::Capture;
use crate::pacing::Pacer;
use crate::video::convert::PixelFormat;
use crate::video::frame::I420;
use crate::video::pattern;
use crate::vpx::{EncodedFrame, Encoder, EncoderConfig};

/// Where pictures come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoSource {
    /// The synthetic moving picture.
    Pattern,
    /// A camera by index, in a pixel format.
    Camera {
        /// The camera's index.
        index: u32,
        /// The format asked of it.
        format: PixelFormat,
    },
}

/// One picture on its way to the encoder.
#[derive(Debug)]
struct Captured {
    frame: I420,
    at: Instant,
    wall_us: f64,
}

/// Starts the capture and encoder threads; fails when the camera or the encoder cannot be
/// set up. The threads stop when `shared.stop` is set.
pub(super) fn start(
    source: VideoSource,
    config: EncoderConfig,
    shared: &Shared,
) -> Result<Vec<std::thread::JoinHandle<()>>, StreamError> {
    // Queue policy: one picture; a new picture replaces one the encoder has not taken yet
    // (newest wins) and the replaced one is counted in `capture_dropped`.
    let slot = Arc::new(Latest::<Captured>::default());
    let encoder = {
        let (slot, shared) = (slot.clone(), shared.clone());
        spawn_worker(
            "encoder",
            move || Encoder::new(config).map_err(StreamError::from),
            move |e| encode_loop(e, &slot, &shared),
        )?
    };
    let capture = {
        let shared = shared.clone();
        let slot_for_close = slot.clone();
        let result = match source {
            VideoSource::Pattern => {
                spawn_worker("pattern", || Ok(()), move |()| pattern_loop(config, &slot, &shared))
            }
            VideoSource::Camera { index, format } => spawn_worker(
                "camera",
                move || {
                    Capture::open(index, config.size, config.fps, format).map_err(StreamError::from)
                },
                move |capture| camera_loop(capture, config, &slot, &shared),
            ),
        };
        if result.is_err() {
            slot_for_close.close();
        }
        result?
    };
    Ok(vec![capture, encoder])
}

fn deliver(slot: &Latest<Captured>, counters: &Counters, frame: I420) {
    Counters::bump(&counters.captured);
    let captured = Captured { frame, at: Instant::now(), wall_us: wall_clock_us() };
    if slot.put(captured) {
        Counters::bump(&counters.capture_dropped);
    }
}

fn pattern_loop(config: EncoderConfig, slot: &Latest<Captured>, shared: &Shared) {
    let mut pacer = Pacer::per_second(Instant::now(), config.fps);
    while !shared.stop.load(Ordering::Acquire) {
        let tick = pacer.next(Instant::now());
        std::thread::sleep(tick.due.saturating_duration_since(Instant::now()));
        let mut frame = I420::black(config.size);
        pattern::draw(&mut frame, tick.index);
        deliver(slot, &shared.counters, frame);
    }
    slot.close();
}

/// Consecutive camera failures after which capture gives up.
const CAMERA_GIVE_UP: u32 = 30;

fn camera_loop(
    mut capture: Capture,
    config: EncoderConfig,
    slot: &Latest<Captured>,
    shared: &Shared,
) {
    let mut failures = 0;
    while !shared.stop.load(Ordering::Acquire) {
        let mut frame = I420::black(config.size);
        match capture.next(&mut frame) {
            Ok(()) => {
                failures = 0;
                deliver(slot, &shared.counters, frame);
            }
            Err(e) => {
                failures += 1;
                tracing::warn!(error = %e, failures, "camera frame failed");
                if failures >= CAMERA_GIVE_UP {
                    tracing::error!("the camera stopped delivering pictures");
                    shared.failed.store(true, Ordering::Release);
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
    slot.close();
}

fn encode_loop(mut encoder: Encoder, slot: &Latest<Captured>, shared: &Shared) {
    let counters = &shared.counters;
    let mut sequence = 0u64;
    let mut last_pts = None::<Duration>;
    while let Ok(next) = slot.take(Duration::from_millis(200)) {
        let Some(captured) = next else { continue };
        if !shared.handle.is_connected() {
            // Nothing to send to: skip the work, and start with a key frame once connected.
            Counters::bump(&counters.offline_skipped);
            shared.force_keyframe.store(true, Ordering::Release);
            continue;
        }
        let forced = shared.force_keyframe.swap(false, Ordering::AcqRel);
        // libvpx wants increasing timestamps: at least 1 ms apart.
        let mut pts = captured.at.saturating_duration_since(shared.start);
        if let Some(last) = last_pts {
            pts = pts.max(last + Duration::from_millis(1));
        }
        last_pts = Some(pts);
        let packets = match encoder.encode(&captured.frame, pts, forced) {
            Ok(packets) => packets,
            Err(e) => {
                Counters::bump(&counters.encode_errors);
                tracing::warn!(error = %e, "encode failed");
                continue;
            }
        };
        for packet in packets {
            Counters::bump(&counters.encoded);
            if packet.keyframe {
                Counters::bump(&counters.keyframes);
                if forced {
                    Counters::bump(&counters.forced_keyframes);
                }
            }
            let len = packet.data.len() as u64;
            let media = media_packet(packet, captured.wall_us, sequence, encoder.config().fps);
            sequence += 1;
            match shared.handle.send_media(media) {
                Ok(()) => {
                    Counters::bump(&counters.video_sent);
                    counters.video_bytes.fetch_add(len, Ordering::Relaxed);
                }
                Err(e) => {
                    // Receivers miss a reference frame: the next frame is a key frame.
                    Counters::bump(&counters.send_failed);
                    shared.force_keyframe.store(true, Ordering::Release);
                    tracing::debug!(error = %e, "video frame not sent");
                }
            }
        }
    }
}

/// The `MediaPacket` for one encoded frame captured at `wall_us` (µs since the epoch).
fn media_packet(frame: EncodedFrame, wall_us: f64, sequence: u64, fps: u32) -> MediaPacket {
    MediaPacket {
        media_type: MediaType::VIDEO.into(),
        frame_type: if frame.keyframe { "key" } else { "delta" }.to_owned(),
        data: frame.data,
        timestamp: wall_us,
        duration: 1e6 / f64::from(fps.max(1)),
        video_metadata: MessageField::some(VideoMetadata { sequence, ..Default::default() }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn video_packets_carry_kind_key_flag_time_and_sequence() {
        let frame = EncodedFrame { data: vec![1, 2], keyframe: true, pts_ms: 0 };
        let packet = media_packet(frame, 1.5e15, 7, 25);
        assert_eq!(packet.media_type.enum_value(), Ok(MediaType::VIDEO));
        assert_eq!(packet.frame_type, "key");
        assert_eq!((packet.timestamp, packet.duration), (1.5e15, 40_000.0));
        assert_eq!(packet.video_metadata.sequence, 7);
        assert_eq!(packet.data, [1, 2]);
    }
}
