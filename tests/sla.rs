//! Managers in the loop: acknowledge and decline through the API, and the SLA timer passing an
//! unacknowledged lead on, escalating after `max_reassign`, and surviving a restart. Time is a
//! manual clock the test moves.

mod support;
use support::config::form_to_crm;

use leadgate::clock::ManualClock;
use std::sync::Arc;
use std::time::Duration;
use support::daemon::{
    API_TOKEN, TestDaemon, always_open_routing, eventually, hold_routing_with_day_shift,
    manual_clock, monday_evening,
};
use support::sink::{Sink, manager_of};

fn config(sink: &Sink) -> String {
    form_to_crm(&sink.url())
}

async fn act(
    daemon: &TestDaemon,
    lead: &str,
    what: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let r = reqwest::Client::new()
        .post(daemon.url(&format!("/api/leads/{lead}/{what}")))
        .bearer_auth(API_TOKEN)
        .json(&body)
        .send()
        .await
        .expect("post");
    (r.status().as_u16(), r.json().await.unwrap_or_default())
}

/// The daemon on the test's clock, under rules where everyone always works.
async fn start(dir: &std::path::Path, sink: &Sink, clock: Arc<ManualClock>) -> TestDaemon {
    TestDaemon::start_at(dir, &config(sink), &always_open_routing(), clock).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acknowledgement_reaches_the_crm_and_only_the_current_manager_may_act() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = start(dir.path(), &sink, manual_clock()).await;
    let lead = daemon.submit_form(&[("phone", "+79161110001")]).await;
    let created = sink.events(1).await;
    let owner = manager_of(&created[0]);
    let other = if owner == "anna" { "boris" } else { "anna" };
    let (status, body) = act(&daemon, &lead, "ack", serde_json::json!({"manager": other})).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("already passed to"),
        "{body}"
    );
    let (status, body) = act(&daemon, &lead, "ack", serde_json::json!({"manager": owner})).await;
    assert_eq!(status, 200, "{body}");
    let got = sink.events(2).await;
    assert_eq!(got[1]["type"], "lead.acknowledged");
    assert_eq!(manager_of(&got[1]), owner);
    let unauthorised = reqwest::Client::new()
        .post(daemon.url(&format!("/api/leads/{lead}/ack")))
        .send()
        .await
        .expect("post");
    assert_eq!(unauthorised.status(), 401);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_reaction_passes_the_lead_on_then_escalates_and_never_back() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = manual_clock();
    let daemon = start(dir.path(), &sink, clock.clone()).await;
    let lead = daemon.submit_form(&[("phone", "+79161110002")]).await;
    let first = manager_of(&sink.events(1).await[0]);
    daemon.settled().await;
    assert_eq!(
        sink.received().len(),
        1,
        "nothing moves before the deadline"
    );
    clock.advance(chrono::Duration::minutes(31));
    let got = sink.events(2).await;
    assert_eq!(got[1]["type"], "lead.reassigned");
    let second = manager_of(&got[1]);
    assert!(
        second != first && (second == "anna" || second == "boris"),
        "passed to the other junior: {first} -> {second}"
    );
    assert_eq!(got[1]["data"]["assignment"]["attempt"], 2);
    clock.advance(chrono::Duration::minutes(31));
    let got = sink.events(3).await;
    assert_eq!(
        manager_of(&got[2]),
        "vera",
        "after max_reassign passes the lead goes one level up"
    );
    assert_eq!(got[2]["data"]["classification"]["level"], "senior");
    clock.advance(chrono::Duration::minutes(31));
    daemon.settled().await;
    assert_eq!(
        sink.received().len(),
        3,
        "nobody is left: it stays with vera, never back to a junior"
    );
    let audit = daemon.audit(&lead).await;
    let kinds: Vec<&str> = audit.iter().filter_map(|a| a["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "created",
            "assigned",
            "passed_on",
            "escalated",
            "nobody_left"
        ],
        "{audit:?}"
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decline_passes_at_once_with_its_reason() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = start(dir.path(), &sink, manual_clock()).await;
    let lead = daemon.submit_form(&[("phone", "+79161110003")]).await;
    let first = manager_of(&sink.events(1).await[0]);
    let (status, body) = act(
        &daemon,
        &lead,
        "decline",
        serde_json::json!({"manager": first, "reason": "не мой регион"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "passed_on");
    let got = sink.events(2).await;
    assert_eq!(got[1]["type"], "lead.reassigned");
    assert_ne!(manager_of(&got[1]), first);
    let audit = daemon.audit(&lead).await;
    let declined = audit
        .iter()
        .find(|a| a["kind"] == "declined")
        .expect("a declined entry");
    assert_eq!(declined["detail"]["reason"], "не мой регион");
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timers_survive_a_restart() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = manual_clock();
    let daemon = start(dir.path(), &sink, clock.clone()).await;
    daemon.submit_form(&[("phone", "+79161110004")]).await;
    let first = manager_of(&sink.events(1).await[0]);
    daemon.stop().await;
    clock.advance(chrono::Duration::minutes(45));
    let daemon = start(dir.path(), &sink, clock.clone()).await;
    let got = sink.events(2).await;
    assert_eq!(
        got[1]["type"], "lead.reassigned",
        "the deadline kept in the store fired after the restart"
    );
    assert_ne!(manager_of(&got[1]), first);
    daemon.stop().await;
}

/// A manual clock on Monday 2026-11-23 at 07:00 in Moscow, before a day shift.
fn monday_seven_in_moscow() -> Arc<ManualClock> {
    let start_at = chrono::DateTime::parse_from_rfc3339("2026-11-23T07:00:00+03:00")
        .expect("time")
        .to_utc();
    Arc::new(ManualClock::new(start_at))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_leads_are_assigned_oldest_first_when_hours_begin() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    // The only manager starts at 09:00.
    let clock = monday_seven_in_moscow();
    let routing = "levels = [\"junior\"]\ntimezone = \"Europe/Moscow\"\nfallback = \"hold\"\n\n[sla]\nack_within = \"30m\"\n\n\
                   [[managers]]\nid = \"ivan\"\nname = \"Иван\"\nlevel = \"junior\"\nhours = \"mon-fri 09:00-18:00\"\nmax_open = 1\n\n\
                   [[rules]]\nname = \"all\"\nlevel = \"junior\"\n";
    let daemon = TestDaemon::start_at(dir.path(), &config(&sink), routing, clock.clone()).await;
    let older = daemon.submit_form(&[("phone", "+79161110005")]).await;
    let created = sink.events(1).await;
    assert_eq!(
        created[0]["data"]["assignment"],
        serde_json::Value::Null,
        "nobody works at 07:00: held"
    );
    let newer = daemon.submit_form(&[("phone", "+79161110006")]).await;
    sink.events(2).await;
    clock.advance(chrono::Duration::hours(2) + chrono::Duration::minutes(1));
    let got = sink.events(3).await;
    assert_eq!(got[2]["type"], "lead.reassigned");
    assert_eq!(
        got[2]["data"]["id"],
        older.as_str(),
        "the older held lead goes first"
    );
    assert_eq!(manager_of(&got[2]), "ivan");
    daemon.settled().await;
    assert_eq!(
        sink.received().len(),
        3,
        "ivan is full (max_open = 1): the newer lead still waits"
    );
    let (status, _) = act(
        &daemon,
        &older,
        "ack",
        serde_json::json!({"manager": "ivan"}),
    )
    .await;
    assert_eq!(status, 200);
    clock.advance(chrono::Duration::seconds(6));
    let got = sink.events(5).await;
    let last = got
        .iter()
        .rfind(|e| e["type"] == "lead.reassigned")
        .expect("a reassignment");
    assert_eq!(
        last["data"]["id"],
        newer.as_str(),
        "capacity freed: the newer lead is assigned"
    );
    daemon.stop().await;
}

/// An item the store refuses, last to come and alone (a value it cannot hold), is a suspect
/// the processing stage leaves pending until something else goes through after it. While it
/// waits, the leads held overnight are still offered when hours begin: before, every pass
/// looked for the item to blame and none offered, so the morning's leads waited for the next
/// form to arrive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_leads_are_offered_while_a_refused_item_waits_alone() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    // The only manager starts at 09:00.
    let clock = monday_seven_in_moscow();
    let routing = "levels = [\"junior\"]\ntimezone = \"Europe/Moscow\"\nfallback = \"hold\"\n\n[sla]\nack_within = \"30m\"\n\n\
                   [[managers]]\nid = \"ivan\"\nname = \"Иван\"\nlevel = \"junior\"\nhours = \"mon-fri 09:00-18:00\"\n\n\
                   [[rules]]\nname = \"all\"\nlevel = \"junior\"\n";
    let daemon = TestDaemon::start_at(dir.path(), &config(&sink), routing, clock.clone()).await;
    let held = daemon.submit_form(&[("phone", "+79161110011")]).await;
    let created = sink.events(1).await;
    assert_eq!(created[0]["data"]["assignment"], serde_json::Value::Null);
    // The store refuses one name from now on (a trigger stands for any value it cannot hold).
    let db = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join("leadgate.db").display()
    ))
    .await
    .expect("open the store");
    sqlx::query(
        "CREATE TRIGGER refuse_poison BEFORE INSERT ON leads WHEN NEW.contact_name = 'Яд' \
         BEGIN SELECT RAISE(ABORT, 'a value the store cannot hold'); END",
    )
    .execute(&db)
    .await
    .expect("the trigger");
    db.close().await;
    daemon
        .submit_form(&[("name", "Яд"), ("phone", "+79161110012")])
        .await;
    // Refused in its batch, then alone: a suspect, with nothing pending after it.
    tokio::time::sleep(Duration::from_secs(5)).await;
    clock.advance(chrono::Duration::hours(2) + chrono::Duration::minutes(1));
    let got = sink.events(2).await;
    assert_eq!(got[1]["type"], "lead.reassigned", "{got:#?}");
    assert_eq!(got[1]["data"]["id"], held.as_str());
    assert_eq!(manager_of(&got[1]), "ivan");
    daemon.stop().await;
}

/// A lead the admin said is a lead, though a rule drops it, is held overnight and assigned in
/// the morning. The morning's offer asks the rules again, and a rule that drops must be passed
/// over there too, as at the lead's first routing. Before, the offer's rules dropped it: no
/// manager, and it stayed held for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_the_admin_let_through_a_drop_rule_is_assigned_when_hours_begin() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    // The only manager starts at 09:00.
    let clock = monday_seven_in_moscow();
    let routing = "levels = [\"junior\"]\ntimezone = \"Europe/Moscow\"\nfallback = \"hold\"\n\n[sla]\nack_within = \"30m\"\n\n\
                   [[managers]]\nid = \"ivan\"\nname = \"Иван\"\nlevel = \"junior\"\nhours = \"mon-fri 09:00-18:00\"\n\n\
                   [[rules]]\nname = \"spam\"\nwhen = { text_contains = [\"казино\"] }\ndrop = \"spam\"\n\n\
                   [[rules]]\nname = \"all\"\nlevel = \"junior\"\n";
    let daemon = TestDaemon::start_at(dir.path(), &config(&sink), routing, clock.clone()).await;
    let item = (daemon)
        .submit_form(&[
            ("phone", "+79161110007"),
            ("message", "Котёл для здания бывшего казино"),
        ])
        .await;
    let dropped = eventually(Duration::from_secs(10), || async {
        let listed = daemon.admin_get("/admin/api/inbound?reason=dropped").await;
        (listed.to_string().contains(&item)).then_some(())
    })
    .await;
    assert!(dropped.is_some(), "the rule drops it");
    let marked = reqwest::Client::new()
        .post(daemon.url(&format!("/admin/api/inbound/{item}/lead")))
        .bearer_auth(support::daemon::ADMIN_TOKEN)
        .send()
        .await
        .expect("as lead");
    assert_eq!(marked.status().as_u16(), 202, "{:?}", marked.text().await);
    let created = sink.events(1).await;
    assert_eq!(created[0]["type"], "lead.created");
    assert_eq!(
        created[0]["data"]["assignment"],
        serde_json::Value::Null,
        "held at 07:00"
    );
    clock.advance(chrono::Duration::hours(2) + chrono::Duration::minutes(1));
    let got = sink.events(2).await;
    assert_eq!(got[1]["type"], "lead.reassigned", "{got:#?}");
    assert_eq!(manager_of(&got[1]), "ivan");
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returning_contact_held_overnight_goes_to_their_manager_in_the_morning() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    // Monday 2026-11-23 10:00 Moscow; both managers work 09:00-18:00 on weekdays.
    let start_at = chrono::DateTime::parse_from_rfc3339("2026-11-23T10:00:00+03:00")
        .expect("time")
        .to_utc();
    let clock = Arc::new(ManualClock::new(start_at));
    let routing = "levels = [\"junior\"]\ntimezone = \"Europe/Moscow\"\nfallback = \"hold\"\n\
                   strategy = \"round_robin\"\nprefer_previous_manager = true\n\n[sla]\nack_within = \"30m\"\n\n\
                   [[managers]]\nid = \"ivan\"\nname = \"Иван\"\nlevel = \"junior\"\nhours = \"mon-fri 09:00-18:00\"\n\n\
                   [[managers]]\nid = \"petr\"\nname = \"Пётр\"\nlevel = \"junior\"\nhours = \"mon-fri 09:00-18:00\"\n\n\
                   [[rules]]\nname = \"all\"\nlevel = \"junior\"\n";
    let daemon = TestDaemon::start_at(dir.path(), &config(&sink), routing, clock.clone()).await;
    let first = daemon.submit_form(&[("phone", "+79161110007")]).await;
    let owner = manager_of(&sink.events(1).await[0]);
    let (status, _) = act(
        &daemon,
        &first,
        "ack",
        serde_json::json!({"manager": owner}),
    )
    .await;
    assert_eq!(status, 200);
    // The same person writes again at 19:00: a new lead, held until the morning.
    clock.advance(chrono::Duration::hours(9));
    let again = daemon.submit_form(&[("phone", "+79161110007")]).await;
    let got = sink.events(3).await;
    let created = got
        .iter()
        .find(|e| e["type"] == "lead.created" && e["data"]["id"] == again.as_str())
        .expect("the second lead");
    assert_eq!(
        created["data"]["assignment"],
        serde_json::Value::Null,
        "held"
    );
    assert_eq!(created["data"]["returning"], true);
    // Tuesday 09:01: round robin alone would give the next manager; the person's own comes
    // first.
    clock.advance(chrono::Duration::hours(14) + chrono::Duration::minutes(1));
    let got = sink.events(4).await;
    let assigned = got
        .iter()
        .find(|e| e["type"] == "lead.reassigned" && e["data"]["id"] == again.as_str())
        .expect("the held lead assigned");
    assert_eq!(
        manager_of(assigned),
        owner,
        "the manager who had them before"
    );
    daemon.stop().await;
}

/// The out-of-the-box daemon: no `[notify]`, no `[api]`, no CRM reporting back. Nobody is
/// told of a lead or can acknowledge it, so nobody can be late (issue 17).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_notifications_or_the_api_a_lead_is_not_passed_on() {
    use leadgate::clock::Clock;
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = manual_clock();
    let config = format!(
        "[[sources.webform]]\nid = \"site\"\n\n[[sinks.webhook]]\nid = \"crm\"\nurl = \"{}\"\ntimeout = \"2s\"\n",
        sink.url()
    );
    let daemon =
        TestDaemon::start_at(dir.path(), &config, &always_open_routing(), clock.clone()).await;
    let lead = daemon.submit_form(&[("phone", "+79161110007")]).await;
    let created = sink.events(1).await;
    assert_eq!(
        created[0]["data"]["assignment"]["ack_due_at"],
        serde_json::Value::Null,
        "no deadline for a manager who is never told: {}",
        created[0]["data"]["assignment"]
    );
    clock.advance(chrono::Duration::minutes(31));
    daemon.ran_since("stage:sla", clock.now()).await;
    clock.advance(chrono::Duration::hours(5));
    daemon.ran_since("stage:sla", clock.now()).await;
    assert_eq!(sink.received().len(), 1, "no lead.reassigned");
    let audit = daemon.audit(&lead).await;
    let kinds: Vec<&str> = audit.iter().filter_map(|a| a["kind"].as_str()).collect();
    assert_eq!(kinds, ["created", "assigned"], "{audit:?}");
    daemon.stop().await;
}

/// Routing where one rule gives its leads 10 minutes instead of the `[sla]` 30, two juniors
/// pass the lead between them once, and the level's supervisor is an inactive manager.
fn rule_and_supervisor_routing() -> &'static str {
    r#"levels = ["junior"]
timezone = "Europe/Moscow"

[sla]
ack_within = "30m"
max_reassign = 1
working_hours_only = false
supervisors = { junior = "olga" }

[[managers]]
id = "anna"
name = "Анна"
level = "junior"
hours = "mon-sun 00:00-23:59"
works_holidays = true

[[managers]]
id = "boris"
name = "Борис"
level = "junior"
hours = "mon-sun 00:00-23:59"
works_holidays = true

[[managers]]
id = "olga"
name = "Ольга"
level = "junior"
hours = "mon-sun 00:00-23:59"
active = false

[[rules]]
name = "Срочно"
when = { text_contains = ["срочно"] }
level = "junior"
ack_within = "10m"

[[rules]]
name = "Всё остальное"
level = "junior"
"#
}

fn minutes_to_ack(event: &serde_json::Value) -> i64 {
    let a = &event["data"]["assignment"];
    let at = |k: &str| {
        chrono::DateTime::parse_from_rfc3339(a[k].as_str().unwrap_or_else(|| panic!("{k}: {a}")))
            .expect("time")
    };
    (at("ack_due_at") - at("assigned_at")).num_minutes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_keeps_the_rules_own_deadline_and_the_last_pass_goes_to_the_supervisor() {
    use leadgate::clock::Clock;
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = manual_clock();
    let daemon = TestDaemon::start_at(
        dir.path(),
        &config(&sink),
        rule_and_supervisor_routing(),
        clock.clone(),
    )
    .await;
    let lead = daemon
        .submit_form(&[
            ("phone", "+79161110008"),
            ("message", "Срочно нужен мастер"),
        ])
        .await;
    let got = sink.events(1).await;
    assert_eq!(got[0]["data"]["classification"]["rule"], "Срочно");
    assert_eq!(minutes_to_ack(&got[0]), 10, "the rule's own ack_within");
    clock.advance(chrono::Duration::minutes(11));
    let got = sink.events(2).await;
    assert_eq!(got[1]["type"], "lead.reassigned");
    assert_ne!(manager_of(&got[1]), manager_of(&got[0]));
    assert_eq!(
        minutes_to_ack(&got[1]),
        10,
        "a pass gives the next manager the rule's 10 minutes, not the [sla] 30"
    );
    clock.advance(chrono::Duration::minutes(11));
    let got = sink.events(3).await;
    assert_eq!(manager_of(&got[2]), "olga", "nobody left: the supervisor");
    assert_eq!(
        got[2]["data"]["assignment"]["ack_due_at"],
        serde_json::Value::Null,
        "the supervisor has no deadline"
    );
    assert_eq!(got[2]["data"]["assignment"]["strategy"], "supervisor");
    clock.advance(chrono::Duration::hours(2));
    daemon.ran_since("stage:sla", clock.now()).await;
    assert_eq!(sink.received().len(), 3, "the supervisor keeps it");
    let audit = daemon.audit(&lead).await;
    let kinds: Vec<&str> = audit.iter().filter_map(|a| a["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "created",
            "assigned",
            "passed_on",
            "escalated_to_supervisor"
        ],
        "{audit:?}"
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decline_when_nobody_else_works_now_waits_for_the_next_manager_not_the_decliner() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    // Monday 20:00 in Moscow: Борис works 09:00-18:00, Анна always; leads at a level wait
    // for someone there.
    let clock = monday_evening();
    let routing = hold_routing_with_day_shift("boris");
    let daemon = TestDaemon::start_at(dir.path(), &config(&sink), &routing, clock.clone()).await;
    let lead = daemon.submit_form(&[("phone", "+79161110044")]).await;
    assert_eq!(manager_of(&sink.events(1).await[0]), "anna");
    let (status, body) = act(
        &daemon,
        &lead,
        "decline",
        serde_json::json!({"manager": "anna", "reason": "не мой профиль"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "held", "{body}");
    daemon.settled().await;
    assert_eq!(sink.received().len(), 1, "nobody can take it yet");
    let leads = daemon.admin_get("/admin/api/leads").await;
    let row = &leads["items"][0];
    assert_eq!(row["status"], "held", "{leads}");

    // Another person writes meanwhile, before and after the waiting lead is offered again:
    // Анна takes both. The lead that waits for someone who has not had it does not hold up
    // the level for her.
    let second = daemon.submit_form(&[("phone", "+79161110047")]).await;
    let got = sink.events(2).await;
    assert_eq!(got[1]["type"], "lead.created");
    assert_eq!(got[1]["data"]["id"], second.as_str());
    assert_eq!(manager_of(&got[1]), "anna", "{}", got[1]);
    clock.advance(chrono::Duration::minutes(5));
    daemon.settled().await;
    let third = daemon.submit_form(&[("phone", "+79161110048")]).await;
    let got = sink.events(3).await;
    assert_eq!(got[2]["data"]["id"], third.as_str());
    assert_eq!(manager_of(&got[2]), "anna", "{}", got[2]);
    let leads = daemon.admin_get("/admin/api/leads").await;
    let first = (leads["items"].as_array().expect("items").iter())
        .find(|l| l["id"] == lead.as_str())
        .cloned()
        .unwrap_or_default();
    assert_eq!(first["status"], "held", "the first still waits: {leads}");

    // Борис's day starts: the lead goes to him, not back to Анна (the two she did not take
    // in time go on their way too).
    clock.advance(chrono::Duration::hours(13));
    let moved = eventually(Duration::from_secs(10), || async {
        (sink.received().iter().map(|r| r.json()))
            .find(|e| e["type"] == "lead.reassigned" && e["data"]["id"] == lead.as_str())
    })
    .await
    .expect("the waiting lead is assigned");
    assert_eq!(manager_of(&moved), "boris", "{moved}");
    assert_eq!(moved["data"]["assignment"]["attempt"], 2);
    let audit = daemon.audit(&lead).await;
    let kinds: Vec<&str> = audit.iter().filter_map(|a| a["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        ["created", "assigned", "declined", "held", "assigned"],
        "{audit:?}"
    );
    daemon.stop().await;
}

/// A lead passed on by both juniors and escalated while the senior is off waits at the
/// senior level: it goes to her when her day starts, and it never closes the junior level,
/// whose managers take the next person's lead at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_escalated_while_the_senior_is_off_waits_for_her_not_at_the_junior_level() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    // Monday 20:00 in Moscow: Вера works 09:00-18:00, the juniors always.
    let clock = monday_evening();
    let routing = hold_routing_with_day_shift("vera");
    let daemon = TestDaemon::start_at(dir.path(), &config(&sink), &routing, clock.clone()).await;
    let lead = daemon.submit_form(&[("phone", "+79161110049")]).await;
    sink.events(1).await;
    clock.advance(chrono::Duration::minutes(31));
    sink.events(2).await;
    clock.advance(chrono::Duration::minutes(31));
    eventually(Duration::from_secs(10), || async {
        let audit = daemon.audit(&lead).await;
        audit.iter().any(|a| a["kind"] == "held").then_some(())
    })
    .await
    .expect("escalated while Вера is off: the lead waits");
    daemon.settled().await;

    // Another person writes: a junior takes it at once.
    clock.advance(chrono::Duration::minutes(6));
    daemon.settled().await;
    let second = daemon.submit_form(&[("phone", "+79161110050")]).await;
    let created = eventually(Duration::from_secs(10), || async {
        (sink.received().iter().map(|r| r.json()))
            .find(|e| e["type"] == "lead.created" && e["data"]["id"] == second.as_str())
    })
    .await
    .expect("the second lead is delivered");
    let junior = manager_of(&created);
    assert!(junior == "anna" || junior == "boris", "{created}");

    // Вера's day starts: the waiting lead goes to her.
    clock.advance(chrono::Duration::hours(13));
    let moved = eventually(Duration::from_secs(10), || async {
        (sink.received().iter().map(|r| r.json())).find(|e| {
            e["type"] == "lead.reassigned"
                && e["data"]["id"] == lead.as_str()
                && e["data"]["assignment"]["manager"]["id"] == "vera"
        })
    })
    .await;
    let moved = moved.unwrap_or_else(|| {
        panic!(
            "the waiting lead goes to Вера: {:?}",
            sink.received().iter().map(|r| r.json()).collect::<Vec<_>>()
        )
    });
    assert_eq!(moved["data"]["classification"]["level"], "senior");
    daemon.stop().await;
}

/// A lead that comes while its level waits for older leads is held, and its pick is not
/// anyone's turn: when the level opens, the held leads go on in the rotation where it stood.
/// Анна and Борис take two open leads each; the fifth waits; both take one (room again); a
/// sixth comes before the next offer. At the offer, the fifth goes to the one whose turn it
/// is, and the sixth to the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_held_behind_older_ones_does_not_take_a_turn_in_the_rotation() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = manual_clock();
    let routing = always_open_routing()
        .replace(
            "strategy = \"round_robin\"\n",
            "strategy = \"round_robin\"\nfallback = \"hold\"\n",
        )
        .replacen(
            "works_holidays = true\n\n[[managers]]",
            "works_holidays = true\nmax_open = 2\n\n[[managers]]",
            2,
        );
    assert_eq!(routing.matches("max_open = 2").count(), 2);
    let daemon = TestDaemon::start_at(dir.path(), &config(&sink), &routing, clock.clone()).await;
    let mut leads = Vec::new();
    for n in 0..5 {
        leads.push(
            daemon
                .submit_form(&[("phone", &format!("+7916111006{n}"))])
                .await,
        );
        daemon.settled().await;
    }
    let got = sink.events(5).await;
    let first: Vec<String> = got[..4].iter().map(manager_of).collect();
    assert_eq!(first[0], first[2]);
    assert_eq!(first[1], first[3]);
    assert_ne!(first[0], first[1]);
    assert_eq!(manager_of(&got[4]), "", "the fifth waits: both are full");
    for (lead, who) in [(&leads[0], &first[0]), (&leads[1], &first[1])] {
        let (status, body) = act(&daemon, lead, "ack", serde_json::json!({"manager": who})).await;
        assert_eq!(status, 200, "{body}");
    }
    let sixth = daemon.submit_form(&[("phone", "+79161110069")]).await;
    daemon.settled().await;

    clock.advance(chrono::Duration::seconds(6));
    let assigned_to = |lead: &str| {
        (sink.received().iter().map(|r| r.json())).find_map(|e| {
            (e["type"] == "lead.reassigned" && e["data"]["id"] == lead).then(|| manager_of(&e))
        })
    };
    let (fifth, sixth) = eventually(Duration::from_secs(10), || async {
        Some((assigned_to(&leads[4])?, assigned_to(&sixth)?))
    })
    .await
    .expect("both waiting leads are assigned at the offer");
    assert_eq!(
        (fifth.as_str(), sixth.as_str()),
        (first[0].as_str(), first[1].as_str()),
        "the rotation goes on from the fourth lead"
    );
    daemon.stop().await;
}
