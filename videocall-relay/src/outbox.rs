//! One receiver's outbound queue and its drop policy (pure: no I/O, time is passed in).
//!
//! Packets wait in six lanes, drained in priority order, except that echo and media take
//! turns:
//!
//! | lane | holds | when full |
//! |---|---|---|
//! | control | what the server itself says (welcome, key frame requests) | never dropped: the receiver is disconnected ([`Push::Disconnect`]) |
//! | peer control | key exchange and connection packets from other participants | per sender and per receiver: a sender over its share (16 packets, 64 KiB waiting) or a lane over 1 MiB drops the new packet, so one participant's flood never disconnects another |
//! | presence | "joined" / "left" notices, at most one per participant | cannot fill: a notice that undoes a waiting one (joined, then left before it was sent) removes it, so the lane holds at most one notice per participant of the room |
//! | echo | the receiver's own round-trip probes, sent back to it | the oldest probe is dropped (16 packets, 64 KiB) |
//! | lossy | audio, heartbeats, diagnostics, media whose kind is unknown | the oldest packet is dropped |
//! | video | video and screen frames | the new frame is dropped and that stream is skipped until its next key frame; the sender is asked for one once the lane has room again |
//!
//! An echo waits behind at most one media packet (lossy or video) and holds back at most one:
//! after an echo, media goes next if any waits. A probe measures the path, not the room's media
//! backlog, and a client that floods probes only slows its own media by half (it is also under
//! the ingest rate limit).
//!
//! A receiver also never gets the delta frames of a stream before its first key frame (they
//! cannot be decoded), and a receiver that has had work queued without taking any of it for
//! `stall_timeout` is disconnected. Publishers never wait on a receiver: `push` is O(1)
//! amortised and never blocks.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use bytes::Bytes;
use videocall_types::SessionId;

use crate::config::OutboxLimits;

/// One video stream: a sender's camera or screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StreamKey {
    /// The sending session.
    pub sender: SessionId,
    /// Raw `MediaType` (VIDEO or SCREEN).
    pub media_type: i32,
}

/// How a packet is queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Must arrive: what the server itself says.
    Control,
    /// Key exchange and connection packets from another participant: must arrive unless that
    /// participant floods (see the module docs).
    PeerControl {
        /// The participant that sent it.
        sender: SessionId,
    },
    /// A packet the receiver itself sent, returned to it (a round-trip probe): may be dropped,
    /// oldest first; takes turns with media.
    Echo,
    /// May be dropped, oldest first: audio, heartbeats, diagnostics, unknown media.
    Lossy,
    /// A video frame of `stream`; `keyframe` frames start a decodable run.
    Video {
        /// The stream the frame belongs to.
        stream: StreamKey,
        /// Whether decoding can start at this frame.
        keyframe: bool,
    },
}

/// Why a packet was dropped for one receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// A video frame after a loss and before the stream's next key frame.
    VideoUntilKeyframe,
    /// A video frame that did not fit in the video lane.
    VideoQueueFull,
    /// The oldest lossy packet, pushed out by a new one.
    LossyOldest,
    /// A key-exchange packet from a sender over its share of the receiver's queue.
    PeerControlFlood,
    /// The oldest round-trip probe waiting to go back to its sender, pushed out by a new one.
    EchoOldest,
}

impl DropReason {
    /// Every reason, for metrics.
    pub const ALL: [DropReason; 5] = [
        Self::VideoUntilKeyframe,
        Self::VideoQueueFull,
        Self::LossyOldest,
        Self::PeerControlFlood,
        Self::EchoOldest,
    ];

    /// A stable metrics label.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::VideoUntilKeyframe => "video_until_keyframe",
            Self::VideoQueueFull => "video_queue_full",
            Self::LossyOldest => "lossy_oldest",
            Self::PeerControlFlood => "peer_control_flood",
            Self::EchoOldest => "echo_oldest",
        }
    }
}

/// What happened to a pushed packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Push {
    /// Queued for the receiver.
    Queued,
    /// Dropped for this receiver, and maybe the sender should send a key frame.
    Dropped {
        /// Why.
        reason: DropReason,
        /// Ask this stream's sender for a key frame.
        keyframe_request: Option<StreamKey>,
    },
    /// Queued, after dropping the oldest packet of its lane (lossy or echo).
    QueuedDroppingOldest(DropReason),
    /// The receiver cannot keep up and must be disconnected.
    Disconnect,
}

#[derive(Debug, Default)]
struct Lane {
    packets: VecDeque<Bytes>,
    bytes: usize,
}

impl Lane {
    fn push(&mut self, packet: Bytes) {
        self.bytes += packet.len();
        self.packets.push_back(packet);
    }

    fn pop(&mut self) -> Option<Bytes> {
        let packet = self.packets.pop_front()?;
        self.bytes -= packet.len();
        Some(packet)
    }

    fn fits(&self, len: usize, max_packets: usize, max_bytes: usize) -> bool {
        self.packets.len() < max_packets && self.bytes + len <= max_bytes
    }

    /// Queues `packet`, dropping the oldest packets until it fits in `max` (packets, bytes); a
    /// packet larger than the whole lane is dropped itself, and the lane is left as it was.
    /// Drops are reported as `reason`.
    fn push_dropping_oldest(
        &mut self,
        packet: Bytes,
        (max_packets, max_bytes): (usize, usize),
        reason: DropReason,
    ) -> Push {
        if packet.len() > max_bytes || max_packets == 0 {
            // It can never be queued; emptying the lane first would only lose the others too.
            return Push::Dropped { reason, keyframe_request: None };
        }
        let mut dropped = false;
        while !self.fits(packet.len(), max_packets, max_bytes) && self.pop().is_some() {
            dropped = true;
        }
        self.push(packet);
        if dropped { Push::QueuedDroppingOldest(reason) } else { Push::Queued }
    }
}

/// Key-exchange packets from other participants, with what each sender has waiting.
#[derive(Debug, Default)]
struct PeerLane {
    packets: VecDeque<(SessionId, Bytes)>,
    bytes: usize,
    /// Packets and bytes waiting per sender; a sender leaves the map when it has none waiting.
    per_sender: HashMap<SessionId, (usize, usize)>,
}

impl PeerLane {
    fn push(&mut self, sender: SessionId, packet: Bytes, limits: &OutboxLimits) -> Push {
        let (count, bytes) = self.per_sender.get(&sender).copied().unwrap_or((0, 0));
        let len = packet.len();
        if count >= limits.peer_control_packets
            || bytes + len > limits.peer_control_bytes
            || self.bytes + len > limits.peer_control_total_bytes
        {
            return Push::Dropped { reason: DropReason::PeerControlFlood, keyframe_request: None };
        }
        self.per_sender.insert(sender, (count + 1, bytes + len));
        self.bytes += len;
        self.packets.push_back((sender, packet));
        Push::Queued
    }

    fn pop(&mut self) -> Option<Bytes> {
        let (sender, packet) = self.packets.pop_front()?;
        self.bytes -= packet.len();
        if let Entry::Occupied(mut waiting) = self.per_sender.entry(sender) {
            let (count, bytes) = waiting.get_mut();
            *count -= 1;
            *bytes -= packet.len();
            if *count == 0 {
                waiting.remove();
            }
        }
        Some(packet)
    }
}

/// What a presence notice says about a participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// The participant joined (or is present).
    Joined,
    /// The participant left.
    Left,
}

/// Presence notices waiting for one receiver: a participant's latest unsent notice, in the
/// order the participants first had one queued. A pair that cancels out (joined then left, or
/// left then joined again before either was sent) leaves nothing, so the lane never holds more
/// than one notice per participant however fast a big room churns.
#[derive(Debug, Default)]
struct Notices {
    waiting: HashMap<SessionId, Waiting>,
    /// Queue order; entries whose `seq` no longer matches `waiting` were cancelled or replaced.
    order: VecDeque<(SessionId, u64)>,
    next_seq: u64,
    bytes: usize,
}

#[derive(Debug)]
struct Waiting {
    seq: u64,
    notice: Notice,
    packet: Bytes,
}

impl Notices {
    fn push(&mut self, about: SessionId, notice: Notice, packet: Bytes) {
        match self.waiting.entry(about) {
            Entry::Occupied(waiting) if waiting.get().notice != notice => {
                // The receiver has not been told the first half yet: tell it nothing.
                self.bytes -= waiting.remove().packet.len();
            }
            Entry::Occupied(mut waiting) => {
                // Said again (a renewed announcement): keep the place, send the latest.
                self.bytes += packet.len();
                self.bytes -= std::mem::replace(&mut waiting.get_mut().packet, packet).len();
            }
            Entry::Vacant(slot) => {
                let seq = self.next_seq;
                self.next_seq += 1;
                self.bytes += packet.len();
                slot.insert(Waiting { seq, notice, packet });
                self.order.push_back((about, seq));
            }
        }
        // Cancelled entries stay in `order` until popped; compact before they dominate it.
        if self.order.len() > 2 * self.waiting.len() + 64 {
            let waiting = &self.waiting;
            self.order.retain(|(about, seq)| waiting.get(about).is_some_and(|w| w.seq == *seq));
        }
    }

    fn pop(&mut self) -> Option<Bytes> {
        while let Some((about, seq)) = self.order.pop_front() {
            if let Entry::Occupied(waiting) = self.waiting.entry(about)
                && waiting.get().seq == seq
            {
                let packet = waiting.remove().packet;
                self.bytes -= packet.len();
                return Some(packet);
            }
        }
        None
    }

    fn len(&self) -> usize {
        self.waiting.len()
    }
}

#[derive(Debug, Clone, Copy)]
enum StreamState {
    /// Frames flow.
    Flowing,
    /// Waiting for a key frame; a key frame was last requested then (never, if `None`).
    Skipping { last_request: Option<Instant> },
}

/// One receiver's queue. See the module docs for the policy.
#[derive(Debug)]
pub struct Outbox {
    limits: OutboxLimits,
    control: Lane,
    peer_control: PeerLane,
    notices: Notices,
    echo: Lane,
    /// Whether the last packet taken was an echo (media goes next, see the module docs).
    echo_went_last: bool,
    lossy: Lane,
    video: Lane,
    streams: HashMap<StreamKey, StreamState>,
    /// When the queue last became non-empty or last made progress; `None` while empty.
    busy_since: Option<Instant>,
}

impl Outbox {
    /// An empty queue.
    pub fn new(limits: OutboxLimits) -> Self {
        Self {
            limits,
            control: Lane::default(),
            peer_control: PeerLane::default(),
            notices: Notices::default(),
            echo: Lane::default(),
            echo_went_last: false,
            lossy: Lane::default(),
            video: Lane::default(),
            streams: HashMap::new(),
            busy_since: None,
        }
    }

    /// Queues `packet` according to `class` (see the module docs).
    pub fn push(&mut self, class: Class, packet: Bytes, now: Instant) -> Push {
        if self.is_stalled(now) {
            return Push::Disconnect;
        }
        let limits = self.limits;
        let outcome = match class {
            Class::Control => self.push_control(packet),
            Class::PeerControl { sender } => self.peer_control.push(sender, packet, &self.limits),
            Class::Echo => {
                let max = (limits.echo_packets, limits.echo_bytes);
                self.echo.push_dropping_oldest(packet, max, DropReason::EchoOldest)
            }
            Class::Lossy => {
                let max = (limits.lossy_packets, limits.lossy_bytes);
                self.lossy.push_dropping_oldest(packet, max, DropReason::LossyOldest)
            }
            Class::Video { stream, keyframe } => self.push_video(stream, keyframe, packet, now),
        };
        if matches!(outcome, Push::Queued | Push::QueuedDroppingOldest(_)) {
            self.busy_since.get_or_insert(now);
        }
        outcome
    }

    /// Queues a notice that the participant `about` joined or left, as the encoded `packet`;
    /// cancels a waiting opposite notice about them instead (see the module docs). Never
    /// drops: it only disconnects a receiver that has stalled.
    pub fn push_notice(
        &mut self,
        about: SessionId,
        notice: Notice,
        packet: Bytes,
        now: Instant,
    ) -> Push {
        if self.is_stalled(now) {
            return Push::Disconnect;
        }
        self.notices.push(about, notice, packet);
        if self.is_empty() {
            self.busy_since = None;
        } else {
            self.busy_since.get_or_insert(now);
        }
        Push::Queued
    }

    /// Takes the next packet to send: control first, then key exchange, then presence notices,
    /// then echoes taking turns with media (lossy, then video).
    pub fn pop(&mut self, now: Instant) -> Option<Bytes> {
        let packet = self
            .control
            .pop()
            .or_else(|| self.peer_control.pop())
            .or_else(|| self.notices.pop())
            .or_else(|| self.pop_echo_or_media());
        self.busy_since = (!self.is_empty()).then_some(now);
        packet
    }

    fn pop_echo_or_media(&mut self) -> Option<Bytes> {
        let media_waiting = !self.lossy.packets.is_empty() || !self.video.packets.is_empty();
        if !(self.echo_went_last && media_waiting)
            && let Some(echo) = self.echo.pop()
        {
            self.echo_went_last = true;
            return Some(echo);
        }
        self.echo_went_last = false;
        self.lossy.pop().or_else(|| self.video.pop())
    }

    /// Number of packets waiting.
    pub fn len(&self) -> usize {
        self.control.packets.len()
            + self.peer_control.packets.len()
            + self.notices.len()
            + self.echo.packets.len()
            + self.lossy.packets.len()
            + self.video.packets.len()
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes waiting.
    pub fn bytes(&self) -> usize {
        self.control.bytes
            + self.peer_control.bytes
            + self.notices.bytes
            + self.echo.bytes
            + self.lossy.bytes
            + self.video.bytes
    }

    /// Forgets the stream state of a sender that left.
    pub fn forget_sender(&mut self, sender: SessionId) {
        self.streams.retain(|key, _| key.sender != sender);
    }

    /// Whether packets have waited longer than `stall_timeout` without any being taken: the
    /// receiver stopped reading. Pushes check it; a writer that is not the one polling the queue
    /// checks it too, for a quiet room where no push comes.
    pub fn is_stalled(&self, now: Instant) -> bool {
        self.busy_since
            .is_some_and(|since| now.saturating_duration_since(since) > self.limits.stall_timeout)
    }

    fn push_control(&mut self, packet: Bytes) -> Push {
        if !self.control.fits(packet.len(), self.limits.control_packets, self.limits.control_bytes)
        {
            return Push::Disconnect;
        }
        self.control.push(packet);
        Push::Queued
    }

    fn push_video(
        &mut self,
        stream: StreamKey,
        keyframe: bool,
        packet: Bytes,
        now: Instant,
    ) -> Push {
        // A stream seen for the first time starts skipped: deltas before a key frame are useless.
        let state =
            self.streams.entry(stream).or_insert(StreamState::Skipping { last_request: None });
        let fits =
            self.video.fits(packet.len(), self.limits.video_packets, self.limits.video_bytes);
        let flowing = matches!(state, StreamState::Flowing);
        if (flowing || keyframe) && fits {
            *state = StreamState::Flowing;
            self.video.push(packet);
            return Push::Queued;
        }
        let last_request = match *state {
            StreamState::Flowing => None,
            StreamState::Skipping { last_request } => last_request,
        };
        if !fits {
            // The receiver is behind: a key frame now would not fit either, and asking every
            // sender for one (each time the lane is full) would flood the room with key frames
            // because of one slow reader. Ask once the lane has room again (next branch).
            *state = StreamState::Skipping { last_request };
            return Push::Dropped { reason: DropReason::VideoQueueFull, keyframe_request: None };
        }
        let interval = self.limits.keyframe_request_interval;
        let due = last_request.is_none_or(|at| now.saturating_duration_since(at) >= interval);
        *state = StreamState::Skipping { last_request: if due { Some(now) } else { last_request } };
        Push::Dropped {
            reason: DropReason::VideoUntilKeyframe,
            keyframe_request: due.then_some(stream),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn limits() -> OutboxLimits {
        OutboxLimits {
            control_packets: 2,
            control_bytes: 1000,
            peer_control_packets: 2,
            peer_control_bytes: 25,
            peer_control_total_bytes: 30,
            echo_packets: 2,
            echo_bytes: 100,
            lossy_packets: 3,
            lossy_bytes: 1000,
            video_packets: 3,
            video_bytes: 10_000,
            stall_timeout: Duration::from_secs(10),
            keyframe_request_interval: Duration::from_millis(500),
        }
    }

    fn stream(sender: u64) -> StreamKey {
        StreamKey { sender: SessionId::new(sender).unwrap(), media_type: 0 }
    }

    fn video(sender: u64, keyframe: bool) -> Class {
        Class::Video { stream: stream(sender), keyframe }
    }

    fn pkt(tag: u8) -> Bytes {
        Bytes::from(vec![tag; 10])
    }

    fn drain(outbox: &mut Outbox, now: Instant) -> Vec<u8> {
        std::iter::from_fn(|| outbox.pop(now)).map(|p| p[0]).collect()
    }

    #[test]
    fn deltas_before_the_first_keyframe_are_skipped_and_a_keyframe_is_requested() {
        let now = Instant::now();
        let mut q = Outbox::new(limits());
        let first = q.push(video(1, false), pkt(1), now);
        assert_eq!(
            first,
            Push::Dropped {
                reason: DropReason::VideoUntilKeyframe,
                keyframe_request: Some(stream(1))
            }
        );
        // Asked once per interval, not per frame.
        assert_eq!(
            q.push(video(1, false), pkt(2), now),
            Push::Dropped { reason: DropReason::VideoUntilKeyframe, keyframe_request: None }
        );
        assert_eq!(q.push(video(1, true), pkt(3), now), Push::Queued);
        assert_eq!(q.push(video(1, false), pkt(4), now), Push::Queued);
        assert_eq!(drain(&mut q, now), [3, 4]);
    }

    #[test]
    fn a_full_video_lane_skips_that_stream_until_its_next_keyframe() {
        let t0 = Instant::now();
        let mut q = Outbox::new(limits());
        q.push(video(1, true), pkt(1), t0);
        q.push(video(1, false), pkt(2), t0);
        q.push(video(2, true), pkt(3), t0);
        // Full: no key frame request yet, it could not be delivered.
        assert_eq!(
            q.push(video(1, false), pkt(4), t0),
            Push::Dropped { reason: DropReason::VideoQueueFull, keyframe_request: None }
        );
        assert_eq!(drain(&mut q, t0), [1, 2, 3]);
        // Room again: stream 1 waits for a key frame and asks for one now; stream 2 flows.
        let t1 = t0 + Duration::from_millis(100);
        assert_eq!(
            q.push(video(1, false), pkt(5), t1),
            Push::Dropped {
                reason: DropReason::VideoUntilKeyframe,
                keyframe_request: Some(stream(1))
            }
        );
        assert_eq!(q.push(video(2, false), pkt(6), t1), Push::Queued);
        let t2 = t1 + Duration::from_millis(600);
        assert!(matches!(
            q.push(video(1, false), pkt(7), t2),
            Push::Dropped { keyframe_request: Some(_), .. }
        ));
        assert_eq!(q.push(video(1, true), pkt(8), t2), Push::Queued);
        assert_eq!(drain(&mut q, t2), [6, 8]);
    }

    #[test]
    fn lossy_lane_drops_the_oldest() {
        let now = Instant::now();
        let mut q = Outbox::new(limits());
        for tag in 1..=3 {
            assert_eq!(q.push(Class::Lossy, pkt(tag), now), Push::Queued);
        }
        assert_eq!(
            q.push(Class::Lossy, pkt(4), now),
            Push::QueuedDroppingOldest(DropReason::LossyOldest)
        );
        assert_eq!(drain(&mut q, now), [2, 3, 4]);
        let huge = Bytes::from(vec![9; 2000]);
        assert!(matches!(q.push(Class::Lossy, huge, now), Push::Dropped { .. }));
    }

    #[test]
    fn control_is_never_dropped_a_full_lane_disconnects() {
        let now = Instant::now();
        let mut q = Outbox::new(limits());
        assert_eq!(q.push(Class::Control, pkt(1), now), Push::Queued);
        assert_eq!(q.push(Class::Control, pkt(2), now), Push::Queued);
        assert_eq!(q.push(Class::Control, pkt(3), now), Push::Disconnect);
        assert_eq!(drain(&mut q, now), [1, 2]);
    }

    #[test]
    fn one_senders_key_exchange_flood_is_dropped_not_a_disconnect() {
        let now = Instant::now();
        let mut q = Outbox::new(limits());
        let from = |n| Class::PeerControl { sender: sid(n) };
        assert_eq!(q.push(from(1), pkt(1), now), Push::Queued);
        assert_eq!(q.push(from(1), pkt(2), now), Push::Queued);
        // Sender 1 is at its share: its next packet goes, the receiver stays.
        let flood = Push::Dropped { reason: DropReason::PeerControlFlood, keyframe_request: None };
        assert_eq!(q.push(from(1), pkt(3), now), flood);
        // Others still get through, up to the lane's total.
        assert_eq!(q.push(from(2), pkt(4), now), Push::Queued);
        assert_eq!(q.push(from(3), pkt(5), now), flood);
        assert_eq!(drain(&mut q, now), [1, 2, 4]);
        // Sent packets free the sender's share.
        assert_eq!(q.push(from(1), pkt(6), now), Push::Queued);
        assert!(q.peer_control.per_sender.len() == 1 && q.bytes() == 10);
    }

    #[test]
    fn echoes_and_media_take_turns_so_neither_starves_the_other() {
        let now = Instant::now();
        let mut q = Outbox::new(limits());
        q.push(Class::Lossy, pkt(1), now);
        q.push(Class::Lossy, pkt(2), now);
        q.push(video(1, true), pkt(3), now);
        q.push(Class::Echo, pkt(4), now);
        q.push(Class::Echo, pkt(5), now);
        q.push(Class::Control, pkt(6), now);
        assert_eq!(drain(&mut q, now), [6, 4, 1, 5, 2, 3]);
        // With no media waiting, echoes go one after another.
        q.push(Class::Echo, pkt(7), now);
        q.push(Class::Echo, pkt(8), now);
        assert_eq!(drain(&mut q, now), [7, 8]);
        assert_eq!((q.len(), q.bytes()), (0, 0));
    }

    #[test]
    fn a_full_echo_lane_drops_the_oldest_probe() {
        let now = Instant::now();
        let mut q = Outbox::new(limits());
        assert_eq!(q.push(Class::Echo, pkt(1), now), Push::Queued);
        assert_eq!(q.push(Class::Echo, pkt(2), now), Push::Queued);
        assert_eq!(
            q.push(Class::Echo, pkt(3), now),
            Push::QueuedDroppingOldest(DropReason::EchoOldest)
        );
        // Larger than the whole lane (100 bytes here): never queued, nothing else dropped.
        assert_eq!(
            q.push(Class::Echo, Bytes::from(vec![9; 101]), now),
            Push::Dropped { reason: DropReason::EchoOldest, keyframe_request: None }
        );
        assert_eq!(drain(&mut q, now), [2, 3]);
    }

    #[test]
    fn a_huge_control_packet_disconnects_rather_than_queue_without_bound() {
        let now = Instant::now();
        let mut q = Outbox::new(limits());
        assert_eq!(q.push(Class::Control, Bytes::from(vec![0; 2000]), now), Push::Disconnect);
    }

    #[test]
    fn control_goes_first_then_key_exchange_then_lossy_then_video() {
        let now = Instant::now();
        let mut q = Outbox::new(limits());
        q.push(video(1, true), pkt(1), now);
        q.push(Class::Lossy, pkt(2), now);
        q.push(Class::PeerControl { sender: sid(5) }, pkt(4), now);
        q.push(Class::Control, pkt(3), now);
        assert_eq!(drain(&mut q, now), [3, 4, 2, 1]);
        assert_eq!((q.len(), q.bytes()), (0, 0));
    }

    fn sid(n: u64) -> SessionId {
        SessionId::new(n).unwrap()
    }

    #[test]
    fn notices_go_after_control_and_before_media_in_the_order_they_came() {
        let now = Instant::now();
        let mut q = Outbox::new(limits());
        q.push(Class::Lossy, pkt(1), now);
        q.push_notice(sid(7), Notice::Joined, pkt(2), now);
        q.push_notice(sid(8), Notice::Joined, pkt(3), now);
        q.push(Class::Control, pkt(4), now);
        q.push_notice(sid(9), Notice::Left, pkt(5), now);
        assert_eq!((q.len(), q.bytes()), (5, 50));
        assert_eq!(drain(&mut q, now), [4, 2, 3, 5, 1]);
        assert_eq!((q.len(), q.bytes()), (0, 0));
    }

    #[test]
    fn a_notice_that_undoes_a_waiting_one_cancels_it() {
        let now = Instant::now();
        let mut q = Outbox::new(limits());
        q.push_notice(sid(1), Notice::Joined, pkt(1), now);
        q.push_notice(sid(2), Notice::Left, pkt(2), now);
        q.push_notice(sid(1), Notice::Left, pkt(3), now);
        q.push_notice(sid(2), Notice::Joined, pkt(4), now);
        assert!(q.is_empty());
        assert_eq!(q.bytes(), 0);
        assert_eq!(q.pop(now), None);
        // Said twice: one notice, in the first one's place, with the latest bytes.
        q.push_notice(sid(3), Notice::Joined, pkt(5), now);
        q.push_notice(sid(4), Notice::Joined, pkt(6), now);
        q.push_notice(sid(3), Notice::Joined, pkt(7), now);
        assert_eq!(drain(&mut q, now), [7, 6]);
        // Once sent, the opposite notice is news again.
        q.push_notice(sid(3), Notice::Left, pkt(8), now);
        assert_eq!(drain(&mut q, now), [8]);
    }

    #[test]
    fn churn_in_a_big_room_never_outgrows_one_notice_per_participant() {
        let now = Instant::now();
        let mut q = Outbox::new(limits());
        // Far more than the control lane holds (2 here), with no reader at all.
        for round in 0..50u8 {
            for n in 1..=100 {
                q.push_notice(sid(n), Notice::Joined, pkt(round), now);
                if n % 2 == 0 {
                    q.push_notice(sid(n), Notice::Left, pkt(round), now);
                }
            }
            assert!(q.notices.order.len() <= 2 * q.notices.len() + 64 + 1);
        }
        assert_eq!(q.len(), 50);
        let sent = std::iter::from_fn(|| q.pop(now)).count();
        assert_eq!(sent, 50);
    }

    #[test]
    fn waiting_notices_count_as_work_for_the_stall_timer() {
        let t0 = Instant::now();
        let mut q = Outbox::new(limits());
        q.push_notice(sid(1), Notice::Joined, pkt(1), t0);
        let late = t0 + Duration::from_secs(11);
        assert_eq!(q.push_notice(sid(2), Notice::Joined, pkt(2), late), Push::Disconnect);
        // A cancelled notice leaves nothing waiting, so nothing to stall on.
        let mut q = Outbox::new(limits());
        q.push_notice(sid(1), Notice::Joined, pkt(1), t0);
        q.push_notice(sid(1), Notice::Left, pkt(2), t0);
        assert_eq!(q.push(Class::Lossy, pkt(3), late), Push::Queued);
    }

    #[test]
    fn a_receiver_that_takes_nothing_for_too_long_is_disconnected() {
        let t0 = Instant::now();
        let mut q = Outbox::new(limits());
        q.push(Class::Lossy, pkt(1), t0);
        assert_eq!(q.push(Class::Lossy, pkt(2), t0 + Duration::from_secs(9)), Push::Queued);
        q.pop(t0 + Duration::from_secs(9));
        // Progress resets the clock.
        assert_eq!(q.push(Class::Lossy, pkt(3), t0 + Duration::from_secs(18)), Push::Queued);
        assert_eq!(q.push(Class::Lossy, pkt(4), t0 + Duration::from_secs(20)), Push::Disconnect);
    }

    #[test]
    fn an_idle_receiver_is_not_stalled() {
        let t0 = Instant::now();
        let mut q = Outbox::new(limits());
        q.push(Class::Lossy, pkt(1), t0);
        q.pop(t0);
        assert_eq!(q.push(Class::Lossy, pkt(2), t0 + Duration::from_secs(60)), Push::Queued);
    }
}
