//! One client connection: QUIC handshake, lobby path check, join, then the relay's connection
//! loop until either side ends it.

use std::sync::Arc;

use tracing::Span;
use videocall_access::{Barred, Grant, Pass};
use videocall_relay::connection::{self, Keepalive};
use videocall_relay::{Identity, Relay};
use videocall_types::CloseReason;
use wtransport::Connection;
use wtransport::endpoint::{IncomingSession, SessionRequest};

use crate::config::Config;
use crate::lobby::Lobby;
use crate::outgoing::{self, Sender};
use crate::{framed_incoming, framed_outgoing, incoming};

/// Serves one incoming connection to its end. Runs inside the connection's span, whose `user`,
/// `room` and `session` fields it fills in as they become known.
pub(crate) async fn handle(incoming: IncomingSession, relay: Relay, config: Arc<Config>) {
    // The caps come before the handshake, so a flood of connections costs no TLS work.
    let permit = match relay.admit(incoming.remote_address().ip()) {
        Ok(permit) => permit,
        Err(reason) => {
            tracing::debug!(reason = reason.as_str(), "connection refused");
            incoming.refuse();
            return;
        }
    };
    let opened =
        tokio::time::timeout(config.handshake_timeout, open(incoming, &relay, &config)).await;
    let Ok(Some((connection, lobby, grant, pass))) = opened else {
        if opened.is_err() {
            tracing::debug!("handshake timed out");
        }
        return;
    };
    let streams = lobby.streams;
    let identity = Identity {
        user: grant.user.clone(),
        name: grant.name.clone(),
        host: grant.host,
        publish: grant.publish,
    };
    let session = match relay.join(permit, identity, grant.meeting.clone(), lobby.ext).await {
        Ok(session) => session,
        Err(error) => {
            let reason = error.close_reason();
            tracing::warn!(%error, reason = reason.as_str(), "cannot join");
            outgoing::close(&connection, reason);
            return;
        }
    };
    Span::current().record("session", session.id().get());
    tracing::debug!("joined");
    // Notes the leave when the connection ends, however it ends.
    let _stay = config.gate.as_ref().map(|gate| gate.joined(pass, &grant, session.id()));
    let limits = incoming::Limits {
        max_waiting: config.max_incoming_streams as usize,
        max_packet_bytes: config.max_packet_bytes,
        stream_timeout: config.stream_timeout,
    };
    let keepalive = Keepalive { ping_interval: None, idle_timeout: config.idle_timeout };
    let reason = if streams {
        let packets = framed_incoming::packets(connection.clone(), limits);
        let sender = framed_outgoing::Sender::new(connection.clone());
        connection::serve(session, packets, sender, keepalive).await
    } else {
        let packets = incoming::packets(connection.clone(), limits);
        connection::serve(session, packets, Sender::new(connection.clone()), keepalive).await
    };
    // `serve` closes too, but gives up on a client that does not acknowledge its last words;
    // closing again is harmless and makes sure the client learns the reason.
    outgoing::close(&connection, reason);
    tracing::info!(reason = reason.as_str(), code = reason.code(), "connection closed");
}

/// Completes the handshake and accepts the session request if its path names a lobby, the
/// access policy admits it and the meeting takes it.
async fn open(
    incoming: IncomingSession,
    relay: &Relay,
    config: &Config,
) -> Option<(Connection, Lobby, Grant, Pass)> {
    let request =
        incoming.await.inspect_err(|error| tracing::debug!(%error, "handshake failed")).ok()?;
    let mut lobby = match Lobby::parse(request.path()) {
        Ok(lobby) => lobby,
        Err(error) => {
            refuse(request, &error, relay).await;
            return None;
        }
    };
    let grant = config.access.admit(
        lobby.ids.take(),
        lobby.token.as_deref(),
        lobby.name.take(),
        videocall_access::unix_now(),
    );
    let grant = match grant {
        Ok(grant) => grant,
        Err(denied) => {
            // wtransport answers 403, 404 or 429; 403 is the one that means "not allowed".
            tracing::info!(%denied, "refusing session request");
            request.forbidden().await;
            return None;
        }
    };
    let span = Span::current();
    span.record("user", grant.user.as_str());
    span.record("room", grant.meeting.as_str());
    let pass = match &config.gate {
        None => Pass::Unmanaged,
        Some(gate) => match gate.check(&grant).await {
            Ok(pass) => pass,
            Err(barred) => {
                tracing::info!(%barred, "refusing session request");
                // 429 says "later" for a store that did not answer; 403 is final.
                match barred {
                    Barred::Unavailable => request.too_many_requests().await,
                    _ => request.forbidden().await,
                }
                return None;
            }
        },
    };
    let connection = request
        .accept()
        .await
        .inspect_err(|error| tracing::debug!(%error, "session not accepted"))
        .ok()?;
    Some((connection, lobby, grant, pass))
}

/// Answers a request for no valid lobby with 404 (wtransport offers 403, 404 and 429; the
/// path names no lobby that exists, and a 400 is not available).
async fn refuse(request: SessionRequest, error: &crate::lobby::LobbyError, relay: &Relay) {
    tracing::info!(%error, "refusing session request");
    relay.metrics().closed(CloseReason::InvalidId);
    request.not_found().await;
}
