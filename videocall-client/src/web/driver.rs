//! The browser's connection loop: connect (WebTransport first when both are offered, the other
//! transport when one fails to connect or is lost), run one connection until it ends, back off,
//! reconnect. All protocol decisions are the [`Session`]'s; this file moves bytes, time and
//! events between it, the transport, the handles and the page.

use std::rc::Rc;
use std::time::Duration;

use futures::channel::mpsc;
use futures::{FutureExt, StreamExt};
use videocall_types::CloseReason;

use super::Shared;
use super::events::EventSender;
use super::js;
use super::transport::{ConnectError, Received, Transport};
use crate::event::{Event, TransportKind};
use crate::options::{ClientOptions, Endpoint};
use crate::session::Session;
use crate::stats::Counter;

/// When nothing is scheduled, the loop still wakes this often (harmless, keeps code simple).
const IDLE_WAKE: Duration = Duration::from_secs(60);

/// Everything the driver owns.
pub(super) struct Context {
    pub(super) options: ClientOptions,
    pub(super) endpoints: Vec<Endpoint>,
    pub(super) shared: Rc<Shared>,
    pub(super) outgoing: mpsc::Receiver<Vec<u8>>,
    pub(super) events: EventSender,
}

/// How a connection or a phase of the loop ended.
enum Outcome {
    /// Go on (reconnect if allowed).
    Continue { retry: bool },
    /// The application closed the client, or every handle is gone.
    Stop,
}

/// How a send ended.
enum Sent {
    /// Handed to the transport (or dropped by its backlog policy, and counted).
    Yes,
    /// The connection is lost.
    Lost,
    /// The application closed the client meanwhile.
    Closed,
}

/// What woke the connection loop.
enum Wake {
    Closed,
    Received(Received),
    Outgoing(Option<Vec<u8>>),
    Timer,
}

struct Driver {
    ctx: Context,
    session: Session,
    connections: u64,
}

/// Runs a client until it is closed or may not reconnect.
pub(super) async fn run(ctx: Context) {
    let session = Session::new(&ctx.options, ctx.shared.counters.clone());
    let mut driver = Driver { ctx, session, connections: 0 };
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
    driver.ctx.shared.transport.set(None);
}

impl Driver {
    fn now(&self) -> Duration {
        js::monotonic()
    }

    /// How long until the session's next deadline.
    fn until_next_deadline(&self) -> Duration {
        let now = self.now();
        self.session.poll_timeout().unwrap_or(now + IDLE_WAKE).saturating_sub(now)
    }

    /// Tries each endpoint in preference order. `Ok(None)` when the client was closed meanwhile.
    async fn connect(&mut self) -> Result<Option<Transport>, (TransportKind, ConnectError)> {
        let mut last_error = None;
        for index in 0..self.ctx.endpoints.len() {
            if self.ctx.shared.is_closed() {
                return Ok(None);
            }
            let endpoint = &self.ctx.endpoints[index];
            let attempt = Transport::connect(endpoint, self.ctx.options.connect_timeout);
            let result = futures::select! {
                result = attempt.fuse() => result,
                () = self.ctx.shared.closed().fuse() => return Ok(None),
            };
            match result {
                Ok(transport) => {
                    // Start with whatever worked last time.
                    self.ctx.endpoints[..=index].rotate_right(1);
                    return Ok(Some(transport));
                }
                Err(error) => last_error = Some((endpoint.kind, error)),
            }
        }
        match last_error {
            Some(failure) => Err(failure),
            None => Ok(None),
        }
    }

    async fn connect_failed(&mut self, kind: TransportKind, error: &ConnectError) -> Outcome {
        let retry = self.ctx.options.reconnect;
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
        self.session.handle_connected(kind, self.now());
        self.ctx.shared.transport.set(Some(kind));
        self.flush_events().await;

        let lost = self.pump(&mut transport).await;

        self.ctx.shared.transport.set(None);
        self.discard_outgoing();
        let outcome = match lost {
            Some(code) => {
                let retry =
                    self.session.handle_disconnected(code, self.ctx.options.reconnect, self.now());
                if kind == TransportKind::WebTransport && self.ctx.endpoints.len() > 1 {
                    // A WebTransport session that dies (UDP blocked later, a middlebox timing
                    // out QUIC) is retried over WebSocket first.
                    self.ctx.endpoints.rotate_left(1);
                }
                Outcome::Continue { retry }
            }
            None => {
                transport.close(CloseReason::Normal);
                let normal = Some(CloseReason::Normal.code().into());
                self.session.handle_disconnected(normal, false, self.now());
                Outcome::Stop
            }
        };
        self.flush_events().await;
        outcome
    }

    /// Moves packets until the connection ends: `Some(code)` when it was lost, `None` when the
    /// application closed the client.
    async fn pump(&mut self, transport: &mut Transport) -> Option<Option<u32>> {
        loop {
            if self.ctx.shared.is_closed() {
                return None;
            }
            let flags = self.ctx.shared.flags.get();
            if let Some(heartbeat) = self.session.poll_heartbeat(self.now(), flags, js::unix_ms()) {
                match heartbeat {
                    Ok(bytes) => match self.transmit(transport, bytes).await {
                        Sent::Yes => {}
                        Sent::Lost => return Some(None),
                        Sent::Closed => return None,
                    },
                    Err(error) => web_sys::console::error_1(&error.to_string().into()),
                }
            }
            let wake = {
                let shared = self.ctx.shared.clone();
                let timer = js::sleep(self.until_next_deadline()).fuse();
                let closed = shared.closed().fuse();
                let received = transport.recv().fuse();
                let mut outgoing = self.ctx.outgoing.next();
                futures::pin_mut!(timer, closed, received);
                futures::select_biased! {
                    () = closed => Wake::Closed,
                    received = received => Wake::Received(received),
                    packet = outgoing => Wake::Outgoing(packet),
                    () = timer => Wake::Timer,
                }
            };
            match wake {
                Wake::Closed => return None,
                Wake::Received(Received::Packet(bytes)) => {
                    // Malformed packets are counted by the session; nothing else to do.
                    let _ = self.session.handle_bytes(&bytes, self.now());
                }
                Wake::Received(Received::Unreadable(why)) => {
                    web_sys::console::debug_2(
                        &"videocall: unreadable message:".into(),
                        &why.into(),
                    );
                    self.ctx.shared.counters.bump(Counter::Received);
                    self.ctx.shared.counters.bump(Counter::Malformed);
                }
                Wake::Received(Received::Closed(code)) => return Some(code),
                Wake::Outgoing(Some(bytes)) => match self.transmit(transport, bytes).await {
                    Sent::Yes => {}
                    Sent::Lost => return Some(None),
                    Sent::Closed => return None,
                },
                Wake::Outgoing(None) => return None, // every handle is gone
                Wake::Timer => self.session.handle_timeout(self.now()),
            }
            self.flush_events().await;
        }
    }

    /// Sends one packet. A WebTransport send can wait for stream credit from a busy server, so
    /// closing the client interrupts it: leaving must never wait for the network.
    async fn transmit(&mut self, transport: &mut Transport, bytes: Vec<u8>) -> Sent {
        let shared = self.ctx.shared.clone();
        let result = futures::select_biased! {
            () = shared.closed().fuse() => return Sent::Closed,
            result = transport.send(bytes).fuse() => result,
        };
        match result {
            Ok(true) => self.ctx.shared.counters.bump(Counter::Sent),
            Ok(false) => self.ctx.shared.counters.bump(Counter::DroppedOutgoing),
            Err(_) => return Sent::Lost,
        }
        Sent::Yes
    }

    /// Waits out the backoff delay while peers keep timing out. False when the client was
    /// closed meanwhile.
    async fn wait_before_retry(&mut self) -> bool {
        let delay = self.session.handle_retry();
        self.flush_events().await;
        let until = self.now() + delay;
        loop {
            if self.ctx.shared.is_closed() {
                return false;
            }
            let now = self.now();
            if now >= until {
                return true;
            }
            let wait = (until - now).min(self.until_next_deadline());
            let wake = {
                let shared = self.ctx.shared.clone();
                let timer = js::sleep(wait).fuse();
                let closed = shared.closed().fuse();
                let mut outgoing = self.ctx.outgoing.next();
                futures::pin_mut!(timer, closed);
                futures::select_biased! {
                    () = closed => Wake::Closed,
                    packet = outgoing => Wake::Outgoing(packet),
                    () = timer => Wake::Timer,
                }
            };
            match wake {
                Wake::Closed | Wake::Outgoing(None) => return false,
                Wake::Outgoing(Some(_)) => self.ctx.shared.counters.bump(Counter::DroppedOutgoing),
                Wake::Timer | Wake::Received(_) => self.session.handle_timeout(self.now()),
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
