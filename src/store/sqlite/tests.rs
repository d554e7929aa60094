//! What only SQLite has: the plan of the SLA's query, the page size of a store, and limits
//! that do not make SQLite prepare a statement again. The behaviour every backend shares is in
//! `store::conformance`.

use super::{PAGE_SIZE, SqliteStore};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};

/// A new store in a temporary directory, which lives as long as the store is used.
pub(super) async fn new_store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("t.db"))
        .await
        .expect("open");
    (dir, store)
}

/// The steps of `statement`'s plan on `store`, with `first` bound to its first parameter.
pub(super) async fn plan_of(
    store: &SqliteStore,
    statement: &str,
    first: Option<&str>,
) -> Vec<String> {
    let query = sqlx::query_as::<_, (i64, i64, i64, String)>(sqlx::AssertSqlSafe(format!(
        "EXPLAIN QUERY PLAN {statement}"
    )));
    let query = match first {
        Some(value) => query.bind(value.to_string()),
        None => query,
    };
    let plan = query.fetch_all(&store.read).await.expect("plan");
    plan.into_iter().map(|(_, _, _, detail)| detail).collect()
}

#[tokio::test]
async fn the_sla_reads_deadlines_from_their_index_not_every_assignment() {
    let (_dir, store) = new_store().await;
    let steps = plan_of(&store, super::leads::NEXT_DUE, None).await;
    assert!(
        steps
            .iter()
            .any(|d| d.contains("USING INDEX assignments_due")),
        "{steps:?}"
    );
    assert!(
        !steps
            .iter()
            .any(|d| d.starts_with("SCAN a") && !d.contains("INDEX")),
        "{steps:?}"
    );
}

#[tokio::test]
async fn each_filter_of_the_console_list_reads_its_own_index() {
    use crate::store::LeadQuery;
    use crate::store::sql::console::LeadList;
    let (_dir, store) = new_store().await;
    let value = Some("x".to_string());
    let cases = [
        (
            LeadQuery {
                channel: value.clone(),
                ..LeadQuery::default()
            },
            "leads_console_channel",
        ),
        (
            LeadQuery {
                source: value.clone(),
                ..LeadQuery::default()
            },
            "leads_console_source",
        ),
        (
            LeadQuery {
                status: value.clone(),
                ..LeadQuery::default()
            },
            "leads_console_status",
        ),
        (
            LeadQuery {
                manager: value.clone(),
                ..LeadQuery::default()
            },
            "leads_console_manager",
        ),
        (
            LeadQuery {
                level: value.clone(),
                ..LeadQuery::default()
            },
            "leads_console_level",
        ),
        (LeadQuery::default(), "leads_console_order"),
    ];
    for (mut q, index) in cases {
        q.limit = 50;
        q.after = Some(crate::store::PageKey {
            received_at: crate::store::conformance::fixtures::at(5),
            id: "l5".into(),
        });
        let mut query = LeadList::new(&super::console::LEAD_LIST, &q).page();
        query.sql = format!("EXPLAIN QUERY PLAN {}", query.sql);
        let plan = super::console::bound(query)
            .fetch_all(&store.read)
            .await
            .expect("plan");
        let steps: Vec<String> = plan
            .iter()
            .map(|r| sqlx::Row::get::<String, _>(r, "detail"))
            .collect();
        assert!(
            steps[0].contains(&format!("INDEX {index} ")),
            "{index}: {steps:?}"
        );
        // Only leads that share a time are sorted, never the whole list.
        assert!(
            steps.iter().all(|s| !s.contains("FOR ORDER BY")),
            "{index}: {steps:?}"
        );
    }
}

#[tokio::test]
async fn a_contacts_latest_lead_is_read_from_its_own_rows_not_a_scan() {
    use crate::store::conformance::fixtures::{new_lead, stored};
    let (_dir, store) = new_store().await;
    for statement in [super::leads::PREVIOUS_LEAD, super::leads::LATEST_BY_KEY] {
        let steps = plan_of(&store, statement, Some("[\"email:a@x.ru\"]")).await;
        // The steps that read `lead_contacts` (aliased `c` and `c2`).
        let contacts: Vec<&String> = steps
            .iter()
            .filter(|d| matches!(d.split_whitespace().nth(1), Some("c" | "c2")))
            .collect();
        assert!(!contacts.is_empty(), "{steps:?}");
        assert!(
            contacts
                .iter()
                .all(|d| d.contains("USING PRIMARY KEY (key=?)")),
            "{steps:?}"
        );
    }
    // The table is its (key, lead_id) key, with no rowid and no index of that key, and one
    // index by lead.
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'lead_contacts'
         ORDER BY name",
    )
    .fetch_all(&store.read)
    .await
    .expect("indexes");
    assert_eq!(indexes, ["lead_contacts_lead"]);
    let lead = new_lead("l1", "inbox", "a@x.ru", 1, "anna");
    stored(&store, &lead, &[]).await;
    let rowid = sqlx::query("SELECT rowid FROM lead_contacts")
        .fetch_all(&store.read)
        .await;
    assert!(rowid.is_err(), "a WITHOUT ROWID table has no rowid");

    // A store made before keeps every row through the migration.
    use sqlx::Connection;
    let mut old = sqlx::SqliteConnection::connect("sqlite::memory:")
        .await
        .expect("memory");
    sqlx::raw_sql(
        "CREATE TABLE lead_contacts (key TEXT NOT NULL, lead_id TEXT NOT NULL, at TEXT NOT NULL,
                                     PRIMARY KEY (key, lead_id));
         CREATE INDEX lead_contacts_at ON lead_contacts (key, at);
         CREATE INDEX lead_contacts_lead ON lead_contacts (lead_id);
         INSERT INTO lead_contacts VALUES ('phone:+7916', 'l2', 't2'), ('email:a@x.ru', 'l1', 't1'),
                                          ('email:a@x.ru', 'l2', 't2');",
    )
    .execute(&mut old)
    .await
    .expect("old table");
    sqlx::raw_sql(include_str!(
        "../migrations/sqlite/0017_lead_contacts_by_key.sql"
    ))
    .execute(&mut old)
    .await
    .expect("migrate");
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT key, lead_id, at FROM lead_contacts")
            .fetch_all(&mut old)
            .await
            .expect("rows");
    let row = |k: &str, l: &str, t: &str| (k.to_string(), l.to_string(), t.to_string());
    assert_eq!(
        rows,
        [
            row("email:a@x.ru", "l1", "t1"),
            row("email:a@x.ru", "l2", "t2"),
            row("phone:+7916", "l2", "t2")
        ]
    );
}

#[tokio::test]
async fn a_new_store_has_pages_that_hold_several_leads_and_an_old_one_keeps_its_own() {
    let dir = tempfile::tempdir().expect("tempdir");
    let page_size = |store: &SqliteStore| {
        let pool = store.write.clone();
        async move {
            sqlx::query_scalar::<_, i64>("PRAGMA page_size")
                .fetch_one(&pool)
                .await
                .expect("page_size")
        }
    };
    let fresh = SqliteStore::open(&dir.path().join("new.db"))
        .await
        .expect("open");
    assert_eq!(page_size(&fresh).await, i64::from(PAGE_SIZE));
    fresh.close().await;
    // A store made before (4 KiB pages, WAL) opens with its own page size and its data.
    let old = dir.path().join("old.db");
    {
        use sqlx::ConnectOptions;
        let mut db = SqliteConnectOptions::new()
            .filename(&old)
            .create_if_missing(true)
            .page_size(4096)
            .journal_mode(SqliteJournalMode::Wal)
            .connect()
            .await
            .expect("old store");
        sqlx::query("CREATE TABLE kept (n INTEGER)")
            .execute(&mut db)
            .await
            .expect("create");
        sqlx::query("INSERT INTO kept VALUES (7)")
            .execute(&mut db)
            .await
            .expect("insert");
        sqlx::Connection::close(db).await.expect("close");
    }
    let reopened = SqliteStore::open(&old).await.expect("reopen");
    assert_eq!(page_size(&reopened).await, 4096);
    let n: i64 = sqlx::query_scalar("SELECT n FROM kept")
        .fetch_one(&reopened.read)
        .await
        .expect("kept");
    assert_eq!(n, 7);
    reopened.close().await;
}

/// Every `LIMIT` of a bound value is written `LIMIT +?N`. SQLite (3.51) lets the planner read a
/// bare `LIMIT ?N`'s value, which marks the statement to be prepared again whenever the value
/// is bound: the processing, delivery and notification claims were re-prepared on every batch
/// (7.8 % of the hot path's instructions). The unary plus hides the value from the planner.
#[test]
fn no_statement_limits_by_a_bare_parameter() {
    fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("readable").flatten() {
            let path = entry.path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let bare = regex::Regex::new(r"(?i)\b(LIMIT|OFFSET)\s+\?").expect("regex");
    let mut files = Vec::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store");
    rust_files(&root.join("sqlite"), &mut files);
    rust_files(&root.join("sql"), &mut files);
    let found: Vec<String> = (files.iter())
        .flat_map(|f| {
            let text = std::fs::read_to_string(f).expect("readable");
            (text.lines().enumerate())
                .filter(|(_, l)| !l.trim_start().starts_with("//") && bare.is_match(l))
                .map(|(n, l)| format!("{}:{}: {}", f.display(), n + 1, l.trim()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(found.is_empty(), "write LIMIT +?N:\n{}", found.join("\n"));
}

#[tokio::test]
async fn a_store_from_before_the_name_column_finds_its_leads_by_name() {
    use crate::store::conformance::fixtures::{LEAD_BEFORE_THE_NAME_COLUMN, found_by_name};
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t.db");
    let options = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options)
        .await
        .expect("connect");
    sqlx::migrate!("src/store/migrations/sqlite")
        .run_to(14, &pool)
        .await
        .expect("migrate to 0014");
    sqlx::query(LEAD_BEFORE_THE_NAME_COLUMN)
        .execute(&pool)
        .await
        .expect("a lead of the old schema");
    pool.close().await;
    let store = SqliteStore::open(&path).await.expect("open and migrate");
    let found = found_by_name(&store, "олег").await;
    assert_eq!(
        found,
        [("old".to_string(), Some("Олег Смирнов".to_string()))]
    );
}

/// A lead's trace and an event's body are kept deflated (a BLOB well under the text's size)
/// and read back as the text they were; rows written before, as text, read as they are.
#[tokio::test]
async fn records_traces_and_event_bodies_are_kept_deflated_and_older_text_rows_still_read() {
    use crate::store::conformance::fixtures::{at, new_lead, outbox, stored, with_record};
    use crate::store::{AdminStore, ConsoleStore, LeadQuery, OutboxStore};
    let (_dir, store) = new_store().await;
    let steps: Vec<[u32; 4]> = (0..60).map(|i| [i, i % 2, 0, 0]).collect();
    let trace = serde_json::json!({"rule": "Нерабочее время — дежурному", "steps": steps});
    let mut lead = new_lead("l1", "inbox", "a@x.ru", 1, "anna");
    lead.trace = trace.to_string();
    let lead = with_record(lead, |record| {
        record.contact.phones = vec!["+79161234567".into()];
        record.text = "Нужен котёл на 300 м², доставка в Тверь. ".repeat(3);
    });
    let mut row = outbox("l1", "crm", "e1", 1);
    let data = lead.record.record();
    row.body = serde_json::json!({"type": "lead.created", "data": data}).to_string();
    stored(&store, &lead, std::slice::from_ref(&row)).await;

    let (kind, size): (String, i64) =
        sqlx::query_as("SELECT typeof(trace), length(trace) FROM leads WHERE id = 'l1'")
            .fetch_one(&store.read)
            .await
            .expect("trace");
    assert_eq!(kind, "blob");
    assert!(
        (size as usize) < lead.trace.len() / 2,
        "{size} of {}",
        lead.trace.len()
    );
    let (kind, size): (String, i64) =
        sqlx::query_as("SELECT typeof(body), length(body) FROM outbox WHERE event_id = 'e1'")
            .fetch_one(&store.read)
            .await
            .expect("body");
    assert_eq!(kind, "blob");
    assert!(
        (size as usize) < row.body.len(),
        "{size} of {}",
        row.body.len()
    );

    let record = serde_json::to_string(lead.record.record()).expect("record");
    let (kind, size): (String, i64) =
        sqlx::query_as("SELECT typeof(record), length(record) FROM leads WHERE id = 'l1'")
            .fetch_one(&store.read)
            .await
            .expect("record");
    assert_eq!(kind, "blob");
    assert!(
        (size as usize) < record.len() / 2,
        "{size} of {}",
        record.len()
    );

    let journey = store.lead_journey("l1").await.expect("read").expect("l1");
    assert_eq!(journey.trace, trace);
    assert_eq!(
        journey.lead,
        serde_json::to_value(lead.record.record()).expect("json")
    );
    let listed = |store: SqliteStore| async move {
        let query = LeadQuery {
            limit: 10,
            ..LeadQuery::default()
        };
        let page = store.lead_page(&query).await.expect("page");
        let row = page.rows.into_iter().next().expect("one lead");
        (row.phone, row.email, row.text)
    };
    let (phone, email, text) = listed(store.clone()).await;
    assert_eq!(phone.as_deref(), Some("+79161234567"));
    assert_eq!(email.as_deref(), Some("a@x.ru"));
    assert_eq!(
        text,
        lead.record
            .record()
            .text
            .chars()
            .take(120)
            .collect::<String>()
    );
    let claimed = store
        .claim_outbox("crm", at(2), at(3), 10)
        .await
        .expect("claim");
    assert_eq!(claimed[0].body, row.body);

    // As an older leadgate wrote them: text.
    sqlx::query("UPDATE leads SET trace = '{\"rule\":\"old\"}', record = ?1")
        .bind(&record)
        .execute(&store.write)
        .await
        .expect("old trace");
    sqlx::query("UPDATE outbox SET body = '{\"event\":\"old\"}', lease_until = NULL")
        .execute(&store.write)
        .await
        .expect("old body");
    let journey = store.lead_journey("l1").await.expect("read").expect("l1");
    assert_eq!(journey.trace, serde_json::json!({"rule": "old"}));
    assert_eq!(
        journey.lead,
        serde_json::to_value(lead.record.record()).expect("json")
    );
    let (phone, _, _) = listed(store.clone()).await;
    assert_eq!(phone.as_deref(), Some("+79161234567"));
    let claimed = store
        .claim_outbox("crm", at(4), at(5), 10)
        .await
        .expect("claim again");
    assert_eq!(claimed[0].body, "{\"event\":\"old\"}");
}

/// A form's commit does not wait for a processing batch being routed: the batch holds the
/// write connection from its start, but takes the write turn only at its first write. Once it
/// writes, intake waits for its commit (in turn, not failing on the locked file).
#[tokio::test]
async fn a_form_is_committed_while_a_batch_is_routed_and_waits_once_the_batch_writes() {
    use crate::store::conformance::fixtures::{at, inbound, new_lead};
    use crate::store::{Inserted, IntakeStore, ProcessStore};
    use std::time::Duration;
    let (_dir, store) = new_store().await;
    let mut tx = store.begin().await.expect("begin");
    // Routing reads and keeps its new lead back: nothing written yet.
    tx.open_leads_per_manager().await.expect("open counts");
    tx.insert_lead(&new_lead("l1", "inbox", "a@x.ru", 1, "anna"))
        .await
        .expect("kept back");
    let form = tokio::time::timeout(
        Duration::from_secs(5),
        store.insert_inbound(&[inbound("f1", "k1")], &[]),
    )
    .await
    .expect("the form is committed while the batch is open")
    .expect("insert");
    assert!(matches!(form[..], [Inserted::New(ref id)] if id == "f1"));

    // The batch writes: from now on a form waits for its commit.
    tx.set_cursor("rotation", "{}", at(2)).await.expect("write");
    let waiting = tokio::spawn({
        let store = store.clone();
        async move { store.insert_inbound(&[inbound("f2", "k2")], &[]).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !waiting.is_finished(),
        "the form waited for the batch's commit"
    );
    tx.commit().await.expect("commit");
    let form = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("the form is committed after the batch")
        .expect("task")
        .expect("insert");
    assert!(matches!(form[..], [Inserted::New(ref id)] if id == "f2"));

    let count = |sql: &'static str| {
        let pool = store.read.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .expect(sql)
        }
    };
    assert_eq!(count("SELECT COUNT(*) FROM inbound").await, 2);
    assert_eq!(count("SELECT COUNT(*) FROM leads WHERE id = 'l1'").await, 1);
    assert_eq!(
        count("SELECT COUNT(*) FROM cursors WHERE key = 'rotation'").await,
        1
    );
}

#[tokio::test]
async fn a_sink_claims_and_records_its_deliveries_while_a_batch_is_routed() {
    use crate::store::conformance::fixtures::{at, new_lead, outbox, stored};
    use crate::store::{DeliveryOutcome, DeliveryResult, OutboxStore, ProcessStore};
    use std::time::Duration;
    let (_dir, store) = new_store().await;
    let lead = new_lead("l1", "inbox", "a@x.ru", 1, "anna");
    stored(&store, &lead, &[outbox("l1", "crm", "e1", 1)]).await;

    // A batch holds the write connection while it reads and routes.
    let mut tx = store.begin().await.expect("begin");
    tx.open_leads_per_manager().await.expect("open counts");
    let claimed = tokio::time::timeout(
        Duration::from_secs(5),
        store.claim_outbox("crm", at(2), at(3), 10),
    )
    .await
    .expect("the sink claims while the batch is open")
    .expect("claim");
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].event_id, "e1");
    let delivered = DeliveryResult {
        outbox_id: claimed[0].id,
        attempt: 1,
        at: at(2),
        outcome: DeliveryOutcome::Delivered,
        status_code: Some(200),
        error: None,
        duration_ms: 3,
        lease_until: claimed[0].lease_until,
    };
    tokio::time::timeout(
        Duration::from_secs(5),
        store.record_deliveries(&[delivered]),
    )
    .await
    .expect("the sink records while the batch is open")
    .expect("record");
    tx.commit().await.expect("commit");
    let status: String = sqlx::query_scalar("SELECT status FROM outbox WHERE event_id = 'e1'")
        .fetch_one(&store.read)
        .await
        .expect("status");
    assert_eq!(status, "delivered");
}

#[tokio::test]
async fn intake_and_processing_sync_at_commit_and_delivery_bookkeeping_does_not() {
    let (_dir, store) = new_store().await;
    let synchronous = "PRAGMA synchronous";
    let level = |pool: sqlx::SqlitePool| async move {
        sqlx::query_scalar::<_, i64>(synchronous)
            .fetch_one(&pool)
            .await
            .expect("pragma")
    };
    let intake: i64 = {
        let mut conn = store.intake.lock().await;
        let conn = conn.as_mut().expect("open");
        sqlx::query_scalar(synchronous)
            .fetch_one(conn)
            .await
            .expect("pragma")
    };
    // 2 is FULL (synced at every commit), 1 NORMAL (synced at checkpoints).
    assert_eq!(intake, 2, "a form's 2xx follows a synced commit");
    assert_eq!(
        level(store.write.clone()).await,
        2,
        "leads and their outbox rows"
    );
    assert_eq!(
        level(store.deliveries.clone()).await,
        1,
        "claims and attempts"
    );
}

#[tokio::test]
async fn the_kept_out_pages_read_indexes_that_only_kept_out_items_are_in() {
    use crate::store::conformance::fixtures::{at, inbound, new_lead, stored};
    use crate::store::sql::Placeholders;
    use crate::store::sql::console::{NOT_LEAD_REASONS, not_leads_query};
    use crate::store::{FinishedInbound, IntakeStore, PageKey, ProcessStore};
    let (_dir, store) = new_store().await;
    let plan = |reason: Option<&'static str>| {
        let store = store.clone();
        async move {
            let after = PageKey {
                received_at: at(5),
                id: "i5".into(),
            };
            let mut query = not_leads_query(Placeholders::Question, "''", reason, Some(&after), 50);
            query.sql = format!("EXPLAIN QUERY PLAN {}", query.sql);
            let plan = super::console::bound(query)
                .fetch_all(&store.read)
                .await
                .expect("plan");
            plan.iter()
                .map(|r| sqlx::Row::get::<String, _>(r, "detail"))
                .collect::<Vec<_>>()
        }
    };
    let by_reason = plan(Some("spam")).await;
    assert!(
        by_reason[0].contains("INDEX inbound_console_reason "),
        "{by_reason:?}"
    );
    let newest = plan(None).await;
    assert!(
        newest[0].contains("INDEX inbound_console_recent "),
        "{newest:?}"
    );
    // The counts by reason walk the reason index (no sort for the grouping): kept-out items
    // only, as the retention keeps them.
    let counts = plan_of(&store, NOT_LEAD_REASONS.sqlite(), Some("x")).await;
    assert!(
        counts[0].contains("INDEX inbound_console_reason")
            || counts[0].contains("INDEX inbound_console_recent "),
        "{counts:?}"
    );
    let retention = plan_of(
        &store,
        "SELECT id FROM inbound WHERE status = 'not_lead' AND received_at < ?1 ORDER BY received_at",
        Some("x"),
    )
    .await;
    assert!(
        retention[0].contains("INDEX inbound_console_recent "),
        "{retention:?}"
    );

    // A form waiting for processing and a lead made of one have no entry in them; a kept-out
    // item has one in each.
    store
        .insert_inbound(&[inbound("spam1", "k-spam")], &[])
        .await
        .expect("intake");
    stored(&store, &new_lead("l1", "inbox", "a@x.ru", 1, "anna"), &[]).await;
    let entries = |index: &'static str| {
        let store = store.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM inbound INDEXED BY {index} WHERE status = 'not_lead'"
            )))
            .fetch_one(&store.read)
            .await
            .expect(index)
        }
    };
    let stats = |index: &'static str| {
        let store = store.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT ncell FROM dbstat WHERE name = ?1 AND pagetype = 'leaf'",
            )
            .bind(index)
            .fetch_all(&store.read)
            .await
            .expect(index)
            .iter()
            .sum::<i64>()
        }
    };
    for index in ["inbound_console_reason", "inbound_console_recent"] {
        assert_eq!(stats(index).await, 0, "{index} before an item is kept out");
    }
    let mut tx = store.begin().await.expect("begin");
    tx.finish_inbound(&FinishedInbound::not_lead(
        "spam1",
        "spam",
        "a link".into(),
        at(2),
    ))
    .await
    .expect("kept out");
    tx.commit().await.expect("commit");
    for index in ["inbound_console_reason", "inbound_console_recent"] {
        assert_eq!(stats(index).await, 1, "{index} once it is");
        assert_eq!(entries(index).await, 1, "{index} read");
    }
}

#[tokio::test]
async fn only_leads_with_an_id_at_their_source_are_in_its_index() {
    use crate::store::conformance::fixtures::{new_lead, stored, with_record};
    let (_dir, store) = new_store().await;
    let steps = plan_of(&store, &super::leads::by_external_id(), Some("chat")).await;
    assert!(steps[0].contains("INDEX leads_external "), "{steps:?}");
    let form = with_record(new_lead("l1", "site", "a@x.ru", 1, "anna"), |record| {
        record.external_id = None;
    });
    stored(&store, &form, &[]).await;
    let message = with_record(new_lead("l2", "chat", "b@x.ru", 2, "anna"), |record| {
        record.external_id = Some("m-2".into());
    });
    stored(&store, &message, &[]).await;
    let entries: i64 = sqlx::query_scalar(
        "SELECT SUM(ncell) FROM dbstat WHERE name = 'leads_external' AND pagetype = 'leaf'",
    )
    .fetch_one(&store.read)
    .await
    .expect("entries");
    assert_eq!(entries, 1);
}

#[tokio::test]
async fn the_last_arrival_of_each_source_is_read_with_seeks_not_a_walk_of_every_item() {
    use crate::store::sql::notifications::LAST_INBOUND;
    let (_dir, store) = new_store().await;
    let steps = plan_of(&store, LAST_INBOUND.sqlite(), None).await;
    // Every step that reads `inbound` (aliased `i`, or unaliased in the first MIN) seeks.
    let reads: Vec<&String> = steps
        .iter()
        .filter(|d| d.contains(" inbound") || d.contains(" i "))
        .collect();
    assert!(reads.len() >= 3, "{steps:?}");
    assert!(
        reads
            .iter()
            .all(|d| d.starts_with("SEARCH") || d.contains("MIN/MAX")),
        "{steps:?}"
    );
    // What it answers is checked on both backends (`conformance::intake`).
}

#[tokio::test]
async fn a_file_keeper_round_reads_only_processed_items_by_store_order() {
    let (_dir, store) = new_store().await;
    let plan = plan_of(
        &store,
        &super::files::files_round("FALSE AS may_hold"),
        None,
    )
    .await;
    assert!(
        plan.iter()
            .any(|s| s.contains("USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)")),
        "the items between the position and the first pending one: {plan:?}"
    );
    assert!(
        plan.iter()
            .any(|s| s.contains("USING COVERING INDEX inbound_pending")),
        "the first pending item from the pending queue's index: {plan:?}"
    );
    assert!(
        plan.iter().filter(|s| s.contains("inbound")).all(|s| s
            .contains("USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)")
            || s.contains("INDEX inbound_pending")),
        "no walk of the processed items from the first: {plan:?}"
    );
}
