//! Camera pixel formats (NV12, YUYV) to I420.
//!
//! NV12 already is 4:2:0: its interleaved UV plane is split. YUYV is 4:2:2: each chroma sample
//! of the output is the rounded mean of the two rows it covers.

use super::frame::{FrameError, I420, Size};

/// A camera pixel format this crate converts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
#[value(rename_all = "UPPER")]
pub enum PixelFormat {
    /// Y plane, then one plane of interleaved U,V at quarter resolution.
    Nv12,
    /// Packed 4:2:2: `Y0 U Y1 V` for each pair of pixels.
    Yuyv,
}

impl PixelFormat {
    /// Bytes of one picture of `size` in this format.
    pub fn frame_len(self, size: Size) -> usize {
        match self {
            Self::Nv12 => size.i420_len(),
            Self::Yuyv => size.pixels() * 2,
        }
    }

    /// The format's name, as cameras report it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Nv12 => "NV12",
            Self::Yuyv => "YUYV",
        }
    }
}

/// Converts one picture of `format` into `out` (whose size is the picture size).
pub fn to_i420(format: PixelFormat, src: &[u8], out: &mut I420) -> Result<(), FrameError> {
    let size = out.size();
    let expected = format.frame_len(size);
    if src.len() != expected {
        return Err(FrameError::Length {
            format: format.as_str(),
            width: size.width,
            height: size.height,
            expected,
            found: src.len(),
        });
    }
    match format {
        PixelFormat::Nv12 => nv12(src, out),
        PixelFormat::Yuyv => yuyv(src, out),
    }
    Ok(())
}

fn nv12(src: &[u8], out: &mut I420) {
    let pixels = out.size().pixels();
    let (y, u, v) = out.planes_mut();
    y.copy_from_slice(&src[..pixels]);
    for ((pair, u), v) in src[pixels..].chunks_exact(2).zip(u.iter_mut()).zip(v.iter_mut()) {
        *u = pair[0];
        *v = pair[1];
    }
}

fn yuyv(src: &[u8], out: &mut I420) {
    let width = out.size().width as usize;
    let row_bytes = width * 2;
    let (y, u, v) = out.planes_mut();
    for (row, line) in src.chunks_exact(row_bytes).enumerate() {
        let y_row = &mut y[row * width..(row + 1) * width];
        for (dst, px) in y_row.chunks_exact_mut(2).zip(line.chunks_exact(4)) {
            dst[0] = px[0];
            dst[1] = px[2];
        }
    }
    let half = width / 2;
    for (row, pair) in src.chunks_exact(row_bytes * 2).enumerate() {
        let (top, bottom) = pair.split_at(row_bytes);
        let out_u = &mut u[row * half..(row + 1) * half];
        let out_v = &mut v[row * half..(row + 1) * half];
        for (i, (a, b)) in top.chunks_exact(4).zip(bottom.chunks_exact(4)).enumerate() {
            out_u[i] = mean(a[1], b[1]);
            out_v[i] = mean(a[3], b[3]);
        }
    }
}

fn mean(a: u8, b: u8) -> u8 {
    // The rounded-up mean of two bytes always fits in a byte.
    (u16::from(a) + u16::from(b)).div_ceil(2) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(w: u32, h: u32) -> Size {
        Size::new(w, h).unwrap()
    }

    #[test]
    fn nv12_splits_the_interleaved_chroma_plane() {
        // 4x2: 8 luma bytes, then U,V pairs for the two 2x2 blocks.
        let src = [1, 2, 3, 4, 5, 6, 7, 8, 100, 200, 101, 201];
        let mut out = I420::black(size(4, 2));
        to_i420(PixelFormat::Nv12, &src, &mut out).unwrap();
        assert_eq!(out.data(), &[1, 2, 3, 4, 5, 6, 7, 8, 100, 101, 200, 201]);
    }

    #[test]
    fn yuyv_keeps_luma_and_averages_chroma_over_two_rows() {
        // 4x2, rows of Y0 U Y1 V Y2 U Y3 V.
        let src = [
            10, 100, 11, 200, 12, 50, 13, 60, // row 0
            20, 101, 21, 203, 22, 52, 23, 61, // row 1
        ];
        let mut out = I420::black(size(4, 2));
        to_i420(PixelFormat::Yuyv, &src, &mut out).unwrap();
        assert_eq!(out.y(), &[10, 11, 12, 13, 20, 21, 22, 23]);
        // U: mean(100,101)=100.5 -> 101, mean(50,52)=51; V: mean(200,203)=201.5 -> 202, mean(60,61) -> 61.
        assert_eq!(out.uv(), (&[101, 51][..], &[202, 61][..]));
    }

    #[test]
    fn a_buffer_of_the_wrong_length_is_an_error_not_a_panic() {
        let mut out = I420::black(size(4, 2));
        let err = to_i420(PixelFormat::Yuyv, &[0; 15], &mut out).unwrap_err();
        assert!(matches!(err, FrameError::Length { expected: 16, found: 15, .. }));
        assert!(to_i420(PixelFormat::Nv12, &[0; 13], &mut out).is_err());
    }
}
