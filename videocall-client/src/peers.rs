//! The peer table: who else is in the room, fed by received packets and server notices, with a
//! liveness sweep. Pure: `now` is a [`Duration`] since any fixed origin, passed in by the caller.
//!
//! A peer appears on `Welcome`/`joined` or with its first packet, and disappears on `left`, when
//! a fresh `Welcome` no longer lists it, or when nothing was heard from it for `timeout` (so old
//! servers without control messages still work). The table holds at most `max_peers` peers
//! (default [`DEFAULT_MAX_PEERS`]); further peers are refused whether a join notice, a `Welcome`
//! or a packet announces them: nothing of theirs is stored or delivered, and each refusal is
//! counted ([`PeerTable::take_refused`]) so the caller can export it.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use videocall_types::{PacketWrapper, SessionId};

use crate::event::{Event, LeaveReason, MediaFlags, PeerInfo, PeerKey};
use crate::packet::sender_key;

/// The default limit on the number of peers: far above what a browser can decode and show
/// (a few dozen streams), small enough that a flood of fake participants (forged senders
/// behind an old server, a hostile bus) costs a bounded amount of memory and per-peer work.
pub const DEFAULT_MAX_PEERS: usize = 256;

/// How many of our own session ids (current and past connections) are remembered, so a stale
/// entry for a previous connection of ours is never shown as a peer.
const OWN_SESSIONS: usize = 8;

#[derive(Debug, Clone)]
struct Peer {
    user: String,
    name: String,
    host: bool,
    flags: Option<MediaFlags>,
    last_heard: Duration,
}

impl Peer {
    fn info(&self, key: &PeerKey) -> PeerInfo {
        PeerInfo {
            key: key.clone(),
            user: self.user.clone(),
            name: self.name.clone(),
            host: self.host,
        }
    }
}

/// Everyone else in the room, keyed by [`PeerKey`].
#[derive(Debug, Clone)]
pub struct PeerTable {
    // A BTreeMap so that sweeps report peers in a deterministic order.
    peers: BTreeMap<PeerKey, Peer>,
    timeout: Duration,
    max_peers: usize,
    own: VecDeque<SessionId>,
    /// Peers refused because the table was full, since the last `take_refused`.
    refused: u64,
}

impl PeerTable {
    /// An empty table whose peers expire after `timeout` of silence.
    pub fn new(timeout: Duration, max_peers: usize) -> Self {
        Self { peers: BTreeMap::new(), timeout, max_peers, own: VecDeque::new(), refused: 0 }
    }

    /// How many peers are present.
    pub fn len(&self) -> usize {
        self.peers.len()
    }

    /// Whether nobody else is present.
    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }

    /// How many peers were refused because the table was full since the last call.
    pub fn take_refused(&mut self) -> u64 {
        std::mem::take(&mut self.refused)
    }

    /// Whether `key` is present.
    pub fn contains(&self, key: &PeerKey) -> bool {
        self.peers.contains_key(key)
    }

    /// The last flags `key` announced, if it is present and has sent a readable heartbeat.
    pub fn flags(&self, key: &PeerKey) -> Option<MediaFlags> {
        self.peers.get(key).and_then(|p| p.flags)
    }

    /// The present peers, ordered by key.
    pub fn iter(&self) -> impl Iterator<Item = PeerInfo> + '_ {
        self.peers.iter().map(|(key, p)| p.info(key))
    }

    /// Records this connection's own session id; it is never treated as a peer.
    fn set_own_session(&mut self, id: SessionId, out: &mut Vec<Event>) {
        if !self.own.contains(&id) {
            if self.own.len() == OWN_SESSIONS {
                self.own.pop_front();
            }
            self.own.push_back(id);
        }
        // Cannot happen with a correct server; keep the application's view truthful if it does.
        self.remove(&PeerKey::Session(id), LeaveReason::Absent, out);
    }

    fn is_own(&self, key: &PeerKey) -> bool {
        matches!(key, PeerKey::Session(id) if self.own.contains(id))
    }

    /// Notes a packet from a peer (with the flags, if it is a readable heartbeat). Returns the
    /// sender's key when the packet should be delivered, `None` when it is refused (our own
    /// session, or an unknown sender while the table is full).
    pub fn handle_packet(
        &mut self,
        wrapper: &PacketWrapper,
        flags: Option<MediaFlags>,
        now: Duration,
        out: &mut Vec<Event>,
    ) -> Option<PeerKey> {
        let key = sender_key(wrapper);
        if !self.touch(&PeerInfo::anonymous(key.clone(), &wrapper.email), false, now, out) {
            return None;
        }
        if let (Some(flags), Some(peer)) = (flags, self.peers.get_mut(&key))
            && peer.flags != Some(flags)
        {
            peer.flags = Some(flags);
            out.push(Event::PeerFlags { peer: key.clone(), flags });
        }
        Some(key)
    }

    /// The server says `peer` joined.
    pub fn handle_joined(&mut self, peer: &PeerInfo, now: Duration, out: &mut Vec<Event>) {
        self.touch(peer, true, now, out);
    }

    /// The server says `peer` left.
    pub fn handle_left(&mut self, peer: &PeerKey, out: &mut Vec<Event>) {
        self.remove(peer, LeaveReason::Left, out);
    }

    /// A `Welcome` on a (re)connection: adds the listed peers and drops session-keyed peers it
    /// no longer lists (peers keyed by email come from old servers and keep their timeout).
    pub fn handle_welcome(
        &mut self,
        you: Option<SessionId>,
        participants: &[PeerInfo],
        now: Duration,
        out: &mut Vec<Event>,
    ) {
        if let Some(id) = you {
            self.set_own_session(id, out);
        }
        let absent: Vec<PeerKey> = self
            .peers
            .keys()
            .filter(|k| matches!(k, PeerKey::Session(_)))
            .filter(|k| !participants.iter().any(|p| &p.key == *k))
            .cloned()
            .collect();
        for key in absent {
            self.remove(&key, LeaveReason::Absent, out);
        }
        for peer in participants {
            self.touch(peer, true, now, out);
        }
    }

    /// Removes every peer not heard from for the timeout.
    pub fn handle_timeout(&mut self, now: Duration, out: &mut Vec<Event>) {
        let expired: Vec<PeerKey> = self
            .peers
            .iter()
            .filter(|(_, p)| now.saturating_sub(p.last_heard) >= self.timeout)
            .map(|(k, _)| k.clone())
            .collect();
        for key in expired {
            self.remove(&key, LeaveReason::TimedOut, out);
        }
    }

    /// When the next peer would expire if nothing more is heard.
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.peers.values().map(|p| p.last_heard + self.timeout).min()
    }

    /// Marks `info.key` as heard at `now`, adding it if new. An `announced` peer (the server
    /// told its name and role) updates what is known; a change is reported as a repeated
    /// [`Event::PeerJoined`] (its media may have arrived before the announcement). False when
    /// the peer is refused.
    fn touch(
        &mut self,
        info: &PeerInfo,
        announced: bool,
        now: Duration,
        out: &mut Vec<Event>,
    ) -> bool {
        let key = &info.key;
        if self.is_own(key) {
            return false;
        }
        if let Some(peer) = self.peers.get_mut(key) {
            peer.last_heard = peer.last_heard.max(now);
            if announced && (peer.name != info.name || peer.host != info.host) {
                peer.name.clone_from(&info.name);
                peer.host = info.host;
                out.push(Event::PeerJoined(info.clone()));
            }
            return true;
        }
        if self.peers.len() >= self.max_peers {
            self.refused += 1;
            return false;
        }
        let peer = Peer {
            user: info.user.clone(),
            name: info.name.clone(),
            host: info.host,
            flags: None,
            last_heard: now,
        };
        self.peers.insert(key.clone(), peer);
        out.push(Event::PeerJoined(info.clone()));
        true
    }

    fn remove(&mut self, key: &PeerKey, reason: LeaveReason, out: &mut Vec<Event>) {
        if let Some(peer) = self.peers.remove(key) {
            out.push(Event::PeerLeft { peer: peer.info(key), reason });
        }
    }
}

#[cfg(test)]
mod tests;
