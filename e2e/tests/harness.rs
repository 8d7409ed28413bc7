//! The harness itself works before the app exists: a tiny static page in real headless
//! Chromium gets the fake camera, the fake screen, and a WebTransport session to the server.

use std::time::Duration;

use e2e::{Browser, Check, Page, Server, Transport, live_processes_in_group, wait_until};
use serde_json::Value;

/// Liveness limit for each step of the page (a few hundred milliseconds when healthy).
const STEP: Duration = Duration::from_secs(20);

/// Serves `pages/selftest.html` (and its script) as the index of a temporary UI directory.
async fn selftest_server() -> anyhow::Result<(Server, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("index.html"), include_str!("pages/selftest.html"))?;
    std::fs::write(dir.path().join("selftest.js"), include_str!("pages/selftest.js"))?;
    Ok((Server::static_dir(dir.path()).await?, dir))
}

/// Polls the page's `window.selfTest()` until `field` leaves "pending"; returns its value.
async fn settled(page: &Page, field: &str) -> anyhow::Result<Value> {
    let desc = format!("the self-test page settles {field}");
    Ok(wait_until(&desc, STEP, async || {
        let json = page.eval("return window.selfTest ? window.selfTest() : null", vec![]).await?;
        let result: Value = serde_json::from_str(json.as_str().unwrap_or("null")).map_err(|e| {
            e2e::Error::Unexpected { what: "selfTest()".into(), value: e.to_string() }
        })?;
        Ok(match &result[field] {
            Value::String(s) if s == "pending" || s == "idle" => Check::NotYet(result.to_string()),
            Value::String(s) if s == "ready" => Check::NotYet(result.to_string()),
            Value::Null => Check::NotYet(result.to_string()),
            _ => Check::Done(result),
        })
    })
    .await?)
}

#[tokio::test(flavor = "multi_thread")]
async fn headless_chromium_has_fake_camera_and_webtransport() -> anyhow::Result<()> {
    let (server, _dir) = selftest_server().await?;
    let wt = server.webtransport_addr().expect("all-in-one serves WebTransport");
    let browser = Browser::start().await?;
    let page = browser.page(&server).await?;
    page.goto(&format!("/?wt={}", wt.port())).await?;

    let camera = settled(&page, "camera").await?;
    assert!(camera["camera"].as_str().is_some_and(|s| s.starts_with("live")), "{camera}");
    page.wait_for_drawn_canvas("#camera", STEP).await?;

    let transport = settled(&page, "webtransport").await?;
    assert_eq!(transport["webtransport"], "received", "{transport}");
    assert!(transport["welcomeBytes"].as_u64().is_some_and(|n| n > 0), "{transport}");

    // The page also reports itself in the app's `window.videocallState()` format.
    let state = page
        .wait_for("the page reports itself connected and drawing", STEP, |s| {
            s.connected_over(Transport::WebTransport) && s.sent.video > 0
        })
        .await?;
    assert!(state.peers.is_empty(), "{state:?}");

    page.close().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn headless_chromium_shares_a_fake_screen() -> anyhow::Result<()> {
    let (server, _dir) = selftest_server().await?;
    let browser = Browser::start().await?;
    let page = browser.page(&server).await?;
    let wt = server.webtransport_addr().expect("all-in-one serves WebTransport");
    page.goto(&format!("/?wt={}", wt.port())).await?;

    // A real click, as on the app's #screen-button (browsers may require a user gesture).
    page.click("#share").await?;
    let screen = settled(&page, "screen").await?;
    assert!(screen["screen"].as_str().is_some_and(|s| s.starts_with("live")), "{screen}");
    page.wait_for_drawn_canvas("#screen", STEP).await?;

    page.close().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn dropping_the_browser_leaves_no_chromium_running() -> anyhow::Result<()> {
    let (server, _dir) = selftest_server().await?;
    let browser = Browser::start().await?;
    let group = browser.process_group();
    // Two pages left open, as when a test fails half-way.
    let _left_open = (browser.page(&server).await?, browser.page(&server).await?);
    let running = live_processes_in_group(group);
    assert!(running.len() > 2, "chromedriver and its browsers share a group: {running:?}");

    drop(browser);
    let survivors = live_processes_in_group(group);
    assert!(survivors.is_empty(), "still running after drop: {survivors:?}");
    Ok(())
}
