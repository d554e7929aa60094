//! Working hours through the public API: shifts across midnight, a manager in another time
//! zone, a DST change in Europe/Berlin, and the working-hours SLA deadline across the end of a
//! day, a lunch break, a weekend and a holiday.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use leadgate::routing::{CompiledRules, Manager, working_deadline};

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// One manager with these hours (and optional extra manager keys) in a minimal file.
fn rules(tz: &str, hours: &str, extra: &str, top: &str) -> CompiledRules {
    let text = format!(
        "levels = [\"junior\"]\n{top}\n[[managers]]\nid = \"m\"\nname = \"M\"\nlevel = \"junior\"\ntimezone = \"{tz}\"\nhours = \"{hours}\"\n{extra}\n[[rules]]\nname = \"all\"\nlevel = \"junior\"\n"
    );
    CompiledRules::from_toml("h.toml", &text, Path::new(".")).unwrap_or_else(|e| panic!("{e}"))
}

fn m(r: &CompiledRules) -> &Manager {
    r.manager("m").unwrap_or_else(|| panic!("no manager m"))
}

#[test]
fn a_night_shift_belongs_to_the_day_it_starts() {
    // 2026-11-27 is a Friday.
    let r = rules("UTC", "mon-fri 22:00-06:00", "", "");
    let working = |at: &str| m(&r).is_working(utc(at), r.holidays());
    assert!(!working("2026-11-27T21:59:59Z"));
    assert!(working("2026-11-27T22:00:00Z"));
    assert!(
        working("2026-11-28T05:59:59Z"),
        "Friday's shift runs into Saturday"
    );
    assert!(!working("2026-11-28T06:00:00Z"));
    assert!(
        !working("2026-11-28T23:00:00Z"),
        "no shift starts on Saturday"
    );
    assert!(
        !working("2026-11-30T02:00:00Z"),
        "no shift started on Sunday"
    );
    assert!(
        working("2026-12-01T02:00:00Z"),
        "Monday's shift runs into Tuesday"
    );
}

#[test]
fn a_day_off_cancels_the_shift_that_starts_on_it_only() {
    let r = rules(
        "UTC",
        "mon-fri 22:00-06:00",
        "days_off = [\"2026-11-28\"]",
        "",
    );
    assert!(
        m(&r).is_working(utc("2026-11-28T02:00:00Z"), r.holidays()),
        "the shift started on Friday"
    );
    let r = rules(
        "UTC",
        "mon-fri 22:00-06:00",
        "days_off = [\"2026-11-27\"]",
        "",
    );
    assert!(!m(&r).is_working(utc("2026-11-28T02:00:00Z"), r.holidays()));
    assert!(!m(&r).is_working(utc("2026-11-27T23:00:00Z"), r.holidays()));
}

#[test]
fn hours_are_in_the_managers_own_time_zone() {
    // Yekaterinburg is UTC+5: 09:00 there is 04:00 UTC.
    let r = rules(
        "Asia/Yekaterinburg",
        "mon-fri 09:00-18:00",
        "",
        "timezone = \"Europe/Moscow\"",
    );
    assert!(!m(&r).is_working(utc("2026-11-23T03:59:00Z"), r.holidays()));
    assert!(m(&r).is_working(utc("2026-11-23T04:00:00Z"), r.holidays()));
    assert!(m(&r).is_working(utc("2026-11-23T12:59:00Z"), r.holidays()));
    assert!(!m(&r).is_working(utc("2026-11-23T13:00:00Z"), r.holidays()));
}

#[test]
fn a_dst_change_in_berlin_keeps_the_wall_clock_hours() {
    // Clocks go forward on Sunday 2026-03-29: 09:00 is 08:00 UTC before, 07:00 UTC after.
    let r = rules("Europe/Berlin", "mon-sun 09:00-18:00", "", "");
    let working = |at: &str| m(&r).is_working(utc(at), r.holidays());
    assert!(working("2026-03-28T08:00:00Z"));
    assert!(!working("2026-03-28T07:30:00Z"));
    assert!(working("2026-03-30T07:00:00Z"));
    assert!(!working("2026-03-30T06:59:00Z"));
    assert!(!working("2026-03-30T16:00:00Z"), "18:00 CEST is 16:00 UTC");
}

#[test]
fn a_night_shift_over_the_dst_change_is_an_hour_shorter() {
    // Saturday 22:00 CET (21:00 UTC) to Sunday 06:00 CEST (04:00 UTC): 7 hours, not 8.
    let r = rules("Europe/Berlin", "sat 22:00-06:00", "", "");
    let start = utc("2026-03-28T21:00:00Z");
    assert_eq!(
        working_deadline(m(&r), r.holidays(), start, Duration::from_secs(7 * 3600)),
        utc("2026-03-29T04:00:00Z")
    );
    // An eighth hour falls in the next Saturday's shift, 22:00 CEST = 20:00 UTC.
    assert_eq!(
        working_deadline(m(&r), r.holidays(), start, Duration::from_secs(8 * 3600)),
        utc("2026-04-04T21:00:00Z")
    );
}

#[test]
fn the_sla_deadline_carries_over_the_end_of_the_day() {
    let r = rules("Europe/Moscow", "mon-fri 09:00-13:00, 14:00-18:00", "", "");
    // Monday 17:55 Moscow (14:55 UTC), 30 minutes: 5 today, 25 from 09:00 Tuesday.
    let due = working_deadline(
        m(&r),
        r.holidays(),
        utc("2026-11-23T14:55:00Z"),
        Duration::from_secs(30 * 60),
    );
    assert_eq!(due, utc("2026-11-24T06:25:00Z"));
    assert_eq!(
        r.ack_due(
            "m",
            utc("2026-11-23T14:55:00Z"),
            Duration::from_secs(30 * 60)
        ),
        due
    );
}

#[test]
fn the_sla_deadline_skips_the_lunch_break() {
    let r = rules("Europe/Moscow", "mon-fri 09:00-13:00, 14:00-18:00", "", "");
    // 12:50 + 30 min of work = 14:20.
    let due = working_deadline(
        m(&r),
        r.holidays(),
        utc("2026-11-23T09:50:00Z"),
        Duration::from_secs(30 * 60),
    );
    assert_eq!(due, utc("2026-11-23T11:20:00Z"));
}

#[test]
fn the_sla_deadline_skips_the_weekend_and_holidays() {
    let r = rules("Europe/Moscow", "mon-fri 09:00-18:00", "", "");
    // Friday 17:50 Moscow: 10 minutes on Friday, 20 on Monday from 09:00.
    let due = working_deadline(
        m(&r),
        r.holidays(),
        utc("2026-11-27T14:50:00Z"),
        Duration::from_secs(30 * 60),
    );
    assert_eq!(due, utc("2026-11-30T06:20:00Z"));
    let r = rules(
        "Europe/Moscow",
        "mon-fri 09:00-18:00",
        "",
        "holidays = [\"2026-11-30\"]",
    );
    let due = working_deadline(
        m(&r),
        r.holidays(),
        utc("2026-11-27T14:50:00Z"),
        Duration::from_secs(30 * 60),
    );
    assert_eq!(due, utc("2026-12-01T06:20:00Z"), "Monday is a holiday");
}

#[test]
fn a_lead_assigned_off_hours_starts_its_clock_at_the_next_opening() {
    let r = rules("UTC", "mon-fri 09:00-18:00", "", "");
    // Saturday noon, 1 hour: due Monday 10:00.
    let due = working_deadline(
        m(&r),
        r.holidays(),
        utc("2026-11-28T12:00:00Z"),
        Duration::from_secs(3600),
    );
    assert_eq!(due, utc("2026-11-30T10:00:00Z"));
}

#[test]
fn without_working_hours_only_the_sla_is_plain_clock_time() {
    let r = rules(
        "UTC",
        "mon-fri 09:00-18:00",
        "",
        "[sla]\nworking_hours_only = false\n",
    );
    assert_eq!(
        r.ack_due("m", utc("2026-11-27T17:50:00Z"), Duration::from_secs(1800)),
        utc("2026-11-27T18:20:00Z")
    );
}
