//! Raw I420 pictures: the one pixel format between capture, the test pattern and the encoder.

/// Largest accepted picture side, in pixels (8K).
pub const MAX_SIDE: u32 = 8192;

/// Why a picture size or buffer is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Width or height is zero, odd, or larger than [`MAX_SIDE`].
    #[error("bad picture size {width}x{height}: sides must be even and between 2 and {MAX_SIDE}")]
    Size {
        /// The width given.
        width: u32,
        /// The height given.
        height: u32,
    },
    /// A buffer does not have the length its size and format need.
    #[error("a {format} {width}x{height} picture needs {expected} bytes, got {found}")]
    Length {
        /// The pixel format.
        format: &'static str,
        /// The width.
        width: u32,
        /// The height.
        height: u32,
        /// The length needed.
        expected: usize,
        /// The length found.
        found: usize,
    },
}

/// A picture size in pixels; both sides even and non-zero (4:2:0 chroma needs pairs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Size {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl Size {
    /// A checked size.
    pub fn new(width: u32, height: u32) -> Result<Self, FrameError> {
        let ok = |side: u32| (2..=MAX_SIDE).contains(&side) && side.is_multiple_of(2);
        if ok(width) && ok(height) {
            Ok(Self { width, height })
        } else {
            Err(FrameError::Size { width, height })
        }
    }

    /// Number of pixels.
    pub fn pixels(self) -> usize {
        self.width as usize * self.height as usize
    }

    /// Bytes of an I420 picture of this size.
    pub fn i420_len(self) -> usize {
        self.pixels() * 3 / 2
    }
}

impl std::fmt::Display for Size {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}

impl std::str::FromStr for Size {
    type Err = String;

    /// Parses `WIDTHxHEIGHT`, e.g. `1280x720`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (w, h) = s
            .split_once(['x', 'X'])
            .ok_or_else(|| format!("{s:?} is not WIDTHxHEIGHT (e.g. 1280x720)"))?;
        let side =
            |v: &str| v.trim().parse::<u32>().map_err(|_| format!("{s:?}: {v:?} is not a number"));
        Size::new(side(w)?, side(h)?).map_err(|e| e.to_string())
    }
}

/// An I420 picture: the Y plane, then U, then V, each tightly packed (strides = widths).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct I420 {
    size: Size,
    data: Vec<u8>,
}

impl I420 {
    /// A black picture.
    pub fn black(size: Size) -> Self {
        let mut data = vec![16; size.i420_len()];
        data[size.pixels()..].fill(128);
        Self { size, data }
    }

    /// Takes `data` as an I420 picture of `size`.
    pub fn from_vec(size: Size, data: Vec<u8>) -> Result<Self, FrameError> {
        if data.len() != size.i420_len() {
            return Err(FrameError::Length {
                format: "I420",
                width: size.width,
                height: size.height,
                expected: size.i420_len(),
                found: data.len(),
            });
        }
        Ok(Self { size, data })
    }

    /// The picture size.
    pub fn size(&self) -> Size {
        self.size
    }

    /// All three planes, back to back.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The luma plane.
    pub fn y(&self) -> &[u8] {
        &self.data[..self.size.pixels()]
    }

    /// The two chroma planes (U, V), each a quarter of the luma plane.
    pub fn uv(&self) -> (&[u8], &[u8]) {
        let (u, v) = self.data[self.size.pixels()..].split_at(self.size.pixels() / 4);
        (u, v)
    }

    /// Mutable Y, U and V planes.
    pub fn planes_mut(&mut self) -> (&mut [u8], &mut [u8], &mut [u8]) {
        let (y, chroma) = self.data.split_at_mut(self.size.pixels());
        let (u, v) = chroma.split_at_mut(self.size.pixels() / 4);
        (y, u, v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_refuse_what_4_2_0_cannot_hold() {
        assert_eq!("1280x720".parse::<Size>(), Ok(Size { width: 1280, height: 720 }));
        assert!("1281x720".parse::<Size>().is_err());
        assert!("0x720".parse::<Size>().is_err());
        assert!("1280".parse::<Size>().is_err());
        assert!("axb".parse::<Size>().is_err());
        assert!("16384x2".parse::<Size>().is_err());
    }

    #[test]
    fn planes_split_at_the_i420_offsets() {
        let size = Size::new(4, 2).unwrap();
        let mut frame = I420::black(size);
        let (y, u, v) = frame.planes_mut();
        assert_eq!((y.len(), u.len(), v.len()), (8, 2, 2));
        u[0] = 1;
        v[1] = 2;
        assert_eq!(frame.uv(), (&[1, 128][..], &[128, 2][..]));
        assert!(I420::from_vec(size, vec![0; 11]).is_err());
    }
}
