//! The connection loop: connect (in preference order), run one connection until it ends, then
//! back off and reconnect. All protocol decisions are the [`Session`]'s; this file only moves
//! bytes, time and events between it, the transport, the handles and the application.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};
use videocall_types::CloseReason;

use super::Shared;
use super::events::EventSender;
use super::transport::{ConnectError, Received, Transport};
use crate::event::{Event, TransportKind};
use crate::options::{ClientOptions, Endpoint};
use crate::session::Session;
use crate::stats::Counter;

/// When nothing is scheduled, the loop still wakes this often (harmless, keeps code simple).
const IDLE_WAKE: Duration = Duration::from_secs(3600);

/// Everything the driver owns.
pub(super) struct Context {
    pub(super) options: ClientOptions,
    pub(super) endpoints: Vec<Endpoint>,
    pub(super) shared: Arc<Shared>,
    pub(super) outgoing: mpsc::Receiver<Vec<u8>>,
    pub(super) events: EventSender,
}

/// How a connection ended.
enum Ended {
    /// The connection was lost, with the server's close code if it sent one.
    Lost(Option<u32>),
    /// The application closed the client, or every handle is gone.
    ByApplication,
}

/// How one phase of the loop ended.
enum Outcome {
    /// Go on (reconnect if allowed).
    Continue { retry: bool },
    /// The handle closed the client, or every handle is gone.
    Stop,
}

struct Driver {
    ctx: Context,
    session: Session,
    start: Instant,
    connections: u64,
}

/// Runs a client until it is closed or may not reconnect.
pub(super) async fn run(ctx: Context) {
    let session = Session::new(&ctx.options, ctx.shared.counters.clone());
    let mut driver = Driver { ctx, session, start: Instant::now(), connections: 0 };
    loop {
        if driver.ctx.shared.is_closed() {
            break;
        }
        let outcome = match driver.connect().await {
            Ok(Some(transport)) => driver.run_connection(transport).await,
            Ok(None) => Outcome::Stop,
            Err((kind, error)) => driver.connect_failed(kind, &error).await,
        };
        match outcome {
            Outcome::Continue { retry: true } if driver.wait_before_retry().await => {}
            _ => break,
        }
    }
    driver.ctx.shared.connected.store(false, Ordering::Release);
    tracing::debug!("client driver finished");
}

impl Driver {
    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    fn at(&self, offset: Duration) -> Instant {
        self.start + offset
    }

    /// Tries each endpoint in preference order. `Ok(None)` when the client was closed meanwhile.
    async fn connect(&mut self) -> Result<Option<Transport>, (TransportKind, ConnectError)> {
        let mut last_error = None;
        for index in 0..self.ctx.endpoints.len() {
            if self.ctx.shared.is_closed() {
                return Ok(None);
            }
            let endpoint = &self.ctx.endpoints[index];
            tracing::debug!(transport = endpoint.kind.as_str(), url = %endpoint.url, "connecting");
            let attempt = Transport::connect(endpoint, self.ctx.options.connect_timeout);
            let result = tokio::select! {
                result = attempt => result,
                () = self.ctx.shared.close.notified() => return Ok(None),
            };
            match result {
                Ok(transport) => {
                    // Auto: start with whatever worked last time.
                    self.ctx.endpoints[..=index].rotate_right(1);
                    return Ok(Some(transport));
                }
                Err(error) => {
                    tracing::info!(transport = endpoint.kind.as_str(), %error, "connect failed");
                    last_error = Some((endpoint.kind, error));
                }
            }
        }
        match last_error {
            Some(failure) => Err(failure),
            None => Ok(None), // no endpoints: nothing to do
        }
    }

    async fn connect_failed(&mut self, kind: TransportKind, error: &ConnectError) -> Outcome {
        let retry = self.ctx.options.reconnect && !error.is_final();
        let event =
            Event::ConnectFailed { transport: kind, error: error.to_string(), will_retry: retry };
        self.ctx.events.deliver(event).await;
        Outcome::Continue { retry }
    }

    /// Runs one established connection until it ends.
    async fn run_connection(&mut self, mut transport: Transport) -> Outcome {
        let kind = transport.kind();
        self.connections += 1;
        if self.connections > 1 {
            self.ctx.shared.counters.bump(Counter::Reconnects);
        }
        tracing::info!(transport = kind.as_str(), "connected");
        self.session.handle_connected(kind, self.now());
        self.ctx.shared.connected.store(true, Ordering::Release);
        self.flush_events().await;

        let ended = self.pump(&mut transport).await;

        self.ctx.shared.connected.store(false, Ordering::Release);
        self.discard_outgoing();
        let outcome = match ended {
            Ended::Lost(code) => {
                let retry =
                    self.session.handle_disconnected(code, self.ctx.options.reconnect, self.now());
                tracing::info!(transport = kind.as_str(), code, retry, "disconnected");
                Outcome::Continue { retry }
            }
            Ended::ByApplication => {
                transport.close(CloseReason::Normal).await;
                self.session.handle_disconnected(
                    Some(CloseReason::Normal.code().into()),
                    false,
                    self.now(),
                );
                tracing::info!(transport = kind.as_str(), "closed by the application");
                Outcome::Stop
            }
        };
        self.flush_events().await;
        outcome
    }

    /// Moves packets until the connection ends.
    async fn pump(&mut self, transport: &mut Transport) -> Ended {
        loop {
            if self.ctx.shared.is_closed() {
                return Ended::ByApplication;
            }
            if let Some(heartbeat) =
                self.session.poll_heartbeat(self.now(), self.ctx.shared.flags(), unix_ms())
            {
                match heartbeat {
                    Ok(bytes) => {
                        if !self.transmit(transport, bytes).await {
                            return Ended::Lost(None);
                        }
                    }
                    Err(error) => tracing::error!(%error, "cannot encode a heartbeat"),
                }
            }
            let wake = self.at(self.session.poll_timeout().unwrap_or(self.now() + IDLE_WAKE));
            tokio::select! {
                () = self.ctx.shared.close.notified() => return Ended::ByApplication,
                received = transport.recv() => match received {
                    Received::Packet(bytes) => {
                        if let Err(error) = self.session.handle_bytes(&bytes, self.now()) {
                            tracing::debug!(%error, len = bytes.len(), "malformed packet");
                        }
                    }
                    Received::Unreadable(why) => {
                        self.ctx.shared.counters.bump(Counter::Received);
                        self.ctx.shared.counters.bump(Counter::Malformed);
                        tracing::debug!(why, "unreadable message");
                    }
                    Received::Closed(code) => return Ended::Lost(code),
                },
                packet = self.ctx.outgoing.recv() => match packet {
                    Some(bytes) => {
                        if !self.transmit(transport, bytes).await {
                            return Ended::Lost(None);
                        }
                    }
                    None => return Ended::ByApplication, // every handle is gone
                },
                () = sleep_until(wake) => self.session.handle_timeout(self.now()),
            }
            self.flush_events().await;
        }
    }

    /// Sends one packet; false means the connection is lost.
    async fn transmit(&mut self, transport: &mut Transport, bytes: Vec<u8>) -> bool {
        match transport.send(bytes).await {
            Ok(()) => {
                self.ctx.shared.counters.bump(Counter::Sent);
                true
            }
            Err(error) => {
                tracing::info!(%error, "send failed; connection lost");
                false
            }
        }
    }

    /// Waits out the backoff delay while peers keep timing out. False when the client was
    /// closed meanwhile.
    async fn wait_before_retry(&mut self) -> bool {
        let delay = self.session.handle_retry();
        tracing::debug!(?delay, "reconnecting after a delay");
        self.flush_events().await;
        let until = Instant::now() + delay;
        loop {
            if self.ctx.shared.is_closed() {
                return false;
            }
            let wake = self.at(self.session.poll_timeout().unwrap_or(self.now() + IDLE_WAKE));
            tokio::select! {
                () = sleep_until(until) => return !self.ctx.shared.is_closed(),
                () = self.ctx.shared.close.notified() => return false,
                packet = self.ctx.outgoing.recv() => match packet {
                    Some(_) => self.ctx.shared.counters.bump(Counter::DroppedOutgoing),
                    None => return false,
                },
                () = sleep_until(wake) => self.session.handle_timeout(self.now()),
            }
            self.flush_events().await;
        }
    }

    /// Drops packets still queued for a connection that is gone: stale media is useless.
    fn discard_outgoing(&mut self) {
        let mut discarded = 0;
        while self.ctx.outgoing.try_recv().is_ok() {
            discarded += 1;
        }
        self.ctx.shared.counters.add(Counter::DroppedOutgoing, discarded);
    }

    async fn flush_events(&mut self) {
        while let Some(event) = self.session.poll_event() {
            self.ctx.events.deliver(event).await;
        }
    }
}

/// Wall-clock milliseconds since the Unix epoch, for heartbeat timestamps.
fn unix_ms() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}
