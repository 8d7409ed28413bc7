//! Throwaway databases for tests of this crate and its callers (feature `test-support`): a real
//! PostgreSQL server ([`Postgres`]) and a SQLite file in a temporary directory, behind one
//! [`Scratch`] that opens a [`Store`] on either, as often as a test likes (to test restarts).

mod postgres;

use std::io;

use tempfile::TempDir;

pub use postgres::Postgres;

use crate::{Result, Store};

/// A fresh, empty database of one backend, deleted on drop.
#[derive(Debug)]
pub enum Scratch {
    /// A temporary data directory for `videocall.db`.
    Sqlite(TempDir),
    /// A temporary PostgreSQL server.
    Postgres(Postgres),
}

impl Scratch {
    /// A temporary directory for a SQLite store.
    pub fn sqlite() -> io::Result<Scratch> {
        Ok(Scratch::Sqlite(tempfile::Builder::new().prefix("videocall-store-").tempdir()?))
    }

    /// A temporary PostgreSQL server (blocks while it starts; see [`Postgres::start`]).
    pub fn postgres() -> io::Result<Scratch> {
        Ok(Scratch::Postgres(Postgres::start()?))
    }

    /// Opens a store on this database, migrating it on the first open; opening again reaches
    /// the same data, as a restarted server would.
    pub async fn open(&self) -> Result<Store> {
        match self {
            Scratch::Sqlite(dir) => Store::open(None, dir.path()).await,
            Scratch::Postgres(server) => Store::open(Some(server.url()), server.dir()).await,
        }
    }
}
