//! Opus at 48 kHz mono in 20 ms frames (libopus through the `opus` crate).

/// Sample rate of every Opus stream here.
pub const SAMPLE_RATE: u32 = 48_000;
/// Samples in one 20 ms frame.
pub const FRAME_SAMPLES: usize = 960;
/// Largest encoded packet accepted or produced.
const MAX_PACKET: usize = 1500;

/// An Opus failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("opus {what}: {message}")]
pub struct OpusError {
    /// What was being done.
    pub what: &'static str,
    /// libopus's explanation.
    pub message: String,
}

fn opus_err(what: &'static str) -> impl FnOnce(opus::Error) -> OpusError {
    move |e| OpusError { what, message: e.to_string() }
}

/// Encodes 20 ms mono frames.
pub struct Encoder {
    inner: opus::Encoder,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder").finish_non_exhaustive()
    }
}

impl Encoder {
    /// A voice encoder at `bitrate_bps`.
    pub fn new(bitrate_bps: i32) -> Result<Self, OpusError> {
        let mut inner =
            opus::Encoder::new(SAMPLE_RATE, opus::Channels::Mono, opus::Application::Voip)
                .map_err(opus_err("encoder init"))?;
        inner.set_bitrate(opus::Bitrate::Bits(bitrate_bps)).map_err(opus_err("set bitrate"))?;
        Ok(Self { inner })
    }

    /// Encodes exactly [`FRAME_SAMPLES`] samples into one packet.
    pub fn encode(&mut self, frame: &[i16]) -> Result<Vec<u8>, OpusError> {
        if frame.len() != FRAME_SAMPLES {
            return Err(OpusError {
                what: "encode",
                message: format!("{} samples, expected {FRAME_SAMPLES}", frame.len()),
            });
        }
        self.inner.encode_vec(frame, MAX_PACKET).map_err(opus_err("encode"))
    }

    /// Samples of look-ahead the encoder adds (the Ogg Opus pre-skip).
    pub fn lookahead(&mut self) -> Result<u16, OpusError> {
        let samples = self.inner.get_lookahead().map_err(opus_err("lookahead"))?;
        u16::try_from(samples)
            .map_err(|_| OpusError { what: "lookahead", message: "out of range".into() })
    }
}

/// Decodes mono packets to 48 kHz samples.
pub struct Decoder {
    inner: opus::Decoder,
    buffer: Vec<i16>,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder").finish_non_exhaustive()
    }
}

impl Decoder {
    /// A mono 48 kHz decoder.
    pub fn new() -> Result<Self, OpusError> {
        let inner = opus::Decoder::new(SAMPLE_RATE, opus::Channels::Mono)
            .map_err(opus_err("decoder init"))?;
        // 120 ms is the longest Opus packet.
        Ok(Self { inner, buffer: vec![0; SAMPLE_RATE as usize / 1000 * 120] })
    }

    /// Decodes one packet.
    pub fn decode(&mut self, packet: &[u8]) -> Result<&[i16], OpusError> {
        if packet.is_empty() {
            return Err(OpusError { what: "decode", message: "empty packet".into() });
        }
        let n = self.inner.decode(packet, &mut self.buffer, false).map_err(opus_err("decode"))?;
        Ok(&self.buffer[..n])
    }

    /// Makes up `samples` samples for a lost packet (packet loss concealment).
    pub fn conceal(&mut self, samples: usize) -> Result<&[i16], OpusError> {
        let out = self.buffer.get_mut(..samples).ok_or_else(|| OpusError {
            what: "conceal",
            message: format!("{samples} samples is longer than 120 ms"),
        })?;
        let n = self.inner.decode(&[], out, false).map_err(opus_err("conceal"))?;
        Ok(&self.buffer[..n])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::video::pattern::Tone;

    #[test]
    fn a_tone_survives_an_encode_decode_round_trip() {
        let mut encoder = Encoder::new(32_000).unwrap();
        let mut decoder = Decoder::new().unwrap();
        let mut tone = Tone::default();
        let mut energy = 0.0;
        for _ in 0..25 {
            let mut frame = [0i16; FRAME_SAMPLES];
            tone.fill(&mut frame);
            let packet = encoder.encode(&frame).unwrap();
            assert!(packet.len() > 10 && packet.len() < 200, "{} bytes", packet.len());
            let pcm = decoder.decode(&packet).unwrap();
            assert_eq!(pcm.len(), FRAME_SAMPLES);
            energy = pcm.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / pcm.len() as f64;
        }
        // A sine of amplitude A has mean power A^2 / 2: (10922^2)/2 ~ 5.96e7.
        assert!((3.0e7..9.0e7).contains(&energy), "decoded power {energy}");
        assert!(encoder.encode(&[0; 100]).is_err());
        assert_eq!(decoder.conceal(FRAME_SAMPLES).unwrap().len(), FRAME_SAMPLES);
        assert!(decoder.decode(&[]).is_err());
        assert!(encoder.lookahead().unwrap() > 0);
    }
}
