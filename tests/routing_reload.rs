//! Live reload: a valid edit is swapped in, an invalid one is refused and the last good rules
//! keep routing, on a file change (saved by rename, as editors do) and on SIGHUP.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use leadgate::routing::{
    CompiledRules, Outcome, ReloadStatus, Reloads, RoutingContext, RulesHandle, StrategyState,
    watch_rules,
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
    routed(handle, &[])
}

/// Who gets a lead from these addresses under the rules in force (or why nobody does).
fn routed(handle: &RulesHandle, emails: &[&str]) -> String {
    let rules = handle.current();
    let open = HashMap::new();
    let state = StrategyState::default();
    let lead: leadgate::lead::Lead = serde_json::from_value(serde_json::json!({
        "schema": "leadgate.lead.v1", "id": "x", "received_at": "2026-11-23T10:00:00Z", "channel": "email",
        "source": "inbox", "contact": {"emails": emails, "phones": []}, "text": "", "fields": {}, "utm": {},
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

/// The watcher on `path`, polling it and taking SIGHUP, until the token is cancelled.
fn spawn_watcher(
    path: &Path,
    handle: &RulesHandle,
) -> (
    CancellationToken,
    tokio::task::JoinHandle<Result<(), leadgate::routing::WatchError>>,
) {
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(watch_rules(
        path.to_path_buf(),
        handle.clone(),
        shutdown.clone(),
        Reloads::OnChangeAndSighup,
    ));
    (shutdown, task)
}

/// Saves `text` until the watcher, once in place, sees it (a save before it is in place is
/// missed; saving again is harmless); what it reported, if it ever did.
async fn save_until_seen(
    path: &Path,
    text: &str,
    status: &mut watch::Receiver<ReloadStatus>,
) -> Option<ReloadStatus> {
    for _ in 0..20 {
        save(path, text);
        if let Ok(Ok(())) = tokio::time::timeout(Duration::from_secs(3), status.changed()).await {
            return Some(status.borrow_and_update().clone());
        }
    }
    None
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
    let (shutdown, task) = spawn_watcher(&path, &handle);
    let reloaded = save_until_seen(&path, &file("boris"), &mut status).await;
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

/// [`file`] with a first rule that drops the contacts in `stop.txt`.
fn file_with_list(manager: &str) -> String {
    file(manager).replace(
        "[[rules]]\nname = \"all\"",
        "[[rules]]\nname = \"stop\"\nwhen = { contact_in_list = \"stop.txt\" }\ndrop = \"stop list\"\n\n[[rules]]\nname = \"all\"",
    )
}

/// What a database beside the rules does: its file and journal grow, a temporary file comes
/// and goes.
fn busy_neighbours(dir: &Path, round: usize) {
    use std::io::Write;
    for name in ["leadgate.db", "leadgate.db-wal"] {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(name))
            .unwrap_or_else(|e| panic!("{e}"));
        for _ in 0..50 {
            f.write_all(&[round as u8; 4096])
                .unwrap_or_else(|e| panic!("{e}"));
            f.flush().unwrap_or_else(|e| panic!("{e}"));
        }
    }
    save(&dir.join("leadgate.toml"), &format!("# round {round}\n"));
    let tmp = dir.join("leadgate.db-journal");
    std::fs::write(&tmp, b"x").unwrap_or_else(|e| panic!("{e}"));
    std::fs::remove_file(&tmp).unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_rules_and_their_lists_wake_the_watcher_not_the_files_beside_them() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("routing.toml");
    let list = dir.path().join("stop.txt");
    std::fs::write(&list, "spam@example.ru\n").unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&path, file_with_list("anna")).unwrap_or_else(|e| panic!("{e}"));
    let handle = RulesHandle::new(CompiledRules::load(&path).unwrap_or_else(|e| panic!("{e}")));
    assert!(routed(&handle, &["spam@example.ru"]).starts_with("Drop"));
    let mut status = handle.status();
    let (shutdown, task) = spawn_watcher(&path, &handle);
    // As above: save until the watcher, once in place, sees it; the neighbours are busy all
    // along.
    let mut reloaded = None;
    for round in 0..20 {
        busy_neighbours(dir.path(), round);
        save(&path, &file_with_list("boris"));
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

    // The watcher is in place now: more noise, then a change to the list the rules point to.
    // Its reload comes after the noise, so the watcher has had every chance to see that too.
    busy_neighbours(dir.path(), 100);
    save(&list, "other@example.ru\n");
    let after_list = next(&mut status).await;
    assert!(
        matches!(after_list, ReloadStatus::Reloaded { .. }),
        "{after_list:?}"
    );
    assert_eq!(routed(&handle, &["spam@example.ru"]), "boris");
    assert!(routed(&handle, &["other@example.ru"]).starts_with("Drop"));
    assert_eq!(
        handle.ignored_changes(),
        0,
        "a change to a file the rules do not come from reached the watcher"
    );

    shutdown.cancel();
    let stopped = task.await.unwrap_or_else(|e| panic!("{e}"));
    assert!(stopped.is_ok(), "{stopped:?}");
}

/// An edit that names a list not written yet is refused, and the last good rules keep
/// routing; writing the list then takes the edit, as mending the file itself would, without
/// touching the file again or a SIGHUP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_edit_is_taken_once_the_list_it_names_is_written() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("routing.toml");
    let list = dir.path().join("stop.txt");
    std::fs::write(&path, file("anna")).unwrap_or_else(|e| panic!("{e}"));
    let handle = RulesHandle::new(CompiledRules::load(&path).unwrap_or_else(|e| panic!("{e}")));
    let mut status = handle.status();
    let (shutdown, task) = spawn_watcher(&path, &handle);
    let refused = save_until_seen(&path, &file_with_list("boris"), &mut status).await;
    let refused = refused.unwrap_or_else(|| panic!("the edit was never seen"));
    assert!(
        matches!(&refused, ReloadStatus::Refused { error, .. } if error.contains("stop.txt")),
        "{refused:?}"
    );
    assert_eq!(assigned_to(&handle), "anna", "the last good rules route");

    std::fs::write(&list, "spam@example.ru\n").unwrap_or_else(|e| panic!("{e}"));
    let taken = next(&mut status).await;
    assert!(matches!(taken, ReloadStatus::Reloaded { .. }), "{taken:?}");
    assert_eq!(assigned_to(&handle), "boris");
    assert!(routed(&handle, &["spam@example.ru"]).starts_with("Drop"));

    shutdown.cancel();
    let stopped = task.await.unwrap_or_else(|e| panic!("{e}"));
    assert!(stopped.is_ok(), "{stopped:?}");
}

/// A daemon started on the last good rules (the file did not load) whose file is fixed before
/// its watcher is in place (while the store connected) takes the fix when the watcher starts:
/// the watcher starts from what it finds, so the save itself is never seen as a change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fix_saved_before_the_watcher_starts_is_taken() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("routing.toml");
    std::fs::write(&path, file("anna")).unwrap_or_else(|e| panic!("{e}"));
    let last_good = CompiledRules::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let handle = RulesHandle::on_last_good(last_good, "the file did not load".into());
    save(&path, &file("boris"));
    let mut status = handle.status();
    let (shutdown, task) = spawn_watcher(&path, &handle);
    let taken = next(&mut status).await;
    assert!(matches!(taken, ReloadStatus::Reloaded { .. }), "{taken:?}");
    assert_eq!(assigned_to(&handle), "boris");
    shutdown.cancel();
    let stopped = task.await.unwrap_or_else(|e| panic!("{e}"));
    assert!(stopped.is_ok(), "{stopped:?}");
}

/// A daemon started on the last good rules because its routing file was not there takes the
/// file when it comes back (put back, a ConfigMap key named again).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routing_file_that_comes_back_is_taken() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("routing.toml");
    std::fs::write(&path, file("anna")).unwrap_or_else(|e| panic!("{e}"));
    let last_good = CompiledRules::load(&path).unwrap_or_else(|e| panic!("{e}"));
    std::fs::remove_file(&path).unwrap_or_else(|e| panic!("{e}"));
    let handle = RulesHandle::on_last_good(last_good, "the file is not there".into());
    let mut status = handle.status();
    let (shutdown, task) = spawn_watcher(&path, &handle);
    let missing = next(&mut status).await;
    assert!(
        matches!(missing, ReloadStatus::Refused { .. }),
        "{missing:?}"
    );
    let back = save_until_seen(&path, &file("boris"), &mut status).await;
    assert!(
        matches!(back, Some(ReloadStatus::Reloaded { .. })),
        "{back:?}"
    );
    assert_eq!(assigned_to(&handle), "boris");
    shutdown.cancel();
    let stopped = task.await.unwrap_or_else(|e| panic!("{e}"));
    assert!(stopped.is_ok(), "{stopped:?}");
}
