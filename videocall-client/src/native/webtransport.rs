//! The WebTransport transport (wtransport). Client to server: one unidirectional stream per
//! packet, or with `?streams=1` in the lobby URL length-prefixed packets on one stream per
//! track (see `videocall_types::framing`). Server to client: streams of either kind, told
//! apart by their first byte, and datagrams.
//!
//! Framed sending starts only once the server has sent a framed stream: an old server ignores
//! `?streams=1` and would take a framed stream for one malformed packet, while ours answers in
//! framed streams (its first packet, the welcome, arrives right after joining). Until then,
//! packets go one per stream, which our server also reads in a `?streams=1` session.
//!
//! Incoming streams are read concurrently inside this link (at most [`MAX_CONCURRENT_READS`],
//! no task per stream); beyond that, QUIC flow control holds the server back. The server's
//! self-signed certificate is trusted by its SHA-256 hash when one is given, otherwise the
//! system's root certificates validate it.

use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use tokio::io::AsyncReadExt;
use tokio::time::timeout;
use url::Url;
use videocall_types::CloseReason;
use videocall_types::framing::{self, Lane, PREFIX_LEN, Placement};
use wtransport::endpoint::endpoint_side;
use wtransport::error::ConnectionError;
use wtransport::tls::Sha256Digest;
use wtransport::{ClientConfig, Connection, Endpoint, RecvStream, SendStream, VarInt};

use super::transport::{ConnectError, TransportError};
use crate::link::{MAX_PACKET, Received};

/// Incoming streams read at the same time. Framed streams stay open between packets, so this
/// must exceed the streams our server keeps open to one client (64), or idle ones could starve
/// a new one.
const MAX_CONCURRENT_READS: usize = 128;

/// QUIC keep-alive, well under the idle timeout of both sides.
const KEEP_ALIVE: Duration = Duration::from_secs(4);

/// How long a close waits for the close frame to leave.
const CLOSE_WAIT: Duration = Duration::from_millis(500);

/// Stream error code for an incoming stream we refuse to read further (over the size limit).
const STOP_TOO_LARGE: u32 = 1;

/// One read step of an incoming stream: what it gave (if anything), and the framed stream to
/// read on (if it goes on).
type Read = BoxFuture<'static, (Option<Received>, Option<RecvStream>)>;

/// An open WebTransport session to the lobby.
pub(crate) struct Link {
    connection: Connection,
    endpoint: Endpoint<endpoint_side::Client>,
    reads: FuturesUnordered<Read>,
    /// The lobby URL asked for framed streams.
    asked: bool,
    /// The server sent a framed stream: it reads ours too.
    framed: bool,
    /// Our open framed streams, one per track (at most one per [`Lane`]).
    groups: Vec<(Lane, SendStream)>,
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
        let asked = url.query_pairs().any(|(key, value)| key == "streams" && value == "1");
        Ok(Self {
            connection,
            endpoint,
            reads: FuturesUnordered::new(),
            asked,
            framed: false,
            groups: Vec::new(),
        })
    }

    /// Sends one packet: on its track's framed stream once the server speaks them, otherwise
    /// on a fresh stream of its own.
    pub(crate) async fn send(&mut self, packet: Vec<u8>) -> Result<(), TransportError> {
        if self.framed {
            return self.send_framed(packet).await;
        }
        let mut stream = open(&self.connection).await?;
        stream.write_all(&packet).await.map_err(|e| failed(&e))?;
        // Finish without waiting for the peer's acknowledgement (wtransport's async `finish`
        // waits for it): waiting costs a round trip plus the peer's ACK delay per packet,
        // which caps a sender at a few dozen packets a second. QUIC still retransmits.
        stream.quic_stream_mut().finish().map_err(|e| failed(&e))
    }

    /// Writes `packet` length-prefixed on its track's stream, starting a new stream (and
    /// finishing the old one) at a video or screen key frame.
    async fn send_framed(&mut self, packet: Vec<u8>) -> Result<(), TransportError> {
        let place = Placement::of(&packet);
        let prefix = framing::prefix(packet.len()).ok_or(TransportError::TooLarge)?;
        let found = self.groups.iter().position(|(lane, _)| *lane == place.lane);
        let index = match found {
            Some(index) if !place.starts_group => index,
            _ => {
                if let Some(index) = found {
                    let (_, mut old) = self.groups.swap_remove(index);
                    let _ = old.quic_stream_mut().finish();
                }
                let stream = open(&self.connection).await?;
                self.groups.push((place.lane, stream));
                self.groups.len() - 1
            }
        };
        let mut chunks = [Bytes::copy_from_slice(&prefix), Bytes::from(packet)];
        let written = self.groups[index].1.quic_stream_mut().write_all_chunks(&mut chunks).await;
        match written {
            Ok(()) => Ok(()),
            // The server stopped this stream: the rest of its group is lost, the next packet
            // of the track opens a new one.
            Err(wtransport::quinn::WriteError::Stopped(code)) => {
                tracing::debug!(%code, lane = ?place.lane, "server stopped a stream");
                self.groups.swap_remove(index);
                Ok(())
            }
            Err(error) => Err(failed(&error)),
        }
    }

    /// The next packet from a stream or a datagram.
    pub(crate) async fn recv(&mut self) -> Received {
        loop {
            let can_accept = self.reads.len() < MAX_CONCURRENT_READS;
            tokio::select! {
                stream = self.connection.accept_uni(), if can_accept => match stream {
                    Ok(stream) => self.reads.push(read_first(stream).boxed()),
                    Err(e) => return closed(&e),
                },
                Some((received, rest)) = self.reads.next() => {
                    if let Some(rest) = rest {
                        // Only a server that understood `?streams=1` sends framed streams.
                        self.framed |= self.asked;
                        self.reads.push(read_framed(rest).boxed());
                    }
                    if let Some(received) = received {
                        return received;
                    }
                }
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

/// Opens a stream to the server (waiting for stream credit).
async fn open(connection: &Connection) -> Result<SendStream, TransportError> {
    let opening = connection.open_uni().await.map_err(|e| failed(&e))?;
    opening.await.map_err(|e| failed(&e))
}

fn failed(error: &dyn std::fmt::Display) -> TransportError {
    TransportError::WebTransport(error.to_string())
}

/// Reads a new stream's first byte: a framed stream goes on to its first packet, any other
/// stream is one packet read to its end.
async fn read_first(mut stream: RecvStream) -> (Option<Received>, Option<RecvStream>) {
    let first = match stream.quic_stream_mut().read_chunk(1, true).await {
        Ok(Some(chunk)) => chunk.bytes,
        Ok(None) => return (Some(Received::Packet(Vec::new())), None),
        Err(_) => return (Some(Received::Unreadable("stream reset or connection lost")), None),
    };
    if first.first().is_some_and(|&b| framing::is_framed(b)) {
        return read_packet(stream, &first).await;
    }
    (Some(read_to_end(stream, first.to_vec()).await), None)
}

/// Reads the next packet of a framed stream; nothing when it ends between packets.
async fn read_framed(mut stream: RecvStream) -> (Option<Received>, Option<RecvStream>) {
    match stream.quic_stream_mut().read_chunk(1, true).await {
        Ok(Some(chunk)) => read_packet(stream, &chunk.bytes).await,
        Ok(None) => (None, None),
        Err(_) => (Some(Received::Unreadable("framed stream reset")), None),
    }
}

/// Reads the packet whose prefix starts with `start` (one byte).
async fn read_packet(
    mut stream: RecvStream,
    start: &[u8],
) -> (Option<Received>, Option<RecvStream>) {
    let lost = |why| (Some(Received::Unreadable(why)), None);
    let mut prefix = [0; PREFIX_LEN];
    prefix[..start.len()].copy_from_slice(start);
    if stream.quic_stream_mut().read_exact(&mut prefix[start.len()..]).await.is_err() {
        return lost("framed stream cut inside a packet");
    }
    let len = framing::announced(prefix);
    if len > MAX_PACKET {
        stream.stop(VarInt::from_u32(STOP_TOO_LARGE));
        return lost("framed packet over the size limit");
    }
    let mut packet = vec![0; len];
    if stream.quic_stream_mut().read_exact(&mut packet).await.is_err() {
        return lost("framed stream cut inside a packet");
    }
    (Some(Received::Packet(packet)), Some(stream))
}

/// Reads a one-packet stream to its end after its first bytes `packet`, refusing more than
/// [`MAX_PACKET`] bytes.
async fn read_to_end(stream: RecvStream, mut packet: Vec<u8>) -> Received {
    let limit = u64::try_from(MAX_PACKET).unwrap_or(u64::MAX).saturating_add(1);
    let mut limited = stream.take(limit.saturating_sub(packet.len() as u64));
    if limited.read_to_end(&mut packet).await.is_err() {
        return Received::Unreadable("stream reset or connection lost");
    }
    if packet.len() > MAX_PACKET {
        limited.into_inner().stop(VarInt::from_u32(STOP_TOO_LARGE));
        return Received::Unreadable("stream over the size limit");
    }
    Received::Packet(packet)
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
