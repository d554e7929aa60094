//! Working hours: the readable strings admins write (`"mon-fri 09:00-13:00, 14:00-18:00"`)
//! parsed into a week of periods, and a manager's schedule. Whether a manager works at a
//! given instant, and the SLA deadline that counts only working time, are `routing::eval`'s.
//!
//! A period whose end is not after its start (`"22:00-06:00"`) runs across midnight and belongs
//! to the day it starts on.

use chrono::{NaiveTime, Timelike, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::values::DateSet;

/// One working period of a day, in minutes since midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Period {
    /// 0..1440.
    pub(crate) start: u32,
    /// 1..=1440; not after `start` means the period ends the next day.
    pub(crate) end: u32,
}

impl Period {
    /// Whether the period runs across midnight into the next day.
    pub(crate) fn overnight(self) -> bool {
        self.end <= self.start
    }

    /// Whether a time of day (seconds since midnight) is in the part of this period that lies
    /// on its own day (`same_day`) or on the next day.
    pub(crate) fn covers(self, secs: u32, same_day: bool) -> bool {
        let (start, end) = (self.start * 60, self.end * 60);
        match (same_day, self.overnight()) {
            (true, false) => start <= secs && secs < end,
            (true, true) => secs >= start,
            (false, true) => secs < end,
            (false, false) => false,
        }
    }

    /// Parses `"09:00-18:00"`.
    pub(crate) fn parse(s: &str) -> Result<Period, String> {
        let (a, b) = s
            .split_once('-')
            .ok_or_else(|| format!("{s:?} is not a period: write it as \"09:00-18:00\""))?;
        let start = minutes(a.trim(), false)?;
        let end = minutes(b.trim(), true)?;
        if start == end % 1440 && end != 1440 {
            return Err(format!(
                "period {s:?} is empty: for round the clock write \"00:00-24:00\""
            ));
        }
        Ok(Period { start, end })
    }

    /// Whether a time of day is within the period (wrapping past midnight when it does).
    pub(crate) fn contains_time(self, t: NaiveTime) -> bool {
        let secs = t.num_seconds_from_midnight();
        self.covers(secs, true) || self.covers(secs, false)
    }
}

fn minutes(s: &str, end: bool) -> Result<u32, String> {
    let bad = || format!("{s:?} is not a time of day: write it as \"09:00\" (24-hour clock)");
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m >= 60 || m.to_string().len() > 2 || h > 24 || (h == 24 && (m != 0 || !end)) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// The weekly pattern: periods per weekday (Monday first).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct WeekHours {
    days: [Vec<Period>; 7],
}

const DAY_NAMES: [[&str; 4]; 7] = [
    ["mon", "monday", "пн", "понедельник"],
    ["tue", "tuesday", "вт", "вторник"],
    ["wed", "wednesday", "ср", "среда"],
    ["thu", "thursday", "чт", "четверг"],
    ["fri", "friday", "пт", "пятница"],
    ["sat", "saturday", "сб", "суббота"],
    ["sun", "sunday", "вс", "воскресенье"],
];

/// Parses `"mon-fri"`, `"sat,sun"`, `"daily"` into a set of weekdays (Monday = 0).
pub(crate) fn parse_days(s: &str) -> Result<[bool; 7], String> {
    let mut set = [false; 7];
    let lower = s.trim().to_lowercase();
    if matches!(lower.as_str(), "daily" | "everyday" | "ежедневно") {
        return Ok([true; 7]);
    }
    let day = |d: &str| {
        DAY_NAMES
            .iter()
            .position(|names| names.contains(&d.trim()))
            .ok_or_else(|| {
                format!("{d:?} is not a day: use mon, tue, wed, thu, fri, sat, sun (or пн..вс), a range such as mon-fri, or daily")
            })
    };
    for item in lower.split(',').filter(|i| !i.trim().is_empty()) {
        match item.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (day(a)?, day(b)?);
                let mut d = a;
                loop {
                    set[d] = true;
                    if d == b {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => set[day(item)?] = true,
        }
    }
    if !set.contains(&true) {
        return Err(format!("{s:?} names no day"));
    }
    Ok(set)
}

impl WeekHours {
    /// Parses one or more groups such as `"mon-fri 09:00-13:00, 14:00-18:00; sat 10:00-14:00"`.
    pub(crate) fn parse(s: &str) -> Result<WeekHours, String> {
        let mut week = WeekHours::default();
        for group in s.split(';').map(str::trim).filter(|g| !g.is_empty()) {
            let (days, periods) = group.split_once(char::is_whitespace).ok_or_else(|| {
                format!("{group:?} needs days and hours: write it as \"mon-fri 09:00-18:00\"")
            })?;
            let days = parse_days(days)?;
            for p in periods.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let period = Period::parse(p)?;
                for (d, on) in days.iter().enumerate() {
                    if *on {
                        week.days[d].push(period);
                    }
                }
            }
        }
        if week.days.iter().all(Vec::is_empty) {
            return Err(format!(
                "{s:?} has no working period: write e.g. \"mon-fri 09:00-18:00\""
            ));
        }
        for day in &mut week.days {
            day.sort_by_key(|p| p.start);
        }
        Ok(week)
    }

    /// The periods that start on a weekday, in order.
    pub(crate) fn day(&self, wd: Weekday) -> &[Period] {
        &self.days[wd.num_days_from_monday() as usize]
    }
}

/// Whether a manager can take a lead at a given instant, and if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    /// Within working hours.
    Working,
    /// Outside working hours.
    OffHours,
    /// Hours say working, but the day is one of the manager's days off or vacation.
    DayOff,
    /// Hours say working, but the day is in the shared holiday calendar.
    Holiday,
}

/// When a manager works: the weekly hours in their time zone, days off, and whether the shared
/// holiday calendar applies to them.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub(crate) tz: Tz,
    pub(crate) week: WeekHours,
    pub(crate) days_off: DateSet,
    pub(crate) works_holidays: bool,
}
