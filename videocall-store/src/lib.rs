//! The persistent meetings store: meetings, participant history, waiting rooms, removed users
//! and API keys, in an embedded SQLite file by default or in PostgreSQL for deployments.
//!
//! [`Store::open`] picks the backend from a database URL the caller passes (unset: SQLite in the
//! data directory) and applies the checked-in migrations. Every operation runs the same SQL text
//! on either backend (`$1` placeholders, which SQLite accepts too); only the migrations differ,
//! one folder per backend, kept in step by a test that compares the resulting tables.
//!
//! Times are UTC with microsecond precision, taken from the server's clock when the store writes
//! them: PostgreSQL keeps them as `TIMESTAMPTZ`, SQLite as fixed-width RFC 3339 text (which sorts
//! in time order). The relay's `u64` session ids are kept bit-cast to `i64` (`BIGINT`/`INTEGER`).
//!
//! The store reads no environment and spawns nothing: callers pass configuration in, and the
//! connection pools' work happens inside the futures they await.

mod api_key;
mod error;
mod meeting;
mod open;
mod participant;
mod stamp;
mod waiting;

#[cfg(feature = "test-support")]
pub mod testing;

use std::path::Path;

use sqlx::{PgPool, SqlitePool};

pub use api_key::ApiKey;
pub use error::StoreError;
pub use meeting::{Meeting, NewMeeting};
pub use participant::{Join, Participant};
pub use waiting::{Decision, UnknownDecision, Verdict, WaitingEntry};

/// What every store operation returns.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A handle on the meetings database; cheap to clone (the pool is shared).
#[derive(Clone, Debug)]
pub struct Store {
    pool: Pool,
}

/// The live connection pool, one variant per backend.
#[derive(Clone, Debug)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Evaluates `$body` with `$db` bound to the store's pool, whichever backend it is: the same
/// query text and binds compile once per backend, so the two cannot drift apart.
macro_rules! with_pool {
    ($store:expr, $db:ident => $body:expr) => {
        match &$store.pool {
            crate::Pool::Sqlite($db) => $body,
            crate::Pool::Postgres($db) => $body,
        }
    };
}
pub(crate) use with_pool;

impl Store {
    /// Opens (creating and migrating if needed) the store at `database_url`: `postgres://` or
    /// `postgresql://` for PostgreSQL, `sqlite:` for a SQLite file, and `None` (or an empty
    /// string) for the SQLite file `data_dir/videocall.db`, creating `data_dir` if needed.
    pub async fn open(database_url: Option<&str>, data_dir: &Path) -> Result<Store> {
        let pool = open::connect(database_url, data_dir).await?;
        let store = Store { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// The backend's name for logs: `"sqlite"` or `"postgres"`.
    pub fn kind(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    /// Checks that the database answers (for a readiness probe).
    pub async fn ping(&self) -> Result<()> {
        with_pool!(self, db => sqlx::query("SELECT 1").execute(db).await.map(drop))?;
        Ok(())
    }

    /// Closes every connection, waiting for operations in flight; later calls fail.
    pub async fn close(&self) {
        with_pool!(self, db => db.close().await)
    }

    async fn migrate(&self) -> Result<()> {
        match &self.pool {
            Pool::Sqlite(db) => sqlx::migrate!("migrations/sqlite").run(db).await?,
            Pool::Postgres(db) => sqlx::migrate!("migrations/postgres").run(db).await?,
        }
        Ok(())
    }
}
