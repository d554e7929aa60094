//! The managers' side: notifications queued once, claimed under a lease, recorded with the
//! lead's audit trail; links used once; what the alerts read.

use super::Stores;
use super::fixtures::{at, held_lead, new_lead, stored};
use crate::store::{
    DeliveryOutcome, NewNotification, NotificationResult, NotificationRow, Unreachable,
};

fn notice(
    key: &str,
    lead: Option<&str>,
    recipient: &str,
    address: &str,
    minute: u32,
) -> NewNotification {
    NewNotification {
        dedupe_key: key.into(),
        lead_id: lead.map(str::to_string),
        recipient: recipient.into(),
        channel: "telegram".into(),
        address: address.into(),
        kind: if lead.is_some() { "assigned" } else { "alert" }.into(),
        message: format!("{{\"text\":\"{key}\"}}"),
        created_at: at(minute),
    }
}

/// How the send of claimed `row` went, recorded under its claim's lease.
fn outcome(
    row: &NotificationRow,
    attempt: u32,
    minute: u32,
    outcome: DeliveryOutcome,
    sent_ref: Option<&str>,
) -> NotificationResult {
    NotificationResult {
        id: row.id,
        attempt,
        at: at(minute),
        error: match outcome {
            DeliveryOutcome::Delivered => None,
            _ => Some("chat not found".into()),
        },
        outcome,
        sent_ref: sent_ref.map(str::to_string),
        lease_until: row.lease_until,
    }
}

pub(crate) async fn notifications_are_queued_once_claimed_and_recorded(s: &dyn Stores) {
    stored(s, &new_lead("l1", "inbox", "a@x.ru", 1, "anna"), &[]).await;
    assert_eq!(s.next_notification_due().await.expect("due"), None);
    // Queued twice in the processing transaction, and again outside it: one row.
    let mut tx = s.begin().await.expect("begin");
    tx.insert_notifications(&[notice(
        "assigned:l1:1:telegram",
        Some("l1"),
        "anna",
        "100",
        2,
    )])
    .await
    .expect("queue");
    // Queued again in the same transaction (a second call): the first one stays.
    tx.insert_notifications(&[notice(
        "assigned:l1:1:telegram",
        Some("l1"),
        "anna",
        "999",
        3,
    )])
    .await
    .expect("queue again");
    tx.commit().await.expect("commit");
    s.queue_notifications(&[
        notice("assigned:l1:1:telegram", Some("l1"), "anna", "100", 3),
        notice("alert:sink:1", None, "admin", "900", 4),
    ])
    .await
    .expect("queue");
    assert_eq!(s.next_notification_due().await.expect("due"), Some(at(2)));
    let rows = s
        .claim_notifications(at(5), at(6), 10)
        .await
        .expect("claim");
    let got: Vec<(Option<&str>, &str, &str, u32, _)> = rows
        .iter()
        .map(|r| {
            (
                r.lead_id.as_deref(),
                r.address.as_str(),
                r.kind.as_str(),
                r.attempts,
                r.created_at,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (Some("l1"), "100", "assigned", 0, at(2)),
            (None, "900", "alert", 0, at(4))
        ]
    );
    assert_eq!(rows[0].message, "{\"text\":\"assigned:l1:1:telegram\"}");
    assert_eq!(rows[0].channel, "telegram");
    assert!(
        s.claim_notifications(at(5), at(6), 10)
            .await
            .expect("claim")
            .is_empty()
    );
    assert_eq!(s.next_notification_due().await.expect("due"), Some(at(6)));
    s.record_notifications(&[
        outcome(&rows[0], 1, 5, DeliveryOutcome::Delivered, Some("777")),
        outcome(&rows[1], 1, 5, DeliveryOutcome::Retry(at(9)), None),
    ])
    .await
    .expect("record");
    assert_eq!(s.next_notification_due().await.expect("due"), Some(at(9)));
    assert_eq!(
        s.card_ref("l1", "100", rows[1].id).await.expect("card"),
        Some("777".into())
    );
    assert_eq!(s.card_ref("l1", "101", i64::MAX).await.expect("card"), None);
    // Only a card queued before the notice that answers it: a newer one keeps its buttons.
    assert_eq!(
        s.card_ref("l1", "100", rows[0].id).await.expect("card"),
        None
    );
    let again = s
        .claim_notifications(at(9), at(10), 10)
        .await
        .expect("claim");
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 1);
    // The first claim's worker, back late (a paused replica), records again: rows[1] is under
    // the new claim now and rows[0] was recorded already, so neither moves.
    let late = [
        outcome(&rows[0], 1, 9, DeliveryOutcome::Dead, None),
        outcome(&rows[1], 1, 9, DeliveryOutcome::Retry(at(9)), None),
    ];
    assert_eq!(s.record_notifications(&late).await.expect("record"), 0);
    let claimed = s.claim_notifications(at(9), at(10), 10).await;
    assert!(
        claimed.expect("claim").is_empty(),
        "a late record lifted the new claim's lease"
    );
    s.record_notifications(&[outcome(&again[0], 2, 9, DeliveryOutcome::Dead, None)])
        .await
        .expect("record");
    assert_eq!(s.next_notification_due().await.expect("due"), None);

    // The lead's own messages, and its audit trail, show who was told.
    let notices = s.lead_notifications("l1").await.expect("notices");
    assert_eq!(notices.len(), 1);
    let n = &notices[0];
    assert_eq!(
        (
            n.recipient.as_str(),
            n.status.as_str(),
            n.attempts,
            n.sent_at
        ),
        ("anna", "sent", 1, Some(at(5)))
    );
    let journey = s.lead_journey("l1").await.expect("read").expect("l1");
    let told: Vec<&str> = journey.audit.iter().map(|a| a.kind.as_str()).collect();
    assert_eq!(told, ["notified"]);
    assert_eq!(journey.audit[0].detail["recipient"], "anna");
}

pub(crate) async fn links_are_used_once_and_alerts_read_the_health_of_things(s: &dyn Stores) {
    assert!(s.consume_link("n1", at(1)).await.expect("use"));
    assert!(!s.consume_link("n1", at(2)).await.expect("use again"));
    s.release_link("n1").await.expect("release");
    assert!(
        s.consume_link("n1", at(3))
            .await
            .expect("use after release")
    );

    // Anna's chat fails twice with nothing sent since; boris's failed once, then got one.
    s.queue_notifications(&[
        notice("a1", None, "anna", "100", 1),
        notice("a2", None, "anna", "100", 2),
        notice("b1", None, "boris", "200", 3),
        notice("b2", None, "boris", "200", 4),
        notice("x1", None, "admin", "900", 5),
    ])
    .await
    .expect("queue");
    let rows = s
        .claim_notifications(at(10), at(11), 10)
        .await
        .expect("claim");
    let id = |key_minute: u32| {
        (rows.iter())
            .find(|r| r.created_at == at(key_minute))
            .expect("row")
    };
    s.record_notifications(&[
        outcome(id(1), 1, 10, DeliveryOutcome::Dead, None),
        outcome(id(2), 1, 10, DeliveryOutcome::Dead, None),
        outcome(id(3), 1, 10, DeliveryOutcome::Dead, None),
        outcome(id(4), 1, 10, DeliveryOutcome::Delivered, Some("1")),
        outcome(id(5), 1, 10, DeliveryOutcome::Dead, None),
    ])
    .await
    .expect("record");
    assert_eq!(
        s.unreachable_managers().await.expect("unreachable"),
        [Unreachable {
            recipient: "anna".into(),
            channel: "telegram".into(),
            address: "100".into(),
            dead: 2,
            last_error: Some("chat not found".into()),
        }]
    );

    let mut tx = s.begin().await.expect("begin");
    tx.insert_lead(&held_lead("h1", "senior"))
        .await
        .expect("held");
    tx.commit().await.expect("commit");
    assert_eq!(
        s.held_per_level().await.expect("held"),
        [("senior".to_string(), 1)].into()
    );
    assert!(s.dead_per_sink().await.expect("dead").is_empty());
    assert!(s.last_inbound_per_source().await.expect("last").is_empty());
}
