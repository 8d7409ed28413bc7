//! The command line: one clap struct per subcommand, every flag with an environment fallback.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use url::Url;

use crate::video::convert::PixelFormat;
use crate::video::frame::Size;
use crate::vpx::Codec;

/// Stream a camera or a test pattern into a videocall meeting, list devices, or record a
/// meeting.
#[derive(Debug, Parser)]
#[command(name = "videocall-cli", version, about)]
pub struct Cli {
    /// Log format on stderr: `text` for people, `json` for services. Levels come from RUST_LOG
    /// (default `info`).
    #[arg(long, value_enum, env = "VIDEOCALL_LOG_FORMAT", default_value = "text", global = true)]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Join a meeting and send video (camera or test pattern) and audio.
    Stream(StreamArgs),
    /// List cameras, their formats and resolutions, and audio input devices.
    Info(InfoArgs),
    /// Join a meeting without sending and record every participant to IVF and Ogg Opus files.
    Record(RecordArgs),
}

/// Where and as whom to join.
#[derive(Debug, Clone, Args)]
pub struct MeetingArgs {
    /// Server URL: `https://host:port` for WebTransport, `ws://` or `wss://` for WebSocket.
    #[arg(long, visible_alias = "server", env = "VIDEOCALL_URL")]
    pub url: Url,
    /// Meeting (room) to join: letters, digits, `_` and `-`. Optional with --token, which
    /// names the meeting.
    #[arg(long, env = "VIDEOCALL_MEETING_ID", required_unless_present = "token")]
    pub meeting_id: Option<String>,
    /// Join token (from `actix-api token` or the server's API); it names the user and the
    /// meeting, so --user-id and --meeting-id may be left out.
    #[arg(long, env = "VIDEOCALL_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// SHA-256 of a self-signed WebTransport server certificate (64 hex digits, `:` allowed),
    /// e.g. from `GET /api/v1/webtransport/certificate-hash`. Without it the certificate must
    /// chain to a system root.
    #[arg(long, env = "VIDEOCALL_CERT_HASH")]
    pub cert_hash: Option<String>,
    /// Stop after this many seconds (default: run until Ctrl-C or SIGTERM).
    #[arg(long, env = "VIDEOCALL_DURATION")]
    pub duration: Option<f64>,
    /// No live status line (logs and the final summary are still printed).
    #[arg(long, short, env = "VIDEOCALL_QUIET")]
    pub quiet: bool,
}

/// `videocall-cli stream`.
#[derive(Debug, Clone, Args)]
pub struct StreamArgs {
    /// User id to join as: letters, digits, `_` and `-`. Optional with --token.
    #[arg(long, env = "VIDEOCALL_USER_ID", required_unless_present = "token")]
    pub user_id: Option<String>,
    /// Server and meeting.
    #[command(flatten)]
    pub meeting: MeetingArgs,
    /// Camera index or name (see `info --list-cameras`).
    #[arg(long, short = 'v', env = "VIDEOCALL_VIDEO_DEVICE")]
    pub video_device_index: Option<String>,
    /// Microphone name, or `default`; omit for no microphone.
    #[arg(long, short = 'a', env = "VIDEOCALL_AUDIO_DEVICE")]
    pub audio_device: Option<String>,
    /// Send a synthetic moving picture (and a 440 Hz tone unless --audio-device is given)
    /// instead of a camera.
    #[arg(long, env = "VIDEOCALL_TEST_PATTERN", conflicts_with = "video_device_index")]
    pub test_pattern: bool,
    /// Picture size, WIDTHxHEIGHT (even numbers).
    #[arg(long, short = 'r', env = "VIDEOCALL_RESOLUTION", default_value = "1280x720")]
    pub resolution: Size,
    /// Frames per second.
    #[arg(long, env = "VIDEOCALL_FPS", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=60))]
    pub fps: u32,
    /// Camera pixel format.
    #[arg(long, value_enum, env = "VIDEOCALL_FRAME_FORMAT", default_value = "NV12")]
    pub frame_format: PixelFormat,
    /// Video bitrate in kbit/s.
    #[arg(long, env = "VIDEOCALL_BITRATE_KBPS", default_value_t = 500,
          value_parser = clap::value_parser!(u32).range(20..=50_000))]
    pub bitrate_kbps: u32,
    /// Video codec.
    #[arg(long, value_enum, env = "VIDEOCALL_CODEC", default_value = "vp9")]
    pub codec: Codec,
    /// Most frames between key frames (a key frame is also sent whenever the server asks).
    #[arg(long, env = "VIDEOCALL_KEYFRAME_INTERVAL", default_value_t = 150,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub keyframe_interval: u32,
    /// libvpx speed (VP8 0-16, VP9 5-9); by default chosen from the resolution.
    #[arg(long, env = "VIDEOCALL_CPU_USED", allow_negative_numbers = true)]
    pub cpu_used: Option<i32>,
    /// Encoder threads; by default 1 for VP8 up to 640x480 and 2 otherwise.
    #[arg(long, env = "VIDEOCALL_ENCODER_THREADS", value_parser = clap::value_parser!(u32).range(1..=16))]
    pub encoder_threads: Option<u32>,
    /// Opus bitrate in kbit/s.
    #[arg(long, env = "VIDEOCALL_AUDIO_BITRATE_KBPS", default_value_t = 32,
          value_parser = clap::value_parser!(i32).range(6..=510))]
    pub audio_bitrate_kbps: i32,
}

/// `videocall-cli record`.
#[derive(Debug, Clone, Args)]
pub struct RecordArgs {
    /// User id the recorder joins as (default: the token's, or `recorder`).
    #[arg(long, env = "VIDEOCALL_USER_ID")]
    pub user_id: Option<String>,
    /// Server and meeting.
    #[command(flatten)]
    pub meeting: MeetingArgs,
    /// Directory for the files (`{user}-{session}.ivf` / `.opus`); created if missing.
    #[arg(long, short, env = "VIDEOCALL_OUTPUT_DIR", default_value = "recordings")]
    pub output_dir: PathBuf,
}

/// `videocall-cli info`.
#[derive(Debug, Clone, Args)]
#[group(required = true, multiple = false)]
pub struct InfoArgs {
    /// List the cameras.
    #[arg(long)]
    pub list_cameras: bool,
    /// List the pixel formats of camera INDEX.
    #[arg(long, value_name = "INDEX")]
    pub list_formats: Option<u32>,
    /// List the resolutions and frame rates of camera INDEX.
    #[arg(long, value_name = "INDEX")]
    pub list_resolutions: Option<u32>,
    /// List the audio input devices.
    #[arg(long)]
    pub list_audio_devices: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("videocall-cli").chain(args.iter().copied()))
    }

    #[test]
    fn stream_flags_keep_the_upstream_spelling() {
        let cli = parse(&[
            "stream",
            "--url",
            "https://h:4433",
            "--user-id",
            "pi",
            "--meeting-id",
            "m",
            "--video-device-index",
            "0",
            "--resolution",
            "640x480",
            "--fps",
            "15",
            "--frame-format",
            "YUYV",
            "--bitrate-kbps",
            "300",
            "--codec",
            "vp8",
        ])
        .unwrap();
        let Command::Stream(s) = cli.command else { panic!("not stream") };
        assert_eq!(s.resolution, Size::new(640, 480).unwrap());
        assert_eq!((s.fps, s.frame_format, s.codec), (15, PixelFormat::Yuyv, Codec::Vp8));
        assert_eq!(s.video_device_index.as_deref(), Some("0"));
    }

    #[test]
    fn bad_values_are_refused_by_the_parser() {
        let base = ["stream", "--url", "ws://h", "--user-id", "u", "--meeting-id", "m"];
        let with = |extra: &[&str]| parse(&[&base[..], extra].concat());
        assert!(with(&["--resolution", "641x480"]).is_err());
        assert!(with(&["--fps", "0"]).is_err());
        assert!(with(&["--codec", "h264"]).is_err());
        assert!(with(&["--test-pattern", "--video-device-index", "0"]).is_err());
        assert!(parse(&["info"]).is_err(), "info needs one listing");
        assert!(with(&["--test-pattern"]).is_ok());
    }
}
