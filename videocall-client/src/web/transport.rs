//! The browser's two transports behind one enum, the [`Link`] the driver runs on.

use videocall_types::CloseReason;

use super::{websocket, webtransport};
use crate::event::TransportKind;
use crate::link::{Link, Received, Sent};
use crate::options::Endpoint;

/// Why a connection attempt failed (browsers say little more than "it failed").
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectError {
    /// The browser refused to start the attempt (bad URL, blocked API).
    #[error("{0}")]
    Refused(String),
    /// The connection could not be established.
    #[error("{0}")]
    Failed(String),
}

/// Sending failed: the connection is lost.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct TransportError(pub(crate) String);

/// An established connection.
pub(crate) enum Transport {
    /// Over WebSocket.
    WebSocket(websocket::Link),
    /// Over WebTransport.
    WebTransport(webtransport::Link),
}

impl Transport {
    /// Connects to `endpoint` (the driver gives up after the connect timeout; dropping the
    /// attempt closes what it opened).
    pub(crate) async fn connect(endpoint: &Endpoint) -> Result<Self, ConnectError> {
        Ok(match endpoint.kind {
            TransportKind::WebSocket => {
                Self::WebSocket(websocket::Link::connect(&endpoint.url).await?)
            }
            TransportKind::WebTransport => Self::WebTransport(
                webtransport::Link::connect(&endpoint.url, endpoint.cert_hash).await?,
            ),
        })
    }
}

impl Link for Transport {
    type Error = TransportError;

    fn kind(&self) -> TransportKind {
        match self {
            Self::WebSocket(_) => TransportKind::WebSocket,
            Self::WebTransport(_) => TransportKind::WebTransport,
        }
    }

    /// The WebSocket drops a packet while the socket's own send buffer is backed up.
    async fn send(&mut self, packet: Vec<u8>) -> Result<Sent, TransportError> {
        match self {
            Self::WebSocket(link) => link
                .send(&packet)
                .map(|written| if written { Sent::Written } else { Sent::Dropped }),
            Self::WebTransport(link) => link.send(&packet).await.map(|()| Sent::Written),
        }
    }

    /// Cancel-safe: messages and pending stream reads live in the links.
    async fn recv(&mut self) -> Received {
        match self {
            Self::WebSocket(link) => link.recv().await,
            Self::WebTransport(link) => link.recv().await,
        }
    }

    async fn close(self, reason: CloseReason) {
        match self {
            Self::WebSocket(link) => link.close(reason),
            Self::WebTransport(link) => link.close(reason),
        }
    }
}
