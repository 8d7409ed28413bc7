//! The loop every transport runs for one connection: client packets into the session, session
//! output to the client, until one side ends. Transports only translate frames.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use videocall_types::CloseReason;

use crate::relay::Session;

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

/// The sending half of a transport.
pub trait Outgoing: Send {
    /// Sends one packet; an error means the connection is gone.
    fn send(&mut self, packet: Bytes) -> impl Future<Output = Result<(), ()>> + Send;
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

/// Runs one connection until the client leaves, breaks a rule, falls behind, or the server
/// shuts down; returns why it ended. Reading and writing proceed independently, so a client
/// that reads slowly never delays what it sends, and vice versa.
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
        let writer = async {
            let mut ping = keepalive.ping_interval.map(|every| {
                let mut timer =
                    tokio::time::interval_at(tokio::time::Instant::now() + every, every);
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
                    next = receiver.next_batch(&mut batch, WRITE_BATCH) => match next {
                        Ok(()) => {
                            // A batch that cannot be written in time means the client stopped
                            // reading.
                            let write = async {
                                for packet in batch.drain(..) {
                                    outgoing.send(packet).await?;
                                }
                                Ok::<(), ()>(())
                            };
                            match tokio::time::timeout(receiver.stall_timeout(), write).await {
                                Err(_) => return CloseReason::SlowReceiver,
                                Ok(Err(())) => return CloseReason::Normal,
                                Ok(Ok(())) => {}
                            }
                        }
                        Err(reason) => return reason,
                    },
                    _ = tick => {
                        if outgoing.ping().await.is_err() {
                            return CloseReason::Normal;
                        }
                    }
                }
            }
        };
        let reader = async {
            loop {
                match tokio::time::timeout(keepalive.idle_timeout, incoming.next()).await {
                    Err(_) => return CloseReason::Timeout,
                    Ok(None) => return CloseReason::Normal,
                    Ok(Some(Incoming::Alive)) => {
                        if let Err(reason) = session.handle_keepalive() {
                            return reason;
                        }
                    }
                    Ok(Some(Incoming::Refused(reason))) => return reason,
                    Ok(Some(Incoming::Packet(packet))) => {
                        if let Err(reason) = session.handle_packet(&packet) {
                            return reason;
                        }
                    }
                }
            }
        };
        tokio::select! {
            reason = writer => reason,
            reason = reader => reason,
        }
    };
    let farewell = session.farewell(reason);
    let last_words = async {
        if let Some(packet) = farewell.filter(|_| reason != CloseReason::Normal) {
            let _ = outgoing.send(packet).await;
        }
        outgoing.close(reason).await;
    };
    let _ = tokio::time::timeout(FAREWELL_TIMEOUT, last_words).await;
    reason
}
