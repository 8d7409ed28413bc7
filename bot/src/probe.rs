//! How a bot packet carries what receivers measure: the send time in `MediaPacket.timestamp`
//! (microseconds since the Unix epoch, so bots in different processes on one machine agree) and
//! a per-stream sequence number in the video or audio metadata (the client copies it into the
//! routing header). Any server that forwards the bytes unchanged keeps both.

use std::time::{SystemTime, UNIX_EPOCH};

use protobuf::{Message, MessageField};
use videocall_types::protos::media_packet::{AudioMetadata, VideoMetadata};
use videocall_types::{MediaPacket, MediaType, PacketType, PacketWrapper};

/// The two streams a bot publisher sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Camera frames.
    Video,
    /// Microphone packets.
    Audio,
}

impl Kind {
    /// Both kinds, in report order.
    pub const ALL: [Kind; 2] = [Kind::Video, Kind::Audio];

    /// Index into per-kind arrays.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// A short name for tables.
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::Video => "video",
            Kind::Audio => "audio",
        }
    }
}

/// What a receiver reads from a bot packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// The stream.
    pub kind: Kind,
    /// Sequence number within the sender's stream of this kind, from 0.
    pub sequence: u64,
    /// Send time, microseconds since the Unix epoch.
    pub sent_us: u64,
}

/// Microseconds since the Unix epoch (0 if the clock is before it).
pub fn unix_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

/// A video frame of `bytes` payload bytes.
pub fn video(sequence: u64, keyframe: bool, bytes: usize, sent_us: u64) -> MediaPacket {
    MediaPacket {
        media_type: MediaType::VIDEO.into(),
        data: vec![0x5a; bytes],
        frame_type: if keyframe { "key" } else { "delta" }.into(),
        timestamp: sent_us as f64,
        video_metadata: MessageField::some(VideoMetadata { sequence, ..Default::default() }),
        ..Default::default()
    }
}

/// An audio packet of `bytes` payload bytes.
pub fn audio(sequence: u64, bytes: usize, sent_us: u64) -> MediaPacket {
    MediaPacket {
        media_type: MediaType::AUDIO.into(),
        data: vec![0xa5; bytes],
        frame_type: "key".into(),
        timestamp: sent_us as f64,
        audio_metadata: MessageField::some(AudioMetadata {
            sequence,
            audio_format: "opus".into(),
            audio_number_of_channels: 1,
            audio_number_of_frames: 960,
            audio_sample_rate: 48_000.0,
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Reads the probe of a received packet; `None` for anything that is not bot media (heartbeats,
/// key exchange, encrypted or foreign packets).
pub fn read(wrapper: &PacketWrapper) -> Option<Probe> {
    if wrapper.packet_type.value() != PacketType::MEDIA as i32 {
        return None;
    }
    let media = MediaPacket::parse_from_bytes(&wrapper.data).ok()?;
    let (kind, sequence) = match media.media_type.enum_value() {
        Ok(MediaType::VIDEO) => (Kind::Video, media.video_metadata.as_ref()?.sequence),
        Ok(MediaType::AUDIO) => (Kind::Audio, media.audio_metadata.as_ref()?.sequence),
        _ => return None,
    };
    let sent_us = media.timestamp;
    if !(sent_us.is_finite() && sent_us >= 0.0) {
        return None;
    }
    Some(Probe { kind, sequence, sent_us: sent_us as u64 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use videocall_client::packet;
    use videocall_types::UserId;

    fn wrap(media: MediaPacket) -> PacketWrapper {
        let user = UserId::new("p0").unwrap();
        let bytes = packet::encode(&packet::media(&user, media).unwrap()).unwrap();
        PacketWrapper::parse_from_bytes(&bytes).unwrap()
    }

    #[test]
    fn a_probe_survives_the_client_wrapping() {
        let now = unix_us();
        let got = read(&wrap(video(42, true, 100, now))).unwrap();
        assert_eq!(got, Probe { kind: Kind::Video, sequence: 42, sent_us: now });
        let wrapper = wrap(audio(7, 10, now));
        assert_eq!(read(&wrapper).unwrap().kind, Kind::Audio);
        let route = wrapper.route.as_ref().unwrap();
        assert_eq!(route.sequence, 7, "the client copies the sequence into the routing header");
    }

    #[test]
    fn heartbeats_and_foreign_packets_are_not_probes() {
        let user = UserId::new("p0").unwrap();
        let heartbeat = packet::heartbeat(&user, Default::default(), 1.0).unwrap();
        assert_eq!(read(&heartbeat), None);
        let garbage = PacketWrapper {
            packet_type: PacketType::MEDIA.into(),
            data: vec![0xff, 0xff],
            ..Default::default()
        };
        assert_eq!(read(&garbage), None);
        let mut negative = audio(1, 1, 0);
        negative.timestamp = -5.0;
        assert_eq!(read(&wrap(negative)), None);
    }
}
