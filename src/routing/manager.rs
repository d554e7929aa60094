//! A manager as the rules describe them: who they are, how to reach them, their level, when
//! they work and how much they can take.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::hours::{Availability, Clocks, Schedule};
use super::trace::Label;
use super::values::DateSet;

/// A way leadgate notifies a manager of a new lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifyChannel {
    /// A message from the bot to `telegram_chat_id`.
    Telegram,
    /// A mail to `email`.
    Email,
}

/// One `[[managers]]` entry, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Manager {
    /// The id rules, the store and the CRM mapping use.
    pub id: String,
    /// The display name.
    pub name: String,
    /// One of `levels`.
    pub level: String,
    /// Optional team, for rules that send a region or a product line to one team.
    pub team: Option<String>,
    /// The Telegram chat the bot writes to.
    pub telegram_chat_id: Option<i64>,
    /// The e-mail address notifications go to (and the CRM sees).
    pub email: Option<String>,
    /// The manager's user id in each CRM, keyed by sink id.
    pub crm_user_id: BTreeMap<String, String>,
    /// How the manager is told about a lead.
    pub notify: Vec<NotifyChannel>,
    /// At most this many open leads at once; `None` is no limit.
    pub max_open: Option<u32>,
    /// The share of leads under the `weighted` strategy.
    pub weight: u32,
    /// An inactive manager gets no leads (left, on sick leave, not yet started).
    pub active: bool,
    /// The working hours as written, for traces and the admin pages.
    pub hours: String,
    pub(crate) schedule: Schedule,
    /// The id again, shared by every trace that names the manager.
    pub(crate) key: Label,
}

impl Manager {
    /// The manager's own time zone.
    pub fn timezone(&self) -> Tz {
        self.schedule.tz
    }

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
