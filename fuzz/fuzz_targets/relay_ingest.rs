//! The relay's ingest path, bytes in → actions out: a client session and a foreign bus publisher
//! feed arbitrary packets into one room; another session's queue must only ever hold packets
//! clients can parse, and nothing may panic.
//!
//! Input: a sequence of records `[selector, len_lo, len_hi, bytes…]`. An even selector sends the
//! bytes as alice's client packet; an odd one publishes them on the bus, on the media or presence
//! subject of session `selector / 4 + 1`.

#![no_main]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use futures::FutureExt;
use libfuzzer_sys::fuzz_target;
use protobuf::Message;
use videocall_relay::bus::{Bus, LocalBus, LocalHub};
use videocall_relay::{RateLimit, Relay, RelayConfig};
use videocall_types::{PacketWrapper, RoomId, SessionId, UserId, subject};

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
        let config = RelayConfig {
            max_packet_bytes: 64 * 1024,
            rate: RateLimit { packets_per_sec: 1_000_000, bytes_per_sec: u32::MAX, burst_secs: 1 },
            ..RelayConfig::default()
        };
        let (relay, driver) = Relay::new(Arc::new(hub.connect()), config);
        runtime.spawn(driver.run());
        Self { runtime, relay, foreign: hub.connect() }
    }

    fn run(&self, data: &[u8]) {
        self.runtime.block_on(async {
            // ok: the expects below are harness constants and set-up, not fuzzed input; the last
            // one is the property under test (a panic is how libFuzzer reports a finding).
            let room = RoomId::new("fuzz").expect("valid room");
            let join = |user: &str, ext| {
                let permit = self.relay.admit(IpAddr::V4(Ipv4Addr::LOCALHOST)).expect("admitted");
                self.relay.join(permit, UserId::new(user).expect("valid user"), room.clone(), ext)
            };
            let mut alice = join("alice", true).await.expect("join");
            let bob = join("bob", false).await.expect("join");
            let receiver = bob.receiver();
            let mut alice_open = true;
            for (selector, bytes) in records(data) {
                if selector % 2 == 0 {
                    if alice_open && alice.handle_packet(bytes).is_err() {
                        alice_open = false;
                    }
                } else {
                    let session = SessionId::new(u64::from(selector / 4) + 1).expect("non-zero");
                    let subject = if selector % 4 == 1 {
                        subject::media(&room, session)
                    } else {
                        subject::presence(&room, session)
                    };
                    let _ = self.foreign.publish(subject, bytes.to_vec().into()).await;
                }
            }
            // Let the room's bus pump handle what was published.
            for _ in 0..8 {
                tokio::task::yield_now().await;
            }
            let mut batch = Vec::new();
            while let Some(Ok(())) = receiver.next_batch(&mut batch, 64).now_or_never() {
                for packet in batch.drain(..) {
                    PacketWrapper::parse_from_bytes(&packet).expect("bob can parse what he gets");
                }
            }
        });
    }
}

/// Splits the input into `(selector, bytes)` records.
fn records(mut data: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    std::iter::from_fn(move || {
        let (&[selector, lo, hi], rest) = data.split_first_chunk::<3>()?;
        let len = usize::from(u16::from_le_bytes([lo, hi])).min(rest.len());
        let (bytes, rest) = rest.split_at(len);
        data = rest;
        Some((selector, bytes))
    })
}

thread_local! {
    static WORLD: World = World::new();
}

fuzz_target!(|data: &[u8]| {
    WORLD.with(|world| world.run(data));
});
