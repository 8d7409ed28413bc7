//! The recorder's bookkeeping: one [`Participant`] per peer with its tracks, files named after
//! the peer, and the summary. No networking and no clocks: `now_us` is passed in.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use protobuf::Message;
use videocall_client::{PeerInfo, PeerKey};
use videocall_types::{MediaPacket, MediaType, PacketType, PacketWrapper};

use super::audio_track::{AudioStats, AudioTrack};
use super::video_track::{VideoStats, VideoTrack};

/// One participant's tracks.
#[derive(Debug)]
struct Participant {
    user: String,
    stem: String,
    video: Option<VideoTrack>,
    screen: Option<VideoTrack>,
    audio: Option<AudioTrack>,
}

/// A finished participant, for the summary.
#[derive(Debug, Clone)]
pub struct Finished {
    /// The user id.
    pub user: String,
    /// The peer key, as text.
    pub key: String,
    /// Camera statistics, if any video came.
    pub video: Option<VideoStats>,
    /// Screen statistics, if any screen came.
    pub screen: Option<VideoStats>,
    /// Audio statistics, if any audio came.
    pub audio: Option<AudioStats>,
    /// The files written.
    pub files: Vec<PathBuf>,
}

/// Every participant of the meeting being recorded.
#[derive(Debug)]
pub struct Recorder {
    dir: PathBuf,
    live: HashMap<PeerKey, Participant>,
    finished: Vec<Finished>,
    /// Peers whose files are closed: their stragglers must not reopen (and truncate) them.
    left: HashSet<PeerKey>,
    /// MEDIA packets whose payload is not a readable `MediaPacket` (encrypted, corrupt).
    pub unreadable: u64,
    /// Packets that arrived after their sender had left.
    pub after_leaving: u64,
}

impl Recorder {
    /// A recorder writing into `dir`.
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_owned(),
            live: HashMap::new(),
            finished: Vec::new(),
            left: HashSet::new(),
            unreadable: 0,
            after_leaving: 0,
        }
    }

    /// Participants with open tracks.
    pub fn live(&self) -> usize {
        self.live.len()
    }

    /// Takes one packet from peer `from`.
    pub fn on_packet(
        &mut self,
        from: &PeerKey,
        wrapper: &PacketWrapper,
        now_us: impl Fn() -> f64,
    ) -> io::Result<()> {
        if wrapper.packet_type.enum_value() != Ok(PacketType::MEDIA) {
            return Ok(());
        }
        if self.left.contains(from) {
            self.after_leaving += 1;
            return Ok(());
        }
        let Ok(media) = MediaPacket::parse_from_bytes(&wrapper.data) else {
            self.unreadable += 1;
            return Ok(());
        };
        let dir = self.dir.clone();
        let participant = self.participant(from, &wrapper.email);
        let stem = participant.stem.clone();
        match media.media_type.enum_value() {
            Ok(MediaType::VIDEO) => participant
                .video
                .get_or_insert_with(|| VideoTrack::new(dir.join(format!("{stem}.ivf"))))
                .push(media, now_us),
            Ok(MediaType::SCREEN) => participant
                .screen
                .get_or_insert_with(|| VideoTrack::new(dir.join(format!("{stem}-screen.ivf"))))
                .push(media, now_us),
            Ok(MediaType::AUDIO) => participant
                .audio
                .get_or_insert_with(|| {
                    AudioTrack::new(dir.join(format!("{stem}.opus")), serial(&stem))
                })
                .push(media),
            Ok(MediaType::HEARTBEAT | MediaType::RTT) | Err(_) => Ok(()),
        }
    }

    fn participant(&mut self, key: &PeerKey, user: &str) -> &mut Participant {
        self.live.entry(key.clone()).or_insert_with(|| {
            let suffix = match key {
                PeerKey::Session(id) => format!("-s{id}"),
                PeerKey::Email(_) => String::new(),
            };
            Participant {
                user: user.to_owned(),
                stem: format!("{}{suffix}", file_safe(user)),
                video: None,
                screen: None,
                audio: None,
            }
        })
    }

    /// Closes the files of a peer that left.
    pub fn on_left(&mut self, peer: &PeerInfo) -> io::Result<()> {
        self.left.insert(peer.key.clone());
        match self.live.remove(&peer.key) {
            Some(participant) => self.close(&peer.key, participant),
            None => Ok(()),
        }
    }

    fn close(&mut self, key: &PeerKey, p: Participant) -> io::Result<()> {
        let mut files = Vec::new();
        let mut video = |track: Option<VideoTrack>| -> io::Result<Option<VideoStats>> {
            track
                .map(|t| {
                    let (stats, path) = t.finish()?;
                    files.extend(path);
                    Ok(stats)
                })
                .transpose()
        };
        let (video_stats, screen_stats) = (video(p.video)?, video(p.screen)?);
        let audio = p
            .audio
            .map(|t| {
                let (stats, path) = t.finish()?;
                files.extend(path);
                Ok::<_, io::Error>(stats)
            })
            .transpose()?;
        self.finished.push(Finished {
            user: p.user,
            key: key.to_string(),
            video: video_stats,
            screen: screen_stats,
            audio,
            files,
        });
        Ok(())
    }

    /// Closes every file and returns everyone recorded, in order of leaving.
    pub fn finish(mut self) -> io::Result<Vec<Finished>> {
        let mut live: Vec<_> = std::mem::take(&mut self.live).into_iter().collect();
        live.sort_by(|a, b| a.0.cmp(&b.0));
        for (key, participant) in live {
            self.close(&key, participant)?;
        }
        Ok(self.finished)
    }
}

/// `user` with anything but letters, digits, `_` and `-` replaced (old servers relay any
/// text as the sender's name).
fn file_safe(user: &str) -> String {
    let safe: String = user
        .chars()
        .take(64)
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' })
        .collect();
    if safe.is_empty() { "anonymous".into() } else { safe }
}

/// A stable Ogg serial number for a file stem (FNV-1a).
fn serial(stem: &str) -> u32 {
    stem.bytes().fold(0x811c_9dc5u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
}

/// One `key=value` line per participant, for people and scripts.
pub fn summary_lines(finished: &[Finished]) -> String {
    let mut out = String::new();
    for f in finished {
        let _ = write!(out, "participant user={} peer={}", f.user, f.key);
        if let Some(v) = &f.video {
            video_fields(&mut out, "video", v);
        }
        if let Some(v) = &f.screen {
            video_fields(&mut out, "screen", v);
        }
        if let Some(a) = &f.audio {
            let _ = write!(
                out,
                " audio_packets={} audio_seconds={:.2} audio_gaps={} concealed={} unfilled={} audio_errors={}",
                a.written,
                a.samples as f64 / 48_000.0,
                a.gaps,
                a.concealed,
                a.unfilled,
                a.decode_errors
            );
        }
        let files: Vec<String> = f.files.iter().map(|p| p.display().to_string()).collect();
        let _ = writeln!(out, " files={}", files.join(","));
    }
    out
}

fn video_fields(out: &mut String, name: &str, v: &VideoStats) {
    let codec = v.codec.map_or("none", |c| c.as_str());
    let size = v.size.map_or("none".to_owned(), |s| s.to_string());
    let mean_ms =
        if v.delay_count > 0 { v.delay_sum_us / v.delay_count as f64 / 1000.0 } else { 0.0 };
    let _ = write!(
        out,
        " {name}={codec} {name}_size={size} {name}_frames={} {name}_decoded={} {name}_errors={} {name}_skipped={} {name}_gaps={} {name}_oversized={} {name}_seconds={:.2} delay_ms_mean={mean_ms:.1} delay_ms_max={:.1}",
        v.written,
        v.decoded,
        v.decode_errors,
        v.skipped,
        v.gaps,
        v.oversized,
        v.duration_ms as f64 / 1000.0,
        v.delay_max_us / 1000.0,
    );
}
