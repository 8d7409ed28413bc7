//! Join tokens: compact JWTs signed with HMAC-SHA256 (RFC 7519, RFC 7515).
//!
//! The contract other tools mint against, kept exactly:
//!
//! - header `{"alg":"HS256"}`, optionally `"typ":"JWT"` and a `"kid"` naming one of the secrets
//!   in `JWT_SECRETS`; a token without `kid` is checked with `JWT_SECRET`;
//! - claims `sub` (the user id every packet is stamped with), `name` (display name), `meeting`,
//!   `exp`, `iat`, and optionally `host` (default false) and `publish` (default true); other
//!   claims are ignored.
//!
//! Verification checks the signature first, in constant time, and reads no claim of a token
//! that fails it. Any `alg` but `HS256` (`none` included) is refused: the algorithm is ours to
//! choose, never the token's.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use videocall_types::{DisplayName, RoomId, UserId};

type HmacSha256 = Hmac<Sha256>;

/// The longest token read, in bytes; longer ones are refused before any decoding.
pub const MAX_TOKEN_BYTES: usize = 4096;

/// The shortest secret accepted, in bytes: HS256 keys should carry at least the 256 bits of
/// the hash (RFC 7518 §3.2).
pub const MIN_SECRET_BYTES: usize = 32;

/// How far clocks may disagree: `exp` is honoured this long after it passed, and `iat` and
/// `nbf` may lie this far in the future.
pub const CLOCK_SKEW_SECS: u64 = 30;

/// The claims of a join token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// `sub`: the user id, stamped on everything the participant sends.
    pub user: UserId,
    /// `name`: what other participants see.
    pub name: DisplayName,
    /// `meeting`: the only meeting the token opens.
    pub meeting: RoomId,
    /// `iat`: issued at, seconds since the Unix epoch.
    pub issued_at: u64,
    /// `exp`: expires at, seconds since the Unix epoch.
    pub expires_at: u64,
    /// `host`: may run the meeting (admit, remove, lock, end).
    pub host: bool,
    /// `publish`: may send media; `false` receives only.
    pub publish: bool,
}

/// Why a token is refused. The messages are safe to show the client: they never include a
/// secret or the token itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not three base64url parts of JSON, or longer than [`MAX_TOKEN_BYTES`].
    #[error("token is malformed: {0}")]
    Malformed(&'static str),
    /// A header `alg` other than `HS256`.
    #[error("token algorithm {0:?} is not accepted; use HS256")]
    Algorithm(String),
    /// A `kid` that names no configured secret, or no `kid` where only `JWT_SECRETS` is set.
    #[error("token key id {0:?} is not known to this server")]
    UnknownKey(Option<String>),
    /// The signature does not match: tampered, or signed with another secret.
    #[error("token signature is not valid")]
    Signature,
    /// `exp` has passed.
    #[error("token has expired")]
    Expired,
    /// `iat` or `nbf` lies in the future.
    #[error("token is not valid yet")]
    NotYetValid,
    /// A claim is missing or has the wrong type or value.
    #[error("token claim {claim:?} is not valid: {reason}")]
    Claim {
        /// The claim's name.
        claim: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// Why a secret configuration is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretsError {
    /// A secret shorter than [`MIN_SECRET_BYTES`].
    #[error("{which} is {len} bytes long; HS256 secrets need at least {MIN_SECRET_BYTES}")]
    TooShort {
        /// `JWT_SECRET` or the `kid` of a `JWT_SECRETS` entry.
        which: String,
        /// Its length.
        len: usize,
    },
    /// A `JWT_SECRETS` entry that is not `kid:secret`, or a `kid` given twice.
    #[error("JWT_SECRETS entry {index} is not valid: {reason}")]
    Entry {
        /// 1-based position in the list.
        index: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// The secrets tokens are signed with: `JWT_SECRET` for tokens without `kid`, and
/// `JWT_SECRETS` (`kid1:secret1,kid2:secret2`) to rotate keys. New tokens are signed with the
/// first `JWT_SECRETS` entry when there is one, else with `JWT_SECRET`.
#[derive(Clone)]
pub struct Secrets {
    default: Option<Vec<u8>>,
    keyed: Vec<(String, Vec<u8>)>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the secrets themselves: configurations get logged.
        let kids: Vec<&str> = self.keyed.iter().map(|(kid, _)| kid.as_str()).collect();
        f.debug_struct("Secrets")
            .field("default", &self.default.is_some())
            .field("kids", &kids)
            .finish()
    }
}

impl Secrets {
    /// Secrets from `JWT_SECRET` and `JWT_SECRETS`; `None` when neither is set (or both are
    /// empty), which means the server cannot verify tokens at all.
    pub fn new(secret: Option<&str>, keyed: Option<&str>) -> Result<Option<Self>, SecretsError> {
        let default = match secret.filter(|s| !s.is_empty()) {
            Some(secret) => Some(checked("JWT_SECRET", secret)?),
            None => None,
        };
        let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
        let list = keyed.unwrap_or_default();
        for (i, entry) in list.split(',').filter(|e| !e.trim().is_empty()).enumerate() {
            let index = i + 1;
            let Some((kid, secret)) = entry.trim().split_once(':') else {
                return Err(SecretsError::Entry { index, reason: "expected kid:secret" });
            };
            if kid.is_empty() {
                return Err(SecretsError::Entry { index, reason: "the kid is empty" });
            }
            if entries.iter().any(|(known, _)| known == kid) {
                return Err(SecretsError::Entry { index, reason: "the kid is given twice" });
            }
            entries.push((kid.to_owned(), checked(kid, secret)?));
        }
        if default.is_none() && entries.is_empty() {
            return Ok(None);
        }
        Ok(Some(Self { default, keyed: entries }))
    }

    /// The secret a token's `kid` selects.
    fn for_kid(&self, kid: Option<&str>) -> Option<&[u8]> {
        match kid {
            None => self.default.as_deref(),
            Some(kid) => self.keyed.iter().find(|(k, _)| k == kid).map(|(_, s)| s.as_slice()),
        }
    }

    /// The `kid` and secret new tokens are signed with.
    fn signing(&self) -> (Option<&str>, &[u8]) {
        match (self.keyed.first(), &self.default) {
            (Some((kid, secret)), _) => (Some(kid), secret),
            (None, Some(secret)) => (None, secret),
            // `new` never builds an empty set.
            (None, None) => (None, &[]),
        }
    }

    /// Signs `claims` into a token.
    pub fn mint(&self, claims: &Claims) -> String {
        let (kid, secret) = self.signing();
        let header =
            Header { alg: "HS256".into(), typ: Some("JWT".into()), kid: kid.map(Into::into) };
        let payload = Payload {
            sub: claims.user.as_str().into(),
            name: claims.name.as_str().into(),
            meeting: claims.meeting.as_str().into(),
            iat: claims.issued_at,
            exp: claims.expires_at,
            host: claims.host,
            publish: claims.publish,
        };
        // Serializing plain strings, numbers and booleans cannot fail.
        let header = serde_json::to_vec(&header).unwrap_or_default();
        let payload = serde_json::to_vec(&payload).unwrap_or_default();
        let signed =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(payload));
        let signature =
            URL_SAFE_NO_PAD.encode(mac(secret, signed.as_bytes()).finalize().into_bytes());
        format!("{signed}.{signature}")
    }

    /// Checks `token`'s signature and claims at time `now` (seconds since the Unix epoch).
    pub fn verify(&self, token: &str, now: u64) -> Result<Claims, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Malformed("longer than 4096 bytes"));
        }
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed("expected three dot-separated parts"));
        };
        let header: Header = decode_json(header, "header is not base64url JSON")?;
        if header.alg != "HS256" {
            return Err(TokenError::Algorithm(header.alg));
        }
        let secret =
            self.for_kid(header.kid.as_deref()).ok_or(TokenError::UnknownKey(header.kid))?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::Malformed("signature is not base64url"))?;
        let signed_len = token.len() - signature_len(token);
        mac(secret, &token.as_bytes()[..signed_len])
            .verify_slice(&signature)
            .map_err(|_| TokenError::Signature)?;
        let payload: RawPayload = decode_json(payload, "payload is not base64url JSON")?;
        payload.into_claims(now)
    }
}

impl Secrets {
    /// A MAC (HMAC-SHA256, base64url) of `message` under the signing secret, for the server's
    /// own opaque handles (a waiting-room entry a guest polls). `purpose` separates the uses;
    /// neither can contain a NUL, which no token's signed part has, so a tag is never a valid
    /// token signature and the other way round.
    pub fn tag(&self, purpose: &str, message: &str) -> String {
        let (_, secret) = self.signing();
        URL_SAFE_NO_PAD.encode(tag_mac(secret, purpose, message).finalize().into_bytes())
    }

    /// Whether `tag` is [`Secrets::tag`] of `message` under any configured secret (so handles
    /// survive a rotation), compared in constant time.
    pub fn check_tag(&self, purpose: &str, message: &str, tag: &str) -> bool {
        let Ok(tag) = URL_SAFE_NO_PAD.decode(tag) else { return false };
        let secrets = self.default.iter().chain(self.keyed.iter().map(|(_, secret)| secret));
        secrets
            .into_iter()
            .any(|secret| tag_mac(secret, purpose, message).verify_slice(&tag).is_ok())
    }
}

fn tag_mac(secret: &[u8], purpose: &str, message: &str) -> HmacSha256 {
    let mut mac = mac(secret, b"videocall-tag\0");
    mac.update(purpose.as_bytes());
    mac.update(b"\0");
    mac.update(message.as_bytes());
    mac
}

/// Seconds since the Unix epoch: the clock tokens are issued and checked by.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// A secret that is long enough.
fn checked(which: &str, secret: &str) -> Result<Vec<u8>, SecretsError> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(SecretsError::TooShort { which: which.to_owned(), len: secret.len() });
    }
    Ok(secret.as_bytes().to_vec())
}

fn mac(secret: &[u8], signed: &[u8]) -> HmacSha256 {
    // ok: HMAC accepts keys of any length, so this cannot fail whatever the secret.
    let mut mac =
        <HmacSha256 as Mac>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(signed);
    mac
}

/// The length of the signature part with its leading dot.
fn signature_len(token: &str) -> usize {
    token.rfind('.').map_or(0, |dot| token.len() - dot)
}

fn decode_json<T: for<'de> Deserialize<'de>>(
    part: &str,
    what: &'static str,
) -> Result<T, TokenError> {
    let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|_| TokenError::Malformed(what))?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed(what))
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    typ: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kid: Option<String>,
}

#[derive(Serialize)]
struct Payload {
    sub: String,
    name: String,
    meeting: String,
    iat: u64,
    exp: u64,
    host: bool,
    publish: bool,
}

/// The payload as sent: every claim optional and loosely typed, so a bad one gets an error
/// that names it rather than a generic parse failure.
#[derive(Deserialize)]
struct RawPayload {
    sub: Option<serde_json::Value>,
    name: Option<serde_json::Value>,
    meeting: Option<serde_json::Value>,
    iat: Option<serde_json::Value>,
    exp: Option<serde_json::Value>,
    nbf: Option<serde_json::Value>,
    host: Option<serde_json::Value>,
    publish: Option<serde_json::Value>,
}

impl RawPayload {
    fn into_claims(self, now: u64) -> Result<Claims, TokenError> {
        let expires_at = time(self.exp, "exp")?.ok_or_else(|| missing("exp"))?;
        if expires_at.saturating_add(CLOCK_SKEW_SECS) <= now {
            return Err(TokenError::Expired);
        }
        let issued_at = time(self.iat, "iat")?.ok_or_else(|| missing("iat"))?;
        let not_before = time(self.nbf, "nbf")?.unwrap_or(0);
        if issued_at.max(not_before) > now.saturating_add(CLOCK_SKEW_SECS) {
            return Err(TokenError::NotYetValid);
        }
        let sub = text(self.sub, "sub")?;
        let user = UserId::new(&sub).map_err(|e| invalid("sub", e.to_string()))?;
        // `UserId::new` maps spaces to `_` for old URLs; a token names its user exactly.
        if user.as_str() != sub {
            return Err(invalid("sub", format!("{sub:?} is not a valid user id")));
        }
        let name = text(self.name, "name")?;
        let name = DisplayName::new(&name).map_err(|e| invalid("name", e.to_string()))?;
        let raw = text(self.meeting, "meeting")?;
        let meeting = RoomId::new(&raw).map_err(|e| invalid("meeting", e.to_string()))?;
        if meeting.as_str() != raw {
            return Err(invalid("meeting", format!("{raw:?} is not a valid meeting id")));
        }
        Ok(Claims {
            user,
            name,
            meeting,
            issued_at,
            expires_at,
            host: flag(self.host, "host")?.unwrap_or(false),
            publish: flag(self.publish, "publish")?.unwrap_or(true),
        })
    }
}

fn missing(claim: &'static str) -> TokenError {
    TokenError::Claim { claim, reason: "missing".into() }
}

fn invalid(claim: &'static str, reason: String) -> TokenError {
    TokenError::Claim { claim, reason }
}

fn text(value: Option<serde_json::Value>, claim: &'static str) -> Result<String, TokenError> {
    match value {
        Some(serde_json::Value::String(s)) => Ok(s),
        Some(_) => Err(invalid(claim, "not a string".into())),
        None => Err(missing(claim)),
    }
}

fn flag(value: Option<serde_json::Value>, claim: &'static str) -> Result<Option<bool>, TokenError> {
    match value {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Bool(b)) => Ok(Some(b)),
        Some(_) => Err(invalid(claim, "not true or false".into())),
    }
}

/// A NumericDate (RFC 7519 §2): seconds since the epoch, fractions allowed and dropped.
fn time(value: Option<serde_json::Value>, claim: &'static str) -> Result<Option<u64>, TokenError> {
    let Some(value) = value else { return Ok(None) };
    let seconds = value.as_u64().or_else(|| {
        value
            .as_f64()
            .filter(|s| s.is_finite() && *s >= 0.0 && *s < u64::MAX as f64)
            .map(|s| s as u64)
    });
    seconds.map(Some).ok_or_else(|| invalid(claim, "not a number of seconds since 1970".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";
    const OTHER: &str = "fedcba9876543210fedcba9876543210";
    const NOW: u64 = 1_796_000_100;

    fn secrets() -> Secrets {
        Secrets::new(Some(SECRET), None).unwrap().unwrap()
    }

    fn claims() -> Claims {
        Claims {
            user: UserId::new("ann").unwrap(),
            name: DisplayName::new("Ann Ødegård").unwrap(),
            meeting: RoomId::new("standup").unwrap(),
            issued_at: NOW - 10,
            expires_at: NOW + 3600,
            host: false,
            publish: true,
        }
    }

    #[test]
    fn tags_check_under_any_secret_and_for_their_purpose_and_message_only() {
        let tag = secrets().tag("entry", "m1:7");
        assert!(secrets().check_tag("entry", "m1:7", &tag));
        assert!(!secrets().check_tag("entry", "m1:8", &tag));
        assert!(!secrets().check_tag("other", "m1:7", &tag));
        assert!(!secrets().check_tag("entry", "m1:7", "not base64!"));
        assert!(!secrets().check_tag("entry", "m1:7", ""));
        // After a rotation the old secret still checks what it tagged.
        let rotated = Secrets::new(Some(SECRET), Some(&format!("k2:{OTHER}"))).unwrap().unwrap();
        assert!(rotated.check_tag("entry", "m1:7", &tag));
        let other = Secrets::new(Some(OTHER), None).unwrap().unwrap();
        assert!(!other.check_tag("entry", "m1:7", &tag));
    }

    /// A token with any header and payload, signed with `secret` as an outside tool would.
    fn forge(secret: &str, header: serde_json::Value, payload: serde_json::Value) -> String {
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(payload.to_string())
        );
        let signature = mac(secret.as_bytes(), signed.as_bytes()).finalize().into_bytes();
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    fn payload() -> serde_json::Value {
        serde_json::json!({"sub": "ann", "name": "Ann", "meeting": "standup",
            "iat": NOW - 10, "exp": NOW + 60})
    }

    fn hs256() -> serde_json::Value {
        serde_json::json!({"alg": "HS256", "typ": "JWT"})
    }

    #[test]
    fn a_minted_token_verifies_to_its_claims() {
        let token = secrets().mint(&claims());
        assert_eq!(secrets().verify(&token, NOW), Ok(claims()));
        let mut host = claims();
        host.host = true;
        host.publish = false;
        assert_eq!(secrets().verify(&secrets().mint(&host), NOW), Ok(host));
    }

    #[test]
    fn a_token_from_another_implementation_verifies() {
        // Signed with Python's hmac and base64 modules, not with this crate.
        let token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6IjIwMjYtMTEifQ.\
            eyJzdWIiOiJtYXJpYS0xIiwibmFtZSI6Ik1hcsOtYSBKb3PDqSDwn46lIiwibWVldGluZyI6InN0YW5kdXAiLCJpYXQiOjE3OTYwMDAwMDAsImV4cCI6MTc5NjAwMzYwMCwiaG9zdCI6dHJ1ZX0.\
            FBhWEtYZU1i-BzkDwKR097d5pzECrQ8wMwsYSkeVZ9Q";
        let keyed = Secrets::new(None, Some(&format!("2026-11:{SECRET}"))).unwrap().unwrap();
        let claims = keyed.verify(token, NOW).unwrap();
        assert_eq!(claims.user.as_str(), "maria-1");
        assert_eq!(claims.name.as_str(), "María José 🎥");
        assert_eq!(claims.meeting.as_str(), "standup");
        assert!(claims.host && claims.publish);
        assert_eq!((claims.issued_at, claims.expires_at), (1_796_000_000, 1_796_003_600));
        // The same secret without the kid does not open it: the kid selects the key.
        assert_eq!(
            secrets().verify(token, NOW),
            Err(TokenError::UnknownKey(Some("2026-11".into())))
        );
    }

    #[test]
    fn rotation_signs_with_the_first_kid_and_accepts_the_others() {
        let old = Secrets::new(None, Some(&format!("old:{SECRET}"))).unwrap().unwrap();
        let token = old.mint(&claims());
        let rotated =
            Secrets::new(None, Some(&format!("new:{OTHER},old:{SECRET}"))).unwrap().unwrap();
        assert_eq!(rotated.verify(&token, NOW), Ok(claims()));
        let fresh = rotated.mint(&claims());
        assert_eq!(old.verify(&fresh, NOW), Err(TokenError::UnknownKey(Some("new".into()))));
        // A token without kid needs JWT_SECRET.
        let plain = secrets().mint(&claims());
        assert_eq!(rotated.verify(&plain, NOW), Err(TokenError::UnknownKey(None)));
    }

    #[test]
    fn other_algorithms_and_alg_none_are_refused() {
        for alg in ["none", "None", "HS512", "RS256", "ES256", "hs256"] {
            let header = serde_json::json!({"alg": alg});
            let token = forge(SECRET, header, payload());
            assert_eq!(secrets().verify(&token, NOW), Err(TokenError::Algorithm(alg.into())));
        }
        // The classic `alg: none` token has an empty signature.
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(payload().to_string())
        );
        assert!(matches!(secrets().verify(&none, NOW), Err(TokenError::Algorithm(_))));
    }

    #[test]
    fn a_tampered_or_foreign_token_fails_the_signature() {
        let token = secrets().mint(&claims());
        let parts: Vec<&str> = token.split('.').collect();
        let mut other = claims();
        other.meeting = RoomId::new("board").unwrap();
        let other_payload = secrets().mint(&other);
        let swapped =
            format!("{}.{}.{}", parts[0], other_payload.split('.').nth(1).unwrap(), parts[2]);
        assert_eq!(secrets().verify(&swapped, NOW), Err(TokenError::Signature));
        let foreign = Secrets::new(Some(OTHER), None).unwrap().unwrap().mint(&claims());
        assert_eq!(secrets().verify(&foreign, NOW), Err(TokenError::Signature));
        let truncated = &token[..token.len() - 2];
        assert!(secrets().verify(truncated, NOW).is_err());
    }

    #[test]
    fn time_claims_are_checked_with_a_small_skew() {
        let token = secrets().mint(&claims());
        let expiry = claims().expires_at;
        assert!(secrets().verify(&token, expiry + CLOCK_SKEW_SECS - 1).is_ok());
        assert_eq!(secrets().verify(&token, expiry + CLOCK_SKEW_SECS), Err(TokenError::Expired));
        let mut early = claims();
        early.issued_at = NOW + CLOCK_SKEW_SECS + 1;
        assert_eq!(secrets().verify(&secrets().mint(&early), NOW), Err(TokenError::NotYetValid));
        let mut nbf = payload();
        nbf["nbf"] = (NOW + 600).into();
        assert_eq!(
            secrets().verify(&forge(SECRET, hs256(), nbf), NOW),
            Err(TokenError::NotYetValid)
        );
        let mut fractional = payload();
        fractional["exp"] = serde_json::json!(NOW as f64 + 60.5);
        assert!(secrets().verify(&forge(SECRET, hs256(), fractional), NOW).is_ok());
    }

    #[test]
    fn each_bad_claim_is_named() {
        let cases: [(&str, serde_json::Value, &str); 9] = [
            ("exp", serde_json::Value::Null, "exp"),
            ("iat", serde_json::Value::Null, "iat"),
            ("sub", "ann smith".into(), "sub"),
            ("sub", 7.into(), "sub"),
            ("name", "x".repeat(65).into(), "name"),
            ("name", "two\nlines".into(), "name"),
            ("meeting", "a.b".into(), "meeting"),
            ("host", "yes".into(), "host"),
            ("exp", "tomorrow".into(), "exp"),
        ];
        for (key, value, named) in cases {
            let mut payload = payload();
            if value.is_null() {
                payload.as_object_mut().unwrap().remove(key);
            } else {
                payload[key] = value;
            }
            match secrets().verify(&forge(SECRET, hs256(), payload), NOW) {
                Err(TokenError::Claim { claim, .. }) => assert_eq!(claim, named),
                other => panic!("{key}: {other:?}"),
            }
        }
        let mut defaults = payload();
        defaults["publish"] = serde_json::Value::Null;
        let claims = secrets().verify(&forge(SECRET, hs256(), defaults), NOW).unwrap();
        assert!(claims.publish && !claims.host);
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        let huge = "a".repeat(MAX_TOKEN_BYTES + 1);
        for token in ["", ".", "..", "a.b.c", "a.b.c.d", "%%%.%%%.%%%", huge.as_str()] {
            assert!(
                matches!(secrets().verify(token, NOW), Err(TokenError::Malformed(_))),
                "{token:.20}"
            );
        }
        let not_json = format!("{}.{}.", URL_SAFE_NO_PAD.encode("{"), URL_SAFE_NO_PAD.encode("{}"));
        assert!(matches!(secrets().verify(&not_json, NOW), Err(TokenError::Malformed(_))));
    }

    #[test]
    fn secrets_are_checked_and_never_printed() {
        assert_eq!(Secrets::new(None, None).unwrap().map(|_| ()), None);
        assert_eq!(Secrets::new(Some(""), Some("")).unwrap().map(|_| ()), None);
        assert!(matches!(Secrets::new(Some("short"), None), Err(SecretsError::TooShort { .. })));
        let dup = format!("a:{SECRET},a:{OTHER}");
        assert!(matches!(
            Secrets::new(None, Some(&dup)),
            Err(SecretsError::Entry { index: 2, .. })
        ));
        assert!(matches!(
            Secrets::new(None, Some(SECRET)),
            Err(SecretsError::Entry { index: 1, .. })
        ));
        let both = Secrets::new(Some(SECRET), Some(&format!("k:{OTHER}"))).unwrap().unwrap();
        let shown = format!("{both:?}");
        assert!(
            !shown.contains(SECRET) && !shown.contains(OTHER) && shown.contains("\"k\""),
            "{shown}"
        );
    }
}
