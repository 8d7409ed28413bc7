//! `GET /lobby/{user}/{room}`: the WebSocket transport. One binary message is one
//! `PacketWrapper`, both ways; everything else is the relay's [`serve`] loop.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{AggregatedMessage, CloseCode};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use serde::Deserialize;
use tracing::Instrument;
use videocall_relay::connection::{Incoming, Keepalive, Outgoing, serve};
use videocall_types::{CloseReason, RoomId, UserId};

use crate::state::AppState;
use crate::upgrade;

/// Query parameters of the lobby URL.
#[derive(Debug, Deserialize)]
pub(crate) struct LobbyQuery {
    /// `1` asks for the server's extensions (SERVER packets).
    #[serde(default)]
    ext: Option<String>,
}

/// Upgrades to a WebSocket and joins the room, or refuses with an HTTP error: 400 for invalid
/// ids, then [`upgrade::accept`]'s refusals.
pub(crate) async fn lobby(
    req: HttpRequest,
    body: web::Payload,
    path: web::Path<(String, String)>,
    query: web::Query<LobbyQuery>,
    state: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
    let (user, room) = path.into_inner();
    let ids = UserId::new(&user).and_then(|user| Ok((user, RoomId::new(&room)?)));
    let (user, room) = match ids {
        Ok(ids) => ids,
        Err(err) => {
            state.relay.metrics().closed(CloseReason::InvalidId);
            return Ok(crate::routes::error(
                actix_web::http::StatusCode::BAD_REQUEST,
                &err.to_string(),
            ));
        }
    };
    // Before any room work: a request that is no WebSocket handshake from an allowed origin
    // must not join (a join announces the session to the room and the bus).
    let (response, ws, messages) = upgrade::accept(&req, body, &state)?;
    let ext = matches!(query.ext.as_deref(), Some("1" | "true"));
    let unavailable = |reason: &str| {
        Ok(crate::routes::error(actix_web::http::StatusCode::SERVICE_UNAVAILABLE, reason))
    };
    let permit = match state.relay.admit(client_ip(&req, state.config.trust_forwarded_headers)) {
        Ok(permit) => permit,
        Err(reason) => return unavailable(reason.description()),
    };
    let session = match state.relay.join(permit, user, room, ext).await {
        Ok(session) => session,
        Err(err) => return unavailable(&err.to_string()),
    };
    let max = state.config.max_packet_bytes;
    let messages =
        messages.max_frame_size(max).aggregate_continuations().max_continuation_size(max);
    let keepalive = Keepalive {
        ping_interval: Some(state.config.ping_interval()),
        idle_timeout: state.config.client_timeout(),
    };
    let span = tracing::info_span!("ws", room = %session.room(), session = %session.id(), user = %session.user());
    let incoming = incoming(messages, ws.clone());
    actix_web::rt::spawn(
        async move {
            tracing::debug!("connected");
            let reason = serve(session, incoming, WsOutgoing(ws), keepalive).await;
            tracing::debug!(reason = reason.as_str(), "closed");
        }
        .instrument(span),
    );
    Ok(response)
}

/// The address the connection caps count a request under: the TCP peer, or, behind a trusted
/// proxy, the client it names in `Forwarded` / `X-Forwarded-For`. Without either (not a TCP
/// connection) it counts as the loopback's.
fn client_ip(req: &HttpRequest, trust_forwarded: bool) -> IpAddr {
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

/// Turns WebSocket messages into relay input; answers pings on the way.
fn incoming(
    messages: actix_ws::AggregatedMessageStream,
    ws: actix_ws::Session,
) -> impl Stream<Item = Incoming> + Unpin {
    let messages = messages.then(move |message| {
        let mut ws = ws.clone();
        async move {
            match message {
                Ok(AggregatedMessage::Binary(packet)) => Some(Incoming::Packet(packet)),
                Ok(AggregatedMessage::Text(_)) => Some(Incoming::Refused(CloseReason::Unsupported)),
                Ok(AggregatedMessage::Ping(payload)) => {
                    let _ = ws.pong(&payload).await;
                    Some(Incoming::Alive)
                }
                Ok(AggregatedMessage::Pong(_)) => Some(Incoming::Alive),
                Ok(AggregatedMessage::Close(_)) => None,
                Err(actix_ws::ProtocolError::Overflow) => {
                    Some(Incoming::Refused(CloseReason::TooLarge))
                }
                // The connection broke (the client vanished without a close frame): that ends
                // the session; it is not malformed input.
                Err(actix_ws::ProtocolError::Io(err)) => {
                    tracing::debug!(%err, "websocket connection lost");
                    None
                }
                Err(err) => {
                    tracing::debug!(%err, "websocket protocol error");
                    Some(Incoming::Refused(CloseReason::Malformed))
                }
            }
        }
    });
    Box::pin(
        messages.take_while(|m| std::future::ready(m.is_some())).filter_map(std::future::ready),
    )
}

/// The sending half of an actix WebSocket.
struct WsOutgoing(actix_ws::Session);

impl Outgoing for WsOutgoing {
    async fn send(&mut self, packet: Bytes) -> Result<(), ()> {
        self.0.binary(packet).await.map_err(|_| ())
    }

    async fn ping(&mut self) -> Result<(), ()> {
        self.0.ping(b"").await.map_err(|_| ())
    }

    async fn close(self, reason: CloseReason) {
        let close = actix_ws::CloseReason {
            code: CloseCode::from(reason.code()),
            description: Some(reason.description().to_owned()),
        };
        let _ = self.0.close(Some(close)).await;
    }
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
