//! What a client sends, as a stream of [`Incoming`]: one packet per unidirectional stream or
//! datagram.
//!
//! Streams are read **one at a time, in the order the client opened them** (of those accepted),
//! so packets keep the client's order and the server holds at most one partly read packet per
//! connection. The streams behind it wait with their bytes in QUIC's buffers, which the
//! connection receive window bounds; reading them concurrently would not deliver anything
//! sooner (packets are relayed in order) but would let a client park up to a packet per stream
//! in our memory. Everything runs inside the one connection task: no task per packet.
//!
//! | what a client can make us hold | bound | when reached |
//! |---|---|---|
//! | streams accepted, not yet read | `max_incoming_streams` | no more accepted; QUIC stream credit makes the client wait |
//! | bytes of the stream being read | `max_packet_bytes` | stream stopped, connection closed `TooLarge` (1009) |
//! | time reading one stream | `stream_timeout` | stream stopped, connection closed `Timeout` (4010) |
//! | bytes of the streams waiting | QUIC `receive_window` (in quinn) | the client waits (flow control) |
//! | datagrams not yet read | QUIC `datagram_buffer` (in quinn) | quinn drops the oldest |

use std::collections::VecDeque;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::future::{BoxFuture, OptionFuture};
use futures::stream::BoxStream;
use futures::{FutureExt, Stream, StreamExt};
use videocall_relay::connection::Incoming;
use videocall_types::CloseReason;
use wtransport::{Connection, RecvStream, VarInt};

/// Application code for a stream the server stops reading because it is over the size limit.
pub(crate) const STOP_TOO_LARGE: u32 = CloseReason::TooLarge.code() as u32;

/// Application code for a stream the server stops reading because it took too long.
pub(crate) const STOP_TIMEOUT: u32 = CloseReason::Timeout.code() as u32;

/// One stream being read; `None` when the client reset it (nothing to relay).
type Read = BoxFuture<'static, Option<Incoming>>;

/// How the streams of one connection are read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Streams accepted and not yet read, at most.
    pub(crate) max_waiting: usize,
    /// Longest stream, in bytes.
    pub(crate) max_packet_bytes: usize,
    /// Longest time to read one stream.
    pub(crate) stream_timeout: Duration,
}

struct Reader {
    connection: Connection,
    /// Accepted streams behind the one being read. Bounded by
    /// `limits.max_waiting`: the accept branch is disabled while it is full.
    waiting: VecDeque<RecvStream>,
    /// The stream being read: the first the client opened of those accepted.
    reading: Option<Read>,
    limits: Limits,
    /// False once the connection reported an error: accept nothing more, finish what is queued.
    open: bool,
}

/// The packets `connection` receives, until it closes.
pub(crate) fn packets(
    connection: Connection,
    limits: Limits,
) -> impl Stream<Item = Incoming> + Send + Unpin + 'static {
    let limits = Limits { max_waiting: limits.max_waiting.max(1), ..limits };
    let reader = Reader {
        connection,
        waiting: VecDeque::with_capacity(limits.max_waiting),
        reading: None,
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
            if self.reading.is_none()
                && let Some(stream) = self.next_in_line()
            {
                let limits = self.limits;
                self.reading = Some(read_packet(stream, limits).boxed());
            }
            let can_accept = self.open && self.waiting.len() < self.limits.max_waiting;
            let reading = self.reading.is_some();
            tokio::select! {
                // Unbiased: a flood of streams must not starve datagrams, nor the reverse.
                Some(read) = OptionFuture::from(self.reading.as_mut()), if reading => {
                    self.reading = None;
                    if let Some(incoming) = read {
                        return Some(incoming);
                    }
                }
                accepted = self.connection.accept_uni(), if can_accept => match accepted {
                    Ok(stream) => self.waiting.push_back(stream),
                    Err(error) => self.closed(error),
                },
                datagram = self.connection.receive_datagram(), if self.open => match datagram {
                    Ok(datagram) => {
                        return Some(check_size(datagram.payload(), self.limits.max_packet_bytes));
                    }
                    Err(error) => self.closed(error),
                },
                else => return None,
            }
        }
    }

    /// The waiting stream the client opened first. wtransport hands streams over as several
    /// tasks read their headers, so the accept order can differ from the client's by a few;
    /// stream ids grow in the order the client opened them.
    fn next_in_line(&mut self) -> Option<RecvStream> {
        let (index, _) = self.waiting.iter().enumerate().min_by_key(|(_, stream)| stream.id())?;
        self.waiting.remove(index)
    }

    fn closed(&mut self, error: wtransport::error::ConnectionError) {
        tracing::debug!(%error, "connection closed");
        self.open = false;
    }
}

pub(crate) fn check_size(packet: Bytes, max_packet_bytes: usize) -> Incoming {
    if packet.len() > max_packet_bytes {
        Incoming::Refused(CloseReason::TooLarge)
    } else {
        Incoming::Packet(packet)
    }
}

/// Reads one stream to its end, refusing it once it is longer than `limits.max_packet_bytes`
/// or takes longer than `limits.stream_timeout`.
async fn read_packet(stream: RecvStream, limits: Limits) -> Option<Incoming> {
    read_rest(stream, Assembly::default(), limits).await
}

/// Reads the rest of a one-packet stream whose first bytes are in `packet`, with the limits of
/// [`read_packet`].
pub(crate) async fn read_rest(
    mut stream: RecvStream,
    packet: Assembly,
    limits: Limits,
) -> Option<Incoming> {
    let read = tokio::time::timeout(
        limits.stream_timeout,
        read_to_end(&mut stream, packet, limits.max_packet_bytes),
    )
    .await;
    match read {
        Ok(Ok(packet)) => Some(Incoming::Packet(packet)),
        Ok(Err(Unread::TooLarge)) => {
            stream.stop(VarInt::from_u32(STOP_TOO_LARGE));
            Some(Incoming::Refused(CloseReason::TooLarge))
        }
        Ok(Err(Unread::Gone)) => None,
        Err(_) => {
            tracing::debug!(after = ?limits.stream_timeout, "client stream not finished in time");
            stream.stop(VarInt::from_u32(STOP_TIMEOUT));
            Some(Incoming::Refused(CloseReason::Timeout))
        }
    }
}

/// Why a stream gave no packet.
enum Unread {
    /// Longer than the packet limit.
    TooLarge,
    /// Reset by the client, or the connection is gone.
    Gone,
}

/// The bytes of `stream` up to its end, at most `max_packet_bytes` of them.
async fn read_to_end(
    stream: &mut RecvStream,
    mut packet: Assembly,
    max_packet_bytes: usize,
) -> Result<Bytes, Unread> {
    loop {
        // Ask for one byte more than may still come, to notice a stream that is too long.
        let want = max_packet_bytes.saturating_sub(packet.len()).saturating_add(1);
        match stream.quic_stream_mut().read_chunk(want, true).await {
            Ok(Some(chunk)) => {
                if packet.len() + chunk.bytes.len() > max_packet_bytes {
                    return Err(Unread::TooLarge);
                }
                packet.push(chunk.bytes);
            }
            Ok(None) => return Ok(packet.finish()),
            Err(error) => {
                // The accept loop sees a lost connection too.
                tracing::debug!(%error, "client stream not read to its end");
                return Err(Unread::Gone);
            }
        }
    }
}

/// A packet put together from a stream's chunks. A packet that arrives in one chunk is not
/// copied; otherwise the chunks are copied into one buffer as they come, because a chunk is a
/// slice of the datagram buffer it arrived in, and keeping many small chunks would keep all
/// those buffers alive (a client dribbling one byte per datagram would make a 1 MB packet
/// hold a gigabyte). Holds at most twice the packet's length (the buffer grows by doubling).
#[derive(Debug, Default)]
pub(crate) struct Assembly {
    first: Bytes,
    rest: BytesMut,
}

impl Assembly {
    pub(crate) fn len(&self) -> usize {
        self.first.len() + self.rest.len()
    }

    pub(crate) fn push(&mut self, chunk: Bytes) {
        if self.rest.is_empty() {
            if self.first.is_empty() {
                self.first = chunk;
                return;
            }
            self.rest.extend_from_slice(&std::mem::take(&mut self.first));
        }
        self.rest.extend_from_slice(&chunk);
    }

    pub(crate) fn finish(self) -> Bytes {
        if self.rest.is_empty() { self.first } else { self.rest.freeze() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assemble(chunks: &[&'static [u8]]) -> Bytes {
        let mut packet = Assembly::default();
        for chunk in chunks {
            packet.push(Bytes::from_static(chunk));
        }
        assert_eq!(packet.len(), chunks.iter().map(|c| c.len()).sum::<usize>());
        packet.finish()
    }

    #[test]
    fn a_single_chunk_is_kept_and_many_are_copied_into_one_buffer() {
        let one = Bytes::from_static(b"abc");
        let mut single = Assembly::default();
        single.push(one.clone());
        assert_eq!(single.finish().as_ptr(), one.as_ptr());
        assert_eq!(assemble(&[b"ab", b"c", b""]), Bytes::from_static(b"abc"));
        assert_eq!(assemble(&[b"", b"a", b"bc"]), Bytes::from_static(b"abc"));
        assert_eq!(assemble(&[]), Bytes::new());
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
