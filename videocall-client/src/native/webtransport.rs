//! The WebTransport transport (wtransport): client to server one unidirectional stream per
//! packet; server to client unidirectional streams (one packet each) and datagrams.
//!
//! Incoming streams are read concurrently inside this link (at most [`MAX_CONCURRENT_READS`],
//! no task per stream); beyond that, QUIC flow control holds the server back. The server's
//! self-signed certificate is trusted by its SHA-256 hash when one is given, otherwise the
//! system's root certificates validate it.

use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use tokio::io::AsyncReadExt;
use tokio::time::timeout;
use url::Url;
use videocall_types::CloseReason;
use wtransport::endpoint::endpoint_side;
use wtransport::error::ConnectionError;
use wtransport::tls::Sha256Digest;
use wtransport::{ClientConfig, Connection, Endpoint, RecvStream, VarInt};

use super::transport::{ConnectError, TransportError};
use crate::link::{MAX_PACKET, Received};

/// Incoming streams read at the same time.
const MAX_CONCURRENT_READS: usize = 64;

/// QUIC keep-alive, well under the idle timeout of both sides.
const KEEP_ALIVE: Duration = Duration::from_secs(4);

/// How long a close waits for the close frame to leave.
const CLOSE_WAIT: Duration = Duration::from_millis(500);

/// Stream error code for an incoming stream we refuse to read further (over the size limit).
const STOP_TOO_LARGE: u32 = 1;

type Read = BoxFuture<'static, Result<Vec<u8>, &'static str>>;

/// An open WebTransport session to the lobby.
pub(crate) struct Link {
    connection: Connection,
    endpoint: Endpoint<endpoint_side::Client>,
    reads: FuturesUnordered<Read>,
}

impl Link {
    /// Opens a WebTransport session at `url`, trusting `cert_hash` if given.
    pub(crate) async fn connect(
        url: &Url,
        cert_hash: Option<[u8; 32]>,
    ) -> Result<Self, ConnectError> {
        let builder = ClientConfig::builder().with_bind_default();
        let builder = match cert_hash {
            Some(hash) => builder.with_server_certificate_hashes([Sha256Digest::new(hash)]),
            None => builder.with_native_certs(),
        };
        // QUIC's default idle timeout (30 s) detects a dead path; keep-alives keep a quiet one.
        let config = builder.keep_alive_interval(Some(KEEP_ALIVE)).build();
        let endpoint = Endpoint::client(config)?;
        let connection = endpoint.connect(url.as_str()).await?;
        Ok(Self { connection, endpoint, reads: FuturesUnordered::new() })
    }

    /// Sends one packet on a fresh unidirectional stream.
    pub(crate) async fn send(&mut self, packet: Vec<u8>) -> Result<(), TransportError> {
        let failed = |e: &dyn std::fmt::Display| TransportError::WebTransport(e.to_string());
        let opening = self.connection.open_uni().await.map_err(|e| failed(&e))?;
        let mut stream = opening.await.map_err(|e| failed(&e))?;
        stream.write_all(&packet).await.map_err(|e| failed(&e))?;
        // Finish without waiting for the peer's acknowledgement (wtransport's async `finish`
        // waits for it): waiting costs a round trip plus the peer's ACK delay per packet,
        // which caps a sender at a few dozen packets a second. QUIC still retransmits.
        stream.quic_stream_mut().finish().map_err(|e| failed(&e))
    }

    /// The next packet from a finished stream or a datagram.
    pub(crate) async fn recv(&mut self) -> Received {
        loop {
            let can_accept = self.reads.len() < MAX_CONCURRENT_READS;
            tokio::select! {
                stream = self.connection.accept_uni(), if can_accept => match stream {
                    Ok(stream) => self.reads.push(read_packet(stream).boxed()),
                    Err(e) => return closed(&e),
                },
                Some(read) = self.reads.next() => return match read {
                    Ok(packet) => Received::Packet(packet),
                    Err(why) => Received::Unreadable(why),
                },
                datagram = self.connection.receive_datagram() => return match datagram {
                    Ok(datagram) => Received::Packet(datagram.payload().to_vec()),
                    Err(e) => closed(&e),
                },
            }
        }
    }

    /// Closes the session with `reason` as the application error code.
    pub(crate) async fn close(self, reason: CloseReason) {
        let code = VarInt::from_u32(u32::from(reason.code()));
        self.connection.close(code, reason.description().as_bytes());
        let _ = timeout(CLOSE_WAIT, self.endpoint.wait_idle()).await;
    }
}

/// Reads one stream to its end, refusing more than [`MAX_PACKET`] bytes.
async fn read_packet(stream: RecvStream) -> Result<Vec<u8>, &'static str> {
    let mut packet = Vec::new();
    let limit = u64::try_from(MAX_PACKET).unwrap_or(u64::MAX).saturating_add(1);
    let mut limited = stream.take(limit);
    if limited.read_to_end(&mut packet).await.is_err() {
        return Err("stream reset or connection lost");
    }
    if packet.len() > MAX_PACKET {
        limited.into_inner().stop(VarInt::from_u32(STOP_TOO_LARGE));
        return Err("stream over the size limit");
    }
    Ok(packet)
}

/// The close code of an ended connection, when the server closed it with one.
fn closed(error: &ConnectionError) -> Received {
    let code = match error {
        ConnectionError::ApplicationClosed(close) => u32::try_from(close.code().into_inner()).ok(),
        _ => None,
    };
    tracing::debug!(error = %error, code, "webtransport connection ended");
    Received::Closed(code)
}
