//! The WebTransport (HTTP/3) transport of the videocall relay.
//!
//! A client opens a WebTransport session at `/lobby/{user}/{room}` (add `?ext=1` for the SERVER
//! packets of the protocol extensions). It then sends one serialized `PacketWrapper` per
//! unidirectional stream (or per datagram), and receives one per unidirectional stream from the
//! server. Everything else — checks, identity stamping, fan-out, drop policy — is the
//! [`videocall_relay`] core's; this crate only translates streams into
//! [`videocall_relay::connection::serve`] calls.
//!
//! [`run`] takes an already-bound UDP socket, an [`Identity`] (PEM files, or a self-signed
//! certificate browsers trust through its [`CertificateHash`]), a [`Config`] and a relay, and
//! serves until its shutdown future resolves. Connections close with the application error
//! code and text of their `videocall_types::CloseReason`.

mod config;
mod framed_incoming;
mod framed_outgoing;
mod identity;
mod incoming;
mod lobby;
mod outgoing;
mod server;
mod session;

pub use config::Config;
pub use identity::{
    CertificateHash, Identity, LOCAL_NAMES, RENEW_EVERY, SELF_SIGNED_VALIDITY_DAYS,
    SelfSignedRenewal,
};
pub use server::run;

/// Why the WebTransport listener could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The certificate or key file could not be read or parsed.
    #[error("cannot load certificate or key: {0}")]
    Pem(#[from] wtransport::tls::error::PemLoadError),
    /// The certificate file holds no certificate.
    #[error("the certificate file holds no certificate")]
    NoCertificate,
    /// A name for the self-signed certificate is neither a host name nor an IP address.
    #[error("invalid certificate subject alternative name")]
    InvalidName,
    /// `Config::max_idle_timeout` is beyond what QUIC can express.
    #[error("QUIC idle timeout out of range")]
    IdleTimeout,
    /// A flow-control window in `Config` is beyond what QUIC can express (2^62 - 1 bytes).
    #[error("QUIC window of {0} bytes out of range")]
    Window(u64),
    /// The QUIC endpoint could not be set up on the socket.
    #[error("cannot start the QUIC endpoint: {0}")]
    Endpoint(#[source] std::io::Error),
}
