//! The host's endpoints, each authorized by `Authorization: Bearer <host token for that
//! meeting>`: the waiting room (list, admit, reject), lock and unlock, remove a participant,
//! ask one to mute, end the meeting. What reaches sessions (removals, mute requests, the end)
//! goes through the relay to every instance ([`Relay::host_action`]), after the store has
//! recorded it, so a session that joins meanwhile is refused by the join check instead.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;
use videocall_access::Claims;
use videocall_relay::{HostAction, Relay};
use videocall_store::{Decision, StoreError, Verdict};
use videocall_types::{RoomId, UserId};

use videocall_access::unix_now;

use super::api::{bearer, meeting_id, no_store, view};
use super::error::{ApiError, ApiResult};
use super::ids;
use crate::state::AppState;

/// The claims of the request's host token for meeting `id`: 401 without a valid token, 403
/// for one that is not a host's of this meeting.
pub(crate) fn authorize(
    req: &HttpRequest,
    state: &AppState,
    id: &RoomId,
) -> Result<Claims, ApiError> {
    let unauthorized =
        |message: String| ApiError::new(StatusCode::UNAUTHORIZED, "host_token_required", message);
    let token = bearer(req).ok_or_else(|| {
        unauthorized("send the host's token as `Authorization: Bearer <token>`".into())
    })?;
    let secrets = state
        .access
        .secrets()
        .ok_or_else(|| unauthorized("this server checks no tokens".into()))?;
    let claims = secrets.verify(token, unix_now()).map_err(|e| unauthorized(e.to_string()))?;
    if claims.meeting != *id || !claims.host {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not_host",
            "this token is not a host's token for this meeting",
        ));
    }
    Ok(claims)
}

/// The meeting id of the path, after checking the host token.
fn hosted(req: &HttpRequest, state: &AppState, raw: &str) -> Result<RoomId, ApiError> {
    let id = meeting_id(raw)?;
    authorize(req, state, &id)?;
    Ok(id)
}

/// `GET /api/v1/meetings/{id}/waiting`: the pending entries, oldest first.
pub(crate) async fn waiting(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ApiResult {
    let id = hosted(&req, &state, &path)?;
    let meetings = &state.meetings;
    let entries = meetings
        .store
        .waiting(id.as_str())
        .await
        .map_err(|e| ApiError::store(&meetings.counters, e))?;
    let secrets = state.access.secrets();
    let list: Vec<_> = entries
        .iter()
        .map(|entry| {
            json!({
                "entry": secrets.map(|s| ids::entry_handle(s, id.as_str(), entry.id)),
                "user": entry.user_id,
                "name": entry.display_name,
                "requested_at": entry.requested_at.unix_timestamp(),
            })
        })
        .collect();
    Ok(no_store(HttpResponse::Ok()).json(json!({ "waiting": list })))
}

/// `POST /api/v1/meetings/{id}/waiting/{entry}/{admit|reject}`: decides a pending entry
/// (409 `already_decided` if a host did).
pub(crate) async fn decide(
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    state: web::Data<AppState>,
) -> ApiResult {
    let (id, handle, verdict) = path.into_inner();
    let verdict = match verdict.as_str() {
        "admit" => Verdict::Admit,
        "reject" => Verdict::Reject,
        _ => return Err(ApiError::not_found("action")),
    };
    let id = hosted(&req, &state, &id)?;
    let secrets =
        state.access.secrets().ok_or_else(|| ApiError::not_found("waiting-room entry"))?;
    let row = ids::entry_row(secrets, id.as_str(), &handle)
        .ok_or_else(|| ApiError::not_found("waiting-room entry"))?;
    let meetings = &state.meetings;
    let entry =
        meetings.store.decide(id.as_str(), row, verdict).await.map_err(|err| match err {
            StoreError::Conflict => ApiError::new(
                StatusCode::CONFLICT,
                "already_decided",
                "a host already decided this entry",
            ),
            StoreError::NotFound => ApiError::not_found("waiting-room entry"),
            err => ApiError::store(&meetings.counters, err),
        })?;
    let status = if entry.decision == Decision::Admitted { "admitted" } else { "rejected" };
    tracing::info!(meeting = %id, entry = row, status, "waiting-room entry decided");
    Ok(no_store(HttpResponse::Ok())
        .json(json!({ "entry": handle, "user": entry.user_id, "status": status })))
}

/// `POST /api/v1/meetings/{id}/lock`: nobody new gets in (and removed users never back).
pub(crate) async fn lock(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ApiResult {
    set_locked(&req, &path, &state, true).await
}

/// `POST /api/v1/meetings/{id}/unlock`.
pub(crate) async fn unlock(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ApiResult {
    set_locked(&req, &path, &state, false).await
}

async fn set_locked(req: &HttpRequest, raw: &str, state: &AppState, locked: bool) -> ApiResult {
    let id = hosted(req, state, raw)?;
    let meetings = &state.meetings;
    let meeting = meetings
        .store
        .set_locked(id.as_str(), locked)
        .await
        .map_err(|e| ApiError::store(&meetings.counters, e))?;
    tracing::info!(meeting = %id, locked, "meeting lock changed");
    Ok(no_store(HttpResponse::Ok()).json(view(&meeting)))
}

/// `POST /api/v1/meetings/{id}/participants/{user}/remove`: records the removal (which keeps
/// the user out while the meeting is locked) and closes the user's sessions on every instance.
pub(crate) async fn remove(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ApiResult {
    let (id, user) = path.into_inner();
    let id = hosted(&req, &state, &id)?;
    let user = exact_user(&user)?;
    let meetings = &state.meetings;
    meetings
        .store
        .remove_user(id.as_str(), user.as_str())
        .await
        .map_err(|e| ApiError::store(&meetings.counters, e))?;
    tracing::info!(meeting = %id, %user, "participant removed");
    reach(&state.relay, &id, HostAction::Remove(user.clone())).await?;
    Ok(no_store(HttpResponse::Ok()).json(json!({ "user": user.as_str(), "removed": true })))
}

/// `POST /api/v1/meetings/{id}/participants/{user}/mute`: asks the user's sessions (those
/// that take SERVER packets) to mute their microphone; the client decides (202).
pub(crate) async fn mute(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ApiResult {
    let (id, user) = path.into_inner();
    let id = hosted(&req, &state, &id)?;
    let user = exact_user(&user)?;
    let meetings = &state.meetings;
    let meeting = meetings
        .store
        .meeting(id.as_str())
        .await
        .map_err(|e| ApiError::store(&meetings.counters, e))?;
    if meeting.has_ended() {
        return Err(ApiError::ended());
    }
    reach(&state.relay, &id, HostAction::AskToMute(user.clone())).await?;
    Ok(no_store(HttpResponse::Accepted()).json(json!({ "user": user.as_str(), "asked": true })))
}

/// `POST /api/v1/meetings/{id}/end`: ends the meeting for good; its sessions close and later
/// joins are refused (410).
pub(crate) async fn end(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ApiResult {
    let id = hosted(&req, &state, &path)?;
    let meetings = &state.meetings;
    let meeting = meetings
        .store
        .end_meeting(id.as_str())
        .await
        .map_err(|e| ApiError::store(&meetings.counters, e))?;
    tracing::info!(meeting = %id, "meeting ended");
    reach(&state.relay, &id, HostAction::End).await?;
    Ok(no_store(HttpResponse::Ok()).json(view(&meeting)))
}

/// Hands `action` to the relay, which applies it here and tells the other instances. The store
/// already holds the decision, so when the bus fails the host may simply repeat the request.
async fn reach(relay: &Relay, id: &RoomId, action: HostAction) -> Result<usize, ApiError> {
    relay.host_action(id, action).await.map_err(|err| {
        tracing::warn!(%err, meeting = %id, "host action not published to the other instances");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "bus_unavailable",
            "recorded, but the other servers could not be told; retry",
        )
    })
}

/// `raw` as a user id, exactly (a path naming no valid user names nobody: 404).
fn exact_user(raw: &str) -> Result<UserId, ApiError> {
    UserId::new(raw)
        .ok()
        .filter(|user| user.as_str() == raw)
        .ok_or_else(|| ApiError::not_found("participant"))
}
