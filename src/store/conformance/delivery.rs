//! The delivery side: claims under a lease in each lead's order, attempts recorded, dead
//! letters listed and replayed, a preset's steps and what the CRM answered.

use super::Stores;
use super::fixtures::{at, new_lead, outbox, stored};
use crate::store::{
    CrmRefs, DeliveryOutcome, DeliveryResult, PresetPlan, ReplayFilter, StoreResult,
};

/// The event ids of rows claimed from `sink` at `now`, leased until `until`.
async fn claim(s: &dyn Stores, sink: &str, now: u32, until: u32) -> Vec<(i64, String)> {
    let rows = s
        .claim_outbox(sink, at(now), at(until), 10)
        .await
        .expect("claim");
    rows.into_iter().map(|r| (r.id, r.event_id)).collect()
}

fn events(claimed: &[(i64, String)]) -> Vec<&str> {
    claimed.iter().map(|(_, e)| e.as_str()).collect()
}

/// Attempt `attempt` of row `id`, made at `minute` under a claim leased until `until`.
fn result(
    id: i64,
    until: u32,
    attempt: u32,
    minute: u32,
    outcome: DeliveryOutcome,
) -> DeliveryResult {
    let (status_code, error) = match outcome {
        DeliveryOutcome::Delivered => (Some(200), None),
        DeliveryOutcome::Retry(_) => (Some(503), Some("busy".to_string())),
        DeliveryOutcome::Dead => (Some(410), Some("gone".to_string())),
    };
    DeliveryResult {
        outbox_id: id,
        attempt,
        at: at(minute),
        outcome,
        status_code,
        error,
        duration_ms: 12,
        lease_until: at(until),
    }
}

/// When `event` of `lead` is next due, as the lead's journey shows it.
async fn due_at(s: &dyn Stores, lead: &str, event: &str) -> chrono::DateTime<chrono::Utc> {
    let journey = s.lead_journey(lead).await.expect("journey").expect("lead");
    let row = journey.deliveries.iter().find(|d| d.event_id == event);
    row.expect("the event").next_attempt_at
}

pub(crate) async fn rows_behind_a_retry_are_due_no_earlier_than_it(s: &dyn Stores) {
    let l1 = new_lead("l1", "inbox", "a@x.ru", 1, "anna");
    let rows = [outbox("l1", "crm", "e1", 1), outbox("l1", "crm", "e2", 1)];
    stored(s, &l1, &rows).await;
    let l2 = new_lead("l2", "inbox", "b@x.ru", 1, "boris");
    stored(s, &l2, &[outbox("l2", "sheet", "e5", 1)]).await;
    let first = claim(s, "crm", 2, 3).await;
    assert_eq!(events(&first), ["e1"]);
    let retry = DeliveryOutcome::Retry(at(30));
    s.record_deliveries(&[result(first[0].0, 3, 1, 2, retry)])
        .await
        .expect("record");
    // e2 cannot go before e1: it is due when e1 is tried again, not before.
    assert_eq!(due_at(s, "l1", "e2").await, at(30));
    // So is an event of l1 queued meanwhile; another sink's rows keep their own time.
    let mut tx = s.begin().await.expect("begin");
    tx.insert_outbox(&[outbox("l1", "crm", "e3", 4), outbox("l1", "sheet", "e4", 4)])
        .await
        .expect("queue");
    tx.commit().await.expect("commit");
    assert_eq!(due_at(s, "l1", "e3").await, at(30));
    assert_eq!(due_at(s, "l1", "e4").await, at(4));
    assert_eq!(due_at(s, "l2", "e5").await, at(1));
    // And a re-send from the console: due with the lead's last pending row, not before it.
    assert!(
        s.resend("l1", "crm", "e3-again", at(5))
            .await
            .expect("resend")
    );
    assert_eq!(due_at(s, "l1", "e3-again").await, at(30));
    assert!(
        s.resend("l2", "sheet", "e5-again", at(5))
            .await
            .expect("resend")
    );
    assert_eq!(
        due_at(s, "l2", "e5-again").await,
        at(5),
        "due now: e5 is due before"
    );
    assert_eq!(s.next_outbox_due("crm").await.expect("next"), Some(at(30)));
    assert!(claim(s, "crm", 29, 31).await.is_empty());
    // At 30 the lead's rows go in their order, one at a time.
    let again = claim(s, "crm", 30, 32).await;
    assert_eq!(events(&again), ["e1"]);
    let delivered = DeliveryOutcome::Delivered;
    s.record_deliveries(&[result(again[0].0, 32, 2, 30, delivered)])
        .await
        .expect("record");
    assert_eq!(s.next_outbox_due("crm").await.expect("next"), Some(at(30)));
    assert_eq!(events(&claim(s, "crm", 31, 33).await), ["e2"]);
}

pub(crate) async fn a_sinks_rows_are_claimed_in_order_per_lead_under_a_lease(s: &dyn Stores) {
    let l1 = new_lead("l1", "inbox", "a@x.ru", 1, "anna");
    stored(
        s,
        &l1,
        &[
            outbox("l1", "crm", "e1", 1),
            outbox("l1", "crm", "e2", 1),
            outbox("l1", "sheet", "e3", 1),
        ],
    )
    .await;
    let l2 = new_lead("l2", "inbox", "b@x.ru", 2, "boris");
    stored(s, &l2, &[outbox("l2", "crm", "e4", 2)]).await;
    // An event queued for a sink twice is one row.
    let mut tx = s.begin().await.expect("begin");
    tx.insert_outbox(&[outbox("l1", "crm", "e1", 3)])
        .await
        .expect("again");
    tx.commit().await.expect("commit");
    assert_eq!(s.queue_stats().await.expect("stats").outbox_pending, 4);

    // e2 waits behind e1, its lead's earlier row for the same sink.
    let first = claim(s, "crm", 10, 12).await;
    assert_eq!(events(&first), ["e1", "e4"]);
    let rows = s
        .claim_outbox("sheet", at(10), at(12), 10)
        .await
        .expect("claim");
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(
        (
            row.lead_id.as_str(),
            row.event_type.as_str(),
            row.body.as_str()
        ),
        ("l1", "lead.created", "{\"event\":\"e3\"}")
    );
    assert_eq!((row.step, row.attempts, row.retry_since), (0, 0, at(1)));
    assert_eq!(row.plan, None);
    // Leased: nobody else gets them until the lease runs out.
    assert!(claim(s, "crm", 11, 13).await.is_empty());
    assert_eq!(s.next_outbox_due("crm").await.expect("next"), Some(at(12)));
    let again = claim(s, "crm", 12, 14).await;
    assert_eq!(
        again, first,
        "a worker that died leaves its rows to the next claim"
    );

    let (e1, e4) = (first[0].0, first[1].0);
    // The first worker, back after its lease ran out (a paused replica), records late: the
    // second claim holds the rows now, so nothing of it counts and the rows stay leased.
    let late = [
        result(e1, 12, 1, 13, DeliveryOutcome::Retry(at(13))),
        result(e4, 12, 1, 13, DeliveryOutcome::Dead),
    ];
    assert_eq!(s.record_deliveries(&late).await.expect("record"), 0);
    assert!(
        claim(s, "crm", 13, 15).await.is_empty(),
        "a late record lifted the second claim's lease"
    );
    let journey = s.lead_journey("l2").await.expect("read").expect("l2");
    let e4_now = &journey.deliveries[0];
    assert_eq!(
        (e4_now.status.as_str(), e4_now.history.len()),
        ("pending", 0),
        "a late record dead-lettered the row or added its attempt"
    );
    let under_the_claim = [
        result(e1, 14, 1, 13, DeliveryOutcome::Delivered),
        result(e4, 14, 1, 13, DeliveryOutcome::Retry(at(20))),
    ];
    let recorded = s.record_deliveries(&under_the_claim).await;
    assert_eq!(recorded.expect("record"), 2);
    // e1 went through: e2 may go; e4 waits for its retry.
    assert_eq!(events(&claim(s, "crm", 13, 15).await), ["e2"]);
    assert_eq!(s.next_outbox_due("crm").await.expect("next"), Some(at(15)));
    assert_eq!(events(&claim(s, "crm", 20, 22).await), ["e2", "e4"]);
    let retried = s
        .claim_outbox("crm", at(22), at(24), 10)
        .await
        .expect("claim");
    let e4_row = retried.iter().find(|r| r.event_id == "e4").expect("e4");
    assert_eq!(e4_row.attempts, 1);
    // Nothing to send: no next time.
    assert_eq!(s.next_outbox_due("nowhere").await.expect("next"), None);
    // The first delivery of l1 counts in the arrival-to-CRM report: 12 minutes.
    let crm = s.crm_totals("2026-11-22", "2026-11-22").await.expect("crm");
    assert_eq!(crm.len(), 1);
    assert_eq!(
        (crm[0].source.as_str(), crm[0].channel.as_str()),
        ("inbox", "email")
    );
    let mut buckets = [0; 12];
    buckets[7] = 1;
    assert_eq!(crm[0].buckets, buckets);

    // One batch with l1's row for the sheet (not l1's first delivery) and l2's first: only
    // l2 counts, 22 minutes after it arrived.
    let (e3, e4) = (row.id, e4_row.id);
    s.record_deliveries(&[
        result(e3, 12, 1, 24, DeliveryOutcome::Delivered),
        result(e4, 24, 2, 24, DeliveryOutcome::Delivered),
    ])
    .await
    .expect("record");
    let crm = s.crm_totals("2026-11-22", "2026-11-22").await.expect("crm");
    buckets[8] = 1;
    assert_eq!(crm.len(), 1);
    assert_eq!(crm[0].buckets, buckets);
}

pub(crate) async fn attempts_are_recorded_and_dead_letters_replayed(s: &dyn Stores) {
    stored(
        s,
        &new_lead("l1", "inbox", "a@x.ru", 1, "anna"),
        &[outbox("l1", "crm", "e1", 1), outbox("l1", "sheet", "e2", 1)],
    )
    .await;
    stored(
        s,
        &new_lead("l2", "inbox", "b@x.ru", 2, "boris"),
        &[outbox("l2", "crm", "e3", 2)],
    )
    .await;
    let crm = claim(s, "crm", 5, 6).await;
    let sheet = claim(s, "sheet", 5, 6).await;
    s.record_deliveries(&[
        result(crm[0].0, 6, 1, 5, DeliveryOutcome::Retry(at(7))),
        result(crm[1].0, 6, 1, 5, DeliveryOutcome::Dead),
        result(sheet[0].0, 6, 1, 5, DeliveryOutcome::Dead),
    ])
    .await
    .expect("record");
    s.record_deliveries(&[]).await.expect("nothing to record");
    let again = claim(s, "crm", 7, 8).await;
    s.record_deliveries(&[result(again[0].0, 8, 2, 7, DeliveryOutcome::Dead)])
        .await
        .expect("record");
    let stats = s.queue_stats().await.expect("stats");
    assert_eq!((stats.outbox_pending, stats.outbox_dead), (0, 3));
    assert_eq!(
        s.dead_per_sink().await.expect("dead"),
        [("crm".to_string(), 2), ("sheet".to_string(), 1)].into()
    );
    let dead = s
        .list_dead(
            &ReplayFilter {
                lead_id: Some("l1".into()),
                sink: Some("crm".into()),
            },
            10,
        )
        .await
        .expect("dead");
    assert_eq!(dead.len(), 1);
    let row = &dead[0];
    assert_eq!(
        (row.event_id.as_str(), row.status.as_str(), row.attempts),
        ("e1", "dead", 2)
    );
    assert_eq!(row.last_error.as_deref(), Some("gone"));
    let history: Vec<(u32, &str, Option<u16>)> = row
        .history
        .iter()
        .map(|a| (a.attempt, a.outcome.as_str(), a.status_code))
        .collect();
    assert_eq!(history, [(1, "retry", Some(503)), (2, "dead", Some(410))]);
    assert_eq!((row.history[0].at, row.history[0].duration_ms), (at(5), 12));
    let all = s
        .list_dead(&ReplayFilter::default(), 10)
        .await
        .expect("dead");
    let ids: Vec<&str> = all.iter().map(|r| r.event_id.as_str()).collect();
    assert_eq!(
        ids,
        ["e1", "e2", "e3"].iter().rev().copied().collect::<Vec<_>>()
    );

    // Replayed: due now, with a new retry horizon, attempts kept.
    let replayed = s
        .replay_dead(
            &ReplayFilter {
                lead_id: None,
                sink: Some("crm".into()),
            },
            at(30),
        )
        .await
        .expect("replay");
    assert_eq!(replayed, 2);
    let rows = s
        .claim_outbox("crm", at(30), at(31), 10)
        .await
        .expect("claim");
    let got: Vec<(&str, u32, _)> = rows
        .iter()
        .map(|r| (r.event_id.as_str(), r.attempts, r.retry_since))
        .collect();
    assert_eq!(got, [("e1", 2, at(30)), ("e3", 1, at(30))]);
    assert_eq!(
        s.dead_per_sink().await.expect("dead"),
        [("sheet".to_string(), 1)].into()
    );
    let journey = s.lead_journey("l1").await.expect("read").expect("l1");
    let e1 = journey
        .deliveries
        .iter()
        .find(|d| d.event_id == "e1")
        .expect("e1");
    assert_eq!((e1.status.as_str(), e1.history.len()), ("pending", 2));
}

pub(crate) async fn preset_steps_keep_what_the_crm_answered(s: &dyn Stores) {
    let mut row = outbox("l1", "amo", "e1", 1);
    row.plan = Some(PresetPlan::Request(2));
    let mut broken = outbox("l2", "amo", "e2", 1);
    broken.plan = Some(PresetPlan::Error("no such request".into()));
    stored(s, &new_lead("l1", "inbox", "a@x.ru", 1, "anna"), &[row]).await;
    stored(s, &new_lead("l2", "inbox", "b@x.ru", 1, "anna"), &[broken]).await;
    let rows = s
        .claim_outbox("amo", at(2), at(3), 10)
        .await
        .expect("claim");
    assert_eq!(rows[0].plan, Some(PresetPlan::Request(2)));
    assert_eq!(
        rows[1].plan,
        Some(PresetPlan::Error("no such request".into()))
    );
    assert!(s.crm_refs("amo", "l1").await.expect("refs").is_empty());

    let captured: CrmRefs = [
        ("lead".to_string(), serde_json::json!(123)),
        ("contact".to_string(), serde_json::json!("c-9")),
    ]
    .into();
    let held = s.record_step(&rows[0], 1, &captured, at(2)).await;
    assert!(held.expect("step"));
    assert_eq!(s.crm_refs("amo", "l1").await.expect("refs"), captured);
    assert!(s.crm_refs("other", "l1").await.expect("refs").is_empty());
    // A later step replaces a value and keeps the others.
    let later: CrmRefs = [("lead".to_string(), serde_json::json!(124))].into();
    let held = s.record_step(&rows[0], 2, &later, at(3)).await;
    assert!(held.expect("step"));
    let refs = s.crm_refs("amo", "l1").await.expect("refs");
    assert_eq!(refs.get("lead"), Some(&serde_json::json!(124)));
    assert_eq!(refs.get("contact"), Some(&serde_json::json!("c-9")));
    let again = s
        .claim_outbox("amo", at(3), at(4), 10)
        .await
        .expect("claim");
    assert_eq!(again[0].step, 2, "a retry goes on from the next step");
    // The first claim's worker, late, cannot move the new claim's progress back; what the
    // CRM answered it is kept.
    let late: CrmRefs = [("note".to_string(), serde_json::json!("n-1"))].into();
    let held = s.record_step(&rows[0], 1, &late, at(3)).await;
    assert!(!held.expect("step"), "a step recorded under a lost lease");
    let refs = s.crm_refs("amo", "l1").await.expect("refs");
    assert_eq!(refs.get("note"), Some(&serde_json::json!("n-1")));
    let held = s.record_step(&again[0], 3, &CrmRefs::new(), at(3)).await;
    assert!(
        held.expect("step"),
        "the claim holding the row records its step"
    );

    // A CRM's webhook names the lead by its own id, as a number or as text.
    let mut tx = s.begin().await.expect("begin");
    let found: StoreResult<Option<String>> = tx.lead_by_crm_ref("amo", "lead", "124").await;
    assert_eq!(found.expect("read"), Some("l1".into()));
    let found = tx.lead_by_crm_ref("amo", "contact", "c-9").await;
    assert_eq!(found.expect("read"), Some("l1".into()));
    assert_eq!(
        tx.lead_by_crm_ref("amo", "lead", "123")
            .await
            .expect("read"),
        None
    );
    assert_eq!(
        tx.lead_by_crm_ref("bitrix", "lead", "124")
            .await
            .expect("read"),
        None
    );
}

pub(crate) async fn workers_claiming_at_once_never_take_the_same_row(s: &dyn Stores) {
    for i in 0..12u32 {
        let id = format!("w{i}");
        let lead = new_lead(&id, "inbox", &format!("{id}@x.ru"), 1, "anna");
        stored(s, &lead, &[outbox(&id, "crm", &format!("e{i}"), 1)]).await;
    }
    let claim = || s.claim_outbox("crm", at(5), at(6), 12);
    let (a, b, c) = tokio::join!(claim(), claim(), claim());
    let mut ids: Vec<i64> = [a, b, c]
        .into_iter()
        .flat_map(|rows| rows.expect("claim"))
        .map(|r| r.id)
        .collect();
    ids.sort();
    let taken = ids.len();
    ids.dedup();
    assert_eq!((taken, ids.len()), (12, 12), "every row once, none twice");
}

pub(crate) async fn an_owner_on_its_way_to_a_crm_is_known_until_delivered(s: &dyn Stores) {
    stored(
        s,
        &new_lead("l1", "inbox", "a@x.ru", 1, "anna"),
        &[outbox("l1", "crm", "e1", 1)],
    )
    .await;
    let pending = |sink: &'static str| async move {
        let mut tx = s.begin().await.expect("begin");
        let pending = tx.owner_pending_to(sink, "l1").await.expect("read");
        tx.commit().await.expect("commit");
        pending
    };
    assert!(pending("crm").await, "lead.created is on its way to crm");
    assert!(!pending("sheet").await, "nothing queued for sheet");
    let rows = claim(s, "crm", 2, 3).await;
    let sent = [result(rows[0].0, 3, 1, 2, DeliveryOutcome::Delivered)];
    s.record_deliveries(&sent).await.expect("record");
    assert!(!pending("crm").await, "delivered");
}
