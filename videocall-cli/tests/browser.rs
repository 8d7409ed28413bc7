//! The CLI and the browser app in one meeting, in real headless Chromium: the page decodes the
//! CLI's libvpx video and plays its Opus, and the CLI records the page's WebCodecs video and
//! audio into files that decode. Needs the built app (`make ui`).

#![allow(clippy::unwrap_used)]

mod common;

use std::fs::File;
use std::time::Duration;

use common::{Cli, number, output_dir, recorded};
use e2e::{Browser, Server, TransportChoice, dom};
use videocall_cli::audio::opus;
use videocall_cli::container::{ivf, ogg_opus};
use videocall_cli::vpx::{Codec, Decoder};

/// Liveness limits (failures say what was last seen), not performance assertions.
const CONNECT: Duration = Duration::from_secs(20);
const MEDIA: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread")]
async fn the_browser_and_the_cli_see_each_other() {
    let server = Server::app(|_| {}).await.unwrap();
    let url = format!("ws://{}", server.http_addr());
    let browser = Browser::start().await.unwrap();
    let page = browser.page(&server).await.unwrap();
    page.open_meeting("alice", "interop", TransportChoice::Auto).await.unwrap();
    page.join().await.unwrap();
    page.wait_for("alice is connected", CONNECT, |s| s.connected).await.unwrap();

    let dir = output_dir("browser");
    let dir_text = dir.to_string_lossy().into_owned();
    let mut recorder = Cli::spawn(&[
        "record",
        "--url",
        &url,
        "--meeting-id",
        "interop",
        "--output-dir",
        &dir_text,
        "--quiet",
    ]);
    recorder.wait_for("connected", CONNECT);
    let mut streamer = Cli::spawn(&[
        "stream",
        "--url",
        &url,
        "--meeting-id",
        "interop",
        "--user-id",
        "pi",
        "--test-pattern",
        "--resolution",
        "320x240",
        "--fps",
        "15",
        "--codec",
        "vp9",
        "--quiet",
    ]);
    streamer.wait_for("connected", CONNECT);

    // The page decodes libvpx's VP9 and draws it; Opus from libopus arrives and decodes.
    page.wait_for("alice decodes pi's video and audio", MEDIA, |s| {
        s.peer("pi").is_some_and(|p| p.video_frames >= 10 && p.audio_frames >= 10)
    })
    .await
    .unwrap();
    page.wait_for_drawn_canvas(&dom::tile_canvas("pi"), MEDIA).await.unwrap();

    // The CLI records what the page encoded with WebCodecs (VP9 and Opus).
    page.wait_for("alice has sent video and audio", MEDIA, |s| {
        s.sent.video >= 30 && s.sent.audio >= 50
    })
    .await
    .unwrap();
    recorder.terminate();
    let recording = recorder.wait(Duration::from_secs(20));
    assert!(recording.status.success(), "{}", recording.stderr);
    assert_eq!(number(&recording.stdout, "participants"), 2, "{}", recording.stdout);

    let (header, frames) = ivf::read(File::open(recorded(&dir, "alice", "ivf")).unwrap()).unwrap();
    assert_eq!(header.codec, Codec::Vp9);
    assert!(frames.len() >= 10, "only {} frames of alice recorded", frames.len());
    let mut decoder = Decoder::new(Codec::Vp9, 1).unwrap();
    let mut decoded = 0;
    for frame in &frames {
        decoded += decoder.decode(&frame.data).map_or(0, |pictures| pictures.len());
    }
    assert!(
        decoded * 10 >= frames.len() * 9,
        "{decoded} of {} browser frames decode",
        frames.len()
    );
    let audio = ogg_opus::read(File::open(recorded(&dir, "alice", "opus")).unwrap()).unwrap();
    assert!(audio.packets.len() >= 20, "only {} audio packets of alice", audio.packets.len());
    let mut decoder = opus::Decoder::new().unwrap();
    for packet in &audio.packets {
        assert!(decoder.decode(packet).is_ok());
    }

    streamer.terminate();
    let streamed = streamer.wait(Duration::from_secs(20));
    assert!(streamed.status.success(), "{}", streamed.stderr);
    page.close().await.unwrap();
}
