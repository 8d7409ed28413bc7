//! The connection loop, written once for every platform: generic over a [`Platform`] (clock,
//! timers, transports), it moves bytes, time and events between the [`Session`], the current
//! [`Link`], the handles and the application. It decides nothing itself: which endpoint to
//! try, when to retry and when to stop are the session's (see [`crate::dial`]).
//!
//! Wake-ups are the same everywhere: the loop sleeps until the session's next deadline
//! ([`Session::poll_timeout`]: the next heartbeat while connected, the end of a backoff delay,
//! a peer's expiry, a deferred key frame, the `Welcome` wait) or the connect timeout of an
//! attempt, and otherwise only wakes when a packet arrives, the application sends a packet or
//! closes the client. Nothing wakes it periodically.

use std::future::{Future, pending, poll_fn};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use videocall_types::CloseReason;

use crate::client::{self, ClientHandle, EventSender, Events, Shared};
use crate::dial::{ConnectFailure, Dial};
use crate::link::{Link, Platform, Received, Sent};
use crate::lobby::LobbyError;
use crate::options::{ClientOptions, Endpoint};
use crate::session::Session;
use crate::stats::Counter;

/// What a driver runs on, apart from its platform.
#[derive(Debug)]
pub(crate) struct Parts {
    session: Session,
    shared: Arc<Shared>,
    events: EventSender,
}

/// The handle, the event stream and the parts of a driver for `options`. Fails only when the
/// lobby URLs cannot be built.
pub(crate) fn prepare(
    options: &ClientOptions,
) -> Result<(ClientHandle, Events, Parts), LobbyError> {
    let shared = Arc::new(Shared::new(options.send_capacity));
    let session = Session::new(options, shared.counters.clone())?;
    let (events_tx, events) = client::event_channel(options.event_capacity, shared.clone());
    let handle = ClientHandle::new(shared.clone(), options.user.clone());
    Ok((handle, events, Parts { session, shared, events: events_tx }))
}

/// Runs a client on `platform` until the application closes it or the session gives up.
pub(crate) async fn run<P: Platform>(platform: P, parts: Parts) {
    let Parts { session, shared, events } = parts;
    let mut core = Core { session, shared, events };
    loop {
        core.flush().await;
        if core.shared.is_closed() {
            break;
        }
        match core.session.poll_dial(platform.now()) {
            Dial::Stop => break,
            Dial::Wait => core.idle(&platform).await,
            Dial::Connect { endpoint, timeout } => {
                if let Some(link) = core.connect(&platform, &endpoint, timeout).await {
                    core.run_link(&platform, link).await;
                }
            }
        }
    }
    core.session.handle_close(platform.now());
    core.shared.set_transport(None);
    core.flush().await;
    tracing::debug!("client driver finished");
}

/// How a connection ended.
enum Ended {
    /// The connection was lost, with the server's close code if it sent one.
    Lost(Option<u32>),
    /// The application closed the client, or every handle is gone.
    Closed,
}

/// What woke the loop; several at once are all handled.
struct Wake<T> {
    closed: bool,
    outgoing: Option<Vec<u8>>,
    io: Option<T>,
}

/// Everything the loop owns besides the platform (kept apart so that a pending connect, which
/// borrows the platform, and the session can be used together).
struct Core {
    session: Session,
    shared: Arc<Shared>,
    events: EventSender,
}

impl Core {
    /// Hands the session's events to the application (see the event queue's policy).
    async fn flush(&mut self) {
        while let Some(event) = self.session.poll_event() {
            self.events.deliver(event).await;
        }
    }

    /// Does the session's time-driven work if its deadline has come.
    fn tick(&mut self, now: Duration) {
        if self.session.poll_timeout().is_some_and(|deadline| deadline <= now) {
            self.session.handle_timeout(now);
        }
    }

    /// Counts a packet that will not be sent (no connection, or it just ended).
    fn discard(&self, packet: Option<Vec<u8>>) {
        if packet.is_some() {
            self.shared.counters.bump(Counter::DroppedOutgoing);
        }
    }

    /// Waits for one wake-up while not connected: the end of a backoff delay or another
    /// deadline, or the application. Packets sent meanwhile are discarded.
    async fn idle<P: Platform>(&mut self, platform: &P) {
        let deadline = self.session.poll_timeout();
        let wake = wait(platform, &self.shared, deadline, pin!(pending::<()>())).await;
        self.discard(wake.outgoing);
        self.tick(platform.now());
    }

    /// Tries `endpoint` until it connects, fails, times out, or the client is closed. A failure
    /// goes to the session, which decides what comes next.
    async fn connect<P: Platform>(
        &mut self,
        platform: &P,
        endpoint: &Endpoint,
        timeout: Duration,
    ) -> Option<P::Link> {
        tracing::debug!(transport = endpoint.kind.as_str(), url = %endpoint.url, "connecting");
        let deadline = platform.now() + timeout;
        let mut attempt = pin!(platform.connect(endpoint));
        loop {
            let wake_at = self.session.poll_timeout().map_or(deadline, |t| t.min(deadline));
            let wake = wait(platform, &self.shared, Some(wake_at), attempt.as_mut()).await;
            self.discard(wake.outgoing);
            let now = platform.now();
            let failure = match wake.io {
                Some(Ok(link)) if wake.closed => {
                    link.close(CloseReason::Normal).await;
                    return None;
                }
                Some(Ok(link)) => {
                    let kind = link.kind();
                    tracing::info!(transport = kind.as_str(), "connected");
                    self.session.handle_connected(kind, now);
                    self.shared.set_transport(Some(kind));
                    return Some(link);
                }
                Some(Err(failure)) => failure,
                None if wake.closed => return None,
                None if now >= deadline => {
                    ConnectFailure::new(format!("no connection after {timeout:?}"))
                }
                None => {
                    // A session deadline while the attempt goes on (a peer's expiry).
                    self.tick(now);
                    self.flush().await;
                    continue;
                }
            };
            let transport = endpoint.kind.as_str();
            tracing::info!(transport, error = %failure.error, "connect failed");
            self.session.handle_connect_failed(&failure, now);
            return None;
        }
    }

    /// Runs one established connection until it ends and tells the session how.
    async fn run_link<P: Platform>(&mut self, platform: &P, mut link: P::Link) {
        let ended = self.pump(platform, &mut link).await;
        self.shared.set_transport(None);
        // Packets still queued belong to a connection that is gone: stale media is useless.
        let discarded = self.shared.outgoing.clear();
        self.shared.counters.add(Counter::DroppedOutgoing, discarded);
        let transport = link.kind().as_str();
        match ended {
            Ended::Lost(code) => {
                let retry = self.session.handle_disconnected(code, platform.now());
                tracing::info!(transport, code, retry, "disconnected");
            }
            Ended::Closed => {
                link.close(CloseReason::Normal).await;
                self.session.handle_close(platform.now());
                tracing::info!(transport, "closed by the application");
            }
        }
    }

    /// Moves packets and heartbeats until the connection ends.
    async fn pump<P: Platform>(&mut self, platform: &P, link: &mut P::Link) -> Ended {
        loop {
            let now = platform.now();
            self.tick(now);
            let flags = self.shared.flags();
            match self.session.poll_heartbeat(now, flags, platform.unix_ms()) {
                Some(Ok(heartbeat)) => {
                    if let Some(ended) = transmit(&self.shared, link, heartbeat).await {
                        return ended;
                    }
                }
                Some(Err(error)) => tracing::error!(%error, "cannot encode a heartbeat"),
                None => {}
            }
            self.flush().await;
            let deadline = self.session.poll_timeout();
            let wake = wait(platform, &self.shared, deadline, pin!(link.recv())).await;
            if wake.closed {
                self.discard(wake.outgoing);
                return Ended::Closed;
            }
            match wake.io {
                Some(Received::Packet(bytes)) => {
                    if let Err(error) = self.session.handle_bytes(&bytes, platform.now()) {
                        tracing::debug!(%error, len = bytes.len(), "malformed packet");
                    }
                }
                Some(Received::Unreadable(why)) => {
                    self.shared.counters.bump(Counter::Received);
                    self.shared.counters.bump(Counter::Malformed);
                    tracing::debug!(why, "unreadable message");
                }
                Some(Received::Closed(code)) => {
                    self.discard(wake.outgoing);
                    return Ended::Lost(code);
                }
                None => {}
            }
            if let Some(packet) = wake.outgoing
                && let Some(ended) = transmit(&self.shared, link, packet).await
            {
                return ended;
            }
        }
    }
}

/// Sleeps until `deadline` (if any), a packet to send, the end of `io`, or the close.
async fn wait<P: Platform, F: Future>(
    platform: &P,
    shared: &Shared,
    deadline: Option<Duration>,
    mut io: Pin<&mut F>,
) -> Wake<F::Output> {
    let mut timer = pin!(deadline.map(|deadline| platform.sleep_until(deadline)));
    poll_fn(|cx| {
        let closed = shared.poll_closed(cx).is_ready();
        let outgoing = match shared.outgoing.poll_pop(cx) {
            Poll::Ready(packet) => Some(packet),
            Poll::Pending => None,
        };
        let io = match io.as_mut().poll(cx) {
            Poll::Ready(output) => Some(output),
            Poll::Pending => None,
        };
        let timer = timer.as_mut().as_pin_mut().is_some_and(|t| t.poll(cx).is_ready());
        if closed || outgoing.is_some() || io.is_some() || timer {
            Poll::Ready(Wake { closed, outgoing, io })
        } else {
            Poll::Pending
        }
    })
    .await
}

/// Sends one packet: `Some` when the connection ended meanwhile. A send can wait for the
/// network (WebTransport stream credit from a busy server), so closing the client interrupts
/// it: leaving must never wait for the network. A packet that was not written is counted.
async fn transmit<L: Link>(shared: &Shared, link: &mut L, packet: Vec<u8>) -> Option<Ended> {
    let mut sending = pin!(link.send(packet));
    let sent = poll_fn(|cx| match shared.poll_closed(cx) {
        Poll::Ready(()) => Poll::Ready(None),
        Poll::Pending => sending.as_mut().poll(cx).map(Some),
    })
    .await;
    let counter = match &sent {
        Some(Ok(Sent::Written)) => Counter::Sent,
        _ => Counter::DroppedOutgoing,
    };
    shared.counters.bump(counter);
    match sent {
        None => Some(Ended::Closed),
        Some(Ok(_)) => None,
        Some(Err(error)) => {
            tracing::info!(%error, "send failed; connection lost");
            Some(Ended::Lost(None))
        }
    }
}

#[cfg(test)]
mod tests;
