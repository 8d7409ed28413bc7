//! The packets the client builds (heartbeats, media with a routing header) and the typed view of
//! what it receives. Parsing never panics: bad bytes are a [`ParseError`] for the caller to count.

use protobuf::{Message, MessageField};
use videocall_types::protos::diagnostics_packet::DiagnosticsPacket;
use videocall_types::protos::media_packet::HeartbeatMetadata;
use videocall_types::protos::server_packet::{Participant, server_packet};
use videocall_types::{
    MediaPacket, MediaType, PacketType, PacketWrapper, RoutingHeader, ServerPacket, SessionId,
    UserId,
};

use crate::event::{MediaFlags, PeerInfo, PeerKey};

/// Why received bytes are not a packet the client can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The bytes are not a `PacketWrapper`.
    #[error("not a PacketWrapper: {0}")]
    Wrapper(String),
    /// A SERVER packet whose `data` is not a `ServerPacket`.
    #[error("SERVER packet without a readable ServerPacket: {0}")]
    Server(String),
    /// A SERVER packet on a connection that did not ask for extensions: someone else's packet.
    #[error("SERVER packet on a connection without extensions")]
    UnexpectedServer,
}

/// Why a packet could not be serialized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot encode {what}: {message}")]
pub struct EncodeError {
    /// The message that failed.
    pub what: &'static str,
    /// protobuf's explanation.
    pub message: String,
}

fn encode_err(what: &'static str) -> impl FnOnce(protobuf::Error) -> EncodeError {
    move |e| EncodeError { what, message: e.to_string() }
}

/// A message from the server (extensions only).
#[derive(Debug, Clone, PartialEq)]
pub enum ServerMessage {
    /// The first packet of a connection: who we are and who is there.
    Welcome {
        /// Our own session id (None if the server left it out).
        you: Option<SessionId>,
        /// The room, as the server names it.
        room_id: String,
        /// Everyone else in the room.
        participants: Vec<PeerInfo>,
    },
    /// Someone joined the room.
    Joined(PeerInfo),
    /// Someone left the room.
    Left(PeerInfo),
    /// Send a key frame of this kind soon.
    KeyframeRequest(MediaType),
    /// A host asks this participant to mute this kind (the microphone: `AUDIO`).
    MuteRequest(MediaType),
    /// The server is about to close with this code.
    Error {
        /// The close code that follows.
        code: u32,
        /// The server's text.
        text: String,
    },
    /// A message this version does not know (a newer server); ignored.
    Unknown,
}

/// One received packet, classified.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    /// A control message from the server.
    Server(ServerMessage),
    /// A plaintext heartbeat from a peer, with the flags it carries.
    Heartbeat {
        /// The packet as received (for its sender fields).
        wrapper: PacketWrapper,
        /// The flags it announces.
        flags: MediaFlags,
    },
    /// Any other packet from a peer, for the application.
    Peer(PacketWrapper),
}

/// The key of the peer that sent `wrapper`: its stamped session, else its `email`.
pub fn sender_key(wrapper: &PacketWrapper) -> PeerKey {
    match SessionId::new(wrapper.session_id) {
        Some(id) => PeerKey::Session(id),
        None => PeerKey::Email(wrapper.email.clone()),
    }
}

fn peer_info(p: &Participant) -> PeerInfo {
    let key = match SessionId::new(p.session_id) {
        Some(id) => PeerKey::Session(id),
        None => PeerKey::Email(p.user_id.clone()),
    };
    let name = videocall_types::DisplayName::new(&p.display_name)
        .map_or_else(|_| p.user_id.clone(), |name| name.as_str().to_owned());
    PeerInfo { key, user: p.user_id.clone(), name, host: p.host }
}

/// The routing header for `media`: its kind, whether it is a key frame, and its sequence.
pub fn route_of(media: &MediaPacket) -> RoutingHeader {
    let kind = media.media_type.enum_value_or_default();
    let sequence = match kind {
        MediaType::AUDIO => media.audio_metadata.as_ref().map_or(0, |m| m.sequence),
        MediaType::VIDEO | MediaType::SCREEN => {
            media.video_metadata.as_ref().map_or(0, |m| m.sequence)
        }
        MediaType::HEARTBEAT | MediaType::RTT => 0,
    };
    RoutingHeader {
        media_type: media.media_type,
        keyframe: media.frame_type == "key",
        sequence,
        ..Default::default()
    }
}

/// Wraps `media` from `user` with its routing header; fills `media.email` when empty.
pub fn media(user: &UserId, mut media: MediaPacket) -> Result<PacketWrapper, EncodeError> {
    if media.email.is_empty() {
        media.email = user.as_str().to_owned();
    }
    let route = route_of(&media);
    Ok(PacketWrapper {
        packet_type: PacketType::MEDIA.into(),
        email: user.as_str().to_owned(),
        data: media.write_to_bytes().map_err(encode_err("MediaPacket"))?,
        route: MessageField::some(route),
        ..Default::default()
    })
}

/// Wraps a receiver's report on one sender's stream (also how a receiver asks that sender for
/// a key frame: `keyframe_request`).
pub fn diagnostics(
    user: &UserId,
    report: &DiagnosticsPacket,
) -> Result<PacketWrapper, EncodeError> {
    Ok(PacketWrapper {
        packet_type: PacketType::DIAGNOSTICS.into(),
        email: user.as_str().to_owned(),
        data: report.write_to_bytes().map_err(encode_err("DiagnosticsPacket"))?,
        ..Default::default()
    })
}

/// Whether a receiver's `report` is about this client's streams: by session id when both the
/// report and this connection have one, else by user id (old servers stamp no sessions).
pub fn report_is_for(report: &DiagnosticsPacket, user: &UserId, me: Option<SessionId>) -> bool {
    match (report.sender_session, me) {
        (0, _) | (_, None) => report.sender_id == user.as_str(),
        (session, Some(me)) => session == me.get(),
    }
}

/// The stream kind a peer's DIAGNOSTICS packet asks this client (`user`, session `me`) to send
/// a key frame of; `None` for any other packet, a report on someone else, or no request.
pub fn keyframe_request(
    wrapper: &PacketWrapper,
    user: &UserId,
    me: Option<SessionId>,
) -> Option<MediaType> {
    if wrapper.packet_type.value() != PacketType::DIAGNOSTICS as i32 {
        return None;
    }
    let report = DiagnosticsPacket::parse_from_bytes(&wrapper.data).ok()?;
    (report.keyframe_request && report_is_for(&report, user, me))
        .then(|| report.media_type.enum_value_or_default())
}

/// The heartbeat `user` sends every second; `timestamp_ms` is wall-clock ms since the epoch.
pub fn heartbeat(
    user: &UserId,
    flags: MediaFlags,
    timestamp_ms: f64,
) -> Result<PacketWrapper, EncodeError> {
    let packet = MediaPacket {
        media_type: MediaType::HEARTBEAT.into(),
        email: user.as_str().to_owned(),
        timestamp: timestamp_ms,
        heartbeat_metadata: MessageField::some(HeartbeatMetadata {
            video_enabled: flags.video,
            audio_enabled: flags.audio,
            screen_enabled: flags.screen,
            ..Default::default()
        }),
        ..Default::default()
    };
    media(user, packet)
}

/// Serializes a wrapper for the wire.
pub fn encode(wrapper: &PacketWrapper) -> Result<Vec<u8>, EncodeError> {
    wrapper.write_to_bytes().map_err(encode_err("PacketWrapper"))
}

/// Classifies received bytes. `ext` says whether the connection asked for extensions; without
/// them a SERVER packet can only be a peer's forgery and is refused.
pub fn parse(bytes: &[u8], ext: bool) -> Result<Inbound, ParseError> {
    let wrapper =
        PacketWrapper::parse_from_bytes(bytes).map_err(|e| ParseError::Wrapper(e.to_string()))?;
    if wrapper.packet_type.value() == PacketType::SERVER as i32 {
        if !ext {
            return Err(ParseError::UnexpectedServer);
        }
        return parse_server(&wrapper.data).map(Inbound::Server);
    }
    Ok(match heartbeat_flags(&wrapper) {
        Some(flags) => Inbound::Heartbeat { wrapper, flags },
        None => Inbound::Peer(wrapper),
    })
}

fn parse_server(data: &[u8]) -> Result<ServerMessage, ParseError> {
    let packet =
        ServerPacket::parse_from_bytes(data).map_err(|e| ParseError::Server(e.to_string()))?;
    Ok(match packet.event {
        Some(server_packet::Event::Welcome(w)) => ServerMessage::Welcome {
            you: w.you.as_ref().and_then(|p| SessionId::new(p.session_id)),
            room_id: w.room_id,
            participants: w.participants.iter().map(peer_info).collect(),
        },
        Some(server_packet::Event::Joined(p)) => ServerMessage::Joined(peer_info(&p)),
        Some(server_packet::Event::Left(p)) => ServerMessage::Left(peer_info(&p)),
        Some(server_packet::Event::KeyframeRequest(k)) => match k.media_type.enum_value() {
            Ok(kind) => ServerMessage::KeyframeRequest(kind),
            Err(_) => ServerMessage::Unknown,
        },
        Some(server_packet::Event::Error(e)) => {
            ServerMessage::Error { code: e.code, text: e.reason }
        }
        Some(server_packet::Event::MuteRequest(m)) => match m.media_type.enum_value() {
            Ok(kind) => ServerMessage::MuteRequest(kind),
            Err(_) => ServerMessage::Unknown,
        },
        _ => ServerMessage::Unknown,
    })
}

/// The flags of a plaintext heartbeat; `None` for anything else, including encrypted heartbeats
/// (those go to the application, which holds the keys).
fn heartbeat_flags(wrapper: &PacketWrapper) -> Option<MediaFlags> {
    if wrapper.packet_type.value() != PacketType::MEDIA as i32 {
        return None;
    }
    // With a routing header, only heartbeats are worth parsing (skips the copy of video data).
    if let Some(route) = wrapper.route.as_ref()
        && route.media_type.value() != MediaType::HEARTBEAT as i32
    {
        return None;
    }
    let media = MediaPacket::parse_from_bytes(&wrapper.data).ok()?;
    if media.media_type.value() != MediaType::HEARTBEAT as i32 {
        return None;
    }
    let meta = media.heartbeat_metadata.as_ref();
    Some(MediaFlags {
        video: meta.is_some_and(|m| m.video_enabled),
        audio: meta.is_some_and(|m| m.audio_enabled),
        screen: meta.is_some_and(|m| m.screen_enabled),
    })
}

#[cfg(test)]
mod tests;
