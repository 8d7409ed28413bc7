//! What `stream` and `record` share about being in a meeting: reading connection events into
//! log lines and deciding when to give up, and waiting for Ctrl-C, SIGTERM or `--duration`.

use std::time::Duration;

use videocall_client::{ClientHandle, Event, TransportKind};

/// Why a meeting session ended with an error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// The very first connection attempt failed: a wrong URL, a server that is down, or a
    /// certificate that is not trusted.
    #[error("cannot connect to {url} over {transport}: {error}")]
    Unreachable {
        /// The server (without its query).
        url: String,
        /// The transport tried.
        transport: &'static str,
        /// What went wrong.
        error: String,
    },
    /// The server ended the session and the client may not retry (refused id, kicked, ...).
    #[error("the server ended the session{}", reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default())]
    Ended {
        /// The server's reason, when it gave one.
        reason: Option<String>,
    },
    /// A signal handler could not be installed.
    #[error("cannot listen for signals: {0}")]
    Signals(String),
}

/// Tracks the connection through the client's events.
#[derive(Debug)]
pub struct Lifecycle {
    url: String,
    connected_once: bool,
    transport: Option<TransportKind>,
}

impl Lifecycle {
    /// Nothing connected yet; `url` names the server in messages.
    pub fn new(url: String) -> Self {
        Self { url, connected_once: false, transport: None }
    }

    /// The transport of the live connection, if one is up.
    pub fn transport(&self) -> Option<TransportKind> {
        self.transport
    }

    /// The transport's name, or `offline`.
    pub fn transport_name(&self) -> &'static str {
        self.transport.map_or("offline", TransportKind::as_str)
    }

    /// Logs connection events; fails when the first attempt fails (nothing to wait for) or the
    /// client will not retry. Later failures are retried by the client with backoff.
    pub fn on_event(&mut self, event: &Event) -> Result<(), SessionError> {
        match event {
            Event::Connected { transport, session_id, participants } => {
                self.connected_once = true;
                self.transport = Some(*transport);
                let session = session_id.map(|s| s.to_string()).unwrap_or_default();
                tracing::info!(
                    transport = transport.as_str(),
                    session,
                    participants = participants.len(),
                    "connected"
                );
            }
            Event::ConnectFailed { transport, error, will_retry } => {
                if !self.connected_once || !will_retry {
                    return Err(SessionError::Unreachable {
                        url: self.url.clone(),
                        transport: transport.as_str(),
                        error: error.clone(),
                    });
                }
                tracing::warn!(transport = transport.as_str(), error, "connection attempt failed");
            }
            Event::Disconnected { reason, will_retry } => {
                self.transport = None;
                let reason = reason.map(|r| format!("{r:?}"));
                if !will_retry {
                    return Err(SessionError::Ended { reason });
                }
                tracing::warn!(reason, "disconnected; reconnecting");
            }
            Event::Reconnecting { attempt, delay } => {
                tracing::info!(attempt, delay_ms = delay.as_millis() as u64, "reconnecting");
            }
            Event::ServerError { code, text, .. } => tracing::warn!(code, text, "server error"),
            Event::PeerJoined(peer) => {
                tracing::info!(peer = %peer.key, user = peer.user, "peer joined")
            }
            Event::PeerLeft { peer, reason } => {
                tracing::info!(peer = %peer.key, user = peer.user, reason = ?reason, "peer left")
            }
            Event::MuteRequested(kind) => {
                tracing::info!(
                    ?kind,
                    "the host asks to mute; the CLI has no mute and keeps sending"
                );
            }
            Event::PeerFlags { .. } | Event::Packet { .. } | Event::KeyframeRequested(_) => {}
        }
        Ok(())
    }
}

/// Waits for Ctrl-C or SIGTERM and returns which came.
pub async fn shutdown_signal() -> Result<&'static str, SessionError> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term =
            signal(SignalKind::terminate()).map_err(|e| SessionError::Signals(e.to_string()))?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.map(|()| "Ctrl-C").map_err(|e| SessionError::Signals(e.to_string())),
            _ = term.recv() => Ok("SIGTERM"),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.map_err(|e| SessionError::Signals(e.to_string()))?;
        Ok("Ctrl-C")
    }
}

/// Completes after `seconds` (never, when `None`).
pub async fn deadline(seconds: Option<f64>) {
    match seconds.filter(|s| s.is_finite() && *s >= 0.0) {
        Some(s) => tokio::time::sleep(Duration::from_secs_f64(s)).await,
        None => std::future::pending().await,
    }
}

/// How long leaving waits for the connection to close cleanly.
const CLOSE_WAIT: Duration = Duration::from_secs(3);

/// Leaves the meeting: closes the client and waits (briefly) for its driver task to finish.
pub async fn leave(handle: &ClientHandle, driver: tokio::task::JoinHandle<()>) {
    handle.close();
    if tokio::time::timeout(CLOSE_WAIT, driver).await.is_err() {
        tracing::warn!("the connection did not close within {} s", CLOSE_WAIT.as_secs());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_failed_attempt_is_fatal_but_a_later_one_is_retried() {
        let failed = |will_retry| Event::ConnectFailed {
            transport: TransportKind::WebSocket,
            error: "connection refused".into(),
            will_retry,
        };
        let mut fresh = Lifecycle::new("ws://h/".into());
        let err = fresh.on_event(&failed(true)).unwrap_err();
        assert_eq!(err.to_string(), "cannot connect to ws://h/ over websocket: connection refused");

        let mut life = Lifecycle::new("ws://h/".into());
        let connected = Event::Connected {
            transport: TransportKind::WebTransport,
            session_id: None,
            participants: vec![],
        };
        life.on_event(&connected).unwrap();
        assert_eq!(life.transport_name(), "webtransport");
        life.on_event(&Event::Disconnected { reason: None, will_retry: true }).unwrap();
        assert_eq!(life.transport_name(), "offline");
        life.on_event(&failed(true)).unwrap();
        assert!(life.on_event(&failed(false)).is_err());
    }
}
