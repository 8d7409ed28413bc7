//! Encoding of what the server itself says: SERVER packets to clients and presence events to
//! other instances.

use bytes::Bytes;
use protobuf::{Message, MessageField};
use videocall_types::protos::server_packet::{
    HostAction, KeyframeRequest, MuteRequest, Participant, PresenceEvent, Roster, ServerError,
    ServerPacket, Welcome, presence_event, server_packet,
};
use videocall_types::{
    CloseReason, DisplayName, MediaType, PacketType, PacketWrapper, RoomId, SessionId, UserId,
};

/// Someone in a room, as told to clients and instances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Their session id.
    pub session: SessionId,
    /// Their user id.
    pub user: String,
    /// Their display name (their user id when they gave none).
    pub name: String,
    /// Whether they run the meeting.
    pub host: bool,
}

impl Peer {
    /// A participant known only by session and user id.
    pub fn new(session: SessionId, user: &str) -> Self {
        Self { session, user: user.to_owned(), name: user.to_owned(), host: false }
    }

    fn to_proto(&self) -> Participant {
        Participant {
            session_id: self.session.get(),
            user_id: self.user.clone(),
            display_name: self.name.clone(),
            host: self.host,
            ..Default::default()
        }
    }

    /// Reads a participant from the wire; `None` when its session id is unset. A display name
    /// that is not valid (it came from the bus, which is untrusted) is replaced by the user id.
    pub fn from_proto(p: &Participant) -> Option<Self> {
        let name = DisplayName::new(&p.display_name)
            .map_or_else(|_| p.user_id.clone(), |name| name.as_str().to_owned());
        Some(Self {
            session: SessionId::new(p.session_id)?,
            user: p.user_id.clone(),
            name,
            host: p.host,
        })
    }
}

fn server_packet(event: server_packet::Event) -> Bytes {
    let mut packet = ServerPacket::new();
    packet.event = Some(event);
    let wrapper = PacketWrapper {
        packet_type: PacketType::SERVER.into(),
        data: packet.write_to_bytes().unwrap_or_default(),
        ..Default::default()
    };
    Bytes::from(wrapper.write_to_bytes().unwrap_or_default())
}

/// The first packet of an extended connection.
pub fn welcome(you: &Peer, room: &RoomId, others: &[Peer]) -> Bytes {
    server_packet(server_packet::Event::Welcome(Welcome {
        you: MessageField::some(you.to_proto()),
        room_id: room.to_string(),
        participants: others.iter().map(Peer::to_proto).collect(),
        ..Default::default()
    }))
}

/// Tells a client that `peer` joined.
pub fn joined(peer: &Peer) -> Bytes {
    server_packet(server_packet::Event::Joined(peer.to_proto()))
}

/// Tells a client that `peer` left.
pub fn left(peer: &Peer) -> Bytes {
    server_packet(server_packet::Event::Left(peer.to_proto()))
}

/// Asks a client for a key frame of `media_type`.
pub fn keyframe_request(media_type: i32) -> Bytes {
    let request = KeyframeRequest {
        media_type: protobuf::EnumOrUnknown::from_i32(media_type),
        ..Default::default()
    };
    server_packet(server_packet::Event::KeyframeRequest(request))
}

/// Asks a client to mute its microphone (a host's request).
pub fn mute_request() -> Bytes {
    server_packet(server_packet::Event::MuteRequest(MuteRequest {
        media_type: MediaType::AUDIO.into(),
        ..Default::default()
    }))
}

/// Tells a client why it is about to be disconnected.
pub fn error(reason: CloseReason) -> Bytes {
    server_packet(server_packet::Event::Error(ServerError {
        code: reason.code().into(),
        reason: reason.description().into(),
        ..Default::default()
    }))
}

/// A presence event for other instances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presence {
    /// A session is (still) here.
    Joined(Peer),
    /// A session left.
    Left(Peer),
    /// Announce your sessions of this room.
    Sync,
    /// The subject's session should send a key frame of this media type.
    KeyframeRequest(i32),
    /// These sessions are here (the subject names the publishing instance).
    Roster(Vec<Peer>),
    /// A host removed this user.
    Removed(UserId),
    /// A host asks this user to mute.
    Mute(UserId),
    /// A host ended the meeting.
    Ended,
}

impl Presence {
    /// Serializes the event.
    pub fn encode(&self) -> Bytes {
        let event = match self {
            Self::Joined(peer) => presence_event::Event::Joined(peer.to_proto()),
            Self::Left(peer) => presence_event::Event::Left(peer.to_proto()),
            Self::Sync => presence_event::Event::Sync(true),
            Self::KeyframeRequest(media_type) => {
                presence_event::Event::KeyframeRequest(KeyframeRequest {
                    media_type: protobuf::EnumOrUnknown::from_i32(*media_type),
                    ..Default::default()
                })
            }
            Self::Roster(peers) => presence_event::Event::Roster(Roster {
                present: peers.iter().map(Peer::to_proto).collect(),
                ..Default::default()
            }),
            Self::Removed(user) => presence_event::Event::Removed(host_action(user)),
            Self::Mute(user) => presence_event::Event::Mute(host_action(user)),
            Self::Ended => presence_event::Event::Ended(true),
        };
        let mut message = PresenceEvent::new();
        message.event = Some(event);
        Bytes::from(message.write_to_bytes().unwrap_or_default())
    }

    /// Parses an event; `None` for anything malformed or unknown.
    pub fn decode(payload: &[u8]) -> Option<Self> {
        let message = PresenceEvent::parse_from_bytes(payload).ok()?;
        Some(match message.event? {
            presence_event::Event::Joined(p) => Self::Joined(Peer::from_proto(&p)?),
            presence_event::Event::Left(p) => Self::Left(Peer::from_proto(&p)?),
            presence_event::Event::Sync(_) => Self::Sync,
            presence_event::Event::KeyframeRequest(k) => {
                Self::KeyframeRequest(k.media_type.value())
            }
            presence_event::Event::Roster(r) => {
                Self::Roster(r.present.iter().map(Peer::from_proto).collect::<Option<_>>()?)
            }
            presence_event::Event::Removed(action) => Self::Removed(exact_user(&action.user_id)?),
            presence_event::Event::Mute(action) => Self::Mute(exact_user(&action.user_id)?),
            presence_event::Event::Ended(true) => Self::Ended,
            _ => return None,
        })
    }
}

fn host_action(user: &UserId) -> HostAction {
    HostAction { user_id: user.to_string(), ..Default::default() }
}

/// `user` as a user id, if it is one exactly as a relay stamps it (valid, and already in the
/// form validation gives it: a space a client typed has become `_`).
pub(crate) fn exact_user(user: &str) -> Option<UserId> {
    UserId::new(user).ok().filter(|id| id.as_str() == user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presence_round_trips() {
        let peer = Peer {
            session: SessionId::new(5).unwrap(),
            user: "bob".into(),
            name: "Bob Ñúñez 🎸".into(),
            host: true,
        };
        for event in [
            Presence::Joined(peer.clone()),
            Presence::Left(peer),
            Presence::Sync,
            Presence::KeyframeRequest(2),
            Presence::Roster(vec![]),
            Presence::Roster(vec![
                Peer::new(SessionId::new(3).unwrap(), "ann"),
                Peer::new(SessionId::new(4).unwrap(), "bob"),
            ]),
            Presence::Removed(UserId::new("eve").unwrap()),
            Presence::Mute(UserId::new("bob").unwrap()),
            Presence::Ended,
        ] {
            assert_eq!(Presence::decode(&event.encode()), Some(event));
        }
        assert_eq!(Presence::decode(&[0xff]), None);
        assert_eq!(Presence::decode(&[]), None);
    }

    #[test]
    fn host_actions_from_the_bus_name_one_valid_user_or_are_refused() {
        for bad in ["", "a b", "a.b", "room.*", ">", &"x".repeat(65)] {
            let mut event = PresenceEvent::new();
            event.event = Some(presence_event::Event::Removed(HostAction {
                user_id: bad.to_owned(),
                ..Default::default()
            }));
            let bytes = event.write_to_bytes().unwrap();
            assert_eq!(Presence::decode(&bytes), None, "{bad:?}");
        }
        let mut ended = PresenceEvent::new();
        ended.event = Some(presence_event::Event::Ended(false));
        assert_eq!(Presence::decode(&ended.write_to_bytes().unwrap()), None);
    }

    #[test]
    fn a_bad_name_from_the_bus_becomes_the_user_id() {
        for bad in ["", "line\nbreak", &"x".repeat(65)] {
            let mut peer = Peer::new(SessionId::new(5).unwrap(), "bob");
            peer.name = bad.to_owned();
            let decoded = Presence::decode(&Presence::Joined(peer).encode());
            let Some(Presence::Joined(decoded)) = decoded else { panic!("{decoded:?}") };
            assert_eq!(decoded.name, "bob");
        }
    }

    #[test]
    fn welcome_is_a_server_packet() {
        let you = Peer::new(SessionId::new(1).unwrap(), "a");
        let bytes = welcome(&you, &RoomId::new("r").unwrap(), &[]);
        let wrapper = PacketWrapper::parse_from_bytes(&bytes).unwrap();
        assert_eq!(wrapper.packet_type.enum_value(), Ok(PacketType::SERVER));
        let packet = ServerPacket::parse_from_bytes(&wrapper.data).unwrap();
        assert_eq!(packet.welcome().you.user_id, "a");
    }
}
