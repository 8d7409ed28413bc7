//! What the server sends a `?streams=1` client: length-prefixed packets on one stream per
//! sender and track (see `videocall_types::framing`), a new video or screen stream at each key
//! frame.
//!
//! Packets of a batch that go on the same stream are written with one call, so a busy room
//! costs a stream per group of pictures and a write per run of packets, instead of a stream per
//! packet. At most [`MAX_OPEN_GROUPS`] streams are open at once; opening another finishes the
//! one used least recently (its sender's next packet opens a new one).
//!
//! When the client stops a stream, the rest of its group is lost, not the session: video and
//! screen packets of that group are dropped until the next key frame, audio and other packets
//! reopen a stream at once.

use std::time::Duration;

use bytes::Bytes;
use videocall_relay::connection::Outgoing;
use videocall_types::CloseReason;
use videocall_types::framing::{self, Lane, Placement};
use wtransport::{Connection, SendStream};

use crate::outgoing;

/// Streams open to one client at once. A 20-person room has 19 senders with an audio, an other
/// and a video stream each (57), plus screens; this keeps them all open, and stays well below
/// the stream credit clients grant (quinn's default: 100) and the concurrent reads of our
/// native client (128), which must exceed it or idle streams could starve new ones.
pub(crate) const MAX_OPEN_GROUPS: usize = 64;

/// How long a close waits for the client to acknowledge the last packet (see `outgoing`).
const LAST_PACKET_GRACE: Duration = Duration::from_millis(250);

/// A group's stream, or the memory that the client stopped it.
struct Group {
    sender: u64,
    lane: Lane,
    /// `None` after the client stopped the group's stream: its packets are dropped until a new
    /// group starts.
    stream: Option<SendStream>,
    /// The value of [`Sender::sent`] when the group was last written to (least recently used
    /// goes first).
    used: u64,
}

/// The sending half of a `?streams=1` WebTransport connection.
pub(crate) struct Sender {
    connection: Connection,
    groups: Vec<Group>,
    /// Packets sent so far; the clock of [`Group::used`].
    sent: u64,
    /// The group written to last, for the close to wait on.
    last: Option<(u64, Lane)>,
    /// A run of packets for one group, prefixes interleaved, written with one call.
    run: Vec<Bytes>,
    /// The batch being written, placed and sorted by group (kept for its allocation).
    sorted: Vec<(Placement, Bytes)>,
}

impl Sender {
    pub(crate) fn new(connection: Connection) -> Self {
        Self {
            connection,
            groups: Vec::new(),
            sent: 0,
            last: None,
            run: Vec::new(),
            sorted: Vec::new(),
        }
    }

    /// Writes `packets`, all packets of one group in one call. A batch interleaves many
    /// senders; sorting it by group (stably, so each group keeps its order and its key-frame
    /// boundaries) turns a write per packet into a write per group. Order across groups does
    /// not matter: they are separate streams, which the client reads concurrently anyway.
    async fn write(&mut self, packets: impl Iterator<Item = Bytes>) -> Result<(), ()> {
        self.sorted.extend(packets.map(|packet| (Placement::of(&packet), packet)));
        self.sorted.sort_by_key(|(place, _)| (place.sender, place.lane));
        let mut sorted = std::mem::take(&mut self.sorted);
        let written = self.write_sorted(sorted.drain(..)).await;
        self.sorted = sorted;
        written
    }

    /// Writes placed `packets` in order, consecutive packets of one group in one call.
    async fn write_sorted(
        &mut self,
        packets: impl Iterator<Item = (Placement, Bytes)>,
    ) -> Result<(), ()> {
        let mut current: Option<usize> = None;
        for (place, packet) in packets {
            let Some(prefix) = framing::prefix(packet.len()) else { continue };
            let index = match current {
                Some(index)
                    if !place.starts_group
                        && self.groups[index].sender == place.sender
                        && self.groups[index].lane == place.lane =>
                {
                    index
                }
                _ => {
                    if let Some(index) = current.take() {
                        self.flush(index).await?;
                    }
                    self.group(place).await?
                }
            };
            self.sent += 1;
            self.groups[index].used = self.sent;
            if self.groups[index].stream.is_none() {
                continue; // stopped by the client: wait for the next group
            }
            self.run.push(Bytes::copy_from_slice(&prefix));
            self.run.push(packet);
            current = Some(index);
        }
        if let Some(index) = current {
            self.flush(index).await?;
        }
        Ok(())
    }

    /// The index of the group `place` goes to, opening its stream (and finishing the group's
    /// previous one) when it starts a group or has none.
    async fn group(&mut self, place: Placement) -> Result<usize, ()> {
        let found =
            self.groups.iter().position(|g| g.sender == place.sender && g.lane == place.lane);
        let reopen = match found {
            Some(index) => {
                let group = &self.groups[index];
                let stopped = group.stream.is_none();
                // A stopped audio or other stream comes back at once; video waits for a key frame.
                place.starts_group || (stopped && !matches!(place.lane, Lane::Video | Lane::Screen))
            }
            None => true,
        };
        if !reopen {
            return found.ok_or(());
        }
        if let Some(index) = found {
            finish(self.groups.swap_remove(index).stream);
        } else if self.groups.len() >= MAX_OPEN_GROUPS
            && let Some(oldest) =
                self.groups.iter().enumerate().min_by_key(|(_, g)| g.used).map(|(i, _)| i)
        {
            finish(self.groups.swap_remove(oldest).stream);
        }
        // Waits for stream credit when the client has too many of our streams open: that is
        // the client's backpressure, and the relay's outbox decides what to drop meanwhile.
        let opening = self.connection.open_uni().await.map_err(drop)?;
        let stream = opening.await.map_err(drop)?;
        self.groups.push(Group {
            sender: place.sender,
            lane: place.lane,
            stream: Some(stream),
            used: self.sent,
        });
        Ok(self.groups.len() - 1)
    }

    /// Writes the run of packets gathered for the group at `index`.
    async fn flush(&mut self, index: usize) -> Result<(), ()> {
        let group = &mut self.groups[index];
        let Some(stream) = group.stream.as_mut() else {
            self.run.clear();
            return Ok(());
        };
        self.last = Some((group.sender, group.lane));
        let written = stream.quic_stream_mut().write_all_chunks(&mut self.run).await;
        self.run.clear();
        match written {
            Ok(()) => Ok(()),
            Err(wtransport::quinn::WriteError::Stopped(code)) => {
                tracing::debug!(%code, lane = ?group.lane, "client stopped a stream: group lost");
                group.stream = None;
                Ok(())
            }
            Err(error) => {
                tracing::debug!(%error, "stream write failed");
                Err(())
            }
        }
    }
}

/// Finishes a group's stream without waiting for the client's acknowledgement.
fn finish(stream: Option<SendStream>) {
    if let Some(mut stream) = stream {
        let _ = stream.quic_stream_mut().finish();
    }
}

impl Outgoing for Sender {
    async fn send(&mut self, packet: Bytes) -> Result<(), ()> {
        self.write(std::iter::once(packet)).await
    }

    async fn send_batch(&mut self, batch: &mut Vec<Bytes>) -> Result<(), ()> {
        self.write(batch.drain(..)).await
    }

    async fn ping(&mut self) -> Result<(), ()> {
        // QUIC keep-alives (see `Config::keep_alive`) keep the connection alive.
        Ok(())
    }

    async fn close(mut self, reason: CloseReason) {
        let last = self.last.take();
        let mut waiting = None;
        for mut group in self.groups.drain(..) {
            if let Some(stream) = group.stream.as_mut() {
                let _ = stream.quic_stream_mut().finish();
            }
            if last == Some((group.sender, group.lane)) {
                waiting = group.stream;
            }
        }
        if let Some(mut stream) = waiting {
            let _ = tokio::time::timeout(LAST_PACKET_GRACE, stream.stopped()).await;
        }
        outgoing::close(&self.connection, reason);
    }
}
