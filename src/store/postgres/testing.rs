//! A PostgreSQL database of its own for each test, on the server CI runs (trust auth,
//! `postgres` on 127.0.0.1:5432, or `LEADGATE_TEST_POSTGRES`, a URL of a database to connect
//! to first). A server that cannot be reached fails the test: nothing is skipped.

use super::PgStore;
use crate::store::conformance::Fresh;
use sqlx::Connection;
use std::sync::atomic::{AtomicU32, Ordering};

/// The database the tests connect to first, to make and drop their own.
fn admin_url() -> String {
    std::env::var("LEADGATE_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// The server part of [`admin_url`], for a URL of another database on it.
fn server_url() -> String {
    let admin = admin_url();
    match admin.rfind('/') {
        Some(i) if i > "postgres://".len() => admin[..i].to_string(),
        _ => admin,
    }
}

/// A database name no other test of any running test process has.
fn fresh_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "lg_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Runs one statement on the admin database.
async fn admin(sql: String) {
    let url = admin_url();
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap_or_else(|e| {
        panic!("PostgreSQL at {url} must be reachable for the store's tests (CI starts it): {e}")
    });
    sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    conn.close().await.ok();
}

/// An empty database of its own (dropped first if an earlier run left it), and its URL.
pub(crate) async fn fresh_database() -> (String, String) {
    let name = fresh_name();
    admin(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
    admin(format!("CREATE DATABASE {name}")).await;
    let url = format!("{}/{name}", server_url());
    (name, url)
}

/// Drops a database [`fresh_database`] made.
pub(crate) async fn drop_database(name: String) {
    admin(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
}

/// A PostgreSQL store on a database of its own, and the database's name for
/// [`drop_store`]: for a test of the backend itself (its pool, its statements, its plans).
pub(crate) async fn fresh_store() -> (PgStore, String) {
    let (name, url) = fresh_database().await;
    let store = PgStore::open(&url).await.expect("open a PostgreSQL store");
    (store, name)
}

/// Closes a store [`fresh_store`] opened and drops its database.
pub(crate) async fn drop_store(store: PgStore, name: String) {
    store.close().await;
    drop_database(name).await;
}

/// How many rows of `table` the open transaction on `conn` updated, and how many of them in
/// place (a HOT update: no new index entry): what a test of a fill factor or of an index that
/// must stay off an updated column reads.
pub(crate) async fn updated_in_place(conn: &mut sqlx::PgConnection, table: &str) -> (i64, i64) {
    sqlx::query_as(
        "SELECT pg_stat_get_xact_tuples_updated($1::regclass),
                pg_stat_get_xact_tuples_hot_updated($1::regclass)",
    )
    .bind(table)
    .fetch_one(conn)
    .await
    .expect("this transaction's update counts")
}

/// A fresh PostgreSQL store for one conformance test; the database goes when it passed.
pub(crate) async fn fresh_postgres() -> Fresh {
    let (store, name) = fresh_store().await;
    let closing = store.clone();
    Fresh {
        store: Box::new(store),
        _keep: Box::new(()),
        cleanup: Some(Box::pin(drop_store(closing, name))),
    }
}

#[tokio::test]
async fn daemons_starting_together_migrate_once() {
    let (name, url) = fresh_database().await;
    let (a, b, c) = tokio::join!(
        PgStore::open(&url),
        PgStore::open(&url),
        PgStore::open(&url)
    );
    let (a, b, c) = (a.expect("first"), b.expect("second"), c.expect("third"));
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(&a.pool)
        .await
        .expect("migrations");
    let files = std::fs::read_dir("src/store/postgres/migrations")
        .expect("migrations folder")
        .count() as i64;
    assert_eq!(applied, files, "each migration applied once");
    for store in [a, b, c] {
        store.close().await;
    }
    drop_database(name).await;
}

#[tokio::test]
async fn a_store_from_before_the_name_column_finds_its_leads_by_name() {
    use crate::store::conformance::fixtures::{LEAD_BEFORE_THE_NAME_COLUMN, found_by_name};
    let (name, url) = fresh_database().await;
    let pool = sqlx::PgPool::connect(&url).await.expect("connect");
    sqlx::migrate!("src/store/postgres/migrations")
        .run_to(3, &pool)
        .await
        .expect("migrate to 0003");
    sqlx::query(LEAD_BEFORE_THE_NAME_COLUMN)
        .execute(&pool)
        .await
        .expect("a lead of the old schema");
    pool.close().await;
    let store = PgStore::open(&url).await.expect("open and migrate");
    let found = found_by_name(&store, "олег").await;
    assert_eq!(
        found,
        [("old".to_string(), Some("Олег Смирнов".to_string()))]
    );
    // A server that has LZ4 compresses the records with it.
    let lz4 = sqlx::query("SET default_toast_compression = 'lz4'")
        .execute(&store.pool)
        .await
        .is_ok();
    let method: String = sqlx::query_scalar(
        "SELECT attcompression::text FROM pg_attribute
         WHERE attrelid = 'leads'::regclass AND attname = 'record'",
    )
    .fetch_one(&store.pool)
    .await
    .expect("column");
    assert_eq!(method, if lz4 { "l" } else { "" });
    store.close().await;
    drop_database(name).await;
}
