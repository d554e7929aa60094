//! What removes personal data, and the file keeper's records: `leadgate forget` and export,
//! the retention sweeps, the attachments table.

use super::Stores;
use super::fixtures::{at, inbound, new_lead, outbox, stored};
use crate::lead::{Channel, Contact, TelegramAccount};
use crate::store::{
    DeliveryOutcome, DeliveryResult, EncodedLead, ErasureRequest, FileRecord, FileSigns, FileState,
    FinishedInbound, LeadStatus, LeadUpdate, NewLead, NewNotification, NotificationResult,
    RetentionKind, Subject,
};
use serde_json::{Value, json};

fn file(id: &str, lead: &str, sha: &str, size: u64, minute: u32) -> FileRecord {
    FileRecord {
        id: id.into(),
        inbound_id: lead.into(),
        lead_id: lead.into(),
        name: format!("{id}.png"),
        content_type: "image/png".into(),
        state: FileState::Kept {
            sha256: sha.into(),
            size,
        },
        at: at(minute),
    }
}

/// A not-lead item `id` whose bytes are `payload`, received at `minute`.
async fn kept_out(s: &dyn Stores, id: &str, payload: &str, minute: u32) {
    let mut item = inbound(id, id);
    item.payload = payload.as_bytes().to_vec();
    item.received_at = at(minute);
    s.insert_inbound(&[item], &[]).await.expect("intake");
    let mut tx = s.begin().await.expect("begin");
    tx.finish_inbound(&FinishedInbound::not_lead(
        id,
        "spam",
        String::new(),
        at(minute),
    ))
    .await
    .expect("finish");
    tx.commit().await.expect("commit");
}

/// `lead` with `contact` in place of its own, and the identity keys that go with it.
fn with_contact(mut lead: NewLead, contact: Contact) -> NewLead {
    let mut record = lead.record.record().clone();
    record.contact = contact;
    lead.identity_keys = record.contact.identity_keys();
    lead.record = EncodedLead::new(record).expect("encode");
    lead
}

pub(crate) async fn forgetting_a_person_reaches_their_leads_known_only_by_a_messenger_account(
    s: &dyn Stores,
) {
    let telegram = |id| Some(TelegramAccount { id, username: None });
    let person = |emails: &[&str], account| Contact {
        emails: emails.iter().map(|e| e.to_string()).collect(),
        telegram: telegram(account),
        ..Contact::default()
    };
    // The person shared an e-mail in Telegram once (l1) and wrote again without it (l2); an
    // address they share with somebody else (l4) and another person (l3) are not theirs.
    let leads = [
        ("l1", person(&["a@x.ru", "office@x.ru"], 77)),
        ("l2", person(&[], 77)),
        ("l3", person(&["b@x.ru"], 88)),
        ("l4", person(&["office@x.ru"], 99)),
    ];
    for (n, (id, contact)) in leads.into_iter().enumerate() {
        let lead = with_contact(new_lead(id, "bot", "x@x.ru", n as u32, "anna"), contact);
        stored(s, &lead, &[]).await;
    }
    let subject = Subject::Email("a@x.ru".into());
    let export = s.export(&subject).await.expect("export");
    let mut ids: Vec<String> = (export.leads.iter())
        .map(|j| j.lead["id"].as_str().unwrap_or_default().to_string())
        .collect();
    ids.sort();
    assert_eq!(ids, ["l1", "l2"]);
    let request = ErasureRequest {
        id: "erasure:2".into(),
        by: "dpo".into(),
        at: at(30),
    };
    let erased = s.forget(&subject, &request).await.expect("forget");
    let mut leads = erased.leads.clone();
    leads.sort();
    assert_eq!(leads, ["l1", "l2"]);
    for (id, kept) in [("l1", false), ("l2", false), ("l3", true), ("l4", true)] {
        let journey = s.lead_journey(id).await.expect("read");
        assert_eq!(journey.is_some(), kept, "{id}");
    }
}

pub(crate) async fn forgetting_a_person_removes_their_leads_and_items(s: &dyn Stores) {
    stored(
        s,
        &new_lead("l1", "inbox", "a@x.ru", 1, "anna"),
        &[outbox("l1", "crm", "e1", 1)],
    )
    .await;
    stored(s, &new_lead("l2", "inbox", "a@x.ru", 2, "anna"), &[]).await;
    stored(s, &new_lead("l3", "inbox", "b@x.ru", 3, "boris"), &[]).await;
    kept_out(s, "spam-a", "write to A@X.RU today", 4).await;
    kept_out(s, "spam-b", "write to b%40x.ru", 5).await;
    s.record_files(&[file("l1.0", "l1", "aa", 10, 1)], 0, at(6))
        .await
        .expect("files");
    s.queue_notifications(&[NewNotification {
        dedupe_key: "assigned:l1:1:email".into(),
        lead_id: Some("l1".into()),
        recipient: "anna".into(),
        channel: "email".into(),
        address: "anna@x.ru".into(),
        kind: "assigned".into(),
        message: "{}".into(),
        created_at: at(1),
    }])
    .await
    .expect("notify");
    let claimed = s
        .claim_outbox("crm", at(7), at(8), 10)
        .await
        .expect("claim");
    let captured: crate::store::CrmRefs = [("lead".to_string(), json!(4242))].into();
    (s.record_step(&claimed[0], 1, &captured, at(7)).await).expect("step");

    let export = s
        .export(&Subject::Email("a@x.ru".into()))
        .await
        .expect("export");
    let mut ids: Vec<String> = export
        .leads
        .iter()
        .map(|j| j.lead["id"].as_str().unwrap_or_default().to_string())
        .collect();
    ids.sort();
    assert_eq!(ids, ["l1", "l2"]);
    assert_eq!(export.other_items.len(), 1);
    assert_eq!(export.other_items[0]["id"], "spam-a");
    assert_eq!(
        export.other_items[0]["payload"]["text"],
        "write to A@X.RU today"
    );
    // What else is kept about their leads: the card a manager got, the file they sent.
    let kinds: Vec<&Value> = export.notifications.iter().map(|n| &n["lead_id"]).collect();
    assert_eq!(kinds, ["l1"]);
    assert!(
        export.notifications[0].get("address").is_none(),
        "the manager's own"
    );
    let files: Vec<&Value> = export.files.iter().map(|f| &f["name"]).collect();
    assert_eq!(files, ["l1.0.png"]);
    let refs: Vec<(&Value, &Value)> = (export.crm_refs.iter())
        .map(|r| (&r["sink"], &r["value"]))
        .collect();
    assert_eq!(refs, [(&json!("crm"), &json!(4242))]);

    let erased = s
        .forget(
            &Subject::Email("a@x.ru".into()),
            &ErasureRequest {
                id: "erasure:1".into(),
                by: "dpo".into(),
                at: at(30),
            },
        )
        .await
        .expect("forget");
    let mut leads = erased.leads.clone();
    leads.sort();
    assert_eq!(leads, ["l1", "l2"]);
    assert_eq!(erased.removed.get("leads"), Some(&2));
    assert_eq!(
        erased.removed.get("inbound"),
        Some(&3),
        "two items of leads, one kept out"
    );
    assert_eq!(erased.removed.get("outbox"), Some(&1));
    assert_eq!(erased.removed.get("notifications"), Some(&1));
    assert_eq!(erased.removed.get("crm_refs"), Some(&1));
    assert_eq!(erased.removed.get("attachments"), Some(&1));
    assert_eq!(erased.removed.get("assignments"), Some(&2));
    for id in ["l1", "l2"] {
        assert!(s.lead_journey(id).await.expect("read").is_none(), "{id}");
    }
    // What was erased stays erased: a poller reading those items again leaves them out.
    let keys = |ks: &[&str]| ks.iter().map(|k| k.to_string()).collect::<Vec<_>>();
    let erased = (s.erased_among("inbox", &keys(&["l1", "l2", "l3"])).await).expect("erased");
    assert_eq!(erased, ["l1".to_string(), "l2".to_string()].into());
    let erased = (s.erased_among("site", &keys(&["spam-a", "spam-b"])).await).expect("erased");
    assert_eq!(erased, ["spam-a".to_string()].into());
    assert!(s.erased_among("inbox", &[]).await.expect("none").is_empty());
    // A file the keeper fetched while the erasure ran is not recorded for the item it removed.
    s.record_files(&[file("l1.1", "l1", "dd", 5, 31)], 1, at(31))
        .await
        .expect("files");
    assert!(s.file("l1.1").await.expect("file").is_none());
    assert!(s.inbound_item("spam-a").await.expect("read").is_none());
    assert!(s.file("l1.0").await.expect("file").is_none());
    assert!(
        s.lead_notifications("l1")
            .await
            .expect("notices")
            .is_empty()
    );
    let mut tx = s.begin().await.expect("begin");
    assert_eq!(
        tx.previous_lead(&["email:a@x.ru".into()])
            .await
            .expect("read"),
        None
    );
    assert_eq!(
        tx.open_leads_per_manager().await.expect("open"),
        [("boris".into(), 1)].into()
    );
    drop(tx);
    let export = s
        .export(&Subject::Email("a@x.ru".into()))
        .await
        .expect("export");
    assert!(export.leads.is_empty() && export.other_items.is_empty());
    // Boris's lead and the other person's item are untouched; they are found by the
    // address as written in a URL too.
    let export = s
        .export(&Subject::Email("b@x.ru".into()))
        .await
        .expect("export");
    assert_eq!(export.leads.len(), 1);
    assert_eq!(export.other_items.len(), 1);
    let erased = s
        .forget(
            &Subject::Lead("l3".into()),
            &ErasureRequest {
                id: "erasure:2".into(),
                by: "dpo".into(),
                at: at(31),
            },
        )
        .await
        .expect("forget");
    assert_eq!(erased.leads, ["l3"]);
    assert!(
        s.inbound_item("spam-b").await.expect("read").is_some(),
        "a lead by id only"
    );
}

/// Delivers every pending row of `sink` at `minute`.
async fn deliver(s: &dyn Stores, sink: &str, minute: u32) {
    let rows = s
        .claim_outbox(sink, at(minute), at(minute + 1), 10)
        .await
        .expect("claim");
    let results: Vec<DeliveryResult> = rows
        .iter()
        .map(|r| DeliveryResult {
            outbox_id: r.id,
            attempt: 1,
            at: at(minute),
            outcome: DeliveryOutcome::Delivered,
            status_code: Some(200),
            error: None,
            duration_ms: 1,
            lease_until: r.lease_until,
        })
        .collect();
    s.record_deliveries(&results).await.expect("record");
}

pub(crate) async fn retention_sweeps_each_kind_by_age(s: &dyn Stores) {
    kept_out(s, "old-spam", "spam", 1).await;
    kept_out(s, "new-spam", "spam", 20).await;
    assert_eq!(
        s.sweep(RetentionKind::NotLeads, at(10), at(40), 500)
            .await
            .expect("sweep"),
        1
    );
    assert!(s.inbound_item("old-spam").await.expect("read").is_none());
    assert!(s.inbound_item("new-spam").await.expect("read").is_some());

    stored(
        s,
        &new_lead("l1", "inbox", "a@x.ru", 1, "anna"),
        &[outbox("l1", "crm", "e1", 1)],
    )
    .await;
    stored(
        s,
        &new_lead("l2", "inbox", "b@x.ru", 2, "anna"),
        &[outbox("l2", "sheet", "e2", 2)],
    )
    .await;
    assert_eq!(
        s.sweep(RetentionKind::Inbound, at(2), at(40), 500)
            .await
            .expect("sweep"),
        1
    );
    let item = s
        .inbound_item("l1")
        .await
        .expect("read")
        .expect("l1's item stays");
    assert!(item.row.payload.is_empty());
    assert_eq!(item.row.meta, serde_json::json!({}));
    assert_eq!(item.status, "lead");
    assert_eq!(
        s.sweep(RetentionKind::Inbound, at(2), at(40), 500)
            .await
            .expect("sweep"),
        0
    );

    deliver(s, "crm", 3).await;
    s.queue_notifications(&[NewNotification {
        dedupe_key: "n1".into(),
        lead_id: Some("l1".into()),
        recipient: "anna".into(),
        channel: "email".into(),
        address: "anna@x.ru".into(),
        kind: "assigned".into(),
        message: "{\"text\":\"hi\"}".into(),
        created_at: at(3),
    }])
    .await
    .expect("queue");
    let claimed = s
        .claim_notifications(at(3), at(4), 10)
        .await
        .expect("claim");
    s.record_notifications(&[NotificationResult {
        id: claimed[0].id,
        attempt: 1,
        at: at(3),
        outcome: DeliveryOutcome::Delivered,
        error: None,
        sent_ref: None,
        lease_until: claimed[0].lease_until,
    }])
    .await
    .expect("sent");
    assert_eq!(
        s.sweep(RetentionKind::Delivered, at(5), at(40), 500)
            .await
            .expect("sweep"),
        2
    );
    let bodies = s.delivery_bodies("l1").await.expect("bodies");
    assert_eq!(bodies.values().collect::<Vec<_>>(), [""]);
    assert_eq!(
        s.delivery_bodies("l2")
            .await
            .expect("bodies")
            .values()
            .collect::<Vec<_>>(),
        ["{\"event\":\"e2\"}"],
        "not delivered: kept for the retry"
    );

    // Both leads are taken at minute 6; l2 still has a row to send.
    for id in ["l1", "l2"] {
        let mut tx = s.begin().await.expect("begin");
        tx.end_assignment(id, "acknowledged", at(6))
            .await
            .expect("end");
        let record = tx.lead(id).await.expect("read").expect("lead").record;
        tx.update_lead(&LeadUpdate {
            record,
            status: LeadStatus::Acknowledged,
            at: at(6),
            trace: None,
        })
        .await
        .expect("update");
        tx.commit().await.expect("commit");
    }
    assert_eq!(
        s.sweep(RetentionKind::Leads, at(5), at(40), 500)
            .await
            .expect("sweep"),
        0,
        "too recent"
    );
    assert_eq!(
        s.sweep(RetentionKind::Leads, at(10), at(40), 500)
            .await
            .expect("sweep"),
        1
    );
    assert!(s.lead_journey("l1").await.expect("read").is_none());
    assert!(s.lead_journey("l2").await.expect("read").is_some());

    s.record_files(
        &[
            file("l2.0", "l2", "aa", 5, 2),
            file("l2.1", "l2", "bb", 6, 30),
        ],
        0,
        at(30),
    )
    .await
    .expect("files");
    assert_eq!(
        s.sweep(RetentionKind::Attachments, at(10), at(40), 500)
            .await
            .expect("sweep"),
        1
    );
    assert!(s.file("l2.0").await.expect("file").is_none());
    assert!(s.file("l2.1").await.expect("file").is_some());
}

pub(crate) async fn the_file_keeper_reads_processed_items_and_keeps_records_first_come(
    s: &dyn Stores,
) {
    // A form may list files when its body is multipart; no other channel does here.
    let signs = [(
        Channel::Webform,
        FileSigns {
            content_type_prefix: Some("multipart/"),
            ..FileSigns::NONE
        },
    )];
    let multipart = "multipart/form-data; boundary=b";
    for (id, content_type) in [
        ("old", multipart),
        ("next", multipart),
        ("plain", "application/x-www-form-urlencoded"),
    ] {
        let mut item = inbound(id, id);
        item.content_type = Some(content_type.into());
        s.insert_inbound(&[item], &[]).await.expect("intake");
    }
    let finish = |ids: &'static [&'static str]| async move {
        let mut tx = s.begin().await.expect("begin");
        for id in ids {
            tx.finish_inbound(&FinishedInbound::lead(
                id,
                &format!("lead-{id}"),
                None,
                at(2),
            ))
            .await
            .expect("finish");
        }
        tx.commit().await.expect("commit");
    };
    // A store from before files were kept: an old lead, then an item not processed yet.
    finish(&["old", "plain"]).await;
    let start = s.files_cursor().await.expect("cursor");
    assert_eq!(
        s.files_cursor().await.expect("cursor"),
        start,
        "kept, not recomputed"
    );
    let (items, seq) = s.items_for_files(0, 10, &signs).await.expect("items");
    let ids: Vec<&str> = items.iter().map(|i| i.item.id.as_str()).collect();
    assert_eq!(
        (ids, seq),
        (vec!["old"], start),
        "the start is just before the pending item"
    );
    let (items, seq) = s.items_for_files(start, 10, &signs).await.expect("items");
    assert!(items.is_empty());
    assert_eq!(seq, start, "stops before the pending item");
    finish(&["next"]).await;
    let (items, seq) = s.items_for_files(start, 10, &signs).await.expect("items");
    let ids: Vec<&str> = items.iter().map(|i| i.item.id.as_str()).collect();
    assert_eq!(ids, ["next"], "a urlencoded form holds no file");
    assert_eq!(items[0].lead_id, "lead-next");
    assert!(
        items[0].item.payload.is_empty(),
        "bytes are read one item at a time"
    );
    assert_eq!(s.item_payload("next").await.expect("payload"), b"next");
    assert!(seq > items[0].seq, "past the urlencoded form after it");
    let (items, after) = s.items_for_files(seq, 10, &signs).await.expect("items");
    assert!(items.is_empty());
    assert_eq!(after, seq);

    stored(s, &new_lead("lead-a", "inbox", "k@x.ru", 1, "anna"), &[]).await;
    let files = [
        file("a.0", "lead-a", "aa", 100, 1),
        file("a.1", "lead-a", "aa", 100, 1),
        file("a.2", "lead-a", "bb", 7, 1),
    ];
    s.record_files(&files, seq, at(3)).await.expect("record");
    let mut again = file("a.2", "lead-a", "cc", 9, 1);
    again.name = "changed".into();
    s.record_files(
        &[
            again,
            FileRecord {
                state: FileState::Unavailable("too big".into()),
                ..file("a.3", "lead-a", "", 0, 1)
            },
        ],
        seq + 1,
        at(3),
    )
    .await
    .expect("record");
    assert_eq!(s.kept_file_bytes().await.expect("bytes"), 107);
    assert_eq!(s.lead_file_bytes("lead-a").await.expect("bytes"), 207);
    assert_eq!(s.file("a.2").await.expect("file"), Some(files[2].clone()));
    assert_eq!(
        s.file("a.3").await.expect("file").map(|f| f.state),
        Some(FileState::Unavailable("too big".into()))
    );
    assert_eq!(
        s.kept_hashes().await.expect("hashes"),
        ["aa".to_string(), "bb".to_string()].into()
    );
    assert_eq!(s.files_cursor().await.expect("cursor"), seq + 1);
    // The link key is made once; a second daemon reads the first one back.
    assert_eq!(
        s.file_link_key(&|| "k1".to_string()).await.expect("key"),
        "k1"
    );
    assert_eq!(
        s.file_link_key(&|| "k2".to_string()).await.expect("key"),
        "k1"
    );
}

pub(crate) async fn the_file_keeper_finds_items_by_each_channels_signs(s: &dyn Stores) {
    let signs = [
        (
            Channel::Telegram,
            FileSigns {
                in_payload: &["file_id"],
                ..FileSigns::NONE
            },
        ),
        (
            Channel::Vk,
            FileSigns {
                in_payload: &["\"attachments\"", "it's"],
                ..FileSigns::NONE
            },
        ),
        (
            Channel::Whatsapp,
            FileSigns {
                always: true,
                ..FileSigns::NONE
            },
        ),
        (
            Channel::Webform,
            FileSigns {
                content_type_prefix: Some("multipart/"),
                in_meta: &["\"linked_files\""],
                ..FileSigns::NONE
            },
        ),
        (Channel::Blog, FileSigns::NONE),
    ];
    let items: [(&str, Channel, &str, Option<&str>, serde_json::Value); 9] = [
        (
            "tg-photo",
            Channel::Telegram,
            r#"{"photo":[{"file_id":"A"}]}"#,
            None,
            json!({}),
        ),
        (
            "tg-text",
            Channel::Telegram,
            r#"{"text":"hi"}"#,
            None,
            json!({}),
        ),
        (
            "vk-doc",
            Channel::Vk,
            r#"{"attachments":[]}"#,
            None,
            json!({}),
        ),
        ("vk-quote", Channel::Vk, "it's", None, json!({})),
        (
            "wa-text",
            Channel::Whatsapp,
            r#"{"text":"hi"}"#,
            None,
            json!({}),
        ),
        (
            "form-upload",
            Channel::Webform,
            "--b",
            Some("Multipart/form-data; boundary=b"),
            json!({}),
        ),
        (
            "form-linked",
            Channel::Webform,
            "a=1",
            Some("application/x-www-form-urlencoded"),
            json!({"linked_files": ["u"]}),
        ),
        (
            "form-plain",
            Channel::Webform,
            "a=1",
            Some("application/x-www-form-urlencoded"),
            json!({}),
        ),
        (
            "blog",
            Channel::Blog,
            r#"{"file_id":"not a sign here"}"#,
            None,
            json!({}),
        ),
    ];
    for (id, channel, payload, content_type, meta) in items.iter().cloned() {
        let mut item = inbound(id, id);
        (item.channel, item.payload) = (channel, payload.as_bytes().to_vec());
        (item.content_type, item.meta) = (content_type.map(str::to_string), meta);
        s.insert_inbound(&[item], &[]).await.expect("intake");
    }
    // A new store's keeper starts just before the first item not processed yet.
    let start = s.files_cursor().await.expect("cursor");
    let mut tx = s.begin().await.expect("begin");
    for (id, ..) in &items {
        let finished = FinishedInbound::lead(id, &format!("lead-{id}"), None, at(2));
        tx.finish_inbound(&finished).await.expect("finish");
    }
    tx.commit().await.expect("commit");
    let (found, _) = s.items_for_files(start, 20, &signs).await.expect("items");
    let ids: Vec<&str> = found.iter().map(|i| i.item.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "tg-photo",
            "vk-doc",
            "vk-quote",
            "wa-text",
            "form-upload",
            "form-linked"
        ],
        "each channel by its own signs; none for a channel without any"
    );
}
