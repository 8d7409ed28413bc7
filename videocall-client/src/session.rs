//! The client's protocol state across connections, without I/O: turns received bytes and the
//! passage of time into [`Event`]s, heartbeats and connection decisions, in the `handle_*` /
//! `poll_*` style of sans-I/O protocol cores. `now` is a [`Duration`] since any fixed origin
//! (the driver's start).
//!
//! The one driver (`crate::driver`, the same on every platform) asks [`Session::poll_dial`]
//! what to do: connect to an endpoint (then reports [`Session::handle_connected`] or
//! [`Session::handle_connect_failed`]), wait, or stop. While connected it hands every received
//! message to [`Session::handle_bytes`], sends what [`Session::poll_heartbeat`] returns and
//! reports the end with [`Session::handle_disconnected`] (or [`Session::handle_close`] when the
//! application closes). At any time it calls [`Session::handle_timeout`] once
//! [`Session::poll_timeout`] is reached, and forwards [`Session::poll_event`] to the
//! application. Which endpoint to try, when to retry and when to give up is the [`Dialer`]'s
//! (see [`crate::dial`]), so no platform can drift from it.
//!
//! With extensions, `Connected` is announced by the server's `Welcome` (the first packet it
//! sends). Over WebSocket packets arrive in order, so any other first packet means an old server
//! that ignores `?ext=1`: the connection is announced at once. Over WebTransport each packet has
//! its own stream and a peer's packet may overtake the `Welcome`; such early packets are held
//! (at most [`EARLY_LIMIT`], beyond that dropped and counted) until the `Welcome` or
//! [`WELCOME_WAIT`], then handled in arrival order after `Connected`.
//!
//! Key frame requests, from the server (`KeyframeRequest`) and from receivers (a DIAGNOSTICS
//! packet addressed to us with `keyframe_request`), share one [`KeyframeLimiter`]: whoever
//! asked, a key frame reaches every receiver, so one key frame per interval answers them all.
//! The relay already spaces its own requests by 500 ms, so sharing never delays it in normal
//! operation; it only keeps a receiver's flood from adding to the server's requests. Limited
//! requests are counted in [`Counter::LimitedKeyframeRequests`].

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use videocall_types::{CloseReason, MediaType, SessionId, UserId};

use crate::dial::{ConnectFailure, Dial, Dialer, Next};
use crate::event::{Event, MediaFlags, PeerInfo, TransportKind};
use crate::keyframe::{Decision, KeyframeLimiter};
use crate::lobby::LobbyError;
use crate::options::ClientOptions;
use crate::packet::{self, EncodeError, Inbound, ParseError, ServerMessage};
use crate::peers::PeerTable;
use crate::stats::{Counter, Counters};

pub use crate::dial::retry_allowed;

/// How long an extensions connection waits for the server's `Welcome` before announcing itself
/// as connected anyway (an old server ignores `?ext=1` and sends nothing on its own).
pub const WELCOME_WAIT: Duration = Duration::from_secs(2);

/// Most WebTransport packets held while waiting for the `Welcome`.
pub const EARLY_LIMIT: usize = 256;

/// State of the current transport connection.
#[derive(Debug, Clone)]
struct Link {
    transport: TransportKind,
    announced: bool,
    welcome_deadline: Option<Duration>,
    next_heartbeat: Duration,
    server_error: Option<u32>,
    /// Packets that overtook the `Welcome` (WebTransport only).
    early: Vec<Inbound>,
}

/// The protocol state of one client.
#[derive(Debug)]
pub struct Session {
    user: UserId,
    ext: bool,
    heartbeat_interval: Duration,
    sweep_interval: Duration,
    next_sweep: Duration,
    peers: PeerTable,
    link: Option<Link>,
    /// This connection's session id, from the `Welcome`, to recognise reports addressed to us.
    me: Option<SessionId>,
    keyframes: KeyframeLimiter,
    dialer: Dialer,
    /// Connections established so far, to count reconnects.
    connections: u64,
    counters: Arc<Counters>,
    events: VecDeque<Event>,
    scratch: Vec<Event>,
}

impl Session {
    /// A disconnected session configured from `options`, counting into `counters`. Fails only
    /// when the lobby URLs cannot be built.
    pub fn new(options: &ClientOptions, counters: Arc<Counters>) -> Result<Self, LobbyError> {
        Ok(Self {
            user: options.user.clone(),
            ext: options.ext,
            heartbeat_interval: options.heartbeat_interval,
            // Peers expire within a fifth of the timeout of their deadline.
            sweep_interval: (options.peer_timeout / 5).max(Duration::from_millis(10)),
            next_sweep: Duration::ZERO,
            peers: PeerTable::new(options.peer_timeout, options.max_peers),
            link: None,
            me: None,
            keyframes: KeyframeLimiter::new(),
            dialer: Dialer::new(options.endpoints()?, options),
            connections: 0,
            counters,
            events: VecDeque::new(),
            scratch: Vec::new(),
        })
    }

    /// The peers currently present.
    pub fn peers(&self) -> &PeerTable {
        &self.peers
    }

    /// Whether a transport connection is up.
    pub fn is_connected(&self) -> bool {
        self.link.is_some()
    }

    /// What the driver should do at `now`: connect somewhere, wait, or stop.
    pub fn poll_dial(&mut self, now: Duration) -> Dial {
        self.dialer.poll(now)
    }

    /// A transport connection is up. The first heartbeat is due at once.
    pub fn handle_connected(&mut self, transport: TransportKind, now: Duration) {
        self.dialer.handle_connected(transport, now);
        self.connections += 1;
        if self.connections > 1 {
            self.counters.bump(Counter::Reconnects);
        }
        self.me = None;
        self.link = Some(Link {
            transport,
            announced: false,
            welcome_deadline: self.ext.then_some(now + WELCOME_WAIT),
            next_heartbeat: now,
            server_error: None,
            early: Vec::new(),
        });
        if !self.ext {
            self.announce(None, Vec::new());
        }
    }

    /// The connection attempt [`Session::poll_dial`] asked for failed. Once every endpoint of
    /// the round failed (or a final error ends it) this queues [`Event::ConnectFailed`] with
    /// all of the round's errors, then [`Event::Reconnecting`] when the client will retry.
    pub fn handle_connect_failed(&mut self, failure: &ConnectFailure, now: Duration) {
        let next = self.dialer.handle_connect_failed(failure, now);
        if next == Next::Endpoint {
            return; // the next transport is tried at once
        }
        let Some(transport) = self.dialer.last_failed() else { return };
        let error = self.dialer.failures();
        let will_retry = next != Next::Stop;
        self.events.push_back(Event::ConnectFailed { transport, error, will_retry });
        self.queue_retry(next);
    }

    /// The connection ended with close `code` (if any). The reason reported is that code, or the
    /// one the server announced in an error message just before. Returns whether the client
    /// will reconnect (see [`crate::dial`] for when it does not).
    pub fn handle_disconnected(&mut self, code: Option<u32>, now: Duration) -> bool {
        let link = self.end_link(now);
        let announced = link.as_ref().and_then(|l| l.server_error);
        let reason =
            code.and_then(CloseReason::from_code).or(announced.and_then(CloseReason::from_code));
        let coded = code.is_some() || announced.is_some();
        let next = self.dialer.handle_lost(reason, coded, now);
        let will_retry = next != Next::Stop;
        self.events.push_back(Event::Disconnected { reason, will_retry });
        self.queue_retry(next);
        will_retry
    }

    /// The application closed the client: a connection that is up ends with
    /// [`CloseReason::Normal`] (the driver closes the transport with it), and nothing more is
    /// dialled.
    pub fn handle_close(&mut self, now: Duration) {
        if self.end_link(now).is_some() {
            let reason = Some(CloseReason::Normal);
            self.events.push_back(Event::Disconnected { reason, will_retry: false });
        }
        self.dialer.handle_close();
    }

    /// Ends the current link, first reporting the packets that overtook a `Welcome` that never
    /// came: they prove the connection was up.
    fn end_link(&mut self, now: Duration) -> Option<Link> {
        if self.link.as_ref().is_some_and(|l| !l.early.is_empty()) {
            self.announce(None, Vec::new());
            self.release_early(now);
        }
        self.link.take()
    }

    fn queue_retry(&mut self, next: Next) {
        if let Next::Retry { attempt, delay } = next {
            self.events.push_back(Event::Reconnecting { attempt, delay });
        }
    }

    /// One message received on the current connection. Malformed input is counted and returned
    /// as an error; nothing else changes.
    pub fn handle_bytes(&mut self, bytes: &[u8], now: Duration) -> Result<(), ParseError> {
        self.counters.bump(Counter::Received);
        let inbound = packet::parse(bytes, self.ext).inspect_err(|_| {
            self.counters.bump(Counter::Malformed);
        })?;
        let is_welcome = matches!(inbound, Inbound::Server(ServerMessage::Welcome { .. }));
        match self.link.as_mut() {
            Some(link)
                if !is_welcome
                    && !link.announced
                    && link.transport == TransportKind::WebTransport =>
            {
                if link.early.len() < EARLY_LIMIT {
                    link.early.push(inbound);
                } else {
                    self.counters.bump(Counter::DroppedInbound);
                }
            }
            _ => self.dispatch(inbound, now),
        }
        Ok(())
    }

    fn dispatch(&mut self, inbound: Inbound, now: Duration) {
        match inbound {
            Inbound::Server(ServerMessage::Welcome { you, participants, .. }) => {
                self.me = you;
                // `announce` queues `Connected` ahead of the peer events gathered in `scratch`.
                self.peers.handle_welcome(you, &participants, now, &mut self.scratch);
                self.announce(you, participants);
                self.flush_scratch();
                self.release_early(now);
            }
            Inbound::Server(message) => {
                self.announce(None, Vec::new());
                self.handle_server(message, now);
            }
            Inbound::Heartbeat { wrapper, flags } => {
                self.announce(None, Vec::new());
                if self.peers.handle_packet(&wrapper, Some(flags), now, &mut self.scratch).is_none()
                {
                    self.counters.bump(Counter::DroppedInbound);
                }
            }
            Inbound::Peer(wrapper) => {
                self.announce(None, Vec::new());
                match self.peers.handle_packet(&wrapper, None, now, &mut self.scratch) {
                    Some(from) => {
                        if let Some(kind) = packet::keyframe_request(&wrapper, &self.user, self.me)
                        {
                            self.request_keyframe(kind, now);
                        }
                        self.scratch.push(Event::Packet { from, wrapper });
                    }
                    None => self.counters.bump(Counter::DroppedInbound),
                }
            }
        }
        self.flush_scratch();
    }

    /// Handles the packets that overtook the `Welcome`, once `Connected` is out.
    fn release_early(&mut self, now: Duration) {
        let early = self.link.as_mut().map(|l| std::mem::take(&mut l.early)).unwrap_or_default();
        for inbound in early {
            self.dispatch(inbound, now);
        }
    }

    fn handle_server(&mut self, message: ServerMessage, now: Duration) {
        match message {
            ServerMessage::Joined(peer) => self.peers.handle_joined(&peer, now, &mut self.scratch),
            ServerMessage::Left(peer) => self.peers.handle_left(&peer.key, &mut self.scratch),
            ServerMessage::KeyframeRequest(kind) => self.request_keyframe(kind, now),
            ServerMessage::MuteRequest(kind) => self.scratch.push(Event::MuteRequested(kind)),
            ServerMessage::Error { code, text } => {
                if let Some(link) = self.link.as_mut() {
                    link.server_error = Some(code);
                }
                let reason = CloseReason::from_code(code);
                self.scratch.push(Event::ServerError { reason, code, text });
            }
            ServerMessage::Welcome { .. } | ServerMessage::Unknown => {}
        }
    }

    /// A key frame of `kind` was asked for: passed on now, later, or not at all (limited).
    fn request_keyframe(&mut self, kind: MediaType, now: Duration) {
        let decision = self.keyframes.handle_request(kind, now);
        if decision == Decision::Now {
            self.scratch.push(Event::KeyframeRequested(kind));
        } else {
            self.counters.bump(Counter::LimitedKeyframeRequests);
        }
    }

    /// Emits `Connected` once per connection (no-op when already announced or disconnected).
    fn announce(&mut self, session_id: Option<SessionId>, participants: Vec<PeerInfo>) {
        let Some(link) = self.link.as_mut() else { return };
        if link.announced {
            return;
        }
        link.announced = true;
        link.welcome_deadline = None;
        let transport = link.transport;
        self.events.push_back(Event::Connected { transport, session_id, participants });
    }

    fn flush_scratch(&mut self) {
        self.events.extend(self.scratch.drain(..));
        self.counters.add(Counter::RefusedPeers, self.peers.take_refused());
    }

    /// Time-driven work due at `now`: the liveness sweep, the end of the `Welcome` wait and
    /// deferred key frames.
    pub fn handle_timeout(&mut self, now: Duration) {
        while let Some(kind) = self.keyframes.poll_due(now) {
            self.events.push_back(Event::KeyframeRequested(kind));
        }
        if self.link.as_ref().and_then(|l| l.welcome_deadline).is_some_and(|d| now >= d) {
            self.announce(None, Vec::new());
            self.release_early(now);
        }
        if now >= self.next_sweep {
            self.peers.handle_timeout(now, &mut self.scratch);
            self.next_sweep = now + self.sweep_interval;
            self.flush_scratch();
        }
    }

    /// The heartbeat to send now, if one is due, as wire bytes.
    pub fn poll_heartbeat(
        &mut self,
        now: Duration,
        flags: MediaFlags,
        unix_ms: f64,
    ) -> Option<Result<Vec<u8>, EncodeError>> {
        let link = self.link.as_mut()?;
        if now < link.next_heartbeat {
            return None;
        }
        // Keep the cadence, but never burst to catch up after a stall.
        let next = link.next_heartbeat + self.heartbeat_interval;
        link.next_heartbeat = if next > now { next } else { now + self.heartbeat_interval };
        Some(packet::heartbeat(&self.user, flags, unix_ms).and_then(|w| packet::encode(&w)))
    }

    /// When [`Session::handle_timeout`], [`Session::poll_heartbeat`] or [`Session::poll_dial`]
    /// next has work. `None` when nothing is scheduled: the driver then sleeps until something
    /// happens (a packet, the application), with no periodic wake-up.
    pub fn poll_timeout(&self) -> Option<Duration> {
        let link = self.link.as_ref();
        let sweep = (!self.peers.is_empty()).then_some(self.next_sweep);
        let keyframe = self.keyframes.poll_timeout();
        let heartbeat = link.map(|l| l.next_heartbeat);
        let welcome = link.and_then(|l| l.welcome_deadline);
        [heartbeat, welcome, sweep, keyframe, self.dialer.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }
}

#[cfg(test)]
mod tests;
