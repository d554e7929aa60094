//! What the admin API and the console read: lists, journeys, pages and searches, kept-out
//! items, resends, and the daily totals of the reports.

use super::Stores;
use super::fixtures::{at, encoded, found_by_name, inbound, new_lead, outbox, stored, with_record};
use crate::store::{
    DayTotals, FinishedInbound, LeadQuery, LeadStatus, LeadUpdate, ListFilter, MarkedAsLead,
    PageKey, Search,
};

pub(crate) async fn lists_and_journeys_show_what_happened(s: &dyn Stores) {
    stored(
        s,
        &new_lead("l1", "inbox", "a@x.ru", 1, "anna"),
        &[outbox("l1", "crm", "e1", 1)],
    )
    .await;
    stored(s, &new_lead("l2", "tg", "b@x.ru", 2, "boris"), &[]).await;
    let leads = |f: ListFilter| async move {
        s.list_leads(&ListFilter { limit: 10, ..f })
            .await
            .expect("list")
            .into_iter()
            .map(|l| l.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(leads(ListFilter::default()).await, ["l2", "l1"]);
    assert_eq!(
        leads(ListFilter {
            manager: Some("anna".into()),
            ..Default::default()
        })
        .await,
        ["l1"]
    );
    assert_eq!(
        leads(ListFilter {
            source: Some("tg".into()),
            ..Default::default()
        })
        .await,
        ["l2"]
    );
    assert_eq!(
        leads(ListFilter {
            since: Some(at(2)),
            ..Default::default()
        })
        .await,
        ["l2"]
    );
    assert_eq!(
        leads(ListFilter {
            until: Some(at(2)),
            ..Default::default()
        })
        .await,
        ["l1"]
    );
    let listed = s
        .list_leads(&ListFilter {
            limit: 1,
            ..Default::default()
        })
        .await
        .expect("list");
    let l2 = &listed[0];
    assert_eq!(
        (
            l2.channel.as_str(),
            l2.status.as_str(),
            l2.level.as_deref(),
            l2.rule.as_deref()
        ),
        ("email", "assigned", Some("junior"), Some("r"))
    );
    let items = s
        .list_inbound(&ListFilter {
            source: Some("inbox".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(
        (items[0].status.as_str(), items[0].lead_id.as_deref()),
        ("lead", Some("l1"))
    );

    s.audit("l1", at(3), "note", &serde_json::json!({"by": "admin"}))
        .await
        .expect("audit");
    let journey = s.lead_journey("l1").await.expect("read").expect("l1");
    assert_eq!(journey.lead["id"], "l1");
    assert_eq!(
        (journey.status.as_str(), journey.rules_version.as_str()),
        ("assigned", "v1")
    );
    assert_eq!(journey.trace, serde_json::json!({}));
    assert_eq!(journey.inbound.len(), 1);
    assert_eq!(journey.inbound[0]["status"], "lead");
    assert_eq!(journey.inbound[0]["payload"]["text"], "text a@x.ru");
    let assigned: Vec<(&str, &str)> = journey
        .assignments
        .iter()
        .map(|a| (a.manager_id.as_str(), a.state.as_str()))
        .collect();
    assert_eq!(assigned, [("anna", "active")]);
    assert_eq!(journey.deliveries.len(), 1);
    assert_eq!(journey.deliveries[0].event_id, "e1");
    assert_eq!(journey.audit.len(), 1);
    assert_eq!(
        (journey.audit[0].kind.as_str(), journey.audit[0].at),
        ("note", at(3))
    );
    assert_eq!(journey.audit[0].detail, serde_json::json!({"by": "admin"}));
    assert!(s.lead_journey("nobody").await.expect("read").is_none());
}

pub(crate) async fn the_console_pages_searches_and_resends(s: &dyn Stores) {
    for i in 1..=5u32 {
        let id = format!("p{i}");
        let mut lead = new_lead(
            &id,
            "inbox",
            &format!("{id}@x.ru"),
            i,
            if i % 2 == 0 { "boris" } else { "anna" },
        );
        if i == 3 {
            lead = with_record(lead, |record| {
                record.contact.name = Some("Вера Павлова".into());
                record.contact.phones = vec!["+79161234567".into()];
            });
            lead.identity_keys.push("phone:+79161234567".into());
        }
        stored(s, &lead, &[outbox(&id, "crm", &format!("e{i}"), i)]).await;
    }
    let page = |q: LeadQuery| async move {
        let page = s
            .lead_page(&LeadQuery { limit: 2, ..q })
            .await
            .expect("page");
        (
            page.rows.into_iter().map(|r| r.id).collect::<Vec<_>>(),
            page.next,
        )
    };
    let (rows, next) = page(LeadQuery::default()).await;
    assert_eq!(rows, ["p5", "p4"]);
    assert_eq!(
        next,
        Some(PageKey {
            received_at: at(4),
            id: "p4".into()
        })
    );
    let (rows, next) = page(LeadQuery {
        after: next,
        ..Default::default()
    })
    .await;
    assert_eq!(rows, ["p3", "p2"]);
    let (rows, next) = page(LeadQuery {
        after: next,
        ..Default::default()
    })
    .await;
    assert_eq!((rows, next), (vec!["p1".to_string()], None));
    // Two filters.
    let (rows, _) = page(LeadQuery {
        manager: Some("anna".into()),
        status: Some("assigned".into()),
        limit: 10,
        ..Default::default()
    })
    .await;
    assert_eq!(rows, ["p5", "p3"]);
    for search in [
        Search::Phone("+79161234567".into()),
        Search::Email("p3@x.ru".into()),
        Search::Name("вера пав".into()),
        Search::Name("Вера".into()),
    ] {
        let (rows, _) = page(LeadQuery {
            search: Some(search.clone()),
            ..Default::default()
        })
        .await;
        assert_eq!(rows, ["p3"], "{search:?}");
    }
    let (rows, _) = page(LeadQuery {
        search: Some(Search::Name("Павлова".into())),
        ..Default::default()
    })
    .await;
    assert!(rows.is_empty(), "a name matches from its start");
    let found = s
        .lead_page(&LeadQuery {
            search: Some(Search::Email("p3@x.ru".into())),
            limit: 5,
            ..Default::default()
        })
        .await
        .expect("page");
    let row = &found.rows[0];
    assert_eq!(
        (
            row.name.as_deref(),
            row.phone.as_deref(),
            row.email.as_deref(),
            row.text.as_str()
        ),
        (
            Some("Вера Павлова"),
            Some("+79161234567"),
            Some("p3@x.ru"),
            "text"
        )
    );
    assert_eq!(
        (row.manager_id.as_deref(), row.level.as_deref()),
        (Some("anna"), Some("junior"))
    );

    // A re-send copies the newest event for the sink, under a new id.
    let bodies = s.delivery_bodies("p3").await.expect("bodies");
    assert_eq!(bodies.values().collect::<Vec<_>>(), ["{\"event\":\"e3\"}"]);
    assert!(
        s.resend("p3", "crm", "e3-again", at(20))
            .await
            .expect("resend")
    );
    assert!(
        !s.resend("p3", "sheet", "e3-sheet", at(20))
            .await
            .expect("resend")
    );
    let bodies = s.delivery_bodies("p3").await.expect("bodies");
    assert_eq!(bodies.len(), 2);
    assert!(bodies.values().all(|b| b == "{\"event\":\"e3\"}"));
    let journey = s.lead_journey("p3").await.expect("read").expect("p3");
    let again = journey
        .deliveries
        .iter()
        .find(|d| d.event_id == "e3-again")
        .expect("copied");
    assert_eq!(
        (again.status.as_str(), again.next_attempt_at),
        ("pending", at(20))
    );
    assert_eq!(
        journey.audit.last().map(|a| a.kind.as_str()),
        Some("resent")
    );
    assert_eq!(
        journey.audit.last().map(|a| a.detail["event_id"].clone()),
        Some("e3-again".into())
    );
}

pub(crate) async fn a_name_is_found_as_the_lead_stands_now(s: &dyn Stores) {
    stored(s, &new_lead("n1", "inbox", "n1@x.ru", 1, "anna"), &[]).await;
    let named = |name: &'static str| found_by_name(s, name);
    assert!(named("Олег").await.is_empty(), "no name yet");
    // A follow-up brings the name.
    let mut tx = s.begin().await.expect("begin");
    let mut record = tx.lead("n1").await.expect("read").expect("n1").record;
    record.contact.name = Some("Олег Смирнов".into());
    tx.follow_up_lead(encoded(&record), at(2))
        .await
        .expect("follow up");
    tx.commit().await.expect("commit");
    let oleg = vec![("n1".to_string(), Some("Олег Смирнов".to_string()))];
    assert_eq!(named("Олег").await, oleg);
    // A later change of the lead renames it: the old name no longer finds it.
    let mut tx = s.begin().await.expect("begin");
    let mut record = tx.lead("n1").await.expect("read").expect("n1").record;
    record.contact.name = Some("Ольга Смирнова".into());
    let update = LeadUpdate {
        record,
        status: LeadStatus::Assigned,
        at: at(3),
        trace: None,
    };
    tx.update_lead(&update).await.expect("update");
    tx.commit().await.expect("commit");
    assert!(named("Олег").await.is_empty(), "renamed");
    let olga = vec![("n1".to_string(), Some("Ольга Смирнова".to_string()))];
    assert_eq!(named("ольга").await, olga);
}

pub(crate) async fn kept_out_items_are_listed_counted_and_turned_into_leads(s: &dyn Stores) {
    let mut items = Vec::new();
    for (id, minute) in [("s1", 1), ("s2", 2), ("a1", 3)] {
        let mut item = inbound(id, id);
        item.received_at = at(minute);
        item.payload = format!("{id}: buy now").into_bytes();
        items.push(item);
    }
    s.insert_inbound(&items, &[]).await.expect("intake");
    let mut tx = s.begin().await.expect("begin");
    for (id, reason) in [("s1", "spam"), ("s2", "spam"), ("a1", "auto_reply")] {
        tx.finish_inbound(&FinishedInbound::not_lead(
            id,
            reason,
            format!("{reason} words"),
            at(4),
        ))
        .await
        .expect("finish");
    }
    tx.commit().await.expect("commit");

    let (rows, more) = s.not_leads(None, None, 2).await.expect("not leads");
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    assert_eq!((ids, more), (vec!["a1", "s2"], true));
    assert_eq!(rows[0].excerpt, "a1: buy now");
    assert_eq!(rows[0].detail.as_deref(), Some("auto_reply words"));
    let after = PageKey {
        received_at: rows[1].received_at,
        id: rows[1].id.clone(),
    };
    let (rows, more) = s.not_leads(None, Some(&after), 2).await.expect("not leads");
    assert_eq!((rows.len(), rows[0].id.as_str(), more), (1, "s1", false));
    let (rows, _) = s.not_leads(Some("spam"), None, 10).await.expect("spam");
    assert_eq!(rows.len(), 2);
    assert_eq!(
        s.not_lead_reasons(at(0)).await.expect("reasons"),
        [("spam".to_string(), 2), ("auto_reply".to_string(), 1)]
    );
    assert_eq!(
        s.not_lead_reasons(at(3)).await.expect("reasons"),
        [("auto_reply".to_string(), 1)]
    );
    let kept = |n| DayTotals {
        day: "2026-11-22".into(),
        source: "site".into(),
        channel: String::new(),
        leads: 0,
        kept_out: n,
    };
    let days = s
        .day_totals("2026-11-22", "2026-11-22")
        .await
        .expect("days");
    assert_eq!(format!("{days:?}"), format!("{:?}", [kept(3)]));

    let mark = serde_json::json!({"by": "admin"});
    assert_eq!(
        s.mark_as_lead("s1", &mark, at(9)).await.expect("mark"),
        MarkedAsLead::Queued
    );
    assert_eq!(
        s.mark_as_lead("s1", &mark, at(9)).await.expect("again"),
        MarkedAsLead::NotKeptOut {
            status: "pending".into()
        }
    );
    assert_eq!(
        s.mark_as_lead("zz", &mark, at(9)).await.expect("missing"),
        MarkedAsLead::Missing
    );
    let item = s.inbound_item("s1").await.expect("read").expect("s1");
    assert_eq!(item.status, "pending");
    assert_eq!(item.row.meta["as_lead"], mark);
    let pending: Vec<String> = s
        .pending_inbound(10)
        .await
        .expect("pending")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(pending, ["s1"]);
    let days = s
        .day_totals("2026-11-22", "2026-11-22")
        .await
        .expect("days");
    assert_eq!(
        format!("{days:?}"),
        format!("{:?}", [kept(2)]),
        "no longer kept out"
    );
}

pub(crate) async fn the_reports_count_leads_items_and_deliveries_per_day(s: &dyn Stores) {
    stored(s, &new_lead("r1", "inbox", "a@x.ru", 1, "anna"), &[]).await;
    stored(s, &new_lead("r2", "inbox", "b@x.ru", 2, "anna"), &[]).await;
    stored(s, &new_lead("r3", "tg", "c@x.ru", 3, "boris"), &[]).await;
    // anna declines r2, saying she is busy.
    let mut tx = s.begin().await.expect("begin");
    tx.end_assignment("r2", "declined", at(10))
        .await
        .expect("decline");
    tx.audit(
        "r2",
        at(10),
        "declined",
        &serde_json::json!({"manager": "anna", "reason": "busy"}),
    )
    .await
    .expect("audit");
    tx.commit().await.expect("commit");

    let days = s
        .day_totals("2026-11-22", "2026-11-22")
        .await
        .expect("days");
    let got: Vec<(&str, &str, u64, u64)> = days
        .iter()
        .map(|d| (d.source.as_str(), d.channel.as_str(), d.leads, d.kept_out))
        .collect();
    assert_eq!(got, [("inbox", "email", 2, 0), ("tg", "email", 1, 0)]);
    assert!(
        s.day_totals("2026-11-23", "2026-11-30")
            .await
            .expect("days")
            .is_empty()
    );
    let declines = s
        .decline_totals("2026-11-22", "2026-11-22")
        .await
        .expect("declines");
    let got: Vec<(&str, &str, &str, u64)> = declines
        .iter()
        .map(|d| {
            (
                d.manager_id.as_str(),
                d.level.as_str(),
                d.reason.as_str(),
                d.n,
            )
        })
        .collect();
    assert_eq!(got, [("anna", "junior", "busy", 1)]);
    let managers = s
        .manager_totals("2026-11-22", "2026-11-22")
        .await
        .expect("managers");
    let got: Vec<(&str, u64, u64)> = managers
        .iter()
        .map(|m| (m.manager_id.as_str(), m.assigned, m.declined))
        .collect();
    assert_eq!(got, [("anna", 2, 1), ("boris", 1, 0)]);
    assert!(
        s.crm_totals("2026-11-22", "2026-11-22")
            .await
            .expect("crm")
            .is_empty()
    );
}
