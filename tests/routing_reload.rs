//! Live reload: a valid edit is swapped in, an invalid one is refused and the last good rules
//! keep routing, on a file change (saved by rename, as editors do) and on SIGHUP.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use leadgate::routing::{
    CompiledRules, Outcome, ReloadStatus, RoutingContext, RulesHandle, StrategyState, watch_rules,
};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

fn file(manager: &str) -> String {
    format!(
        "levels = [\"junior\"]\n\n[[managers]]\nid = \"{manager}\"\nname = \"M\"\nlevel = \"junior\"\nhours = \"mon-sun 00:00-24:00\"\n\n[[rules]]\nname = \"all\"\nlevel = \"junior\"\n"
    )
}

const BROKEN: &str = "levels = [\"junior\"]\n\n[[rules]]\nname = \"all\"\nlevle = \"junior\"\n";

/// Saves like an editor: write a temporary file, then rename it over the old one.
fn save(path: &Path, text: &str) {
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, text).unwrap_or_else(|e| panic!("{e}"));
    std::fs::rename(&tmp, path).unwrap_or_else(|e| panic!("{e}"));
}

fn assigned_to(handle: &RulesHandle) -> String {
    let rules = handle.current();
    let open = HashMap::new();
    let state = StrategyState::default();
    let lead: leadgate::lead::Lead = serde_json::from_value(serde_json::json!({
        "schema": "leadgate.lead.v1", "id": "x", "received_at": "2026-11-23T10:00:00Z", "channel": "email",
        "source": "inbox", "contact": {"emails": [], "phones": []}, "text": "", "fields": {}, "utm": {},
        "returning": false
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    let ctx = RoutingContext {
        now: lead.received_at,
        open_leads: &open,
        previous_manager: None,
        state: &state,
        exclude: &[],
    };
    match rules.decide(&lead, &ctx).outcome {
        Outcome::Assign(p) => p.manager,
        other => format!("{other:?}"),
    }
}

/// Waits for the next reload result (the watcher's own pace; a generous cap only so a broken
/// watcher fails the test instead of hanging it).
async fn next(status: &mut watch::Receiver<ReloadStatus>) -> ReloadStatus {
    match tokio::time::timeout(Duration::from_secs(60), status.changed()).await {
        Ok(Ok(())) => status.borrow_and_update().clone(),
        other => panic!("no reload happened: {other:?}"),
    }
}

#[test]
fn a_bad_file_is_refused_and_the_old_rules_stay() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("routing.toml");
    std::fs::write(&path, file("anna")).unwrap_or_else(|e| panic!("{e}"));
    let handle = RulesHandle::new(CompiledRules::load(&path).unwrap_or_else(|e| panic!("{e}")));
    let version = handle.current().version().to_string();
    std::fs::write(&path, BROKEN).unwrap_or_else(|e| panic!("{e}"));
    let err = handle
        .reload(&path)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains(
            "routing.toml:5:1: rule \"all\": unknown key \"levle\": did you mean \"level\"?"
        ),
        "{err}"
    );
    assert_eq!(handle.current().version(), version);
    assert_eq!(assigned_to(&handle), "anna");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watcher_swaps_valid_files_and_refuses_bad_ones() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("routing.toml");
    std::fs::write(&path, file("anna")).unwrap_or_else(|e| panic!("{e}"));
    let handle = RulesHandle::new(CompiledRules::load(&path).unwrap_or_else(|e| panic!("{e}")));
    let mut status = handle.status();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(watch_rules(path.clone(), handle.clone(), shutdown.clone()));
    // Give the watcher a moment to be in place; if the first save comes too early, saving
    // again is harmless.
    let mut reloaded = None;
    for _ in 0..20 {
        save(&path, &file("boris"));
        if let Ok(Ok(())) = tokio::time::timeout(Duration::from_secs(3), status.changed()).await {
            reloaded = Some(status.borrow_and_update().clone());
            break;
        }
    }
    assert!(
        matches!(reloaded, Some(ReloadStatus::Reloaded { .. })),
        "{reloaded:?}"
    );
    assert_eq!(assigned_to(&handle), "boris");
    let good = handle.current().version().to_string();

    save(&path, BROKEN);
    match next(&mut status).await {
        ReloadStatus::Refused { version, error } => {
            assert_eq!(version, good);
            assert!(error.contains("unknown key \"levle\""), "{error}");
        }
        other => panic!("the broken file was not refused: {other:?}"),
    }
    assert_eq!(
        assigned_to(&handle),
        "boris",
        "the daemon keeps routing with the last good rules"
    );

    // SIGHUP re-reads the file: fix it without the watcher noticing first by writing it
    // elsewhere and signalling after the rename has been seen.
    save(&path, &file("clara"));
    let after_save = next(&mut status).await;
    assert!(
        matches!(after_save, ReloadStatus::Reloaded { .. }),
        "{after_save:?}"
    );
    let pid = std::process::id().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status();
    assert!(sent.is_ok_and(|s| s.success()));
    let after_hup = next(&mut status).await;
    assert!(
        matches!(after_hup, ReloadStatus::Reloaded { .. }),
        "{after_hup:?}"
    );
    assert_eq!(assigned_to(&handle), "clara");

    shutdown.cancel();
    let stopped = task.await.unwrap_or_else(|e| panic!("{e}"));
    assert!(stopped.is_ok(), "{stopped:?}");
}
