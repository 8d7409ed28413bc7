//! The checks a `/lobby` request passes before any room work: it is a real WebSocket handshake
//! from an allowed origin. A request that fails gets an HTTP error and causes no session, no
//! notice to the room and no bus traffic.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

use crate::host::RequestHost;
use crate::refused::Refusal;
use crate::state::AppState;

/// An accepted handshake: the `101` response (without its body yet) and the client's bytes.
pub(crate) type Upgrade = (actix_http::ResponseBuilder, web::Payload);

/// Why a `/lobby` request is not upgraded; its response is a JSON error.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refused {
    /// No `Upgrade: websocket` at all: a plain GET (426).
    #[error("this URL is a WebSocket endpoint: upgrade required")]
    NotWebSocket,
    /// An `Origin` the policy does not allow (403).
    #[error("this page's origin may not open a WebSocket here (see ALLOWED_ORIGINS)")]
    Origin,
    /// A broken handshake: no `Connection: upgrade`, another version, a bad key (400).
    #[error("not a valid WebSocket handshake: {0}")]
    BadHandshake(String),
}

impl ResponseError for Refused {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotWebSocket => StatusCode::UPGRADE_REQUIRED,
            Self::Origin => StatusCode::FORBIDDEN,
            Self::BadHandshake(_) => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = crate::routes::error(self.status_code(), &self.to_string());
        if let Self::NotWebSocket = self {
            // RFC 9110 §15.5.22: a 426 names the protocol to upgrade to.
            let headers = response.headers_mut();
            headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
            headers.insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        }
        response
    }
}

/// Accepts the WebSocket handshake of `req`, or refuses it (and counts why).
pub(crate) fn accept(
    req: &HttpRequest,
    body: web::Payload,
    state: &AppState,
) -> Result<Upgrade, Refused> {
    if !asks_for_websocket(req.headers().get(header::UPGRADE)) {
        state.refused.count(Refusal::NotWebSocket);
        return Err(Refused::NotWebSocket);
    }
    // A header that is not text cannot be an origin: "" parses as none and is refused.
    let origin = req.headers().get(header::ORIGIN).map(|v| v.to_str().unwrap_or_default());
    let host = RequestHost::of(req, state.config.trust_forwarded_headers).ok();
    if !state.origins.allows(origin, host.as_ref().map(|host| &host.authority)) {
        state.refused.count(Refusal::Origin);
        tracing::debug!(?origin, "websocket refused: origin not allowed");
        return Err(Refused::Origin);
    }
    // actix-http checks the rest (`Connection: upgrade`, version 13, a 16-byte key; the route
    // is GET only) and has no side effect until the response is returned.
    match actix_http::ws::handshake(req.head()) {
        Ok(response) => Ok((response, body)),
        Err(err) => {
            state.refused.count(Refusal::BadHandshake);
            Err(Refused::BadHandshake(err.to_string()))
        }
    }
}

/// Whether an `Upgrade` header lists the `websocket` protocol (any version suffix).
fn asks_for_websocket(upgrade: Option<&HeaderValue>) -> bool {
    let Some(Ok(protocols)) = upgrade.map(HeaderValue::to_str) else { return false };
    protocols.split(',').any(|protocol| {
        let name = protocol.split('/').next().unwrap_or_default();
        name.trim().eq_ignore_ascii_case("websocket")
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn only_an_upgrade_to_websocket_is_a_websocket_request() {
        let asks = |value: &'static str| asks_for_websocket(Some(&HeaderValue::from_static(value)));
        assert!(asks("websocket"));
        assert!(asks("WebSocket"));
        assert!(asks("h2c, websocket/13"));
        assert!(!asks("h2c"));
        assert!(!asks("notwebsocket"));
        assert!(!asks(""));
        assert!(!asks_for_websocket(None));
        let binary = HeaderValue::from_bytes(b"\xffwebsocket").unwrap();
        assert!(!asks_for_websocket(Some(&binary)));
    }
}
