//! What a transaction knows about identity keys: for each key read ahead
//! ([`crate::store::StoreTx::prefetch_identities`]), the newest lead with it, kept true as the
//! transaction writes leads (a new lead with the key becomes its newest) and changes their
//! managers. `previous_lead` for keys known here needs no statement.

use crate::store::PreviousLead;
use std::collections::HashMap;

/// The newest lead of a key: when its key was written (`lead_contacts.at`) and which lead.
#[derive(Debug, Clone)]
struct Newest {
    at: String,
    lead_id: String,
}

/// Identity keys read ahead, and the current manager of each lead they point to.
#[derive(Debug, Default)]
pub(super) struct Identities {
    /// Per key: its newest lead, or `None` when no lead has it.
    newest: HashMap<String, Option<Newest>>,
    /// The manager of each lead in `newest`, as the transaction has it now.
    managers: HashMap<String, Option<String>>,
}

impl Identities {
    /// Whether every key is known.
    pub(super) fn knows(&self, keys: &[String]) -> bool {
        keys.iter().all(|k| self.newest.contains_key(k))
    }

    /// The keys of `keys` not known yet, each once.
    pub(super) fn unknown(&self, keys: &[String]) -> Vec<String> {
        let mut out: Vec<String> = keys
            .iter()
            .filter(|k| !self.newest.contains_key(*k))
            .cloned()
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Records what the database answered for keys read ahead: `found` has the newest lead
    /// of each key that has one; the other keys of `asked` have none.
    pub(super) fn learn(
        &mut self,
        asked: &[String],
        found: Vec<(String, String, String, Option<String>)>,
    ) {
        for key in asked {
            self.newest.entry(key.clone()).or_insert(None);
        }
        for (key, at, lead_id, manager_id) in found {
            self.managers.insert(lead_id.clone(), manager_id);
            self.newest.insert(key, Some(Newest { at, lead_id }));
        }
    }

    /// A new lead written with these keys at `at`: it is now the newest of each known key
    /// (a lead written later wins a tie in time, as the newest row).
    pub(super) fn wrote(
        &mut self,
        lead_id: &str,
        at: &str,
        manager_id: Option<&str>,
        keys: &[String],
    ) {
        let mut used = false;
        for key in keys {
            if let Some(entry) = self.newest.get_mut(key)
                && entry.as_ref().is_none_or(|n| at >= n.at.as_str())
            {
                *entry = Some(Newest {
                    at: at.to_string(),
                    lead_id: lead_id.to_string(),
                });
                used = true;
            }
        }
        if used {
            self.managers
                .insert(lead_id.to_string(), manager_id.map(str::to_string));
        }
    }

    /// A lead's manager changed.
    pub(super) fn reassigned(&mut self, lead_id: &str, manager_id: Option<&str>) {
        if let Some(m) = self.managers.get_mut(lead_id) {
            *m = manager_id.map(str::to_string);
        }
    }

    /// The newest lead of any of `keys`, all of them known.
    pub(super) fn previous(&self, keys: &[String]) -> Option<PreviousLead> {
        let newest = keys
            .iter()
            .filter_map(|k| self.newest.get(k).and_then(Option::as_ref))
            .max_by(|a, b| a.at.cmp(&b.at))?;
        Some(PreviousLead {
            id: newest.lead_id.clone(),
            manager_id: self.managers.get(&newest.lead_id).cloned().flatten(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(k: &[&str]) -> Vec<String> {
        k.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_lead_written_in_the_transaction_is_the_newest_of_its_known_keys() {
        let mut ids = Identities::default();
        let asked = keys(&["phone:+7916", "email:a@x.ru", "email:b@x.ru"]);
        ids.learn(
            &asked,
            vec![(
                "phone:+7916".into(),
                "2026-11-20T10:00:00.000000Z".into(),
                "old".into(),
                Some("anna".into()),
            )],
        );
        assert!(ids.knows(&asked));
        assert!(!ids.knows(&keys(&["phone:+7495"])));
        assert_eq!(
            ids.unknown(&keys(&["phone:+7495", "email:a@x.ru", "phone:+7495"])),
            ["phone:+7495"]
        );
        assert_eq!(ids.previous(&keys(&["email:a@x.ru"])), None);
        assert_eq!(
            ids.previous(&keys(&["email:a@x.ru", "phone:+7916"])),
            Some(PreviousLead {
                id: "old".into(),
                manager_id: Some("anna".into())
            })
        );

        ids.wrote(
            "new",
            "2026-11-22T09:00:00.000000Z",
            None,
            &keys(&["email:a@x.ru", "phone:+7495"]),
        );
        assert_eq!(
            ids.previous(&keys(&["phone:+7916", "email:a@x.ru"])),
            Some(PreviousLead {
                id: "new".into(),
                manager_id: None
            }),
            "the newer of the two"
        );
        assert!(
            !ids.knows(&keys(&["phone:+7495"])),
            "a key never read ahead stays unknown"
        );

        ids.reassigned("new", Some("boris"));
        ids.reassigned("unrelated", Some("vera"));
        assert_eq!(
            ids.previous(&keys(&["email:a@x.ru"])),
            Some(PreviousLead {
                id: "new".into(),
                manager_id: Some("boris".into())
            })
        );
        // An older lead written later (a backfill) does not take a key from a newer one.
        ids.wrote(
            "older",
            "2026-11-01T09:00:00.000000Z",
            None,
            &keys(&["phone:+7916"]),
        );
        assert_eq!(
            ids.previous(&keys(&["phone:+7916"])).map(|p| p.id),
            Some("old".into())
        );
    }
}
