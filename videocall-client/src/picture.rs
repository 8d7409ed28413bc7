//! How large a picture a peer may make this client decode, draw or record, and the size a VP8
//! or VP9 key frame declares, read from its header before anything is decoded or allocated.
//!
//! The size of a decoded picture is chosen by the sender alone. Unchecked, one key frame
//! declaring 16383×16383 makes a decoder allocate ~400 MB, a canvas grow to gigabytes of GPU
//! memory, or a recording's header claim a size no player opens. Receivers check a key frame's
//! declared size before decoding it and every decoded picture before using it, and refuse (and
//! count) anything above [`MAX_SIDE`].

/// Largest width or height accepted from a peer: 4096 covers 4K UHD (3840×2160) and DCI 4K
/// (4096×2160) screen shares, the largest pictures browsers encode in practice, while capping
/// a decoded I420 picture at 24 MiB.
pub const MAX_SIDE: u32 = 4096;

/// Whether a `width`×`height` picture may be decoded and shown (both sides 1..=[`MAX_SIDE`]).
pub fn allowed(width: u32, height: u32) -> bool {
    (1..=MAX_SIDE).contains(&width) && (1..=MAX_SIDE).contains(&height)
}

/// The width and height a VP8 or VP9 key frame declares; `None` when `data` is neither (or is
/// cut short), in which case the decoded picture is checked instead.
pub fn keyframe_size(data: &[u8]) -> Option<(u32, u32)> {
    vp8_size(data).or_else(|| vp9_size(data))
}

/// VP8 (RFC 6386 §9.1): a 3-byte frame tag with the key-frame bit clear, the start code
/// `9d 01 2a`, then 14-bit width and height (little-endian, top two bits are scaling).
fn vp8_size(data: &[u8]) -> Option<(u32, u32)> {
    match data {
        [tag, _, _, 0x9d, 0x01, 0x2a, w0, w1, h0, h1, ..] if tag & 1 == 0 => {
            let side = |lo: u8, hi: u8| u32::from(u16::from_le_bytes([lo, hi]) & 0x3fff);
            Some((side(*w0, *w1), side(*h0, *h1)))
        }
        _ => None,
    }
}

/// VP9 (bitstream spec §6.2): the uncompressed header of a key frame, up to `frame_size()`.
fn vp9_size(data: &[u8]) -> Option<(u32, u32)> {
    let mut bits = Bits { data, at: 0 };
    if bits.read(2)? != 0b10 {
        return None;
    }
    let low = bits.read(1)?;
    let profile = (bits.read(1)? << 1) | low;
    if profile == 3 {
        bits.read(1)?; // reserved_zero
    }
    let show_existing = bits.read(1)?;
    let non_key = bits.read(1)?;
    if show_existing == 1 || non_key == 1 {
        return None;
    }
    bits.read(2)?; // show_frame, error_resilient_mode
    if bits.read(24)? != 0x49_83_42 {
        return None;
    }
    skip_color_config(&mut bits, profile)?;
    let width = bits.read(16)? + 1;
    let height = bits.read(16)? + 1;
    Some((width, height))
}

/// Skips VP9's `color_config()` (spec §6.2.2), whose length depends on the profile.
fn skip_color_config(bits: &mut Bits<'_>, profile: u32) -> Option<()> {
    const CS_RGB: u32 = 7;
    if profile >= 2 {
        bits.read(1)?; // ten_or_twelve_bit
    }
    let color_space = bits.read(3)?;
    let odd_profile = profile == 1 || profile == 3;
    if color_space != CS_RGB {
        bits.read(1)?; // color_range
        if odd_profile {
            bits.read(3)?; // subsampling_x, subsampling_y, reserved_zero
        }
    } else if odd_profile {
        bits.read(1)?; // reserved_zero
    }
    Some(())
}

/// A most-significant-bit-first reader over a byte slice.
struct Bits<'a> {
    data: &'a [u8],
    at: usize,
}

impl Bits<'_> {
    /// The next `n` (at most 32) bits as a number; `None` past the end.
    fn read(&mut self, n: u32) -> Option<u32> {
        let mut value = 0u32;
        for _ in 0..n {
            let byte = self.data.get(self.at / 8)?;
            let bit = (byte >> (7 - self.at % 8)) & 1;
            value = (value << 1) | u32::from(bit);
            self.at += 1;
        }
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn vp8_key(width: u16, height: u16) -> Vec<u8> {
        let mut data = vec![0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a];
        data.extend_from_slice(&width.to_le_bytes());
        data.extend_from_slice(&height.to_le_bytes());
        data.extend_from_slice(&[0; 8]);
        data
    }

    /// A profile-0 VP9 key frame header (8-bit, BT.601, studio range) declaring a size.
    fn vp9_key(width: u32, height: u32) -> Vec<u8> {
        // 10 0 0 0 0 1 0: marker, profile 0, not show-existing, key frame, shown, not resilient.
        let mut bits: Vec<u8> = vec![1, 0, 0, 0, 0, 0, 1, 0];
        let mut push = |value: u32, n: u32| {
            bits.extend((0..n).rev().map(|i| ((value >> i) & 1) as u8));
        };
        push(0x49_83_42, 24);
        push(1, 3); // color_space BT.601
        push(0, 1); // color_range
        push(width - 1, 16);
        push(height - 1, 16);
        bits.resize(bits.len().div_ceil(8) * 8, 0);
        bits.chunks(8).map(|c| c.iter().fold(0, |byte, bit| (byte << 1) | bit)).collect()
    }

    #[test]
    fn a_vp8_key_frame_declares_its_size() {
        assert_eq!(keyframe_size(&vp8_key(640, 480)), Some((640, 480)));
        assert_eq!(keyframe_size(&vp8_key(16383 | 0xc000, 16383)), Some((16383, 16383)));
    }

    #[test]
    fn a_vp9_key_frame_declares_its_size() {
        assert_eq!(keyframe_size(&vp9_key(1280, 720)), Some((1280, 720)));
        assert_eq!(keyframe_size(&vp9_key(65536, 8)), Some((65536, 8)));
    }

    #[test]
    fn truncated_and_foreign_bytes_declare_nothing() {
        assert_eq!(keyframe_size(&[]), None);
        assert_eq!(keyframe_size(&vp8_key(640, 480)[..8]), None);
        assert_eq!(keyframe_size(&vp9_key(1280, 720)[..6]), None);
        assert_eq!(keyframe_size(&[0xff; 32]), None);
    }

    #[test]
    fn pictures_above_4096_or_empty_are_not_allowed() {
        assert!(allowed(4096, 2160) && allowed(1, 1));
        assert!(!allowed(4097, 480) && !allowed(640, 4097) && !allowed(0, 480));
        assert!(!allowed(u32::MAX, u32::MAX));
    }
}
