//! The transports behind one small enum, so the connection loop is written once: connect to an
//! [`Endpoint`], send one packet, receive the next one, close with a reason.

use std::time::Duration;

use videocall_types::CloseReason;

use super::{websocket, webtransport};
use crate::event::TransportKind;
use crate::options::Endpoint;

pub(crate) use crate::link::{MAX_PACKET, Received};

/// Why a connection attempt failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectError {
    /// The WebSocket handshake failed (network, TLS or protocol).
    #[error("websocket: {0}")]
    WebSocket(Box<tokio_tungstenite::tungstenite::Error>),
    /// The server answered the upgrade with an HTTP error.
    #[error("server refused the websocket upgrade with HTTP {0}")]
    Refused(u16),
    /// The WebTransport session could not be established.
    #[error("webtransport: {0}")]
    WebTransport(#[from] wtransport::error::ConnectingError),
    /// The local QUIC endpoint could not be set up.
    #[error("cannot open a local UDP endpoint: {0}")]
    Bind(#[from] std::io::Error),
    /// The attempt took longer than the connect timeout.
    #[error("no connection after {0:?}")]
    Timeout(Duration),
}

impl ConnectError {
    /// Whether retrying cannot help: the server refused the request itself (HTTP 4xx other than
    /// timeouts and rate limits), e.g. a bad id or a missing token.
    pub(crate) fn is_final(&self) -> bool {
        match self {
            Self::Refused(status) => (400..500).contains(status) && !matches!(status, 408 | 429),
            _ => false,
        }
    }
}

/// Why a packet could not be sent; the connection is then considered lost.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TransportError {
    /// Writing to the WebSocket failed.
    #[error("websocket send: {0}")]
    WebSocket(Box<tokio_tungstenite::tungstenite::Error>),
    /// Opening or writing a WebTransport stream failed.
    #[error("webtransport send: {0}")]
    WebTransport(String),
}

/// An established connection.
pub(crate) enum Transport {
    /// Over WebSocket (boxed: a TLS stream is large, and there is one per connection).
    WebSocket(Box<websocket::Link>),
    /// Over WebTransport.
    WebTransport(webtransport::Link),
}

impl Transport {
    /// Connects to `endpoint`, giving up after `timeout`.
    pub(crate) async fn connect(
        endpoint: &Endpoint,
        timeout: Duration,
    ) -> Result<Self, ConnectError> {
        let attempt = async {
            Ok(match endpoint.kind {
                TransportKind::WebSocket => {
                    Self::WebSocket(Box::new(websocket::Link::connect(&endpoint.url).await?))
                }
                TransportKind::WebTransport => Self::WebTransport(
                    webtransport::Link::connect(&endpoint.url, endpoint.cert_hash).await?,
                ),
            })
        };
        tokio::time::timeout(timeout, attempt).await.map_err(|_| ConnectError::Timeout(timeout))?
    }

    /// Which transport this is.
    pub(crate) fn kind(&self) -> TransportKind {
        match self {
            Self::WebSocket(_) => TransportKind::WebSocket,
            Self::WebTransport(_) => TransportKind::WebTransport,
        }
    }

    /// Sends one serialized packet.
    pub(crate) async fn send(&mut self, packet: Vec<u8>) -> Result<(), TransportError> {
        match self {
            Self::WebSocket(link) => link.send(packet).await,
            Self::WebTransport(link) => link.send(packet).await,
        }
    }

    /// The next message from the server. Cancel-safe: nothing is lost when the future is dropped.
    pub(crate) async fn recv(&mut self) -> Received {
        match self {
            Self::WebSocket(link) => link.recv().await,
            Self::WebTransport(link) => link.recv().await,
        }
    }

    /// Closes the connection with `reason`, briefly waiting for the close to go out.
    pub(crate) async fn close(self, reason: CloseReason) {
        match self {
            Self::WebSocket(link) => link.close(reason).await,
            Self::WebTransport(link) => link.close(reason).await,
        }
    }
}
