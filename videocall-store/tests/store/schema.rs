//! The two migration folders describe the same schema.

use std::collections::BTreeSet;
use std::path::Path;

use sqlx::Connection;
use sqlx::postgres::PgConnection;
use sqlx::sqlite::SqliteConnection;
use videocall_store::testing::{Postgres, Scratch};

/// (table, column, nullable)
type Columns = BTreeSet<(String, String, bool)>;

#[tokio::test]
async fn both_backends_migrate_to_the_same_tables_columns_and_indexes() {
    let sqlite = Scratch::sqlite().expect("temporary directory");
    sqlite.open().await.expect("migrate SQLite").close().await;
    let Scratch::Sqlite(dir) = &sqlite else { unreachable!() };
    let url = format!("sqlite://{}", dir.path().join("videocall.db").display());
    let mut lite = SqliteConnection::connect(&url).await.expect("connect SQLite");
    let lite_columns: Vec<(String, String, bool)> = sqlx::query_as(
        "SELECT m.name, p.name, p.\"notnull\" = 0 \
         FROM sqlite_master m, pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%'",
    )
    .fetch_all(&mut lite)
    .await
    .expect("SQLite columns");
    let lite_indexes: Vec<(String,)> = sqlx::query_as(
        // Indexes a statement created (not those behind PRIMARY KEY and UNIQUE).
        "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL",
    )
    .fetch_all(&mut lite)
    .await
    .expect("SQLite indexes");

    let server = Postgres::start().expect("temporary PostgreSQL server");
    let store = videocall_store::Store::open(Some(server.url()), server.dir()).await;
    store.expect("migrate PostgreSQL").close().await;
    let mut pg = PgConnection::connect(server.url()).await.expect("connect PostgreSQL");
    let pg_columns: Vec<(String, String, bool)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, is_nullable = 'YES' \
         FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name NOT LIKE '\\_sqlx%'",
    )
    .fetch_all(&mut pg)
    .await
    .expect("PostgreSQL columns");
    let pg_indexes: Vec<(String,)> = sqlx::query_as(
        "SELECT i.indexname::text FROM pg_indexes i WHERE i.schemaname = 'public' \
         AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
    )
    .fetch_all(&mut pg)
    .await
    .expect("PostgreSQL indexes");

    let lite_columns: Columns = lite_columns.into_iter().collect();
    let pg_columns: Columns = pg_columns.into_iter().collect();
    assert_eq!(lite_columns, pg_columns);
    let tables: BTreeSet<&str> = lite_columns.iter().map(|(t, _, _)| t.as_str()).collect();
    let expected = ["api_keys", "meetings", "participants", "removed_users", "waiting_entries"];
    assert_eq!(tables, expected.into_iter().collect());
    assert!(lite_columns.contains(&("participants".into(), "left_at".into(), true)));
    assert!(lite_columns.contains(&("participants".into(), "joined_at".into(), false)));

    let lite_indexes: BTreeSet<String> = lite_indexes.into_iter().map(|(n,)| n).collect();
    let pg_indexes: BTreeSet<String> = pg_indexes.into_iter().map(|(n,)| n).collect();
    assert_eq!(lite_indexes, pg_indexes);
    assert!(lite_indexes.contains("waiting_entries_one_pending"), "{lite_indexes:?}");
}

#[test]
fn both_migration_folders_hold_the_same_migrations() {
    let names = |backend: &str| -> BTreeSet<String> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(backend);
        std::fs::read_dir(&dir)
            .expect("migrations folder")
            .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
            .collect()
    };
    let sqlite = names("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, names("postgres"));
}
