//! Rate limits of the public meeting endpoints, per client address: a token bucket per
//! endpoint class and client, refilled at `per_minute / 60` requests a second up to
//! `per_minute` (the burst a client may spend at once).
//!
//! Policy without I/O: time is passed in. IPv6 clients are counted per /64, the block one
//! subscriber usually gets, so a client cannot rotate addresses within it to escape the limit.
//!
//! | table state | a request from a client not in it |
//! |---|---|
//! | fewer than [`MAX_CLIENTS`] clients | gets a full bucket |
//! | full | buckets that refilled completely (idle clients) are dropped first; if none was, the request is refused and counted as `table_full` |

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

/// Most clients tracked at once, per endpoint class (about 40 bytes each: under 4 MiB for the
/// three classes).
pub(crate) const MAX_CLIENTS: usize = 32_768;

/// A public endpoint group with its own budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Endpoint {
    /// `POST /api/v1/meetings`.
    Create,
    /// `POST /api/v1/meetings/{id}/join`.
    Join,
    /// `GET /api/v1/meetings/{id}/waiting/{entry}` (and `GET /api/v1/meetings/{id}`).
    Poll,
}

impl Endpoint {
    /// Every class, in counter order.
    pub(crate) const ALL: [Self; 3] = [Self::Create, Self::Join, Self::Poll];

    /// The `endpoint` label.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Join => "join",
            Self::Poll => "poll",
        }
    }
}

/// What a client is counted as: an IPv4 address or an IPv6 /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Client {
    V4(u32),
    V6(u64),
}

impl From<IpAddr> for Client {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self::V4(v4.to_bits()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::V4(v4.to_bits()),
                None => Self::V6((v6.to_bits() >> 64) as u64),
            },
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limited {
    /// The client spent its budget.
    Rate,
    /// Too many clients are tracked to take a new one.
    TableFull,
}

/// The limits of every endpoint class.
#[derive(Debug)]
pub(crate) struct Limits {
    per_minute: u32,
    max_clients: usize,
    tables: [Mutex<HashMap<Client, Bucket>>; Endpoint::ALL.len()],
}

impl Limits {
    /// `per_minute` requests per client and endpoint class; 0 turns the limits off.
    pub(crate) fn new(per_minute: u32) -> Self {
        Self::with_capacity(per_minute, MAX_CLIENTS)
    }

    fn with_capacity(per_minute: u32, max_clients: usize) -> Self {
        Self { per_minute, max_clients, tables: Default::default() }
    }

    /// Takes one request of `ip` to `endpoint` at `now` from its budget, or says why not.
    pub(crate) fn check(
        &self,
        endpoint: Endpoint,
        ip: IpAddr,
        now: Instant,
    ) -> Result<(), Limited> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let burst = f64::from(self.per_minute);
        let per_sec = burst / 60.0;
        let refill = |bucket: &Bucket| {
            let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
            (bucket.tokens + elapsed * per_sec).min(burst)
        };
        let mut table = self.tables[endpoint as usize]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let client = Client::from(ip);
        if !table.contains_key(&client) && table.len() >= self.max_clients {
            table.retain(|_, bucket| refill(bucket) < burst);
            if table.len() >= self.max_clients {
                return Err(Limited::TableFull);
            }
        }
        let bucket = table.entry(client).or_insert(Bucket { tokens: burst, at: now });
        let tokens = refill(bucket);
        if tokens < 1.0 {
            return Err(Limited::Rate);
        }
        *bucket = Bucket { tokens: tokens - 1.0, at: now };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_client_spends_its_burst_then_gets_a_request_per_refill() {
        let limits = Limits::new(6);
        let t0 = Instant::now();
        for _ in 0..6 {
            assert_eq!(limits.check(Endpoint::Join, ip("192.0.2.1"), t0), Ok(()));
        }
        assert_eq!(limits.check(Endpoint::Join, ip("192.0.2.1"), t0), Err(Limited::Rate));
        // Other clients and other endpoints have their own budgets.
        assert_eq!(limits.check(Endpoint::Join, ip("192.0.2.2"), t0), Ok(()));
        assert_eq!(limits.check(Endpoint::Create, ip("192.0.2.1"), t0), Ok(()));
        // 6 a minute: one more every 10 s.
        let later = t0 + Duration::from_secs(10);
        assert_eq!(limits.check(Endpoint::Join, ip("192.0.2.1"), later), Ok(()));
        assert_eq!(limits.check(Endpoint::Join, ip("192.0.2.1"), later), Err(Limited::Rate));
    }

    #[test]
    fn an_ipv6_subscriber_is_one_client_however_many_addresses_it_uses() {
        let limits = Limits::new(2);
        let t0 = Instant::now();
        assert!(limits.check(Endpoint::Create, ip("2001:db8:0:1::1"), t0).is_ok());
        assert!(limits.check(Endpoint::Create, ip("2001:db8:0:1::2"), t0).is_ok());
        assert_eq!(limits.check(Endpoint::Create, ip("2001:db8:0:1::3"), t0), Err(Limited::Rate));
        assert!(limits.check(Endpoint::Create, ip("2001:db8:0:2::1"), t0).is_ok());
        // A mapped IPv4 address is that IPv4 client.
        assert!(limits.check(Endpoint::Poll, ip("::ffff:192.0.2.9"), t0).is_ok());
        assert!(limits.check(Endpoint::Poll, ip("192.0.2.9"), t0).is_ok());
        assert_eq!(limits.check(Endpoint::Poll, ip("192.0.2.9"), t0), Err(Limited::Rate));
    }

    #[test]
    fn a_full_table_makes_room_from_idle_clients_or_refuses() {
        let limits = Limits::with_capacity(60, 2);
        let t0 = Instant::now();
        assert!(limits.check(Endpoint::Join, ip("192.0.2.1"), t0).is_ok());
        assert!(limits.check(Endpoint::Join, ip("192.0.2.2"), t0).is_ok());
        assert_eq!(limits.check(Endpoint::Join, ip("192.0.2.3"), t0), Err(Limited::TableFull));
        // Known clients still get their budget.
        assert!(limits.check(Endpoint::Join, ip("192.0.2.1"), t0).is_ok());
        // Once the first two have refilled they are forgotten to make room.
        let later = t0 + Duration::from_secs(5);
        assert!(limits.check(Endpoint::Join, ip("192.0.2.3"), later).is_ok());
    }

    #[test]
    fn zero_turns_the_limits_off() {
        let limits = Limits::new(0);
        for _ in 0..1000 {
            assert!(limits.check(Endpoint::Create, ip("192.0.2.1"), Instant::now()).is_ok());
        }
    }
}
