//! IVF: a 32-byte file header, then each frame as a 12-byte header (size, pts) and its bytes.
//! Timestamps are in milliseconds. Played by ffplay, VLC and mpv.

use std::io::{self, Read, Seek, SeekFrom, Write};

use crate::vpx::Codec;

const HEADER_LEN: u16 = 32;
const FRAME_COUNT_OFFSET: u64 = 24;

/// Writes one VP8/VP9 stream.
#[derive(Debug)]
pub struct Writer<W: Write + Seek> {
    out: W,
    frames: u32,
}

impl<W: Write + Seek> Writer<W> {
    /// Writes the file header for `codec` at `width`x`height`, with a millisecond time base.
    pub fn new(mut out: W, codec: Codec, width: u16, height: u16) -> io::Result<Self> {
        let mut header = Vec::with_capacity(usize::from(HEADER_LEN));
        header.extend_from_slice(b"DKIF");
        header.extend_from_slice(&0u16.to_le_bytes());
        header.extend_from_slice(&HEADER_LEN.to_le_bytes());
        header.extend_from_slice(&codec.fourcc());
        header.extend_from_slice(&width.to_le_bytes());
        header.extend_from_slice(&height.to_le_bytes());
        header.extend_from_slice(&1000u32.to_le_bytes()); // time base denominator
        header.extend_from_slice(&1u32.to_le_bytes()); // time base numerator
        header.extend_from_slice(&0u32.to_le_bytes()); // frame count, set by `finish`
        header.extend_from_slice(&0u32.to_le_bytes());
        out.write_all(&header)?;
        Ok(Self { out, frames: 0 })
    }

    /// Appends one frame shown at `pts_ms`.
    pub fn write(&mut self, pts_ms: u64, frame: &[u8]) -> io::Result<()> {
        let len = u32::try_from(frame.len()).map_err(|_| io::Error::other("frame over 4 GB"))?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(&pts_ms.to_le_bytes())?;
        self.out.write_all(frame)?;
        self.frames = self.frames.saturating_add(1);
        Ok(())
    }

    /// Frames written so far.
    pub fn frames(&self) -> u32 {
        self.frames
    }

    /// Records the frame count in the header and flushes; returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.seek(SeekFrom::Start(FRAME_COUNT_OFFSET))?;
        self.out.write_all(&self.frames.to_le_bytes())?;
        self.out.seek(SeekFrom::End(0))?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// An IVF file's header fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The codec, from the FourCC.
    pub codec: Codec,
    /// Picture width.
    pub width: u16,
    /// Picture height.
    pub height: u16,
    /// Frame count the header claims.
    pub frames: u32,
}

/// One frame read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Presentation time in time-base units (ms for our files).
    pub pts: u64,
    /// The compressed frame.
    pub data: Vec<u8>,
}

/// Reads a whole IVF file.
pub fn read(mut input: impl Read) -> io::Result<(Header, Vec<Frame>)> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("IVF: {what}"));
    let mut header = [0u8; HEADER_LEN as usize];
    input.read_exact(&mut header)?;
    if &header[..4] != b"DKIF" {
        return Err(bad("no DKIF signature"));
    }
    let codec = match &header[8..12] {
        b"VP80" => Codec::Vp8,
        b"VP90" => Codec::Vp9,
        _ => return Err(bad("unknown FourCC")),
    };
    let u16_at = |i: usize| u16::from_le_bytes([header[i], header[i + 1]]);
    let frames = u32::from_le_bytes([header[24], header[25], header[26], header[27]]);
    let header = Header { codec, width: u16_at(12), height: u16_at(14), frames };
    let mut out = Vec::new();
    loop {
        let mut frame_header = [0u8; 12];
        match input.read_exact(&mut frame_header) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e),
        }
        let len = u32::from_le_bytes([
            frame_header[0],
            frame_header[1],
            frame_header[2],
            frame_header[3],
        ]);
        let mut pts = [0u8; 8];
        pts.copy_from_slice(&frame_header[4..]);
        let mut data = vec![0; len as usize];
        input.read_exact(&mut data).map_err(|_| bad("truncated frame"))?;
        out.push(Frame { pts: u64::from_le_bytes(pts), data });
    }
    Ok((header, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn frames_and_the_final_count_read_back() {
        let mut writer = Writer::new(Cursor::new(Vec::new()), Codec::Vp9, 640, 480).unwrap();
        writer.write(0, &[1, 2, 3]).unwrap();
        writer.write(33, &[4]).unwrap();
        let bytes = writer.finish().unwrap().into_inner();
        assert_eq!(bytes.len(), 32 + 12 + 3 + 12 + 1);
        let (header, frames) = read(&bytes[..]).unwrap();
        assert_eq!(header, Header { codec: Codec::Vp9, width: 640, height: 480, frames: 2 });
        assert_eq!(frames[1], Frame { pts: 33, data: vec![4] });
        assert!(read(&bytes[..bytes.len() - 1]).is_err(), "a cut frame is an error");
    }
}
