//! Rows inserted in bulk: `INSERT INTO t (a, b) VALUES (?, ?), (?, ?), ...`, up to
//! [`MAX_CHUNK`] rows a statement, every value bound.
//!
//! The rows are bound rather than handed over as one JSON array: `json_each` gives each row
//! as JSON text, and every `value->>N` parses that text again, so a wide row (a lead with its
//! routing trace, a few KiB) costs as much as a statement of its own. The statements stay
//! fixed: a chunk holds a power of two of rows, so a table has at most six of them.

use super::StoreResult;
use sqlx::SqliteConnection;

/// The most rows one statement inserts (times the row's values, well under SQLite's limit
/// on bound values).
const MAX_CHUNK: usize = 32;

/// One bound value.
#[derive(Debug, Clone)]
pub(super) enum Cell {
    /// Text, or NULL.
    Text(Option<String>),
    /// An integer, or NULL.
    Int(Option<i64>),
    /// Bytes (a [`crate::store::packed`] value).
    Blob(Vec<u8>),
}

impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(Some(s))
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(Some(s.to_string()))
    }
}

impl From<Option<String>> for Cell {
    fn from(s: Option<String>) -> Cell {
        Cell::Text(s)
    }
}

impl From<i64> for Cell {
    fn from(n: i64) -> Cell {
        Cell::Int(Some(n))
    }
}

/// Rows for one table, in the order they are to be inserted.
#[derive(Debug)]
pub(super) struct Rows {
    /// `INSERT INTO t (a, b, c)`.
    head: &'static str,
    /// One row's values, as `(?, ?, 'constant')`: one `?` per cell.
    row: &'static str,
    /// What follows the values (an `ON CONFLICT` clause), or nothing.
    tail: &'static str,
    width: usize,
    cells: Vec<Cell>,
}

impl Rows {
    /// No rows yet for the statement `head VALUES row, row, ... tail`.
    pub(super) fn new(head: &'static str, row: &'static str, tail: &'static str) -> Rows {
        Rows {
            head,
            row,
            tail,
            width: row.matches('?').count(),
            cells: Vec::new(),
        }
    }

    /// Adds a row: as many cells as the row has `?`.
    pub(super) fn push<const N: usize>(&mut self, row: [Cell; N]) {
        debug_assert_eq!(N, self.width, "{}", self.head);
        self.cells.extend(row);
    }

    /// Whether no row waits.
    pub(super) fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Inserts every row, in order, and forgets them.
    pub(super) async fn insert(&mut self, db: &mut SqliteConnection) -> StoreResult<()> {
        let cells = std::mem::take(&mut self.cells);
        let mut left = cells.len() / self.width.max(1);
        let mut cells = cells.into_iter();
        while left > 0 {
            // The largest power of two that fits: a handful of distinct statements.
            let n = 1 << (usize::BITS - 1 - left.min(MAX_CHUNK).leading_zeros());
            let sql = format!(
                "{} VALUES {}{}",
                self.head,
                vec![self.row; n].join(", "),
                self.tail
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for cell in cells.by_ref().take(n * self.width) {
                q = match cell {
                    Cell::Text(t) => q.bind(t),
                    Cell::Int(i) => q.bind(i),
                    Cell::Blob(b) => q.bind(b),
                };
            }
            q.execute(&mut *db).await?;
            left -= n;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rows_go_in_in_order_in_chunks_of_powers_of_two() {
        let mut db = <SqliteConnection as sqlx::Connection>::connect("sqlite::memory:")
            .await
            .expect("connect");
        sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER, s TEXT, k TEXT, UNIQUE (n))")
            .execute(&mut db)
            .await
            .expect("create");
        let mut rows = Rows::new(
            "INSERT INTO t (n, s, k)",
            "(?, ?, 'const')",
            " ON CONFLICT (n) DO NOTHING",
        );
        for n in 0..77 {
            let s = (n % 3 != 0).then(|| format!("row {n}"));
            rows.push([Cell::from(n), Cell::from(s)]);
        }
        rows.push([Cell::from(5), Cell::from("a duplicate, left out")]);
        rows.insert(&mut db).await.expect("insert");
        rows.insert(&mut db).await.expect("nothing left to insert");
        let got: Vec<(i64, i64, Option<String>, String)> =
            sqlx::query_as("SELECT id, n, s, k FROM t ORDER BY id")
                .fetch_all(&mut db)
                .await
                .expect("select");
        assert_eq!(got.len(), 77);
        for (i, (id, n, s, k)) in got.into_iter().enumerate() {
            let i = i as i64;
            assert_eq!((id, n), (i + 1, i), "in the order pushed");
            assert_eq!(s, (i % 3 != 0).then(|| format!("row {i}")));
            assert_eq!(k, "const");
        }
    }
}
