//! Connectors as data: inbound connectors (`connectors/inbound/*.toml`) map a form builder's
//! payload to a lead; outbound presets (`connectors/outbound/*.toml`) turn a lead into a CRM's
//! own API call. The shipped files are embedded in the binary, so the daemon runs from any
//! directory; a business adds or overrides files in `[connectors] dir`. Every file is
//! validated at start and by `leadgate check`, each problem named with its file and key.

mod embedded;
mod flatten;
mod inbound;
mod outbound;
mod verify;

pub use flatten::value_text;
pub use inbound::{Answer, FileProblem, InboundConnector, Role, check_host, on_hosts};
pub use outbound::{
    Auth, HookFormat, HookSpec, Preset, RenderError, Rendered, StatusMeaning, Step,
};
pub use verify::{Presented, Verify};

use crate::settings::ConfigProblem;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// The inbound connector used by forms that name none: common field names in Russian and
/// English.
pub const GENERIC: &str = "generic";

/// Every connector and preset known to this daemon, by name.
#[derive(Debug, Default)]
pub struct Catalogue {
    inbound: BTreeMap<String, Arc<InboundConnector>>,
    outbound: BTreeMap<String, Arc<Preset>>,
}

/// Which kind of file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Inbound,
    Outbound,
}

impl Catalogue {
    /// The embedded files, then `dir/inbound/*.toml` and `dir/outbound/*.toml` (a business's
    /// file of the same name replaces the shipped one). Every problem in every file is
    /// returned at once.
    pub fn load(dir: Option<&Path>) -> Result<Catalogue, Vec<ConfigProblem>> {
        let mut cat = Catalogue::default();
        let mut problems = Vec::new();
        for (origin, text) in embedded::INBOUND {
            cat.add(
                Kind::Inbound,
                &format!("embedded:{origin}"),
                text,
                &mut problems,
            );
        }
        for (origin, text) in embedded::OUTBOUND {
            cat.add(
                Kind::Outbound,
                &format!("embedded:{origin}"),
                text,
                &mut problems,
            );
        }
        if let Some(dir) = dir {
            if !dir.is_dir() {
                problems.push(ConfigProblem {
                    file: dir.display().to_string(),
                    key: String::new(),
                    message: "the connectors directory does not exist".into(),
                    hint: Some(
                        "[connectors] dir is relative to the config file's directory".into(),
                    ),
                });
            }
            for (kind, sub) in [(Kind::Inbound, "inbound"), (Kind::Outbound, "outbound")] {
                for path in toml_files(&dir.join(sub)) {
                    let origin = path.display().to_string();
                    match std::fs::read_to_string(&path) {
                        Ok(text) => cat.add(kind, &origin, &text, &mut problems),
                        Err(e) => problems.push(ConfigProblem {
                            file: origin,
                            key: String::new(),
                            message: format!("cannot read: {e}"),
                            hint: None,
                        }),
                    }
                }
            }
        }
        if !cat.inbound.contains_key(GENERIC) {
            problems.push(ConfigProblem {
                file: "connectors/inbound".into(),
                key: String::new(),
                message: "no generic connector".into(),
                hint: Some("a build must ship connectors/inbound/generic.toml".into()),
            });
        }
        if problems.is_empty() {
            Ok(cat)
        } else {
            Err(problems)
        }
    }

    fn add(&mut self, kind: Kind, origin: &str, text: &str, problems: &mut Vec<ConfigProblem>) {
        let to_problem = |p: FileProblem| ConfigProblem {
            file: origin.to_string(),
            key: p.key,
            message: p.message,
            hint: None,
        };
        let parsed = match kind {
            Kind::Inbound => toml::from_str(text)
                .map_err(|e| vec![toml_problem(text, &e)])
                .and_then(|raw| InboundConnector::from_raw(raw, origin))
                .map(|c| {
                    self.inbound.insert(c.name.clone(), Arc::new(c));
                }),
            Kind::Outbound => toml::from_str(text)
                .map_err(|e| vec![toml_problem(text, &e)])
                .and_then(|raw| Preset::from_raw(raw, origin))
                .map(|p| {
                    self.outbound.insert(p.name.clone(), Arc::new(p));
                }),
        };
        if let Err(list) = parsed {
            problems.extend(list.into_iter().map(to_problem));
        }
    }

    /// An inbound connector by name.
    pub fn inbound(&self, name: &str) -> Option<Arc<InboundConnector>> {
        self.inbound.get(name).cloned()
    }

    /// The connector of forms that name none.
    pub fn generic(&self) -> Option<Arc<InboundConnector>> {
        self.inbound(GENERIC)
    }

    /// An outbound preset by name.
    pub fn preset(&self, name: &str) -> Option<Arc<Preset>> {
        self.outbound.get(name).cloned()
    }

    /// Every inbound connector, by name.
    pub fn inbound_all(&self) -> impl Iterator<Item = &Arc<InboundConnector>> {
        self.inbound.values()
    }

    /// Every preset, by name.
    pub fn presets_all(&self) -> impl Iterator<Item = &Arc<Preset>> {
        self.outbound.values()
    }

    /// The names, for hints: `tilda, wix, ...`.
    pub fn inbound_names(&self) -> String {
        self.inbound.keys().cloned().collect::<Vec<_>>().join(", ")
    }

    /// The preset names, for hints.
    pub fn preset_names(&self) -> String {
        self.outbound.keys().cloned().collect::<Vec<_>>().join(", ")
    }
}

/// The `.toml` files of a directory, sorted (a missing directory has none).
fn toml_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// A TOML or schema error with its line, e.g. `line 7: unknown field "phone", expected ...`.
fn toml_problem(text: &str, e: &toml::de::Error) -> FileProblem {
    let line = e
        .span()
        .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
    FileProblem {
        key: line.map(|l| format!("line {l}")).unwrap_or_default(),
        message: e.message().to_string(),
    }
}

/// Names appear in URLs and config values: letters, digits, `-` and `_`.
fn check_name(name: &str, key: &str, problems: &mut Vec<FileProblem>) {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        problems.push(FileProblem {
            key: key.into(),
            message: format!("{name:?} is not a valid name: use letters, digits, '-' and '_'"),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_catalogue_is_valid() {
        let cat = Catalogue::load(None).unwrap_or_else(|p| panic!("{p:#?}"));
        for name in [
            "tilda",
            "wix",
            "cf7",
            "marquiz",
            "typeform",
            "google-forms",
            "generic",
        ] {
            assert!(cat.inbound(name).is_some(), "{name}");
        }
        for name in ["amocrm", "bitrix24", "hubspot", "pipedrive", "generic"] {
            assert!(cat.preset(name).is_some(), "{name}");
        }
    }

    fn problems_in(kind: &str, text: &str) -> Vec<ConfigProblem> {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join(kind)).expect("mkdir");
        std::fs::write(dir.path().join(kind).join("mine.toml"), text).expect("write");
        Catalogue::load(Some(dir.path())).expect_err("invalid")
    }

    #[test]
    fn an_unknown_field_is_named_with_its_line() {
        let p = problems_in(
            "inbound",
            "name = \"mine\"\ndescription = \"x\"\n[fields]\nphones = [\"tel\"]\nphonez = [\"x\"]\n",
        );
        assert_eq!(p.len(), 1, "{p:#?}");
        assert!(p[0].file.ends_with("mine.toml"));
        assert_eq!(p[0].key, "line 5");
        assert!(p[0].message.contains("phonez"), "{}", p[0].message);
    }

    #[test]
    fn a_connector_without_contact_fields_is_refused() {
        let p = problems_in(
            "inbound",
            "name = \"mine\"\ndescription = \"x\"\n[fields]\nname = [\"n\"]\n",
        );
        assert_eq!(p[0].key, "fields.phones", "{p:#?}");
    }

    #[test]
    fn a_template_that_does_not_compile_is_named() {
        let p = problems_in(
            "outbound",
            "name = \"mine\"\ndescription = \"x\"\n[[requests]]\nevents = [\"lead.created\"]\nbody = \"{{ lead.id \"\n",
        );
        assert_eq!(p.len(), 1, "{p:#?}");
        assert_eq!(p[0].key, "requests[0].body");
        assert!(p[0].message.contains("does not compile"));
    }
}
