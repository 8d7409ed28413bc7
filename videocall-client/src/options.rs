//! What a client is configured with: who, where, over which transport, and its limits.

use std::time::Duration;

use url::Url;
use videocall_types::{DisplayName, RoomId, UserId};

use crate::backoff::BackoffConfig;
use crate::event::TransportKind;
use crate::lobby::{self, LobbyError};
use crate::peers::DEFAULT_MAX_PEERS;

/// Which transport to connect with. URLs are server bases (`wss://host`, `https://host:4433`);
/// the lobby path `/lobby/{user}/{room}` is appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportChoice {
    /// WebSocket only (`ws`/`wss`, or `http`/`https` which are mapped to them).
    WebSocket {
        /// The server base URL.
        url: Url,
    },
    /// WebTransport only (`https`).
    WebTransport {
        /// The server base URL.
        url: Url,
        /// SHA-256 of the server's self-signed certificate; `None` validates against the
        /// system's root certificates.
        cert_hash: Option<[u8; 32]>,
    },
    /// WebTransport first, WebSocket when that fails to connect or a WebTransport session is
    /// lost; WebTransport goes last for a while where it failed and WebSocket worked (see
    /// [`crate::dial`]).
    Auto {
        /// The WebTransport server base URL.
        webtransport: Url,
        /// As for [`TransportChoice::WebTransport`].
        cert_hash: Option<[u8; 32]>,
        /// The WebSocket server base URL.
        websocket: Url,
    },
}

/// One transport to try, with its full lobby URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The transport.
    pub kind: TransportKind,
    /// The lobby URL.
    pub url: Url,
    /// The certificate hash to trust (WebTransport only).
    pub cert_hash: Option<[u8; 32]>,
}

/// Everything a client needs; [`ClientOptions::new`] fills in the defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// Who this client is.
    pub user: UserId,
    /// The room to join.
    pub room: RoomId,
    /// The display name others see (`?name=`; a server in open mode takes it, a join token
    /// brings its own). Default: none, the user id is shown.
    pub name: Option<DisplayName>,
    /// How to reach the server.
    pub transport: TransportChoice,
    /// How often to send a heartbeat (default 1 s).
    pub heartbeat_interval: Duration,
    /// A peer silent for this long is gone (default 5 s).
    pub peer_timeout: Duration,
    /// Give up a connection attempt after this long (default 5 s).
    pub connect_timeout: Duration,
    /// Reconnect delays (default 250 ms doubling to 10 s, jitter seeded from user and room).
    pub backoff: BackoffConfig,
    /// Ask the server for extensions (`?ext=1`, default true); false speaks the old protocol.
    pub ext: bool,
    /// Over WebTransport, ask for several packets per stream (`?streams=1`, see
    /// `videocall_types::framing`). Default true on native targets; false in the browser,
    /// whose WebTransport link does not speak it yet.
    pub wt_streams: bool,
    /// Reconnect after a lost connection or a failed attempt (default true).
    pub reconnect: bool,
    /// Capacity of the event queue to the application (default 1024).
    pub event_capacity: usize,
    /// Capacity of the outgoing packet queue (default 256).
    pub send_capacity: usize,
    /// Most peers tracked at once (default [`DEFAULT_MAX_PEERS`], 256); more are refused and
    /// counted in [`crate::Stats::refused_peers`].
    pub max_peers: usize,
}

impl ClientOptions {
    /// Options with the defaults documented on each field.
    pub fn new(user: UserId, room: RoomId, transport: TransportChoice) -> Self {
        let seed = fnv1a(&[user.as_str().as_bytes(), b"/", room.as_str().as_bytes()]);
        Self {
            user,
            room,
            name: None,
            transport,
            heartbeat_interval: Duration::from_secs(1),
            peer_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            backoff: BackoffConfig { jitter_seed: Some(seed), ..BackoffConfig::default() },
            ext: true,
            wt_streams: cfg!(not(target_arch = "wasm32")),
            reconnect: true,
            event_capacity: 1024,
            send_capacity: 256,
            max_peers: DEFAULT_MAX_PEERS,
        }
    }

    /// The transports to try, in order of preference, with their lobby URLs.
    pub fn endpoints(&self) -> Result<Vec<Endpoint>, LobbyError> {
        let make = |kind, base: &Url, cert_hash| {
            let mut url = lobby::url(base, kind, &self.user, &self.room, self.ext)?;
            if kind == TransportKind::WebTransport && self.wt_streams {
                url.query_pairs_mut().append_pair("streams", "1");
            }
            if let Some(name) = &self.name {
                url.query_pairs_mut().append_pair("name", name.as_str());
            }
            Ok(Endpoint { kind, url, cert_hash })
        };
        match &self.transport {
            TransportChoice::WebSocket { url } => {
                Ok(vec![make(TransportKind::WebSocket, url, None)?])
            }
            TransportChoice::WebTransport { url, cert_hash } => {
                Ok(vec![make(TransportKind::WebTransport, url, *cert_hash)?])
            }
            TransportChoice::Auto { webtransport, cert_hash, websocket } => Ok(vec![
                make(TransportKind::WebTransport, webtransport, *cert_hash)?,
                make(TransportKind::WebSocket, websocket, None)?,
            ]),
        }
    }
}

/// FNV-1a over `parts`: a stable, dependency-free seed.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    parts.iter().flat_map(|p| p.iter()).fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn options(transport: TransportChoice) -> ClientOptions {
        ClientOptions::new(UserId::new("alice").unwrap(), RoomId::new("r1").unwrap(), transport)
    }

    #[test]
    fn auto_tries_webtransport_then_websocket() {
        let opts = options(TransportChoice::Auto {
            webtransport: Url::parse("https://h:4433").unwrap(),
            cert_hash: Some([1; 32]),
            websocket: Url::parse("ws://h:8080").unwrap(),
        });
        let opts = ClientOptions { wt_streams: false, ..opts };
        let endpoints = opts.endpoints().unwrap();
        let summary: Vec<(TransportKind, &str, bool)> =
            endpoints.iter().map(|e| (e.kind, e.url.as_str(), e.cert_hash.is_some())).collect();
        assert_eq!(
            summary,
            [
                (TransportKind::WebTransport, "https://h:4433/lobby/alice/r1?ext=1", true),
                (TransportKind::WebSocket, "ws://h:8080/lobby/alice/r1?ext=1", false),
            ]
        );
    }

    #[test]
    fn webtransport_asks_for_framed_streams_where_the_link_speaks_them() {
        let opts = options(TransportChoice::Auto {
            webtransport: Url::parse("https://h:4433").unwrap(),
            cert_hash: None,
            websocket: Url::parse("ws://h:8080").unwrap(),
        });
        let urls: Vec<String> =
            opts.endpoints().unwrap().iter().map(|e| e.url.to_string()).collect();
        if cfg!(target_arch = "wasm32") {
            assert_eq!(urls[0], "https://h:4433/lobby/alice/r1?ext=1");
        } else {
            assert_eq!(urls[0], "https://h:4433/lobby/alice/r1?ext=1&streams=1");
        }
        assert_eq!(urls[1], "ws://h:8080/lobby/alice/r1?ext=1", "WebSocket never asks");
    }

    #[test]
    fn a_display_name_rides_in_the_query_escaped() {
        let mut opts = options(TransportChoice::WebSocket { url: Url::parse("ws://h").unwrap() });
        opts.name = Some(DisplayName::new("José & Zoë").unwrap());
        let url = opts.endpoints().unwrap().remove(0).url;
        assert_eq!(url.as_str(), "ws://h/lobby/alice/r1?ext=1&name=Jos%C3%A9+%26+Zo%C3%AB");
    }

    #[test]
    fn clients_get_different_jitter_seeds() {
        let ws = TransportChoice::WebSocket { url: Url::parse("ws://h").unwrap() };
        let a = options(ws.clone());
        let b = ClientOptions::new(UserId::new("bob").unwrap(), RoomId::new("r1").unwrap(), ws);
        assert_ne!(a.backoff.jitter_seed, b.backoff.jitter_seed);
        assert!(a.ext && a.reconnect);
    }
}
