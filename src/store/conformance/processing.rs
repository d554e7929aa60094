//! The processing stage's transaction: reads see what it keeps back, the kept counts follow
//! the leads, conversations read ahead answer as the table would, the SLA's deadlines.

use super::Stores;
use super::fixtures::{
    assignment, at, encoded, held_lead, inbound, new_lead, previous, stored, with_record,
};
use crate::store::{
    ErasureRequest, FinishedInbound, LeadStatus, LeadUpdate, NewAssignment, NewNotification,
    StoreError, Subject,
};

/// Erases lead `id` as `leadgate forget` would.
async fn erase(store: &dyn Stores, id: &str) {
    store
        .forget(
            &Subject::Lead(id.into()),
            &ErasureRequest {
                id: format!("erase-{id}"),
                by: "test".into(),
                at: at(59),
            },
        )
        .await
        .expect("forget");
}

pub(crate) async fn reads_in_the_transaction_see_the_leads_it_keeps_back(store: &dyn Stores) {
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
    let by_ref = (tx.lead_by_refs(Some("inbox"), &["<a1@mail>".into()]).await).expect("read");
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

pub(crate) async fn open_leads_are_kept_as_leads_are_written_moved_taken_and_erased(
    store: &dyn Stores,
) {
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
    let mut tx = store.begin().await.expect("begin");
    assert_eq!(tx.open_leads_per_manager().await.expect("open"), open);
    drop(tx);
    let outside = store.open_per_manager().await.expect("open");
    assert_eq!(outside, [("anna".into(), 1), ("boris".into(), 1)].into());
    // l3 (anna's) is erased: she has none open.
    erase(store, "l3").await;
    let mut tx = store.begin().await.expect("begin");
    let open = tx.open_leads_per_manager().await.expect("open");
    assert_eq!(open, [("boris".into(), 1)].into());
}

pub(crate) async fn held_leads_per_level_are_kept_as_leads_are_held_offered_and_erased(
    store: &dyn Stores,
) {
    let mut tx = store.begin().await.expect("begin");
    for (id, level) in [("h1", "senior"), ("h2", "senior"), ("h3", "junior")] {
        tx.insert_lead(&held_lead(id, level)).await.expect("insert");
    }
    let mut levels = tx.held_levels().await.expect("levels");
    levels.sort();
    assert_eq!(levels, ["junior", "senior"]);
    // h3 finds a manager: junior holds nothing any more.
    let mut record = tx.lead("h3").await.expect("read").expect("h3").record;
    record.assignment = (new_lead("x", "inbox", "x@x.ru", 6, "vera").record)
        .record()
        .assignment
        .clone();
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
    assert_eq!(store.queue_stats().await.expect("stats").leads_held, 2);
    let mut tx = store.begin().await.expect("begin");
    let held: Vec<String> = tx
        .held_leads(10)
        .await
        .expect("held")
        .into_iter()
        .map(|l| l.record.id)
        .collect();
    assert_eq!(held, ["h1", "h2"], "oldest first");
    drop(tx);
    erase(store, "h1").await;
    let kept = store.held_per_level().await.expect("kept");
    assert_eq!(kept, [("senior".to_string(), 1)].into());
    assert_eq!(store.queue_stats().await.expect("stats").leads_held, 1);
}

pub(crate) async fn conversations_read_ahead_answer_as_the_table_would(store: &dyn Stores) {
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

pub(crate) async fn follow_ups_add_keys_refs_and_activity_but_keep_the_routing(s: &dyn Stores) {
    stored(s, &new_lead("f1", "tg", "f@x.ru", 1, "anna"), &[]).await;
    let mut tx = s.begin().await.expect("begin");
    assert_eq!(
        tx.lead_ref_count("f1").await.expect("count"),
        1,
        "its own id"
    );
    let mut record = tx.lead("f1").await.expect("read").expect("f1").record;
    record.text = "text, and a phone".into();
    tx.follow_up_lead(encoded(&record), at(20))
        .await
        .expect("follow up");
    tx.add_identity_keys("f1", Some("anna"), &["phone:+79161234567".into()], at(20))
        .await
        .expect("keys");
    tx.add_refs("f1", &["<reply@mail>".into()])
        .await
        .expect("refs");
    // A ref kept back in the transaction is counted.
    assert_eq!(tx.lead_ref_count("f1").await.expect("count"), 2);
    tx.commit().await.expect("commit");

    let mut tx = s.begin().await.expect("begin");
    let lead = tx.lead("f1").await.expect("read").expect("f1");
    assert_eq!(lead.record.text, "text, and a phone");
    assert_eq!(lead.last_activity_at, at(20));
    assert_eq!(
        (
            lead.status,
            lead.manager_id.as_deref(),
            lead.level.as_deref()
        ),
        (LeadStatus::Assigned, Some("anna"), Some("junior"))
    );
    assert_eq!(
        tx.previous_lead(&["phone:+79161234567".into()])
            .await
            .expect("read"),
        previous("f1", "anna")
    );
    let by_ref = tx
        .lead_by_refs(None, &["<reply@mail>".into()])
        .await
        .expect("read");
    assert_eq!(by_ref.map(|l| l.record.id), Some("f1".into()));
    // Within its source only, when asked so: another source's message 7 is someone else's.
    for (source, found) in [("tg", Some("f1".to_string())), ("inbox", None)] {
        let by_ref = (tx
            .lead_by_refs(Some(source), &["<reply@mail>".into()])
            .await)
            .expect("read");
        assert_eq!(by_ref.map(|l| l.record.id), found, "within {source}");
    }
    let by_external = tx
        .lead_by_external_id("tg", "<f1@mail>")
        .await
        .expect("read");
    assert_eq!(by_external.map(|l| l.record.id), Some("f1".into()));
    assert!(
        tx.lead_by_refs(None, &["<other@mail>".into()])
            .await
            .expect("read")
            .is_none()
    );
    assert!(tx.lead_by_refs(None, &[]).await.expect("read").is_none());
    assert!(tx.previous_lead(&[]).await.expect("read").is_none());
    // Active since minute 15 only through the follow-up at minute 20.
    let open = tx
        .open_conversation("tg", "chat:f@x.ru", at(15))
        .await
        .expect("read");
    assert_eq!(open.map(|l| l.record.id), Some("f1".into()));
    assert!(
        tx.open_conversation("tg", "chat:f@x.ru", at(21))
            .await
            .expect("read")
            .is_none()
    );
    // Read ahead, the keys answer as the table would, and follow a change of manager.
    let (email, phone) = ("email:f@x.ru".to_string(), "phone:+79161234567".to_string());
    tx.prefetch_identities(&[email.clone(), phone.clone(), "email:none@x.ru".into()])
        .await
        .expect("prefetch");
    assert_eq!(
        tx.previous_lead(&["email:none@x.ru".into()])
            .await
            .expect("read"),
        None
    );
    assert_eq!(
        tx.previous_lead(&[email.clone(), phone.clone()])
            .await
            .expect("read"),
        previous("f1", "anna")
    );
    let mut moved = lead.record;
    if let Some(a) = moved.assignment.as_mut() {
        a.manager.id = "boris".into();
    }
    tx.update_lead(&LeadUpdate {
        record: moved,
        status: LeadStatus::Assigned,
        at: at(22),
        trace: None,
    })
    .await
    .expect("update");
    assert_eq!(
        tx.previous_lead(&[phone]).await.expect("read"),
        previous("f1", "boris")
    );
}

pub(crate) async fn follow_ups_in_one_transaction_read_back_as_the_last_one(s: &dyn Stores) {
    stored(s, &new_lead("g1", "tg", "g@x.ru", 1, "anna"), &[]).await;
    let mut tx = s.begin().await.expect("begin");
    let ask = ("tg".to_string(), "chat:g@x.ru".to_string(), at(0));
    // A burst asks for the same conversation once per message.
    (tx.prefetch_conversations(&[ask.clone(), ask.clone(), ask])
        .await)
        .expect("prefetch");
    let mut record = tx.lead("g1").await.expect("read").expect("g1").record;
    let mut text = String::from("text");
    for (n, minute) in [("one", 10), ("two", 11)] {
        text = format!("{text}\n\n{n}");
        record.text = text.clone();
        tx.follow_up_lead(encoded(&record), at(minute))
            .await
            .expect("follow up");
        // Read ahead, the conversation's lead is the record just followed up.
        let open = tx.open_conversation("tg", "chat:g@x.ru", at(0)).await;
        let open = open.expect("read").expect("still open");
        assert_eq!(
            (open.record.text.as_str(), open.last_activity_at),
            (text.as_str(), at(minute))
        );
    }
    // Asked with another start, the table answers, and has the follow-ups.
    let open = tx.open_conversation("tg", "chat:g@x.ru", at(11)).await;
    assert_eq!(
        open.expect("read").map(|l| l.record.text),
        Some(text.clone())
    );
    record.text = format!("{text}\n\nthree");
    tx.follow_up_lead(encoded(&record), at(12))
        .await
        .expect("follow up");
    let by_external = tx
        .lead_by_external_id("tg", "<g1@mail>")
        .await
        .expect("read");
    assert_eq!(
        by_external.map(|l| l.record.text),
        Some(record.text.clone())
    );
    record.text = format!("{text}\n\nthree\n\nfour");
    record.contact.name = Some("Галина".into());
    tx.follow_up_lead(encoded(&record), at(13))
        .await
        .expect("follow up");
    tx.commit().await.expect("commit");

    let mut tx = s.begin().await.expect("begin");
    let lead = tx.lead("g1").await.expect("read").expect("g1");
    assert_eq!(lead.record.text, "text\n\none\n\ntwo\n\nthree\n\nfour");
    assert_eq!(lead.record.contact.name.as_deref(), Some("Галина"));
    assert_eq!(
        (lead.last_activity_at, lead.status),
        (at(13), LeadStatus::Assigned)
    );
    // A follow-up then a change of the same lead in one transaction: the change is last.
    let mut record = lead.record;
    record.text.push_str("\n\nfive");
    tx.follow_up_lead(encoded(&record), at(14))
        .await
        .expect("follow up");
    tx.update_lead(&LeadUpdate {
        record: record.clone(),
        status: LeadStatus::Acknowledged,
        at: at(15),
        trace: None,
    })
    .await
    .expect("update");
    tx.commit().await.expect("commit");
    let mut tx = s.begin().await.expect("begin");
    let lead = tx.lead("g1").await.expect("read").expect("g1");
    assert!(
        lead.record.text.ends_with("four\n\nfive"),
        "{}",
        lead.record.text
    );
    assert_eq!(
        (lead.last_activity_at, lead.status),
        (at(15), LeadStatus::Acknowledged)
    );
}

pub(crate) async fn the_sla_sees_deadlines_and_takes_count_in_the_reports(s: &dyn Stores) {
    let lead = with_record(new_lead("d1", "inbox", "d@x.ru", 1, "anna"), |record| {
        if let Some(a) = record.assignment.as_mut() {
            a.ack_due_at = Some(at(40));
        }
    });
    stored(s, &lead, &[]).await;
    stored(s, &new_lead("d2", "inbox", "e@x.ru", 2, "boris"), &[]).await;
    assert_eq!(s.next_ack_due().await.expect("next"), Some(at(40)));
    let mut tx = s.begin().await.expect("begin");
    assert!(
        tx.due_assignments(at(39), 10)
            .await
            .expect("due")
            .is_empty()
    );
    let due = tx.due_assignments(at(41), 10).await.expect("due");
    assert_eq!(due.len(), 1);
    let due = &due[0];
    assert_eq!(
        (
            due.lead.record.id.as_str(),
            due.manager_id.as_str(),
            due.level.as_str(),
            due.attempt
        ),
        ("d1", "anna", "junior", 1)
    );
    assert_eq!(due.ack_due_at, Some(at(40)));
    let active = tx
        .active_assignment("d2")
        .await
        .expect("read")
        .expect("d2's");
    assert_eq!(
        (active.manager_id.as_str(), active.ack_due_at),
        ("boris", None)
    );
    // d1 is taken at minute 4 (three minutes after it was assigned).
    tx.end_assignment("d1", "acknowledged", at(4))
        .await
        .expect("end");
    let record = tx.lead("d1").await.expect("read").expect("d1").record;
    tx.update_lead(&LeadUpdate {
        record,
        status: LeadStatus::Acknowledged,
        at: at(4),
        trace: None,
    })
    .await
    .expect("update");
    tx.record_take("2026-11-22", "anna", "junior", 2)
        .await
        .expect("take");
    assert!(tx.active_assignment("d1").await.expect("read").is_none());
    // d2 passes to vera: the first assignment expires.
    tx.insert_assignment(&NewAssignment {
        ack_due_at: Some(at(50)),
        ..assignment("d2", "vera", 2)
    })
    .await
    .expect("pass");
    let history: Vec<(String, u32, String)> = tx
        .assignment_history("d2")
        .await
        .expect("history")
        .into_iter()
        .map(|a| (a.manager_id, a.attempt, a.state))
        .collect();
    assert_eq!(
        history,
        [
            ("boris".into(), 1, "expired".into()),
            ("vera".into(), 2, "active".into())
        ]
    );
    tx.keep_rules_texts("v2", "{}", at(5)).await.expect("texts");
    tx.keep_rules_texts("v2", "{\"ignored\": true}", at(6))
        .await
        .expect("texts again");
    tx.set_trace("d2", "{\"decided\":\"again\"}", "v2")
        .await
        .expect("trace");
    tx.commit().await.expect("commit");

    // d1 is taken, so d2's deadline (vera's, whose lead is still assigned) is next.
    assert_eq!(s.next_ack_due().await.expect("next"), Some(at(50)));
    let totals = s
        .manager_totals("2026-11-22", "2026-11-22")
        .await
        .expect("totals");
    let anna = totals
        .iter()
        .find(|t| t.manager_id == "anna")
        .expect("anna");
    assert_eq!(
        (anna.level.as_str(), anna.assigned, anna.taken),
        ("junior", 1, 1)
    );
    assert_eq!(anna.take_buckets[1], 1, "three minutes: within five");
    assert_eq!(anna.work_buckets[2], 1, "as recorded");
    let boris = totals
        .iter()
        .find(|t| t.manager_id == "boris")
        .expect("boris");
    assert_eq!((boris.assigned, boris.expired, boris.taken), (1, 1, 0));
    let journey = s.lead_journey("d2").await.expect("read").expect("d2");
    assert_eq!(journey.rules_version, "v2");
    assert_eq!(journey.trace, serde_json::json!({"decided": "again"}));
}

pub(crate) async fn nothing_is_visible_before_the_commit(s: &dyn Stores) {
    let mut tx = s.begin().await.expect("begin");
    tx.insert_lead(&new_lead("n1", "inbox", "n@x.ru", 1, "anna"))
        .await
        .expect("insert");
    tx.insert_outbox(&[super::fixtures::outbox("n1", "crm", "e1", 1)])
        .await
        .expect("outbox");
    tx.insert_notifications(&[NewNotification {
        dedupe_key: "assigned:n1:1:email".into(),
        lead_id: Some("n1".into()),
        recipient: "anna".into(),
        channel: "email".into(),
        address: "anna@x.ru".into(),
        kind: "assigned".into(),
        message: "{}".into(),
        created_at: at(1),
    }])
    .await
    .expect("notify");
    tx.audit("n1", at(1), "routed", &serde_json::json!({"to": "anna"}))
        .await
        .expect("audit");
    // Read while the transaction is open: a writer's rows are its own until it commits.
    let leads = s
        .list_leads(&crate::store::ListFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("list");
    assert!(leads.is_empty());
    drop(tx);
    assert!(s.lead_journey("n1").await.expect("read").is_none());
    assert_eq!(s.queue_stats().await.expect("stats").outbox_pending, 0);
    assert_eq!(s.next_notification_due().await.expect("due"), None);
}

pub(crate) async fn an_item_another_transaction_finished_first_fails_the_whole_batch(
    s: &dyn Stores,
) {
    s.insert_inbound(&[inbound("x", "kx")], &[])
        .await
        .expect("insert");
    // Two processors read the item while it was pending (replicas whose leases overlapped):
    // the first finishes it.
    let mut first = s.begin().await.expect("begin");
    let spam = FinishedInbound::not_lead("x", "spam", "casino".into(), at(1));
    first.finish_inbound(&spam).await.expect("finish");
    first.commit().await.expect("commit");
    let mut second = s.begin().await.expect("begin");
    let lead = new_lead("twice", "site", "a@example.ru", 2, "anna");
    second.insert_lead(&lead).await.expect("lead");
    let again = FinishedInbound::lead("x", "twice", None, at(2));
    second.finish_inbound(&again).await.expect("finish");
    match second.commit().await {
        Err(StoreError::AlreadyProcessed(id)) => assert_eq!(id, "x"),
        other => panic!("the second batch must fail on the finished item: {other:?}"),
    }
    let mut tx = s.begin().await.expect("begin");
    assert!(
        tx.lead("twice").await.expect("read").is_none(),
        "nothing of it is kept"
    );
    drop(tx);
    let pending = s.pending_inbound(10).await.expect("pending");
    assert!(pending.is_empty(), "the item keeps its first outcome");
}
