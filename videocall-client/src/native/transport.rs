//! The native transports behind one enum, the [`Link`] the driver runs on: connect to an
//! [`Endpoint`], send one packet, receive the next one, close with a reason.

use videocall_types::CloseReason;

use super::{websocket, webtransport};
use crate::event::TransportKind;
use crate::link::{Link, Received, Sent};
use crate::options::Endpoint;

/// Why a connection attempt failed (the driver reports it with the transport's name).
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectError {
    /// The WebSocket handshake failed (network, TLS or protocol).
    #[error("{0}")]
    WebSocket(Box<tokio_tungstenite::tungstenite::Error>),
    /// The server answered the upgrade with an HTTP error.
    #[error("server refused the upgrade with HTTP {0}")]
    Refused(u16),
    /// The WebTransport session could not be established.
    #[error("{0}")]
    WebTransport(#[from] wtransport::error::ConnectingError),
    /// The local QUIC endpoint could not be set up.
    #[error("cannot open a local UDP endpoint: {0}")]
    Bind(#[from] std::io::Error),
}

impl ConnectError {
    /// The HTTP status the server refused the upgrade with, if it did.
    pub(crate) fn http_status(&self) -> Option<u16> {
        match self {
            Self::Refused(status) => Some(*status),
            _ => None,
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
    /// A packet too long for a length prefix (over 4 GiB).
    #[error("webtransport send: packet too long to frame")]
    TooLarge,
}

/// An established connection.
pub(crate) enum Transport {
    /// Over WebSocket (boxed: a TLS stream is large, and there is one per connection).
    WebSocket(Box<websocket::Link>),
    /// Over WebTransport.
    WebTransport(webtransport::Link),
}

impl Transport {
    /// Connects to `endpoint` (the driver gives up after the connect timeout).
    pub(crate) async fn connect(endpoint: &Endpoint) -> Result<Self, ConnectError> {
        Ok(match endpoint.kind {
            TransportKind::WebSocket => {
                Self::WebSocket(Box::new(websocket::Link::connect(&endpoint.url).await?))
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

    async fn send(&mut self, packet: Vec<u8>) -> Result<Sent, TransportError> {
        match self {
            Self::WebSocket(link) => link.send(packet).await,
            Self::WebTransport(link) => link.send(packet).await,
        }
        .map(|()| Sent::Written)
    }

    /// Cancel-safe: both links keep partial reads inside themselves.
    async fn recv(&mut self) -> Received {
        match self {
            Self::WebSocket(link) => link.recv().await,
            Self::WebTransport(link) => link.recv().await,
        }
    }

    async fn close(self, reason: CloseReason) {
        match self {
            Self::WebSocket(link) => link.close(reason).await,
            Self::WebTransport(link) => link.close(reason).await,
        }
    }
}
