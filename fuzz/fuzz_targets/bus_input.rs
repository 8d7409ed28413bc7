//! The relay's bus input path: another "instance" publishes forged presence events, rosters and
//! stamped packets into a room. Whatever it sends, nothing may panic, a local participant only
//! ever receives packets clients can parse, and the room never holds more participants than its
//! size limit, each with a valid user id.
//!
//! Input: records `[kind, session, other, len, bytes…]`; `kind` picks what is published (see
//! `message`), `session` the subject's session, `other` the session named inside the message.

#![no_main]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use bytes::Bytes;
use futures::FutureExt;
use libfuzzer_sys::fuzz_target;
use protobuf::Message;
use videocall_relay::bus::{Bus, LocalBus, LocalHub};
use videocall_relay::control::{Peer, Presence};
use videocall_relay::{ConnectionLimits, Relay, RelayConfig};
use videocall_types::protos::server_packet::server_packet::Event;
use videocall_types::{PacketType, PacketWrapper, RoomId, ServerPacket, SessionId, UserId};
use videocall_types::{subject, wire};

/// Small, so that filling the room is within the fuzzer's reach.
const ROOM_SIZE: usize = 8;

struct World {
    runtime: tokio::runtime::Runtime,
    relay: Relay,
    foreign: LocalBus,
}

impl World {
    fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a tokio runtime"); // ok: harness set-up, not fuzzed input
        let hub = LocalHub::new();
        let connections = ConnectionLimits { max_room_size: ROOM_SIZE, ..Default::default() };
        let config = RelayConfig { connections, ..RelayConfig::default() };
        let (relay, driver) = Relay::new(Arc::new(hub.connect()), config);
        runtime.spawn(driver.run());
        Self { runtime, relay, foreign: hub.connect() }
    }

    fn run(&self, data: &[u8]) {
        self.runtime.block_on(async {
            // ok: the expects below are harness constants and set-up, not fuzzed input; the
            // asserts are the properties under test (a panic is how libFuzzer reports a finding).
            let room = RoomId::new("fuzz").expect("valid room");
            let join = |user: &str| {
                let permit = self.relay.admit(IpAddr::V4(Ipv4Addr::LOCALHOST)).expect("admitted");
                let user = UserId::new(user).expect("valid user");
                self.relay.join(permit, user, room.clone(), true)
            };
            let alice = join("alice").await.expect("an empty room has room");
            let receiver = alice.receiver();
            for (subject, payload) in records(data).map(|r| message(&room, r)) {
                let _ = self.foreign.publish(subject, payload).await;
            }
            for _ in 0..8 {
                tokio::task::yield_now().await;
            }
            let mut batch = Vec::new();
            while let Some(Ok(())) = receiver.next_batch(&mut batch, 64).now_or_never() {
                for packet in batch.drain(..) {
                    PacketWrapper::parse_from_bytes(&packet).expect("alice can parse what she gets");
                }
            }
            // A newcomer is welcomed with everyone the room holds: never more than fits.
            // (When forged participants filled it, the join is refused: also fine.)
            if let Some(welcome) = join("bob").await.ok().as_ref().and_then(welcome_of) {
                assert!(welcome.len() < ROOM_SIZE, "{} participants", welcome.len());
                for user in welcome {
                    assert!(UserId::new(&user).is_ok(), "invalid user id {user:?} admitted");
                }
            }
        });
    }
}

/// The user ids a session's welcome names (it is full only while the room is).
fn welcome_of(session: &videocall_relay::Session) -> Option<Vec<String>> {
    let mut batch = Vec::new();
    session.receiver().next_batch(&mut batch, 1).now_or_never()?.ok()?;
    let wrapper = PacketWrapper::parse_from_bytes(batch.first()?).ok()?;
    if wrapper.packet_type.enum_value() != Ok(PacketType::SERVER) {
        return None;
    }
    match ServerPacket::parse_from_bytes(&wrapper.data).ok()?.event? {
        Event::Welcome(welcome) => {
            Some(welcome.participants.iter().map(|p| p.user_id.clone()).collect())
        }
        _ => None,
    }
}

struct Record<'a> {
    kind: u8,
    session: u64,
    other: u64,
    bytes: &'a [u8],
}

/// Splits the input into records.
fn records(mut data: &[u8]) -> impl Iterator<Item = Record<'_>> {
    std::iter::from_fn(move || {
        let (&[kind, session, other, len], rest) = data.split_first_chunk::<4>()?;
        let (bytes, rest) = rest.split_at(usize::from(len).min(rest.len()));
        data = rest;
        Some(Record { kind, session: u64::from(session) + 1, other: u64::from(other) + 1, bytes })
    })
}

fn sid(n: u64) -> SessionId {
    SessionId::new(n.max(1)).expect("non-zero") // ok: made non-zero on the line
}

/// The subject and payload a record publishes.
fn message(room: &RoomId, record: Record<'_>) -> (String, Bytes) {
    let (session, other) = (sid(record.session), sid(record.other));
    let text = String::from_utf8_lossy(record.bytes).into_owned();
    let peer = |session| Peer::new(session, &text);
    let presence = |event: Presence| (subject::presence(room, session), event.encode());
    match record.kind % 8 {
        0 => (subject::media(room, session), Bytes::copy_from_slice(record.bytes)),
        1 => (subject::presence(room, session), Bytes::copy_from_slice(record.bytes)),
        2 => presence(Presence::Joined(peer(other))),
        3 => presence(Presence::Left(peer(other))),
        4 => {
            let peers = record.bytes.chunks(3).enumerate().map(|(n, name)| {
                Peer::new(sid(record.other + n as u64), &String::from_utf8_lossy(name))
            });
            presence(Presence::Roster(peers.collect()))
        }
        5 => presence(Presence::Sync),
        6 => {
            let media_type = i32::from(record.bytes.first().copied().unwrap_or(0));
            presence(Presence::KeyframeRequest(media_type))
        }
        _ => {
            let wrapper = PacketWrapper {
                packet_type: protobuf::EnumOrUnknown::from_i32(i32::from(record.other as u8 % 8)),
                data: record.bytes.to_vec(),
                ..Default::default()
            };
            let plain = wrapper.write_to_bytes().unwrap_or_default();
            let stamped = wire::stamp(&plain, &text, other.get()).unwrap_or_default();
            (subject::media(room, session), Bytes::from(stamped))
        }
    }
}

thread_local! {
    static WORLD: World = World::new();
}

fuzz_target!(|data: &[u8]| {
    WORLD.with(|world| world.run(data));
});
