//! The processing stage: committed inbound items become leads (or recorded non-leads) in
//! batches, one transaction per batch, with their assignments and outbox rows.
//!
//! Order inside a batch: leads held for lack of an eligible manager are offered first (oldest
//! first), so a newer lead never jumps the queue; then each new item is parsed, normalised,
//! joined to an earlier lead when it continues one (an edit, a reply, a conversation), or
//! identified, routed and written.

mod as_lead;
mod held;
mod isolation;
mod replies;
mod said;
mod window;

pub use as_lead::{META_AS_LEAD, parse_as_lead};
pub use window::ConversationWindows;

use crate::clock::Clock;
use crate::deliver::{SinkRoute, created_rows, outbox_rows, update_rows};
use crate::files::same_file;
use crate::health::Health;
use crate::lead::EventType;
use crate::lead::limits::bound_joined;
use crate::lead::{
    AssignedManager, Assignment, Channel, Contact, Lead, NormalisedDraft, NotLead, NotLeadReason,
    OwnContacts, Parsed, PhoneNormaliser, normalise,
};
use crate::notify::Notices;
use crate::routing::STRATEGY_STATE_KEY;
use crate::routing::{CompiledRules, Outcome, RoutingContext, RulesHandle, StrategyState};
use crate::sla::Reach;
use crate::sources::{SourceSettings, parse_item};
use crate::store::{
    EncodedLead, FinishedInbound, InboundRow, LeadStatus, LeadUpdate, NewAssignment, NewLead,
    Store, StoreResult, StoreTx, StoredLead,
};
use crate::telemetry::Metrics;
use chrono::{DateTime, Utc};
pub use held::LastOffer;
use held::Offer;
use isolation::{Isolation, Plan};
use said::Said;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Everything the processing stage needs.
#[derive(Clone)]
pub struct Processor {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The rules in force.
    pub rules: RulesHandle,
    /// Time and ids.
    pub clock: Arc<dyn Clock>,
    /// Phone parsing.
    pub phones: PhoneNormaliser,
    /// The business's own contacts.
    pub own_contacts: OwnContacts,
    /// Parser settings per source.
    pub sources: SourceSettings,
    /// The sinks and their events.
    pub sinks: Vec<SinkRoute>,
    /// Signals that wake each sink's worker and the notify worker.
    pub sink_wakers: Vec<Arc<Notify>>,
    /// Wakes the SLA stage after a commit that set an acknowledgement deadline (only then: it
    /// asks the store for the next deadline each time it wakes).
    pub sla_wake: Arc<Notify>,
    /// The answers to people who write, queued with their new lead.
    pub replies: crate::notify::Replies,
    /// The manager notifications a new, joined or assigned lead queues.
    pub notices: Notices,
    /// Who can acknowledge a lead, so only their assignments get a deadline.
    pub reach: Reach,
    /// How long after its last message a conversation stays open for follow-ups, per source.
    pub conversation_windows: ConversationWindows,
    /// Items per batch.
    pub batch_size: u32,
    /// How long items gather after a wake-up before the batch is taken ([`GATHER_AFTER_WAKE`]).
    pub gather: Duration,
    /// The longest real time it sleeps without a wake-up (held leads are offered again when
    /// the clock says, see [`Processor::run`]).
    pub max_idle: Duration,
    /// Signs the links to the files a lead lists (`fields.attachments[].url`).
    pub file_links: crate::files::FileLinks,
    /// Where items, leads and not-leads are counted.
    pub metrics: Metrics,
    /// What the last offer of held leads found, per level.
    pub last_offer: LastOffer,
}

/// What one batch did.
#[derive(Debug, Clone)]
pub struct Processed {
    /// The inbound items it took.
    pub taken: usize,
    /// The levels where leads are held after it, so the stage knows when to offer them again.
    pub held_levels: HashSet<String>,
}

/// Why a batch failed; it is rolled back and tried again.
pub type ProcessError = crate::store::StoreError;

/// A batch that failed: why, and the oldest item it took (the one to blame when it took one).
struct Failed {
    error: ProcessError,
    first: Option<String>,
}

/// How long to wait before retrying after the store failed.
const RETRY_AFTER_ERROR: Duration = Duration::from_secs(2);
/// How long the stage lets items gather, once woken from idle, before it takes its batch
/// (the daemon's default for [`Processor::gather`]). A busy web form's submissions are
/// committed a few at a time every millisecond or two; a batch costs about the same number
/// of statements and one commit whether it holds 8 items or 80, so gathering for a moment
/// takes the write turn away from intake far less often (docs/performance.md). A lone
/// lead reaches its CRM 5 ms later, which nobody can see.
pub const GATHER_AFTER_WAKE: Duration = Duration::from_millis(5);
/// How often held leads are offered again while items keep arriving: offering them re-decides
/// each one, and a busy evening with everyone off would otherwise redo that on every batch.
const HELD_OFFER_INTERVAL: chrono::Duration = chrono::Duration::seconds(5);

impl Processor {
    /// Runs until `shutdown`, woken by `wake` whenever intake commits something, and by the
    /// clock when held leads are next worth offering.
    pub async fn run(self, wake: Arc<Notify>, health: Health, shutdown: CancellationToken) {
        const NAME: &str = "stage:process";
        health.register(NAME, "stage");
        let clock = self.clock.as_ref();
        let mut last_offer: Option<DateTime<Utc>> = None;
        let mut isolation = Isolation::default();
        while !shutdown.is_cancelled() {
            let now = self.clock.now();
            let offer = last_offer.is_none_or(|t| now - t >= HELD_OFFER_INTERVAL);
            if offer {
                last_offer = Some(now);
            }
            let plan = isolation.plan(self.batch_size);
            // While an item is looked for, only items are taken: a fault in offering held
            // leads must not be blamed on the item that happened to be with them.
            let isolating = plan.isolating(self.batch_size);
            match self.run_once(&plan, offer && !isolating).await {
                Ok(mut done) => {
                    isolation.passed(done.taken);
                    if offer && isolating && done.taken == 0 {
                        // A suspect waits alone for an item to go through after it: the held
                        // leads are offered on a pass of their own, which takes no item to
                        // blame, rather than waiting for the next one to come.
                        match self.run_once(&Plan::default(), true).await {
                            Ok(offered) => done.held_levels = offered.held_levels,
                            Err(Failed { error, .. }) => {
                                tracing::error!(error = %error, "Offering the held leads failed; they are offered again at the next pass.");
                            }
                        }
                    }
                    health.success(NAME, self.clock.now(), None);
                    // Offering held leads may assign some: counted as work.
                    health.pass(NAME, done.taken > 0 || offer);
                    if done.taken as u32 >= plan.limit {
                        continue; // more is waiting
                    }
                    let due = self.next_offer(&done.held_levels, last_offer);
                    health
                        .idle(NAME, clock, due, self.max_idle, Some(&wake), &shutdown)
                        .await;
                    if !shutdown.is_cancelled() {
                        tokio::time::sleep(self.gather).await;
                    }
                }
                Err(Failed { error: e, first }) => {
                    isolation.failed(&plan, &e, first.as_deref());
                    tracing::error!(error = %e, "Processing failed; the batch is rolled back and retried.");
                    health.failure(NAME, self.clock.now(), e.to_string());
                    health.pass(NAME, true);
                    health
                        .idle(NAME, clock, None, RETRY_AFTER_ERROR, None, &shutdown)
                        .await;
                }
            }
        }
        health.stopped(NAME);
    }

    /// When the leads held at `held` levels are next worth offering: at the next opening of a
    /// level where nobody works now, and [`HELD_OFFER_INTERVAL`] after the last offer at one
    /// where somebody does (they may have room by then); `None` when nothing is held or nobody
    /// there works within a year.
    fn next_offer(
        &self,
        held: &HashSet<String>,
        last_offer: Option<DateTime<Utc>>,
    ) -> Option<DateTime<Utc>> {
        let rules = self.rules.current();
        let now = self.clock.now();
        let again = last_offer.unwrap_or(now) + HELD_OFFER_INTERVAL;
        (held.iter())
            .filter_map(|level| match rules.next_opening(level, now)? {
                opening if opening > now => Some(opening),
                _ => Some(again),
            })
            .min()
    }

    /// Processes one batch as `plan` says (how many items, one left pending or set aside):
    /// how many inbound items it took, and the levels that hold leads after it. With
    /// `offer_held`, leads held for lack of a manager are offered first; without, their
    /// levels stay closed to the batch's new leads all the same, so no newer lead jumps the
    /// queue.
    async fn run_once(&self, plan: &Plan, offer_held: bool) -> Result<Processed, Failed> {
        let skipped = u32::from(plan.skip.is_some());
        let mut rows = (self.store.pending_inbound(plan.limit + skipped).await)
            .map_err(|error| Failed { error, first: None })?;
        rows.retain(|row| Some(&row.id) != plan.skip.as_ref());
        rows.truncate(plan.limit as usize);
        let first = rows.first().map(|row| row.id.clone());
        self.process_rows(&rows, plan, offer_held)
            .await
            .map_err(|error| Failed { error, first })
    }

    async fn process_rows(
        &self,
        rows: &[InboundRow],
        plan: &Plan,
        offer_held: bool,
    ) -> Result<Processed, ProcessError> {
        // Parsing is pure: done before the transaction, so intake's commits wait less.
        let mut drafts = Vec::with_capacity(rows.len());
        for row in rows {
            if let Some((_, error)) = (plan.set_aside.as_ref()).filter(|(id, _)| *id == row.id) {
                drafts.push(Err(NotLead {
                    reason: NotLeadReason::Unprocessable,
                    detail: format!("the store refuses what it makes: {error}"),
                    external_id: None,
                }));
                continue;
            }
            let mut draft = self.read(row).await;
            if let Ok(d) = &mut draft
                && d.thread.conversation.is_none()
                && self.conversation_windows.by_contact(&row.source)
            {
                // A form, a mail or a comment has no conversation of its own: the same contact
                // writing again soon (a double click, a reload, a second mail) is one.
                d.thread.conversation = window::contact_conversation(&d.contact);
            }
            drafts.push(draft);
        }
        let rules = self.rules.current();
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        // The rotation first: on PostgreSQL its row stays locked to the commit, so the open
        // counts read next are what the last writer left (`max_open` across replicas).
        let state = match tx.get_cursor(STRATEGY_STATE_KEY).await? {
            Some(s) => serde_json::from_str(&s).unwrap_or_default(),
            None => StrategyState::default(),
        };
        let mut batch = Batch {
            open: tx.open_leads_per_manager().await?,
            state,
            held_levels: HashSet::new(),
            queued: false,
            deadline: false,
            said: Vec::with_capacity(rows.len()),
            decided: false,
        };
        let closed = match offer_held {
            true => None,
            false => self.last_offer.closed_among(tx.held_levels().await?),
        };
        match closed {
            Some(closed) => batch.held_levels.extend(closed),
            None => {
                self.offer_held(tx.as_mut(), &rules, &mut batch, now)
                    .await?
            }
        }
        // Every new lead asks for its contact's previous lead: one read for the batch.
        let keys: Vec<String> = drafts
            .iter()
            .flatten()
            .flat_map(|d| d.contact.identity_keys())
            .collect();
        tx.prefetch_identities(&keys).await?;
        // And every item with a conversation asks for its open lead: one read for the batch.
        let conversations: Vec<(String, String, DateTime<Utc>)> = rows
            .iter()
            .zip(&drafts)
            .filter_map(|(row, d)| {
                let key = d.as_ref().ok()?.thread.conversation.clone()?;
                Some((
                    row.source.clone(),
                    key,
                    self.conversation_since(&row.source, row.received_at)?,
                ))
            })
            .collect();
        tx.prefetch_conversations(&conversations).await?;
        for (row, draft) in rows.iter().zip(drafts) {
            self.process_item(tx.as_mut(), &rules, &mut batch, row, draft, now)
                .await?;
        }
        // Only a decision moves the rotation: a batch that decided nothing (an idle wake)
        // writes nothing, and its commit syncs nothing.
        if batch.decided {
            let state = serde_json::to_string(&batch.state).unwrap_or_default();
            tx.set_cursor(STRATEGY_STATE_KEY, &state, now).await?;
            tx.keep_rules_texts(rules.version(), rules.texts(), now)
                .await?;
        }
        tx.commit().await?;
        batch.said.iter().for_each(Said::log);
        if batch.queued {
            for w in &self.sink_wakers {
                w.notify_one();
            }
        }
        if batch.deadline {
            self.sla_wake.notify_one();
        }
        (self
            .metrics
            .counter("leadgate_inbound_processed_total", &[]))
        .increment(rows.len() as u64);
        if !rows.is_empty() {
            (self.metrics.histogram("leadgate_processing_batch_size")).record(rows.len() as f64);
        }
        self.last_offer.closed_since(&batch.held_levels);
        let mut held_levels = batch.held_levels;
        held_levels.extend(self.last_offer.open());
        Ok(Processed {
            taken: rows.len(),
            held_levels,
        })
    }

    /// Parses and normalises a stored item: the draft, or why it is not a lead.
    async fn read(&self, row: &InboundRow) -> Result<NormalisedDraft, NotLead> {
        let parsed = match as_lead::marked_as_lead(row) {
            true => parse_as_lead(row, &self.sources).await,
            false => parse_item(row, &self.sources).await,
        };
        match parsed {
            Parsed::NotLead(n) => Err(n),
            Parsed::Lead(draft) => {
                let mut draft = normalise(draft, &self.phones, &self.own_contacts);
                (self.file_links).annotate(&mut draft.fields, &row.id, self.clock.now());
                Ok(draft)
            }
        }
    }

    async fn process_item(
        &self,
        tx: &mut dyn StoreTx,
        rules: &CompiledRules,
        batch: &mut Batch,
        row: &InboundRow,
        draft: Result<NormalisedDraft, NotLead>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let draft = match draft {
            Err(n) => {
                (self.metrics)
                    .counter("leadgate_not_leads_total", &[("reason", n.reason.as_str())])
                    .increment(1);
                batch.said.push(Said::NotLead {
                    item: row.id.clone(),
                    source: row.source.clone(),
                    channel: row.channel,
                    reason: n.reason.as_str().to_string(),
                });
                return tx
                    .finish_inbound(&FinishedInbound::not_lead(
                        &row.id,
                        n.reason.as_str(),
                        n.detail,
                        now,
                    ))
                    .await;
            }
            Ok(draft) => draft,
        };
        if let Some(existing) = self.continued_lead(tx, rules, row, &draft).await? {
            return self.join(tx, rules, batch, row, existing, draft, now).await;
        }
        let conversation_key = draft.thread.conversation.clone();
        let refs: Vec<String> = draft.external_id.iter().cloned().collect();
        let mut lead = Lead::unrouted(
            row.id.clone(),
            row.received_at,
            row.channel,
            row.source.clone(),
            draft,
        );
        let identity_keys = lead.contact.identity_keys();
        let previous = tx.previous_lead(&identity_keys).await?;
        if let Some(prev) = &previous {
            lead.returning = true;
            lead.previous_lead_id = Some(prev.id.clone());
        }
        let previous_manager = previous.as_ref().and_then(|p| p.manager_id.clone());
        let ctx = RoutingContext {
            now,
            open_leads: &batch.open,
            previous_manager: previous_manager.as_deref(),
            state: &batch.state,
            exclude: &[],
        };
        let decision = match as_lead::marked_as_lead(row) {
            true => rules.decide_as_lead(&lead, &ctx),
            false => rules.decide(&lead, &ctx),
        };
        let trace = decision.trace.stored();
        batch.decided = true;
        lead.classification = Some(decision.classification.clone());
        let pick = match decision.outcome {
            Outcome::Drop { reason } => {
                (self
                    .metrics
                    .counter("leadgate_not_leads_total", &[("reason", "dropped")]))
                .increment(1);
                batch.said.push(Said::NotLead {
                    item: row.id.clone(),
                    source: row.source.clone(),
                    channel: row.channel,
                    reason: format!("dropped by rule {:?}", decision.classification.rule),
                });
                return tx
                    .finish_inbound(&FinishedInbound::not_lead(
                        &row.id,
                        NotLeadReason::Dropped.as_str(),
                        format!("rule {:?}: {reason}", decision.classification.rule),
                        now,
                    ))
                    .await;
            }
            Outcome::Hold { .. } => None,
            Outcome::Assign(pick) if batch.held_levels.contains(&pick.level) => None,
            Outcome::Assign(pick) => Some(pick),
        };
        // The rotation moves only for a lead that is assigned: a pick turned into a hold
        // (its level waits for older leads) is not anyone's turn.
        if pick.is_some() {
            batch.state = decision.state.clone();
        }
        let status = if pick.is_some() {
            LeadStatus::Assigned
        } else {
            LeadStatus::Held
        };
        if let Some(pick) = &pick {
            lead.assignment = Some(self.assignment(
                rules,
                &pick.manager,
                pick.strategy.as_str(),
                now,
                decision.ack_within,
                1,
            ));
            *batch.open.entry(pick.manager.clone()).or_default() += 1;
        } else {
            batch
                .held_levels
                .insert(decision.classification.level.clone());
        }
        // Encoded once: the stored record and the `lead.created` envelope's `data`.
        let new = NewLead {
            record: EncodedLead::new(lead)?,
            inbound_id: row.id.clone(),
            status,
            conversation_key,
            identity_keys,
            refs,
            trace,
            rules_version: rules.version().to_string(),
        };
        tx.insert_lead(&new).await?;
        let lead = new.record.record();
        let kind = if pick.is_some() { "assigned" } else { "held" };
        let class = &decision.classification;
        batch.said.push(match &lead.assignment {
            Some(a) => Said::Assigned {
                lead: lead.id.clone(),
                source: lead.source.clone(),
                channel: lead.channel,
                manager: a.manager.id.clone(),
                rule: class.rule.clone(),
                level: class.level.clone(),
            },
            None => Said::Held {
                lead: lead.id.clone(),
                source: lead.source.clone(),
                channel: lead.channel,
                rule: class.rule.clone(),
                level: class.level.clone(),
            },
        });
        tx.audit(
            &lead.id,
            now,
            "created",
            &json!({"rule": decision.classification.rule, "level": decision.classification.level}),
        )
        .await?;
        if let Some(a) = &lead.assignment {
            batch.deadline |= a.ack_due_at.is_some();
            self.write_assignment(tx, lead, a, &decision.classification.level, "expired")
                .await?;
            tx.audit(&lead.id, now, kind, &json!({"manager": a.manager.id, "strategy": a.strategy, "ack_due_at": a.ack_due_at})).await?;
        } else {
            tx.audit(&lead.id, now, kind, &json!({"level": decision.classification.level, "why": "nobody eligible at the level"})).await?;
        }
        let clock = self.clock.as_ref();
        let rows = created_rows(&self.sinks, rules, clock, &new.record, now);
        queue_rows(tx, batch, &rows).await?;
        let mut notices = self.notices.assigned(rules, lead, clock, now);
        notices.extend(self.replies.for_lead(lead, now));
        queue_notices(tx, batch, &notices).await?;
        let labels = [("channel", lead.channel.as_str()), ("status", kind)];
        (self.metrics.counter("leadgate_leads_total", &labels)).increment(1);
        tx.finish_inbound(&FinishedInbound::lead(&row.id, &lead.id, None, now))
            .await
    }

    /// The earlier lead this item continues: the lead it edits, replies to (or, for an
    /// e-mail, the lead another mailbox's copy of it made), or whose open conversation it
    /// belongs to.
    async fn continued_lead(
        &self,
        tx: &mut dyn StoreTx,
        rules: &CompiledRules,
        row: &InboundRow,
        draft: &NormalisedDraft,
    ) -> StoreResult<Option<StoredLead>> {
        let within = replies::refs_within(row.channel, &row.source);
        if draft.thread.edit
            && let Some(id) = &draft.external_id
        {
            // The lead the message made, or the one it joined (its id is that lead's ref),
            // however long ago: an edit never makes a second lead.
            if let Some(lead) = tx.lead_by_external_id(&row.source, id).await? {
                return Ok(Some(lead));
            }
            if let Some(lead) = tx.lead_by_refs(within, std::slice::from_ref(id)).await? {
                return Ok(Some(lead));
            }
        }
        // A lead the CRM closed takes no more messages: a reply to it months later is a new
        // request, routed as a returning contact's. So does a lead its manager took and who
        // has since left the rules: nobody who works here now would be told of the reply.
        let takes_replies = |lead: &StoredLead| match lead.status {
            LeadStatus::Closed => false,
            LeadStatus::Acknowledged => {
                (lead.manager_id.as_deref()).is_none_or(|manager| rules.manager(manager).is_some())
            }
            LeadStatus::Assigned | LeadStatus::Held => true,
        };
        if let Some(lead) = tx.lead_by_refs(within, &draft.thread.replies_to).await?
            && takes_replies(&lead)
            && replies::reply_joins(row.channel, &lead.record.contact, &draft.contact)
        {
            return Ok(Some(lead));
        }
        // A copy of a letter already read says nothing new: it joins unless the lead is closed.
        if let Some(id) = replies::own_id(row.channel, draft.external_id.as_ref())
            && let Some(lead) = tx.lead_by_refs(within, std::slice::from_ref(id)).await?
            && lead.status != LeadStatus::Closed
            && replies::same_person(&lead.record.contact, &draft.contact)
        {
            return Ok(Some(lead));
        }
        if let Some(key) = &draft.thread.conversation
            && let Some(since) = self.conversation_since(&row.source, row.received_at)
        {
            return tx.open_conversation(&row.source, key, since).await;
        }
        Ok(None)
    }

    /// Since when a conversation of `source` was open for an item that arrived `at`; `None`
    /// where items never join by conversation. Counted from the item's arrival, not from when
    /// it is processed: behind a backlog longer than the window, a double click still finds
    /// the lead its first click made.
    fn conversation_since(&self, source: &str, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let window = self.conversation_windows.of(source);
        if window.is_zero() {
            return None;
        }
        let window = chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
        Some(
            at.checked_sub_signed(window)
                .unwrap_or(DateTime::<Utc>::MIN_UTC),
        )
    }

    /// Adds a follow-up (or an edit) to an existing lead: the text and any new contact details
    /// join it, the CRM gets `lead.updated`, and nobody new is woken.
    #[allow(clippy::too_many_arguments)]
    async fn join(
        &self,
        tx: &mut dyn StoreTx,
        rules: &CompiledRules,
        batch: &mut Batch,
        row: &InboundRow,
        existing: StoredLead,
        mut draft: NormalisedDraft,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut lead = existing.record;
        let edit = draft.thread.edit;
        // An edit of a lead's only message replaces its text. A lead that holds more than
        // one message keeps them all: where the edited one stands in the text is not known,
        // so the new version joins as the person's latest words; so does an edit of a
        // message the lead does not hold (one never seen, or kept out) that joins through
        // the open conversation.
        let its_message = lead.external_id.is_some() && lead.external_id == draft.external_id;
        let replaces = edit && its_message && tx.lead_ref_count(&lead.id).await? <= 1;
        let words = match replaces {
            true => draft.text.as_str(),
            false => new_words(row.channel, &lead.text, &draft.text),
        };
        let had = Had::of(&lead.contact);
        drop_listed_files(&lead.fields, &mut draft.fields);
        let offered = offered_fields(&lead.fields, &draft.fields);
        if replaces {
            lead.text = draft.text.clone();
        } else if !words.is_empty() {
            lead.text = if lead.text.is_empty() {
                words.to_string()
            } else {
                format!("{}\n\n{words}", lead.text)
            };
        }
        let known = lead.contact.identity_keys();
        merge_contact(&mut lead, &draft);
        merge_fields(&mut lead.fields, draft.fields);
        bound_joined(&mut lead);
        let update = update_of(&had, &lead, offered, words, edit);
        let gained: Vec<String> = lead
            .contact
            .identity_keys()
            .into_iter()
            .filter(|k| !known.contains(k))
            .collect();
        if !gained.is_empty() {
            let manager = lead.assignment.as_ref().map(|a| a.manager.id.as_str());
            tx.add_identity_keys(&lead.id, manager, &gained, now)
                .await?;
        }
        // Encoded once: the stored record and the `lead.updated` envelope's `data`.
        let encoded = EncodedLead::new(lead)?;
        let lead = encoded.record();
        if let Some(id) = &draft.external_id {
            tx.add_refs(&lead.id, std::slice::from_ref(id)).await?;
        }
        let kind = if edit { "edited" } else { "follow_up" };
        batch.said.push(Said::Joined {
            item: row.id.clone(),
            source: row.source.clone(),
            lead: lead.id.clone(),
        });
        let mut detail = json!({"inbound_id": row.id});
        if let Some(mark) = row.meta.get(META_AS_LEAD) {
            // The admin's "this is a lead" is in the item's own trail: the lead's shows it too.
            detail["as_lead"] = mark.clone();
        }
        tx.audit(&lead.id, now, kind, &detail).await?;
        let clock = self.clock.as_ref();
        let rows = update_rows(&self.sinks, rules, clock, &encoded, &update, now);
        queue_rows(tx, batch, &rows).await?;
        if !edit && !words.is_empty() {
            let notices = self.notices.follow_up(rules, lead, words, &row.id, now);
            queue_notices(tx, batch, &notices).await?;
        }
        let lead_id = lead.id.clone();
        // Last, so the store keeps the record and its text without copying them.
        // The conversation's activity is when the person wrote (its window counts from
        // arrivals), not when the item was processed.
        tx.follow_up_lead(encoded, row.received_at).await?;
        tx.finish_inbound(&FinishedInbound::lead(&row.id, &lead_id, Some(kind), now))
            .await
    }

    /// Offers held leads to the managers who are eligible now, oldest first; a level whose
    /// oldest held lead still finds nobody stays closed to newer leads in this batch.
    async fn offer_held(
        &self,
        tx: &mut dyn StoreTx,
        rules: &CompiledRules,
        batch: &mut Batch,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut open_anyway = HashSet::new();
        for held in tx.held_leads(1000).await? {
            let mut lead = held.record;
            // An older lead at this level already found nobody: this one waits behind it.
            if held
                .level
                .as_ref()
                .is_some_and(|l| batch.held_levels.contains(l))
            {
                continue;
            }
            // The lead it follows, by id: asked by the contact's keys, the newest lead with
            // them is this held lead itself, which has no manager.
            let previous_manager = match &lead.previous_lead_id {
                Some(id) => tx.lead(id).await?.and_then(|p| p.manager_id),
                None => None,
            };
            // A lead that waits after a pass (a decline, a missed SLA) never goes back to a
            // manager who had it.
            let history = tx.assignment_history(&lead.id).await?;
            let had: Vec<String> = history.iter().map(|a| a.manager_id.clone()).collect();
            let attempt = history.iter().map(|a| a.attempt).max().unwrap_or(0) + 1;
            let ctx = RoutingContext {
                now,
                open_leads: &batch.open,
                previous_manager: previous_manager.as_deref(),
                state: &batch.state,
                exclude: &had,
            };
            // The lead is made: a rule that drops (one the admin let it through, or one a
            // rules edit added since) is passed over, as at the lead's first routing.
            let offer = match history.last() {
                None => Offer::routed(rules.decide_as_lead(&lead, &ctx)),
                Some(last) => Offer::passed(rules, &lead, held.level.as_deref(), last, &ctx),
            };
            let level = offer.level.clone();
            let pick = match offer.pick {
                Some(pick) if !batch.held_levels.contains(&pick.level) => pick,
                _ => {
                    // The level closes to newer leads only when nobody there can take one
                    // now: a lead that waits for someone who has not had it does not keep the
                    // ones who had it from their next lead.
                    if history.is_empty() || !Offer::anyone_at(rules, &lead, &level, &ctx) {
                        batch.held_levels.insert(level);
                    } else {
                        open_anyway.insert(level);
                    }
                    continue;
                }
            };
            batch.state = offer.state;
            if let Some(classification) = offer.classification {
                lead.classification = Some(classification);
            }
            let a = self.assignment(
                rules,
                &pick.manager,
                pick.strategy.as_str(),
                now,
                offer.ack_within,
                attempt,
            );
            lead.assignment = Some(a.clone());
            *batch.open.entry(pick.manager.clone()).or_default() += 1;
            batch.said.push(Said::Unheld {
                lead: lead.id.clone(),
                manager: pick.manager.clone(),
            });
            batch.decided = true;
            tx.update_lead(&LeadUpdate {
                record: lead.clone(),
                status: LeadStatus::Assigned,
                at: now,
                trace: offer.trace,
            })
            .await?;
            batch.deadline |= a.ack_due_at.is_some();
            self.write_assignment(tx, &lead, &a, &level, "expired")
                .await?;
            tx.audit(
                &lead.id,
                now,
                "assigned",
                &json!({"manager": a.manager.id, "strategy": a.strategy, "after": "held"}),
            )
            .await?;
            let clock = self.clock.as_ref();
            let event = EventType::Reassigned;
            let rows = outbox_rows(&self.sinks, rules, clock, event, &lead, now);
            queue_rows(tx, batch, &rows).await?;
            let notices = self
                .notices
                .assigned(rules, &lead, self.clock.as_ref(), now);
            queue_notices(tx, batch, &notices).await?;
        }
        open_anyway.retain(|l| !batch.held_levels.contains(l));
        self.last_offer.remember(&batch.held_levels, open_anyway);
        Ok(())
    }

    fn assignment(
        &self,
        rules: &CompiledRules,
        manager_id: &str,
        strategy: &str,
        now: DateTime<Utc>,
        ack_within: Duration,
        attempt: u32,
    ) -> Assignment {
        let manager = rules.manager(manager_id);
        // A manager who is never told and cannot acknowledge cannot be late.
        let ack_due_at = manager
            .filter(|m| self.reach.can_be_late(m))
            .map(|m| rules.ack_due(&m.id, now, ack_within));
        Assignment {
            manager: AssignedManager {
                id: manager_id.to_string(),
                name: manager
                    .map(|m| m.name.clone())
                    .unwrap_or_else(|| manager_id.to_string()),
                email: manager.and_then(|m| m.email.clone()),
                crm_user_id: None,
            },
            strategy: strategy.to_string(),
            assigned_at: now,
            ack_due_at,
            attempt,
        }
    }

    async fn write_assignment(
        &self,
        tx: &mut dyn StoreTx,
        lead: &Lead,
        a: &Assignment,
        level: &str,
        previous_state: &'static str,
    ) -> StoreResult<()> {
        self.metrics.manager_assigned(&a.manager.id);
        tx.insert_assignment(&NewAssignment {
            lead_id: lead.id.clone(),
            manager_id: a.manager.id.clone(),
            level: level.to_string(),
            strategy: a.strategy.clone(),
            attempt: a.attempt,
            assigned_at: a.assigned_at,
            ack_due_at: a.ack_due_at,
            previous_state,
        })
        .await
    }
}

/// What one batch has learned so far: open leads per manager (counting this batch's
/// assignments), the strategy state, the levels whose held leads found nobody.
struct Batch {
    open: HashMap<String, u32>,
    state: StrategyState,
    held_levels: HashSet<String>,
    /// Whether the workers (the sinks, notifications) must be woken after the commit.
    queued: bool,
    /// Whether an assignment got an acknowledgement deadline: the SLA stage is woken.
    deadline: bool,
    /// What to log once the batch is committed.
    said: Vec<Said>,
    /// Whether a trace was written, which points into the rules' texts.
    decided: bool,
}

/// Queues an event's outbox rows, and notes that the sinks must be woken after the commit.
async fn queue_rows(
    tx: &mut dyn StoreTx,
    batch: &mut Batch,
    rows: &[crate::store::NewOutbox],
) -> StoreResult<()> {
    batch.queued |= !rows.is_empty();
    tx.insert_outbox(rows).await
}

/// Queues notifications, and notes that the workers must be woken after the commit.
async fn queue_notices(
    tx: &mut dyn StoreTx,
    batch: &mut Batch,
    rows: &[crate::store::NewNotification],
) -> StoreResult<()> {
    batch.queued |= !rows.is_empty();
    tx.insert_notifications(rows).await
}

/// A follow-up's fields into its lead's: what the lead does not have yet is added, a value
/// given again differently replaces the earlier one, and the files it sends are listed after
/// the lead's own (`fields.attachments`), so each keeps its link.
fn merge_fields(
    fields: &mut serde_json::Map<String, serde_json::Value>,
    more: serde_json::Map<String, serde_json::Value>,
) {
    for (k, v) in more {
        match (fields.get_mut(&k), v) {
            (Some(serde_json::Value::Array(kept)), serde_json::Value::Array(files))
                if k == "attachments" =>
            {
                kept.extend(files);
            }
            // A value the person gave again differently (a form sent again with 20 for
            // 10): the latest is what they mean.
            (Some(kept), v) => *kept = v,
            (None, v) => {
                fields.insert(k, v);
            }
        }
    }
}

/// Takes out of a follow-up's `fields.attachments` the files its lead already lists
/// ([`same_file`]): the message of an edited caption carries its photo again, a form sent
/// twice its file.
fn drop_listed_files(
    listed: &serde_json::Map<String, serde_json::Value>,
    follow_up: &mut serde_json::Map<String, serde_json::Value>,
) {
    use serde_json::Value;
    let (Some(Value::Array(listed)), Some(Value::Array(files))) =
        (listed.get("attachments"), follow_up.get_mut("attachments"))
    else {
        return;
    };
    files.retain(|file| !listed.iter().any(|kept| same_file(file, kept)));
    if files.is_empty() {
        follow_up.remove("attachments");
    }
}

/// The words a follow-up adds to a lead whose text is `so_far`: none when it repeats the
/// conversation's last message (a double click, a reload, a message sent twice), which would
/// otherwise be written into the lead again, sent to the CRM as new and quoted to the manager,
/// and would make every later follow-up of the conversation carry it once more. A messenger's
/// message without words (`[голосовое сообщение]`, `[фото]`: what arrived, in brackets) is
/// new whatever it repeats: a second voice message is another recording to listen to.
fn new_words<'a>(channel: Channel, so_far: &str, said: &'a str) -> &'a str {
    let messenger = matches!(channel, Channel::Telegram | Channel::Vk | Channel::Whatsapp);
    if messenger && said.starts_with('[') && said.ends_with(']') {
        return said;
    }
    let repeats = so_far == said
        || (so_far.strip_suffix(said)).is_some_and(|before| before.ends_with("\n\n"));
    if repeats { "" } else { said }
}

/// The follow-up's fields the lead did not have, or had with another value (its files are new
/// even when the lead already lists some): what `update.fields` may say, once the record has
/// kept them.
fn offered_fields(
    had: &serde_json::Map<String, serde_json::Value>,
    draft: &serde_json::Map<String, serde_json::Value>,
) -> serde_json::Map<String, serde_json::Value> {
    draft
        .iter()
        .filter(|(k, v)| *k == "attachments" || had.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// How many phones and e-mails a lead's contact had before a follow-up joined it: the ones it
/// gains are appended after them ([`merge_contact`]), and the record's bounds cut from the
/// end, so what it gained is what stands past them.
struct Had {
    phones: usize,
    emails: usize,
}

impl Had {
    fn of(contact: &Contact) -> Had {
        Had {
            phones: contact.phones.len(),
            emails: contact.emails.len(),
        }
    }
}

/// What a follow-up added to its lead, for `lead.updated`'s `update`: its `words` (an edit's
/// whole new text), and the phones, e-mails and `offered` fields that `after` (the joined,
/// bounded record) holds past what it `had`. What the record's bounds left out is in neither
/// `data` nor `update` (the raw item keeps it).
fn update_of(
    had: &Had,
    after: &Lead,
    mut offered: serde_json::Map<String, serde_json::Value>,
    words: &str,
    edit: bool,
) -> serde_json::Value {
    let phones = past(&after.contact.phones, had.phones);
    let emails = past(&after.contact.emails, had.emails);
    offered.retain(|k, _| after.fields.contains_key(k));
    json!({
        "text": words,
        "edit": edit,
        "phones": phones,
        "emails": emails,
        "fields": offered,
    })
}

/// The entries of `list` after its first `had`.
fn past(list: &[String], had: usize) -> &[String] {
    list.get(had..).unwrap_or_default()
}

/// New phones and e-mails from a follow-up join the lead's contact (a shared contact after a
/// first message gives the phone).
fn merge_contact(lead: &mut Lead, draft: &NormalisedDraft) {
    let c = &mut lead.contact;
    for p in &draft.contact.phones {
        if !c.phones.contains(p) {
            c.phones.push(p.clone());
        }
    }
    for e in &draft.contact.emails {
        if !c.emails.contains(e) {
            c.emails.push(e.clone());
        }
    }
    if c.name.is_none() {
        c.name = draft.contact.name.clone();
    }
}
