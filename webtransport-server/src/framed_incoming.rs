//! What a `?streams=1` client sends: long-lived unidirectional streams carrying length-prefixed
//! packets (see `videocall_types::framing`), plus datagrams.
//!
//! Such a client keeps a stream per track open between packets, so the streams cannot be read
//! one after the other as one-packet streams are (an idle audio stream would hold up video).
//! Up to [`MAX_READING`] streams are read at once, each packet handed on as soon as it is whole;
//! streams accepted beyond those wait (lowest id first) with their bytes in quinn's buffers.
//! Packets keep their order within a stream; across streams they go in the order they
//! complete. A stream whose first byte is not 0 is an old one-packet stream (a client that has
//! not yet seen the server answer in framed streams sends those) and is read as before.
//!
//! | what a client can make us hold | bound | when reached |
//! |---|---|---|
//! | streams being read | [`MAX_READING`] | the others wait, unread |
//! | streams accepted, not being read | `max_incoming_streams` | no more accepted; QUIC stream credit makes the client wait |
//! | partial packets | one per stream being read, each ≤ `max_packet_bytes`: ≤ [`MAX_READING`] × `max_packet_bytes` | — |
//! | one packet's length | `max_packet_bytes` | stream stopped, connection closed `TooLarge` (1009) |
//! | time from a packet's first byte to its last | `stream_timeout` | stream stopped, connection closed `Timeout` (4010) |
//! | time between packets on a stream | none: an idle track is normal; the session's `idle_timeout` closes a client that sends nothing at all | — |
//!
//! A stream the client resets, or finishes in the middle of a packet, loses that packet and the
//! rest of the stream (the rest of its group); the session goes on.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};
use futures::future::BoxFuture;
use futures::stream::{BoxStream, FuturesUnordered};
use futures::{FutureExt, Stream, StreamExt};
use videocall_relay::connection::Incoming;
use videocall_types::CloseReason;
use videocall_types::framing::{self, PREFIX_LEN};
use wtransport::{Connection, RecvStream, VarInt};

use crate::incoming::{self, Assembly, Limits, STOP_TIMEOUT, STOP_TOO_LARGE};

/// Streams read at the same time. An honest client has about four open (video, screen, audio,
/// other) plus a finishing group or two; a client that keeps more open only delays its own
/// later streams. Also bounds the partial packets held: at most this many × `max_packet_bytes`.
pub(crate) const MAX_READING: usize = 8;

/// What reading one step of a stream gave: a packet or refusal to hand on (if any), and the
/// stream to read further (if it goes on).
type Step = (Option<Incoming>, Option<Framed>);

/// A stream known to be framed, between packets.
struct Framed(RecvStream);

struct Reader {
    connection: Connection,
    /// Accepted streams not yet being read; bounded by `limits.max_waiting`.
    waiting: VecDeque<RecvStream>,
    /// Streams being read, each up to its next packet; at most [`MAX_READING`].
    reading: FuturesUnordered<BoxFuture<'static, Step>>,
    limits: Limits,
    /// False once the connection reported an error: accept nothing more, finish what is read.
    open: bool,
}

/// The packets a `?streams=1` client sends on `connection`, until it closes.
pub(crate) fn packets(
    connection: Connection,
    limits: Limits,
) -> impl Stream<Item = Incoming> + Send + Unpin + 'static {
    let limits = Limits { max_waiting: limits.max_waiting.max(1), ..limits };
    let reader = Reader {
        connection,
        waiting: VecDeque::new(),
        reading: FuturesUnordered::new(),
        limits,
        open: true,
    };
    let stream: BoxStream<'static, Incoming> =
        futures::stream::unfold(reader, |mut reader| async move {
            reader.next().await.map(|item| (item, reader))
        })
        .boxed();
    stream
}

impl Reader {
    async fn next(&mut self) -> Option<Incoming> {
        loop {
            while self.reading.len() < MAX_READING
                && let Some(stream) = self.next_in_line()
            {
                self.reading.push(first(stream, self.limits).boxed());
            }
            let can_accept = self.open && self.waiting.len() < self.limits.max_waiting;
            let reading = !self.reading.is_empty();
            tokio::select! {
                // Unbiased: no stream, datagram or new stream starves the others.
                Some((item, rest)) = self.reading.next(), if reading => {
                    if let Some(rest) = rest {
                        self.reading.push(next_packet(rest, self.limits).boxed());
                    }
                    if let Some(item) = item {
                        return Some(item);
                    }
                }
                accepted = self.connection.accept_uni(), if can_accept => match accepted {
                    Ok(stream) => self.waiting.push_back(stream),
                    Err(error) => self.closed(error),
                },
                datagram = self.connection.receive_datagram(), if self.open => match datagram {
                    Ok(datagram) => {
                        let packet = datagram.payload();
                        return Some(incoming::check_size(packet, self.limits.max_packet_bytes));
                    }
                    Err(error) => self.closed(error),
                },
                else => return None,
            }
        }
    }

    /// The waiting stream the client opened first (stream ids grow in opening order).
    fn next_in_line(&mut self) -> Option<RecvStream> {
        let (index, _) = self.waiting.iter().enumerate().min_by_key(|(_, stream)| stream.id())?;
        self.waiting.remove(index)
    }

    fn closed(&mut self, error: wtransport::error::ConnectionError) {
        tracing::debug!(%error, "connection closed");
        self.open = false;
    }
}

/// Reads a new stream's first byte, which tells a framed stream from a one-packet one, and
/// then its first packet. Waits for that byte without a deadline, as for a packet on a framed
/// stream: a client may open a track's stream before it has anything to send.
async fn first(mut stream: RecvStream, limits: Limits) -> Step {
    match stream.quic_stream_mut().read_chunk(1, true).await {
        // An empty stream is an empty one-packet stream, as on the old path.
        Ok(None) => (Some(Incoming::Packet(Bytes::new())), None),
        Ok(Some(chunk)) if chunk.bytes.first().is_some_and(|&b| framing::is_framed(b)) => {
            packet(Framed(stream), chunk.bytes, limits).await
        }
        Ok(Some(chunk)) => {
            let mut packet = Assembly::default();
            packet.push(chunk.bytes);
            (incoming::read_rest(stream, packet, limits).await, None)
        }
        Err(error) => {
            tracing::debug!(%error, "client stream gone before its first byte");
            (None, None)
        }
    }
}

/// Waits for the next packet on a framed stream: its first byte without a deadline (a track
/// may be quiet), then the rest.
async fn next_packet(mut stream: Framed, limits: Limits) -> Step {
    match stream.0.quic_stream_mut().read_chunk(PREFIX_LEN, true).await {
        // Finished between packets: the group is complete.
        Ok(None) => (None, None),
        Ok(Some(chunk)) => packet(stream, chunk.bytes, limits).await,
        Err(error) => {
            tracing::debug!(%error, "framed client stream reset between packets");
            (None, None)
        }
    }
}

/// Reads the packet whose first bytes (at most the prefix) are `start`, within
/// `limits.stream_timeout`.
async fn packet(mut stream: Framed, start: Bytes, limits: Limits) -> Step {
    let read =
        tokio::time::timeout(limits.stream_timeout, rest(&mut stream.0, start, limits)).await;
    match read {
        Ok(Ok(packet)) => (Some(Incoming::Packet(packet)), Some(stream)),
        Ok(Err(Lost::TooLarge)) => {
            stream.0.stop(VarInt::from_u32(STOP_TOO_LARGE));
            (Some(Incoming::Refused(CloseReason::TooLarge)), None)
        }
        Ok(Err(Lost::Group)) => (None, None),
        Err(_) => {
            tracing::debug!(after = ?limits.stream_timeout, "client packet not finished in time");
            stream.0.stop(VarInt::from_u32(STOP_TIMEOUT));
            (Some(Incoming::Refused(CloseReason::Timeout)), None)
        }
    }
}

/// Why a framed stream gave no further packet.
enum Lost {
    /// A length prefix over the packet limit.
    TooLarge,
    /// Reset, finished inside a packet, or the connection is gone: the rest of the group is lost.
    Group,
}

/// The rest of the prefix that `start` begins, then the packet it announces.
async fn rest(stream: &mut RecvStream, start: Bytes, limits: Limits) -> Result<Bytes, Lost> {
    let mut prefix = [0; PREFIX_LEN];
    let mut have = start.len().min(PREFIX_LEN);
    prefix[..have].copy_from_slice(&start[..have]);
    while have < PREFIX_LEN {
        let chunk = read(stream, PREFIX_LEN - have).await?;
        prefix[have..have + chunk.len()].copy_from_slice(&chunk);
        have += chunk.len();
    }
    let len = framing::announced(prefix);
    if len > limits.max_packet_bytes {
        return Err(Lost::TooLarge);
    }
    if len == 0 {
        return Ok(Bytes::new());
    }
    // Never asks for more than the packet's remaining bytes, so nothing of the next packet is
    // read early. A packet that arrives in one chunk is not copied; otherwise it is gathered in
    // one buffer of exactly its announced length (for why not keep the chunks, see `Assembly`).
    let chunk = read(stream, len).await?;
    if chunk.len() == len {
        return Ok(chunk);
    }
    let mut packet = BytesMut::with_capacity(len);
    packet.extend_from_slice(&chunk);
    while packet.len() < len {
        packet.extend_from_slice(&read(stream, len - packet.len()).await?);
    }
    Ok(packet.freeze())
}

/// Up to `max` (≥ 1) bytes of `stream`; the end of the stream here is inside a packet.
async fn read(stream: &mut RecvStream, max: usize) -> Result<Bytes, Lost> {
    match stream.quic_stream_mut().read_chunk(max, true).await {
        Ok(Some(chunk)) => Ok(chunk.bytes),
        Ok(None) => {
            tracing::debug!("framed client stream finished inside a packet");
            Err(Lost::Group)
        }
        Err(error) => {
            tracing::debug!(%error, "framed client stream reset inside a packet");
            Err(Lost::Group)
        }
    }
}
