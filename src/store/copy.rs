//! `leadgate copy`: a whole SQLite store into PostgreSQL, for an installation that moves to
//! PostgreSQL (issue 14). Every table is copied row for row from one read snapshot of the SQLite
//! file, in one PostgreSQL transaction: the target has all of it or none. The kept counts and
//! report tables are copied as they are, with the target's triggers off for the copy (they
//! would count every lead a second time); each serial column's sequence is moved past the
//! highest id copied; and the rows of every table are counted on both sides before the commit.

use super::packed::PACKED_COLUMNS;
use super::sql::Read;
use super::{PgStore, SqliteStore, StoreError};
use futures_util::TryStreamExt;
use sqlx::{Postgres, QueryBuilder, Row};

/// What was copied: each table with its rows, in the order copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// `(table, rows)`.
    pub tables: Vec<(String, u64)>,
}

/// Why a copy did not happen; the target is left as it was.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// A database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The target already holds data and was not to be overwritten.
    #[error(
        "the target is not empty ({table} has {rows} rows): copy into a new database, or pass \
         --overwrite to replace what it holds"
    )]
    NotEmpty {
        /// The first table found with rows.
        table: String,
        /// How many.
        rows: i64,
    },
    /// A table came out with another number of rows than went in (nothing is committed).
    #[error("{table}: {from} rows in SQLite, {to} in PostgreSQL; nothing was committed")]
    Mismatch {
        /// The table.
        table: String,
        /// Rows read.
        from: i64,
        /// Rows in the target.
        to: i64,
    },
}

impl From<sqlx::Error> for CopyError {
    fn from(e: sqlx::Error) -> CopyError {
        CopyError::Store(e.into())
    }
}

/// How a column is read from SQLite and bound for PostgreSQL, by the target's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Text,
    Bytes,
    /// A text column SQLite may keep deflated ([`super::packed`]), named `table.column`:
    /// read as it is and inflated.
    Packed(&'static str),
}

/// One column of a target table.
#[derive(Debug, Clone)]
struct Column {
    name: String,
    kind: Kind,
    /// Filled by a sequence (`BIGSERIAL`): moved past the copied ids afterwards.
    serial: bool,
}

/// One value, as read.
enum Cell {
    Int(Option<i64>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
}

/// Rows per `INSERT`: PostgreSQL binds at most 65,535 values in one statement.
const MAX_BINDS: usize = 30_000;

/// Copies every table of `from` into `to` (both migrated to this version's schema), refusing a
/// target with any row unless `overwrite`, which empties it first (in the same transaction).
pub async fn copy_store(
    from: &SqliteStore,
    to: &PgStore,
    overwrite: bool,
) -> Result<Copied, CopyError> {
    let tables = target_tables(to).await?;
    let mut source = from.read_pool().acquire().await?;
    // One read transaction: every table from the same moment of a store still being written.
    sqlx::query("BEGIN").execute(&mut *source).await?;
    let mut target = to.pool().begin().await?;
    let names: Vec<&str> = tables.iter().map(|(t, _)| t.as_str()).collect();
    if overwrite {
        let list = names.join(", ");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "TRUNCATE {list} RESTART IDENTITY"
        )))
        .execute(&mut *target)
        .await?;
    } else {
        for table in &names {
            let rows: i64 =
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                    .fetch_one(&mut *target)
                    .await?;
            if rows > 0 {
                return Err(CopyError::NotEmpty {
                    table: table.to_string(),
                    rows,
                });
            }
        }
    }
    let mut copied = Vec::new();
    for (table, columns) in &tables {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "ALTER TABLE {table} DISABLE TRIGGER USER"
        )))
        .execute(&mut *target)
        .await?;
        let rows = copy_table(&mut source, &mut target, table, columns).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "ALTER TABLE {table} ENABLE TRIGGER USER"
        )))
        .execute(&mut *target)
        .await?;
        for column in columns.iter().filter(|c| c.serial) {
            advance_sequence(&mut target, table, &column.name).await?;
        }
        let from: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(&mut *source)
                .await?;
        let to: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(&mut *target)
                .await?;
        if from != to || to as u64 != rows {
            return Err(CopyError::Mismatch {
                table: table.clone(),
                from,
                to,
            });
        }
        copied.push((table.clone(), rows));
    }
    target.commit().await?;
    sqlx::query("COMMIT").execute(&mut *source).await?;
    Ok(Copied { tables: copied })
}

/// The target's tables and their columns, from its catalogue (the migrations' bookkeeping
/// excepted: the target was migrated by this version already).
async fn target_tables(to: &PgStore) -> Result<Vec<(String, Vec<Column>)>, CopyError> {
    let rows = sqlx::query(
        "SELECT table_name::text AS t, column_name::text AS c, data_type::text AS d,
                COALESCE(column_default, '') LIKE 'nextval(%' AS serial
         FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'
         ORDER BY table_name, ordinal_position",
    )
    .fetch_all(to.pool())
    .await?;
    let mut tables: Vec<(String, Vec<Column>)> = Vec::new();
    for row in rows {
        let table: String = row.try_get("t")?;
        let name: String = row.try_get("c")?;
        let kind = match row.try_get::<String, _>("d")?.as_str() {
            "bigint" | "integer" | "smallint" => Kind::Int,
            "bytea" => Kind::Bytes,
            _ => packed(&table, &name).map_or(Kind::Text, Kind::Packed),
        };
        let column = Column {
            name,
            kind,
            serial: row.try_get("serial")?,
        };
        match tables.last_mut() {
            Some((t, columns)) if *t == table => columns.push(column),
            _ => tables.push((table, vec![column])),
        }
    }
    Ok(tables)
}

/// What SQLite is asked for one target column: its value as the target's type. PostgreSQL's
/// `seq` of items and leads is SQLite's `rowid` (the order they were written, which the
/// file keeper's cursor counts in).
fn source_expression(table: &str, column: &Column) -> String {
    let name = &column.name;
    if name == "seq" && matches!(table, "inbound" | "leads") {
        return "rowid".into();
    }
    match column.kind {
        Kind::Int => format!("CAST({name} AS INTEGER)"),
        Kind::Text => format!("CAST({name} AS TEXT)"),
        Kind::Bytes => format!("CAST({name} AS BLOB)"),
        // Deflated or text: read as it is, inflated in `copy_table`.
        Kind::Packed(_) => name.clone(),
    }
}

/// The name (`table.column`) of a text column SQLite may keep deflated ([`super::packed`]).
fn packed(table: &str, column: &str) -> Option<&'static str> {
    PACKED_COLUMNS
        .into_iter()
        .find(|p| p.split_once('.') == Some((table, column)))
}

/// Copies one table's rows, streamed from SQLite and inserted in statements of many rows.
async fn copy_table(
    source: &mut sqlx::SqliteConnection,
    target: &mut sqlx::PgConnection,
    table: &str,
    columns: &[Column],
) -> Result<u64, CopyError> {
    let select: Vec<String> = columns
        .iter()
        .map(|c| source_expression(table, c))
        .collect();
    let sql = format!("SELECT {} FROM {table}", select.join(", "));
    let per_insert = (MAX_BINDS / columns.len()).max(1);
    let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&mut *source);
    let mut batch: Vec<Vec<Cell>> = Vec::with_capacity(per_insert);
    let mut copied = 0u64;
    while let Some(row) = rows.try_next().await? {
        let mut cells = Vec::with_capacity(columns.len());
        for (i, column) in columns.iter().enumerate() {
            cells.push(match column.kind {
                Kind::Packed(what) => Cell::Text(Some(row.packed_text(what, &column.name)?)),
                Kind::Int => Cell::Int(row.try_get(i)?),
                Kind::Text => Cell::Text(row.try_get(i)?),
                Kind::Bytes => Cell::Bytes(row.try_get(i)?),
            });
        }
        batch.push(cells);
        if batch.len() == per_insert {
            copied += insert(target, table, columns, std::mem::take(&mut batch)).await?;
        }
    }
    if !batch.is_empty() {
        copied += insert(target, table, columns, batch).await?;
    }
    Ok(copied)
}

/// Inserts `rows` into `table` in one statement.
async fn insert(
    target: &mut sqlx::PgConnection,
    table: &str,
    columns: &[Column],
    rows: Vec<Vec<Cell>>,
) -> Result<u64, CopyError> {
    let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    let mut query: QueryBuilder<Postgres> =
        QueryBuilder::new(format!("INSERT INTO {table} ({}) ", names.join(", ")));
    query.push_values(rows, |mut values, row| {
        for cell in row {
            match cell {
                Cell::Int(v) => values.push_bind(v),
                Cell::Text(v) => values.push_bind(v),
                Cell::Bytes(v) => values.push_bind(v),
            };
        }
    });
    Ok(query.build().execute(&mut *target).await?.rows_affected())
}

/// Moves a serial column's sequence past the highest value copied, so the next row the daemon
/// writes gets a new id.
async fn advance_sequence(
    target: &mut sqlx::PgConnection,
    table: &str,
    column: &str,
) -> Result<(), CopyError> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT setval(pg_get_serial_sequence('{table}', '{column}'),
                       GREATEST(COALESCE(MAX({column}), 0), 1), MAX({column}) IS NOT NULL)
         FROM {table}"
    )))
    .execute(&mut *target)
    .await?;
    Ok(())
}
