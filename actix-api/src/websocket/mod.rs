//! `GET /lobby?token=T` and `GET /lobby/{user}/{room}`: the WebSocket transport. One binary
//! message is one `PacketWrapper`, both ways.
//!
//! A connection is two halves: the [`Writer`] is the `101` response's body, which the HTTP
//! server polls and writes to the socket, taking packets straight from the session's queue; a
//! task runs the relay's [`read`] loop over the [`Inbound`] frames and watches the writer.

mod frame;
mod inbound;
mod writer;

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use actix_web::body::BoxBody;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use videocall_access::{Barred, Denied};
use videocall_relay::Identity;
use videocall_relay::connection::{Watch, read};
use videocall_types::{CloseReason, DisplayName, RoomId, UserId};

use crate::state::AppState;
use crate::upgrade;
use inbound::Inbound;
use writer::{Pong, Writer};

/// Query parameters of the lobby URL.
#[derive(Debug, Deserialize)]
pub(crate) struct LobbyQuery {
    /// `1` asks for the server's extensions (SERVER packets).
    #[serde(default)]
    ext: Option<String>,
    /// A join token: identity, name, meeting and rights.
    #[serde(default)]
    token: Option<String>,
    /// The display name, in open mode (a token brings its own).
    #[serde(default)]
    name: Option<String>,
}

/// `GET /lobby?token=T`: joins the meeting the token names, as the user it names.
pub(crate) async fn lobby_by_token(
    req: HttpRequest,
    body: web::Payload,
    query: web::Query<LobbyQuery>,
    state: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
    connect(req, body, None, query.into_inner(), state).await
}

/// `GET /lobby/{user}/{room}`: joins by the URL's ids (open mode), or by a token naming them.
pub(crate) async fn lobby(
    req: HttpRequest,
    body: web::Payload,
    path: web::Path<(String, String)>,
    query: web::Query<LobbyQuery>,
    state: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
    connect(req, body, Some(path.into_inner()), query.into_inner(), state).await
}

/// Upgrades to a WebSocket and joins the room, or refuses with an HTTP error: 400 for invalid
/// ids or name, 401 when the access policy refuses, then [`upgrade::accept`]'s refusals, then
/// the meeting's ([`barred`]).
async fn connect(
    req: HttpRequest,
    body: web::Payload,
    path: Option<(String, String)>,
    query: LobbyQuery,
    state: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
    let bad_request =
        |message: &str| crate::routes::error(actix_web::http::StatusCode::BAD_REQUEST, message);
    let ids = path
        .map(|(user, room)| UserId::new(&user).and_then(|user| Ok((user, RoomId::new(&room)?))))
        .transpose();
    let ids = match ids {
        Ok(ids) => ids,
        Err(err) => {
            state.relay.metrics().closed(CloseReason::InvalidId);
            return Ok(bad_request(&err.to_string()));
        }
    };
    let name = query.name.as_deref().filter(|name| !name.is_empty()).map(DisplayName::new);
    let name = match name.transpose() {
        Ok(name) => name,
        Err(err) => return Ok(bad_request(&err.to_string())),
    };
    let grant =
        match state.access.admit(ids, query.token.as_deref(), name, videocall_access::unix_now()) {
            Ok(grant) => grant,
            Err(denied) => {
                tracing::debug!(%denied, "websocket refused");
                return Ok(unauthorized(&denied));
            }
        };
    // Before any room work: a request that is no WebSocket handshake from an allowed origin
    // must not join (a join announces the session to the room and the bus).
    let (mut response, payload) = upgrade::accept(&req, body, &state)?;
    let pass = match state.meetings.admit(&grant).await {
        Ok(pass) => pass,
        Err(refusal) => {
            tracing::debug!(%refusal, meeting = %grant.meeting, "websocket refused by the meeting");
            return Ok(barred(refusal));
        }
    };
    let ext = matches!(query.ext.as_deref(), Some("1" | "true"));
    let unavailable = |reason: &str| {
        Ok(crate::routes::error(actix_web::http::StatusCode::SERVICE_UNAVAILABLE, reason))
    };
    let permit = match state.relay.admit(client_ip(&req, state.config.trust_forwarded_headers)) {
        Ok(permit) => permit,
        Err(reason) => return unavailable(reason.description()),
    };
    let identity = Identity {
        user: grant.user.clone(),
        name: grant.name.clone(),
        host: grant.host,
        publish: grant.publish,
    };
    let mut session = match state.relay.join(permit, identity, grant.meeting.clone(), ext).await {
        Ok(session) => session,
        Err(err) => return unavailable(&err.to_string()),
    };
    // Notes the leave in the meeting's history when the task below ends, however it ends.
    let stay = videocall_access::Gate::joined(&*state.meetings, pass, &grant, session.id());
    let pong = Arc::new(Pong::default());
    let writer = Writer::new(
        session.receiver(),
        pong.clone(),
        Some(state.config.ping_interval()),
        state.config.ws_write_interval(),
    );
    let mut inbound = Inbound::new(payload, state.config.max_packet_bytes, pong);
    let idle_timeout = state.config.client_timeout();
    actix_web::rt::spawn(async move {
        let (room, id) = (session.room().clone(), session.id());
        tracing::debug!(%room, session = %id, user = %session.user(), "websocket connected");
        let reason = read(&mut session, &mut inbound, idle_timeout, Watch::Writer).await;
        // The writer sends the last words and the close frame, unless the relay closed first.
        session.close(reason);
        tracing::debug!(%room, session = %id, reason = reason.as_str(), "websocket closed");
        drop((session, stay));
    });
    Ok(response.message_body(BoxBody::new(writer))?.into())
}

/// A 401 with the reason (never the token) and a stable `code`.
fn unauthorized(denied: &Denied) -> HttpResponse {
    HttpResponse::Unauthorized()
        .insert_header((actix_web::http::header::WWW_AUTHENTICATE, "Bearer realm=\"videocall\""))
        .json(serde_json::json!({ "error": denied.to_string(), "code": denied.label() }))
}

/// The HTTP refusal of a join the meeting does not take, with a stable `code`: 410 once it
/// ended, 403 for a removed user, 401 without a token, 503 when the store does not answer.
fn barred(refusal: Barred) -> HttpResponse {
    use actix_web::http::StatusCode;
    let status = match refusal {
        Barred::MeetingEnded => StatusCode::GONE,
        Barred::Removed => StatusCode::FORBIDDEN,
        Barred::TokenRequired => StatusCode::UNAUTHORIZED,
        Barred::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    };
    HttpResponse::build(status)
        .json(serde_json::json!({ "error": refusal.to_string(), "code": refusal.label() }))
}

/// The address the connection caps count a request under: the TCP peer, or, behind a trusted
/// proxy, the client it names in `Forwarded` / `X-Forwarded-For`. Without either (not a TCP
/// connection) it counts as the loopback's.
pub(crate) fn client_ip(req: &HttpRequest, trust_forwarded: bool) -> IpAddr {
    let forwarded = trust_forwarded
        .then(|| req.connection_info().realip_remote_addr().and_then(parse_ip))
        .flatten();
    forwarded
        .or_else(|| req.peer_addr().map(|addr| addr.ip()))
        .unwrap_or(IpAddr::V6(Ipv6Addr::LOCALHOST))
}

/// An address as proxies write it: `ip`, `ip:port` or `[v6]:port`.
fn parse_ip(text: &str) -> Option<IpAddr> {
    text.parse::<SocketAddr>().map(|addr| addr.ip()).or_else(|_| text.parse()).ok()
}

#[cfg(test)]
mod tests {
    use super::parse_ip;

    #[test]
    fn proxies_addresses_parse_with_or_without_a_port() {
        for (text, ip) in [
            ("203.0.113.7", "203.0.113.7"),
            ("203.0.113.7:5555", "203.0.113.7"),
            ("[2001:db8::1]:443", "2001:db8::1"),
            ("2001:db8::1", "2001:db8::1"),
        ] {
            assert_eq!(parse_ip(text), Some(ip.parse().unwrap()), "{text}");
        }
        assert_eq!(parse_ip("unknown"), None);
        assert_eq!(parse_ip("_hidden"), None);
    }
}
