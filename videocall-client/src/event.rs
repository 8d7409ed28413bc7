//! What the client tells the application: the public [`Event`] enum and the peer types in it.

use std::fmt;
use std::time::Duration;

use videocall_types::{CloseReason, MediaType, PacketWrapper, SessionId};

/// How a peer is identified: by the session id the server stamped on its packets, or, behind an
/// old server that stamps none, by the sender's `email`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PeerKey {
    /// A server-stamped session: two tabs of one user are two peers.
    Session(SessionId),
    /// Synthetic key for packets with `session_id == 0` (a server without our extensions).
    Email(String),
}

impl fmt::Display for PeerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Session(id) => write!(f, "session:{id}"),
            Self::Email(email) => write!(f, "email:{email}"),
        }
    }
}

/// A peer: its key, the user id the server stamped (or the sender claimed), and what the server
/// says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// The key the peer's later events and packets carry.
    pub key: PeerKey,
    /// The user id (`PacketWrapper.email`); not validated, old servers relay whatever was sent.
    pub user: String,
    /// What to call the peer: the display name the server announced (a valid
    /// `videocall_types::DisplayName`), else the user id.
    pub name: String,
    /// The server says the peer runs the meeting.
    pub host: bool,
}

impl PeerInfo {
    /// A peer known only by key and user id (heard before, or without, any announcement).
    pub fn anonymous(key: PeerKey, user: &str) -> Self {
        Self { key, user: user.to_owned(), name: user.to_owned(), host: false }
    }
}

/// The media a peer says it sends, from its heartbeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct MediaFlags {
    /// The camera is on.
    pub video: bool,
    /// The microphone is on.
    pub audio: bool,
    /// Screen sharing is on.
    pub screen: bool,
}

impl MediaFlags {
    /// Packs the flags into three bits (video, audio, screen), for atomics.
    pub const fn to_bits(self) -> u8 {
        (self.video as u8) | ((self.audio as u8) << 1) | ((self.screen as u8) << 2)
    }

    /// The inverse of [`MediaFlags::to_bits`]; other bits are ignored.
    pub const fn from_bits(bits: u8) -> Self {
        Self { video: bits & 1 != 0, audio: bits & 2 != 0, screen: bits & 4 != 0 }
    }
}

/// Why a peer was removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeaveReason {
    /// The server said it left.
    Left,
    /// Nothing was heard from it for the peer timeout.
    TimedOut,
    /// A fresh `Welcome` after a reconnect no longer lists it.
    Absent,
}

/// The transport a connection runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// WebSocket over TCP.
    WebSocket,
    /// WebTransport over HTTP/3 (QUIC).
    WebTransport,
}

impl TransportKind {
    /// A short stable name, for logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::WebSocket => "websocket",
            Self::WebTransport => "webtransport",
        }
    }
}

/// Something the application should know about. Only [`Event::Packet`] may be dropped when the
/// application reads too slowly (see the crate docs for the queue policy).
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The connection is up. It precedes the other events of its connection (a connection that
    /// closes before the server said anything reports only `Disconnected`). With extensions it
    /// follows the server's `Welcome` (or, from an old server, its first other packet or a 2 s
    /// wait); the participants are also announced one by one with [`Event::PeerJoined`] when
    /// the client did not know them yet.
    Connected {
        /// The transport in use.
        transport: TransportKind,
        /// This connection's session id, when the server sent a `Welcome`.
        session_id: Option<SessionId>,
        /// Everyone else in the room at join time, as the server listed them.
        participants: Vec<PeerInfo>,
    },
    /// A peer appeared (server notice, `Welcome`, or its first packet).
    PeerJoined(PeerInfo),
    /// A peer is gone.
    PeerLeft {
        /// The peer that left.
        peer: PeerInfo,
        /// How the client learned it.
        reason: LeaveReason,
    },
    /// A peer's heartbeat changed its media flags.
    PeerFlags {
        /// The peer.
        peer: PeerKey,
        /// Its new flags.
        flags: MediaFlags,
    },
    /// A packet from a peer (media, key exchange, diagnostics, or a heartbeat the client could
    /// not read because it is encrypted).
    Packet {
        /// The sending peer.
        from: PeerKey,
        /// The packet as received.
        wrapper: PacketWrapper,
    },
    /// Send a key frame of this kind soon: the server or a receiver asked for one. Requests
    /// are rate-limited per kind (see [`crate::keyframe`]), so the application can obey each.
    KeyframeRequested(MediaType),
    /// A host asks this participant to mute this kind (`AUDIO`: the microphone). Only a request:
    /// the application decides (the browser app mutes and says why).
    MuteRequested(MediaType),
    /// The server sent an error; it closes the connection right after.
    ServerError {
        /// The close code that follows, as a reason when it is one of ours.
        reason: Option<CloseReason>,
        /// The raw code.
        code: u32,
        /// The server's text.
        text: String,
    },
    /// An established connection ended.
    Disconnected {
        /// The close code the server gave, when it gave one of ours.
        reason: Option<CloseReason>,
        /// Whether the client will reconnect.
        will_retry: bool,
    },
    /// A connection attempt failed.
    ConnectFailed {
        /// The transport that was tried last.
        transport: TransportKind,
        /// What went wrong, for people.
        error: String,
        /// Whether the client will try again.
        will_retry: bool,
    },
    /// The client waits `delay` before connection attempt number `attempt` (1-based).
    Reconnecting {
        /// The attempt that follows the wait.
        attempt: u32,
        /// How long the client waits first.
        delay: Duration,
    },
}

impl Event {
    /// Whether the event may be dropped when the application falls behind (only packets).
    pub fn is_droppable(&self) -> bool {
        matches!(self, Self::Packet { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn flags_survive_the_bit_packing() {
        for bits in 0..8u8 {
            assert_eq!(MediaFlags::from_bits(bits).to_bits(), bits);
        }
        let flags = MediaFlags { video: true, audio: false, screen: true };
        assert_eq!(MediaFlags::from_bits(flags.to_bits()), flags);
    }
}
