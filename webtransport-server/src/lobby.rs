//! The session request path: `/lobby?token=T` (identity and meeting from the token) or
//! `/lobby/{user}/{room}` with an optional query: `token` (which must then name the same user
//! and meeting), `name` (the display name in open mode), `ext=1` (the SERVER packets of the
//! protocol extensions) and `streams=1` (several packets per stream).

use videocall_types::{DisplayName, IdError, NameError, RoomId, UserId};

/// What a session request asks for, read from its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lobby {
    /// The user and room of `/lobby/{user}/{room}`; `None` for `/lobby`.
    pub(crate) ids: Option<(UserId, RoomId)>,
    /// The `token` query parameter.
    pub(crate) token: Option<String>,
    /// The `name` query parameter.
    pub(crate) name: Option<DisplayName>,
    /// The client asked for SERVER packets (`?ext=1`).
    pub(crate) ext: bool,
    /// The client speaks length-prefixed packets on long-lived streams (`?streams=1`).
    pub(crate) streams: bool,
}

/// Why a path names no lobby.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum LobbyError {
    /// The path is neither `/lobby` nor `/lobby/{user}/{room}`.
    #[error("path is not /lobby or /lobby/{{user}}/{{room}}")]
    Shape,
    /// A segment has a bad `%` escape or decodes to invalid UTF-8.
    #[error("bad percent-encoding in path")]
    Encoding,
    /// The user or room id is not valid.
    #[error(transparent)]
    Id(#[from] IdError),
    /// The `name` parameter is not a valid display name.
    #[error(transparent)]
    Name(#[from] NameError),
}

impl Lobby {
    /// Reads a request path (`:path` of the HTTP/3 CONNECT request).
    pub(crate) fn parse(path: &str) -> Result<Self, LobbyError> {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        // Split before decoding, so an encoded '/' cannot add a segment (it is then refused as
        // an id character).
        let mut segments = path.split('/');
        let ids = match (
            segments.next(),
            segments.next(),
            segments.next(),
            segments.next(),
            segments.next(),
        ) {
            (Some(""), Some("lobby"), None, None, None) => None,
            (Some(""), Some("lobby"), Some(user), Some(room), None) => {
                Some((UserId::new(&percent_decode(user)?)?, RoomId::new(&percent_decode(room)?)?))
            }
            _ => return Err(LobbyError::Shape),
        };
        let mut lobby = Self { ids, token: None, name: None, ext: false, streams: false };
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match &*key {
                "ext" => lobby.ext = value == "1",
                "streams" => lobby.streams = value == "1",
                "token" => lobby.token = Some(value.into_owned()),
                "name" if !value.is_empty() => lobby.name = Some(DisplayName::new(&value)?),
                _ => {}
            }
        }
        Ok(lobby)
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
            ids: Some((UserId::new(user).unwrap(), RoomId::new(room).unwrap())),
            token: None,
            name: None,
            ext,
            streams: false,
        }
    }

    #[test]
    fn reads_a_token_with_or_without_ids_and_a_name() {
        let parsed = Lobby::parse("/lobby?token=a.b-_.c&ext=1").unwrap();
        assert_eq!(
            (parsed.ids, parsed.token.as_deref(), parsed.ext),
            (None, Some("a.b-_.c"), true)
        );
        let parsed = Lobby::parse("/lobby/ann/r1?token=t&name=Jos%C3%A9+M%C3%BCller").unwrap();
        assert_eq!(parsed.token.as_deref(), Some("t"));
        assert_eq!(parsed.name.unwrap().as_str(), "José Müller");
        assert!(Lobby::parse("/lobby/ann/r1?name=").unwrap().name.is_none());
        assert!(matches!(Lobby::parse("/lobby/ann/r1?name=a%0Ab"), Err(LobbyError::Name(_))));
        assert_eq!(Lobby::parse("/lobby/"), Err(LobbyError::Shape));
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
        let with_token = Lobby { token: Some("x".into()), ..lobby("alice", "r1", true) };
        assert_eq!(Lobby::parse("/lobby/alice/r1?token=x&ext=1"), Ok(with_token));
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
