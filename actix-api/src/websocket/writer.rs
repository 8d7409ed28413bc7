//! The WebSocket's sending half: the body of the `101` response, which the HTTP server writes to
//! the socket. It takes the session's queued packets straight from the relay, in batches, and
//! yields each as a frame header plus the packet itself. The server copies what it is handed
//! into its write buffer until the body has nothing more (or 32 KiB are waiting) and then writes
//! once, so a receiver that has several packets waiting gets them in one `write`, without a
//! task, a channel hop or an extra copy per packet in between.
//!
//! Packets that arrive within the write interval (`WS_WRITE_INTERVAL_MICROS`, 500 µs) of the
//! first one waiting join the same write. In a busy room that turns several `write`s, each
//! costing more than the packets it carries, into one: measured, 40% less CPU and a third fewer
//! syscalls per delivered message (BENCHMARKS.md). A batch of 32 KiB or 64 packets goes at once.
//! The runtime's timers tick in whole milliseconds, so a packet waits 0.5–1.5 ms at most; 0
//! turns the hold off (every batch is written as soon as it is there).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use actix_http::ws::OpCode;
use actix_web::body::{BodySize, MessageBody};
use bytes::{Bytes, BytesMut};
use futures::task::AtomicWaker;
use tokio::time::{Instant, Interval, MissedTickBehavior, Sleep};
use videocall_relay::Receiver;

use super::frame;

/// Most packets taken from the relay's queue per write. Bounds the frame headers encoded ahead
/// of the socket; the server asks again as soon as it has written.
const BATCH: usize = 64;

/// Bytes of packets that are written at once, without waiting for the write interval: as much
/// as the server's write buffer takes before it writes anyway.
const FLUSH_BYTES: usize = 32 * 1024;

/// The answer to the client's latest ping, handed from the reading half to the writer.
#[derive(Debug, Default)]
pub(crate) struct Pong {
    payload: Mutex<Option<Bytes>>,
    writer: AtomicWaker,
}

impl Pong {
    /// Answers a ping; an answer not yet sent is replaced (RFC 6455 §5.5.3 asks only for the
    /// latest).
    pub(crate) fn answer(&self, payload: Bytes) {
        *self.payload.lock().unwrap_or_else(PoisonError::into_inner) = Some(payload);
        self.writer.wake();
    }

    fn poll_take(&self, cx: &mut Context<'_>) -> Option<Bytes> {
        self.writer.register(cx.waker());
        self.payload.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// The response body that writes one session's packets (see the module docs).
pub(crate) struct Writer {
    receiver: Receiver,
    pong: Arc<Pong>,
    ping: Option<Interval>,
    /// Packets taken from the relay, reused between batches.
    batch: Vec<Bytes>,
    /// Headers of the frames of the current batch, split off one by one.
    headers: BytesMut,
    /// What to hand the server next, in order.
    ready: VecDeque<Bytes>,
    /// Bytes of the packets in `batch`.
    batch_bytes: usize,
    /// The close frame has been queued: end the body once `ready` is empty.
    closing: bool,
    /// How long the first waiting packet holds the write for others to join it.
    interval: Duration,
    /// Wakes the writer when the waiting batch has waited `interval`.
    hold: Pin<Box<Sleep>>,
    /// Whether `hold` is armed for the waiting batch.
    holding: bool,
}

impl Writer {
    /// A writer for `receiver`'s packets that pings every `ping_every` and holds each write up
    /// to `interval` for more packets to join it.
    pub(crate) fn new(
        receiver: Receiver,
        pong: Arc<Pong>,
        ping_every: Option<Duration>,
        interval: Duration,
    ) -> Self {
        let ping = ping_every.map(|every| {
            let mut timer = tokio::time::interval_at(Instant::now() + every, every);
            timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
            timer
        });
        Self {
            receiver,
            pong,
            ping,
            batch: Vec::with_capacity(BATCH),
            headers: BytesMut::new(),
            ready: VecDeque::with_capacity(2 * BATCH),
            batch_bytes: 0,
            closing: false,
            interval,
            hold: Box::pin(tokio::time::sleep(Duration::ZERO)),
            holding: false,
        }
    }

    /// Queues the frames of the packets in `batch`.
    fn frame_batch(&mut self) {
        self.batch_bytes = 0;
        self.headers.reserve(self.batch.len() * frame::MAX_HEADER);
        for packet in self.batch.drain(..) {
            frame::put_header(&mut self.headers, OpCode::Binary, packet.len());
            self.ready.push_back(self.headers.split().freeze());
            self.ready.push_back(packet);
        }
    }

    /// Whether the waiting batch goes now: it is full, or it has waited the write interval.
    /// Otherwise the hold timer is armed to wake the writer when it has.
    fn may_write(&mut self, cx: &mut Context<'_>) -> bool {
        let full = self.batch.len() >= BATCH || self.batch_bytes >= FLUSH_BYTES;
        if !full && !self.interval.is_zero() {
            if !self.holding {
                self.hold.as_mut().reset(Instant::now() + self.interval);
                self.holding = true;
            }
            if self.hold.as_mut().poll(cx).is_pending() {
                return false;
            }
        }
        self.holding = false;
        true
    }

    /// Queues the last words for `reason` and the close frame.
    fn close(&mut self, reason: videocall_types::CloseReason) {
        if let Some(packet) = self.receiver.last_words(reason) {
            self.batch.push(packet);
            self.frame_batch();
        }
        self.ready.push_back(frame::close(reason.code(), reason.description()));
        self.closing = true;
    }
}

impl MessageBody for Writer {
    type Error = Infallible;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.get_mut();
        loop {
            if let Some(chunk) = this.ready.pop_front() {
                return Poll::Ready(Some(Ok(chunk)));
            }
            if this.closing {
                return Poll::Ready(None);
            }
            if let Some(payload) = this.pong.poll_take(cx) {
                this.ready.push_back(frame::control(OpCode::Pong, &payload));
                continue;
            }
            if let Some(timer) = this.ping.as_mut()
                && timer.poll_tick(cx).is_ready()
            {
                this.ready.push_back(frame::control(OpCode::Ping, b""));
                continue;
            }
            let before = this.batch.len();
            match this.receiver.poll_batch(cx, &mut this.batch, BATCH) {
                Poll::Ready(Err(reason)) => {
                    // What is still queued is not sent.
                    this.batch.clear();
                    this.close(reason);
                    continue;
                }
                Poll::Ready(Ok(())) => {
                    this.batch_bytes += this.batch[before..].iter().map(Bytes::len).sum::<usize>();
                }
                Poll::Pending => {}
            }
            if this.batch.is_empty() || !this.may_write(cx) {
                return Poll::Pending;
            }
            this.frame_batch();
        }
    }
}
