//! The store's one error type: the outcomes callers branch on, then what went wrong underneath.

use std::path::PathBuf;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such meeting (or entry, participant, key) — for a REST API, a 404.
    #[error("not found")]
    NotFound,
    /// The change collides with what is stored: the meeting id is taken, the session is already
    /// recorded, or the waiting-room entry was already decided.
    #[error("conflict with the stored state")]
    Conflict,
    /// The meeting has ended; nobody joins or changes it any more.
    #[error("the meeting has ended")]
    Ended,
    /// The database URL's scheme is neither `sqlite`, `postgres` nor `postgresql` (only the
    /// scheme is kept, so a password in the URL never reaches a log).
    #[error(
        "unsupported database URL scheme {scheme:?}: use postgres://, postgresql:// or sqlite:"
    )]
    UnsupportedUrl {
        /// The scheme as given, possibly empty.
        scheme: String,
    },
    /// The data directory for the SQLite file could not be created.
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Applying the checked-in migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database failed or refused the statement.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// A unique-key violation (the same on both backends) as [`StoreError::Conflict`].
pub(crate) fn conflict_if_unique(err: sqlx::Error) -> StoreError {
    if err.as_database_error().is_some_and(|e| e.is_unique_violation()) {
        StoreError::Conflict
    } else {
        StoreError::Database(err)
    }
}
