//! Connection admission: caps on open connections, in total and per client address, checked
//! before a transport does any room work (and, for WebSocket, before the upgrade).
//!
//! A [`Permit`] is one admitted connection; dropping it frees its place. Addresses are counted
//! per IPv4 address and per IPv6 /64 (one host usually owns a whole /64, so counting single
//! IPv6 addresses would let it open a connection from each). An IPv4 address mapped into IPv6
//! counts as that IPv4 address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use videocall_types::CloseReason;

/// Connection caps of one server instance.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Open connections on this instance.
    pub max_connections: usize,
    /// Open connections from one IPv4 address or one IPv6 /64.
    pub max_per_ip: usize,
    /// Participants in one room, on all instances together (as far as this instance knows).
    pub max_room_size: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        // 5000 connections at the outbox bounds stay within a few GiB in the very worst case
        // (see the README's memory table) and far above what one core can relay; 64 per
        // address leaves room for an office behind one NAT; 1000 per room is a webinar.
        Self { max_connections: 5000, max_per_ip: 64, max_room_size: 1000 }
    }
}

/// The address key connections are counted under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Source {
    V4(u32),
    /// The upper 64 bits of an IPv6 address.
    V6(u64),
}

impl From<IpAddr> for Source {
    fn from(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => Source::V4(v4.to_bits()),
            IpAddr::V6(v6) => Source::V6((v6.to_bits() >> 64) as u64),
        }
    }
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    /// Only addresses with an open connection: an entry goes when its count reaches zero.
    per_source: HashMap<Source, usize>,
}

/// Counts open connections against [`ConnectionLimits`]; cheap to share.
#[derive(Debug)]
pub(crate) struct Admission {
    limits: ConnectionLimits,
    counts: Mutex<Counts>,
}

impl Admission {
    pub(crate) fn new(limits: ConnectionLimits) -> Arc<Self> {
        Arc::new(Self { limits, counts: Mutex::new(Counts::default()) })
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a place for a connection from `ip`, or says which limit refuses it.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Permit, CloseReason> {
        let source = Source::from(ip);
        let mut counts = self.counts();
        let from_source = counts.per_source.get(&source).copied().unwrap_or(0);
        if counts.total >= self.limits.max_connections || from_source >= self.limits.max_per_ip {
            return Err(CloseReason::TooManyConnections);
        }
        counts.total += 1;
        counts.per_source.insert(source, from_source + 1);
        Ok(Permit { admission: self.clone(), source })
    }

    /// Open connections and distinct sources, for tests and metrics.
    pub(crate) fn open(&self) -> (usize, usize) {
        let counts = self.counts();
        (counts.total, counts.per_source.len())
    }

    pub(crate) fn limits(&self) -> ConnectionLimits {
        self.limits
    }
}

/// One admitted connection; dropping it frees the place.
#[derive(Debug)]
pub struct Permit {
    admission: Arc<Admission>,
    source: Source,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut counts = self.admission.counts();
        counts.total = counts.total.saturating_sub(1);
        if let std::collections::hash_map::Entry::Occupied(mut entry) =
            counts.per_source.entry(self.source)
        {
            *entry.get_mut() -= 1;
            if *entry.get() == 0 {
                entry.remove();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admission(max_connections: usize, max_per_ip: usize) -> Arc<Admission> {
        Admission::new(ConnectionLimits { max_connections, max_per_ip, max_room_size: 10 })
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn one_address_cannot_take_more_than_its_share() {
        let admission = admission(10, 2);
        let a = admission.admit(ip("10.0.0.1")).unwrap();
        let _b = admission.admit(ip("10.0.0.1")).unwrap();
        assert_eq!(admission.admit(ip("10.0.0.1")).unwrap_err(), CloseReason::TooManyConnections);
        // Another address is unaffected; a freed place can be taken again.
        let _c = admission.admit(ip("10.0.0.2")).unwrap();
        drop(a);
        let _d = admission.admit(ip("10.0.0.1")).unwrap();
        assert_eq!(admission.open(), (3, 2));
    }

    #[test]
    fn the_total_is_capped_across_addresses() {
        let admission = admission(2, 5);
        let _a = admission.admit(ip("10.0.0.1")).unwrap();
        let _b = admission.admit(ip("10.0.0.2")).unwrap();
        assert!(admission.admit(ip("10.0.0.3")).is_err());
    }

    #[test]
    fn an_ipv6_host_counts_as_its_slash_64() {
        let admission = admission(10, 2);
        let _a = admission.admit(ip("2001:db8::1")).unwrap();
        let _b = admission.admit(ip("2001:db8::ffff:2")).unwrap();
        assert!(admission.admit(ip("2001:db8::3")).is_err());
        assert!(admission.admit(ip("2001:db8:0:1::1")).is_ok());
    }

    #[test]
    fn a_mapped_ipv4_address_counts_as_that_address() {
        let admission = admission(10, 1);
        let _a = admission.admit(ip("127.0.0.1")).unwrap();
        assert!(admission.admit(ip("::ffff:127.0.0.1")).is_err());
    }

    #[test]
    fn closing_every_connection_leaves_no_entries() {
        let admission = admission(100, 100);
        let permits: Vec<_> =
            (0..50).map(|n| admission.admit(ip(&format!("10.0.0.{n}"))).unwrap()).collect();
        assert_eq!(admission.open(), (50, 50));
        drop(permits);
        assert_eq!(admission.open(), (0, 0));
    }
}
