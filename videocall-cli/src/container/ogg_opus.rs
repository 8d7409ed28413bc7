//! Ogg Opus (RFC 7845): an `OpusHead` page, an `OpusTags` page, then the audio packets, each
//! page stamped with the sample count (48 kHz) decoded so far. Played by every common player.

use std::io::{self, Read, Write};

use ogg::writing::{PacketWriteEndInfo, PacketWriter};

use crate::audio::opus::SAMPLE_RATE;

/// Packets per page: a page every second, so an interrupted recording loses at most that.
const PACKETS_PER_PAGE: u32 = 50;

/// Writes one mono Opus stream. The last packet is held back so that [`Writer::finish`] can
/// mark it as the end of the stream.
pub struct Writer<W: Write> {
    out: PacketWriter<'static, W>,
    serial: u32,
    granule: u64,
    held: Option<(Vec<u8>, u64)>,
    packets: u64,
}

impl<W: Write> std::fmt::Debug for Writer<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").field("packets", &self.packets).finish_non_exhaustive()
    }
}

impl<W: Write> Writer<W> {
    /// Writes the two header pages; `serial` tells streams apart, `pre_skip` is the encoder's
    /// look-ahead in samples.
    pub fn new(out: W, serial: u32, pre_skip: u16) -> io::Result<Self> {
        let mut out = PacketWriter::new(out);
        let mut head = Vec::with_capacity(19);
        head.extend_from_slice(b"OpusHead");
        head.push(1); // version
        head.push(1); // channels
        head.extend_from_slice(&pre_skip.to_le_bytes());
        head.extend_from_slice(&SAMPLE_RATE.to_le_bytes());
        head.extend_from_slice(&0i16.to_le_bytes()); // output gain
        head.push(0); // mapping family: mono/stereo
        out.write_packet(head, serial, PacketWriteEndInfo::EndPage, 0)?;
        let vendor = concat!("videocall-cli ", env!("CARGO_PKG_VERSION"));
        let mut tags = Vec::new();
        tags.extend_from_slice(b"OpusTags");
        tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
        tags.extend_from_slice(vendor.as_bytes());
        tags.extend_from_slice(&0u32.to_le_bytes()); // no comments
        out.write_packet(tags, serial, PacketWriteEndInfo::EndPage, 0)?;
        Ok(Self { out, serial, granule: 0, held: None, packets: 0 })
    }

    /// Appends one packet that decodes to `samples` samples at 48 kHz.
    pub fn write(&mut self, packet: Vec<u8>, samples: u64) -> io::Result<()> {
        self.granule += samples;
        if let Some((previous, granule)) = self.held.replace((packet, self.granule)) {
            self.packets += 1;
            let end = if self.packets.is_multiple_of(u64::from(PACKETS_PER_PAGE)) {
                PacketWriteEndInfo::EndPage
            } else {
                PacketWriteEndInfo::NormalPacket
            };
            self.out.write_packet(previous, self.serial, end, granule)?;
        }
        Ok(())
    }

    /// Packets accepted so far.
    pub fn packets(&self) -> u64 {
        self.packets + u64::from(self.held.is_some())
    }

    /// Samples (48 kHz) accepted so far.
    pub fn samples(&self) -> u64 {
        self.granule
    }

    /// Writes the held packet as the end of the stream and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        if let Some((last, granule)) = self.held.take() {
            self.out.write_packet(last, self.serial, PacketWriteEndInfo::EndStream, granule)?;
        }
        let mut out = self.out.into_inner();
        out.flush()?;
        Ok(out)
    }
}

/// What an Ogg Opus file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contents {
    /// Channel count from `OpusHead`.
    pub channels: u8,
    /// The audio packets, in order.
    pub packets: Vec<Vec<u8>>,
    /// Granule position of the last page (48 kHz samples including pre-skip).
    pub final_granule: u64,
    /// Whether the last packet ends the stream.
    pub ended: bool,
}

/// Reads a whole Ogg Opus file.
pub fn read(input: impl Read + io::Seek) -> io::Result<Contents> {
    let bad =
        |what: String| io::Error::new(io::ErrorKind::InvalidData, format!("Ogg Opus: {what}"));
    let mut reader = ogg::reading::PacketReader::new(input);
    let mut next = || reader.read_packet().map_err(|e| bad(e.to_string()));
    let head = next()?.ok_or_else(|| bad("empty file".into()))?;
    if !head.data.starts_with(b"OpusHead") || head.data.len() < 19 {
        return Err(bad("no OpusHead".into()));
    }
    let tags = next()?.ok_or_else(|| bad("no OpusTags".into()))?;
    if !tags.data.starts_with(b"OpusTags") {
        return Err(bad("no OpusTags".into()));
    }
    let mut contents =
        Contents { channels: head.data[9], packets: Vec::new(), final_granule: 0, ended: false };
    while let Some(packet) = next()? {
        contents.final_granule = packet.absgp_page();
        contents.ended = packet.last_in_stream();
        contents.packets.push(packet.data);
    }
    Ok(contents)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn packets_granules_and_the_end_of_stream_read_back() {
        let mut writer = Writer::new(Vec::new(), 7, 312).unwrap();
        for i in 0..120u8 {
            writer.write(vec![i; 3], 960).unwrap();
        }
        assert_eq!((writer.packets(), writer.samples()), (120, 120 * 960));
        let bytes = writer.finish().unwrap();
        let contents = read(Cursor::new(bytes)).unwrap();
        assert_eq!(contents.channels, 1);
        assert_eq!(contents.packets.len(), 120);
        assert_eq!(contents.packets[119], vec![119; 3]);
        assert_eq!(contents.final_granule, 120 * 960);
        assert!(contents.ended);
    }
}
