//! Intake's side: items committed new or answered with the item they repeat, the queue
//! processing reads, and named cursors.

use super::Stores;
use super::fixtures::{at, inbound};
use crate::store::{CursorWrite, FinishedInbound, Inserted, ListFilter};

pub(crate) async fn intake_answers_each_item_new_or_the_stored_one_it_repeats(s: &dyn Stores) {
    s.ping().await.expect("ping");
    // A small group: a repeat within the group is the first one.
    let small = [inbound("a", "k1"), inbound("b", "k2"), inbound("c", "k1")];
    let got = s.insert_inbound(&small, &[]).await.expect("insert");
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
    let got = s
        .insert_inbound(&big, std::slice::from_ref(&cursor))
        .await
        .expect("insert");
    assert_eq!(got.len(), 152);
    assert_eq!(got[149], Inserted::New("n149".into()));
    assert_eq!(got[150], Inserted::Duplicate("b".into()));
    assert_eq!(got[151], Inserted::Duplicate("n7".into()));
    assert_eq!(
        s.get_cursor("email:box:INBOX").await.expect("read"),
        Some("42".into())
    );
    assert_eq!(s.queue_stats().await.expect("stats").inbound_pending, 152);
    // The stored item keeps its own bytes, not the repeat's.
    let kept = s.inbound_item("b").await.expect("read").expect("b");
    assert_eq!(kept.row.payload, b"b");
    assert!(s.inbound_item("again").await.expect("read").is_none());
}

pub(crate) async fn pending_items_come_oldest_first_until_processing_finishes_them(s: &dyn Stores) {
    let mut items = Vec::new();
    for (id, minute) in [("late", 9), ("early", 2), ("middle", 5)] {
        let mut item = inbound(id, id);
        item.received_at = at(minute);
        item.content_type = Some("text/plain".into());
        item.meta = serde_json::json!({"n": minute});
        items.push(item);
    }
    s.insert_inbound(&items, &[]).await.expect("insert");
    let pending = s.pending_inbound(10).await.expect("pending");
    let ids: Vec<&str> = pending.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["early", "middle", "late"]);
    let first = &pending[0];
    assert_eq!(
        (first.received_at, first.content_type.as_deref()),
        (at(2), Some("text/plain"))
    );
    assert_eq!(first.meta, serde_json::json!({"n": 2}));
    assert_eq!(first.payload, b"early");
    assert_eq!(s.pending_inbound(1).await.expect("pending").len(), 1);

    let mut tx = s.begin().await.expect("begin");
    tx.finish_inbound(&FinishedInbound::not_lead(
        "early",
        "spam",
        "casino".into(),
        at(10),
    ))
    .await
    .expect("finish");
    tx.commit().await.expect("commit");
    let ids: Vec<String> = s
        .pending_inbound(10)
        .await
        .expect("pending")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, ["middle", "late"]);
    let kept = s.inbound_item("early").await.expect("read").expect("early");
    assert_eq!(
        (
            kept.status.as_str(),
            kept.reason.as_deref(),
            kept.detail.as_deref()
        ),
        ("not_lead", Some("spam"), Some("casino"))
    );
    let listed = s
        .list_inbound(&ListFilter {
            status: Some("not_lead".into()),
            limit: 10,
            ..ListFilter::default()
        })
        .await
        .expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].reason.as_deref(), Some("spam"));
    let all = s
        .list_inbound(&ListFilter {
            limit: 10,
            ..ListFilter::default()
        })
        .await
        .expect("list");
    let ids: Vec<&str> = all.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["late", "middle", "early"], "newest first");
    let last = s.last_inbound_per_source().await.expect("last");
    assert_eq!(last.get("site"), Some(&at(9)));
}

pub(crate) async fn cursors_are_kept_inside_and_outside_a_transaction(s: &dyn Stores) {
    assert_eq!(s.get_cursor("k").await.expect("read"), None);
    s.set_cursor("k", "1", at(1)).await.expect("set");
    s.set_cursor("k", "2", at(2)).await.expect("set again");
    assert_eq!(s.get_cursor("k").await.expect("read"), Some("2".into()));
    let mut tx = s.begin().await.expect("begin");
    assert_eq!(tx.get_cursor("k").await.expect("read"), Some("2".into()));
    tx.set_cursor("k", "3", at(3)).await.expect("set");
    tx.set_cursor("rr", "anna", at(3)).await.expect("set");
    assert_eq!(tx.get_cursor("k").await.expect("read"), Some("3".into()));
    tx.commit().await.expect("commit");
    assert_eq!(s.get_cursor("k").await.expect("read"), Some("3".into()));
    assert_eq!(s.get_cursor("rr").await.expect("read"), Some("anna".into()));
    // A transaction dropped without its commit changes nothing.
    let mut tx = s.begin().await.expect("begin");
    tx.set_cursor("k", "lost", at(4)).await.expect("set");
    drop(tx);
    assert_eq!(s.get_cursor("k").await.expect("read"), Some("3".into()));
}

/// A source asks which keys are stored already (a key of an earlier form), over-long keys
/// by the form the store keeps them in, and only among its own items.
pub(crate) async fn stored_keys_are_found_by_source(s: &dyn Stores) {
    let long = format!("<{}@mail.example>", "x".repeat(300));
    let items = [
        inbound("a", "<a@mail>"),
        inbound("b", &long).with_bounded_key(),
    ];
    s.insert_inbound(&items, &[]).await.expect("insert");
    let asked = ["<a@mail>".to_string(), long.clone(), "<c@mail>".to_string()];
    let found = s.stored_among("site", &asked).await.expect("stored");
    assert_eq!(found, ["<a@mail>".to_string(), long].into_iter().collect());
    assert!(
        s.stored_among("other", &asked)
            .await
            .expect("stored")
            .is_empty()
    );
    assert!(
        s.stored_among("site", &[])
            .await
            .expect("stored")
            .is_empty()
    );
}

/// A cursor read in a transaction is held until it ends even while it has no value yet (the
/// rotation's state on a fresh store): two replicas' first batches take turns, and the second
/// routes from the rotation the first left.
pub(crate) async fn a_cursor_read_in_a_transaction_is_held_before_it_has_a_value(s: &dyn Stores) {
    let mut first = s.begin().await.expect("begin");
    assert_eq!(first.get_cursor("rr").await.expect("read"), None);
    let second = async {
        let mut tx = s.begin().await.expect("begin a second");
        let seen = tx.get_cursor("rr").await.expect("read in the second");
        tx.set_cursor("rr", "boris", at(2))
            .await
            .expect("set in the second");
        tx.commit().await.expect("commit the second");
        seen
    };
    tokio::pin!(second);
    let waited = tokio::time::timeout(std::time::Duration::from_millis(300), &mut second).await;
    assert!(waited.is_err(), "the second read did not wait: {waited:?}");
    first.set_cursor("rr", "anna", at(1)).await.expect("set");
    first.commit().await.expect("commit");
    assert_eq!(second.await, Some("anna".into()));
    assert_eq!(
        s.get_cursor("rr").await.expect("read"),
        Some("boris".into())
    );
}
