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
use videocall_types::protos::media_packet::{AudioMetadata, VideoMetadata};
use videocall_types::{
    MediaPacket, MediaType, PacketType, PacketWrapper, RoomId, RoutingHeader, UserId,
};

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

/// Bad media from `mallory`, each kind a receiver must survive: bytes that are no `MediaPacket`
/// at all (behind a valid routing header, as encrypted media would be), a key frame that is no
/// VP8/VP9, and an Opus packet of noise.
fn garbage(sequence: u64) -> Vec<PacketWrapper> {
    let noise: Vec<u8> = (0..600u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let route = |media_type: MediaType| RoutingHeader {
        media_type: media_type.into(),
        keyframe: true,
        sequence,
        ..Default::default()
    };
    let not_protobuf = PacketWrapper {
        packet_type: PacketType::MEDIA.into(),
        data: vec![0xff; 64],
        route: protobuf::MessageField::some(route(MediaType::VIDEO)),
        ..Default::default()
    };
    let bad_video = MediaPacket {
        media_type: MediaType::VIDEO.into(),
        frame_type: "key".into(),
        data: noise.clone(),
        video_metadata: protobuf::MessageField::some(VideoMetadata {
            sequence,
            ..Default::default()
        }),
        ..Default::default()
    };
    let bad_audio = MediaPacket {
        media_type: MediaType::AUDIO.into(),
        frame_type: "key".into(),
        data: noise,
        audio_metadata: protobuf::MessageField::some(AudioMetadata {
            audio_number_of_channels: 1,
            audio_sample_rate: 48_000.0,
            sequence,
            ..Default::default()
        }),
        ..Default::default()
    };
    let wrap = |media: MediaPacket| {
        videocall_client::packet::media(&UserId::new("mallory").expect("valid id"), media)
            .expect("encodable")
    };
    vec![not_protobuf, wrap(bad_video), wrap(bad_audio)]
}

#[tokio::test(flavor = "multi_thread")]
async fn a_peers_malformed_media_is_counted_and_breaks_nothing() -> anyhow::Result<()> {
    let server = Server::app(|_| {}).await?;
    let browser = e2e::Browser::start().await?;
    let alice = join(&browser, &server, "alice", "m7", TransportChoice::Auto).await?;
    let bob = join(&browser, &server, "bob", "m7", TransportChoice::Auto).await?;
    connected(&alice, "alice", None).await?;
    alice
        .wait_for("alice decodes bob", MEDIA, |s| s.peer("bob").is_some_and(|p| p.video_frames > 5))
        .await?;

    let websocket = Url::parse(&format!("ws://{}", server.http_addr()))?;
    let options = ClientOptions::new(
        UserId::new("mallory")?,
        RoomId::new("m7")?,
        videocall_client::TransportChoice::WebSocket { url: websocket },
    );
    let (handle, mut events, driver) = Client::new(options)?;
    let driver = tokio::spawn(driver);
    while !matches!(events.recv().await, Some(Event::Connected { .. }) | None) {}
    alice.wait_for("alice lists mallory", MEDIA, |s| s.peer("mallory").is_some()).await?;
    for sequence in 0..20 {
        for wrapper in garbage(sequence) {
            handle.send(wrapper)?;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Every kind of bad packet is counted, and the page still decodes bob as before.
    let before = alice.state().await?.and_then(|s| s.peer("bob").map(|p| p.video_frames));
    alice
        .wait_for("alice counts mallory's bad packets", MEDIA, |s| {
            s.peer("mallory").is_some_and(|p| p.malformed >= 20)
        })
        .await?;
    alice
        .wait_for("alice keeps decoding bob", MEDIA, |s| {
            s.peer("bob").is_some_and(|p| Some(p.video_frames) > before.map(|b| b + 10))
        })
        .await?;
    bob.wait_for("bob keeps decoding alice", MEDIA, |s| {
        s.peer("alice").is_some_and(|p| p.video_frames > 10)
    })
    .await?;

    handle.close();
    tokio::time::timeout(Duration::from_secs(5), async {
        while events.recv().await.is_some() {}
        driver.await
    })
    .await??;
    alice.close().await?;
    bob.close().await?;
    Ok(())
}
