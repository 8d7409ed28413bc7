//! Participants in real headless Chromium see and hear each other through the all-in-one
//! server: the browser app end to end (needs `make ui` first).

mod common;

use std::time::Duration;

use common::{CONNECT, MEDIA, connected, join, sees_and_hears};
use e2e::{Browser, Server, Transport, TransportChoice, dom};

/// Issue #3: a late joiner gets video within 2 s of connecting (a keyframe on join).
const LATE_JOINER_FIRST_FRAME: Duration = Duration::from_secs(2);
/// Issue #3: the others remove a leaver's tile within 1 s.
const TILE_REMOVED: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread")]
async fn two_participants_see_and_hear_each_other() -> anyhow::Result<()> {
    let server = Server::app(|_| {}).await?;
    let browser = Browser::start().await?;
    let alice =
        join(&browser, &server, "alice", "m1", TransportChoice::Only(Transport::WebTransport))
            .await?;
    let bob =
        join(&browser, &server, "bob", "m1", TransportChoice::Only(Transport::WebSocket)).await?;

    connected(&alice, "alice", Some(Transport::WebTransport)).await?;
    connected(&bob, "bob", Some(Transport::WebSocket)).await?;
    sees_and_hears(&alice, "alice", "bob").await?;
    sees_and_hears(&bob, "bob", "alice").await?;

    // Still on the transports they were told to use: nobody fell back or switched.
    assert!(alice.state().await?.is_some_and(|s| s.connected_over(Transport::WebTransport)));
    assert!(bob.state().await?.is_some_and(|s| s.connected_over(Transport::WebSocket)));
    alice.close().await?;
    bob.close().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn late_joiner_gets_video_quickly() -> anyhow::Result<()> {
    let server = Server::app(|_| {}).await?;
    let browser = Browser::start().await?;
    let alice = join(&browser, &server, "alice", "m2", TransportChoice::Auto).await?;
    let bob = join(&browser, &server, "bob", "m2", TransportChoice::Auto).await?;
    sees_and_hears(&alice, "alice", "bob").await?;
    sees_and_hears(&bob, "bob", "alice").await?;

    // Well past the first keyframes, so carol's first frame needs a keyframe sent for her.
    let carol = browser.page(&server).await?;
    carol.open_meeting("carol", "m2", TransportChoice::Auto).await?;
    carol.join().await?;
    connected(&carol, "carol", None).await?;
    let since = std::time::Instant::now();
    carol
        .wait_for(
            "carol decodes a frame of alice and of bob within 2 s of connecting",
            LATE_JOINER_FIRST_FRAME,
            |s| ["alice", "bob"].iter().all(|u| s.peer(u).is_some_and(|p| p.video_frames > 0)),
        )
        .await?;
    eprintln!("carol decoded both peers {:?} after connecting", since.elapsed());
    carol.wait_for_drawn_canvas(&dom::tile_canvas("alice"), MEDIA).await?;
    carol.wait_for_drawn_canvas(&dom::tile_canvas("bob"), MEDIA).await?;
    for page in [alice, bob, carol] {
        page.close().await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn screen_share_shows_as_a_tile() -> anyhow::Result<()> {
    let server = Server::app(|_| {}).await?;
    let browser = Browser::start().await?;
    let alice = join(&browser, &server, "alice", "m3", TransportChoice::Auto).await?;
    let bob = join(&browser, &server, "bob", "m3", TransportChoice::Auto).await?;
    sees_and_hears(&bob, "bob", "alice").await?;
    assert_eq!(bob.count(&dom::screen_tile("alice")).await?, 0, "no screen tile before sharing");

    // A real click (browsers may require a user gesture for getDisplayMedia). Headless
    // Chromium answers with its fake screen (see README: --use-fake-ui-for-media-stream).
    alice.click(dom::SCREEN_BUTTON).await?;
    alice.wait_for("alice sends screen packets", MEDIA, |s| s.sent.screen > 0).await?;
    bob.wait_for_count(&dom::screen_tile("alice"), 1, MEDIA).await?;
    let first = bob
        .wait_for("bob decodes alice's screen", MEDIA, |s| {
            s.peer("alice").is_some_and(|p| p.screen_frames > 0)
        })
        .await?;
    let before = first.peer("alice").map_or(0, |p| p.screen_frames);
    bob.wait_for("bob's count of alice's screen frames keeps rising", MEDIA, |s| {
        s.peer("alice").is_some_and(|p| p.screen_frames > before)
    })
    .await?;
    bob.wait_for_drawn_canvas(&dom::screen_canvas("alice"), MEDIA).await?;
    // The screen is its own tile: alice's camera tile is still there.
    assert_eq!(bob.count(&dom::tile("alice")).await?, 1);
    alice.close().await?;
    bob.close().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn leaving_removes_the_tile() -> anyhow::Result<()> {
    let server = Server::app(|_| {}).await?;
    let browser = Browser::start().await?;
    let alice = join(&browser, &server, "alice", "m4", TransportChoice::Auto).await?;
    let bob = join(&browser, &server, "bob", "m4", TransportChoice::Auto).await?;
    connected(&bob, "bob", None).await?;
    alice.wait_for_count(&dom::tile("bob"), 1, CONNECT).await?;

    bob.click(dom::LEAVE_BUTTON).await?;
    let since = std::time::Instant::now();
    if let Err(error) = alice.wait_for_count(&dom::tile("bob"), 0, TILE_REMOVED).await {
        // Tell a lost leave notice (gone only after the peer timeout) from a slow one.
        let later = match alice.wait_for_count(&dom::tile("bob"), 0, MEDIA).await {
            Ok(()) => format!("it went {:?} after the click", since.elapsed()),
            Err(_) => format!("it was still there {:?} after the click", since.elapsed()),
        };
        anyhow::bail!("{error}; {later}");
    }
    eprintln!("bob's tile was gone {:?} after the click", since.elapsed());
    alice.wait_for("alice no longer lists bob", MEDIA, |s| s.peer("bob").is_none()).await?;
    alice.close().await?;
    bob.close().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invite_link_asks_for_a_name_and_everyone_sees_the_names() -> anyhow::Result<()> {
    let server = Server::app(|_| {}).await?;
    let browser = Browser::start().await?;
    let host = browser.page(&server).await?;
    host.goto("/meeting/names?transport=websocket").await?;
    // No name, no joining: the pre-join screen says why.
    host.fill(dom::NAME_INPUT, "   ").await?;
    host.join().await?;
    host.wait_for_count(dom::NAME_ERROR, 1, CONNECT).await?;
    host.fill(dom::NAME_INPUT, "Ana Núñez").await?;
    host.join().await?;
    host.wait_for("the host is connected", CONNECT, |s| s.connected).await?;
    let title = host
        .eval("return document.querySelector(arguments[0]).title;", vec![dom::INVITE_BUTTON.into()])
        .await?;
    let invite = title.as_str().unwrap_or_default().to_owned();
    let path = invite.find("/meeting/").map(|at| &invite[at..]).unwrap_or_default();
    assert_eq!(path, "/meeting/names", "{invite}");

    let guest = browser.page(&server).await?;
    guest.goto(&format!("{path}?transport=websocket")).await?;
    guest.fill(dom::NAME_INPUT, "Björn Ødegård 🎻").await?;
    guest.join().await?;
    for (page, name) in [(&host, "Björn Ødegård 🎻"), (&guest, "Ana Núñez")] {
        let mut shown = None;
        let deadline = std::time::Instant::now() + MEDIA;
        while std::time::Instant::now() < deadline {
            shown = page.text(dom::FIRST_PEER_NAME).await?;
            if shown.as_deref().is_some_and(|text| text.starts_with(name)) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(shown.as_deref().is_some_and(|t| t.starts_with(name)), "{name}: {shown:?}");
    }
    // Two tabs of one browser are two participants, each with its own id.
    let state = guest.wait_for("the guest sees one peer", MEDIA, |s| s.peers.len() == 1).await?;
    assert!(state.peers.iter().all(|p| p.user.starts_with("guest-")), "{:?}", state.peers);
    host.close().await?;
    guest.close().await?;
    Ok(())
}
