//! The server's TLS identity: a PEM certificate and key from files, or a self-signed certificate
//! that browsers accept through `serverCertificateHashes`.
//!
//! Browsers accept a certificate by hash only when it is ECDSA (P-256) and valid for at most 14
//! days, so [`Identity::self_signed`] makes exactly that, and [`CertificateHash`] gives its
//! SHA-256 in the forms a web page needs.

use std::fmt;
use std::path::Path;

use wtransport::tls::self_signed::time::{Duration, OffsetDateTime};

use crate::Error;

/// Longest validity browsers accept for a certificate trusted by its hash.
pub const SELF_SIGNED_VALIDITY_DAYS: i64 = 14;

/// Names every self-signed certificate covers, besides the ones the caller adds.
pub const LOCAL_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// How far before "now" a self-signed certificate starts, for clients whose clock is a little
/// behind; the total validity stays [`SELF_SIGNED_VALIDITY_DAYS`].
const BACKDATE: Duration = Duration::minutes(1);

/// A certificate chain and its private key, ready for [`crate::run`].
#[derive(Debug)]
pub struct Identity {
    inner: wtransport::Identity,
}

impl Identity {
    /// Loads a PEM certificate chain and a PEM private key.
    pub async fn load_pem(
        cert_path: impl AsRef<Path>,
        key_path: impl AsRef<Path>,
    ) -> Result<Self, Error> {
        let inner = wtransport::Identity::load_pemfiles(cert_path, key_path).await?;
        if inner.certificate_chain().as_slice().is_empty() {
            return Err(Error::NoCertificate);
        }
        Ok(Self { inner })
    }

    /// Generates an ECDSA P-256 certificate valid for 14 days from now, for [`LOCAL_NAMES`] and
    /// `extra_names` (host names or IP addresses).
    pub fn self_signed<S: AsRef<str>>(extra_names: &[S]) -> Result<Self, Error> {
        let names = LOCAL_NAMES.iter().copied().chain(extra_names.iter().map(AsRef::as_ref));
        // Whole seconds, so the encoded validity is exactly 14 days (X.509 times have no
        // fractions).
        let not_before = OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .unwrap_or_else(|_| OffsetDateTime::now_utc())
            - BACKDATE;
        let inner = wtransport::Identity::self_signed_builder()
            .subject_alt_names(names)
            .not_before(not_before)
            .offset_from_not_before(Duration::days(SELF_SIGNED_VALIDITY_DAYS))
            .build()
            .map_err(|_| Error::InvalidName)?;
        Ok(Self { inner })
    }

    /// The DER encoding of the leaf certificate.
    pub fn certificate_der(&self) -> &[u8] {
        self.leaf().der()
    }

    /// The SHA-256 of the leaf certificate, for `serverCertificateHashes`.
    pub fn certificate_hash(&self) -> CertificateHash {
        CertificateHash(*self.leaf().hash().as_ref())
    }

    fn leaf(&self) -> &wtransport::tls::Certificate {
        // Both constructors guarantee at least one certificate.
        &self.inner.certificate_chain().as_slice()[0]
    }

    pub(crate) fn into_inner(self) -> wtransport::Identity {
        self.inner
    }
}

/// Keeps a self-signed identity acceptable to browsers: [`crate::run`] swaps in a fresh
/// certificate every [`SelfSignedRenewal::interval`] (12 days by default, two before browsers
/// would refuse the old one), without disturbing open connections, and publishes each new hash
/// on a watch channel for whatever hands hashes to pages. A page that still holds the old hash
/// fails its next WebTransport attempt and falls back to WebSocket until it reloads.
#[derive(Debug, Clone)]
pub struct SelfSignedRenewal {
    names: Vec<String>,
    interval: std::time::Duration,
    hash: tokio::sync::watch::Sender<CertificateHash>,
}

/// Time between two renewals of a self-signed certificate.
pub const RENEW_EVERY: std::time::Duration = std::time::Duration::from_secs(12 * 24 * 3600);

impl SelfSignedRenewal {
    /// A first self-signed identity for [`LOCAL_NAMES`] and `extra_names`, and its renewal.
    pub fn start(extra_names: Vec<String>) -> Result<(Identity, Self), Error> {
        let identity = Identity::self_signed(&extra_names)?;
        let (hash, _) = tokio::sync::watch::channel(identity.certificate_hash());
        Ok((identity, Self { names: extra_names, interval: RENEW_EVERY, hash }))
    }

    /// Renews every `interval` instead (tests; at most the certificate's 14-day validity).
    pub fn with_interval(mut self, interval: std::time::Duration) -> Self {
        self.interval = interval.min(RENEW_EVERY);
        self
    }

    /// Time between two renewals.
    pub fn interval(&self) -> std::time::Duration {
        self.interval
    }

    /// The hash of the certificate served now, updated at each renewal.
    pub fn hash(&self) -> tokio::sync::watch::Receiver<CertificateHash> {
        self.hash.subscribe()
    }

    /// A fresh certificate; its hash is published once the endpoint serves it ([`Self::publish`]).
    pub(crate) fn renew(&self) -> Result<Identity, Error> {
        Identity::self_signed(&self.names)
    }

    pub(crate) fn publish(&self, hash: CertificateHash) {
        self.hash.send_replace(hash);
    }
}

/// The SHA-256 digest of a DER certificate.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CertificateHash([u8; 32]);

impl CertificateHash {
    /// The raw digest (a browser passes it as `value` with `algorithm: "sha-256"`).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex, 64 characters.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Standard base64 with padding, 44 characters (decode with `atob` in a page).
    pub fn to_base64(&self) -> String {
        base64(&self.0)
    }
}

impl fmt::Debug for CertificateHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CertificateHash({})", self.to_hex())
    }
}

impl fmt::Display for CertificateHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl From<[u8; 32]> for CertificateHash {
    fn from(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

/// RFC 4648 base64 with padding; small enough not to need a dependency.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = u32::from_be_bytes([0, b[0], b[1], b[2]]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
        assert_eq!(base64(&[0xfb, 0xff, 0xbf]), "+/+/");
    }

    #[test]
    fn hash_renders_as_hex_and_base64() {
        let mut bytes = [0u8; 32];
        bytes[0] = 0xab;
        bytes[31] = 0x01;
        let hash = CertificateHash::from(bytes);
        assert_eq!(hash.to_hex(), format!("ab{}01", "00".repeat(30)));
        assert_eq!(hash.to_base64(), format!("qw{}E=", "A".repeat(40)));
        assert_eq!(hash.to_base64().len(), 44);
    }

    #[test]
    fn self_signed_hash_is_of_its_leaf_certificate() {
        let identity = Identity::self_signed(&["example.test"]).unwrap();
        let leaf =
            wtransport::tls::Certificate::from_der(identity.certificate_der().to_vec()).unwrap();
        assert_eq!(identity.certificate_hash().as_bytes(), leaf.hash().as_ref());
    }

    #[test]
    fn invalid_names_are_an_error() {
        assert!(matches!(Identity::self_signed(&["❤️"]), Err(Error::InvalidName)));
    }
}
