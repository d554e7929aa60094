//! One catch-up pass over a selected mailbox: the backfill still owed, then every UID above the
//! watermark. The sizes come first (`RFC822.SIZE`), and `plan` makes the batches from them: a
//! batch is fetched with `BODY.PEEK[]` (a message over `max_message`: its header only) and
//! committed to intake with the watermark past it, in one transaction; only then is the
//! after-ingest action applied. A message the server answers without its content stops the
//! watermark before it (`gap`), and the pass ends there.

use super::ImapError;
use super::connect::ImapSession;
use super::cursor::{self, Cursor, Start, uid_set};
use super::folder_name::on_the_wire;
use super::gap::{Gap, stored_prefix};
use super::mailbox::Mailbox;
use super::plan::{Part, plan};
use crate::lead::Channel;
use crate::sources::email::config::AfterAction;
use crate::sources::email::{META_TOO_LARGE, META_UNREADABLE, mime};
use crate::store::{CursorWrite, Inserted, NewInbound, without_erased};
use async_imap::error::Error as ImapCommandError;
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::time::Duration;

/// UIDs whose sizes one `UID FETCH (RFC822.SIZE)` asks for.
const SIZES_PER_FETCH: usize = 1000;

/// What a catch-up pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// Messages stored for the first time.
    pub fresh: usize,
    /// The UID the pass stopped before: the server listed it but answered without its
    /// content. The watermark stays before it.
    pub missing: Option<u32>,
}

/// The longest one command (a search, a batch fetch, a store) may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs a command with [`COMMAND_TIMEOUT`].
pub async fn within<T, E: Into<ImapError>>(
    what: &'static str,
    command: impl Future<Output = Result<T, E>>,
) -> Result<T, ImapError> {
    match tokio::time::timeout(COMMAND_TIMEOUT, command).await {
        Ok(result) => result.map_err(Into::into),
        Err(_) => Err(ImapError::Timeout(what)),
    }
}

/// The server's abilities that change how a pass works.
#[derive(Debug, Clone, Copy)]
pub struct Abilities {
    /// `MOVE` (RFC 6851); otherwise COPY + `\Deleted` + EXPUNGE.
    pub moves: bool,
    /// `UIDPLUS`: `UID EXPUNGE` removes only our messages.
    pub uid_expunge: bool,
}

impl Mailbox {
    /// SELECTs the mailbox and reconciles the stored cursor with its UIDVALIDITY.
    pub(super) async fn open(&self, session: &mut ImapSession) -> Result<Cursor, ImapError> {
        let selected = within("SELECT", async {
            session
                .select(on_the_wire(&self.mailbox))
                .await
                .map_err(|e| ImapError::Mailbox(format!("{:?}: {e}", self.mailbox)))
        })
        .await?;
        let validity = selected
            .uid_validity
            .ok_or_else(|| ImapError::Mailbox(format!("{:?} has no UIDVALIDITY", self.mailbox)))?;
        let uid_next = match selected.uid_next {
            Some(n) => n,
            None => {
                let all = within("UID SEARCH", session.uid_search("ALL")).await?;
                all.into_iter().max().map_or(1, |m| m.saturating_add(1))
            }
        };
        let key = cursor::key(&self.source.id, &self.mailbox);
        let stored = self.deps.store.get_cursor(&key).await?;
        let stored = stored.as_deref().and_then(Cursor::decode);
        let now = self.deps.clock.now();
        let (cursor, start) = Cursor::resume(stored, validity, uid_next, now, self.source.backfill);
        match start {
            Start::Continue => {}
            Start::FirstSeen => {
                tracing::info!(source = %self.source.id, mailbox = %self.mailbox, since = %cursor.since, messages_below = uid_next, "First sight of the mailbox: taking the messages of the backfill window.");
            }
            Start::ValidityChanged { old } => {
                tracing::warn!(source = %self.source.id, mailbox = %self.mailbox, old, new = validity, since = %cursor.since, "UIDVALIDITY changed: rescanning from the backfill window before the last message taken; Message-IDs and digests keep it from delivering anything twice.");
            }
        }
        if start != Start::Continue {
            self.save(&cursor).await?;
        }
        Ok(cursor)
    }

    /// Takes every message not yet committed, up to the first one the server answers without
    /// its content.
    pub(super) async fn catch_up(
        &self,
        session: &mut ImapSession,
        cursor: &mut Cursor,
        abilities: Abilities,
    ) -> Result<Pass, ImapError> {
        let mut pass = Pass::default();
        if let Some(to) = cursor.backfill_to {
            if cursor.last_uid < to {
                let query = format!(
                    "UID {}:{to} SINCE {}",
                    cursor.last_uid.saturating_add(1),
                    cursor.since_imap()
                );
                let found = within("UID SEARCH", session.uid_search(&query)).await?;
                let uids = above(found, cursor.last_uid, to);
                pass = self.ingest(session, cursor, &uids, abilities).await?;
                if pass.missing.is_some() {
                    return Ok(pass);
                }
            }
            cursor.last_uid = cursor.last_uid.max(to);
            cursor.backfill_to = None;
            self.save(cursor).await?;
        }
        let query = format!("UID {}:*", cursor.last_uid.saturating_add(1));
        let found = within("UID SEARCH", session.uid_search(&query)).await?;
        let uids = above(found, cursor.last_uid, u32::MAX);
        let rest = self.ingest(session, cursor, &uids, abilities).await?;
        pass.fresh += rest.fresh;
        pass.missing = rest.missing;
        if pass.missing.is_none() {
            self.deps
                .health
                .success(&self.name, self.deps.clock.now(), Some(cursor.describe()));
        }
        Ok(pass)
    }

    /// Fetches, commits and acts on `uids` (ascending) in the batches their sizes call for,
    /// moving the watermark with each batch's commit; stops at a message that comes back
    /// without its content.
    async fn ingest(
        &self,
        session: &mut ImapSession,
        cursor: &mut Cursor,
        uids: &[u32],
        abilities: Abilities,
    ) -> Result<Pass, ImapError> {
        let mut pass = Pass::default();
        for chunk in uids.chunks(SIZES_PER_FETCH) {
            let sizes = self.sizes(session, chunk).await?;
            let sized: Vec<(u32, Option<u64>)> =
                chunk.iter().map(|u| (*u, sizes.get(u).copied())).collect();
            let batches = plan(
                &sized,
                self.source.batch_size as usize,
                self.source.max_message,
            );
            for batch in batches {
                let (fresh, missing) = self
                    .take_batch(session, cursor, &batch.uids, batch.part, abilities)
                    .await?;
                pass.fresh += fresh;
                if missing.is_some() {
                    pass.missing = missing;
                    return Ok(pass);
                }
            }
        }
        Ok(pass)
    }

    /// The sizes the server gives for `uids` (a UID it does not answer for is left out).
    async fn sizes(
        &self,
        session: &mut ImapSession,
        uids: &[u32],
    ) -> Result<HashMap<u32, u64>, ImapError> {
        let set = uid_set(uids);
        let fetched: Vec<_> = within("UID FETCH", async {
            session
                .uid_fetch(&set, "(UID RFC822.SIZE)")
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?;
        Ok(fetched
            .iter()
            .filter_map(|f| Some((f.uid?, u64::from(f.size?))))
            .collect())
    }

    /// Fetches one batch, commits what came back up to the first message without its
    /// content with the watermark past it, and acts on what was committed; returns how many
    /// were new and the UID it stopped before.
    async fn take_batch(
        &self,
        session: &mut ImapSession,
        cursor: &mut Cursor,
        batch: &[u32],
        part: Part,
        abilities: Abilities,
    ) -> Result<(usize, Option<u32>), ImapError> {
        let set = uid_set(batch);
        let fetched: Vec<_> = within("UID FETCH", async {
            session
                .uid_fetch(&set, part.items())
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?;
        let content: HashMap<u32, (&[u8], Option<u32>)> = fetched
            .iter()
            .filter_map(|f| {
                let bytes = match part {
                    Part::Whole => f.body()?,
                    Part::Header => f.header()?,
                };
                Some((f.uid?, (bytes, f.size)))
            })
            .filter(|(uid, _)| batch.binary_search(uid).is_ok())
            .collect();
        let came: HashSet<u32> = content.keys().copied().collect();
        let (stored, missing) = stored_prefix(batch, &came);
        if let Some(uid) = missing {
            tracing::warn!(source = %self.source.id, mailbox = %self.mailbox, uid, "The server answered without a message's content; the watermark stays before it.");
        }
        let Some(&last) = stored.last() else {
            return Ok((0, missing));
        };
        let items: Vec<NewInbound> = stored
            .iter()
            .filter_map(|uid| {
                let (raw, size) = content.get(uid)?;
                let too_large = (part == Part::Header).then(|| TooLarge {
                    size: size.map(u64::from),
                    max_message: self.source.max_message,
                });
                Some(self.inbound(cursor.uidvalidity, *uid, raw, too_large))
            })
            .collect();
        // Mail of a person `leadgate forget` erased is still in the mailbox: a rescan (a new
        // UIDVALIDITY) or a second folder that holds it must not make it a lead again.
        let store = &*self.deps.store;
        let items = without_erased(store, &self.source.id, items, |i| &i.dedupe_key).await?;
        let items = self.without_earlier_keys(items).await?;
        let next = cursor.taken_to(last, self.deps.clock.now(), self.source.backfill);
        let watermark = CursorWrite {
            key: cursor::key(&self.source.id, &self.mailbox),
            value: next.encode(),
            at: self.deps.clock.now(),
        };
        let results = self
            .deps
            .intake
            .submit_batch(items, Some(watermark))
            .await?;
        *cursor = next;
        let new_here = results
            .iter()
            .filter(|r| matches!(r, Inserted::New(_)))
            .count();
        let counted = |result| {
            let labels = [("source", self.source.id.as_str()), ("result", result)];
            self.deps
                .metrics
                .counter("leadgate_email_messages_total", &labels)
        };
        counted("new").increment(new_here as u64);
        counted("duplicate").increment((stored.len() - new_here) as u64);
        if part == Part::Header {
            counted("too_large").increment(stored.len() as u64);
        }
        let mut state = cursor.describe();
        match self
            .after_ingest(session, &uid_set(stored), abilities)
            .await
        {
            Ok(()) => {}
            // The server refused the flag or the move (a folder that is not there): the
            // messages are stored, and the session is as good as before. Ending it would only
            // hold up the next messages behind a reconnect delay that grows at each one.
            Err(ImapError::Protocol(e @ (ImapCommandError::No(_) | ImapCommandError::Bad(_)))) => {
                tracing::warn!(source = %self.source.id, mailbox = %self.mailbox, error = %e, "The server refused to flag or move the messages just taken; they stay where they are.");
                state = format!("{state}; the last flag or move was refused: {e}");
            }
            Err(e) => return Err(e),
        }
        self.deps
            .health
            .success(&self.name, self.deps.clock.now(), Some(state));
        Ok((new_here, missing))
    }

    /// `items` without the letters kept while a letter's key was its Message-ID alone
    /// ([`mime::letter_id`]): one stored then, or erased then, is not taken again under the
    /// key it has now (a rescan after a new UIDVALIDITY reads the backfill again).
    async fn without_earlier_keys(
        &self,
        mut items: Vec<NewInbound>,
    ) -> Result<Vec<NewInbound>, crate::store::StoreError> {
        let earlier = |item: &NewInbound| {
            let id = mime::letter_id(&item.dedupe_key);
            (id != item.dedupe_key).then(|| id.to_string())
        };
        let ids: Vec<String> = items.iter().filter_map(earlier).collect();
        if ids.is_empty() {
            return Ok(items);
        }
        let store = &*self.deps.store;
        let source = &self.source.id;
        let mut known = store.stored_among(source, &ids).await?;
        known.extend(store.erased_among(source, &ids).await?);
        items.retain(|item| earlier(item).is_none_or(|id| !known.contains(&id)));
        Ok(items)
    }

    /// The inbound item of one fetched message: keyed by its Message-ID and a digest of the
    /// headers every copy of it keeps ([`mime::letter_key`]: the same message seen again,
    /// after a rescan or in another folder, is a no-op; another letter under a reused
    /// Message-ID is not), else by the digest of its bytes, which a renumbered mailbox (a new
    /// UIDVALIDITY) does not change.
    /// A message over `max_message` is its header only (`text/rfc822-headers`), with its size
    /// in `meta.too_large`, so processing keeps it as a not-lead.
    fn inbound(
        &self,
        uidvalidity: u32,
        uid: u32,
        raw: &[u8],
        too_large: Option<TooLarge>,
    ) -> NewInbound {
        let dedupe_key = mime::letter_key(raw)
            .unwrap_or_else(|| format!("sha256:{}", crate::digest::sha256_hex(raw)));
        let mut meta = serde_json::json!({
            "mailbox": self.mailbox,
            "uidvalidity": uidvalidity,
            "uid": uid,
        });
        let content_type = match too_large {
            Some(t) => {
                meta[META_TOO_LARGE] =
                    serde_json::json!({"size": t.size, "max_message": t.max_message});
                "text/rfc822-headers"
            }
            None => "message/rfc822",
        };
        NewInbound {
            id: self.deps.clock.new_id().to_string(),
            source: self.source.id.clone(),
            channel: Channel::Email,
            dedupe_key,
            received_at: self.deps.clock.now(),
            content_type: Some(content_type.to_string()),
            payload: raw.to_vec(),
            meta,
        }
    }

    /// Leaves, flags or moves a committed batch, as configured.
    async fn after_ingest(
        &self,
        session: &mut ImapSession,
        set: &str,
        abilities: Abilities,
    ) -> Result<(), ImapError> {
        match &self.source.after {
            AfterAction::Leave => {}
            AfterAction::MarkSeen => {
                within("UID STORE", async {
                    session
                        .uid_store(set, "+FLAGS.SILENT (\\Seen)")
                        .await?
                        .try_collect::<Vec<_>>()
                        .await
                })
                .await?;
            }
            AfterAction::MoveTo(folder) if abilities.moves => {
                within("UID MOVE", session.uid_mv(set, on_the_wire(folder))).await?;
            }
            AfterAction::MoveTo(folder) => {
                within("UID COPY", session.uid_copy(set, on_the_wire(folder))).await?;
                within("UID STORE", async {
                    session
                        .uid_store(set, "+FLAGS.SILENT (\\Deleted)")
                        .await?
                        .try_collect::<Vec<_>>()
                        .await
                })
                .await?;
                if abilities.uid_expunge {
                    within("UID EXPUNGE", async {
                        session
                            .uid_expunge(set)
                            .await?
                            .try_collect::<Vec<_>>()
                            .await
                    })
                    .await?;
                } else {
                    within("EXPUNGE", async {
                        session.expunge().await?.try_collect::<Vec<_>>().await
                    })
                    .await?;
                }
            }
        }
        Ok(())
    }

    /// Stores the cursor.
    /// Whether `gap` has been asked for over the source's `unreadable_after` by `now`.
    pub(super) fn long_enough(&self, gap: Gap, now: DateTime<Utc>) -> bool {
        (now - gap.since).to_std().unwrap_or_default() >= self.source.unreadable_after
    }

    /// Sets aside a message the server keeps listing but will not give: an item with no
    /// content and `meta.unreadable` (processing keeps it as a not-lead that names its UID),
    /// committed with the watermark past it, so the messages after it are taken. The message
    /// itself stays in the mailbox, not flagged or moved: it is the admin's to open there.
    pub(super) async fn set_aside_unreadable(
        &self,
        cursor: &mut Cursor,
        gap: Gap,
    ) -> Result<(), ImapError> {
        tracing::warn!(source = %self.source.id, mailbox = %self.mailbox, uid = gap.uid, times = gap.times, since = %gap.since, "The server has not given this message's content since it was first asked for; it is set aside as a not-lead and the mailbox goes on past it.");
        let mut item = self.inbound(cursor.uidvalidity, gap.uid, &[], None);
        item.dedupe_key = format!("unreadable:{}:{}", cursor.uidvalidity, gap.uid);
        item.content_type = None;
        item.meta[META_UNREADABLE] = serde_json::json!({
            "since": gap.since.to_rfc3339(),
            "tries": gap.times,
        });
        let next = cursor.taken_to(gap.uid, self.deps.clock.now(), self.source.backfill);
        let watermark = CursorWrite {
            key: cursor::key(&self.source.id, &self.mailbox),
            value: next.encode(),
            at: self.deps.clock.now(),
        };
        (self.deps.intake)
            .submit_batch(vec![item], Some(watermark))
            .await?;
        *cursor = next;
        Ok(())
    }

    async fn save(&self, cursor: &Cursor) -> Result<(), ImapError> {
        let key = cursor::key(&self.source.id, &self.mailbox);
        self.deps
            .store
            .set_cursor(&key, &cursor.encode(), self.deps.clock.now())
            .await?;
        Ok(())
    }
}

/// A message kept by its header only: its size as the server gave it, and the limit.
#[derive(Debug, Clone, Copy)]
struct TooLarge {
    size: Option<u64>,
    max_message: u64,
}

/// The found UIDs in `(after, up_to]`, ascending (`n:*` also answers the highest UID below n).
fn above(found: impl IntoIterator<Item = u32>, after: u32, up_to: u32) -> Vec<u32> {
    let mut uids: Vec<u32> = found
        .into_iter()
        .filter(|&u| u > after && u <= up_to)
        .collect();
    uids.sort_unstable();
    uids
}

#[cfg(test)]
mod tests {
    use super::above;

    #[test]
    fn only_uids_above_the_watermark_in_order() {
        assert_eq!(above([9, 3, 12, 10], 9, u32::MAX), [10, 12]);
        assert_eq!(above([9], 9, u32::MAX), Vec::<u32>::new());
        assert_eq!(above([1, 5, 7], 0, 5), [1, 5]);
    }
}
