//! The browser's two transports behind one enum, so the connection loop is written once.

use std::time::Duration;

use futures::FutureExt;
use videocall_types::CloseReason;

use super::js;
use super::{websocket, webtransport};
use crate::event::TransportKind;
use crate::options::Endpoint;

pub(crate) use crate::link::{MAX_PACKET, Received};

/// Why a connection attempt failed (browsers say little more than "it failed").
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectError {
    /// The browser refused to start the attempt (bad URL, blocked API).
    #[error("{0}")]
    Refused(String),
    /// The connection could not be established.
    #[error("{0}")]
    Failed(String),
    /// The attempt took longer than the connect timeout.
    #[error("no connection after {0:?}")]
    Timeout(Duration),
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
    /// Connects to `endpoint`, giving up after `timeout`.
    pub(crate) async fn connect(
        endpoint: &Endpoint,
        timeout: Duration,
    ) -> Result<Self, ConnectError> {
        let attempt = async {
            Ok(match endpoint.kind {
                TransportKind::WebSocket => {
                    Self::WebSocket(websocket::Link::connect(&endpoint.url).await?)
                }
                TransportKind::WebTransport => Self::WebTransport(
                    webtransport::Link::connect(&endpoint.url, endpoint.cert_hash).await?,
                ),
            })
        };
        futures::select! {
            result = attempt.fuse() => result,
            () = js::sleep(timeout).fuse() => Err(ConnectError::Timeout(timeout)),
        }
    }

    /// Which transport this is.
    pub(crate) fn kind(&self) -> TransportKind {
        match self {
            Self::WebSocket(_) => TransportKind::WebSocket,
            Self::WebTransport(_) => TransportKind::WebTransport,
        }
    }

    /// Sends one serialized packet. `Ok(false)`: dropped because the connection is backed up.
    pub(crate) async fn send(&mut self, packet: Vec<u8>) -> Result<bool, TransportError> {
        match self {
            Self::WebSocket(link) => link.send(&packet),
            Self::WebTransport(link) => link.send(&packet).await.map(|()| true),
        }
    }

    /// The next message from the server. Cancel-safe: nothing is lost when the future is dropped.
    pub(crate) async fn recv(&mut self) -> Received {
        match self {
            Self::WebSocket(link) => link.recv().await,
            Self::WebTransport(link) => link.recv().await,
        }
    }

    /// Closes the connection with `reason`.
    pub(crate) fn close(self, reason: CloseReason) {
        match self {
            Self::WebSocket(link) => link.close(reason),
            Self::WebTransport(link) => link.close(reason),
        }
    }
}
