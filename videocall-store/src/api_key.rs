//! API keys for the REST API: named, revocable, and stored only as the SHA-256 of the secret.
//!
//! A secret is `vc_` and 32 random bytes in unpadded base64url (46 characters), shown once by
//! [`Store::create_api_key`]. Verifying hashes the presented secret and looks the hash up: the
//! lookup's timing can only tell an attacker about hashes of guesses, never about a secret.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::stamp::Stamp;
use crate::{Result, Store, StoreError, with_pool};

/// What every secret starts with, so leaked keys are easy to recognise and scan for.
const PREFIX: &str = "vc_";
/// Random bytes per secret.
const SECRET_BYTES: usize = 32;

/// A stored API key (never its secret).
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiKey {
    /// The key's id, to list and revoke it.
    pub id: i64,
    /// A name for people ("ci", "scheduler").
    pub name: String,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it was revoked; a revoked key verifies no more.
    pub revoked_at: Option<OffsetDateTime>,
}

/// The columns an [`ApiKey`] reads, as a literal for `concat!`.
macro_rules! columns {
    () => {
        "id, name, created_at, revoked_at"
    };
}

const INSERT: &str = concat!(
    "INSERT INTO api_keys (name, secret_hash, created_at) VALUES ($1, $2, $3) RETURNING ",
    columns!()
);

const BY_HASH: &str =
    concat!("SELECT ", columns!(), " FROM api_keys WHERE secret_hash = $1 AND revoked_at IS NULL");

const REVOKE: &str = concat!(
    "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 RETURNING ",
    columns!()
);

const ALL: &str = concat!("SELECT ", columns!(), " FROM api_keys ORDER BY id");

impl Store {
    /// Creates a key named `name`; returns it with its secret, which is not stored and cannot
    /// be shown again.
    pub async fn create_api_key(&self, name: &str) -> Result<(ApiKey, String)> {
        let secret = new_secret();
        let key: ApiKey = with_pool!(self, db => sqlx::query_as(INSERT)
            .bind(name)
            .bind(hash(&secret))
            .bind(Stamp::now())
            .fetch_one(db)
            .await)?;
        Ok((key, secret))
    }

    /// The key whose secret this is, unless there is none or it was revoked.
    pub async fn verify_api_key(&self, secret: &str) -> Result<Option<ApiKey>> {
        if !secret.starts_with(PREFIX) {
            return Ok(None);
        }
        let hash = hash(secret);
        let key = with_pool!(self, db =>
            sqlx::query_as(BY_HASH).bind(&hash).fetch_optional(db).await)?;
        Ok(key)
    }

    /// Revokes a key (again: no change, the first revocation time stays).
    pub async fn revoke_api_key(&self, id: i64) -> Result<ApiKey> {
        let key: Option<ApiKey> = with_pool!(self, db =>
            sqlx::query_as(REVOKE).bind(id).bind(Stamp::now()).fetch_optional(db).await)?;
        key.ok_or(StoreError::NotFound)
    }

    /// Every key, revoked or not, oldest first.
    pub async fn api_keys(&self) -> Result<Vec<ApiKey>> {
        Ok(with_pool!(self, db => sqlx::query_as(ALL).fetch_all(db).await)?)
    }
}

fn new_secret() -> String {
    // `rand`'s thread generator is a CSPRNG seeded from the operating system.
    let bytes: [u8; SECRET_BYTES] = rand::random();
    format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_urlsafe_and_distinct() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert_eq!(a.len(), PREFIX.len() + 43);
        let body = a.strip_prefix(PREFIX).expect("prefix");
        assert!(body.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'), "{a}");
        assert_eq!(URL_SAFE_NO_PAD.decode(body).map(|b| b.len()).ok(), Some(SECRET_BYTES));
    }

    #[test]
    fn the_hash_is_sha256_of_the_whole_secret() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        let expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let hex: String = hash("abc").iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, expected);
    }
}
