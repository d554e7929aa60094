//! A manager as the rules describe them: who they are, how to reach them, their level, when
//! they work and how much they can take. Whether they work at a given time is
//! `routing::eval`'s.

use std::collections::BTreeMap;

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::hours::Schedule;
use super::label::Label;

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
}
