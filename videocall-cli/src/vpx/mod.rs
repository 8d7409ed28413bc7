//! libvpx VP8/VP9 in real time: a small safe wrapper over `env-libvpx-sys` (Debian's libvpx).
//!
//! The encoder never holds frames back (`g_lag_in_frames = 0`: one packet out for every frame
//! in), never drops frames itself (the caller's queue decides), and can be told to make the next
//! frame a key frame. Only [`encoder`], [`decoder`] and `ffi` contain `unsafe` code.

#[allow(unsafe_code)]
pub mod decoder;
#[allow(unsafe_code)]
pub mod encoder;
#[allow(unsafe_code)]
mod ffi;

pub use decoder::Decoder;
pub use encoder::{EncodedFrame, Encoder, EncoderConfig};

/// A libvpx codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Codec {
    /// VP8: cheapest to encode, decoded everywhere.
    Vp8,
    /// VP9 profile 0 (`vp09.00.10.08` in browsers): better pictures per bit.
    Vp9,
}

impl Codec {
    /// The IVF FourCC of the codec.
    pub const fn fourcc(self) -> [u8; 4] {
        match self {
            Self::Vp8 => *b"VP80",
            Self::Vp9 => *b"VP90",
        }
    }

    /// A short lower-case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Vp8 => "vp8",
            Self::Vp9 => "vp9",
        }
    }

    /// Guesses the codec of a key frame from its first bytes: a VP8 key frame carries the start
    /// code `9d 01 2a` after its 3-byte tag; a VP9 frame starts with the frame marker `0b10`.
    pub fn sniff_keyframe(data: &[u8]) -> Option<Self> {
        match data {
            [tag, _, _, 0x9d, 0x01, 0x2a, ..] if tag & 1 == 0 => Some(Self::Vp8),
            [first, ..] if first >> 6 == 0b10 => Some(Self::Vp9),
            _ => None,
        }
    }
}

impl std::fmt::Display for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A libvpx failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VpxError {
    /// The configuration was refused (size, bitrate, threads).
    #[error("libvpx refused the {codec} configuration: {message}")]
    Config {
        /// The codec.
        codec: Codec,
        /// libvpx's explanation.
        message: String,
    },
    /// Encoding a frame failed.
    #[error("{codec} encode failed: {message}")]
    Encode {
        /// The codec.
        codec: Codec,
        /// libvpx's explanation.
        message: String,
    },
    /// Decoding a frame failed (corrupt or missing reference).
    #[error("{codec} decode failed: {message}")]
    Decode {
        /// The codec.
        codec: Codec,
        /// libvpx's explanation.
        message: String,
    },
    /// A frame's size does not match the encoder's, or a decoded picture is not 8-bit I420.
    #[error("{0}")]
    Format(String),
}

#[cfg(test)]
mod tests;
