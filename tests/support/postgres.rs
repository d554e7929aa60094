//! A PostgreSQL database of its own per test, on the server CI runs (127.0.0.1:5432, user
//! `postgres`, trust auth; or `LEADGATE_TEST_POSTGRES`, the URL of a database to connect to
//! first). Without the server a test fails: nothing is skipped.

use sqlx::Connection;
use std::sync::atomic::{AtomicU32, Ordering};

/// The database to connect to first, to make and drop the tests' own.
fn admin_url() -> String {
    std::env::var("LEADGATE_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// Runs one statement on the admin database.
async fn admin(sql: String) {
    let url = admin_url();
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap_or_else(|e| {
        panic!("PostgreSQL at {url} must be reachable for these tests (CI starts it): {e}")
    });
    sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    conn.close().await.ok();
}

/// A database of its own for one test, dropped when the test is done with it.
pub struct Database {
    /// Its name.
    pub name: String,
    /// Its URL.
    pub url: String,
}

impl Database {
    /// An empty database (one an earlier run left is dropped first).
    pub async fn fresh() -> Database {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "lg_it_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        admin(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
        admin(format!("CREATE DATABASE {name}")).await;
        let admin_url = admin_url();
        let server = &admin_url[..admin_url.rfind('/').expect("a database in the URL")];
        Database {
            url: format!("{server}/{name}"),
            name,
        }
    }

    /// One number the database answers to `sql`.
    pub async fn scalar(&self, sql: &'static str) -> i64 {
        let mut conn = sqlx::PgConnection::connect(&self.url)
            .await
            .expect("connect");
        let n: i64 = sqlx::query_scalar(sql)
            .fetch_one(&mut conn)
            .await
            .expect(sql);
        conn.close().await.ok();
        n
    }

    /// Runs `sql` (one statement or several) on it.
    pub async fn run(&self, sql: &'static str) {
        let mut conn = sqlx::PgConnection::connect(&self.url)
            .await
            .expect("connect");
        sqlx::raw_sql(sql)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        conn.close().await.ok();
    }

    /// Drops it.
    pub async fn drop_it(self) {
        admin(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .await;
    }
}
