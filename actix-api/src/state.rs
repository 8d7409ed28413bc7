//! What every request handler can reach.

use std::sync::Arc;

use tokio::sync::watch;
use videocall_access::Access;
use videocall_relay::Relay;
use webtransport_server::CertificateHash;

use crate::config::Config;
use crate::meetings::Meetings;
use crate::meetings::limit::Limits;
use crate::origin::OriginPolicy;
use crate::refused::Refused;
use crate::tokens::ApiKey;

/// Shared state of the HTTP app.
pub(crate) struct AppState {
    pub(crate) relay: Relay,
    pub(crate) config: Arc<Config>,
    /// SHA-256 of the embedded WebTransport listener's current certificate, when it runs here
    /// (a self-signed one changes at each renewal).
    pub(crate) certificate_hash: Option<watch::Receiver<CertificateHash>>,
    /// The port of the embedded WebTransport listener, when it runs here.
    pub(crate) webtransport_port: Option<u16>,
    /// Which origins may open WebSockets (`ALLOWED_ORIGINS`).
    pub(crate) origins: OriginPolicy,
    /// Requests refused before any room work.
    pub(crate) refused: Refused,
    /// Who may join (tokens, `AUTH_REQUIRED`); counts its refusals.
    pub(crate) access: Access,
    /// The operator key that may mint tokens (`API_KEY`).
    pub(crate) api_key: Option<ApiKey>,
    /// The meetings store: the check of every join, the history, the meeting API.
    pub(crate) meetings: Arc<Meetings>,
    /// Per-address rate limits of the public meeting endpoints.
    pub(crate) api_limits: Limits,
}

impl AppState {
    /// The hash of the certificate the WebTransport listener serves now.
    pub(crate) fn certificate_hash(&self) -> Option<[u8; 32]> {
        self.certificate_hash.as_ref().map(|hash| *hash.borrow().as_bytes())
    }
}
