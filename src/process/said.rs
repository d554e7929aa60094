//! What processing did with each item, said in one log line per item once its batch is
//! committed (a batch rolled back said nothing), so an admin reading the log can follow a lead.

use crate::lead::Channel;

/// One item's outcome, as the log tells it.
#[derive(Debug)]
pub(crate) enum Said {
    /// A new lead assigned to a manager.
    Assigned {
        lead: String,
        source: String,
        channel: Channel,
        manager: String,
        rule: String,
        level: String,
    },
    /// A new lead nobody at its level can take now.
    Held {
        lead: String,
        source: String,
        channel: Channel,
        rule: String,
        level: String,
    },
    /// A held lead assigned once someone could take it.
    Unheld { lead: String, manager: String },
    /// A follow-up or an edit joined an earlier lead.
    Joined {
        item: String,
        source: String,
        lead: String,
    },
    /// The item is kept, not delivered.
    NotLead {
        item: String,
        source: String,
        channel: Channel,
        reason: String,
    },
}

impl Said {
    /// Writes the line.
    pub(crate) fn log(&self) {
        match self {
            Said::Assigned {
                lead,
                source,
                channel,
                manager,
                rule,
                level,
            } => tracing::info!(
                lead,
                source,
                channel = channel.as_str(),
                manager,
                rule,
                level,
                "New lead assigned."
            ),
            Said::Held {
                lead,
                source,
                channel,
                rule,
                level,
            } => tracing::info!(
                lead,
                source,
                channel = channel.as_str(),
                rule,
                level,
                "New lead held: nobody at its level can take it now; it is assigned when someone's hours begin."
            ),
            Said::Unheld { lead, manager } => {
                tracing::info!(lead, manager, "Held lead assigned.")
            }
            Said::Joined { item, source, lead } => {
                tracing::info!(item, source, lead, "A follow-up joined its lead.")
            }
            Said::NotLead {
                item,
                source,
                channel,
                reason,
            } => tracing::info!(
                item,
                source,
                channel = channel.as_str(),
                reason,
                "Not a lead: kept for the admin, not delivered."
            ),
        }
    }
}
