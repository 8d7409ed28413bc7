//! The session request path: `/lobby/{user}/{room}` with an optional query (`ext=1` asks for
//! the SERVER packets of the protocol extensions, `streams=1` for several packets per stream).

use videocall_types::{IdError, RoomId, UserId};

/// Who asks to join which room, read from a session request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lobby {
    pub(crate) user: UserId,
    pub(crate) room: RoomId,
    /// The client asked for SERVER packets (`?ext=1`).
    pub(crate) ext: bool,
    /// The client speaks length-prefixed packets on long-lived streams (`?streams=1`).
    pub(crate) streams: bool,
}

/// Why a path names no lobby.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum LobbyError {
    /// The path is not `/lobby/{user}/{room}`.
    #[error("path is not /lobby/{{user}}/{{room}}")]
    Shape,
    /// A segment has a bad `%` escape or decodes to invalid UTF-8.
    #[error("bad percent-encoding in path")]
    Encoding,
    /// The user or room id is not valid.
    #[error(transparent)]
    Id(#[from] IdError),
}

impl Lobby {
    /// Reads a request path (`:path` of the HTTP/3 CONNECT request).
    pub(crate) fn parse(path: &str) -> Result<Self, LobbyError> {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        // Split before decoding, so an encoded '/' cannot add a segment (it is then refused as
        // an id character).
        let mut segments = path.split('/');
        let (Some(""), Some("lobby"), Some(user), Some(room), None) =
            (segments.next(), segments.next(), segments.next(), segments.next(), segments.next())
        else {
            return Err(LobbyError::Shape);
        };
        let user = UserId::new(&percent_decode(user)?)?;
        let room = RoomId::new(&percent_decode(room)?)?;
        let flag = |name: &str| {
            url::form_urlencoded::parse(query.as_bytes())
                .any(|(key, value)| key == name && value == "1")
        };
        Ok(Self { user, room, ext: flag("ext"), streams: flag("streams") })
    }
}

/// Decodes `%XX` escapes of one path segment.
fn percent_decode(segment: &str) -> Result<String, LobbyError> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let digit = |at: usize| bytes.get(at).and_then(|&b| char::from(b).to_digit(16));
            let (Some(high), Some(low)) = (digit(i + 1), digit(i + 2)) else {
                return Err(LobbyError::Encoding);
            };
            out.push((high * 16 + low) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| LobbyError::Encoding)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lobby(user: &str, room: &str, ext: bool) -> Lobby {
        Lobby {
            user: UserId::new(user).unwrap(),
            room: RoomId::new(room).unwrap(),
            ext,
            streams: false,
        }
    }

    #[test]
    fn reads_streams() {
        let parsed = Lobby::parse("/lobby/alice/r1?ext=1&streams=1").unwrap();
        assert!(parsed.ext && parsed.streams);
        assert!(!Lobby::parse("/lobby/alice/r1?streams=0").unwrap().streams);
        assert!(!Lobby::parse("/lobby/alice/r1?ext=1").unwrap().streams);
    }

    #[test]
    fn reads_user_room_and_ext() {
        assert_eq!(Lobby::parse("/lobby/alice/r1"), Ok(lobby("alice", "r1", false)));
        assert_eq!(Lobby::parse("/lobby/alice/r1?ext=1"), Ok(lobby("alice", "r1", true)));
        assert_eq!(Lobby::parse("/lobby/alice/r1?token=x&ext=1"), Ok(lobby("alice", "r1", true)));
        assert_eq!(Lobby::parse("/lobby/alice/r1?ext=0"), Ok(lobby("alice", "r1", false)));
        assert_eq!(Lobby::parse("/lobby/alice/r1?"), Ok(lobby("alice", "r1", false)));
    }

    #[test]
    fn decodes_percent_escapes_and_maps_spaces() {
        assert_eq!(
            Lobby::parse("/lobby/team%20lead/stand%2Dup"),
            Ok(lobby("team_lead", "stand-up", false))
        );
    }

    #[test]
    fn refuses_other_shapes() {
        for path in [
            "/",
            "",
            "/lobby",
            "/lobby/alice",
            "/lobby/alice/r1/",
            "/lobby/alice/r1/x",
            "/x/alice/r1",
            "lobby/a/b",
        ] {
            assert_eq!(Lobby::parse(path), Err(LobbyError::Shape), "{path}");
        }
    }

    #[test]
    fn refuses_ids_that_could_change_a_subject() {
        for path in [
            "/lobby/alice/a.b",
            "/lobby/alice/%2A",
            "/lobby/alice/%3E",
            "/lobby/a%2Fb/r",
            "/lobby//r1",
            "/lobby/alice/%2e",
        ] {
            assert!(matches!(Lobby::parse(path), Err(LobbyError::Id(_))), "{path}");
        }
    }

    #[test]
    fn refuses_bad_escapes() {
        for path in [
            "/lobby/alice/%",
            "/lobby/alice/%2",
            "/lobby/alice/%zz",
            "/lobby/alice/%+1",
            "/lobby/alice/%ff",
            "/lobby/%C3%A9%/r",
        ] {
            assert_eq!(Lobby::parse(path), Err(LobbyError::Encoding), "{path}");
        }
    }
}
