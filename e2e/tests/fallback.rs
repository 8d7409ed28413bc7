//! When WebTransport cannot be reached the page falls back to WebSocket and the call still
//! works (needs `make ui` first).

mod common;

use std::net::UdpSocket;
use std::time::Duration;

use common::{join, sees_and_hears};
use e2e::{Browser, Server, Transport, TransportChoice};

/// Liveness limit for giving up on WebTransport and connecting over WebSocket: the app's own
/// handshake timeout plus loading, with room to spare.
const FALLBACK: Duration = Duration::from_secs(45);

/// Two participants on the default transport choice against a server that advertises
/// `webtransport_url`, which does not work: both end up on WebSocket and see each other.
async fn call_falls_back(webtransport_url: String, meeting: &str) -> anyhow::Result<()> {
    let server = Server::app(|c| c.webtransport_url = Some(webtransport_url)).await?;
    let browser = Browser::start().await?;
    let alice = join(&browser, &server, "alice", meeting, TransportChoice::Auto).await?;
    let bob = join(&browser, &server, "bob", meeting, TransportChoice::Auto).await?;
    for (page, user) in [(&alice, "alice"), (&bob, "bob")] {
        page.wait_for(&format!("{user} falls back to websocket"), FALLBACK, |s| {
            s.connected_over(Transport::WebSocket)
        })
        .await?;
    }
    sees_and_hears(&alice, "alice", "bob").await?;
    sees_and_hears(&bob, "bob", "alice").await?;
    alice.close().await?;
    bob.close().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn blocked_webtransport_falls_back_to_websocket() -> anyhow::Result<()> {
    // A UDP port nobody listens on: the QUIC handshake is refused (ICMP port unreachable).
    let closed = UdpSocket::bind("127.0.0.1:0")?.local_addr()?;
    call_falls_back(format!("https://{closed}"), "m5").await
}

#[tokio::test(flavor = "multi_thread")]
async fn unanswered_webtransport_falls_back_to_websocket() -> anyhow::Result<()> {
    // A UDP port that swallows every datagram, like a firewall dropping UDP: the handshake
    // never completes and only the app's timeout ends the attempt.
    let silent = UdpSocket::bind("127.0.0.1:0")?;
    call_falls_back(format!("https://{}", silent.local_addr()?), "m5b").await?;
    drop(silent);
    Ok(())
}
