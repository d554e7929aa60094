//! Reading `leadgate.toml`: the file, then `LEADGATE__SECTION__KEY` environment overrides (the
//! `config` crate), then `${VAR}` references resolved, then the raw types with unknown keys
//! refused.
//!
//! An override is read as the text it is and typed by the key it sets: guessing its type from
//! its text turned an all-digit token or password into a number (or a float that lost its
//! digits) that the key refused, while `LEADGATE__SERVER__MAX_CONNECTIONS=64` must still be a
//! number.

use super::raw::RawConfig;
use crate::settings::ConfigProblem;
use serde_json::Value;
use std::path::Path;

/// Reads the file and the environment into [`RawConfig`]; `env` looks variables up (the real
/// environment in the daemon, a map in tests).
pub fn load_raw(
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<RawConfig, Vec<ConfigProblem>> {
    let file = path.display().to_string();
    let problem = |key: &str, message: String, hint: Option<&str>| ConfigProblem {
        file: file.clone(),
        key: key.to_string(),
        message,
        hint: hint.map(str::to_string),
    };
    if !path.exists() {
        return Err(vec![problem(
            "",
            "the file does not exist".into(),
            Some("pass --config FILE, or run from the checkout where config/leadgate.toml is"),
        )]);
    }
    let built = config::Config::builder()
        .add_source(config::File::from(path).format(config::FileFormat::Toml))
        .add_source(
            config::Environment::with_prefix("LEADGATE")
                .prefix_separator("__")
                .separator("__"),
        )
        .build()
        .map_err(|e| vec![problem("", format!("cannot read the file: {e}"), None)])?;
    let mut tree: Value = built
        .try_deserialize()
        .map_err(|e| vec![problem("", format!("cannot read the file: {e}"), None)])?;
    let mut problems = Vec::new();
    resolve_env_refs(&mut tree, String::new(), env, &mut |key, var| {
        problems.push(problem(
            key,
            format!("references ${{{var}}}, which is not set"),
            Some("set the environment variable, or write the value in the file"),
        ));
    });
    // A missing variable is one problem among the others: the keys are read all the same.
    let overridden = overridden_keys();
    loop {
        let error = match typed(&mut tree, &overridden) {
            Ok(raw) if problems.is_empty() => return Ok(raw),
            Ok(_) => return Err(problems),
            Err(e) => e,
        };
        let key = error.path().to_string();
        let message = without_value(&error.inner().to_string());
        let hint = message
            .contains("unknown field")
            .then_some("check the spelling against the commented examples in config/");
        problems.push(problem(if key == "." { "" } else { &key }, message, hint));
        // Every problem, not just the first: the key at fault is set aside and the rest read
        // again, as long as setting it aside changes something.
        if problems.len() >= MAX_PROBLEMS || !set_aside(&mut tree, &error) {
            return Err(problems);
        }
    }
}

/// A type error's message without the value it found: serde quotes it (`invalid type:
/// integer `123456789`, expected a string`), and a token or password written without quotes
/// would be printed.
fn without_value(message: &str) -> String {
    let Some((found, expected)) = message.split_once(", expected") else {
        return message.to_string();
    };
    if !(found.starts_with("invalid type: ") || found.starts_with("invalid value: ")) {
        return message.to_string();
    }
    let kind = found.split(['`', '"']).next().unwrap_or(found).trim_end();
    format!("{kind}, expected{expected}")
}

/// A key's path as serde names it (`sinks.webhook[0].url`, `.` for the whole file) in parts.
fn parts_of(path: &str) -> Vec<String> {
    if path == "." {
        return Vec::new();
    }
    (path.replace('[', ".").replace(']', "").split('.'))
        .map(str::to_string)
        .collect()
}

/// The JSON pointer of a key's `parts` (`""` for the whole tree).
fn pointer_of(parts: &[String]) -> String {
    parts.iter().map(|p| format!("/{p}")).collect()
}

/// The most structural problems listed at once.
const MAX_PROBLEMS: usize = 50;

/// Removes what `error` refused from `tree` (an unknown key, or a value of the wrong type);
/// false when there is nothing to remove (a missing key, a problem with the whole file).
fn set_aside(tree: &mut Value, error: &serde_path_to_error::Error<serde_json::Error>) -> bool {
    let message = error.inner().to_string();
    let mut parts = parts_of(&error.path().to_string());
    if let Some(unknown) = message
        .strip_prefix("unknown field `")
        .and_then(|m| m.split('`').next())
        && parts.last().map(String::as_str) != Some(unknown)
    {
        parts.push(unknown.to_string());
    }
    let Some(last) = parts.pop() else {
        return false;
    };
    match tree.pointer_mut(&pointer_of(&parts)) {
        Some(Value::Object(map)) => map.remove(&last).is_some(),
        Some(Value::Array(items)) => match last.parse::<usize>() {
            Ok(i) if items.get(i).is_some_and(|v| !v.is_null()) => {
                items[i] = Value::Null;
                true
            }
            _ => false,
        },
        _ => false,
    }
}

/// The dotted keys the environment overrides (`LEADGATE__SERVER__LISTEN`: `server.listen`).
fn overridden_keys() -> Vec<String> {
    std::env::vars_os()
        .filter_map(|(name, _)| {
            let rest = name.to_str()?.strip_prefix("LEADGATE__")?.to_lowercase();
            Some(rest.split("__").collect::<Vec<_>>().join("."))
        })
        .collect()
}

/// [`RawConfig`] from the tree, where an override that a key wants as a number or a switch is
/// parsed as one: each refusal at an overridden key whose text reads as a scalar is retried
/// with the scalar (at most once per key).
fn typed(
    tree: &mut Value,
    overridden: &[String],
) -> Result<RawConfig, serde_path_to_error::Error<serde_json::Error>> {
    let mut retried: Vec<String> = Vec::new();
    loop {
        let error = match serde_path_to_error::deserialize::<_, RawConfig>(&*tree) {
            Ok(raw) => return Ok(raw),
            Err(e) => e,
        };
        let key = error.path().to_string();
        if !overridden.contains(&key) || retried.contains(&key) {
            return Err(error);
        }
        let Some(slot) = tree.pointer_mut(&pointer_of(&parts_of(&key))) else {
            return Err(error);
        };
        let Some(value) = slot.as_str().and_then(scalar) else {
            return Err(error);
        };
        *slot = value;
        retried.push(key);
    }
}

/// `text` as a switch or a number, when it reads as one.
fn scalar(text: &str) -> Option<Value> {
    match text.trim() {
        "true" => Some(Value::Bool(true)),
        "false" => Some(Value::Bool(false)),
        t => (t.parse::<i64>().ok().map(Value::from))
            .or_else(|| t.parse::<u64>().ok().map(Value::from))
            .or_else(|| t.parse::<f64>().ok().map(Value::from)),
    }
}

/// Replaces every `${NAME}` inside string values with the variable's value, reporting each
/// missing variable with the dotted key it was found under.
fn resolve_env_refs(
    value: &mut Value,
    key: String,
    env: &dyn Fn(&str) -> Option<String>,
    missing: &mut dyn FnMut(&str, &str),
) {
    match value {
        Value::String(s) => {
            if let Some(resolved) = substitute(s, env, &mut |var| missing(&key, var)) {
                *s = resolved;
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                resolve_env_refs(item, format!("{key}[{i}]"), env, missing);
            }
        }
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                let child = if key.is_empty() {
                    k.clone()
                } else {
                    format!("{key}.{k}")
                };
                resolve_env_refs(v, child, env, missing);
            }
        }
        _ => {}
    }
}

/// The string with `${NAME}` references replaced; `None` when it has none.
fn substitute(
    s: &str,
    env: &dyn Fn(&str) -> Option<String>,
    missing: &mut dyn FnMut(&str),
) -> Option<String> {
    if !s.contains("${") {
        return None;
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Some(out);
        };
        let var = &after[..end];
        match env(var) {
            Some(v) => out.push_str(&v),
            None => missing(var),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn write(dir: &Path, text: &str) -> std::path::PathBuf {
        let p = dir.join("leadgate.toml");
        std::fs::write(&p, text).expect("write");
        p
    }

    #[test]
    fn every_misspelt_key_and_wrong_type_is_listed_not_just_the_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = write(
            dir.path(),
            "[server]\nlisten = 5\nlistne = \"x\"\nmax_connections = \"many\"\n[admin]\ntokn = \"y\"\n",
        );
        let problems = load_raw(&p, &|_| None).expect_err("four problems");
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(problems.len(), 4, "{problems:?}");
        for key in ["server.listen", "server.max_connections"] {
            assert!(keys.contains(&key), "{key}: {problems:?}");
        }
        for typo in ["listne", "tokn"] {
            assert!(
                problems.iter().any(|p| p.message.contains(typo)),
                "{typo}: {problems:?}"
            );
        }
    }

    #[test]
    fn a_secret_of_the_wrong_type_is_not_printed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = write(dir.path(), "[admin]\ntoken = 123456789012345\n");
        let problems = load_raw(&p, &|_| None).expect_err("not text");
        assert_eq!(problems[0].key, "admin.token");
        assert!(
            !problems[0].message.contains("123456789012345"),
            "{}",
            problems[0].message
        );
        assert!(
            problems[0]
                .message
                .contains("invalid type: integer, expected")
        );
    }

    #[test]
    fn env_references_are_resolved_and_missing_ones_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = write(
            dir.path(),
            "[admin]\ntoken = \"${ADMIN_TOKEN}\"\n[api]\ntoken = \"pre-${NOPE}\"\n",
        );
        let env: HashMap<&str, &str> = [("ADMIN_TOKEN", "s3cret")].into();
        let lookup = |k: &str| env.get(k).map(|v| v.to_string());
        let problems = load_raw(&p, &lookup).expect_err("NOPE is missing");
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].key, "api.token");
        // and the file's other problems with it
        let typo = write(dir.path(), "[api]\ntoken = \"${NOPE}\"\ntokn = \"x\"\n");
        let problems = load_raw(&typo, &lookup).expect_err("two problems");
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].message.contains("${NOPE}"),
            "{}",
            problems[0].message
        );

        let p = write(dir.path(), "[admin]\ntoken = \"${ADMIN_TOKEN}\"\n");
        let raw = load_raw(&p, &lookup).expect("loads");
        assert_eq!(
            raw.admin.token.map(|t| t.expose().to_string()).as_deref(),
            Some("s3cret")
        );
    }

    #[test]
    fn unknown_keys_are_errors_with_their_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = write(
            dir.path(),
            "[[sinks.webhook]]\nid = \"crm\"\nurl = \"http://x\"\nsecert = \"whsec_x\"\n",
        );
        let problems = load_raw(&p, &|_| None).expect_err("typo");
        assert!(
            problems[0].key.starts_with("sinks.webhook"),
            "{:?}",
            problems[0]
        );
        assert!(
            problems[0].message.contains("secert"),
            "{}",
            problems[0].message
        );
    }
}
