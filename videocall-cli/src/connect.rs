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
    /// The token's payload is not readable (the server checks its signature; the client only
    /// reads who and where it is for).
    #[error("--token is not a join token: {0}")]
    Token(&'static str),
    /// A flag names another user or meeting than the token.
    #[error("{flag} {value:?} is not what the token says ({token:?}); leave the flag out")]
    NotTheToken {
        /// The flag.
        flag: &'static str,
        /// The value given.
        value: String,
        /// What the token says.
        token: String,
    },
    /// Neither the flag nor a token gives the value.
    #[error("{0} is required without --token")]
    Missing(&'static str),
}

/// Client options for joining the meeting in `meeting` as `user` (or, with neither a user nor
/// a token, as `fallback_user`). A token names both; flags given beside it must agree with it.
pub fn options(
    user: Option<&str>,
    fallback_user: Option<&str>,
    meeting: &MeetingArgs,
) -> Result<ClientOptions, ConnectError> {
    let id_err = |flag, value: &str, e: videocall_types::IdError| ConnectError::Id {
        flag,
        value: value.to_owned(),
        reason: e.to_string(),
    };
    let from_token = meeting.token.as_deref().map(token_ids).transpose()?;
    let user = pick("--user-id", user, from_token.as_ref().map(|(user, _)| user.as_str()))
        .or_else(|missing| fallback_user.map(str::to_owned).ok_or(missing))?;
    let room_text = pick(
        "--meeting-id",
        meeting.meeting_id.as_deref(),
        from_token.as_ref().map(|(_, meeting)| meeting.as_str()),
    )?;
    let user_id = UserId::new(&user).map_err(|e| id_err("--user-id", &user, e))?;
    let room = RoomId::new(&room_text).map_err(|e| id_err("--meeting-id", &room_text, e))?;
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

/// The flag's value or the token's; both must agree when both are given.
fn pick(
    flag: &'static str,
    given: Option<&str>,
    token: Option<&str>,
) -> Result<String, ConnectError> {
    match (given, token) {
        (Some(given), Some(token)) if given != token => {
            Err(ConnectError::NotTheToken { flag, value: given.into(), token: token.into() })
        }
        (_, Some(value)) | (Some(value), None) => Ok(value.to_owned()),
        (None, None) => Err(ConnectError::Missing(flag)),
    }
}

/// The `sub` and `meeting` claims of a join token, read without checking its signature (only
/// the server can, and does).
fn token_ids(token: &str) -> Result<(String, String), ConnectError> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).ok_or(ConnectError::Token("expected three parts"))?;
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| ConnectError::Token("the payload is not base64url"))?;
    #[derive(serde::Deserialize)]
    struct Ids {
        sub: String,
        meeting: String,
    }
    let ids: Ids = serde_json::from_slice(&json)
        .map_err(|_| ConnectError::Token("the payload has no sub and meeting"))?;
    Ok((ids.sub, ids.meeting))
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
            meeting_id: Some("standup".into()),
            token: None,
            cert_hash: hash.map(Into::into),
            duration: None,
            quiet: false,
        }
    }

    #[test]
    fn the_scheme_picks_the_transport_and_the_token_rides_along() {
        let hash = "ab".repeat(32);
        let mut args = meeting("https://h:4433", Some(&hash));
        args.token = Some(token());
        let wt = options(Some("pi"), None, &args).unwrap();
        let TransportChoice::WebTransport { url, cert_hash } = wt.transport else { panic!() };
        assert_eq!(url.as_str(), format!("https://h:4433/?token={}", token()));
        assert_eq!(cert_hash, Some([0xab; 32]));
        let ws = options(Some("pi"), None, &meeting("wss://h", None)).unwrap();
        assert!(matches!(ws.transport, TransportChoice::WebSocket { .. }));
        assert_eq!(
            options(Some("pi"), None, &meeting("http://h", None)).unwrap_err(),
            ConnectError::Scheme("http://h/".into())
        );
        assert_eq!(
            options(Some("pi"), None, &meeting("ws://h", Some(&hash))).unwrap_err(),
            ConnectError::CertHashOnWebSocket
        );
    }

    #[test]
    fn ids_and_hashes_are_checked() {
        assert!(matches!(
            options(Some("a.b"), None, &meeting("ws://h", None)),
            Err(ConnectError::Id { .. })
        ));
        let colons = ["0f"; 32].join(":");
        assert_eq!(parse_hash(&colons).unwrap(), [0x0f; 32]);
        assert!(parse_hash("abc").is_err());
        assert!(parse_hash(&"zz".repeat(32)).is_err());
    }

    /// A token for `pi` in `standup` (the signature is not checked here).
    fn token() -> String {
        use base64::Engine as _;
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(r#"{"sub":"pi","meeting":"standup","exp":1}"#);
        format!("e30.{payload}.sig")
    }

    #[test]
    fn a_token_names_the_user_and_meeting_and_flags_must_agree() {
        let mut args = meeting("wss://h", None);
        args.token = Some(token());
        args.meeting_id = None;
        let options = options(None, Some("recorder"), &args).unwrap();
        assert_eq!((options.user.as_str(), options.room.as_str()), ("pi", "standup"));
        assert!(matches!(
            super::options(Some("other"), None, &args),
            Err(ConnectError::NotTheToken { flag: "--user-id", .. })
        ));
        args.meeting_id = Some("elsewhere".into());
        assert!(matches!(
            super::options(None, None, &args),
            Err(ConnectError::NotTheToken { flag: "--meeting-id", .. })
        ));
        args.token = Some("nonsense".into());
        assert!(matches!(super::options(None, None, &args), Err(ConnectError::Token(_))));
        args.token = None;
        assert_eq!(
            super::options(None, None, &args).unwrap_err(),
            ConnectError::Missing("--user-id")
        );
    }

    #[test]
    fn tokens_are_not_shown() {
        assert_eq!(display_url(&Url::parse("wss://h/x?token=secret").unwrap()), "wss://h/x");
    }
}
