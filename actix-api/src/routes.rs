//! Health, readiness, metrics, the WebTransport certificate hash and the UI.

use std::fmt::Write;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::host::RequestHost;
use crate::refused::Refusal;
use crate::state::AppState;

/// A JSON error body: `{"error": "..."}`.
pub(crate) fn error(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": message }))
}

/// `GET /healthz`: the process is alive.
pub(crate) async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

/// `GET /readyz`: the bus is connected, the meetings store answers, and the server is not
/// shutting down.
pub(crate) async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let not_ready =
        |why: &'static str| HttpResponse::ServiceUnavailable().content_type("text/plain").body(why);
    if !state.relay.is_ready() {
        return not_ready("not ready: bus disconnected or shutting down");
    }
    match tokio::time::timeout(STORE_PING_TIMEOUT, state.meetings.store.ping()).await {
        Ok(Ok(())) => HttpResponse::Ok().content_type("text/plain").body("ready"),
        _ => not_ready("not ready: meetings store unreachable"),
    }
}

/// How long `/readyz` waits for the store to answer (probes time out after a few seconds).
const STORE_PING_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// `GET /metrics`: Prometheus text format.
pub(crate) async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let mut body = String::with_capacity(4096);
    state.relay.metrics().render(&mut body);
    state.refused.render(&mut body);
    state.access.render_metrics(&mut body);
    state.meetings.counters.render(&mut body);
    let _ = writeln!(
        body,
        "# HELP videocall_bus_connected Whether the bus is connected.\n\
         # TYPE videocall_bus_connected gauge\nvideocall_bus_connected {}",
        u8::from(state.relay.is_ready())
    );
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(body)
}

/// `GET /api/v1/webtransport/certificate-hash`: what browsers pass as
/// `serverCertificateHashes` to trust the self-signed WebTransport certificate.
pub(crate) async fn certificate_hash(state: web::Data<AppState>) -> HttpResponse {
    let Some(hash) = state.certificate_hash() else {
        return error(StatusCode::NOT_FOUND, "WebTransport is not served by this process");
    };
    HttpResponse::Ok().json(json!({
        "algorithm": "sha-256",
        "value": hash.to_vec(),
        "hex": hex(&hash),
    }))
}

/// `GET /api/v1/config`: what the browser app needs to connect, decided at run time. URLs
/// default to the host the page was loaded from, so the same build works on any host; a host
/// that does not parse is a 400.
pub(crate) async fn client_config(
    request: actix_web::HttpRequest,
    state: web::Data<AppState>,
) -> HttpResponse {
    let host = match RequestHost::of(&request, state.config.trust_forwarded_headers) {
        Ok(host) => host,
        Err(err) => {
            state.refused.count(Refusal::BadHost);
            return error(StatusCode::BAD_REQUEST, &err.to_string());
        }
    };
    let websocket = state.config.websocket_url.clone().unwrap_or_else(|| {
        format!("{}://{}", if host.secure { "wss" } else { "ws" }, host.authority)
    });
    let webtransport = state.config.webtransport_url.clone().or_else(|| {
        let port = state.webtransport_port?;
        Some(format!("https://{}:{port}", host.authority.host()))
    });
    // Browsers take certificate hashes only for short-lived self-signed certificates; a
    // certificate from files is validated the usual way.
    let hash = state.certificate_hash().filter(|_| state.config.cert_path.is_none());
    HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(json!({
        "websocket_url": websocket,
        "webtransport_url": webtransport,
        "certificate_hash": hash.map(|h| hex(&h)),
        "video_codec": state.config.video_codec,
        "max_packet_bytes": state.config.max_packet_bytes,
    }))
}

/// Lower-case hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The built-in page served when no UI directory is configured.
pub(crate) async fn status_page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(include_str!("../static/index.html"))
}

/// `GET /status.js`: the status page's script, a file of its own so the CSP needs no inline
/// script.
pub(crate) async fn status_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .body(include_str!("../static/status.js"))
}

/// `GET /status.css`: the status page's style sheet.
pub(crate) async fn status_style() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .body(include_str!("../static/status.css"))
}
