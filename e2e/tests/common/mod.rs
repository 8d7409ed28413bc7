//! Steps the meeting tests share: joining a meeting, and seeing and hearing a peer.
//!
//! The limits here are liveness limits (a wasm app loading and two headless Chromiums encoding
//! on 2 shared cores), not performance targets; the issue's own deadlines are in the tests.

#![allow(dead_code)] // each test binary uses a subset

use std::time::Duration;

use e2e::{Browser, Page, Server, State, Transport, TransportChoice, dom};

/// Loading the app, the pre-join screen, joining and connecting.
pub(crate) const CONNECT: Duration = Duration::from_secs(30);
/// First decoded media, and counters rising after that.
pub(crate) const MEDIA: Duration = Duration::from_secs(20);

/// Opens a fresh Chromium on `/meeting/{user}/{meeting}` and clicks join.
pub(crate) async fn join(
    browser: &Browser,
    server: &Server,
    user: &str,
    meeting: &str,
    transport: TransportChoice,
) -> anyhow::Result<Page> {
    let page = browser.page(server).await?;
    page.open_meeting(user, meeting, transport).await?;
    page.join().await?;
    Ok(page)
}

/// Waits until `user`'s page is connected, over `transport` when given.
pub(crate) async fn connected(
    page: &Page,
    user: &str,
    transport: Option<Transport>,
) -> anyhow::Result<State> {
    let desc = match transport {
        Some(t) => format!("{user} is connected over {}", t.as_str()),
        None => format!("{user} is connected"),
    };
    Ok(page
        .wait_for(&desc, CONNECT, |s| match transport {
            Some(t) => s.connected_over(t),
            None => s.connected,
        })
        .await?)
}

/// `me` shows `peer`'s tile, decodes its video with the counter still rising, draws it (the
/// canvas is not one flat colour), and receives its audio packets with that counter rising.
pub(crate) async fn sees_and_hears(page: &Page, me: &str, peer: &str) -> anyhow::Result<()> {
    page.wait_for_count(&dom::tile(peer), 1, MEDIA).await?;
    let desc = format!("{me} decodes {peer}'s video and receives {peer}'s audio");
    let first = page
        .wait_for(&desc, MEDIA, |s| {
            s.peer(peer).is_some_and(|p| p.video_frames > 0 && p.audio_packets > 0)
        })
        .await?;
    let before = first.peer(peer).cloned().expect("the condition found the peer");
    let desc = format!("{me}'s counts of {peer}'s video frames and audio packets keep rising");
    page.wait_for(&desc, MEDIA, |s| {
        s.peer(peer).is_some_and(|p| {
            p.video_frames > before.video_frames && p.audio_packets > before.audio_packets
        })
    })
    .await?;
    page.wait_for_drawn_canvas(&dom::tile_canvas(peer), MEDIA).await?;
    Ok(())
}
