//! From a database URL (or none) to a connection pool: which backend, and how it is tuned.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::{Pool, Result, StoreError};

/// The SQLite file's name inside the data directory.
pub(crate) const SQLITE_FILE: &str = "videocall.db";

/// SQLite writes one at a time; a writer waits this long for another before failing.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// SQLite connections: WAL lets readers run beside the one writer, so a few suffice.
const SQLITE_CONNECTIONS: u32 = 4;
/// PostgreSQL connections per server instance: host controls and joins are rare next to media.
const POSTGRES_CONNECTIONS: u32 = 8;
/// How long an operation waits for a free connection (or PostgreSQL to answer) before failing.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Connects to the backend `database_url` names; see [`crate::Store::open`].
pub(crate) async fn connect(database_url: Option<&str>, data_dir: &Path) -> Result<Pool> {
    let Some(url) = database_url.map(str::trim).filter(|url| !url.is_empty()) else {
        std::fs::create_dir_all(data_dir)
            .map_err(|source| StoreError::DataDir { path: data_dir.to_owned(), source })?;
        return sqlite(SqliteConnectOptions::new().filename(data_dir.join(SQLITE_FILE))).await;
    };
    let scheme = scheme(url);
    match scheme.to_ascii_lowercase().as_str() {
        "sqlite" => sqlite(SqliteConnectOptions::from_str(url)?).await,
        "postgres" | "postgresql" => postgres(PgConnectOptions::from_str(url)?).await,
        _ => Err(StoreError::UnsupportedUrl { scheme: scheme.to_owned() }),
    }
}

async fn sqlite(options: SqliteConnectOptions) -> Result<Pool> {
    let options = options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // In WAL mode NORMAL loses at most the last commits on power loss, never consistency.
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(SQLITE_BUSY_TIMEOUT);
    let pool = SqlitePoolOptions::new()
        .max_connections(SQLITE_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await?;
    Ok(Pool::Sqlite(pool))
}

async fn postgres(options: PgConnectOptions) -> Result<Pool> {
    let pool = PgPoolOptions::new()
        .max_connections(POSTGRES_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await?;
    Ok(Pool::Postgres(pool))
}

/// The URL's scheme (what comes before the first `:`), or `""` if there is none: the only part
/// of a URL an error may repeat.
fn scheme(url: &str) -> &str {
    let Some((scheme, _)) = url.split_once(':') else { return "" };
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if valid { scheme } else { "" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_is_the_part_before_the_colon() {
        assert_eq!(scheme("postgres://u:secret@db/videocall"), "postgres");
        assert_eq!(scheme("sqlite:videocall.db"), "sqlite");
        assert_eq!(scheme("mysql://root:pw@localhost"), "mysql");
    }

    #[test]
    fn scheme_of_something_that_is_no_url_is_empty() {
        assert_eq!(scheme("videocall.db"), "");
        assert_eq!(scheme("p@ss:word"), "");
        assert_eq!(scheme(":memory:"), "");
    }
}
