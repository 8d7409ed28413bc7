//! Lobby URLs: `{base}/lobby/{user}/{room}` plus `?ext=1` when the client wants extensions.
//!
//! The base may carry a path prefix (a reverse proxy's `/api`) and query parameters (a
//! `token`); both are kept. User and room ids are validated tokens, so they need no escaping.

use url::Url;
use videocall_types::{RoomId, UserId};

use crate::event::TransportKind;

/// Why a lobby URL cannot be built from a base URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LobbyError {
    /// The base has no path to extend (`mailto:`, `data:`).
    #[error("{0} cannot be a base URL")]
    NotABase(String),
    /// The scheme does not fit the transport.
    #[error("{transport} needs a {expected} URL, got {found:?}")]
    Scheme {
        /// The transport the URL was for.
        transport: &'static str,
        /// The schemes it accepts.
        expected: &'static str,
        /// The scheme found.
        found: String,
    },
}

/// The lobby URL for `user` in `room` on the server at `base`, for `transport`.
///
/// WebSocket accepts `ws`/`wss` bases and turns `http`/`https` into them; WebTransport needs
/// `https`.
pub fn url(
    base: &Url,
    transport: TransportKind,
    user: &UserId,
    room: &RoomId,
    ext: bool,
) -> Result<Url, LobbyError> {
    let mut url = base.clone();
    let scheme = match (transport, base.scheme()) {
        (TransportKind::WebSocket, "ws" | "http") => "ws",
        (TransportKind::WebSocket, "wss" | "https") => "wss",
        (TransportKind::WebTransport, "https") => "https",
        (TransportKind::WebSocket, found) => return Err(scheme_error(transport, "ws/wss", found)),
        (TransportKind::WebTransport, found) => {
            return Err(scheme_error(transport, "https", found));
        }
    };
    url.set_scheme(scheme).map_err(|()| scheme_error(transport, "ws/wss", base.scheme()))?;
    url.set_fragment(None);
    url.path_segments_mut()
        .map_err(|()| LobbyError::NotABase(base.to_string()))?
        .pop_if_empty()
        .extend(["lobby", user.as_str(), room.as_str()]);
    if ext {
        url.query_pairs_mut().append_pair("ext", "1");
    }
    Ok(url)
}

fn scheme_error(transport: TransportKind, expected: &'static str, found: &str) -> LobbyError {
    LobbyError::Scheme { transport: transport.as_str(), expected, found: found.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn build(base: &str, transport: TransportKind, ext: bool) -> Result<String, LobbyError> {
        let base = Url::parse(base).unwrap();
        let user = UserId::new("alice").unwrap();
        let room = RoomId::new("r1").unwrap();
        url(&base, transport, &user, &room, ext).map(String::from)
    }

    #[test]
    fn websocket_lobby_url_asks_for_extensions() {
        let got = build("ws://127.0.0.1:8080", TransportKind::WebSocket, true).unwrap();
        assert_eq!(got, "ws://127.0.0.1:8080/lobby/alice/r1?ext=1");
        let got = build("ws://127.0.0.1:8080/", TransportKind::WebSocket, false).unwrap();
        assert_eq!(got, "ws://127.0.0.1:8080/lobby/alice/r1");
    }

    #[test]
    fn webtransport_lobby_url_is_https() {
        let got = build("https://example.org:4433", TransportKind::WebTransport, true).unwrap();
        assert_eq!(got, "https://example.org:4433/lobby/alice/r1?ext=1");
    }

    #[test]
    fn prefix_and_query_of_the_base_are_kept() {
        let got = build("https://example.org/api/?token=abc#x", TransportKind::WebSocket, true);
        assert_eq!(got.unwrap(), "wss://example.org/api/lobby/alice/r1?token=abc&ext=1");
    }

    #[test]
    fn wrong_schemes_are_refused() {
        assert!(matches!(
            build("http://example.org", TransportKind::WebTransport, true),
            Err(LobbyError::Scheme { .. })
        ));
        assert!(matches!(
            build("ftp://example.org", TransportKind::WebSocket, true),
            Err(LobbyError::Scheme { .. })
        ));
    }
}
