//! Which endpoint the client connects to next, when, and when it gives up for good: the
//! connection policy of the one driver on every platform, without I/O. The [`Session`] owns a
//! [`Dialer`] and turns its decisions into events; `now` is the session's clock.
//!
//! **Rounds.** A round tries each configured endpoint once, back to back, in the current order
//! of preference; the first that connects ends it. When every endpoint of a round failed, the
//! client waits the [`Backoff`] delay before the next round; a lost connection waits before its
//! first round too. So there is one `ConnectFailed` event per failed round and one
//! `Reconnecting` per wait, however many transports are configured.
//!
//! **Fallback.** With [`TransportChoice::Auto`] the order is WebTransport, then WebSocket.
//! WebSocket goes first instead
//! - in the round right after a WebTransport session was *lost*, i.e. ended without a close
//!   code from the server (QUIC idle timeout, reset, a middlebox that stopped passing UDP):
//!   retrying QUIC first could keep the call down for a whole connect timeout, while TCP very
//!   likely works. A session the server closed *with* a code (a drain, a full room) says
//!   nothing about the path and changes nothing;
//! - while WebTransport is *demoted*: when WebSocket connects in a round in which WebTransport
//!   failed (or right after it was lost), this network evidently carries TCP but not QUIC, and
//!   WebTransport goes last for [`DEMOTION`], doubling with each consecutive demotion up to
//!   [`MAX_DEMOTION`], forgotten as soon as WebTransport connects again — the way browsers mark
//!   QUIC broken for an origin. A round in which *every* endpoint failed demotes nothing: the
//!   server or the whole network is down, and when it is back WebTransport should win again.
//!
//! A live connection is never moved to the preferred transport (that would interrupt the call):
//! the order only matters when the client (re)connects.
//!
//! **Final errors.** The client stops for good (`will_retry: false`) when
//! - the server refused the request itself: HTTP 4xx other than 408 and 429 on the upgrade
//!   (invalid id, missing token). All endpoints lead to the same application, which would
//!   refuse the same request over any transport, so no other endpoint is tried either. Only
//!   native WebSockets see the status; browsers hide it, and wtransport reports a rejected
//!   session without one, so those failures are retried;
//! - the server closed with [`CloseReason::InvalidId`], which no retry can fix, or with
//!   [`CloseReason::Removed`] or [`CloseReason::MeetingEnded`]: a host's decision, which a
//!   reconnect must not undo;
//! - the application closed the client (or dropped every handle);
//! - [`ClientOptions::reconnect`] is off, once the first round failed or the connection ended.
//!
//! Everything else is retried with backoff: notably [`CloseReason::TooManyConnections`] (4012),
//! [`CloseReason::RoomFull`] (4013), [`CloseReason::Unavailable`] (1013) and HTTP 5xx, 408 and
//! 429, because capacity comes back (someone leaves, the bus recovers) and the jittered backoff,
//! growing to its cap, keeps a crowd of waiting clients from hammering the server; a drain (1001)
//! spreads the first retry over seconds (see [`crate::backoff`]).
//!
//! [`Session`]: crate::session::Session
//! [`TransportChoice::Auto`]: crate::options::TransportChoice::Auto
//! [`ClientOptions::reconnect`]: crate::options::ClientOptions::reconnect

use std::fmt;
use std::time::Duration;

use videocall_types::CloseReason;

use crate::backoff::Backoff;
use crate::event::TransportKind;
use crate::options::{ClientOptions, Endpoint};

/// How long WebTransport goes last after its first demotion (5 min, as Chromium marks QUIC
/// broken): long enough that reconnects on a network without UDP do not each wait for QUIC
/// first, short enough that a passing fault does not keep the client on TCP for the day.
pub const DEMOTION: Duration = Duration::from_secs(5 * 60);

/// The longest demotion (1 h): the cap of the doubling.
pub const MAX_DEMOTION: Duration = Duration::from_secs(60 * 60);

/// Whether a connection closed for `reason` may be retried: not when the server refused our ids,
/// which no retry can fix, nor when a host removed us or ended the meeting.
pub fn retry_allowed(reason: Option<CloseReason>) -> bool {
    !matches!(
        reason,
        Some(CloseReason::InvalidId | CloseReason::Removed | CloseReason::MeetingEnded)
    )
}

/// Why a connection attempt failed, as far as the policy needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectFailure {
    /// What went wrong, for people.
    pub error: String,
    /// The HTTP status the server refused the upgrade with, when the platform can see it.
    pub http_status: Option<u16>,
}

impl ConnectFailure {
    /// A failure without an HTTP status (network, TLS, QUIC, timeout).
    pub fn new(error: impl fmt::Display) -> Self {
        Self { error: error.to_string(), http_status: None }
    }

    /// The server answered the upgrade with HTTP `status`.
    pub fn refused(status: u16, error: impl fmt::Display) -> Self {
        Self { error: error.to_string(), http_status: Some(status) }
    }

    /// Whether retrying cannot help: the server refused the request itself (HTTP 4xx other than
    /// 408 Request Timeout and 429 Too Many Requests, which ask to come back later).
    pub fn is_final(&self) -> bool {
        self.http_status.is_some_and(|s| (400..500).contains(&s) && !matches!(s, 408 | 429))
    }
}

/// What the driver should do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dial {
    /// Connect to `endpoint` now, giving up after `timeout`.
    Connect {
        /// Where to connect.
        endpoint: Endpoint,
        /// How long the attempt may take ([`ClientOptions::connect_timeout`]).
        timeout: Duration,
    },
    /// Nothing to dial: connected, or waiting out a delay until the session's next timeout.
    Wait,
    /// The client has stopped for good.
    Stop,
}

/// What follows a failed attempt or a lost connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Try the next endpoint of the round at once.
    Endpoint,
    /// Wait `delay`, then start round number `attempt` (1-based since the last reset).
    Retry {
        /// The attempt that follows the wait.
        attempt: u32,
        /// How long to wait.
        delay: Duration,
    },
    /// Give up for good.
    Stop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting until `at` before the next round (a fresh dialer waits until zero).
    Waiting { at: Duration },
    /// A round is under way: `order[tried]` is the endpoint to try.
    Round,
    /// Connected over `endpoints[index]` since `since`.
    Connected { index: usize, since: Duration },
    /// Given up, or closed by the application.
    Stopped,
}

/// What the policy remembers about the preferred endpoint (the first configured one).
#[derive(Debug, Clone, Copy, Default)]
struct Preferred {
    /// It goes last in every round that starts before this time.
    demoted_until: Option<Duration>,
    /// Consecutive demotions; each doubles the next one.
    demotions: u32,
    /// Its last session was lost without a close code: the next round starts with a fallback.
    lost: bool,
    /// It failed in this round, or was lost just before it: a fallback that connects now
    /// demotes it.
    suspect: bool,
}

/// The connection policy's state (see the module docs).
#[derive(Debug, Clone)]
pub struct Dialer {
    endpoints: Vec<Endpoint>,
    connect_timeout: Duration,
    reconnect: bool,
    backoff: Backoff,
    state: State,
    /// This round's order, as indices into `endpoints`, and how many of them failed.
    order: Vec<usize>,
    tried: usize,
    /// This round's failures: the transport and what went wrong, for people.
    failures: Vec<(TransportKind, String)>,
    preferred: Preferred,
}

impl Dialer {
    /// A dialer for `endpoints` (in order of preference) configured from `options`; it dials the
    /// first round at once.
    pub fn new(endpoints: Vec<Endpoint>, options: &ClientOptions) -> Self {
        let state = if endpoints.is_empty() {
            State::Stopped
        } else {
            State::Waiting { at: Duration::ZERO }
        };
        Self {
            endpoints,
            connect_timeout: options.connect_timeout,
            reconnect: options.reconnect,
            backoff: Backoff::new(options.backoff),
            state,
            order: Vec::new(),
            tried: 0,
            failures: Vec::new(),
            preferred: Preferred::default(),
        }
    }

    /// What to do at `now`.
    pub fn poll(&mut self, now: Duration) -> Dial {
        match self.state {
            State::Stopped => return Dial::Stop,
            State::Connected { .. } => return Dial::Wait,
            State::Waiting { at } if now < at => return Dial::Wait,
            State::Waiting { .. } => self.start_round(now),
            State::Round => {}
        }
        match self.attempting() {
            Some(endpoint) => {
                Dial::Connect { endpoint: endpoint.clone(), timeout: self.connect_timeout }
            }
            None => Dial::Stop,
        }
    }

    /// When the current wait ends, if the dialer is waiting.
    pub fn poll_timeout(&self) -> Option<Duration> {
        match self.state {
            State::Waiting { at } => Some(at),
            _ => None,
        }
    }

    /// The endpoint of the attempt under way.
    pub fn attempting(&self) -> Option<&Endpoint> {
        match self.state {
            State::Round => self.order.get(self.tried).and_then(|&i| self.endpoints.get(i)),
            _ => None,
        }
    }

    /// Whether the preferred endpoint goes last in rounds that start at `now`.
    pub fn is_demoted(&self, now: Duration) -> bool {
        self.preferred.demoted_until.is_some_and(|until| now < until)
    }

    /// Whether the dialer has given up for good.
    pub fn is_stopped(&self) -> bool {
        self.state == State::Stopped
    }

    /// This round's failures as `transport: error`, joined by `; `.
    pub fn failures(&self) -> String {
        let each = self.failures.iter().map(|(kind, error)| format!("{}: {error}", kind.as_str()));
        each.collect::<Vec<_>>().join("; ")
    }

    /// The transport of the last failed attempt.
    pub fn last_failed(&self) -> Option<TransportKind> {
        self.failures.last().map(|(kind, _)| *kind)
    }

    fn start_round(&mut self, now: Duration) {
        self.order = (0..self.endpoints.len()).collect();
        let has_fallback = self.endpoints.len() > 1;
        if has_fallback && (self.preferred.lost || self.is_demoted(now)) {
            self.order.rotate_left(1);
        }
        self.preferred.suspect = std::mem::take(&mut self.preferred.lost);
        self.tried = 0;
        self.failures.clear();
        self.state = State::Round;
    }

    /// A connection over `transport` is up at `now`.
    pub fn handle_connected(&mut self, transport: TransportKind, now: Duration) {
        let handed_out = self.attempting().is_some_and(|e| e.kind == transport);
        let index = match self.order.get(self.tried) {
            Some(&index) if handed_out => index,
            // Not the attempt the dialer handed out (a caller driving the session by hand).
            _ => self.endpoints.iter().position(|e| e.kind == transport).unwrap_or(0),
        };
        if index == 0 {
            self.preferred.demoted_until = None;
            self.preferred.demotions = 0;
        } else if self.preferred.suspect {
            let hold = DEMOTION
                .checked_mul(1 << self.preferred.demotions.min(16))
                .map_or(MAX_DEMOTION, |d| d.min(MAX_DEMOTION));
            self.preferred.demoted_until = Some(now + hold);
            self.preferred.demotions = self.preferred.demotions.saturating_add(1);
        }
        self.preferred.suspect = false;
        self.state = State::Connected { index, since: now };
    }

    /// The attempt handed out by [`Dialer::poll`] failed at `now`.
    pub fn handle_connect_failed(&mut self, failure: &ConnectFailure, now: Duration) -> Next {
        match self.state {
            State::Round => {}
            State::Stopped => return Next::Stop,
            // Not an attempt the dialer handed out (a caller driving the session by hand).
            State::Waiting { .. } | State::Connected { .. } => self.start_round(now),
        }
        let Some(&index) = self.order.get(self.tried) else { return self.stop() };
        let kind = self.endpoints[index].kind;
        self.failures.push((kind, failure.error.clone()));
        if index == 0 {
            self.preferred.suspect = true;
        }
        if failure.is_final() {
            return self.stop();
        }
        self.tried += 1;
        if self.tried < self.order.len() {
            Next::Endpoint
        } else if self.reconnect {
            self.wait(now)
        } else {
            self.stop()
        }
    }

    /// The connection ended at `now` for `reason`; `coded` says whether the server gave any
    /// close code (ours or not), which tells a deliberate close from a lost path.
    pub fn handle_lost(&mut self, reason: Option<CloseReason>, coded: bool, now: Duration) -> Next {
        let (index, since) = match self.state {
            State::Connected { index, since } => (Some(index), since),
            _ => (None, now),
        };
        self.backoff.handle_close(now.saturating_sub(since), reason);
        if index == Some(0) && !coded && self.endpoints.len() > 1 {
            self.preferred.lost = true;
        }
        if self.reconnect && retry_allowed(reason) { self.wait(now) } else { self.stop() }
    }

    /// The application closed the client: nothing more is dialled.
    pub fn handle_close(&mut self) {
        self.state = State::Stopped;
    }

    fn wait(&mut self, now: Duration) -> Next {
        let delay = self.backoff.next_delay();
        self.state = State::Waiting { at: now + delay };
        Next::Retry { attempt: self.backoff.attempt(), delay }
    }

    fn stop(&mut self) -> Next {
        self.state = State::Stopped;
        Next::Stop
    }
}

#[cfg(test)]
mod tests;
