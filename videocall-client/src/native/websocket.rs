//! The WebSocket transport (tokio-tungstenite): one binary message per packet, both ways.
//!
//! Nagle's algorithm is off (small media packets must not wait for ACKs). The server pings
//! every 5 s and tungstenite answers while we keep reading; a link that hears nothing at all for
//! [`IDLE_TIMEOUT`] is considered dead, since TCP alone may take minutes to notice.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep_until, timeout};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{
    Connector, MaybeTlsStream, WebSocketStream, connect_async_tls_with_config,
};
use url::Url;
use videocall_types::CloseReason;

use super::transport::{ConnectError, TransportError};
use crate::link::{MAX_PACKET, Received};

/// Silence after which the connection is given up (three missed server pings, plus slack).
const IDLE_TIMEOUT: Duration = Duration::from_secs(20);

/// How long a close waits for the server's close reply.
const CLOSE_WAIT: Duration = Duration::from_millis(500);

/// TLS for `wss://`: rustls with the ring provider (as wtransport uses) and the system's root
/// certificates, built once. `None` (then tungstenite's default) only if ring refuses its own
/// default protocol versions, which does not happen.
fn tls() -> Option<&'static Arc<rustls::ClientConfig>> {
    static TLS: OnceLock<Option<Arc<rustls::ClientConfig>>> = OnceLock::new();
    TLS.get_or_init(|| {
        let mut roots = rustls::RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        let (added, ignored) = roots.add_parsable_certificates(native.certs);
        tracing::debug!(added, ignored, errors = native.errors.len(), "system root certificates");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .ok()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Some(Arc::new(config))
    })
    .as_ref()
}

/// An open WebSocket to the lobby.
pub(crate) struct Link {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    last_heard: Instant,
}

impl Link {
    /// Opens the WebSocket at `url` (a full lobby URL).
    pub(crate) async fn connect(url: &Url) -> Result<Self, ConnectError> {
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_PACKET))
            .max_frame_size(Some(MAX_PACKET));
        let tls = tls().map(|config| Connector::Rustls(config.clone()));
        let (ws, _response) = connect_async_tls_with_config(url.as_str(), Some(config), true, tls)
            .await
            .map_err(|e| match e {
                tungstenite::Error::Http(response) => {
                    ConnectError::Refused(response.status().as_u16())
                }
                other => ConnectError::WebSocket(Box::new(other)),
            })?;
        Ok(Self { ws, last_heard: Instant::now() })
    }

    /// Sends one packet as one binary message.
    pub(crate) async fn send(&mut self, packet: Vec<u8>) -> Result<(), TransportError> {
        self.ws
            .send(Message::Binary(packet.into()))
            .await
            .map_err(|e| TransportError::WebSocket(Box::new(e)))
    }

    /// The next binary message; pings and pongs only count as signs of life.
    pub(crate) async fn recv(&mut self) -> Received {
        loop {
            let message = tokio::select! {
                message = self.ws.next() => message,
                () = sleep_until(self.last_heard + IDLE_TIMEOUT) => {
                    tracing::warn!(idle = ?IDLE_TIMEOUT, "websocket silent; giving up");
                    return Received::Closed(None);
                }
            };
            self.last_heard = Instant::now();
            match message {
                Some(Ok(Message::Binary(bytes))) => return Received::Packet(bytes.into()),
                Some(Ok(Message::Text(_))) => return Received::Unreadable("text frame"),
                Some(Ok(Message::Close(frame))) => {
                    return Received::Closed(frame.map(|f| u32::from(u16::from(f.code))));
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                Some(Err(tungstenite::Error::Capacity(e))) => {
                    // tungstenite cannot resynchronise after an oversized message: the link ends.
                    tracing::warn!(error = %e, "websocket message over the size limit");
                    return Received::Closed(None);
                }
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "websocket read failed");
                    return Received::Closed(None);
                }
                None => return Received::Closed(None),
            }
        }
    }

    /// Sends a close frame with `reason` and waits briefly for the server's reply.
    pub(crate) async fn close(mut self, reason: CloseReason) {
        let frame = CloseFrame {
            code: CloseCode::from(reason.code()),
            reason: reason.description().into(),
        };
        if self.ws.close(Some(frame)).await.is_err() {
            return;
        }
        let drain = async { while let Some(Ok(_)) = self.ws.next().await {} };
        let _ = timeout(CLOSE_WAIT, drain).await;
    }
}
