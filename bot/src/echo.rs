//! Echo mode: N fake participants join a room and each re-sends what one real participant
//! (`echo_user`) sends, as its own stream — a way to fill a browser's grid for UI testing.
//!
//! The server stamps each echo with the bot's identity; a plaintext `MediaPacket` also gets the
//! bot's name in its inner `email`. Encrypted media cannot be mirrored usefully (bots hold no
//! keys), and key exchange packets are not mirrored.

use std::future::Future;
use std::time::Duration;

use protobuf::Message;
use videocall_client::{Client, ClientHandle, ClientOptions, Event, Events};
use videocall_types::{MediaPacket, MediaType, PacketType, PacketWrapper, RoomId, UserId};

use crate::load::LoadError;
use crate::target::Server;

/// An echo run.
#[derive(Debug, Clone)]
pub struct EchoPlan {
    /// The server to join.
    pub server: Server,
    /// The room.
    pub room: String,
    /// Whose packets to mirror.
    pub echo_user: String,
    /// How many mirrors.
    pub count: usize,
    /// Prefix of the mirrors' user ids (`{prefix}{i}`).
    pub prefix: String,
    /// Pause between two joins.
    pub ramp_gap: Duration,
}

/// What the mirrors did, added up.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct EchoStats {
    /// Packets of the echoed user received.
    pub received: u64,
    /// Packets re-sent.
    pub echoed: u64,
    /// Packets the client refused to send.
    pub refused: u64,
}

/// The packet a mirror named `me` sends for a packet of the echoed user; `None` for packets not
/// worth mirroring (not media, heartbeats).
pub fn mirror(wrapper: &PacketWrapper, me: &UserId) -> Option<PacketWrapper> {
    if wrapper.packet_type.value() != PacketType::MEDIA as i32 {
        return None;
    }
    let mut out = wrapper.clone();
    out.email = me.as_str().to_owned();
    out.session_id = 0;
    if let Ok(mut media) = MediaPacket::parse_from_bytes(&wrapper.data) {
        if media.media_type.value() == MediaType::HEARTBEAT as i32 {
            return None; // the mirror's own client sends heartbeats
        }
        media.email = me.as_str().to_owned();
        out.data = media.write_to_bytes().ok()?;
    }
    Some(out)
}

/// Runs the mirrors until `stop` resolves.
pub async fn run(plan: EchoPlan, stop: impl Future<Output = ()>) -> Result<EchoStats, LoadError> {
    let room = RoomId::new(&plan.room)?;
    let mut tasks = Vec::with_capacity(plan.count);
    let mut handles = Vec::with_capacity(plan.count);
    for i in 0..plan.count {
        let me = UserId::new(&format!("{}{i}", plan.prefix))?;
        let options = ClientOptions::new(me.clone(), room.clone(), plan.server.choice());
        let (handle, events, driver) = Client::new(options)?;
        handle.set_enabled(true, true, false);
        tokio::spawn(driver);
        tasks.push(tokio::spawn(mirror_loop(handle.clone(), events, plan.echo_user.clone())));
        handles.push(handle);
        tokio::time::sleep(plan.ramp_gap).await;
    }
    stop.await;
    let mut total = EchoStats::default();
    for handle in &handles {
        handle.close();
    }
    for task in tasks {
        if let Ok(stats) = task.await {
            total.received += stats.received;
            total.echoed += stats.echoed;
            total.refused += stats.refused;
        }
    }
    Ok(total)
}

async fn mirror_loop(handle: ClientHandle, mut events: Events, echo_user: String) -> EchoStats {
    let mut stats = EchoStats::default();
    while let Some(event) = events.recv().await {
        let Event::Packet { wrapper, .. } = event else { continue };
        if wrapper.email != echo_user {
            continue;
        }
        stats.received += 1;
        if let Some(packet) = mirror(&wrapper, handle.user()) {
            match handle.send(packet) {
                Ok(()) => stats.echoed += 1,
                Err(_) => stats.refused += 1,
            }
        }
    }
    stats
}

#[cfg(test)]
mod tests {
    use super::*;
    use videocall_client::packet;

    #[test]
    fn a_mirror_speaks_as_itself_and_skips_heartbeats() {
        let alice = UserId::new("alice").unwrap();
        let bot = UserId::new("echo3").unwrap();
        let media = crate::probe::video(5, true, 10, 1);
        let wrapper = packet::media(&alice, media).unwrap();
        let echoed = mirror(&wrapper, &bot).unwrap();
        assert_eq!(echoed.email, "echo3");
        let inner = MediaPacket::parse_from_bytes(&echoed.data).unwrap();
        assert_eq!((inner.email.as_str(), inner.video_metadata.sequence), ("echo3", 5));
        assert_eq!(echoed.route, wrapper.route, "the routing header is kept");

        let heartbeat = packet::heartbeat(&alice, Default::default(), 1.0).unwrap();
        assert_eq!(mirror(&heartbeat, &bot), None);
        let key = PacketWrapper { packet_type: PacketType::AES_KEY.into(), ..Default::default() };
        assert_eq!(mirror(&key, &bot), None);
        let encrypted = PacketWrapper {
            packet_type: PacketType::MEDIA.into(),
            data: vec![0xff; 3],
            ..Default::default()
        };
        assert_eq!(mirror(&encrypted, &bot).unwrap().data, vec![0xff; 3]);
    }
}
