//! The loops every transport runs for one connection: client packets into the session, session
//! output to the client, until one side ends. Transports only translate frames.
//!
//! Two shapes of writer share one reader: [`serve`] runs the writer as a future beside the
//! reader (WebTransport: one stream per packet); a transport whose socket is written by someone
//! else polling the [`Receiver`] (the WebSocket response body, written by the HTTP server) runs
//! only [`read`], which also watches that writer for stalls and for the relay closing the
//! session.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use tokio::time::Instant;
use videocall_types::CloseReason;

use crate::relay::{Receiver, Session};

/// How long the last words (a `ServerError` and the close) may take before giving up.
const FAREWELL_TIMEOUT: Duration = Duration::from_secs(1);

/// Most packets the writer takes from the session's queue at once. They are written one after
/// the other under one stall timer; taking them together saves a lock, a wake-up and a timer per
/// packet when a receiver has several waiting (a busy room).
const WRITE_BATCH: usize = 64;

/// Something a transport received from the client.
#[derive(Debug)]
pub enum Incoming {
    /// One serialized `PacketWrapper`.
    Packet(Bytes),
    /// Proof of life without a packet (a WebSocket pong or ping).
    Alive,
    /// The transport refused what the client sent (an oversized or text frame).
    Refused(CloseReason),
}

/// The sending half of a transport that is written packet by packet.
pub trait Outgoing: Send {
    /// Sends one packet; an error means the connection is gone.
    fn send(&mut self, packet: Bytes) -> impl Future<Output = Result<(), ()>> + Send;
    /// Sends every packet of `batch` in order, emptying it; an error means the connection is
    /// gone. A transport that can write several packets at once (several on one WebTransport
    /// stream) overrides this; by default it is [`Outgoing::send`] per packet.
    fn send_batch(
        &mut self,
        batch: &mut Vec<Bytes>,
    ) -> impl Future<Output = Result<(), ()>> + Send {
        async move {
            for packet in batch.drain(..) {
                self.send(packet).await?;
            }
            Ok(())
        }
    }
    /// Sends a keep-alive probe, where the transport has one.
    fn ping(&mut self) -> impl Future<Output = Result<(), ()>> + Send;
    /// Closes the connection with `reason`.
    fn close(self, reason: CloseReason) -> impl Future<Output = ()> + Send;
}

/// Timers of the connection loop.
#[derive(Debug, Clone, Copy)]
pub struct Keepalive {
    /// How often to ping the client (`None`: the transport keeps itself alive).
    pub ping_interval: Option<Duration>,
    /// Close a client that sent nothing, not even a pong, for this long.
    pub idle_timeout: Duration,
}

/// What [`read`] watches besides the client's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watch {
    /// Only the client: the writer runs beside the reader and reports its own end.
    Reader,
    /// Also the writer, which runs elsewhere: packets waiting longer than the stall timeout
    /// close the session as a slow receiver, and so does the relay closing it.
    Writer,
}

/// Reads the client's input into the session until the client leaves, breaks a rule or stays
/// silent for `idle_timeout` (or, with [`Watch::Writer`], until the writer stalls or the relay
/// closes the session); returns why.
///
/// Time is checked lazily: one timer per connection, re-armed only when it fires, rather than a
/// timer per packet. A client is therefore closed between `idle_timeout` and 1.25 ×
/// `idle_timeout` after its last input, and a stalled writer within a quarter of the stall
/// timeout after it ran out.
pub async fn read<I>(
    session: &mut Session,
    incoming: &mut I,
    idle_timeout: Duration,
    watch: Watch,
) -> CloseReason
where
    I: Stream<Item = Incoming> + Unpin,
{
    let receiver = session.receiver();
    let mut check_every = idle_timeout / 4;
    if watch == Watch::Writer {
        check_every = check_every.min(receiver.stall_timeout() / 4);
    }
    let check_every = check_every.max(Duration::from_millis(1));
    let mut last_input = Instant::now();
    let mut input_since_check = false;
    let timer = tokio::time::sleep(check_every);
    tokio::pin!(timer);
    loop {
        tokio::select! {
            item = incoming.next() => {
                input_since_check = true;
                let handled = match item {
                    None => return CloseReason::Normal,
                    Some(Incoming::Packet(packet)) => session.handle_packet(&packet),
                    Some(Incoming::Alive) => session.handle_keepalive(),
                    Some(Incoming::Refused(reason)) => Err(reason),
                };
                if let Err(reason) = handled {
                    return reason;
                }
            }
            () = &mut timer => {
                let now = Instant::now();
                if std::mem::take(&mut input_since_check) {
                    last_input = now;
                } else if now.duration_since(last_input) >= idle_timeout {
                    return CloseReason::Timeout;
                }
                if watch == Watch::Writer {
                    if let Some(reason) = receiver.closed() {
                        return reason;
                    }
                    if receiver.stalled() {
                        return CloseReason::SlowReceiver;
                    }
                }
                timer.as_mut().reset(now + check_every);
            }
        }
    }
}

/// Runs one connection whose writer sends packet by packet, until the client leaves, breaks a
/// rule, falls behind, or the server shuts down; returns why it ended. Reading and writing
/// proceed independently, so a client that reads slowly never delays what it sends, and vice
/// versa.
pub async fn serve<I, O>(
    mut session: Session,
    mut incoming: I,
    mut outgoing: O,
    keepalive: Keepalive,
) -> CloseReason
where
    I: Stream<Item = Incoming> + Unpin,
    O: Outgoing,
{
    let receiver = session.receiver();
    let reason = {
        let writer = write(&receiver, &mut outgoing, keepalive.ping_interval);
        let reader = read(&mut session, &mut incoming, keepalive.idle_timeout, Watch::Reader);
        tokio::select! {
            reason = writer => reason,
            reason = reader => reason,
        }
    };
    session.close(reason);
    drop(session);
    let reason = receiver.closed().unwrap_or(reason);
    let last_words = async {
        if let Some(packet) = receiver.last_words(reason) {
            let _ = outgoing.send(packet).await;
        }
        outgoing.close(reason).await;
    };
    let _ = tokio::time::timeout(FAREWELL_TIMEOUT, last_words).await;
    reason
}

/// Sends the session's packets in batches, pinging on schedule, until the session is closed or
/// the client stops taking packets for the stall timeout.
async fn write<O: Outgoing>(
    receiver: &Receiver,
    outgoing: &mut O,
    ping_interval: Option<Duration>,
) -> CloseReason {
    let mut ping = ping_interval.map(|every| {
        let mut timer = tokio::time::interval_at(Instant::now() + every, every);
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        timer
    });
    let mut batch = Vec::with_capacity(WRITE_BATCH);
    loop {
        let tick = async {
            match ping.as_mut() {
                Some(timer) => timer.tick().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            next = receiver.next_batch(&mut batch, WRITE_BATCH) => {
                if let Err(reason) = next {
                    return reason;
                }
                // A batch that cannot be written in time means the client stopped reading.
                let write = outgoing.send_batch(&mut batch);
                match tokio::time::timeout(receiver.stall_timeout(), write).await {
                    Err(_) => return CloseReason::SlowReceiver,
                    Ok(Err(())) => return CloseReason::Normal,
                    Ok(Ok(())) => {}
                }
            }
            _ = tick => {
                if outgoing.ping().await.is_err() {
                    return CloseReason::Normal;
                }
            }
        }
    }
}
