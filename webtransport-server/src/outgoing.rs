//! What the server sends a client: one unidirectional stream per packet, and the close.

use std::time::Duration;

use bytes::Bytes;
use videocall_relay::connection::Outgoing;
use videocall_types::CloseReason;
use wtransport::{Connection, SendStream, VarInt};

/// How long a close waits for the client to acknowledge the last packet (usually the
/// `ServerError` that explains the close), which closing the connection would otherwise discard.
const LAST_PACKET_GRACE: Duration = Duration::from_millis(250);

/// The sending half of a WebTransport connection.
pub(crate) struct Sender {
    connection: Connection,
    /// The stream of the most recent packet, finished but perhaps not yet acknowledged.
    last: Option<SendStream>,
}

impl Sender {
    pub(crate) fn new(connection: Connection) -> Self {
        Self { connection, last: None }
    }
}

impl Outgoing for Sender {
    async fn send(&mut self, packet: Bytes) -> Result<(), ()> {
        // Waits for stream credit when the client has too many of our streams open: that is
        // the client's backpressure, and the relay's outbox decides what to drop meanwhile.
        let opening = self.connection.open_uni().await.map_err(drop)?;
        let mut stream = opening.await.map_err(drop)?;
        stream.write_all(&packet).await.map_err(drop)?;
        // QUIC's own finish: marks the end without waiting a round trip for the acknowledgement.
        let _ = stream.quic_stream_mut().finish();
        self.last = Some(stream);
        Ok(())
    }

    async fn ping(&mut self) -> Result<(), ()> {
        // QUIC keep-alives (see `Config::keep_alive`) keep the connection alive.
        Ok(())
    }

    async fn close(mut self, reason: CloseReason) {
        if let Some(mut last) = self.last.take() {
            let _ = tokio::time::timeout(LAST_PACKET_GRACE, last.stopped()).await;
        }
        close(&self.connection, reason);
    }
}

/// Closes `connection` with `reason`'s code and text as the application error.
pub(crate) fn close(connection: &Connection, reason: CloseReason) {
    connection.close(VarInt::from_u32(reason.code().into()), reason.description().as_bytes());
}
