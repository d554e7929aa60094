//! The kept files' statements and rows as both backends have them.

use super::{Read, Statement};
use crate::lead::Channel;
use crate::store::{FileRecord, FileSigns, FileState, StoreResult};

/// The cursor the keeper's position is kept under.
pub(crate) const CURSOR: &str = "files.keeper";
/// The cursor the generated link key is kept under.
pub(crate) const LINK_KEY: &str = "files.link_key";

/// A file read back: kept when it has its hash and size and the status says so, unavailable
/// (with the reason) otherwise.
pub(crate) fn file_record(r: &impl Read) -> StoreResult<FileRecord> {
    let state = match (r.opt_text("sha256")?, r.opt_int("size")?) {
        (Some(sha256), Some(size)) if r.text("status")? == "kept" => FileState::Kept {
            sha256,
            size: size.max(0) as u64,
        },
        _ => FileState::Unavailable(r.opt_text("reason")?.unwrap_or_default()),
    };
    Ok(FileRecord {
        id: r.text("id")?,
        inbound_id: r.text("inbound_id")?,
        lead_id: r.text("lead_id")?,
        name: r.text("name")?,
        content_type: r.text("content_type")?,
        state,
        at: r.time("attachments.at", "at")?,
    })
}

/// Records a file once: id, item, lead, name, type, size, hash, status, reason, time.
/// A file's state as [`INSERT_FILE`] stores it: status, sha256, size and reason (the
/// reverse of [`file_record`]).
pub(crate) fn file_columns(
    state: &FileState,
) -> (&'static str, Option<&str>, Option<i64>, Option<&str>) {
    match state {
        FileState::Kept { sha256, size } => {
            ("kept", Some(sha256.as_str()), Some(*size as i64), None)
        }
        FileState::Unavailable(why) => ("unavailable", None, None, Some(why.as_str())),
    }
}

/// Only while its item is there: a file fetched while `leadgate forget` or retention removed
/// the item is not recorded (the sweeper then removes its bytes, which no record keeps).
pub(crate) static INSERT_FILE: Statement = Statement::new(
    "INSERT INTO attachments
         (id, inbound_id, lead_id, name, content_type, size, sha256, status, reason, at)
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10
     WHERE EXISTS (SELECT 1 FROM inbound WHERE id = ?2)
     ON CONFLICT (id) DO NOTHING",
);

/// A file by id, as [`file_record`] reads it.
pub(crate) static FILE: Statement = Statement::new(
    "SELECT id, inbound_id, lead_id, name, content_type, size, sha256, status, reason, at
     FROM attachments WHERE id = ?1",
);

/// Every hash a kept file has.
pub(crate) static KEPT_HASHES: Statement =
    Statement::new("SELECT DISTINCT sha256 FROM attachments WHERE sha256 IS NOT NULL");

/// Writes the link key (name, value) unless one is there: the first written wins.
pub(crate) static FIRST_LINK_KEY: Statement = Statement::new(
    "INSERT INTO cursors (key, value, updated_at)
     VALUES (?1, ?2, '1970-01-01T00:00:00.000000Z') ON CONFLICT (key) DO NOTHING",
);

/// Binds a file's record to [`INSERT_FILE`]'s values, in order, for either backend.
pub(crate) fn bind_file<'q, DB>(
    query: sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments>,
    f: &'q FileRecord,
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments>
where
    DB: sqlx::Database,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let (status, sha, size, reason) = file_columns(&f.state);
    query
        .bind(f.id.as_str())
        .bind(f.inbound_id.as_str())
        .bind(f.lead_id.as_str())
        .bind(f.name.as_str())
        .bind(f.content_type.as_str())
        .bind(size)
        .bind(sha)
        .bind(status)
        .bind(reason)
        .bind(crate::store::values::ts(f.at))
}

/// How a backend searches a column for a text, for [`may_hold`].
pub(crate) struct Search {
    /// The test that the stored bytes hold the quoted text `{}`.
    pub payload: fn(&str) -> String,
    /// The test that the meta holds the quoted text `{}`.
    pub meta: fn(&str) -> String,
}

/// SQL's quoted literal of a text from the code (a channel's sign, never input).
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The result column `may_hold`: whether an item that made or joined a lead may list files
/// by its channel's `signs`. A CASE, one branch per channel, not AND/OR: SQLite evaluates
/// both sides of AND and OR in a result column, so every item's bytes would be searched for
/// every channel's signs.
pub(crate) fn may_hold(signs: &[(Channel, FileSigns)], search: &Search) -> String {
    let mut case =
        String::from("CASE WHEN status NOT IN ('lead', 'joined') OR lead_id IS NULL THEN FALSE");
    for (channel, signs) in signs.iter().filter(|(_, s)| s.any()) {
        let tests: Vec<String> = if signs.always {
            vec!["TRUE".into()]
        } else {
            let payload = signs
                .in_payload
                .iter()
                .map(|t| (search.payload)(&literal(t)));
            let meta = signs.in_meta.iter().map(|t| (search.meta)(&literal(t)));
            let content_type = (signs.content_type_prefix.iter())
                .map(|p| format!("lower(content_type) LIKE {}", literal(&format!("{p}%"))));
            content_type.chain(payload).chain(meta).collect()
        };
        case.push_str(&format!(
            " WHEN channel = {} THEN ({})",
            literal(channel.as_str()),
            tests.join(" OR ")
        ));
    }
    case.push_str(" ELSE FALSE END AS may_hold");
    case
}
