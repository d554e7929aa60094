//! The whole daemon, started in-process on `127.0.0.1:0` with a temporary data directory.

use leadgate::clock::{Clock, ManualClock, SystemClock};
use leadgate::health::{Health, Passes};
use leadgate::routing::CompiledRules;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// The longest [`TestDaemon::settled`] waits for the daemon to go quiet.
pub const SETTLE_BOUND: Duration = Duration::from_secs(20);

/// Whether the stages were quiet between the looks `first` and `now`: `None` while some stage
/// has not finished two passes since `first` (the first may have begun before it), `Some(false)`
/// when one found work (or a stage appeared), `Some(true)` when none did.
fn quiet_between(first: &BTreeMap<String, Passes>, now: &BTreeMap<String, Passes>) -> Option<bool> {
    if first.is_empty() || first.keys().ne(now.keys()) {
        return Some(false);
    }
    let mut all_passed = true;
    for (name, then) in first {
        let p = now[name];
        if p.busy != then.busy {
            return Some(false);
        }
        all_passed &= p.done >= then.done + 2;
    }
    all_passed.then_some(true)
}

/// The longest real time a stage of a daemon on a [`ManualClock`] sleeps without a wake-up:
/// what falls due on the clock wakes it when the test moves the clock, so no test relies on
/// the stages polling.
pub const MANUAL_MAX_IDLE: Duration = Duration::from_secs(3600);

/// The longest [`TestDaemon::stop`] waits for the drain before failing the test.
pub const STOP_BOUND: Duration = Duration::from_secs(20);

/// A running daemon; dropped or [`TestDaemon::stop`]ped at the end of the test.
pub struct TestDaemon {
    /// The listen address.
    pub addr: SocketAddr,
    /// The config directory (holds leadgate.toml, routing.toml, the database).
    pub dir: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    health: Health,
    clock: Arc<dyn Clock>,
    task: Option<tokio::task::JoinHandle<Result<(), String>>>,
}

/// The default routing file of the repository (what a business starts from).
pub fn default_routing() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/routing.toml"))
        .expect("config/routing.toml")
}

/// Rules under which every lead is assigned at any hour (tests not about routing).
pub fn always_open_routing() -> String {
    include_str!("always_open.toml").to_string()
}

/// [`always_open_routing`] where a lead nobody can take now waits (`fallback = "hold"`) and
/// `manager` works 09:00-18:00 (Moscow) only.
pub fn hold_routing_with_day_shift(manager: &str) -> String {
    let routing = always_open_routing().replace(
        "strategy = \"round_robin\"\n",
        "strategy = \"round_robin\"\nfallback = \"hold\"\n",
    );
    let at = routing
        .find(&format!("id = \"{manager}\""))
        .unwrap_or_else(|| panic!("no manager {manager}"));
    let (before, after) = routing.split_at(at);
    let after = after.replacen(
        "hours = \"mon-sun 00:00-23:59\"",
        "hours = \"mon-sun 09:00-18:00\"",
        1,
    );
    format!("{before}{after}")
}

/// A manual clock standing on Monday 2026-12-07 at 20:00 in Moscow (17:00 UTC): after a
/// day shift, before the next.
pub fn monday_evening() -> Arc<ManualClock> {
    let evening = chrono::DateTime::parse_from_rfc3339("2026-12-07T17:00:00Z")
        .expect("time")
        .with_timezone(&chrono::Utc);
    Arc::new(ManualClock::new(evening))
}

/// Writes `routing` as `dir/routing.toml`, with the suppression list the default rules point at.
pub fn write_rules(dir: &Path, routing: &str) {
    std::fs::write(dir.join("routing.toml"), routing).expect("write routing");
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/config/suppress.txt"),
        dir.join("suppress.txt"),
    )
    .expect("copy suppress.txt");
}

/// The admin token every test daemon gets.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// The managers' API token the tests that act on leads configure (`[api] token`).
pub const API_TOKEN: &str = "api-token-for-tests-0123456789";

/// A manual clock starting now.
pub fn manual_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(SystemClock.now()))
}

impl TestDaemon {
    /// Writes `config` (a leadgate.toml body; `{dir}` is replaced by the data directory) and
    /// `routing` into `dir` and starts the daemon on them.
    pub async fn start_in(dir: &Path, config: &str, routing: &str) -> TestDaemon {
        let options = leadgate::RunOptions {
            max_idle: Duration::from_millis(50),
            ..Default::default()
        };
        TestDaemon::start_with(dir, config, routing, options, true).await
    }

    /// [`TestDaemon::start_in`] without `[admin] token`: the console and the admin API off.
    pub async fn start_without_admin(dir: &Path, config: &str, routing: &str) -> TestDaemon {
        let options = leadgate::RunOptions {
            max_idle: Duration::from_millis(50),
            ..Default::default()
        };
        TestDaemon::start_with(dir, config, routing, options, false).await
    }

    /// [`TestDaemon::start_in`] on a clock the test moves (SLA timers, retry waits, hours).
    /// The stages look again only when woken, asked by [`TestDaemon::settled`] or
    /// [`TestDaemon::ran_since`], or when the clock reaches their next due work
    /// ([`MANUAL_MAX_IDLE`] is longer than any test).
    pub async fn start_at(
        dir: &Path,
        config: &str,
        routing: &str,
        clock: Arc<ManualClock>,
    ) -> TestDaemon {
        let options = leadgate::RunOptions {
            clock,
            max_idle: MANUAL_MAX_IDLE,
            ..Default::default()
        };
        TestDaemon::start_with(dir, config, routing, options, true).await
    }

    /// [`TestDaemon::start_at`] with processing letting items gather for `gather` after each
    /// wake-up (the daemon's own wait is a few milliseconds, too short to aim at).
    pub async fn start_at_gathering(
        dir: &Path,
        config: &str,
        routing: &str,
        clock: Arc<ManualClock>,
        gather: Duration,
    ) -> TestDaemon {
        let options = leadgate::RunOptions {
            clock,
            max_idle: MANUAL_MAX_IDLE,
            gather,
            ..Default::default()
        };
        TestDaemon::start_with(dir, config, routing, options, true).await
    }

    async fn start_with(
        dir: &Path,
        config: &str,
        routing: &str,
        options: leadgate::RunOptions,
        admin: bool,
    ) -> TestDaemon {
        std::fs::create_dir_all(dir).expect("mkdir");
        let admin = match admin {
            true => format!("[admin]\ntoken = \"{ADMIN_TOKEN}\"\n"),
            false => String::new(),
        };
        // A config with a `[storage]` of its own keeps it, on PostgreSQL with its files in
        // `dir` (on SQLite they are beside the file); others get a SQLite file in `dir`.
        let (storage, config) = match config.contains("[storage]") {
            true if !config.contains("postgres://") => (String::new(), config.to_string()),
            true => (
                String::new(),
                config.replacen(
                    "[storage]\n",
                    &format!("[storage]\ndata_dir = \"{}\"\n", dir.display()),
                    1,
                ),
            ),
            false => (
                format!(
                    "[storage]\nurl = \"sqlite://{}/leadgate.db\"\n",
                    dir.display()
                ),
                config.to_string(),
            ),
        };
        let config_text = format!(
            "{storage}{admin}{}",
            config.replace("{dir}", &dir.display().to_string()),
        );
        std::fs::write(dir.join("leadgate.toml"), config_text).expect("write config");
        write_rules(dir, routing);
        let cfg = leadgate::config::load(&dir.join("leadgate.toml"))
            .unwrap_or_else(|e| panic!("config: {e}"));
        let rules = CompiledRules::load(&cfg.routing_file).unwrap_or_else(|e| panic!("rules: {e}"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (health, clock) = (options.health.clone(), options.clock.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            (leadgate::run(listener, cfg, rules, options, shutdown).await)
                .map_err(|e| e.to_string())
        });
        TestDaemon {
            addr,
            dir: dir.to_path_buf(),
            stop: Some(stop),
            health,
            clock,
            task: Some(task),
        }
    }

    /// Posts `form` to the web form source `site` and returns the id it answered with.
    pub async fn submit_form(&self, form: &[(&str, &str)]) -> String {
        let r: serde_json::Value = reqwest::Client::new()
            .post(self.url("/forms/site"))
            .header("accept", "application/json")
            .form(form)
            .send()
            .await
            .expect("post")
            .json()
            .await
            .expect("json");
        r["id"].as_str().expect("id").to_string()
    }

    /// The base URL.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `/metrics` as the admin reads it (Prometheus text).
    pub async fn metrics(&self) -> String {
        let answer = authed_get(self.url("/metrics"))
            .await
            .expect("GET /metrics");
        answer.text().await.expect("the metrics' text")
    }

    /// A GET on the admin API, as JSON.
    pub async fn admin_get(&self, path: &str) -> serde_json::Value {
        reqwest::Client::new()
            .get(self.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("admin request")
            .json()
            .await
            .expect("admin JSON")
    }

    /// The lead's audit trail, oldest first, from the admin API.
    pub async fn audit(&self, lead: &str) -> Vec<serde_json::Value> {
        let journey = self.admin_get(&format!("/admin/api/leads/{lead}")).await;
        journey["audit"].as_array().cloned().unwrap_or_default()
    }

    /// One component's state in `/readyz` (`stage:sla`, `sink:crm`, `source:site`...).
    pub async fn component(&self, name: &str) -> serde_json::Value {
        let ready = self.admin_get("/readyz").await;
        ready["components"][name].clone()
    }

    /// Waits until the component `name` last did its job at or after `at` on the daemon's
    /// clock: for the SLA stage, a look for due deadlines that saw the clock at `at` (the
    /// stages are asked to look again, as a stage with nothing due would not).
    pub async fn ran_since(&self, name: &str, at: chrono::DateTime<chrono::Utc>) {
        let seen = eventually(Duration::from_secs(10), || async {
            self.health.look_again();
            let c = self.component(name).await;
            let last = c["last_success"]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())?;
            (last >= at).then_some(())
        })
        .await;
        assert!(
            seen.is_some(),
            "{name} did not run since {at}: {}",
            self.component(name).await
        );
    }

    /// Waits until the daemon is quiet: every stage (processing, the sinks, notifications,
    /// the SLA, alerts, the file keeper, retention) is asked to look at its work again, and
    /// between two looks each finished two more passes and none found anything to do, and no
    /// stage's next work is due on the daemon's clock (a stage the clock has woken has not
    /// finished its pass). What a test asserts did not happen after this has had its chance
    /// to happen. Fails the test when the daemon stays busy for [`SETTLE_BOUND`].
    ///
    /// Intake needs no look of its own: every submission waits for its commit, and a commit
    /// wakes processing, whose pass then finds work.
    pub async fn settled(&self) {
        let deadline = tokio::time::Instant::now() + SETTLE_BOUND;
        let mut first = self.health.passes();
        loop {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the daemon did not settle within {SETTLE_BOUND:?}: {:?}, due by {}: {:?}",
                self.health.passes(),
                self.clock.now(),
                self.health.due_by(self.clock.now()),
            );
            self.health.look_again();
            tokio::time::sleep(Duration::from_millis(10)).await;
            let now = self.health.passes();
            match quiet_between(&first, &now) {
                Some(true) if self.health.due_by(self.clock.now()).is_empty() => return,
                Some(_) => first = now, // work happened or is due: look again from here
                None => {}              // not every stage has made two passes yet
            }
        }
    }

    /// Stops gracefully and waits for the drain; fails the test when the daemon returns an
    /// error, panics, or has not stopped within [`STOP_BOUND`].
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let Some(task) = self.task.take() else {
            return;
        };
        match tokio::time::timeout(STOP_BOUND, task).await {
            Err(_) => panic!("the daemon did not stop within {STOP_BOUND:?}"),
            Ok(Err(join)) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
            Ok(Err(join)) => panic!("the daemon's task was cancelled: {join}"),
            Ok(Ok(Err(e))) => panic!("the daemon stopped with an error: {e}"),
            Ok(Ok(Ok(()))) => {}
        }
    }
}

impl Drop for TestDaemon {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A GET with the admin token, as `/readyz`'s details and `/metrics` need.
pub async fn authed_get(url: String) -> reqwest::Result<reqwest::Response> {
    reqwest::Client::new()
        .get(url)
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
}

/// Polls `check` every 20 ms until it returns `Some` or `timeout` passes.
pub async fn eventually<T, F, Fut>(timeout: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return Some(v);
        }
        if tokio::time::Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The JSON lines of a file sink: the complete ones, since the daemon may be appending a
/// line while this reads.
pub fn file_lines(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let complete = text.rfind('\n').map_or("", |end| &text[..end]);
    complete
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

/// The figure in `metrics` (`/metrics`' text) for the series `series` (name and labels), when
/// it is there.
pub fn metric_value(metrics: &str, series: &str) -> Option<f64> {
    let prefix = format!("{series} ");
    (metrics.lines())
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|v| v.trim().parse().ok())
}
