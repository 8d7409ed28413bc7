//! The public meeting API: create a meeting, read its public facts, ask to join it, and poll
//! the waiting room. Each is rate-limited per client address ([`super::limit`]); the host's
//! endpoints are in [`super::host`].
//!
//! Every answer carries `Cache-Control: no-store`: most carry a token, the rest change any
//! moment.

use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};
use serde::Deserialize;
use serde_json::{Value, json};
use videocall_access::{Secrets, unix_now};
use videocall_store::{Decision, Meeting, NewMeeting, StoreError};
use videocall_types::{DisplayName, RoomId, UserId};

use super::error::{ApiError, ApiResult};
use super::ids;
use super::limit::{Endpoint, Limited};
use crate::state::AppState;
use crate::tokens::{self, TokenRequest};

/// Longest meeting title, in characters.
pub(crate) const MAX_TITLE_CHARS: usize = 200;

/// How long after a host admits a guest the guest's entry still hands out tokens: long
/// enough for a polling client that was offline a while, short enough that an entry handle
/// found later in a log opens nothing.
pub(crate) const ADMITTED_PICKUP: Duration = Duration::from_secs(10 * 60);

/// `POST /api/v1/meetings` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateMeeting {
    title: String,
    host_name: String,
    #[serde(default)]
    waiting_room: bool,
    #[serde(default)]
    locked: bool,
    #[serde(default)]
    e2ee_required: bool,
    /// A chosen id, for a caller holding the operator's `API_KEY`; generated otherwise.
    #[serde(default)]
    id: Option<String>,
}

/// `POST /api/v1/meetings/{id}/join` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct JoinMeeting {
    name: String,
}

/// `POST /api/v1/meetings`: creates a meeting; its creator is its host, with a generated user
/// id and a host token (201).
pub(crate) async fn create(
    req: HttpRequest,
    body: web::Json<CreateMeeting>,
    state: web::Data<AppState>,
) -> ApiResult {
    limit(&state, &req, Endpoint::Create)?;
    let body = body.into_inner();
    let title = title(&body.title)?;
    let host_name =
        DisplayName::new(&body.host_name).map_err(|e| ApiError::invalid("host_name", e))?;
    let id = match &body.id {
        None => ids::meeting(),
        Some(id) => {
            // Claiming a chosen id would take an open-mode room of that name away from the
            // people using it (stored meetings take token holders only).
            if !crate::tokens::is_operator(&req, &state) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "id",
                    "choosing a meeting id needs the operator's API key; leave it out to get one",
                ));
            }
            exact_room(id).ok_or_else(|| {
                ApiError::invalid("id", format!("{id:?} is not a valid meeting id"))
            })?
        }
    };
    let secrets = secrets(&state)?;
    let meetings = &state.meetings;
    let host = ids::user();
    let new = NewMeeting {
        id: id.to_string(),
        title,
        host_user_id: host.to_string(),
        waiting_room: body.waiting_room,
        e2ee_required: body.e2ee_required,
    };
    let mut meeting = meetings.store.create_meeting(&new).await.map_err(|err| match err {
        StoreError::Conflict => {
            ApiError::new(StatusCode::CONFLICT, "meeting_exists", "a meeting with this id exists")
        }
        err => ApiError::store(&meetings.counters, err),
    })?;
    if body.locked {
        meeting = meetings
            .store
            .set_locked(&meeting.id, true)
            .await
            .map_err(|e| ApiError::store(&meetings.counters, e))?;
    }
    let (token, expires_at) = mint(secrets, &state, &host, &host_name, &id, true);
    tracing::info!(meeting = %id, "meeting created");
    Ok(no_store(HttpResponse::Created()).json(json!({
        "meeting": view(&meeting),
        "token": token,
        "user": host.as_str(),
        "expires_at": expires_at,
    })))
}

/// `GET /api/v1/meetings/{id}`: the meeting's public facts; with a host token for it, also who
/// is in it and how many wait.
pub(crate) async fn get(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ApiResult {
    limit(&state, &req, Endpoint::Poll)?;
    let id = meeting_id(&path)?;
    let meetings = &state.meetings;
    let meeting = meetings
        .store
        .meeting(id.as_str())
        .await
        .map_err(|e| ApiError::store(&meetings.counters, e))?;
    let mut body = view(&meeting);
    if bearer(&req).is_some() {
        super::host::authorize(&req, &state, &id)?;
        let store_error = |e| ApiError::store(&meetings.counters, e);
        let present = meetings.store.participants(id.as_str()).await.map_err(store_error)?;
        let waiting = meetings.store.waiting(id.as_str()).await.map_err(store_error)?;
        body["participants"] = present
            .iter()
            .map(|p| {
                json!({
                    "session": p.session_id.to_string(),
                    "user": p.user_id,
                    "name": p.display_name,
                    "host": p.host,
                    "joined_at": p.joined_at.unix_timestamp(),
                })
            })
            .collect();
        body["waiting"] = waiting.len().into();
    }
    Ok(no_store(HttpResponse::Ok()).json(body))
}

/// `POST /api/v1/meetings/{id}/join`: a token for a new participant named `name` (200), or,
/// with the waiting room on, an entry to poll until a host decides (202). 410 once the
/// meeting ended, 403 while it is locked.
pub(crate) async fn join(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<JoinMeeting>,
    state: web::Data<AppState>,
) -> ApiResult {
    limit(&state, &req, Endpoint::Join)?;
    let id = meeting_id(&path)?;
    let name = DisplayName::new(&body.name).map_err(|e| ApiError::invalid("name", e))?;
    let secrets = secrets(&state)?;
    let meetings = &state.meetings;
    let store_error = |e| ApiError::store(&meetings.counters, e);
    let meeting = meetings.store.meeting(id.as_str()).await.map_err(store_error)?;
    if meeting.has_ended() {
        return Err(ApiError::ended());
    }
    if meeting.locked {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "meeting_locked",
            "the meeting is locked",
        ));
    }
    let user = ids::user();
    if meeting.waiting_room {
        let entry = meetings
            .store
            .request_entry(id.as_str(), user.as_str(), name.as_str())
            .await
            .map_err(store_error)?;
        return Ok(no_store(HttpResponse::Accepted()).json(json!({
            "status": "waiting",
            "entry": ids::entry_handle(secrets, id.as_str(), entry.id),
            "user": user.as_str(),
        })));
    }
    let (token, expires_at) = mint(secrets, &state, &user, &name, &id, false);
    Ok(admitted(&token, &user, expires_at))
}

/// `GET /api/v1/meetings/{id}/waiting/{entry}`: where a waiting guest stands: `pending`, or
/// `admitted` with a token, or 403 `rejected` (410 once the meeting ended).
pub(crate) async fn poll(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ApiResult {
    limit(&state, &req, Endpoint::Poll)?;
    let (id, handle) = path.into_inner();
    let id = meeting_id(&id)?;
    let secrets = secrets(&state)?;
    let row = ids::entry_row(secrets, id.as_str(), &handle)
        .ok_or_else(|| ApiError::not_found("waiting-room entry"))?;
    let meetings = &state.meetings;
    let store_error = |e| ApiError::store(&meetings.counters, e);
    let entry = meetings.store.waiting_entry(id.as_str(), row).await.map_err(store_error)?;
    if meetings.store.meeting(id.as_str()).await.map_err(store_error)?.has_ended() {
        return Err(ApiError::ended());
    }
    match entry.decision {
        Decision::Pending => Ok(no_store(HttpResponse::Ok()).json(json!({ "status": "pending" }))),
        Decision::Rejected => {
            Err(ApiError::new(StatusCode::FORBIDDEN, "rejected", "the host did not let you in"))
        }
        Decision::Admitted => {
            let decided = entry.decided_at.map_or(0, |at| at.unix_timestamp());
            let stale = unix_now().saturating_sub(u64::try_from(decided).unwrap_or(0))
                > ADMITTED_PICKUP.as_secs();
            if stale {
                return Err(ApiError::new(
                    StatusCode::GONE,
                    "entry_expired",
                    "this entry was admitted too long ago; ask to join again",
                ));
            }
            // Stored by `join` from valid ones.
            let user = UserId::new(&entry.user_id).map_err(|e| ApiError::invalid("user", e))?;
            let name =
                DisplayName::new(&entry.display_name).map_err(|e| ApiError::invalid("name", e))?;
            let (token, expires_at) = mint(secrets, &state, &user, &name, &id, false);
            Ok(admitted(&token, &user, expires_at))
        }
    }
}

/// 200 `{"status": "admitted", "token": ..., "user": ..., "expires_at": ...}`.
fn admitted(token: &str, user: &UserId, expires_at: u64) -> HttpResponse {
    no_store(HttpResponse::Ok()).json(json!({
        "status": "admitted",
        "token": token,
        "user": user.as_str(),
        "expires_at": expires_at,
    }))
}

/// A meeting's public facts; times in seconds since the Unix epoch.
pub(crate) fn view(meeting: &Meeting) -> Value {
    json!({
        "id": meeting.id,
        "title": meeting.title,
        "locked": meeting.locked,
        "waiting_room": meeting.waiting_room,
        "e2ee_required": meeting.e2ee_required,
        "created_at": meeting.created_at.unix_timestamp(),
        "started_at": meeting.started_at.map(|at| at.unix_timestamp()),
        "ended_at": meeting.ended_at.map(|at| at.unix_timestamp()),
        "ended": meeting.has_ended(),
    })
}

/// A response builder with `Cache-Control: no-store`.
pub(crate) fn no_store(mut builder: HttpResponseBuilder) -> HttpResponseBuilder {
    builder.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
    builder
}

/// Takes one request of this client to `endpoint` from its budget, or refuses with 429.
fn limit(state: &AppState, req: &HttpRequest, endpoint: Endpoint) -> Result<(), ApiError> {
    let ip = crate::websocket::client_ip(req, state.config.trust_forwarded_headers);
    match state.api_limits.check(endpoint, ip, Instant::now()) {
        Ok(()) => Ok(()),
        Err(limited) => {
            state.meetings.counters.rate_limited(endpoint);
            if limited == Limited::TableFull {
                tracing::warn!(
                    endpoint = endpoint.label(),
                    "meeting API: too many clients tracked; refusing new ones"
                );
            }
            let per_minute = u64::from(state.config.meeting_api_rate_per_minute.max(1));
            Err(ApiError::rate_limited(60u64.div_ceil(per_minute)))
        }
    }
}

/// The meeting id of a path; an id that is not valid names no meeting (404).
pub(crate) fn meeting_id(raw: &str) -> Result<RoomId, ApiError> {
    exact_room(raw).ok_or_else(|| ApiError::not_found("meeting"))
}

/// `raw` as a meeting id, if it is one exactly (no mapping of spaces as old URLs get).
fn exact_room(raw: &str) -> Option<RoomId> {
    RoomId::new(raw).ok().filter(|id| id.as_str() == raw)
}

/// The secrets tokens are minted with (always there: configured, or generated at start).
fn secrets(state: &AppState) -> Result<&Secrets, ApiError> {
    state.access.secrets().ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "tokens_disabled", "this server mints no tokens")
    })
}

/// A join token for the meeting API's participant; returns it and its expiry.
fn mint(
    secrets: &Secrets,
    state: &AppState,
    user: &UserId,
    name: &DisplayName,
    meeting: &RoomId,
    host: bool,
) -> (String, u64) {
    let request = TokenRequest {
        user: user.clone(),
        meeting: meeting.clone(),
        name: Some(name.clone()),
        host,
        publish: true,
        ttl: state.config.meeting_token_ttl,
    };
    tokens::mint(secrets, &request)
}

/// A meeting title: at most [`MAX_TITLE_CHARS`] characters, no control characters.
fn title(raw: &str) -> Result<String, ApiError> {
    let title = raw.trim();
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(ApiError::invalid("title", format!("at most {MAX_TITLE_CHARS} characters")));
    }
    if title.chars().any(char::is_control) {
        return Err(ApiError::invalid("title", "no control characters"));
    }
    Ok(title.to_owned())
}

/// The bearer token of `Authorization`, if any.
pub(crate) fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    value.strip_prefix("Bearer ").map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_free_text_within_limits() {
        assert_eq!(title("  Weekly sync — Zoë  ").ok().as_deref(), Some("Weekly sync — Zoë"));
        assert!(title("").is_ok());
        assert!(title(&"é".repeat(MAX_TITLE_CHARS)).is_ok());
        assert!(title(&"é".repeat(MAX_TITLE_CHARS + 1)).is_err());
        assert!(title("a\nb").is_err());
    }

    #[test]
    fn only_exact_ids_name_meetings() {
        assert!(meeting_id("Ab3_-x").is_ok());
        for bad in ["", "a b", "a.b", "*", &"x".repeat(65)] {
            assert!(meeting_id(bad).is_err(), "{bad}");
        }
    }
}
