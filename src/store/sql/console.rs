//! The console's queries as both backends run them: the lead list's statements, assembled
//! from fixed fragments so each filter can use its index (only values are bound), and the
//! rows it reads back.

use super::{Placeholders, Read, Statement};
use crate::store::values::{parse_json, ts};
use crate::store::{
    CrmTotals, DayTotals, DeclineTotals, LeadNotice, LeadPage, LeadQuery, LeadRow, ManagerTotals,
    NotLeadRow, PageKey, Search, StoreResult,
};

/// A statement's text and the values to bind to it, in order.
#[derive(Debug, Clone)]
pub(crate) struct Query {
    /// The SQL.
    pub sql: String,
    /// Its values, in placeholder order.
    pub values: Vec<String>,
}

/// A WHERE clause and its values, built a condition at a time; each `?` of a condition
/// becomes the backend's next placeholder.
#[derive(Debug, Clone)]
pub(crate) struct Where {
    placeholders: Placeholders,
    sql: Vec<String>,
    values: Vec<String>,
}

impl Where {
    /// An empty clause for a backend that writes `placeholders`.
    pub(crate) fn new(placeholders: Placeholders) -> Where {
        Where {
            placeholders,
            sql: Vec::new(),
            values: Vec::new(),
        }
    }

    /// Adds `condition`, whose `?`s take `values` in order.
    pub(crate) fn add(&mut self, condition: &str, values: &[String]) {
        let sql = match self.placeholders {
            Placeholders::Question => condition.to_string(),
            Placeholders::Numbered => {
                let mut sql = String::with_capacity(condition.len() + 8);
                for (i, piece) in condition.split('?').enumerate() {
                    if i > 0 {
                        sql.push_str(&format!("${}", self.values.len() + i));
                    }
                    sql.push_str(piece);
                }
                sql
            }
        };
        self.sql.push(sql);
        self.values.extend_from_slice(values);
    }

    /// Adds `column = value` when there is a value.
    fn eq(&mut self, column: &str, value: Option<&String>) {
        if let Some(v) = value {
            self.add(&format!("{column} = ?"), std::slice::from_ref(v));
        }
    }

    /// `WHERE ...`, or nothing when no condition was added.
    fn clause(&self) -> String {
        if self.sql.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.sql.join(" AND "))
        }
    }

    /// `select` with this clause, then `tail` (order, limit), and the values to bind.
    pub(crate) fn query(self, select: &str, tail: &str) -> Query {
        Query {
            sql: format!("{select} {} {tail}", self.clause()),
            values: self.values,
        }
    }
}

/// What the lead list writes in each backend's own SQL.
#[derive(Debug)]
pub(crate) struct LeadListSql {
    /// The backend's placeholders.
    pub placeholders: Placeholders,
    /// A name range: the lead's name `>= ?` and `< ?`.
    pub name_range: &'static str,
}

/// The columns [`lead_row`] reads, the same in both backends: the record is read whole.
const LEAD_ROW_COLUMNS: &str =
    "id, received_at, channel, source, status, level, manager_id, contact_name AS name, record";

/// How many leads of one filter a page with several filters looks through at most.
const WINDOW: u32 = 5000;

/// The console's lead list as it is built: the range and paging conditions first, then the
/// filters and the search.
#[derive(Debug)]
pub(crate) struct LeadList<'q> {
    sql: &'static LeadListSql,
    q: &'q LeadQuery,
    /// The set filters, the most selective first: the first one drives the index.
    filters: Vec<(&'static str, &'q String)>,
    w: Where,
    /// Where the stretch looked through ended, when the list looked through a window.
    bound: Option<PageKey>,
}

impl<'q> LeadList<'q> {
    /// Starts the list `q` asks for, in `sql`'s dialect.
    pub(crate) fn new(sql: &'static LeadListSql, q: &'q LeadQuery) -> LeadList<'q> {
        let filters = [
            ("manager_id", q.manager.as_ref()),
            ("source", q.source.as_ref()),
            ("channel", q.channel.as_ref()),
            ("level", q.level.as_ref()),
            ("status", q.status.as_ref()),
        ]
        .into_iter()
        .filter_map(|(c, v)| v.map(|v| (c, v)))
        .collect();
        let mut w = Where::new(sql.placeholders);
        if let Some(t) = q.since {
            w.add("received_at >= ?", &[ts(t)]);
        }
        if let Some(t) = q.until {
            w.add("received_at < ?", &[ts(t)]);
        }
        if let Some(k) = &q.after {
            w.add(
                "(received_at, id) < (?, ?)",
                &[ts(k.received_at), k.id.clone()],
            );
        }
        LeadList {
            sql,
            q,
            filters,
            w,
            bound: None,
        }
    }

    /// With two filters or more and no search, the query for the key of the WINDOW-th lead of
    /// the first filter's index (read it with [`page_key`] and pass it to
    /// [`LeadList::window_ends`]), so a combination nothing matches costs no more than one
    /// that many do.
    pub(crate) fn window(&self) -> Option<Query> {
        if self.filters.len() < 2 || self.q.search.is_some() {
            return None;
        }
        let mut w = self.w.clone();
        w.eq(self.filters[0].0, Some(self.filters[0].1));
        Some(w.query(
            "SELECT received_at, id FROM leads",
            &format!(
                "ORDER BY received_at DESC, id DESC LIMIT 1 OFFSET {}",
                WINDOW - 1
            ),
        ))
    }

    /// The window ends at `key`: the page looks no further.
    pub(crate) fn window_ends(&mut self, key: PageKey) {
        self.w.add(
            "(received_at, id) >= (?, ?)",
            &[ts(key.received_at), key.id.clone()],
        );
        self.bound = Some(key);
    }

    /// The page's query (one row more than the page, to tell whether more follow).
    pub(crate) fn page(&mut self) -> Query {
        let mut w = self.w.clone();
        for (column, value) in &self.filters {
            w.eq(column, Some(value));
        }
        match &self.q.search {
            Some(Search::Phone(p)) => w.add(
                "id IN (SELECT lead_id FROM lead_contacts WHERE key = ?)",
                &[format!("phone:{p}")],
            ),
            Some(Search::Email(e)) => w.add(
                "id IN (SELECT lead_id FROM lead_contacts WHERE key = ?)",
                &[format!("email:{e}")],
            ),
            Some(Search::Name(n)) => {
                let start = name_prefix(n);
                let end = format!("{start}\u{10FFFF}");
                w.add(self.sql.name_range, &[start, end]);
            }
            None => {}
        }
        w.query(
            &format!("SELECT {LEAD_ROW_COLUMNS} FROM leads"),
            &format!(
                "ORDER BY received_at DESC, id DESC LIMIT {}",
                self.limit() + 1
            ),
        )
    }

    /// How many rows a page shows.
    fn limit(&self) -> u32 {
        self.q.limit.clamp(1, 1000)
    }

    /// The page from the rows [`LeadList::page`] found.
    pub(crate) fn finish<R: Read>(self, found: &[R]) -> StoreResult<LeadPage> {
        let limit = self.limit() as usize;
        let more = found.len() > limit;
        let rows = found
            .iter()
            .take(limit)
            .map(lead_row)
            .collect::<StoreResult<Vec<_>>>()?;
        let next = match rows.last() {
            Some(last) if more => Some(PageKey {
                received_at: last.received_at,
                id: last.id.clone(),
            }),
            // The stretch looked through ended before the page filled: go on after it.
            _ => self.bound,
        };
        Ok(LeadPage { rows, next })
    }
}

/// A page key read back (the window's end).
pub(crate) fn page_key(r: &impl Read) -> StoreResult<PageKey> {
    Ok(PageKey {
        received_at: r.time("leads.received_at", "received_at")?,
        id: r.text("id")?,
    })
}

/// What the list shows of a lead's record: its first phone and e-mail, and its text.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct Listed {
    contact: ListedContact,
    text: Option<String>,
}

/// The contact as the list shows it.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct ListedContact {
    phones: Vec<String>,
    emails: Vec<String>,
}

/// A lead of the list read back. The record is read whole (SQLite keeps it packed, so SQL
/// cannot look into it) and only what the list shows is taken from it.
fn lead_row(r: &impl Read) -> StoreResult<LeadRow> {
    let record = r.packed_text("leads.record", "record")?;
    let listed: Listed = parse_json("leads.record", &record)?;
    let mut contact = listed.contact;
    Ok(LeadRow {
        id: r.text("id")?,
        received_at: r.time("leads.received_at", "received_at")?,
        channel: r.text("channel")?,
        source: r.text("source")?,
        status: r.text("status")?,
        level: r.opt_text("level")?,
        manager_id: r.opt_text("manager_id")?,
        name: r.opt_text("name")?,
        phone: (!contact.phones.is_empty()).then(|| contact.phones.swap_remove(0)),
        email: (!contact.emails.is_empty()).then(|| contact.emails.swap_remove(0)),
        text: excerpt(listed.text.as_deref().unwrap_or_default(), 120),
    })
}

/// The kept-out items with `reason`, after `after`, newest first (one more than `limit`, to
/// tell whether more follow); `excerpt` is the backend's expression for the payload's start.
pub(crate) fn not_leads_query(
    placeholders: Placeholders,
    excerpt: &str,
    reason: Option<&str>,
    after: Option<&PageKey>,
    limit: u32,
) -> Query {
    let mut w = Where::new(placeholders);
    w.add("status = 'not_lead'", &[]);
    if let Some(r) = reason {
        w.add("reason = ?", &[r.to_string()]);
    }
    if let Some(k) = after {
        w.add(
            "(received_at, id) < (?, ?)",
            &[ts(k.received_at), k.id.clone()],
        );
    }
    w.query(
        &format!(
            "SELECT id, received_at, source, channel, reason, detail, {excerpt} AS excerpt
             FROM inbound"
        ),
        &format!("ORDER BY received_at DESC, id DESC LIMIT {}", limit + 1),
    )
}

/// A kept-out item read back, with the start of its payload as the backend read it.
pub(crate) fn not_lead_row(r: &impl Read, excerpt: String) -> StoreResult<NotLeadRow> {
    Ok(NotLeadRow {
        id: r.text("id")?,
        received_at: r.time("inbound.received_at", "received_at")?,
        source: r.text("source")?,
        channel: r.text("channel")?,
        reason: r.opt_text("reason")?,
        detail: r.opt_text("detail")?,
        excerpt,
    })
}

/// A manager's totals read back.
pub(crate) fn manager_totals(r: &impl Read) -> StoreResult<ManagerTotals> {
    let mut take_buckets = [0u64; 10];
    let mut work_buckets = [0u64; 10];
    for i in 0..10 {
        take_buckets[i] = r.count(&format!("t{i}"))?;
        work_buckets[i] = r.count(&format!("w{i}"))?;
    }
    Ok(ManagerTotals {
        manager_id: r.text("manager_id")?,
        level: r.text("level")?,
        assigned: r.count("assigned")?,
        taken: r.count("taken")?,
        declined: r.count("declined")?,
        expired: r.count("expired")?,
        take_buckets,
        work_buckets,
    })
}

/// A decline count read back.
pub(crate) fn decline_totals(r: &impl Read) -> StoreResult<DeclineTotals> {
    Ok(DeclineTotals {
        manager_id: r.text("manager_id")?,
        level: r.text("level")?,
        reason: r.text("reason")?,
        n: r.count("n")?,
    })
}

/// A source's CRM timings read back.
pub(crate) fn crm_totals(r: &impl Read) -> StoreResult<CrmTotals> {
    let mut buckets = [0u64; 12];
    for (i, b) in buckets.iter_mut().enumerate() {
        *b = r.count(&format!("c{i}"))?;
    }
    Ok(CrmTotals {
        source: r.text("source")?,
        channel: r.text("channel")?,
        buckets,
    })
}

/// A day's totals of a source read back.
pub(crate) fn day_totals(r: &impl Read) -> StoreResult<DayTotals> {
    Ok(DayTotals {
        day: r.text("day")?,
        source: r.text("source")?,
        channel: r.text("channel")?,
        leads: r.count("leads")?,
        kept_out: r.count("kept")?,
    })
}

/// A lead's notification as the console shows it, read back.
pub(crate) fn lead_notice(r: &impl Read) -> StoreResult<LeadNotice> {
    Ok(LeadNotice {
        created_at: r.time("notifications.created_at", "created_at")?,
        recipient: r.text("recipient")?,
        channel: r.text("channel")?,
        address: r.text("address")?,
        kind: r.text("kind")?,
        status: r.text("status")?,
        attempts: r.int("attempts")?.max(0) as u32,
        last_error: r.opt_text("last_error")?,
        sent_at: r.opt_time("notifications.sent_at", "sent_at")?,
    })
}

/// A lead's notifications, oldest first.
pub(crate) static LEAD_NOTIFICATIONS: Statement = Statement::new(
    "SELECT created_at, recipient, channel, address, kind, status, attempts, last_error,
            sent_at
     FROM notifications WHERE lead_id = ?1 ORDER BY id",
);

/// A lead's delivery bodies by outbox id.
pub(crate) static DELIVERY_BODIES: Statement =
    Statement::new("SELECT id, body FROM outbox WHERE lead_id = ?1");

/// Copies a lead's last event for a sink as a new one, due now, or when the last row the lead
/// has pending for the sink is due if that is later: it cannot go before that row, and rows
/// held back behind a lead's first are due no earlier than it (what the delivery's claim and
/// its next wake rely on; "due no earlier than" in the outbox of either backend). An event
/// whose body retention emptied is not copied (nothing is, when it is the newest).
pub(crate) static RESEND: Statement = Statement::new(
    "INSERT INTO outbox (lead_id, sink, event_id, event_type, body, request, created_at,
                         retry_since, next_attempt_at)
     SELECT lead_id, sink, ?3, event_type, body, request, ?4, ?4,
            (SELECT CASE WHEN MAX(e.next_attempt_at) > ?4 THEN MAX(e.next_attempt_at) ELSE ?4 END
             FROM outbox e WHERE e.lead_id = ?1 AND e.sink = ?2 AND e.status = 'pending')
     FROM (SELECT * FROM outbox WHERE lead_id = ?1 AND sink = ?2 ORDER BY id DESC LIMIT 1) o
     WHERE o.body <> ''",
);

/// An audit entry of the console's: lead, time, kind, detail.
pub(crate) static AUDIT: Statement =
    Statement::new("INSERT INTO audit (lead_id, at, kind, detail) VALUES (?1, ?2, ?3, ?4)");

/// The kept-out counts by reason since a time, most first.
pub(crate) static NOT_LEAD_REASONS: Statement = Statement::new(
    "SELECT COALESCE(reason, '') AS reason, COUNT(*) AS n FROM inbound
     WHERE status = 'not_lead' AND received_at >= ?1
     GROUP BY reason ORDER BY n DESC",
);

/// The first `n` characters of `s` (a lead's text in the console's list).
fn excerpt(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Names are stored as written and matched by prefix: a query typed all in lower case is
/// tried with each word capitalised, as the normaliser writes names.
fn name_prefix(typed: &str) -> String {
    if typed.chars().any(char::is_uppercase) {
        return typed.to_string();
    }
    typed
        .split(' ')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(first) => first.to_uppercase().chain(c).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_backend_numbers_the_conditions_values_its_own_way() {
        let mut q = Where::new(Placeholders::Question);
        let mut n = Where::new(Placeholders::Numbered);
        for w in [&mut q, &mut n] {
            w.add("a = ?", &["1".into()]);
            w.add("(b, c) < (?, ?)", &["2".into(), "3".into()]);
        }
        let q = q.query("SELECT x FROM t", "LIMIT 2");
        let n = n.query("SELECT x FROM t", "LIMIT 2");
        assert_eq!(
            q.sql,
            "SELECT x FROM t WHERE a = ? AND (b, c) < (?, ?) LIMIT 2"
        );
        assert_eq!(
            n.sql,
            "SELECT x FROM t WHERE a = $1 AND (b, c) < ($2, $3) LIMIT 2"
        );
        assert_eq!(q.values, ["1", "2", "3"]);
        assert_eq!(n.values, q.values);
    }

    #[test]
    fn a_lower_case_name_is_matched_as_the_normaliser_writes_it() {
        assert_eq!(name_prefix("вера пав"), "Вера Пав");
        assert_eq!(name_prefix("McD"), "McD");
    }
}
