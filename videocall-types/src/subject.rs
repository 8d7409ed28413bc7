//! Bus subject names: the one place that turns ids into NATS subjects.
//!
//! Media from session `S` in room `R` goes to `room.R.S`, the subject upstream videocall-rs
//! servers use too. Presence events from an instance go to `room.R.S.ctl` (four tokens, so an
//! upstream server's `room.R.*` never forwards them to its clients). An instance subscribes once
//! per room to `room.R.>`, which covers both. Ids are validated tokens, so no input can widen a
//! subscription.

use crate::id::{RoomId, SessionId};

/// Where a session's media and key-exchange packets are published.
pub fn media(room: &RoomId, session: SessionId) -> String {
    format!("room.{room}.{session}")
}

/// Where an instance publishes presence events (joined, left, sync) about a session.
pub fn presence(room: &RoomId, session: SessionId) -> String {
    format!("room.{room}.{session}.ctl")
}

/// The one subscription an instance holds for a room: every media and presence subject of it.
pub fn room(room: &RoomId) -> String {
    format!("room.{room}.>")
}

/// What a received subject says about its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A relayed packet from this session.
    Media(SessionId),
    /// A presence event about this session.
    Presence(SessionId),
}

/// Reads a subject of `room` back; `None` for anything this module did not make.
pub fn parse(room: &RoomId, subject: &str) -> Option<Kind> {
    let rest = subject.strip_prefix("room.")?.strip_prefix(room.as_str())?.strip_prefix('.')?;
    let (session, presence) = match rest.strip_suffix(".ctl") {
        Some(session) => (session, true),
        None => (rest, false),
    };
    let session = SessionId::new(session.parse().ok()?)?;
    Some(if presence { Kind::Presence(session) } else { Kind::Media(session) })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn sid(n: u64) -> SessionId {
        SessionId::new(n).unwrap()
    }

    #[test]
    fn names_round_trip() {
        let r = RoomId::new("standup").unwrap();
        assert_eq!(media(&r, sid(42)), "room.standup.42");
        assert_eq!(presence(&r, sid(42)), "room.standup.42.ctl");
        assert_eq!(room(&r), "room.standup.>");
        assert_eq!(parse(&r, &media(&r, sid(42))), Some(Kind::Media(sid(42))));
        assert_eq!(parse(&r, &presence(&r, sid(42))), Some(Kind::Presence(sid(42))));
    }

    #[test]
    fn foreign_subjects_are_not_ours() {
        let r = RoomId::new("a").unwrap();
        for s in ["room.b.1", "room.a.0", "room.a.x", "room.a.1.2", "room.ab.1", "room.a", ""] {
            assert_eq!(parse(&r, s), None, "{s}");
        }
    }

    #[test]
    fn ids_cannot_smuggle_wildcards() {
        // The only way to a subject is through a validated RoomId.
        assert!(RoomId::new("*").is_err());
        assert!(RoomId::new(">").is_err());
        assert!(RoomId::new("a.b").is_err());
        assert!(RoomId::new("").is_err());
    }
}
