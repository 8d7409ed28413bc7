//! `stream --test-pattern` and `record` in one meeting on the all-in-one server, over both
//! transports: what was sent is what the recording holds.

#![allow(clippy::unwrap_used)]

mod common;

use std::fs::File;
use std::time::Duration;

use common::{Cli, Server, number, output_dir, recorded};
use videocall_cli::audio::opus;
use videocall_cli::container::{ivf, ogg_opus};
use videocall_cli::vpx::{Codec, Decoder};

const CONNECT: Duration = Duration::from_secs(15);

/// Checks the recording of `user` in `dir`: codec, size, frame count near `sent`, every frame
/// decodes, and audio is there.
fn check_recording(dir: &std::path::Path, user: &str, codec: Codec, sent: u64, audio_sent: u64) {
    let (header, frames) = ivf::read(File::open(recorded(dir, user, "ivf")).unwrap()).unwrap();
    assert_eq!((header.codec, header.width, header.height), (codec, 320, 240));
    assert_eq!(header.frames as usize, frames.len(), "the header's frame count is final");
    let tolerance = (sent / 10).max(3);
    assert!(
        frames.len() as u64 + tolerance >= sent && frames.len() as u64 <= sent,
        "recorded {} frames of {sent} sent",
        frames.len()
    );
    let mut decoder = Decoder::new(codec, 1).unwrap();
    for (i, frame) in frames.iter().enumerate() {
        let pictures = decoder.decode(&frame.data).unwrap_or_else(|e| panic!("frame {i}: {e}"));
        assert_eq!(pictures.len(), 1);
        assert_eq!((pictures[0].size().width, pictures[0].size().height), (320, 240));
    }
    assert!(frames.windows(2).all(|w| w[0].pts < w[1].pts), "timestamps increase");

    let audio = ogg_opus::read(File::open(recorded(dir, user, "opus")).unwrap()).unwrap();
    assert!(audio.ended, "the Ogg stream is closed");
    let tolerance = (audio_sent / 10).max(5);
    assert!(
        audio.packets.len() as u64 + tolerance >= audio_sent,
        "recorded {} audio packets of {audio_sent} sent",
        audio.packets.len()
    );
    let mut decoder = opus::Decoder::new().unwrap();
    for packet in &audio.packets {
        assert_eq!(decoder.decode(packet).unwrap().len(), opus::FRAME_SAMPLES);
    }
}

fn stream_args<'a>(
    url: &'a str,
    meeting: &'a str,
    codec: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        "stream",
        "--url",
        url,
        "--meeting-id",
        meeting,
        "--user-id",
        "streamer",
        "--test-pattern",
        "--resolution",
        "320x240",
        "--fps",
        "15",
        "--bitrate-kbps",
        "300",
        "--codec",
        codec,
        "--quiet",
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn stream_and_record_over_websocket() {
    let server = Server::start();
    let url = server.ws_url();
    let dir = output_dir("ws");
    let dir_text = dir.to_string_lossy().into_owned();
    let mut recorder = Cli::spawn(&[
        "record",
        "--url",
        &url,
        "--meeting-id",
        "ws-room",
        "--output-dir",
        &dir_text,
        "--duration",
        "7",
        "--quiet",
    ]);
    recorder.wait_for("connected", CONNECT);
    let streamed = Cli::run(&stream_args(&url, "ws-room", "vp8", &["--duration", "3"]));
    assert!(streamed.status.success(), "{}", streamed.stderr);
    let sent = number(&streamed.stdout, "sent");
    let audio_sent = number(&streamed.stdout, "audio_sent");
    // How many frames a loaded machine manages in 3 s varies; what was sent must be recorded.
    assert!(sent > 0, "{}", streamed.stdout);

    // The recorder stops by itself at --duration.
    let recording = recorder.wait(Duration::from_secs(20));
    assert!(recording.status.success(), "{}", recording.stderr);
    assert_eq!(number(&recording.stdout, "participants"), 1, "{}", recording.stdout);
    check_recording(&dir, "streamer", Codec::Vp8, sent, audio_sent);
}

#[test]
fn stream_and_record_over_webtransport_until_sigterm() {
    let server = Server::start();
    let (url, hash) = (server.wt_url(), server.cert_hash());
    let dir = output_dir("wt");
    let dir_text = dir.to_string_lossy().into_owned();
    let mut recorder = Cli::spawn(&[
        "record",
        "--url",
        &url,
        "--cert-hash",
        &hash,
        "--meeting-id",
        "wt-room",
        "--output-dir",
        &dir_text,
        "--quiet",
    ]);
    recorder.wait_for("connected", CONNECT);
    let streamed =
        Cli::run(&stream_args(&url, "wt-room", "vp9", &["--cert-hash", &hash, "--duration", "3"]));
    assert!(streamed.status.success(), "{}", streamed.stderr);
    assert!(streamed.stderr.contains("transport=\"webtransport\""), "{}", streamed.stderr);
    let sent = number(&streamed.stdout, "sent");
    let audio_sent = number(&streamed.stdout, "audio_sent");

    // SIGTERM ends the recording cleanly, with complete files.
    std::thread::sleep(Duration::from_millis(500));
    recorder.terminate();
    let recording = recorder.wait(Duration::from_secs(20));
    assert!(recording.status.success(), "{}", recording.stderr);
    assert!(recording.stderr.contains("SIGTERM"), "{}", recording.stderr);
    check_recording(&dir, "streamer", Codec::Vp9, sent, audio_sent);
}

#[test]
fn a_recorder_joining_late_gets_a_key_frame_on_request_and_sigterm_stops_the_stream() {
    let server = Server::start();
    let url = server.ws_url();
    let dir = output_dir("late");
    let dir_text = dir.to_string_lossy().into_owned();
    // No periodic key frames: only the first one and the ones the server asks for.
    let mut streamer =
        Cli::spawn(&stream_args(&url, "late-room", "vp9", &["--keyframe-interval", "100000"]));
    streamer.wait_for("connected", CONNECT);
    std::thread::sleep(Duration::from_secs(1));
    let recording = Cli::run(&[
        "record",
        "--url",
        &url,
        "--meeting-id",
        "late-room",
        "--output-dir",
        &dir_text,
        "--duration",
        "2.5",
        "--quiet",
    ]);
    assert!(recording.status.success(), "{}", recording.stderr);
    // SIGTERM ends the stream cleanly, with its summary.
    streamer.terminate();
    let streamed = streamer.wait(Duration::from_secs(20));
    assert!(streamed.status.success(), "{}", streamed.stderr);
    assert!(streamed.stderr.contains("SIGTERM"), "{}", streamed.stderr);
    assert!(number(&streamed.stdout, "keyframe_requests") >= 1, "{}", streamed.stdout);
    assert!(number(&streamed.stdout, "forced_keyframes") >= 2, "{}", streamed.stdout);

    // The recorder joined after the first key frame, so it can only have started at a key
    // frame made on request.
    let (_, frames) = ivf::read(File::open(recorded(&dir, "streamer", "ivf")).unwrap()).unwrap();
    assert!(!frames.is_empty(), "nothing recorded:\n{}", recording.stdout);
    let mut decoder = Decoder::new(Codec::Vp9, 1).unwrap();
    for frame in &frames {
        assert!(decoder.decode(&frame.data).is_ok());
    }
    assert!(number(&recording.stdout, "video_skipped") <= 1, "{}", recording.stdout);
}

#[test]
fn with_tokens_the_cli_needs_neither_user_nor_meeting_and_without_one_is_refused() {
    const SECRET: &str = "a secret for the CLI token test, 32+ bytes";
    let server = Server::start_with(|c| {
        c.access.auth_required = true;
        c.access.jwt_secret = Some(SECRET.into());
    });
    let secrets = videocall_access::Secrets::new(Some(SECRET), None).unwrap().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let token = |user: &str, publish: bool| {
        secrets.mint(&videocall_access::Claims {
            user: videocall_types::UserId::new(user).unwrap(),
            name: videocall_types::DisplayName::new(user).unwrap(),
            meeting: videocall_types::RoomId::new("token-room").unwrap(),
            issued_at: now,
            expires_at: now + 600,
            host: false,
            publish,
        })
    };
    let url = server.ws_url();
    let dir = output_dir("token");
    let dir_text = dir.to_string_lossy().into_owned();
    let recorder_token = token("rec", false);
    let mut recorder = Cli::spawn(&[
        "record",
        "--server",
        &url,
        "--token",
        &recorder_token,
        "--output-dir",
        &dir_text,
        "--duration",
        "6",
        "--quiet",
    ]);
    recorder.wait_for("connected", CONNECT);
    let streamer_token = token("pi", true);
    let streamed = Cli::run(&[
        "stream",
        "--server",
        &url,
        "--token",
        &streamer_token,
        "--test-pattern",
        "--resolution",
        "160x120",
        "--fps",
        "10",
        "--codec",
        "vp8",
        "--duration",
        "2",
        "--quiet",
    ]);
    assert!(streamed.status.success(), "{}", streamed.stderr);
    let recording = recorder.wait(Duration::from_secs(20));
    assert!(recording.status.success(), "{}", recording.stderr);
    assert_eq!(number(&recording.stdout, "participants"), 1, "{}", recording.stdout);
    // The recorder joined as the token's user: files are named after the streamer it heard.
    assert!(
        std::fs::read_dir(&*dir)
            .unwrap()
            .any(|e| { e.unwrap().file_name().to_string_lossy().starts_with("pi-") })
    );
    // Without a token the server refuses before the upgrade, and the CLI says so.
    let refused = Cli::run(&[
        "stream",
        "--server",
        &url,
        "--user-id",
        "pi",
        "--meeting-id",
        "token-room",
        "--test-pattern",
        "--duration",
        "2",
        "--quiet",
    ]);
    assert!(!refused.status.success());
    assert!(refused.stderr.contains("401"), "{}", refused.stderr);
}
