//! Working time: whether a manager is working at an instant in their own time zone (or why
//! not), when they next start, how much of a stretch was working time, and the SLA deadline
//! that counts only working time.
//!
//! A period whose end is not after its start (`"22:00-06:00"`) runs across midnight and belongs
//! to the day it starts on: a day off on Saturday does not cut short Friday's night shift.
//! Wall-clock times are compared as the manager's clock shows them, so a DST change moves
//! nobody's hours.

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;

use crate::routing::model::hours::{Availability, Schedule};
use crate::routing::model::manager::Manager;
use crate::routing::model::rules::CompiledRules;
use crate::routing::model::values::DateSet;

/// One instant on the clocks of several time zones, each converted once: a decision asks
/// every candidate manager whether they work now, and most share a zone.
pub(crate) struct Clocks {
    now: DateTime<Utc>,
    seen: Vec<(Tz, NaiveDateTime)>,
}

impl Clocks {
    /// The clocks at `now`.
    pub(crate) fn new(now: DateTime<Utc>) -> Clocks {
        Clocks {
            now,
            seen: Vec::new(),
        }
    }

    /// What the clock of `tz` shows.
    pub(crate) fn local(&mut self, tz: Tz) -> NaiveDateTime {
        if let Some(&(_, local)) = self.seen.iter().find(|(z, _)| *z == tz) {
            return local;
        }
        let local = self.now.with_timezone(&tz).naive_local();
        self.seen.push((tz, local));
        local
    }
}

impl Schedule {
    fn off(&self, date: NaiveDate, holidays: &DateSet) -> Option<Availability> {
        if self.days_off.contains(date) {
            Some(Availability::DayOff)
        } else if !self.works_holidays && holidays.contains(date) {
            Some(Availability::Holiday)
        } else {
            None
        }
    }

    /// Whether the manager is working at `at`, or why not.
    pub fn availability(&self, at: DateTime<Utc>, holidays: &DateSet) -> Availability {
        self.availability_local(at.with_timezone(&self.tz).naive_local(), holidays)
    }

    /// [`Schedule::availability`] when the manager's clock shows `local`.
    pub(crate) fn availability_local(
        &self,
        local: NaiveDateTime,
        holidays: &DateSet,
    ) -> Availability {
        let (date, secs) = (local.date(), local.time().num_seconds_from_midnight());
        let mut found = Availability::OffHours;
        let days = [(date, true), (date.pred_opt().unwrap_or(date), false)];
        for (day, same_day) in days {
            if self
                .week
                .day(day.weekday())
                .iter()
                .any(|p| p.covers(secs, same_day))
            {
                match self.off(day, holidays) {
                    None => return Availability::Working,
                    Some(why) => found = why,
                }
            }
        }
        found
    }

    /// The working intervals (UTC) of the periods that start on local `date`, in order.
    fn intervals(
        &self,
        date: NaiveDate,
        holidays: &DateSet,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        if self.off(date, holidays).is_some() {
            return Vec::new();
        }
        let next = date.succ_opt().unwrap_or(date);
        self.week
            .day(date.weekday())
            .iter()
            .map(|p| {
                let start = self.resolve(at(date, p.start), true);
                let end_day = if p.overnight() || p.end == 1440 {
                    next
                } else {
                    date
                };
                let end = self.resolve(at(end_day, p.end % 1440), false);
                (start, end)
            })
            .collect()
    }

    /// A local wall-clock time as an instant: the first of a repeated hour for a start, the
    /// second for an end (matching how [`Schedule::availability`] reads the clock), and the end
    /// of a skipped hour for a time that does not exist.
    fn resolve(&self, local: NaiveDateTime, earliest: bool) -> DateTime<Utc> {
        let mut probe = local;
        for _ in 0..=(26 * 60) {
            match self.tz.from_local_datetime(&probe) {
                chrono::LocalResult::Single(t) => return t.with_timezone(&Utc),
                chrono::LocalResult::Ambiguous(a, b) => {
                    return if earliest { a } else { b }.with_timezone(&Utc);
                }
                chrono::LocalResult::None => probe += Duration::minutes(1),
            }
        }
        local.and_utc()
    }

    /// Working intervals from the local day before `from` on, for up to `days` days.
    fn intervals_from(
        &self,
        from: DateTime<Utc>,
        days: i64,
        holidays: &DateSet,
    ) -> impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)> {
        let first = from.with_timezone(&self.tz).date_naive() - Duration::days(1);
        (0..days)
            .map(move |i| first + Duration::days(i))
            .flat_map(move |d| self.intervals(d, holidays))
            .filter(move |&(_, end)| end > from)
    }

    /// The next instant at or after `after` at which the manager is working; `None` when they
    /// do not work in the coming year.
    pub fn next_opening(&self, after: DateTime<Utc>, holidays: &DateSet) -> Option<DateTime<Utc>> {
        if self.availability(after, holidays) == Availability::Working {
            return Some(after);
        }
        self.intervals_from(after, HORIZON_DAYS, holidays)
            .map(|(start, _)| start.max(after))
            .min()
    }

    /// How much of `from..to` falls in working hours (a lead assigned at 17:50 and taken at
    /// 09:10 the next working day, with hours to 18:00 from 09:00, was waiting 20 minutes).
    pub fn working_time(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        holidays: &DateSet,
    ) -> Duration {
        if to <= from {
            return Duration::zero();
        }
        // From the local day before `from` to the local day after `to`.
        let days = (to - from).num_days().clamp(0, HORIZON_DAYS) + 3;
        let mut spans: Vec<_> = (self.intervals_from(from, days, holidays))
            .map(|(s, e)| (s.max(from), e.min(to)))
            .filter(|(s, e)| e > s)
            .collect();
        spans.sort_by_key(|&(s, _)| s);
        // Periods that overlap ("mon-fri 09:00-18:00; mon 10:00-12:00") count once.
        let mut cursor = from;
        spans.into_iter().fold(Duration::zero(), |sum, (s, e)| {
            let s = s.max(cursor);
            if e <= s {
                return sum;
            }
            cursor = e;
            sum + (e - s)
        })
    }

    /// When `within` of working time will have passed since `start`.
    pub fn working_deadline(
        &self,
        start: DateTime<Utc>,
        within: std::time::Duration,
        holidays: &DateSet,
    ) -> DateTime<Utc> {
        let Ok(mut left) = Duration::from_std(within) else {
            return DateTime::<Utc>::MAX_UTC;
        };
        if left.is_zero() {
            return start;
        }
        let mut intervals: Vec<_> = self.intervals_from(start, HORIZON_DAYS, holidays).collect();
        intervals.sort_by_key(|&(s, _)| s);
        let mut cursor = start;
        for (s, e) in intervals {
            let s = s.max(cursor);
            if e <= s {
                continue;
            }
            let len = e - s;
            if left <= len {
                return s + left;
            }
            left -= len;
            cursor = e;
        }
        // Nobody works this schedule within a year: fall back to the plain clock.
        Duration::from_std(within)
            .ok()
            .and_then(|d| start.checked_add_signed(d))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }
}

/// How far ahead a schedule is searched (long vacations included).
const HORIZON_DAYS: i64 = 400;

fn at(date: NaiveDate, minutes: u32) -> NaiveDateTime {
    date.and_time(NaiveTime::MIN) + Duration::minutes(i64::from(minutes))
}

impl Manager {
    /// Whether the manager is within working hours at `at` (and not on a day off or a
    /// holiday): eligibility and the SLA clock both need it.
    pub fn is_working(&self, at: DateTime<Utc>, holidays: &DateSet) -> bool {
        self.availability(at, holidays) == Availability::Working
    }

    /// Like [`Manager::is_working`], with the reason when not.
    pub fn availability(&self, at: DateTime<Utc>, holidays: &DateSet) -> Availability {
        self.schedule.availability(at, holidays)
    }

    /// [`Manager::availability`] now, reading the clock of the manager's time zone from
    /// `clocks` (converted once per zone and decision).
    pub(crate) fn availability_now(&self, clocks: &mut Clocks, holidays: &DateSet) -> Availability {
        self.schedule
            .availability_local(clocks.local(self.schedule.tz), holidays)
    }

    /// The next instant at or after `after` when the manager works, so a held lead can be
    /// retried then; `None` if not within a year.
    pub fn next_opening(&self, after: DateTime<Utc>, holidays: &DateSet) -> Option<DateTime<Utc>> {
        self.schedule.next_opening(after, holidays)
    }
}

/// The SLA deadline counted in the manager's working time only: a lead assigned at 17:55 to
/// someone whose day ends at 18:00, with 30 minutes to react, is due 25 minutes after the next
/// working day starts.
pub fn working_deadline(
    manager: &Manager,
    holidays: &DateSet,
    start: DateTime<Utc>,
    within: std::time::Duration,
) -> DateTime<Utc> {
    manager.schedule.working_deadline(start, within, holidays)
}

impl CompiledRules {
    /// When an acknowledgement is due: `within` after `assigned_at`, counted in the manager's
    /// working hours when the SLA says so.
    pub fn ack_due(
        &self,
        manager: &str,
        assigned_at: DateTime<Utc>,
        within: std::time::Duration,
    ) -> DateTime<Utc> {
        match self.manager(manager) {
            Some(m) if self.sla.working_hours_only => {
                working_deadline(m, &self.holidays, assigned_at, within)
            }
            _ => chrono::Duration::from_std(within)
                .ok()
                .and_then(|d| assigned_at.checked_add_signed(d))
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        }
    }

    /// How much of `from..to` was the manager's working time (their hours, days off and the
    /// holidays); the plain clock for a manager the rules no longer have.
    pub fn working_time(
        &self,
        manager: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> chrono::Duration {
        match self.manager(manager) {
            Some(m) => m.schedule.working_time(from, to, &self.holidays),
            None => (to - from).max(chrono::Duration::zero()),
        }
    }

    /// The earliest instant at or after `after` when a manager of `level` starts working, so a
    /// lead held there can be retried then; `None` when nobody there works within a year.
    pub fn next_opening(&self, level: &str, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.managers
            .iter()
            .filter(|m| m.level == level && m.active)
            .filter_map(|m| m.next_opening(after, &self.holidays))
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::model::hours::WeekHours;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn schedule(hours: &str, tz: Tz) -> Schedule {
        Schedule {
            tz,
            week: WeekHours::parse(hours).unwrap(),
            days_off: DateSet::default(),
            works_holidays: false,
        }
    }

    #[test]
    fn hours_strings_parse_and_errors_say_what_is_right() {
        assert!(WeekHours::parse("mon-fri 09:00-13:00, 14:00-18:00; sat 10:00-14:00").is_ok());
        assert!(WeekHours::parse("пн-пт 09:00-18:00").is_ok());
        assert!(WeekHours::parse("fri-mon 22:00-06:00").is_ok());
        let e = WeekHours::parse("mon-fry 09:00-18:00").unwrap_err();
        assert!(e.contains("\"fry\" is not a day"), "{e}");
        let e = WeekHours::parse("mon-fri 9-18").unwrap_err();
        assert!(e.contains("is not a time of day"), "{e}");
        let e = WeekHours::parse("mon-fri 25:00-18:00").unwrap_err();
        assert!(e.contains("\"25:00\""), "{e}");
        let e = WeekHours::parse("09:00-18:00").unwrap_err();
        assert!(e.contains("needs days and hours"), "{e}");
    }

    #[test]
    fn clocks_show_each_zone_as_a_conversion_would() {
        let now = utc("2026-03-29T00:30:00Z");
        let mut clocks = Clocks::new(now);
        let zones = [Tz::Europe__Moscow, Tz::Europe__Berlin, Tz::Europe__Moscow];
        for tz in zones {
            assert_eq!(clocks.local(tz), now.with_timezone(&tz).naive_local());
        }
        let s = schedule("daily 02:00-03:00", Tz::Europe__Berlin);
        let h = DateSet::default();
        let local = clocks.local(Tz::Europe__Berlin);
        assert_eq!(s.availability_local(local, &h), s.availability(now, &h));
        assert_eq!(s.availability(now, &h), Availability::OffHours);
    }

    #[test]
    fn working_time_counts_only_the_hours_worked() {
        let s = schedule("mon-fri 09:00-18:00", chrono_tz::Europe::Moscow);
        let none = DateSet::default();
        // Thursday 17:50 to Friday 09:10 in Moscow (UTC+3): ten minutes each side.
        let (from, to) = (utc("2026-12-03T14:50:00Z"), utc("2026-12-04T06:10:00Z"));
        assert_eq!(s.working_time(from, to, &none), Duration::minutes(20));
        // Friday 17:00 to Monday 10:00: an hour on Friday, an hour on Monday.
        let (from, to) = (utc("2026-12-04T14:00:00Z"), utc("2026-12-07T07:00:00Z"));
        assert_eq!(s.working_time(from, to, &none), Duration::hours(2));
        assert_eq!(s.working_time(to, from, &none), Duration::zero());
    }

    #[test]
    fn overlapping_periods_are_working_time_once() {
        let s = schedule("mon-fri 09:00-18:00; mon 10:00-12:00", Tz::UTC);
        let none = DateSet::default();
        // Monday 2026-11-23, 08:00 to 13:00: four hours worked, not six.
        let (from, to) = (utc("2026-11-23T08:00:00Z"), utc("2026-11-23T13:00:00Z"));
        assert_eq!(s.working_time(from, to, &none), Duration::hours(4));
    }

    #[test]
    fn lunch_break_is_not_working_time() {
        let s = schedule("mon-fri 09:00-13:00, 14:00-18:00", Tz::UTC);
        let h = DateSet::default();
        // 2026-11-23 is a Monday.
        assert_eq!(
            s.availability(utc("2026-11-23T12:59:59Z"), &h),
            Availability::Working
        );
        assert_eq!(
            s.availability(utc("2026-11-23T13:30:00Z"), &h),
            Availability::OffHours
        );
        assert_eq!(
            s.availability(utc("2026-11-23T18:00:00Z"), &h),
            Availability::OffHours
        );
    }

    #[test]
    fn days_off_and_holidays_are_reported_as_such() {
        let mut s = schedule("mon-fri 09:00-18:00", Tz::UTC);
        s.days_off.push(
            NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
            NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
        );
        let mut h = DateSet::default();
        let tue = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        h.push(tue, tue);
        assert_eq!(
            s.availability(utc("2026-11-23T10:00:00Z"), &h),
            Availability::DayOff
        );
        assert_eq!(
            s.availability(utc("2026-11-24T10:00:00Z"), &h),
            Availability::Holiday
        );
        s.works_holidays = true;
        assert_eq!(
            s.availability(utc("2026-11-24T10:00:00Z"), &h),
            Availability::Working
        );
    }
}
