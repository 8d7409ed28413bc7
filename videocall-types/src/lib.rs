//! The videocall wire format: protobuf messages, validated ids, bus subject names and a
//! zero-copy envelope reader for relays.
//!
//! Everything here is plain data with no I/O, and compiles for `wasm32-unknown-unknown`.

pub mod close;
pub mod framing;
pub mod id;
pub mod subject;
pub mod wire;

pub use close::CloseReason;
pub use id::{DisplayName, IdError, NameError, RoomId, SessionId, UserId};

/// Messages generated at build time from `proto/*.proto` (rust-protobuf 3, pure parser).
#[allow(missing_docs, unreachable_pub, clippy::all, clippy::unwrap_used)]
pub mod protos {
    include!(concat!(env!("OUT_DIR"), "/protos/mod.rs"));
}

pub use protos::media_packet::MediaPacket;
pub use protos::media_packet::media_packet::MediaType;
pub use protos::packet_wrapper::packet_wrapper::PacketType;
pub use protos::packet_wrapper::{PacketWrapper, RoutingHeader};
pub use protos::server_packet::{PresenceEvent, ServerPacket};
