//! The leads, items and rows the conformance tests write.

use super::Stores;
use crate::lead::{
    AssignedManager, Assignment, Channel, Classification, Contact, Lead, NormalisedDraft, Thread,
};
use crate::store::{
    EncodedLead, FinishedInbound, LeadStatus, NewAssignment, NewInbound, NewLead, NewOutbox,
    PreviousLead,
};
use chrono::{DateTime, TimeZone, Utc};

/// 2026-11-22 09:`minute` UTC.
pub(crate) fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 9, minute, 0)
        .single()
        .expect("a valid time")
}

/// A new lead `id` from `email` in `source`, received at `minute`, assigned to `manager`.
pub(crate) fn new_lead(id: &str, source: &str, email: &str, minute: u32, manager: &str) -> NewLead {
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
    record.classification = Some(Classification {
        rule: "r".into(),
        level: "junior".into(),
        tags: Vec::new(),
        score: 0,
    });
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
        record: encoded(&record),
    }
}

/// `lead` with its record changed by `change` (and encoded again).
pub(crate) fn with_record(mut lead: NewLead, change: impl FnOnce(&mut Lead)) -> NewLead {
    let mut record = lead.record.record().clone();
    change(&mut record);
    lead.record = encoded(&record);
    lead
}

/// `record` encoded, as a follow-up hands it to the store.
pub(crate) fn encoded(record: &Lead) -> EncodedLead {
    EncodedLead::new(record.clone()).expect("a record encodes")
}

/// A held lead `id` at `level`.
pub(crate) fn held_lead(id: &str, level: &str) -> NewLead {
    let lead = new_lead(id, "inbox", &format!("{id}@x.ru"), 5, "nobody");
    let mut lead = with_record(lead, |record| {
        record.assignment = None;
        record.classification = Some(Classification {
            rule: "r".into(),
            level: level.into(),
            tags: Vec::new(),
            score: 0,
        });
    });
    lead.status = LeadStatus::Held;
    lead
}

/// Assignment number `attempt` of `lead` to `manager` at the junior level.
pub(crate) fn assignment(lead: &str, manager: &str, attempt: u32) -> NewAssignment {
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

/// The returning contact's answer for lead `id` with `manager`.
pub(crate) fn previous(id: &str, manager: &str) -> Option<PreviousLead> {
    Some(PreviousLead {
        id: id.into(),
        manager_id: Some(manager.into()),
    })
}

/// A web form item `id` of the source `site` with dedupe key `key`, its id as its bytes.
pub(crate) fn inbound(id: &str, key: &str) -> NewInbound {
    NewInbound {
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

/// An outbox row of `lead` for `sink`, event `event`.
pub(crate) fn outbox(lead: &str, sink: &str, event: &str, minute: u32) -> NewOutbox {
    NewOutbox {
        lead_id: lead.into(),
        sink: sink.into(),
        event_id: event.into(),
        event_type: "lead.created".into(),
        body: format!("{{\"event\":\"{event}\"}}"),
        plan: None,
        created_at: at(minute),
    }
}

/// Stores lead `lead` as it would be processed: its item (`lead.inbound_id`) taken in, the
/// lead with its first assignment written, the item finished as a lead, and `rows` queued,
/// in one transaction.
pub(crate) async fn stored(s: &dyn Stores, lead: &NewLead, rows: &[NewOutbox]) {
    let record = lead.record.record();
    let mut item = inbound(&lead.inbound_id, &lead.inbound_id);
    item.source = record.source.clone();
    item.channel = record.channel;
    item.received_at = record.received_at;
    item.payload = format!("{} {}", record.text, record.contact.emails.join(" ")).into_bytes();
    s.insert_inbound(&[item], &[]).await.expect("intake");
    let mut tx = s.begin().await.expect("begin");
    tx.insert_lead(lead).await.expect("insert lead");
    if let Some(a) = &record.assignment {
        let level = record
            .classification
            .as_ref()
            .map_or("junior".to_string(), |c| c.level.clone());
        tx.insert_assignment(&NewAssignment {
            lead_id: record.id.clone(),
            manager_id: a.manager.id.clone(),
            level,
            strategy: a.strategy.clone(),
            attempt: 1,
            assigned_at: a.assigned_at,
            ack_due_at: a.ack_due_at,
            previous_state: "expired",
        })
        .await
        .expect("assign");
    }
    tx.finish_inbound(&FinishedInbound::lead(
        &lead.inbound_id,
        &record.id,
        None,
        record.received_at,
    ))
    .await
    .expect("finish");
    tx.insert_outbox(rows).await.expect("outbox");
    tx.commit().await.expect("commit");
}

/// A lead as a store from before the `contact_name` column held it (its name in the record
/// only), for the migration tests of both backends.
pub(crate) const LEAD_BEFORE_THE_NAME_COLUMN: &str = "INSERT INTO leads
        (id, inbound_id, source, channel, received_at, last_activity_at, status,
         rules_version, record, trace)
    VALUES ('old', 'i1', 'site', 'webform', '2026-11-22T09:15:02.000000Z',
            '2026-11-22T09:15:02.000000Z', 'assigned', 'v1',
            '{\"contact\": {\"name\": \"Олег Смирнов\", \"phones\": [], \"emails\": []}, \"text\": \"hi\"}',
            '{}')";

/// The leads the console's search by `name` lists: `(id, name)`.
pub(crate) async fn found_by_name(
    store: &dyn crate::store::ConsoleStore,
    name: &str,
) -> Vec<(String, Option<String>)> {
    let page = store
        .lead_page(&crate::store::LeadQuery {
            search: Some(crate::store::Search::Name(name.into())),
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("search");
    page.rows.into_iter().map(|r| (r.id, r.name)).collect()
}
