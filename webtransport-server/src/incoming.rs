//! What a client sends, as a stream of [`Incoming`]: one packet per unidirectional stream or
//! datagram.
//!
//! Streams are read concurrently (a lost QUIC packet on one does not hold back the bytes of the
//! next) but yielded in the order they were accepted, so packets keep the client's order. At
//! most `max_in_flight` streams are read at once; while that many are open no further stream is
//! accepted and QUIC flow control makes the client wait. Everything runs inside the one
//! connection task: no task per packet.

use bytes::{Bytes, BytesMut};
use futures::future::BoxFuture;
use futures::stream::{BoxStream, FuturesOrdered};
use futures::{FutureExt, Stream, StreamExt};
use videocall_relay::connection::Incoming;
use videocall_types::CloseReason;
use wtransport::{Connection, RecvStream, VarInt};

/// Application code for a stream the server stops reading because it is over the size limit.
const STOP_TOO_LARGE: u32 = CloseReason::TooLarge.code() as u32;

/// One stream being read; `None` when the client reset it (nothing to relay).
type Read = BoxFuture<'static, Option<Incoming>>;

struct Reader {
    connection: Connection,
    /// Streams being read, in accept order. Bounded by `max_in_flight`: the accept branch is
    /// disabled while it is full.
    reads: FuturesOrdered<Read>,
    max_in_flight: usize,
    max_packet_bytes: usize,
    /// False once the connection reported an error: accept nothing more, drain `reads`.
    open: bool,
}

/// The packets `connection` receives, until it closes.
pub(crate) fn packets(
    connection: Connection,
    max_in_flight: usize,
    max_packet_bytes: usize,
) -> impl Stream<Item = Incoming> + Send + Unpin + 'static {
    let reader = Reader {
        connection,
        reads: FuturesOrdered::new(),
        max_in_flight: max_in_flight.max(1),
        max_packet_bytes,
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
            let can_accept = self.open && self.reads.len() < self.max_in_flight;
            tokio::select! {
                // Unbiased: a flood of streams must not starve datagrams, nor the reverse.
                Some(read) = self.reads.next(), if !self.reads.is_empty() => {
                    if let Some(incoming) = read {
                        return Some(incoming);
                    }
                }
                accepted = self.connection.accept_uni(), if can_accept => match accepted {
                    Ok(stream) => self.reads.push_back(read_packet(stream, self.max_packet_bytes).boxed()),
                    Err(error) => self.closed(error),
                },
                datagram = self.connection.receive_datagram(), if self.open => match datagram {
                    Ok(datagram) => return Some(check_size(datagram.payload(), self.max_packet_bytes)),
                    Err(error) => self.closed(error),
                },
                else => return None,
            }
        }
    }

    fn closed(&mut self, error: wtransport::error::ConnectionError) {
        tracing::debug!(%error, "connection closed");
        self.open = false;
    }
}

fn check_size(packet: Bytes, max_packet_bytes: usize) -> Incoming {
    if packet.len() > max_packet_bytes {
        Incoming::Refused(CloseReason::TooLarge)
    } else {
        Incoming::Packet(packet)
    }
}

/// Reads one stream to its end, refusing it once it is longer than `max_packet_bytes`.
async fn read_packet(mut stream: RecvStream, max_packet_bytes: usize) -> Option<Incoming> {
    let mut chunks: Vec<Bytes> = Vec::new();
    let mut len = 0usize;
    loop {
        // Ask for one byte more than may still come, to notice a stream that is too long.
        let want = (max_packet_bytes - len).saturating_add(1);
        match stream.quic_stream_mut().read_chunk(want, true).await {
            Ok(Some(chunk)) => {
                len += chunk.bytes.len();
                if len > max_packet_bytes {
                    stream.stop(VarInt::from_u32(STOP_TOO_LARGE));
                    return Some(Incoming::Refused(CloseReason::TooLarge));
                }
                chunks.push(chunk.bytes);
            }
            Ok(None) => return Some(Incoming::Packet(concat(chunks, len))),
            Err(error) => {
                // Reset by the client, or the connection is gone (the accept loop sees that too).
                tracing::debug!(%error, "client stream not read to its end");
                return None;
            }
        }
    }
}

/// Joins a stream's chunks; a packet that arrived in one chunk is not copied.
fn concat(mut chunks: Vec<Bytes>, len: usize) -> Bytes {
    if chunks.len() == 1 {
        return chunks.pop().unwrap_or_default();
    }
    let mut packet = BytesMut::with_capacity(len);
    for chunk in chunks {
        packet.extend_from_slice(&chunk);
    }
    packet.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concat_keeps_a_single_chunk_and_joins_many() {
        let one = Bytes::from_static(b"abc");
        assert_eq!(concat(vec![one.clone()], 3).as_ptr(), one.as_ptr());
        let many = vec![Bytes::from_static(b"ab"), Bytes::from_static(b"c"), Bytes::new()];
        assert_eq!(concat(many, 3), Bytes::from_static(b"abc"));
        assert_eq!(concat(Vec::new(), 0), Bytes::new());
    }

    #[test]
    fn oversized_datagrams_are_refused() {
        assert!(matches!(check_size(Bytes::from_static(b"abc"), 3), Incoming::Packet(_)));
        assert!(matches!(
            check_size(Bytes::from_static(b"abcd"), 3),
            Incoming::Refused(CloseReason::TooLarge)
        ));
    }
}
