//! What every request handler can reach.

use std::sync::Arc;

use videocall_relay::Relay;

use crate::config::Config;

/// Shared state of the HTTP app.
pub(crate) struct AppState {
    pub(crate) relay: Relay,
    pub(crate) config: Arc<Config>,
    /// SHA-256 of the embedded WebTransport listener's certificate, when it runs here.
    pub(crate) certificate_hash: Option<[u8; 32]>,
    /// The port of the embedded WebTransport listener, when it runs here.
    pub(crate) webtransport_port: Option<u16>,
}
