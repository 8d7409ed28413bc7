//! A participant in headless Firefox ESR and one in headless Chromium see and hear each other
//! through the all-in-one server (needs `make ui` first).
//!
//! Firefox has WebCodecs and WebTransport but no `MediaStreamTrackProcessor`, so its camera
//! goes through the app's fallback capture (a hidden `<video>` element, one `VideoFrame` per
//! presented frame) and its microphone through a Web Audio `ScriptProcessorNode`.

mod common;

use common::{MEDIA, connected, join, sees_and_hears};
use e2e::{Browser, Firefox, Page, Server, Transport, TransportChoice};
use serde_json::Value;

/// What the page's browser offers of the APIs the app chooses between.
const FEATURES_JS: &str = r#"
return {
  userAgent: navigator.userAgent,
  trackProcessor: typeof MediaStreamTrackProcessor !== 'undefined',
  webTransport: typeof WebTransport !== 'undefined',
  videoEncoder: typeof VideoEncoder !== 'undefined',
};
"#;

/// `me` decodes `peer`'s audio (not only receives its packets): Opus decoding and playout run.
async fn decodes_audio(page: &Page, me: &str, peer: &str) -> anyhow::Result<()> {
    let desc = format!("{me} decodes {peer}'s audio");
    page.wait_for(&desc, MEDIA, |s| s.peer(peer).is_some_and(|p| p.audio_frames > 0)).await?;
    Ok(())
}

/// Firefox joins over `firefox_transport`, Chromium over the other transport; each sees and
/// hears the other.
async fn firefox_meets_chromium(
    meeting: &str,
    firefox_transport: Transport,
    chromium_transport: Transport,
) -> anyhow::Result<()> {
    let server = Server::app(|_| {}).await?;
    let browser = Browser::start().await?;
    let firefox = Firefox::start(&browser).await?;

    let fox = firefox.page(&server).await?;
    fox.open_meeting("fox", meeting, TransportChoice::Only(firefox_transport)).await?;
    let features = fox.eval(FEATURES_JS, vec![]).await?;
    eprintln!("firefox offers: {features}");
    // What this test is about: Firefox publishes through the fallback capture.
    assert_eq!(features["trackProcessor"], Value::Bool(false), "{features}");
    fox.join().await?;
    let chrome =
        join(&browser, &server, "chrome", meeting, TransportChoice::Only(chromium_transport))
            .await?;

    connected(&fox, "fox", Some(firefox_transport)).await?;
    connected(&chrome, "chrome", Some(chromium_transport)).await?;
    sees_and_hears(&chrome, "chrome", "fox").await?;
    sees_and_hears(&fox, "fox", "chrome").await?;
    decodes_audio(&chrome, "chrome", "fox").await?;
    decodes_audio(&fox, "fox", "chrome").await?;

    for (page, user) in [(&fox, "fox"), (&chrome, "chrome")] {
        let state = page.state().await?;
        eprintln!("{user}: {state:?}");
        // Still on the transport it was told to use.
        assert!(state.is_some_and(|s| s.connected_over(if user == "fox" {
            firefox_transport
        } else {
            chromium_transport
        })));
    }
    fox.close().await?;
    chrome.close().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn firefox_over_webtransport_and_chromium_see_and_hear_each_other() -> anyhow::Result<()> {
    firefox_meets_chromium("ff1", Transport::WebTransport, Transport::WebSocket).await
}

#[tokio::test(flavor = "multi_thread")]
async fn firefox_over_websocket_and_chromium_see_and_hear_each_other() -> anyhow::Result<()> {
    firefox_meets_chromium("ff2", Transport::WebSocket, Transport::WebTransport).await
}
