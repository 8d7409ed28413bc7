//! The recorder on packets made by the real encoders: files, gaps, concealment, leavers.

use std::time::Duration;

use protobuf::{Message, MessageField};
use videocall_client::{PeerInfo, PeerKey};
use videocall_types::protos::media_packet::{AudioMetadata, VideoMetadata};
use videocall_types::{MediaPacket, MediaType, PacketType, PacketWrapper, SessionId};

use super::recorder::Recorder;
use crate::audio::opus;
use crate::container::{ivf, ogg_opus};
use crate::video::frame::{I420, Size};
use crate::video::pattern;
use crate::vpx::{Codec, Decoder, Encoder, EncoderConfig};

fn wrap(media: &MediaPacket) -> PacketWrapper {
    PacketWrapper {
        packet_type: PacketType::MEDIA.into(),
        email: "alice".into(),
        data: media.write_to_bytes().unwrap(),
        ..Default::default()
    }
}

fn peer() -> PeerKey {
    PeerKey::Session(SessionId::new(7).unwrap())
}

/// `count` VP8 frames of 160x120, with key frames at `keys` (and frame 0).
fn video(count: u64, keys: &[u64]) -> Vec<MediaPacket> {
    let size = Size::new(160, 120).unwrap();
    let config = EncoderConfig {
        codec: Codec::Vp8,
        size,
        fps: 25,
        bitrate_kbps: 200,
        keyframe_interval: 1000,
        threads: 1,
        cpu_used: None,
    };
    let mut encoder = Encoder::new(config).unwrap();
    (0..count)
        .map(|i| {
            let mut frame = I420::black(size);
            pattern::draw(&mut frame, i);
            let pts = Duration::from_millis(i * 40);
            let packet = encoder.encode(&frame, pts, keys.contains(&i)).unwrap().remove(0);
            MediaPacket {
                media_type: MediaType::VIDEO.into(),
                frame_type: if packet.keyframe { "key" } else { "delta" }.into(),
                data: packet.data,
                timestamp: 1e15 + (i * 40_000) as f64,
                video_metadata: MessageField::some(VideoMetadata {
                    sequence: i,
                    ..Default::default()
                }),
                ..Default::default()
            }
        })
        .collect()
}

fn audio(sequences: &[u64]) -> Vec<MediaPacket> {
    let mut encoder = opus::Encoder::new(32_000).unwrap();
    let mut tone = pattern::Tone::default();
    sequences
        .iter()
        .map(|&sequence| {
            let mut frame = [0i16; opus::FRAME_SAMPLES];
            tone.fill(&mut frame);
            MediaPacket {
                media_type: MediaType::AUDIO.into(),
                data: encoder.encode(&frame).unwrap(),
                audio_metadata: MessageField::some(AudioMetadata {
                    sequence,
                    ..Default::default()
                }),
                ..Default::default()
            }
        })
        .collect()
}

fn now() -> f64 {
    1e15 + 5_000.0
}

#[test]
fn a_participant_is_written_to_a_playable_ivf_and_ogg_opus_pair() {
    let dir = tempdir();
    let mut recorder = Recorder::new(&dir);
    for media in video(10, &[]).iter().chain(&audio(&[0, 1, 2, 3, 4])) {
        recorder.on_packet(&peer(), &wrap(media), now).unwrap();
    }
    let finished = recorder.finish().unwrap();
    assert_eq!(finished.len(), 1);
    let video_stats = finished[0].video.clone().unwrap();
    assert_eq!((video_stats.written, video_stats.decoded, video_stats.gaps), (10, 10, 0));
    assert_eq!(video_stats.duration_ms, 360);

    let (header, frames) =
        ivf::read(std::fs::File::open(dir.join("alice-s7.ivf")).unwrap()).unwrap();
    assert_eq!(
        (header.codec, header.width, header.height, header.frames),
        (Codec::Vp8, 160, 120, 10)
    );
    let mut decoder = Decoder::new(Codec::Vp8, 1).unwrap();
    for frame in &frames {
        assert_eq!(decoder.decode(&frame.data).unwrap()[0].size(), Size::new(160, 120).unwrap());
    }
    let ogg = ogg_opus::read(std::fs::File::open(dir.join("alice-s7.opus")).unwrap()).unwrap();
    assert_eq!((ogg.packets.len(), ogg.final_granule, ogg.ended), (5, 5 * 960, true));
    assert!(summary_mentions(&finished, "video_frames=10"));
}

#[test]
fn after_a_lost_frame_writing_waits_for_the_next_key_frame() {
    let dir = tempdir();
    let mut recorder = Recorder::new(&dir);
    let packets = video(12, &[8]);
    for (i, media) in packets.iter().enumerate() {
        if i != 4 {
            recorder.on_packet(&peer(), &wrap(media), now).unwrap();
        }
    }
    let stats = recorder.finish().unwrap()[0].video.clone().unwrap();
    // 0-3 written, 4 lost, 5-7 skipped (no key frame), 8-11 written.
    assert_eq!((stats.written, stats.skipped, stats.gaps, stats.decode_errors), (8, 3, 1, 0));
    let (_, frames) = ivf::read(std::fs::File::open(dir.join("alice-s7.ivf")).unwrap()).unwrap();
    let mut decoder = Decoder::new(Codec::Vp8, 1).unwrap();
    assert!(frames.iter().all(|f| decoder.decode(&f.data).is_ok()));
}

#[test]
fn lost_audio_is_filled_so_the_track_keeps_time() {
    let dir = tempdir();
    let mut recorder = Recorder::new(&dir);
    for media in audio(&[0, 1, 5, 6, 6]) {
        recorder.on_packet(&peer(), &wrap(&media), now).unwrap();
    }
    let stats = recorder.finish().unwrap()[0].audio.clone().unwrap();
    assert_eq!((stats.written, stats.concealed, stats.gaps, stats.stale), (4, 3, 1, 1));
    let ogg = ogg_opus::read(std::fs::File::open(dir.join("alice-s7.opus")).unwrap()).unwrap();
    assert_eq!((ogg.packets.len(), ogg.final_granule), (7, 7 * 960));
    let mut decoder = opus::Decoder::new().unwrap();
    for packet in &ogg.packets {
        assert_eq!(decoder.decode(packet).unwrap().len(), 960, "fillers decode as 20 ms too");
    }
}

#[test]
fn unreadable_payloads_are_counted_and_leavers_are_closed_at_once() {
    let dir = tempdir();
    let mut recorder = Recorder::new(&dir);
    let junk = PacketWrapper {
        packet_type: PacketType::MEDIA.into(),
        data: vec![0xff, 0xff, 0xff],
        ..Default::default()
    };
    recorder.on_packet(&peer(), &junk, now).unwrap();
    assert_eq!(recorder.unreadable, 1);
    for media in audio(&[0, 1]) {
        recorder.on_packet(&peer(), &wrap(&media), now).unwrap();
    }
    recorder.on_left(&PeerInfo::anonymous(peer(), "alice")).unwrap();
    assert_eq!(recorder.live(), 0);
    // A straggler from the peer that left must not reopen (and truncate) its file.
    recorder.on_packet(&peer(), &wrap(&audio(&[2])[0]), now).unwrap();
    assert_eq!((recorder.live(), recorder.after_leaving), (0, 1));
    let ogg = ogg_opus::read(std::fs::File::open(dir.join("alice-s7.opus")).unwrap()).unwrap();
    assert!(ogg.ended, "the file is complete as soon as the peer leaves");
}

#[test]
fn a_key_frame_declaring_a_huge_picture_is_refused_before_decoding() {
    let dir = tempdir();
    let mut recorder = Recorder::new(&dir);
    let mut packets = video(6, &[3]);
    // The first key frame claims 16000x16000 (VP8 stores 14-bit sides after the start code).
    packets[0].data[6..10].copy_from_slice(&[0x80, 0x3e, 0x80, 0x3e]);
    for media in &packets {
        recorder.on_packet(&peer(), &wrap(media), now).unwrap();
    }
    let stats = recorder.finish().unwrap()[0].video.clone().unwrap();
    assert_eq!((stats.oversized, stats.decode_errors, stats.skipped), (1, 0, 2));
    assert_eq!(stats.written, 3, "the stream resumes at the next key frame of a sane size");
    let (header, _) = ivf::read(std::fs::File::open(dir.join("alice-s7.ivf")).unwrap()).unwrap();
    assert_eq!((header.width, header.height), (160, 120));
}

#[test]
fn key_frames_from_libvpx_declare_the_size_they_decode_to() {
    for codec in [Codec::Vp8, Codec::Vp9] {
        let size = Size::new(320, 180).unwrap();
        let config = EncoderConfig {
            codec,
            size,
            fps: 25,
            bitrate_kbps: 200,
            keyframe_interval: 1000,
            threads: 1,
            cpu_used: None,
        };
        let mut encoder = Encoder::new(config).unwrap();
        let key = encoder.encode(&I420::black(size), Duration::ZERO, true).unwrap().remove(0);
        let declared = videocall_client::picture::keyframe_size(&key.data);
        assert_eq!(declared, Some((320, 180)), "{codec}");
    }
}

#[test]
fn hostile_timestamps_and_sequence_numbers_do_not_break_a_video_track() {
    let dir = tempdir();
    let mut recorder = Recorder::new(&dir);
    let timestamps = [0.0, f64::MAX, f64::NAN, -1e300, f64::INFINITY, 1.0];
    let sequences = [0, 1, 2, 3, u64::MAX, u64::MAX];
    for ((mut media, ts), seq) in video(6, &[]).into_iter().zip(timestamps).zip(sequences) {
        media.timestamp = ts;
        media.video_metadata.mut_or_insert_default().sequence = seq;
        recorder.on_packet(&peer(), &wrap(&media), now).unwrap();
    }
    let stats = recorder.finish().unwrap()[0].video.clone().unwrap();
    assert_eq!((stats.written, stats.late, stats.gaps), (4, 1, 1));
    let (_, frames) = ivf::read(std::fs::File::open(dir.join("alice-s7.ivf")).unwrap()).unwrap();
    assert!(frames.windows(2).all(|w| w[0].pts <= w[1].pts), "pts never go backwards");
}

#[test]
fn an_audio_sender_jumping_its_numbers_gets_bounded_filling() {
    let dir = tempdir();
    let mut recorder = Recorder::new(&dir);
    let mut sequences: Vec<u64> = (0..100).map(|i| i * 1000).collect();
    sequences.extend([1 << 60, u64::MAX - 1, u64::MAX]);
    for media in audio(&sequences) {
        recorder.on_packet(&peer(), &wrap(&media), now).unwrap();
    }
    let stats = recorder.finish().unwrap()[0].audio.clone().unwrap();
    assert_eq!(stats.written, 103);
    // 250 for the first gap, then one per packet written since: not 250 per packet.
    assert!(stats.concealed <= 250 + 103, "{} fillers", stats.concealed);
    assert!(stats.unfilled > 1 << 59);
}

fn summary_mentions(finished: &[super::recorder::Finished], text: &str) -> bool {
    super::recorder::summary_lines(finished).contains(text)
}

/// A fresh directory under the system temp dir, unique per test and run, removed on drop.
struct TempDir(std::path::PathBuf);

impl std::ops::Deref for TempDir {
    type Target = std::path::Path;

    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempdir() -> TempDir {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "videocall-cli-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}
