//! The `[sources]` part of the config, for every channel alike: each channel's tables
//! (`[[sources.webform]]`, a blog's `[[sources.wordpress]]` and `[[sources.feed]]`) are named
//! by its kind in the registry, read and checked by the channel's own raw type
//! ([`RawSource`]), and kept in [`Sources`], where a channel finds its own sources by type.
//! Nothing outside a channel's folder names its tables.

use super::registry::CHANNELS;
use crate::connectors::Catalogue;
use crate::lead::Channel;
use crate::settings::{Problems, Scope, check_id};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::any::Any;
use std::collections::{BTreeMap, HashSet};
use std::fmt::Debug;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// `[sources]` as written: each table's entries by the table's key, read by the channel that
/// names the key.
pub type RawSources = BTreeMap<String, Vec<Value>>;

/// A checked source of one channel: what the daemon asks of every source alike.
pub trait Source: Debug + Send + Sync + 'static {
    /// Its channel.
    const CHANNEL: Channel;

    /// Its id (in URLs, in the store).
    fn id(&self) -> &str;

    /// How long a second message of the same conversation (or contact) joins its lead.
    fn conversation_window(&self) -> Duration;

    /// Says so at every start when the source takes posts nobody can prove (its
    /// `allow_unsigned = true`); by default it never does.
    fn warn_if_unsigned(&self) {}

    /// The bot token it reads with, which the managers' bot must not share; by default none.
    fn bot_token(&self) -> Option<&str> {
        None
    }

    /// What it answers the person who wrote, when it answers; by default nothing.
    fn reply_text(&self) -> Option<&str> {
        None
    }
}

/// What a channel's table may be checked against besides itself.
pub struct TableContext<'a> {
    /// The config file's directory (relative paths in a table are read against it).
    pub base: &'a Path,
    /// Every inbound connector (a web form names its own).
    pub connectors: &'a Catalogue,
}

/// One entry of a `[[sources.<key>]]` table as written, unknown keys refused.
pub trait RawSource: DeserializeOwned + 'static {
    /// The table's key under `[sources]`.
    const KEY: &'static str;
    /// What the entry becomes once checked.
    type Source: Source;
    /// What the entries of one table are checked against together, in order (a WhatsApp
    /// number two sources take); `()` where nothing is.
    type Seen: Default;

    /// Its id, checked against every other source's before the entry is.
    fn id(&self) -> &str;

    /// Checks the entry (its keys under `p`), with what the entries before it left in `seen`:
    /// the source, or `None` when it cannot run.
    fn validate(
        self,
        p: &mut Scope<'_>,
        context: &TableContext<'_>,
        seen: &mut Self::Seen,
    ) -> Option<Self::Source>;

    /// Checks the table's sources together (`p` is the table's scope); by default nothing.
    fn check_all(_sources: &[Self::Source], _p: &mut Scope<'_>) {}
}

/// A table a channel reads, as the registry lists it.
pub trait SourceTable: Sync {
    /// The table's key under `[sources]`.
    fn key(&self) -> &'static str;

    /// The channel its sources are of.
    fn channel(&self) -> Channel;

    /// Reads and checks the table's entries, their ids against `ids` (every source's).
    fn read(
        &self,
        entries: Vec<Value>,
        p: &mut Problems,
        ids: &mut HashSet<String>,
        context: &TableContext<'_>,
    ) -> Arc<dyn ConfiguredTable>;
}

/// The table of the raw entries `R`: what a channel's kind lists as one of its tables.
pub struct Table<R>(std::marker::PhantomData<fn() -> R>);

impl<R> Table<R> {
    /// The table of `R`'s entries.
    pub const fn new() -> Table<R> {
        Table(std::marker::PhantomData)
    }
}

impl<R> Default for Table<R> {
    fn default() -> Table<R> {
        Table::new()
    }
}

impl<R: RawSource> SourceTable for Table<R> {
    fn key(&self) -> &'static str {
        R::KEY
    }

    fn channel(&self) -> Channel {
        R::Source::CHANNEL
    }

    fn read(
        &self,
        entries: Vec<Value>,
        p: &mut Problems,
        ids: &mut HashSet<String>,
        context: &TableContext<'_>,
    ) -> Arc<dyn ConfiguredTable> {
        let mut seen = R::Seen::default();
        let mut sources = Vec::new();
        for (i, entry) in entries.into_iter().enumerate() {
            let key = format!("sources.{}[{i}]", R::KEY);
            let Some(raw) = entry_of::<R>(entry, &key, p) else {
                continue;
            };
            check_id(p, ids, &key, raw.id());
            sources.extend(raw.validate(&mut p.scope(key), context, &mut seen));
        }
        R::check_all(&sources, &mut p.scope(format!("sources.{}", R::KEY)));
        Arc::new(sources)
    }
}

/// One entry read as `R`; a key it does not know, or a value of the wrong type, is a problem
/// at its own key (`sources.vk[0].secert`).
fn entry_of<R: RawSource>(entry: Value, key: &str, p: &mut Problems) -> Option<R> {
    serde_path_to_error::deserialize::<_, R>(entry)
        .map_err(|e| {
            let inner = e.path().to_string();
            let message = e.inner().to_string();
            let hint = (message.contains("unknown field"))
                .then_some("check the spelling against the commented examples in config/");
            let at = if inner == "." {
                key.to_string()
            } else {
                format!("{key}.{inner}")
            };
            p.add(at, message, hint);
        })
        .ok()
}

/// Every table of `raw` read by the channel that names it, in the registry's order; a table
/// no channel names is a problem.
pub fn read_sources(
    mut raw: RawSources,
    p: &mut Problems,
    ids: &mut HashSet<String>,
    context: &TableContext<'_>,
) -> Sources {
    let mut tables = Vec::new();
    for table in CHANNELS.iter().flat_map(|kind| kind.tables()) {
        let entries = raw.remove(table.key()).unwrap_or_default();
        tables.push(table.read(entries, p, ids, context));
    }
    let known: Vec<&str> = (CHANNELS.iter().flat_map(|k| k.tables()))
        .map(|t| t.key())
        .collect();
    for key in raw.keys() {
        p.add(
            format!("sources.{key}"),
            "is not a kind of source leadgate reads",
            Some(&format!("one of: {}", known.join(", "))),
        );
    }
    Sources { tables }
}

/// The checked sources of one table.
pub trait ConfiguredTable: Debug + Send + Sync {
    /// The table's sources, for a channel to take back as its own type.
    fn as_any(&self) -> &dyn Any;

    /// Each source with its channel and conversation window.
    fn listed(&self) -> Vec<ConfiguredSource<'_>>;

    /// Each source's [`Source::warn_if_unsigned`].
    fn warn_unsigned(&self);

    /// Each source's [`Source::bot_token`].
    fn bot_tokens(&self) -> Vec<&str>;

    /// Each answering source's id and [`Source::reply_text`].
    fn reply_texts(&self) -> Vec<(String, String)>;
}

impl<S: Source> ConfiguredTable for Vec<S> {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn listed(&self) -> Vec<ConfiguredSource<'_>> {
        self.iter()
            .map(|s| ConfiguredSource {
                id: s.id(),
                channel: S::CHANNEL,
                conversation_window: s.conversation_window(),
            })
            .collect()
    }

    fn warn_unsigned(&self) {
        self.iter().for_each(Source::warn_if_unsigned);
    }

    fn bot_tokens(&self) -> Vec<&str> {
        self.iter().filter_map(Source::bot_token).collect()
    }

    fn reply_texts(&self) -> Vec<(String, String)> {
        (self.iter())
            .filter_map(|s| Some((s.id().to_string(), s.reply_text()?.to_string())))
            .collect()
    }
}

/// Every configured source, by table.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    tables: Vec<Arc<dyn ConfiguredTable>>,
}

impl Sources {
    /// The sources of type `S` (one channel's table), in the file's order.
    pub fn of<S: Source>(&self) -> &[S] {
        (self.tables.iter())
            .find_map(|t| t.as_any().downcast_ref::<Vec<S>>())
            .map_or(&[], Vec::as_slice)
    }

    /// The source of type `S` with the id `id`.
    pub fn find<S: Source>(&self, id: &str) -> Option<&S> {
        self.of::<S>().iter().find(|s| s.id() == id)
    }

    /// Every source with its channel and conversation window, table by table in the
    /// registry's order.
    pub fn iter(&self) -> impl Iterator<Item = ConfiguredSource<'_>> {
        self.tables.iter().flat_map(|t| t.listed())
    }

    /// Every table, for what asks each source alike.
    pub fn tables(&self) -> impl Iterator<Item = &dyn ConfiguredTable> {
        self.tables.iter().map(|t| &**t)
    }
}

/// One configured source, whatever its channel.
#[derive(Debug, Clone, Copy)]
pub struct ConfiguredSource<'a> {
    /// Its id.
    pub id: &'a str,
    /// Its channel.
    pub channel: Channel,
    /// How long a second message of the same conversation (or contact) joins its lead.
    pub conversation_window: Duration,
}
