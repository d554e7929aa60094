//! Connectors as data: inbound connectors (`connectors/inbound/*.toml`) map a form builder's
//! payload to a lead; outbound presets (`connectors/outbound/*.toml`) turn a lead into a CRM's
//! own API call. The shipped files are embedded in the binary, so the daemon runs from any
//! directory; a business adds or overrides files in `[connectors] dir`. Its files are
//! validated at start and by `leadgate check`, each problem named with its file and key; a
//! shipped preset is compiled when a sink names it (the build's tests compile every one).

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
    /// The shipped presets that no file replaced, by name, with their origin and text:
    /// compiled when a sink names one. A compiled preset's templates take about 200 KiB,
    /// which a daemon whose sinks use none of them should not carry (idle RSS); the build's
    /// tests compile every one of them.
    shipped: BTreeMap<String, (String, &'static str)>,
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
            cat.ship(&format!("embedded:{origin}"), text, &mut problems);
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

    /// Notes a shipped preset by its name, to be compiled when a sink names it.
    fn ship(&mut self, origin: &str, text: &'static str, problems: &mut Vec<ConfigProblem>) {
        match toml::from_str::<outbound::RawPreset>(text) {
            Ok(raw) => {
                self.shipped.insert(raw.name, (origin.to_string(), text));
            }
            Err(e) => problems.push(in_file(origin, toml_problem(text, &e))),
        }
    }

    fn add(&mut self, kind: Kind, origin: &str, text: &str, problems: &mut Vec<ConfigProblem>) {
        let to_problem = |p: FileProblem| in_file(origin, p);
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
                    self.shipped.remove(&p.name);
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

    /// An outbound preset by name: a business's file, or a shipped one compiled now.
    pub fn preset(&self, name: &str) -> Option<Arc<Preset>> {
        if let Some(p) = self.outbound.get(name) {
            return Some(p.clone());
        }
        let (origin, text) = self.shipped.get(name)?;
        // The shipped files are part of the build, and its tests compile each of them
        // (`the_shipped_catalogue_is_valid`): a problem here is a broken build, not a config error.
        let preset = toml::from_str(text)
            .map_err(|e| vec![toml_problem(text, &e)])
            .and_then(|raw| Preset::from_raw(raw, origin))
            .unwrap_or_else(|p| panic!("the shipped preset {origin} does not compile: {p:?}"));
        Some(Arc::new(preset))
    }

    /// Every inbound connector, by name.
    pub fn inbound_all(&self) -> impl Iterator<Item = &Arc<InboundConnector>> {
        self.inbound.values()
    }

    /// The name of every preset, in order.
    pub fn presets_all(&self) -> Vec<&str> {
        let mut names: Vec<&str> = (self.outbound.keys())
            .chain(self.shipped.keys())
            .map(String::as_str)
            .collect();
        names.sort_unstable();
        names
    }

    /// The names, for hints: `tilda, wix, ...`.
    pub fn inbound_names(&self) -> String {
        self.inbound.keys().cloned().collect::<Vec<_>>().join(", ")
    }

    /// The preset names, for hints.
    pub fn preset_names(&self) -> String {
        self.presets_all().join(", ")
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

/// A file's problem as the config's checks report it.
fn in_file(origin: &str, p: FileProblem) -> ConfigProblem {
    ConfigProblem {
        file: origin.to_string(),
        key: p.key,
        message: p.message,
        hint: None,
    }
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
        assert_eq!(
            cat.presets_all(),
            ["amocrm", "bitrix24", "generic", "hubspot", "pipedrive"]
        );
        for name in cat.presets_all() {
            // Compiled only now: a shipped preset is compiled when a sink names it.
            assert_eq!(
                cat.preset(name).map(|p| p.name.clone()).as_deref(),
                Some(name)
            );
        }
        assert!(cat.preset("salesforce").is_none());
    }

    #[test]
    fn a_business_file_of_a_shipped_name_replaces_the_shipped_preset() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("outbound")).expect("mkdir");
        let mine = "name = \"amocrm\"\ndescription = \"our own amoCRM\"\n\
                    [[requests]]\nevents = [\"lead.created\"]\nbody = \"{{ envelope|tojson }}\"\n";
        std::fs::write(dir.path().join("outbound/ours.toml"), mine).expect("write");
        let cat = Catalogue::load(Some(dir.path())).unwrap_or_else(|p| panic!("{p:#?}"));
        let preset = cat.preset("amocrm").expect("the business's preset");
        assert_eq!(preset.description, "our own amoCRM");
        assert_eq!(
            cat.presets_all(),
            ["amocrm", "bitrix24", "generic", "hubspot", "pipedrive"],
            "named once"
        );
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
