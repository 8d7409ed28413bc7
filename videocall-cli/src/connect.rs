//! From command-line flags to `videocall-client` options: the transport follows the URL
//! scheme, a token rides in the query, a certificate hash pins a self-signed server.

use url::Url;
use videocall_client::{ClientOptions, TransportChoice};
use videocall_types::{RoomId, UserId};

use crate::args::MeetingArgs;

/// Why the flags do not describe a server to join.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    /// The URL's scheme picks no transport.
    #[error("--url {0}: use https:// (WebTransport) or ws:// / wss:// (WebSocket)")]
    Scheme(String),
    /// A user or meeting id is not a valid token.
    #[error("{flag} {value:?}: {reason}")]
    Id {
        /// The flag.
        flag: &'static str,
        /// The value given.
        value: String,
        /// Why it is refused.
        reason: String,
    },
    /// The certificate hash is not 32 bytes of hex.
    #[error("--cert-hash must be 64 hex digits (SHA-256), got {0:?}")]
    CertHash(String),
    /// A certificate hash was given for WebSocket, which cannot use it.
    #[error("--cert-hash only applies to WebTransport (https://) URLs")]
    CertHashOnWebSocket,
}

/// Client options for `user` joining the meeting in `meeting`.
pub fn options(user: &str, meeting: &MeetingArgs) -> Result<ClientOptions, ConnectError> {
    let id_err = |flag, value: &str, e: videocall_types::IdError| ConnectError::Id {
        flag,
        value: value.to_owned(),
        reason: e.to_string(),
    };
    let user_id = UserId::new(user).map_err(|e| id_err("--user-id", user, e))?;
    let room_text = &meeting.meeting_id;
    let room = RoomId::new(room_text).map_err(|e| id_err("--meeting-id", room_text, e))?;
    let mut url = meeting.url.clone();
    if let Some(token) = &meeting.token {
        url.query_pairs_mut().append_pair("token", token);
    }
    let cert_hash = meeting.cert_hash.as_deref().map(parse_hash).transpose()?;
    let transport = match url.scheme() {
        "https" => TransportChoice::WebTransport { url, cert_hash },
        "ws" | "wss" if cert_hash.is_some() => return Err(ConnectError::CertHashOnWebSocket),
        "ws" | "wss" => TransportChoice::WebSocket { url },
        _ => return Err(ConnectError::Scheme(meeting.url.to_string())),
    };
    Ok(ClientOptions::new(user_id, room, transport))
}

/// Parses 64 hex digits, optionally separated by `:`.
pub fn parse_hash(text: &str) -> Result<[u8; 32], ConnectError> {
    let bad = || ConnectError::CertHash(text.to_owned());
    let digits: Vec<u8> = text.bytes().filter(|&b| b != b':').collect();
    if digits.len() != 64 {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let pair = std::str::from_utf8(pair).map_err(|_| bad())?;
        *byte = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
    }
    Ok(out)
}

/// The URL shown to people: without its query (which may hold a token).
pub fn display_url(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meeting(url: &str, hash: Option<&str>) -> MeetingArgs {
        MeetingArgs {
            url: Url::parse(url).unwrap(),
            meeting_id: "standup".into(),
            token: Some("t0k".into()),
            cert_hash: hash.map(Into::into),
            duration: None,
            quiet: false,
        }
    }

    #[test]
    fn the_scheme_picks_the_transport_and_the_token_rides_along() {
        let hash = "ab".repeat(32);
        let wt = options("pi", &meeting("https://h:4433", Some(&hash))).unwrap();
        let TransportChoice::WebTransport { url, cert_hash } = wt.transport else { panic!() };
        assert_eq!(url.as_str(), "https://h:4433/?token=t0k");
        assert_eq!(cert_hash, Some([0xab; 32]));
        let ws = options("pi", &meeting("wss://h", None)).unwrap();
        assert!(matches!(ws.transport, TransportChoice::WebSocket { .. }));
        assert_eq!(
            options("pi", &meeting("http://h", None)).unwrap_err(),
            ConnectError::Scheme("http://h/".into())
        );
        assert_eq!(
            options("pi", &meeting("ws://h", Some(&hash))).unwrap_err(),
            ConnectError::CertHashOnWebSocket
        );
    }

    #[test]
    fn ids_and_hashes_are_checked() {
        assert!(matches!(options("a.b", &meeting("ws://h", None)), Err(ConnectError::Id { .. })));
        let colons = ["0f"; 32].join(":");
        assert_eq!(parse_hash(&colons).unwrap(), [0x0f; 32]);
        assert!(parse_hash("abc").is_err());
        assert!(parse_hash(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn tokens_are_not_shown() {
        assert_eq!(display_url(&Url::parse("wss://h/x?token=secret").unwrap()), "wss://h/x");
    }
}
