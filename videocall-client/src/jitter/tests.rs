use super::*;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const MS: Duration = Duration::from_millis(1);

fn frame(sequence: u64, key: bool) -> Frame {
    Frame { sequence, key, timestamp_us: sequence as f64 * 33_333.0, data: vec![sequence as u8] }
}

/// Pushes frames (sequence, key) at `now` and returns the sequences handed out and whether a
/// key frame was requested.
fn push_all(buffer: &mut JitterBuffer, frames: &[(u64, bool)], now: Duration) -> (Vec<u64>, bool) {
    let mut out = Vec::new();
    for &(sequence, key) in frames {
        buffer.push(frame(sequence, key), now, &mut out);
    }
    decoded(out)
}

fn decoded(out: Vec<Output>) -> (Vec<u64>, bool) {
    let mut sequences = Vec::new();
    let mut requested = false;
    for output in out {
        match output {
            Output::Decode(frame) => sequences.push(frame.sequence),
            Output::RequestKeyframe => requested = true,
        }
    }
    (sequences, requested)
}

#[test]
fn in_order_frames_pass_straight_through() {
    let mut buffer = JitterBuffer::new(JitterConfig::default());
    let (out, requested) = push_all(&mut buffer, &[(0, true), (1, false), (2, false)], MS);
    assert_eq!(out, [0, 1, 2]);
    assert!(!requested);
    assert_eq!(buffer.stats().decoded, 3);
    assert!(buffer.is_empty());
}

#[test]
fn deltas_before_the_first_key_frame_are_discarded_and_one_is_requested() {
    let mut buffer = JitterBuffer::new(JitterConfig::default());
    let (out, requested) = push_all(&mut buffer, &[(5, false), (6, false)], MS);
    assert!(out.is_empty());
    assert!(requested);
    let (out, _) = push_all(&mut buffer, &[(7, true), (8, false)], 2 * MS);
    assert_eq!(out, [7, 8]);
    let stats = buffer.stats();
    assert_eq!((stats.discarded, stats.keyframe_requests, stats.lost), (2, 1, 0));
}

#[test]
fn reordered_frames_come_out_in_order() {
    let mut buffer = JitterBuffer::new(JitterConfig::default());
    let (out, _) = push_all(&mut buffer, &[(0, true), (2, false), (3, false)], MS);
    assert_eq!(out, [0], "2 and 3 wait for 1");
    assert_eq!(buffer.poll_timeout(), Some(MS + JitterConfig::default().reorder_wait));
    let (out, requested) = push_all(&mut buffer, &[(1, false)], 10 * MS);
    assert_eq!(out, [1, 2, 3]);
    assert!(!requested);
    assert_eq!(buffer.stats().lost, 0);
}

#[test]
fn a_lost_frame_skips_to_the_next_key_frame_and_asks_for_one() {
    let config = JitterConfig::default();
    let mut buffer = JitterBuffer::new(config);
    push_all(&mut buffer, &[(0, true), (2, false), (3, false)], MS);
    let mut out = Vec::new();
    buffer.handle_timeout(MS + config.reorder_wait, &mut out);
    let (sequences, requested) = decoded(out);
    assert!(sequences.is_empty(), "deltas after a gap are useless");
    assert!(requested);
    assert_eq!(buffer.stats().lost, 1);
    assert_eq!(buffer.stats().discarded, 2);

    let (out, _) = push_all(&mut buffer, &[(4, false), (5, true), (6, false)], 200 * MS);
    assert_eq!(out, [5, 6]);
}

#[test]
fn a_key_frame_after_a_gap_is_decoded_at_once() {
    let mut buffer = JitterBuffer::new(JitterConfig::default());
    let (out, requested) = push_all(&mut buffer, &[(0, true), (1, false), (4, true)], MS);
    assert_eq!(out, [0, 1, 4]);
    assert!(!requested);
    assert_eq!(buffer.stats().lost, 2);
}

#[test]
fn late_and_duplicate_frames_are_dropped() {
    let mut buffer = JitterBuffer::new(JitterConfig::default());
    push_all(&mut buffer, &[(0, true), (1, false), (2, false)], MS);
    let (out, _) = push_all(&mut buffer, &[(1, false), (2, false)], 2 * MS);
    assert!(out.is_empty());
    assert_eq!(buffer.stats().late, 2);
}

#[test]
fn key_frame_requests_are_rate_limited() {
    let config = JitterConfig::default();
    let mut buffer = JitterBuffer::new(config);
    for i in 0..10 {
        push_all(&mut buffer, &[(i, false)], MS * i as u32);
    }
    assert_eq!(buffer.stats().keyframe_requests, 1);
    push_all(&mut buffer, &[(10, false)], config.keyframe_retry + MS * 10);
    assert_eq!(buffer.stats().keyframe_requests, 2);
}

#[test]
fn a_full_buffer_jumps_to_its_newest_key_frame() {
    let config = JitterConfig { capacity: 4, ..JitterConfig::default() };
    let mut buffer = JitterBuffer::new(config);
    push_all(&mut buffer, &[(0, true)], MS);
    // 1 is lost; 2..=5 wait for it, 5 is a key frame; the sixth frame overflows.
    let (out, _) = push_all(&mut buffer, &[(2, false), (3, false), (4, false), (6, false)], MS);
    assert!(out.is_empty());
    let (out, _) = push_all(&mut buffer, &[(5, true)], MS);
    assert_eq!(out, [5, 6]);
    assert!(buffer.len() <= config.capacity);
    assert_eq!(buffer.stats().lost, 1);
}

#[test]
fn a_sender_restart_is_followed() {
    let mut buffer = JitterBuffer::new(JitterConfig::default());
    push_all(&mut buffer, &[(1000, true), (1001, false)], MS);
    let (out, _) = push_all(&mut buffer, &[(0, true), (1, false)], 2 * MS);
    assert_eq!(out, [0, 1]);
}

#[test]
fn the_buffer_never_holds_more_than_its_capacity() {
    let config = JitterConfig { capacity: 8, ..JitterConfig::default() };
    let mut buffer = JitterBuffer::new(config);
    push_all(&mut buffer, &[(0, true)], MS);
    let mut out = Vec::new();
    for sequence in 2..200 {
        buffer.push(frame(sequence, sequence % 50 == 0), MS, &mut out);
        assert!(buffer.len() <= config.capacity);
    }
}

#[test]
fn codecs_are_told_apart_by_their_key_frames() {
    // VP8: frame tag (key frame bit clear), start code, 320x240.
    let vp8 = [0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00];
    assert_eq!(VideoCodec::sniff(&vp8), Some(VideoCodec::Vp8));
    // VP9 profile 0 key frame: marker 0b10, then the sync code.
    let vp9 = [0x82, 0x49, 0x83, 0x42, 0x00, 0x13, 0xf0];
    assert_eq!(VideoCodec::sniff(&vp9), Some(VideoCodec::Vp9));
    assert_eq!(VideoCodec::sniff(&[]), None);
    assert_eq!(VideoCodec::sniff(&[0x82, 0x49]), None);
    assert_eq!(VideoCodec::sniff(&[0u8; 16]), None);
}

#[test]
fn hostile_sequence_numbers_at_the_ends_of_the_range_do_not_overflow() {
    let mut buffer = JitterBuffer::new(JitterConfig::default());
    let (out, _) = push_all(&mut buffer, &[(0, true), (u64::MAX, true)], MS);
    assert_eq!(out, [0, u64::MAX]);
    // A key frame far behind restarts the stream; another huge gap saturates the loss count.
    let (out, _) = push_all(&mut buffer, &[(3, true), (u64::MAX - 1, true)], 2 * MS);
    assert_eq!(out, [3, u64::MAX - 1]);
    assert_eq!(buffer.stats().lost, u64::MAX);
}

#[test]
fn a_jump_of_two_to_the_sixty_is_one_gap_handled_without_a_loop() {
    let mut buffer = JitterBuffer::new(JitterConfig::default());
    push_all(&mut buffer, &[(0, true), (1, false)], MS);
    let (out, _) = push_all(&mut buffer, &[(1 << 60, false)], MS);
    assert!(out.is_empty(), "a gap is waited for first");
    let mut out = Vec::new();
    buffer.handle_timeout(MS + JitterConfig::default().reorder_wait, &mut out);
    assert_eq!(decoded(out), (vec![], true), "the delta is discarded, a key frame asked for");
    assert_eq!(buffer.stats().lost, (1 << 60) - 2);
    assert!(buffer.is_empty());
    let (out, _) = push_all(&mut buffer, &[((1 << 60) + 1, true)], 100 * MS);
    assert_eq!(out, [(1 << 60) + 1], "the stream goes on from the next key frame");
}
