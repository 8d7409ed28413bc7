//! A native `videocall-client` and the browser app in one meeting: each sees the other (needs
//! `make ui` first).

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{CONNECT, MEDIA, connected, join};
use e2e::{Server, TransportChoice, dom};
use protobuf::Message as _;
use url::Url;
use videocall_client::{Client, ClientOptions, Event, Events, MediaFlags, PeerKey};
use videocall_types::{MediaPacket, MediaType, PacketType, PacketWrapper, RoomId, UserId};

/// Whether `wrapper` is a camera video packet, by its routing header or its plaintext body.
fn is_video(wrapper: &PacketWrapper) -> bool {
    if wrapper.packet_type.enum_value() != Ok(PacketType::MEDIA) {
        return false;
    }
    if let Some(route) = wrapper.route.as_ref() {
        return route.media_type.enum_value() == Ok(MediaType::VIDEO);
    }
    MediaPacket::parse_from_bytes(&wrapper.data)
        .is_ok_and(|media| media.media_type.enum_value() == Ok(MediaType::VIDEO))
}

/// What the native client has learned about `user` from its events so far.
#[derive(Debug, Default)]
struct Seen {
    keys: HashSet<PeerKey>,
    flags: Option<MediaFlags>,
    video_packets: u64,
}

impl Seen {
    fn record(&mut self, user: &str, event: Event) {
        match event {
            Event::Connected { participants, .. } => {
                self.keys.extend(participants.into_iter().filter(|p| p.user == user).map(|p| p.key))
            }
            Event::PeerJoined(peer) if peer.user == user => {
                self.keys.insert(peer.key);
            }
            Event::PeerFlags { peer, flags } if self.keys.contains(&peer) => {
                self.flags = Some(flags);
            }
            Event::Packet { from, wrapper } if self.keys.contains(&from) && is_video(&wrapper) => {
                self.video_packets += 1;
            }
            _ => {}
        }
    }
}

/// Reads the native client's events until `done` holds for what it saw of `user`.
async fn native_sees(
    events: &mut Events,
    seen: &mut Seen,
    user: &str,
    desc: &str,
    done: impl Fn(&Seen) -> bool,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + MEDIA;
    while !done(seen) {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(event)) => seen.record(user, event),
            Ok(None) => anyhow::bail!("the native client stopped while waiting until {desc}"),
            Err(_) => anyhow::bail!("timed out after {MEDIA:?} waiting until {desc}; saw {seen:?}"),
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn native_client_appears_as_a_tile() -> anyhow::Result<()> {
    let server = Server::app(|_| {}).await?;
    let websocket = Url::parse(&format!("ws://{}", server.http_addr()))?;
    let options = ClientOptions::new(
        UserId::new("native")?,
        RoomId::new("m6")?,
        videocall_client::TransportChoice::WebSocket { url: websocket },
    );
    let (handle, mut events, driver) = Client::new(options)?;
    let driver = tokio::spawn(driver);
    // Heartbeats say: microphone on, camera and screen off.
    handle.set_enabled(false, true, false);

    let browser = e2e::Browser::start().await?;
    let alice = join(&browser, &server, "alice", "m6", TransportChoice::Auto).await?;
    connected(&alice, "alice", None).await?;
    alice.wait_for_count(&dom::tile("native"), 1, CONNECT).await?;
    alice.wait_for("alice lists the native client", MEDIA, |s| s.peer("native").is_some()).await?;

    // The other way: the native client hears alice's heartbeats and gets her video packets.
    let mut seen = Seen::default();
    native_sees(&mut events, &mut seen, "alice", "alice's flags say camera and mic on", |s| {
        s.flags.is_some_and(|f| f.video && f.audio)
    })
    .await?;
    native_sees(&mut events, &mut seen, "alice", "video packets arrive from alice", |s| {
        s.video_packets > 0
    })
    .await?;

    alice.close().await?;
    handle.close();
    // Reading on lets the driver deliver its last events and finish.
    tokio::time::timeout(Duration::from_secs(5), async {
        while events.recv().await.is_some() {}
        driver.await
    })
    .await??;
    Ok(())
}
