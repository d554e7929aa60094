//! The processing transaction's reads see the leads it keeps back, whichever way they look.

use super::{PAGE_SIZE, SqliteStore};
use crate::lead::{
    AssignedManager, Assignment, Channel, Classification, Contact, Lead, NormalisedDraft, Thread,
};
use crate::store::{
    LeadStatus, LeadUpdate, NewAssignment, NewLead, NotificationStore, PreviousLead, Store,
};
use chrono::{DateTime, TimeZone, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 9, minute, 0)
        .single()
        .expect("a valid time")
}

/// A new lead `id` from `email` in `source`, received at `minute`, assigned to `manager`.
fn new_lead(id: &str, source: &str, email: &str, minute: u32, manager: &str) -> NewLead {
    let draft = NormalisedDraft {
        external_id: Some(format!("<{id}@mail>")),
        contact: Contact {
            emails: vec![email.to_string()],
            ..Contact::default()
        },
        subject: None,
        text: "text".into(),
        fields: serde_json::Map::new(),
        utm: Default::default(),
        page_url: None,
        referrer: None,
        thread: Thread::default(),
    };
    let mut record = Lead::unrouted(id.into(), at(minute), Channel::Email, source.into(), draft);
    record.assignment = Some(Assignment {
        manager: AssignedManager {
            id: manager.into(),
            name: manager.into(),
            email: None,
            crm_user_id: None,
        },
        strategy: "round_robin".into(),
        assigned_at: at(minute),
        ack_due_at: None,
        attempt: 1,
    });
    NewLead {
        identity_keys: record.contact.identity_keys(),
        refs: vec![format!("<{id}@mail>")],
        inbound_id: id.into(),
        status: LeadStatus::Assigned,
        conversation_key: Some(format!("chat:{email}")),
        trace: "{}".into(),
        rules_version: "v1".into(),
        record,
    }
}

fn assignment(lead: &str, manager: &str, attempt: u32) -> NewAssignment {
    NewAssignment {
        lead_id: lead.into(),
        manager_id: manager.into(),
        level: "junior".into(),
        strategy: "round_robin".into(),
        attempt,
        assigned_at: at(30 + attempt),
        ack_due_at: None,
        previous_state: "expired",
    }
}

fn previous(id: &str, manager: &str) -> Option<PreviousLead> {
    Some(PreviousLead {
        id: id.into(),
        manager_id: Some(manager.into()),
    })
}

#[tokio::test]
async fn reads_in_the_transaction_see_the_leads_it_keeps_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("t.db"))
        .await
        .expect("open");
    let keys = |email: &str| vec![format!("email:{email}")];

    let mut tx = store.begin().await.expect("begin");
    tx.prefetch_identities(&[keys("a@x.ru"), keys("b@x.ru")].concat())
        .await
        .expect("prefetch");
    assert_eq!(tx.previous_lead(&keys("a@x.ru")).await.expect("read"), None);
    tx.insert_lead(&new_lead("a1", "inbox", "a@x.ru", 1, "anna"))
        .await
        .expect("insert");
    tx.insert_assignment(&assignment("a1", "anna", 1))
        .await
        .expect("assign");
    // Known keys are answered from what the transaction wrote.
    assert_eq!(
        tx.previous_lead(&keys("a@x.ru")).await.expect("read"),
        previous("a1", "anna")
    );
    // Each lookup finds a lead written just before it.
    let by_ref = tx.lead_by_refs(&["<a1@mail>".into()]).await.expect("read");
    assert_eq!(by_ref.map(|l| l.record.id), Some("a1".into()));
    tx.insert_lead(&new_lead("b1", "inbox", "b@x.ru", 2, "boris"))
        .await
        .expect("insert");
    let by_external = tx
        .lead_by_external_id("inbox", "<b1@mail>")
        .await
        .expect("read");
    assert_eq!(by_external.map(|l| l.record.id), Some("b1".into()));
    tx.insert_lead(&new_lead("c1", "tg", "c@x.ru", 3, "anna"))
        .await
        .expect("insert");
    let open = tx
        .open_conversation("tg", "chat:c@x.ru", at(0))
        .await
        .expect("read");
    assert_eq!(open.map(|l| l.record.id), Some("c1".into()));
    tx.insert_lead(&new_lead("a2", "inbox", "a@x.ru", 4, "anna"))
        .await
        .expect("insert");
    tx.insert_assignment(&assignment("a2", "anna", 1))
        .await
        .expect("assign");
    let active = tx.active_assignment("a2").await.expect("read");
    assert_eq!(active.map(|a| a.manager_id), Some("anna".into()));
    // A change of manager shows in the returning contact's answer; a second assignment ends
    // the first.
    let mut moved = tx.lead("a2").await.expect("read").expect("a2").record;
    if let Some(a) = moved.assignment.as_mut() {
        a.manager.id = "boris".into();
    }
    tx.update_lead(&LeadUpdate {
        record: moved,
        status: LeadStatus::Assigned,
        at: at(40),
        trace: None,
    })
    .await
    .expect("update");
    tx.insert_assignment(&assignment("a2", "boris", 2))
        .await
        .expect("assign");
    assert_eq!(
        tx.previous_lead(&keys("a@x.ru")).await.expect("read"),
        previous("a2", "boris")
    );
    let history: Vec<(String, String)> = tx
        .assignment_history("a2")
        .await
        .expect("read")
        .into_iter()
        .map(|a| (a.manager_id, a.state))
        .collect();
    assert_eq!(
        history,
        [
            ("anna".to_string(), "expired".to_string()),
            ("boris".to_string(), "active".to_string())
        ]
    );
    tx.commit().await.expect("commit");

    // Committed, and the same answers without reading ahead.
    let mut tx = store.begin().await.expect("begin");
    assert_eq!(
        tx.previous_lead(&keys("a@x.ru")).await.expect("read"),
        previous("a2", "boris")
    );
    assert_eq!(
        tx.previous_lead(&keys("b@x.ru")).await.expect("read"),
        previous("b1", "boris")
    );
    let history = tx.assignment_history("a1").await.expect("read");
    assert_eq!(history.len(), 1, "{history:?}");
    for id in ["a1", "b1", "c1", "a2"] {
        assert!(tx.lead(id).await.expect("read").is_some(), "{id}");
    }
}

/// The open leads per manager as a COUNT over the leads would say it.
async fn counted(store: &SqliteStore) -> std::collections::HashMap<String, u32> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT manager_id, COUNT(*) FROM leads
         WHERE status = 'assigned' AND manager_id IS NOT NULL GROUP BY manager_id",
    )
    .fetch_all(&store.read)
    .await
    .expect("count");
    rows.into_iter().map(|(m, n)| (m, n as u32)).collect()
}

#[tokio::test]
async fn open_leads_are_kept_as_leads_are_written_moved_taken_and_erased() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("t.db"))
        .await
        .expect("open");
    let mut tx = store.begin().await.expect("begin");
    for (i, manager) in ["anna", "anna", "boris", "anna"].iter().enumerate() {
        let id = format!("l{i}");
        tx.insert_lead(&new_lead(
            &id,
            "inbox",
            &format!("{id}@x.ru"),
            i as u32,
            manager,
        ))
        .await
        .expect("insert");
    }
    let open = tx.open_leads_per_manager().await.expect("open");
    assert_eq!(open, [("anna".into(), 3), ("boris".into(), 1)].into());
    // l0 passes from anna to boris; l1 is taken; l2 is held again.
    for (id, manager, status) in [
        ("l0", "boris", LeadStatus::Assigned),
        ("l1", "anna", LeadStatus::Acknowledged),
        ("l2", "boris", LeadStatus::Held),
    ] {
        let mut record = tx.lead(id).await.expect("read").expect("lead").record;
        if status == LeadStatus::Held {
            record.assignment = None;
        } else if let Some(a) = record.assignment.as_mut() {
            a.manager.id = manager.into();
        }
        tx.update_lead(&LeadUpdate {
            record,
            status,
            at: at(50),
            trace: None,
        })
        .await
        .expect("update");
    }
    let open = tx.open_leads_per_manager().await.expect("open");
    assert_eq!(open, [("anna".into(), 1), ("boris".into(), 1)].into());
    tx.commit().await.expect("commit");
    assert_eq!(
        counted(&store).await,
        open,
        "the kept counts are the COUNT's"
    );
    sqlx::query("DELETE FROM leads WHERE id = 'l3'")
        .execute(&store.write)
        .await
        .expect("erase");
    let mut tx = store.begin().await.expect("begin");
    let open = tx.open_leads_per_manager().await.expect("open");
    assert_eq!(open, [("boris".into(), 1)].into());
    assert_eq!(counted(&store).await, open);
}

/// A held lead `id` at `level`.
fn held_lead(id: &str, level: &str) -> NewLead {
    let mut lead = new_lead(id, "inbox", &format!("{id}@x.ru"), 5, "nobody");
    lead.record.assignment = None;
    lead.record.classification = Some(Classification {
        rule: "r".into(),
        level: level.into(),
        tags: Vec::new(),
        score: 0,
    });
    lead.status = LeadStatus::Held;
    lead
}

/// The held leads per level as a COUNT over the leads would say it.
async fn held_counted(store: &SqliteStore) -> std::collections::HashMap<String, u64> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT COALESCE(level, ''), COUNT(*) FROM leads WHERE status = 'held' GROUP BY 1",
    )
    .fetch_all(&store.read)
    .await
    .expect("count");
    rows.into_iter().map(|(l, n)| (l, n as u64)).collect()
}

#[tokio::test]
async fn held_leads_per_level_are_kept_as_leads_are_held_offered_and_erased() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("t.db"))
        .await
        .expect("open");
    let mut tx = store.begin().await.expect("begin");
    for (id, level) in [("h1", "senior"), ("h2", "senior"), ("h3", "junior")] {
        tx.insert_lead(&held_lead(id, level)).await.expect("insert");
    }
    let mut levels = tx.held_levels().await.expect("levels");
    levels.sort();
    assert_eq!(levels, ["junior", "senior"]);
    // h3 finds a manager: junior holds nothing any more.
    let mut record = tx.lead("h3").await.expect("read").expect("h3").record;
    record.assignment = new_lead("x", "inbox", "x@x.ru", 6, "vera")
        .record
        .assignment;
    tx.update_lead(&LeadUpdate {
        record,
        status: LeadStatus::Assigned,
        at: at(50),
        trace: None,
    })
    .await
    .expect("update");
    assert_eq!(tx.held_levels().await.expect("levels"), ["senior"]);
    tx.commit().await.expect("commit");
    let kept = store.held_per_level().await.expect("kept");
    assert_eq!(kept, [("senior".to_string(), 2)].into());
    assert_eq!(
        held_counted(&store).await,
        kept,
        "the kept counts are the COUNT's"
    );
    assert_eq!(store.queue_stats().await.expect("stats").leads_held, 2);
    sqlx::query("DELETE FROM leads WHERE id = 'h1'")
        .execute(&store.write)
        .await
        .expect("erase");
    let kept = store.held_per_level().await.expect("kept");
    assert_eq!(kept, [("senior".to_string(), 1)].into());
    assert_eq!(held_counted(&store).await, kept);
}

#[tokio::test]
async fn conversations_read_ahead_answer_as_the_table_would() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("t.db"))
        .await
        .expect("open");
    let mut tx = store.begin().await.expect("begin");
    for (id, source, minute) in [
        ("old", "tg", 1),
        ("older", "tg", 0),
        ("taken", "tg", 2),
        ("vk-old", "vk", 1),
    ] {
        let mut lead = new_lead(id, source, &format!("{id}@x.ru"), minute, "anna");
        lead.conversation_key = Some("chat:old".into());
        if id == "taken" {
            lead.status = LeadStatus::Acknowledged;
        }
        tx.insert_lead(&lead).await.expect("insert");
    }
    tx.commit().await.expect("commit");

    let ask = |key: &str| ("tg".to_string(), key.to_string(), at(0));
    let mut tx = store.begin().await.expect("begin");
    // The same key in another source, asked in the same read: each source gets its own lead.
    let elsewhere = ("vk".to_string(), "chat:old".to_string(), at(0));
    tx.prefetch_conversations(&[elsewhere, ask("chat:old"), ask("chat:new@x.ru")])
        .await
        .expect("prefetch");
    let open = tx.open_conversation("vk", "chat:old", at(0)).await;
    assert_eq!(
        open.expect("read").map(|l| l.record.id),
        Some("vk-old".into())
    );
    // Read ahead, the answers are the table's: the newest open lead, or none.
    let open = tx.open_conversation("tg", "chat:old", at(0)).await;
    assert_eq!(open.expect("read").map(|l| l.record.id), Some("old".into()));
    let open = tx.open_conversation("tg", "chat:new@x.ru", at(0)).await;
    assert!(open.expect("read").is_none());
    // Asked with another start, the table answers: `old` was last active before minute 3.
    let open = tx.open_conversation("tg", "chat:old", at(3)).await;
    assert!(open.expect("read").is_none());
    // A lead written in the transaction opens its conversation, before and after it is
    // written to the table.
    tx.insert_lead(&new_lead("new", "tg", "new@x.ru", 2, "anna"))
        .await
        .expect("insert");
    let open = tx.open_conversation("tg", "chat:new@x.ru", at(0)).await;
    assert_eq!(open.expect("read").map(|l| l.record.id), Some("new".into()));
    tx.open_leads_per_manager()
        .await
        .expect("a read that writes the kept-back leads");
    let open = tx.open_conversation("tg", "chat:new@x.ru", at(0)).await;
    assert_eq!(open.expect("read").map(|l| l.record.id), Some("new".into()));
    // A lead changed in the transaction is answered as it is now: taken, it is not open.
    let old = tx.lead("old").await.expect("read").expect("old").record;
    tx.update_lead(&LeadUpdate {
        record: old,
        status: LeadStatus::Acknowledged,
        at: at(5),
        trace: None,
    })
    .await
    .expect("update");
    let open = tx.open_conversation("tg", "chat:old", at(0)).await;
    assert_eq!(
        open.expect("read").map(|l| l.record.id),
        Some("older".into())
    );
}

#[tokio::test]
async fn the_sla_reads_deadlines_from_their_index_not_every_assignment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("t.db"))
        .await
        .expect("open");
    let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "EXPLAIN QUERY PLAN {}",
        super::leads::NEXT_DUE
    )))
    .fetch_all(&store.read)
    .await
    .expect("plan");
    let steps: Vec<&str> = plan.iter().map(|(_, _, _, d)| d.as_str()).collect();
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

fn inbound(id: &str, key: &str) -> crate::store::NewInbound {
    crate::store::NewInbound {
        id: id.into(),
        source: "site".into(),
        channel: Channel::Webform,
        dedupe_key: key.into(),
        received_at: at(1),
        content_type: None,
        payload: id.as_bytes().to_vec(),
        meta: serde_json::json!({}),
    }
}

#[tokio::test]
async fn intake_answers_each_item_new_or_the_stored_one_it_repeats_in_a_small_group_and_a_big_one()
{
    use crate::store::{CursorWrite, Inserted};
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("t.db"))
        .await
        .expect("open");
    // A small group on its own statement: a repeat within the group is the first one.
    let small = [inbound("a", "k1"), inbound("b", "k2"), inbound("c", "k1")];
    let got = store.insert_inbound(&small, &[]).await.expect("insert");
    assert_eq!(
        got,
        [
            Inserted::New("a".into()),
            Inserted::New("b".into()),
            Inserted::Duplicate("a".into())
        ]
    );
    // A group bigger than one statement, with a position, in one transaction: repeats of
    // stored items and of the group's own are answered with the stored ids.
    let mut big: Vec<_> = (0..150)
        .map(|i| inbound(&format!("n{i}"), &format!("big{i}")))
        .collect();
    big.push(inbound("again", "k2"));
    big.push(inbound("twice", "big7"));
    let cursor = CursorWrite {
        key: "email:box:INBOX".into(),
        value: "42".into(),
        at: at(2),
    };
    let got = store
        .insert_inbound(&big, std::slice::from_ref(&cursor))
        .await
        .expect("insert");
    assert_eq!(got.len(), 152);
    assert_eq!(got[149], Inserted::New("n149".into()));
    assert_eq!(got[150], Inserted::Duplicate("b".into()));
    assert_eq!(got[151], Inserted::Duplicate("n7".into()));
    assert_eq!(
        store.get_cursor("email:box:INBOX").await.expect("read"),
        Some("42".into())
    );
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM inbound")
        .fetch_one(&store.read)
        .await
        .expect("count");
    assert_eq!(stored, 2 + 150);
}
