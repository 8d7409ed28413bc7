//! Encoder against decoder: no lag, forced and periodic key frames, round trips.

use std::time::Duration;

use super::*;
use crate::video::frame::{I420, Size};
use crate::video::pattern;

fn config(codec: Codec) -> EncoderConfig {
    EncoderConfig {
        codec,
        size: Size::new(320, 240).unwrap(),
        fps: 30,
        bitrate_kbps: 300,
        keyframe_interval: 1000,
        threads: 1,
        cpu_used: None,
    }
}

fn frame(index: u64) -> I420 {
    let mut f = I420::black(Size::new(320, 240).unwrap());
    pattern::draw(&mut f, index);
    f
}

fn pts(index: u64) -> Duration {
    Duration::from_millis(index * 33)
}

#[test]
fn every_frame_in_gives_one_packet_out_at_once() {
    for codec in [Codec::Vp8, Codec::Vp9] {
        let mut encoder = Encoder::new(config(codec)).unwrap();
        for i in 0..40 {
            let packets = encoder.encode(&frame(i), pts(i), false).unwrap();
            assert_eq!(packets.len(), 1, "{codec}: frame {i} gave {} packets", packets.len());
            assert_eq!(packets[0].pts_ms, (i * 33) as i64);
            assert_eq!(packets[0].keyframe, i == 0, "{codec}: only the first is a key frame");
            assert!(!packets[0].data.is_empty());
        }
    }
}

#[test]
fn a_forced_key_frame_is_the_very_next_frame() {
    for codec in [Codec::Vp8, Codec::Vp9] {
        let mut encoder = Encoder::new(config(codec)).unwrap();
        for i in 0..5 {
            encoder.encode(&frame(i), pts(i), false).unwrap();
        }
        let forced = encoder.encode(&frame(5), pts(5), true).unwrap();
        assert!(forced[0].keyframe, "{codec}");
        let after = encoder.encode(&frame(6), pts(6), false).unwrap();
        assert!(!after[0].keyframe, "{codec}");
    }
}

#[test]
fn the_keyframe_interval_bounds_the_distance_between_key_frames() {
    let mut encoder =
        Encoder::new(EncoderConfig { keyframe_interval: 10, ..config(Codec::Vp8) }).unwrap();
    let keys: Vec<u64> = (0..25)
        .filter(|&i| encoder.encode(&frame(i), pts(i), false).unwrap()[0].keyframe)
        .collect();
    assert_eq!(keys, [0, 10, 20]);
}

#[test]
fn decoding_gives_back_the_size_and_roughly_the_picture() {
    for codec in [Codec::Vp8, Codec::Vp9] {
        let mut encoder = Encoder::new(config(codec)).unwrap();
        let mut decoder = Decoder::new(codec, 1).unwrap();
        for i in 0..10 {
            let packet = encoder.encode(&frame(i), pts(i), false).unwrap().remove(0);
            if i == 0 {
                assert_eq!(Codec::sniff_keyframe(&packet.data), Some(codec));
            }
            let pictures = decoder.decode(&packet.data).unwrap();
            assert_eq!(pictures.len(), 1);
            let original = frame(i);
            assert_eq!(pictures[0].size(), original.size());
            let error: u64 = pictures[0]
                .y()
                .iter()
                .zip(original.y())
                .map(|(a, b)| u64::from(a.abs_diff(*b)))
                .sum();
            let mean = error as f64 / original.y().len() as f64;
            assert!(mean < 6.0, "{codec} frame {i}: mean luma error {mean}");
        }
    }
}

#[test]
fn garbage_is_a_decode_error_and_a_wrong_size_an_encode_error() {
    let mut decoder = Decoder::new(Codec::Vp9, 1).unwrap();
    assert!(decoder.decode(&[0xff; 50]).is_err());
    let mut encoder = Encoder::new(config(Codec::Vp8)).unwrap();
    let wrong = I420::black(Size::new(64, 64).unwrap());
    assert!(matches!(encoder.encode(&wrong, pts(0), false), Err(VpxError::Format(_))));
    assert!(Encoder::new(EncoderConfig { bitrate_kbps: 0, ..config(Codec::Vp8) }).is_err());
}
