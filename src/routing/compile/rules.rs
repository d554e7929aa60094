//! Reads a routing file with its spans and validates it into [`CompiledRules`], gathering
//! every problem (file, line, rule, what would be right) instead of stopping at the first.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chrono_tz::Tz;
use sha2::{Digest, Sha256};
use toml::de::{DeTable, DeValue};

use super::error::{LineIndex, ProblemKind, Problems, RulesError, closest, hint};
use super::read::{self, Node};
use super::when::{WhenCompiler, tag_id};
use crate::routing::model::condition::{Conditions, FieldRef, When};
use crate::routing::model::hours::{Schedule, WeekHours};
use crate::routing::model::label::Label;
use crate::routing::model::manager::{Manager, NotifyChannel};
use crate::routing::model::record::{EntryInfo, Explain};
use crate::routing::model::rules::{
    Action, CompiledRules, Fallback, Pool, Route, Rule, ScoringEntry, SlaPolicy,
};
use crate::routing::model::strategy::Strategy;
use crate::routing::model::suppress::SuppressList;
use crate::routing::model::values::{DateSet, parse_date_range, parse_duration};
use crate::routing::model::words::WordIndex;

const TOP_KEYS: &[&str] = &[
    "levels",
    "timezone",
    "holidays",
    "prefer_previous_manager",
    "fallback",
    "strategy",
    "sla",
    "managers",
    "scoring",
    "rules",
];
const MANAGER_KEYS: &[&str] = &[
    "id",
    "name",
    "level",
    "team",
    "telegram_chat_id",
    "email",
    "crm_user_id",
    "timezone",
    "hours",
    "days_off",
    "works_holidays",
    "max_open",
    "weight",
    "active",
    "notify",
];
const SCORING_KEYS: &[&str] = &["name", "when", "points", "tags"];
const RULE_KEYS: &[&str] = &[
    "name",
    "when",
    "level",
    "strategy",
    "team",
    "managers",
    "tags",
    "score",
    "ack_within",
    "drop",
    "prefer_previous_manager",
];
const SLA_KEYS: &[&str] = &[
    "ack_within",
    "max_reassign",
    "working_hours_only",
    "supervisors",
];

impl CompiledRules {
    /// Reads and validates a routing file; suppression lists it points to are read relative to
    /// the file's folder.
    pub fn load(path: &Path) -> Result<CompiledRules, RulesError> {
        let text = std::fs::read_to_string(path).map_err(|source| RulesError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let mut rules = CompiledRules::from_toml(&path.display().to_string(), &text, dir)?;
        rules.watched.insert(0, path.to_path_buf());
        Ok(rules)
    }

    /// Validates rules given as text; `file_label` names the file in problems, `base_dir` is
    /// where relative list paths point.
    pub fn from_toml(
        file_label: &str,
        text: &str,
        base_dir: &Path,
    ) -> Result<CompiledRules, RulesError> {
        compile(file_label, text, base_dir)
    }
}

/// Validates a routing file given as text.
fn compile(file: &str, text: &str, base_dir: &Path) -> Result<CompiledRules, RulesError> {
    let mut p = Problems::new(file, text);
    let (root, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        for e in syntax {
            let span = e.span().unwrap_or(0..0);
            p.add(
                span,
                ProblemKind::Syntax,
                "",
                format!("not valid TOML: {}", e.message()),
            );
        }
        return Err(p.into_error());
    }
    let root = root.into_inner();
    let mut c = Compiler {
        p,
        text,
        lines: LineIndex::new(text),
        base_dir,
        lists: HashMap::new(),
        named_lists: Vec::new(),
        manager_ids: HashSet::new(),
        labels: Vec::new(),
        fields: Vec::new(),
        words: WordIndex::default(),
        tags: Vec::new(),
        conditions: Conditions::default(),
    };
    let rules = c.rules(&root);
    match rules {
        Some(rules) if c.p.is_empty() => Ok(rules),
        _ => Err(c.p.into_error_naming(c.named_lists)),
    }
}

struct Compiler<'t, 'b> {
    p: Problems<'t>,
    text: &'t str,
    lines: LineIndex<'t>,
    base_dir: &'b Path,
    lists: HashMap<String, Arc<SuppressList>>,
    /// Every list the file names, loaded or not.
    named_lists: Vec<PathBuf>,
    manager_ids: HashSet<String>,
    /// Every test's text as written, by node id.
    labels: Vec<String>,
    /// Every distinct field the tests read, by id.
    fields: Vec<FieldRef>,
    /// Every word the text tests look for.
    words: WordIndex,
    /// Every tag the entries add or the tests look for, by id.
    tags: Vec<Label>,
    /// Every condition's tests.
    conditions: Conditions,
}

/// The rules' version: a digest of the file and of every list it loaded, by the path it is
/// named by, so that an edited list is a new version too (a lead records the rules it was
/// routed by, and the last good copy is checked by it). A file without lists keeps the
/// version of its text alone.
fn version(text: &str, lists: &HashMap<String, Arc<SuppressList>>) -> String {
    let mut hash = Sha256::new();
    hash.update(text.as_bytes());
    let mut labels: Vec<&String> = lists.keys().collect();
    labels.sort();
    for label in labels {
        for part in [label.as_str(), lists[label].digest.as_str()] {
            hash.update(b"\0");
            hash.update(part.as_bytes());
        }
    }
    hash.finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn parse_tz(s: &str) -> Result<Tz, String> {
    s.parse::<Tz>().map_err(|_| {
        let names = chrono_tz::TZ_VARIANTS.iter().map(|t| t.name());
        match closest(s, names) {
            Some(k) => format!("unknown time zone \"{s}\": did you mean \"{k}\"?"),
            None => {
                format!("unknown time zone \"{s}\": use an IANA name such as \"Europe/Moscow\"")
            }
        }
    })
}

impl<'t> Compiler<'t, '_> {
    fn line(&self, span: &Range<usize>) -> usize {
        self.lines.position(span.start).0
    }

    fn rules(&mut self, root: &DeTable<'_>) -> Option<CompiledRules> {
        read::unknown_keys(&mut self.p, root, TOP_KEYS, "");
        let levels = self.levels(root);
        let timezone = match root.get("timezone") {
            Some(v) => {
                read::string(&mut self.p, v, "", "timezone").and_then(|s| match parse_tz(&s) {
                    Ok(tz) => Some(tz),
                    Err(e) => {
                        self.p.add(v.span(), ProblemKind::BadTimezone, "", e);
                        None
                    }
                })
            }
            None => Some(Tz::UTC),
        };
        let holidays = match root.get("holidays") {
            Some(v) => self.dates(v, "", "holidays"),
            None => DateSet::default(),
        };
        let prefer_previous = root
            .get("prefer_previous_manager")
            .and_then(|v| read::boolean(&mut self.p, v, "", "prefer_previous_manager"))
            .unwrap_or(true);
        let fallback = match root.get("fallback") {
            Some(v) => match read::string(&mut self.p, v, "", "fallback").as_deref() {
                Some("escalate") | None => Fallback::Escalate,
                Some("hold") => Fallback::Hold,
                Some(other) => {
                    let h = hint(other, &["escalate", "hold"]);
                    self.p.add(
                        v.span(),
                        ProblemKind::BadValue,
                        "",
                        format!("unknown fallback \"{other}\": {h}"),
                    );
                    Fallback::Escalate
                }
            },
            None => Fallback::Escalate,
        };
        let strategy = match root.get("strategy") {
            Some(v) => self.strategy(v, ""),
            None => Strategy::RoundRobin,
        };
        let managers = match root.get("managers") {
            Some(v) => {
                let items = read::tables(&mut self.p, v, "managers");
                items
                    .into_iter()
                    .enumerate()
                    .filter_map(|(i, (t, span))| {
                        self.manager(t, span, i, &levels, timezone.unwrap_or(Tz::UTC))
                    })
                    .collect()
            }
            None => {
                self.p.add(
                    0..0,
                    ProblemKind::MissingKey,
                    "",
                    "no managers: add at least one [[managers]] entry".to_string(),
                );
                Vec::new()
            }
        };
        let mut by_id = HashMap::new();
        for (i, m) in managers.iter().enumerate() {
            by_id.insert(m.id.clone(), i);
        }
        let level_pools: Vec<Pool> = levels
            .iter()
            .map(|l| Pool {
                key: format!("level:{l}"),
                label: Label::from(format!("everyone at {l}")),
                members: managers
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| &m.level == l)
                    .map(|(i, _)| i)
                    .collect(),
            })
            .collect();
        let sla = self.sla(root, &levels, &by_id);
        let scoring = match root.get("scoring") {
            Some(v) => read::tables(&mut self.p, v, "scoring")
                .into_iter()
                .enumerate()
                .filter_map(|(i, (t, span))| self.scoring(t, span, i))
                .collect(),
            None => Vec::new(),
        };
        let env = RuleEnv {
            levels: &levels,
            managers: &managers,
            by_id: &by_id,
            level_pools: &level_pools,
            strategy,
        };
        let (rules, default) = self.all_rules(root, &env);
        let timezone = timezone?;
        let default = default?;
        let explain = self.explain(&scoring, &rules, &default);
        let mut watched = Vec::new();
        for list in self.lists.keys() {
            watched.push(self.base_dir.join(list));
        }
        Some(CompiledRules {
            version: version(self.text, &self.lists),
            levels,
            managers,
            by_id,
            timezone,
            holidays,
            prefer_previous,
            fallback,
            sla: sla?,
            scoring,
            rules,
            default,
            level_pools,
            explain,
            fields: std::mem::take(&mut self.fields),
            words: std::mem::take(&mut self.words),
            tags: std::mem::take(&mut self.tags),
            watched,
            texts: OnceLock::new(),
        })
    }

    /// The text traces refer to: every test as written, then each entry's name and line.
    fn explain(
        &mut self,
        scoring: &[ScoringEntry],
        rules: &[Rule],
        default: &Rule,
    ) -> Arc<Explain> {
        let info = |name: &Label, line: usize, points: i64, when: When| EntryInfo {
            name: name.clone(),
            line,
            points,
            when: when.condition,
        };
        let entries = scoring
            .iter()
            .map(|e| info(&e.name, e.line, e.points, e.when))
            .chain(
                rules
                    .iter()
                    .chain([default])
                    .map(|r| info(&r.name, r.line, 0, r.when)),
            )
            .collect();
        Arc::new(Explain {
            tests: std::mem::take(&mut self.labels),
            entries,
            conditions: std::mem::take(&mut self.conditions),
        })
    }

    fn levels(&mut self, root: &DeTable<'_>) -> Vec<String> {
        let Some(v) = root.get("levels") else {
            self.p.add(
                0..0,
                ProblemKind::MissingKey,
                "",
                "no levels: add e.g. levels = [\"junior\", \"middle\", \"senior\"] (lowest first)"
                    .to_string(),
            );
            return Vec::new();
        };
        let mut levels: Vec<String> = Vec::new();
        for l in read::strings(&mut self.p, v, "", "levels").unwrap_or_default() {
            if levels.contains(l.get_ref()) {
                self.p.add(
                    l.span(),
                    ProblemKind::Duplicate,
                    "",
                    format!("level \"{}\" is listed twice", l.get_ref()),
                );
            } else if l.get_ref().trim().is_empty() {
                self.p.add(
                    l.span(),
                    ProblemKind::BadValue,
                    "",
                    "a level needs a name".to_string(),
                );
            } else {
                levels.push(l.into_inner());
            }
        }
        if levels.is_empty() {
            self.p.add(v.span(), ProblemKind::BadValue, "", "levels is empty: list them lowest first, e.g. [\"junior\", \"middle\", \"senior\"]".to_string());
        }
        levels
    }

    fn level(&mut self, v: &Node<'_>, section: &str, levels: &[String]) -> Option<usize> {
        let name = read::string(&mut self.p, v, section, "level")?;
        let found = levels.iter().position(|l| *l == name);
        if found.is_none() {
            let known: Vec<&str> = levels.iter().map(String::as_str).collect();
            self.p.add(
                v.span(),
                ProblemKind::UnknownLevel,
                section,
                format!(
                    "level \"{name}\" is not in levels: {} (levels: {})",
                    hint(&name, &known),
                    known.join(", ")
                ),
            );
        }
        found
    }

    fn strategy(&mut self, v: &Node<'_>, section: &str) -> Strategy {
        let name = read::string(&mut self.p, v, section, "strategy").unwrap_or_default();
        Strategy::parse(&name).unwrap_or_else(|| {
            if !name.is_empty() {
                self.p.add(
                    v.span(),
                    ProblemKind::BadValue,
                    section,
                    format!(
                        "unknown strategy \"{name}\": {}",
                        hint(&name, &Strategy::NAMES)
                    ),
                );
            }
            Strategy::RoundRobin
        })
    }

    fn duration(&mut self, v: &Node<'_>, section: &str, key: &str) -> Option<Duration> {
        let s = read::string(&mut self.p, v, section, key)?;
        match parse_duration(&s) {
            Ok(d) => Some(d),
            Err(e) => {
                self.p.add(
                    v.span(),
                    ProblemKind::BadDuration,
                    section,
                    format!("\"{key}\": {e}"),
                );
                None
            }
        }
    }

    fn dates(&mut self, v: &Node<'_>, section: &str, key: &str) -> DateSet {
        let mut set = DateSet::default();
        let items = match v.get_ref() {
            DeValue::Array(_) => read::strings(&mut self.p, v, section, key).unwrap_or_default(),
            other => {
                self.p.add(
                    v.span(),
                    ProblemKind::BadValue,
                    section,
                    format!(
                        "\"{key}\" must be a list of dates, not {}",
                        other.type_str()
                    ),
                );
                Vec::new()
            }
        };
        for d in items {
            match parse_date_range(d.get_ref()) {
                Ok((a, b)) => set.push(a, b),
                Err(e) => self.p.add(
                    d.span(),
                    ProblemKind::BadDate,
                    section,
                    format!("\"{key}\": {e}"),
                ),
            }
        }
        set
    }

    fn manager(
        &mut self,
        t: &DeTable<'_>,
        span: Range<usize>,
        index: usize,
        levels: &[String],
        business: Tz,
    ) -> Option<Manager> {
        let (id, section) = self.manager_id(t, &span, index);
        let s = section.as_str();
        read::unknown_keys(&mut self.p, t, MANAGER_KEYS, s);
        let name = match t.get("name") {
            Some(v) => read::string(&mut self.p, v, s, "name"),
            None => self.missing(&span, s, "name", "\"Анна Петрова\""),
        };
        let level = match t.get("level") {
            Some(v) => self.level(v, s, levels),
            None => {
                let example = format!("\"{}\"", levels.first().map_or("junior", String::as_str));
                self.missing(&span, s, "level", &example)
            }
        };
        let tz = self.timezone(t, s, business);
        let (hours_text, week) = self.working_hours(t, &span, s);
        let days_off = match t.get("days_off") {
            Some(v) => self.dates(v, s, "days_off"),
            None => DateSet::default(),
        };
        let works_holidays = t
            .get("works_holidays")
            .and_then(|v| read::boolean(&mut self.p, v, s, "works_holidays"))
            .unwrap_or(false);
        let (telegram_chat_id, email) = self.manager_contacts(t, s);
        let crm_user_id = self.crm_user_ids(t, s);
        let max_open = t
            .get("max_open")
            .and_then(|v| read::integer_in(&mut self.p, v, s, "max_open", 1, i64::from(u32::MAX)))
            .map(|n| n as u32);
        let weight = t
            .get("weight")
            .and_then(|v| read::integer_in(&mut self.p, v, s, "weight", 1, 1000))
            .map_or(1, |n| n as u32);
        let active = t
            .get("active")
            .and_then(|v| read::boolean(&mut self.p, v, s, "active"))
            .unwrap_or(true);
        let team = t
            .get("team")
            .and_then(|v| read::string(&mut self.p, v, s, "team"));
        let notify = self.notify_channels(t, s, telegram_chat_id.is_some(), email.is_some());
        let id = id?;
        Some(Manager {
            key: Label::from(id.as_str()),
            id,
            name: name?,
            level: levels.get(level?)?.clone(),
            team,
            telegram_chat_id,
            email,
            crm_user_id,
            notify,
            max_open,
            weight,
            active,
            hours: hours_text?,
            schedule: Schedule {
                tz: tz?,
                week: week?,
                days_off,
                works_holidays,
            },
        })
    }

    /// Reports a key the table at `span` (`section`) lacks, with an example; `None`.
    fn missing<T>(
        &mut self,
        span: &Range<usize>,
        section: &str,
        key: &str,
        example: &str,
    ) -> Option<T> {
        self.p.add(
            span.clone(),
            ProblemKind::MissingKey,
            section,
            format!("missing \"{key}\": add e.g. {key} = {example}"),
        );
        None
    }

    /// A manager's id (one word, unique among the managers) and how problems name the
    /// manager: by id, or by place (`manager #3`) when it has none.
    fn manager_id(
        &mut self,
        t: &DeTable<'_>,
        span: &Range<usize>,
        index: usize,
    ) -> (Option<String>, String) {
        let value = t.get("id");
        let id = value.and_then(|v| read::string(&mut self.p, v, "", "id"));
        let section = match &id {
            Some(id) => format!("manager \"{id}\""),
            None => format!("manager #{}", index + 1),
        };
        let s = section.as_str();
        let Some(v) = value else {
            self.missing::<()>(span, s, "id", "\"anna\"");
            return (id, section);
        };
        if let Some(id) = &id
            && (id.is_empty() || id.chars().any(char::is_whitespace))
        {
            self.p.add(
                v.span(),
                ProblemKind::BadValue,
                s,
                format!(
                    "id \"{id}\" must be one word without spaces, e.g. \"anna\" or \"anna.petrova\""
                ),
            );
        }
        if let Some(id) = &id
            && !self.manager_ids.insert(id.clone())
        {
            self.p.add(
                v.span(),
                ProblemKind::Duplicate,
                s,
                format!("another manager already has id \"{id}\": ids must be unique"),
            );
        }
        (id, section)
    }

    /// A manager's time zone: its own `timezone`, else the business's.
    fn timezone(&mut self, t: &DeTable<'_>, s: &str, business: Tz) -> Option<Tz> {
        let Some(v) = t.get("timezone") else {
            return Some(business);
        };
        let name = read::string(&mut self.p, v, s, "timezone")?;
        match parse_tz(&name) {
            Ok(tz) => Some(tz),
            Err(e) => {
                self.p.add(v.span(), ProblemKind::BadTimezone, s, e);
                None
            }
        }
    }

    /// A manager's `hours` as written (a list joined with `; `) and as parsed.
    fn working_hours(
        &mut self,
        t: &DeTable<'_>,
        span: &Range<usize>,
        s: &str,
    ) -> (Option<String>, Option<WeekHours>) {
        let Some(v) = t.get("hours") else {
            let example = "\"mon-fri 09:00-13:00, 14:00-18:00\"";
            return (self.missing(span, s, "hours", example), None);
        };
        let text = match v.get_ref() {
            DeValue::Array(_) => read::strings(&mut self.p, v, s, "hours").map(|h| {
                h.iter()
                    .map(|x| x.get_ref().as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            }),
            _ => read::string(&mut self.p, v, s, "hours"),
        };
        let week = text.as_deref().and_then(|h| match WeekHours::parse(h) {
            Ok(w) => Some(w),
            Err(e) => {
                let message = format!("bad working hours: {e}");
                self.p.add(v.span(), ProblemKind::BadHours, s, message);
                None
            }
        });
        (text, week)
    }

    /// Where a manager is told: the Telegram chat and the e-mail address (which must have
    /// an `@`).
    fn manager_contacts(&mut self, t: &DeTable<'_>, s: &str) -> (Option<i64>, Option<String>) {
        let telegram_chat_id = t
            .get("telegram_chat_id")
            .and_then(|v| read::integer(&mut self.p, v, s, "telegram_chat_id"));
        let email = t
            .get("email")
            .and_then(|v| read::string(&mut self.p, v, s, "email"));
        if let (Some(e), Some(v)) = (&email, t.get("email"))
            && !e.contains('@')
        {
            self.p.add(
                v.span(),
                ProblemKind::BadValue,
                s,
                format!("\"{e}\" is not an e-mail address"),
            );
        }
        (telegram_chat_id, email)
    }

    /// A manager's user id in each CRM, by sink id (a number or a text).
    fn crm_user_ids(&mut self, t: &DeTable<'_>, s: &str) -> BTreeMap<String, String> {
        let mut ids = BTreeMap::new();
        if let Some(v) = t.get("crm_user_id")
            && let Some(table) = read::table(&mut self.p, v, s, "crm_user_id")
        {
            for (sink, value) in table.iter() {
                let id = match value.get_ref() {
                    DeValue::Integer(i) => Some(i.as_str().to_string()),
                    _ => read::string(&mut self.p, value, s, "crm_user_id"),
                };
                if let Some(id) = id {
                    ids.insert(sink.get_ref().to_string(), id);
                }
            }
        }
        ids
    }

    /// The channels a manager is told on: `notify` as written (each needs its contact),
    /// else every channel the manager has a contact for.
    fn notify_channels(
        &mut self,
        t: &DeTable<'_>,
        s: &str,
        has_telegram: bool,
        has_email: bool,
    ) -> Vec<NotifyChannel> {
        let Some(v) = t.get("notify") else {
            let telegram = has_telegram.then_some(NotifyChannel::Telegram);
            return telegram
                .into_iter()
                .chain(has_email.then_some(NotifyChannel::Email))
                .collect();
        };
        let mut out = Vec::new();
        for n in read::strings(&mut self.p, v, s, "notify").unwrap_or_default() {
            let (channel, ok) = match n.get_ref().as_str() {
                "telegram" => (Some(NotifyChannel::Telegram), has_telegram),
                "email" => (Some(NotifyChannel::Email), has_email),
                _ => (None, true),
            };
            match channel {
                None => self.p.add(
                    n.span(),
                    ProblemKind::BadValue,
                    s,
                    format!(
                        "unknown notify channel \"{}\": {}",
                        n.get_ref(),
                        hint(n.get_ref(), &["telegram", "email"])
                    ),
                ),
                Some(c) if !ok => {
                    let key = if c == NotifyChannel::Telegram {
                        "telegram_chat_id"
                    } else {
                        "email"
                    };
                    self.p.add(
                        n.span(),
                        ProblemKind::MissingKey,
                        s,
                        format!(
                            "notify includes \"{}\" but \"{key}\" is not set",
                            n.get_ref()
                        ),
                    );
                }
                Some(c) => out.push(c),
            }
        }
        out
    }

    fn sla(
        &mut self,
        root: &DeTable<'_>,
        levels: &[String],
        by_id: &HashMap<String, usize>,
    ) -> Option<SlaPolicy> {
        let mut sla = SlaPolicy {
            ack_within: Duration::from_secs(30 * 60),
            max_reassign: 2,
            working_hours_only: true,
            supervisors: BTreeMap::new(),
            configured: false,
        };
        let Some(v) = root.get("sla") else {
            return Some(sla);
        };
        sla.configured = true;
        let s = "[sla]";
        let t = read::table(&mut self.p, v, s, "sla")?;
        read::unknown_keys(&mut self.p, t, SLA_KEYS, s);
        if let Some(v) = t.get("ack_within") {
            sla.ack_within = self.duration(v, s, "ack_within")?;
        }
        if let Some(v) = t.get("max_reassign") {
            sla.max_reassign = read::integer_in(&mut self.p, v, s, "max_reassign", 0, 100)? as u32;
        }
        if let Some(v) = t.get("working_hours_only") {
            sla.working_hours_only = read::boolean(&mut self.p, v, s, "working_hours_only")?;
        }
        if let Some(v) = t.get("supervisors")
            && let Some(table) = read::table(&mut self.p, v, s, "supervisors")
        {
            for (level, who) in table.iter() {
                if !levels.contains(&level.get_ref().to_string()) {
                    let known: Vec<&str> = levels.iter().map(String::as_str).collect();
                    self.p.add(
                        level.span(),
                        ProblemKind::UnknownLevel,
                        s,
                        format!(
                            "supervisors: level \"{}\" is not in levels: {}",
                            level.get_ref(),
                            hint(level.get_ref(), &known)
                        ),
                    );
                }
                if let Some(id) = read::string(&mut self.p, who, s, "supervisors") {
                    self.manager_ref(&id, who.span(), s, by_id);
                    sla.supervisors.insert(level.get_ref().to_string(), id);
                }
            }
        }
        Some(sla)
    }

    fn manager_ref(
        &mut self,
        id: &str,
        span: Range<usize>,
        section: &str,
        by_id: &HashMap<String, usize>,
    ) -> Option<usize> {
        let found = by_id.get(id).copied();
        if found.is_none() {
            let known: Vec<&str> = by_id.keys().map(String::as_str).collect();
            let h = match closest(id, known.iter().copied()) {
                Some(k) => format!("did you mean \"{k}\"?"),
                None => "use the id of a [[managers]] entry".to_string(),
            };
            self.p.add(
                span,
                ProblemKind::UnknownManager,
                section,
                format!("no manager has id \"{id}\": {h}"),
            );
        }
        found
    }

    fn named(
        &mut self,
        t: &DeTable<'_>,
        span: &Range<usize>,
        kind: &str,
        index: usize,
    ) -> (String, Option<String>) {
        match t.get("name").map(|v| {
            (
                v,
                read::string(&mut self.p, v, &format!("{kind} #{}", index + 1), "name"),
            )
        }) {
            Some((_, Some(name))) => (format!("{kind} \"{name}\""), Some(name)),
            Some((_, None)) => (format!("{kind} #{}", index + 1), None),
            None => {
                let section = format!("{kind} #{}", index + 1);
                self.p.add(span.clone(), ProblemKind::MissingKey, &section, format!("missing \"name\": every {kind} needs one, shown in traces, e.g. name = \"Тендеры и опт\""));
                (section, None)
            }
        }
    }

    fn when_compiler(&mut self) -> WhenCompiler<'_, 't> {
        WhenCompiler {
            problems: &mut self.p,
            src: self.text,
            base_dir: self.base_dir,
            lists: &mut self.lists,
            named_lists: &mut self.named_lists,
            labels: &mut self.labels,
            fields: &mut self.fields,
            words: &mut self.words,
            tags: &mut self.tags,
            conditions: &mut self.conditions,
        }
    }

    fn scoring(
        &mut self,
        t: &DeTable<'_>,
        span: Range<usize>,
        index: usize,
    ) -> Option<ScoringEntry> {
        let (section, name) = self.named(t, &span, "scoring", index);
        read::unknown_keys(&mut self.p, t, SCORING_KEYS, &section);
        let when = match t.get("when") {
            Some(v) => Some(self.when_compiler().compile(v, &section, true)),
            None => {
                self.p.add(
                    span.clone(),
                    ProblemKind::MissingKey,
                    &section,
                    "missing \"when\": a scoring entry adds points only when its condition holds"
                        .to_string(),
                );
                None
            }
        };
        let points = t
            .get("points")
            .and_then(|v| read::integer(&mut self.p, v, &section, "points"))
            .unwrap_or(0);
        let tags = t
            .get("tags")
            .and_then(|v| read::strings(&mut self.p, v, &section, "tags"))
            .unwrap_or_default();
        Some(ScoringEntry {
            name: Label::from(name?),
            line: self.line(&span),
            when: when?,
            points,
            tags: tags
                .iter()
                .map(|t| tag_id(&mut self.tags, t.get_ref()))
                .collect(),
        })
    }

    fn all_rules(&mut self, root: &DeTable<'_>, env: &RuleEnv<'_>) -> (Vec<Rule>, Option<Rule>) {
        let items = match root.get("rules") {
            Some(v) => read::tables(&mut self.p, v, "rules"),
            None => Vec::new(),
        };
        let mut rules = Vec::new();
        let mut names: HashSet<String> = HashSet::new();
        let mut default: Option<(String, usize)> = None;
        let mut default_rule = None;
        for (i, (t, span)) in items.iter().enumerate() {
            let (section, name) = self.named(t, span, "rule", i);
            if let Some(name) = &name
                && !names.insert(name.clone())
            {
                self.p.add(
                    span.clone(),
                    ProblemKind::Duplicate,
                    &section,
                    format!("another rule is also named \"{name}\": give each rule its own name"),
                );
            }
            if let Some((default_name, line)) = &default {
                self.p.add(
                    span.clone(),
                    ProblemKind::UnreachableRule,
                    &section,
                    format!("this rule can never match: rule \"{default_name}\" (line {line}) has no \"when\" and takes every lead before it; move that default rule to the end, or give it a condition"),
                );
            }
            let rule = self.rule(t, span.clone(), &section, name, env);
            if t.get("when").is_none() && default.is_none() {
                default = Some((
                    rule.as_ref()
                        .map_or_else(|| section.clone(), |r| r.name.to_string()),
                    self.line(span),
                ));
                if let Some(Rule {
                    action: Action::Drop(_),
                    ..
                }) = &rule
                {
                    self.p.add(span.clone(), ProblemKind::BadValue, &section, "the default rule cannot drop: every lead no other rule drops must reach a manager; give it a level instead".to_string());
                }
            }
            if t.get("when").is_none() {
                default_rule = default_rule.or(rule);
            } else {
                rules.extend(rule);
            }
        }
        if default.is_none() {
            let span = items.last().map_or(0..0, |(_, s)| s.clone());
            let level = env.levels.first().map_or("junior", String::as_str);
            self.p.add(
                span,
                ProblemKind::MissingDefault,
                "",
                format!("no default rule: end the rules with one that has no \"when\", so every lead has somewhere to go, e.g. [[rules]] name = \"Все остальные\" level = \"{level}\""),
            );
        }
        (rules, default_rule)
    }

    fn rule(
        &mut self,
        t: &DeTable<'_>,
        span: Range<usize>,
        section: &str,
        name: Option<String>,
        env: &RuleEnv<'_>,
    ) -> Option<Rule> {
        read::unknown_keys(&mut self.p, t, RULE_KEYS, section);
        let when = t
            .get("when")
            .map(|v| self.when_compiler().compile(v, section, false))
            .unwrap_or_default();
        let line = self.line(&span);
        if let Some(v) = t.get("drop") {
            let reason = read::string(&mut self.p, v, section, "drop")?;
            if reason.trim().is_empty() {
                self.p.add(
                    v.span(),
                    ProblemKind::BadValue,
                    section,
                    "\"drop\" needs a reason the admin will see, e.g. drop = \"спам\"".to_string(),
                );
            }
            for key in [
                "level",
                "strategy",
                "team",
                "managers",
                "tags",
                "score",
                "ack_within",
                "prefer_previous_manager",
            ] {
                if let Some((k, _)) = t.get_key_value(key) {
                    self.p.add(
                        k.span(),
                        ProblemKind::BadValue,
                        section,
                        format!("a rule that drops the lead sets nothing else: remove \"{key}\""),
                    );
                }
            }
            return Some(Rule {
                name: Label::from(name?),
                line,
                when,
                action: Action::Drop(reason),
            });
        }
        let level = match t.get("level") {
            Some(v) => self.level(v, section, env.levels),
            None => {
                self.p.add(
                    span.clone(),
                    ProblemKind::MissingKey,
                    section,
                    format!(
                        "missing \"level\": add level = one of {}, or drop = \"reason\"",
                        env.levels.join(", ")
                    ),
                );
                None
            }
        };
        let strategy = t
            .get("strategy")
            .map_or(env.strategy, |v| self.strategy(v, section));
        let tags = t
            .get("tags")
            .and_then(|v| read::strings(&mut self.p, v, section, "tags"))
            .unwrap_or_default();
        let score = t
            .get("score")
            .and_then(|v| read::integer(&mut self.p, v, section, "score"));
        let ack_within = match t.get("ack_within") {
            Some(v) => Some(self.duration(v, section, "ack_within")?),
            None => None,
        };
        let prefer_previous = t
            .get("prefer_previous_manager")
            .and_then(|v| read::boolean(&mut self.p, v, section, "prefer_previous_manager"))
            .unwrap_or(true);
        let level = level?;
        let pool = self.pool(t, section, level, env)?;
        Some(Rule {
            name: Label::from(name?),
            line,
            when,
            action: Action::Route(Route {
                level,
                strategy,
                pool,
                tags: tags
                    .iter()
                    .map(|t| tag_id(&mut self.tags, t.get_ref()))
                    .collect(),
                score,
                ack_within,
                prefer_previous,
            }),
        })
    }

    /// The managers a rule sends to: everyone at its level, a team at that level, or a list.
    fn pool(
        &mut self,
        t: &DeTable<'_>,
        section: &str,
        level: usize,
        env: &RuleEnv<'_>,
    ) -> Option<Pool> {
        let level_name = &env.levels[level];
        match (t.get("team"), t.get("managers")) {
            (Some(v), Some(_)) => {
                self.p.add(
                    v.span(),
                    ProblemKind::BadValue,
                    section,
                    "use either \"team\" or \"managers\", not both".to_string(),
                );
                None
            }
            (Some(v), None) => {
                let team = read::string(&mut self.p, v, section, "team")?;
                let members: Vec<usize> = env.level_pools[level]
                    .members
                    .iter()
                    .copied()
                    .filter(|&i| env.managers[i].team.as_deref() == Some(team.as_str()))
                    .collect();
                if members.is_empty() {
                    let mut teams: Vec<&str> = env.level_pools[level]
                        .members
                        .iter()
                        .filter_map(|&i| env.managers[i].team.as_deref())
                        .collect();
                    teams.sort_unstable();
                    teams.dedup();
                    let h = match closest(&team, teams.iter().copied()) {
                        Some(k) => format!("did you mean \"{k}\"?"),
                        None if teams.is_empty() => {
                            format!("no manager at {level_name} has a team")
                        }
                        None => format!("teams at {level_name}: {}", teams.join(", ")),
                    };
                    self.p.add(
                        v.span(),
                        ProblemKind::UnknownTeam,
                        section,
                        format!("no manager at level {level_name} is in team \"{team}\": {h}"),
                    );
                    return None;
                }
                Some(Pool {
                    key: format!("team:{team}:{level_name}"),
                    label: Label::from(format!("team {team} at {level_name}")),
                    members,
                })
            }
            (None, Some(v)) => {
                let ids = read::strings(&mut self.p, v, section, "managers")?;
                if ids.is_empty() {
                    self.p.add(v.span(), ProblemKind::BadValue, section, "\"managers\" is empty: list manager ids, or remove it to use everyone at the level".to_string());
                }
                let mut members = Vec::new();
                for id in &ids {
                    if let Some(i) = self.manager_ref(id.get_ref(), id.span(), section, env.by_id) {
                        members.push(i);
                    }
                }
                if members.len() != ids.len() {
                    return None;
                }
                let names: Vec<&str> = ids.iter().map(|i| i.get_ref().as_str()).collect();
                Some(Pool {
                    key: format!("managers:{}", names.join(",")),
                    label: Label::from(format!("managers {}", names.join(", "))),
                    members,
                })
            }
            (None, None) => Some(env.level_pools[level].clone()),
        }
    }
}

struct RuleEnv<'e> {
    levels: &'e [String],
    managers: &'e [Manager],
    by_id: &'e HashMap<String, usize>,
    level_pools: &'e [Pool],
    strategy: Strategy,
}
