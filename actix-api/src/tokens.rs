//! Minting join tokens: `POST /api/v1/tokens` for a product's backend (with the operator's
//! `API_KEY`) and the `actix-api token` command for an operator's shell.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use videocall_access::{Claims, Secrets};
use videocall_types::{DisplayName, RoomId, UserId};

use crate::routes::error;
use crate::state::AppState;

/// The shortest `API_KEY` accepted.
pub(crate) const MIN_API_KEY_LEN: usize = 32;

/// The longest lifetime a minted token may have: a week.
pub(crate) const MAX_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// The lifetime of a minted token when none is asked for.
pub(crate) const DEFAULT_TTL: Duration = Duration::from_secs(3600);

/// The operator key, kept as its SHA-256 so that comparing a presented key takes the same
/// time whatever it has in common with the real one.
pub(crate) struct ApiKey([u8; 32]);

impl ApiKey {
    pub(crate) fn new(key: &str) -> Self {
        Self(Sha256::digest(key.as_bytes()).into())
    }

    fn matches(&self, presented: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        digest.iter().zip(self.0.iter()).fold(0u8, |diff, (a, b)| diff | (a ^ b)) == 0
    }
}

/// `actix-api token`: prints a join token signed with this server's `JWT_SECRET` /
/// `JWT_SECRETS`, or the secret it generated in `DATA_DIR` (like `lk token create`).
#[derive(Debug, Clone, clap::Args)]
pub struct TokenCommand {
    /// The meeting the token opens.
    #[arg(long)]
    pub(crate) meeting: RoomId,
    /// The user id every packet of the holder is stamped with.
    #[arg(long)]
    pub(crate) user: UserId,
    /// The display name others see (default: the user id).
    #[arg(long)]
    name: Option<String>,
    /// The holder runs the meeting (admit, remove, lock, end).
    #[arg(long)]
    pub(crate) host: bool,
    /// The holder receives only: its media is dropped.
    #[arg(long)]
    receive_only: bool,
    /// How long the token is valid: 90s, 15m, 1h, 7d (at most 7 days).
    #[arg(long, default_value = "1h", value_parser = parse_ttl)]
    pub(crate) ttl: Duration,
}

impl TokenCommand {
    /// The token, or why none can be made.
    pub fn token(&self, config: &crate::Config) -> anyhow::Result<String> {
        let access = crate::secret::existing(&config.access, &config.data_dir)?.access()?;
        let secrets = access.secrets().ok_or_else(|| {
            anyhow::anyhow!(
                "set JWT_SECRET (or JWT_SECRETS) to sign tokens, or start the server once so it \
                 generates {}",
                config.data_dir.join(crate::secret::FILE).display()
            )
        })?;
        let name = self.name.as_deref().map(DisplayName::new).transpose()?;
        let request = TokenRequest {
            user: self.user.clone(),
            meeting: self.meeting.clone(),
            name,
            host: self.host,
            publish: !self.receive_only,
            ttl: self.ttl,
        };
        Ok(mint(secrets, &request).0)
    }
}

/// What to put in a token.
#[derive(Debug, Clone)]
pub(crate) struct TokenRequest {
    /// The user id (`sub`).
    pub(crate) user: UserId,
    /// The meeting.
    pub(crate) meeting: RoomId,
    /// The display name; the user id when absent.
    pub(crate) name: Option<DisplayName>,
    /// Runs the meeting.
    pub(crate) host: bool,
    /// May send media.
    pub(crate) publish: bool,
    /// How long the token is valid.
    pub(crate) ttl: Duration,
}

/// Signs `request` at the current time; returns the token and its expiry (Unix seconds).
pub(crate) fn mint(secrets: &Secrets, request: &TokenRequest) -> (String, u64) {
    let now = videocall_access::unix_now();
    let claims = Claims {
        name: request.name.clone().unwrap_or_else(|| DisplayName::of_user(&request.user)),
        user: request.user.clone(),
        meeting: request.meeting.clone(),
        issued_at: now,
        expires_at: now + request.ttl.as_secs(),
        host: request.host,
        publish: request.publish,
    };
    (secrets.mint(&claims), claims.expires_at)
}

/// Reads a lifetime: `90s`, `15m`, `1h`, `7d`, or plain seconds; at most [`MAX_TTL`].
pub(crate) fn parse_ttl(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{text:?}: use a number with s, m, h or d (like 1h)")),
    };
    let count: u64 = number.parse().map_err(|_| format!("{text:?} is not a duration"))?;
    let ttl = Duration::from_secs(count.saturating_mul(scale));
    if ttl.is_zero() || ttl > MAX_TTL {
        return Err(format!("{text:?}: a token lives from 1 s to 7 days"));
    }
    Ok(ttl)
}

/// The JSON body of `POST /api/v1/tokens`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateToken {
    user: String,
    meeting: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    host: bool,
    #[serde(default = "yes")]
    publish: bool,
    /// Seconds; [`DEFAULT_TTL`] when absent.
    #[serde(default)]
    ttl_secs: Option<u64>,
}

fn yes() -> bool {
    true
}

/// Whether the request carries the operator's `API_KEY` as its bearer token.
pub(crate) fn is_operator(req: &HttpRequest, state: &AppState) -> bool {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    matches!((&state.api_key, presented), (Some(key), Some(presented)) if key.matches(presented.trim()))
}

/// A JSON error with a stable `code` beside the human message.
fn refuse(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": message, "code": code }))
}

/// `POST /api/v1/tokens`: mints a join token for the caller holding the operator's `API_KEY`.
pub(crate) async fn create(
    req: HttpRequest,
    body: web::Json<CreateToken>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let (Some(key), Some(secrets)) = (&state.api_key, state.access.secrets()) else {
        return error(StatusCode::NOT_FOUND, "minting tokens needs API_KEY and JWT_SECRET");
    };
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    if !presented.is_some_and(|presented| key.matches(presented.trim())) {
        let mut response =
            refuse(StatusCode::UNAUTHORIZED, "api_key", "a valid API key is required");
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"videocall\""),
        );
        return response;
    }
    let body = body.into_inner();
    let bad = |code: &str, message: String| refuse(StatusCode::BAD_REQUEST, code, &message);
    let user = match UserId::new(&body.user) {
        Ok(user) if user.as_str() == body.user => user,
        Ok(_) => return bad("user", format!("{:?} is not a valid user id", body.user)),
        Err(err) => return bad("user", err.to_string()),
    };
    let meeting = match RoomId::new(&body.meeting) {
        Ok(meeting) if meeting.as_str() == body.meeting => meeting,
        Ok(_) => return bad("meeting", format!("{:?} is not a valid meeting id", body.meeting)),
        Err(err) => return bad("meeting", err.to_string()),
    };
    let name = match body.name.as_deref().map(DisplayName::new).transpose() {
        Ok(name) => name,
        Err(err) => return bad("name", err.to_string()),
    };
    let ttl = match body.ttl_secs {
        None => DEFAULT_TTL,
        Some(secs) if secs > 0 && Duration::from_secs(secs) <= MAX_TTL => Duration::from_secs(secs),
        Some(_) => return bad("ttl_secs", "ttl_secs must be from 1 to 604800".into()),
    };
    let request = TokenRequest { user, meeting, name, host: body.host, publish: body.publish, ttl };
    let (token, expires_at) = mint(secrets, &request);
    HttpResponse::Created().insert_header(("Cache-Control", "no-store")).json(json!({
        "token": token,
        "expires_at": expires_at,
        "meeting": request.meeting.as_str(),
        "user": request.user.as_str(),
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn lifetimes_read_like_people_write_them() {
        assert_eq!(parse_ttl("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_ttl("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_ttl("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_ttl("7d"), Ok(MAX_TTL));
        for bad in ["", "0", "8d", "1w", "h", "-1h", "1.5h", "99999999999999999999d"] {
            assert!(parse_ttl(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_api_key_matches_only_itself() {
        let key = ApiKey::new("k".repeat(40).as_str());
        assert!(key.matches(&"k".repeat(40)));
        assert!(!key.matches(&"k".repeat(39)));
        assert!(!key.matches(""));
    }
}
