//! The Prometheus side of `/metrics`: one registry per daemon (two daemons in one process,
//! as in the tests, count apart), every metric described (its `# HELP` line), and the intake
//! group size as a histogram with buckets, which a dashboard can aggregate (a summary's
//! quantiles decay to zero between scrapes of an idle daemon).

use metrics::{Counter, Gauge, Histogram, Key, Label, Metadata, Recorder};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusRecorder};
use std::sync::Arc;

/// The items one intake commit takes: buckets from a single form to a mailbox's backlog.
const GROUP_SIZE_BUCKETS: &[f64] = &[1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0];

/// Seconds one intake commit takes, waiting for the write turn included: from a fast disk's
/// fraction of a millisecond to a stalled one.
const COMMIT_SECONDS_BUCKETS: &[f64] = &[
    0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 2.0,
];

/// Where every stage of one daemon counts what it does; `/metrics` renders it.
#[derive(Clone)]
pub struct Metrics(Arc<PrometheusRecorder>);

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

/// Every metric is recorded at the same level and place: the daemon's.
const METADATA: Metadata<'static> =
    Metadata::new("leadgate", metrics::Level::INFO, Some(module_path!()));

impl Metrics {
    /// A fresh registry with every metric described and the histograms' buckets set.
    pub fn new() -> Metrics {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("leadgate_intake_group_size".into()),
                GROUP_SIZE_BUCKETS,
            )
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full("leadgate_processing_batch_size".into()),
                    GROUP_SIZE_BUCKETS,
                )
            })
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full("leadgate_intake_commit_seconds".into()),
                    COMMIT_SECONDS_BUCKETS,
                )
            })
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full("leadgate_manager_time_to_take_seconds".into()),
                    TIME_TO_TAKE_BUCKETS,
                )
            })
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let metrics = Metrics(Arc::new(builder.build_recorder()));
        metrics.describe();
        metrics
    }

    /// The registry in Prometheus' text format, for `/metrics`.
    pub fn render(&self) -> String {
        self.0.handle().render()
    }

    /// The counter `name` with `labels`.
    pub fn counter(&self, name: &'static str, labels: &[(&'static str, &str)]) -> Counter {
        self.0.register_counter(&key(name, labels), &METADATA)
    }

    /// The gauge `name` with `labels`.
    pub fn gauge(&self, name: &'static str, labels: &[(&'static str, &str)]) -> Gauge {
        self.0.register_gauge(&key(name, labels), &METADATA)
    }

    /// The histogram `name` (none of ours has labels).
    pub fn histogram(&self, name: &'static str) -> Histogram {
        self.0
            .register_histogram(&Key::from_static_name(name), &METADATA)
    }

    /// A lead was assigned to `manager` (first, or passed on to them).
    pub fn manager_assigned(&self, manager: &str) {
        self.counter("leadgate_manager_assigned_total", &[("manager", manager)])
            .increment(1);
    }

    /// `manager` took a lead, `after` its assignment when known.
    pub fn manager_acknowledged(&self, manager: &str, after: Option<chrono::Duration>) {
        self.counter(
            "leadgate_manager_acknowledged_total",
            &[("manager", manager)],
        )
        .increment(1);
        if let Some(after) = after {
            self.histogram("leadgate_manager_time_to_take_seconds")
                .record(after.num_milliseconds().max(0) as f64 / 1000.0);
        }
    }

    /// A lead left `manager` for someone else (declined, or the SLA ran out).
    pub fn manager_reassigned(&self, manager: &str) {
        self.counter("leadgate_manager_reassigned_total", &[("manager", manager)])
            .increment(1);
    }

    /// Every metric's help text.
    fn describe(&self) {
        let counters = [
            (
                "leadgate_manager_assigned_total",
                "Leads assigned to a manager (first, or passed on to them), by manager.",
            ),
            (
                "leadgate_manager_acknowledged_total",
                "Leads a manager took, by manager.",
            ),
            (
                "leadgate_manager_reassigned_total",
                "Leads that left a manager for someone else (declined or SLA ran out), by manager.",
            ),
            (
                "leadgate_forms_accepted_total",
                "Form posts stored, by source.",
            ),
            (
                "leadgate_form_errors_total",
                "Form and connector posts refused, by error code.",
            ),
            (
                "leadgate_test_pings_total",
                "Providers' connection tests answered, by source.",
            ),
            (
                "leadgate_webhook_errors_total",
                "Channel webhook posts (Telegram, VK, WhatsApp) refused, by channel and code.",
            ),
            (
                "leadgate_hook_rate_limited_total",
                "Requests to /hooks/... turned away over the address's share, by door (source, crm, managers).",
            ),
            (
                "leadgate_email_messages_total",
                "Mail messages taken, by source and result (new, duplicate, too_large).",
            ),
            (
                "leadgate_inbound_processed_total",
                "Inbound items processed.",
            ),
            (
                "leadgate_leads_total",
                "New leads, by channel and status (assigned, held).",
            ),
            (
                "leadgate_not_leads_total",
                "Items kept as not-leads, by reason.",
            ),
            (
                "leadgate_deliveries_total",
                "Delivery attempts, by sink and outcome.",
            ),
            (
                "leadgate_notifications_total",
                "Manager and admin messages, by channel and outcome.",
            ),
            (
                "leadgate_sla_expired_total",
                "Assignments whose SLA ran out.",
            ),
            (
                "leadgate_retention_removed_total",
                "Rows removed (or raw bytes blanked) for being kept longer than [retention] says, by kind.",
            ),
            (
                "leadgate_crm_reports_total",
                "CRM webhook reports applied, by sink.",
            ),
            ("leadgate_rules_reloads_total", "Routing rules reloaded."),
            (
                "leadgate_rules_reload_failures_total",
                "Routing rules saves refused (the last good rules stay).",
            ),
            (
                "leadgate_rules_watch_ignored_total",
                "File events about files the rules do not use.",
            ),
            (
                "leadgate_attachments_kept_total",
                "Files people sent that were kept.",
            ),
            (
                "leadgate_attachments_unavailable_total",
                "Files people sent that could not be kept (over a limit, expired, refused).",
            ),
        ];
        for (name, help) in counters {
            self.0.describe_counter(name.into(), None, help.into());
        }
        let gauges = [
            ("leadgate_http_connections", "HTTP connections open now."),
            (
                "leadgate_inbound_pending",
                "Inbound items waiting to be processed.",
            ),
            ("leadgate_outbox_pending", "Events waiting to be delivered."),
            (
                "leadgate_outbox_dead",
                "Dead-lettered deliveries (leadgate replay sends them again).",
            ),
            (
                "leadgate_leads_held",
                "Leads held until someone at their level can take them.",
            ),
            (
                "leadgate_incidents_open",
                "Incidents the admins were alerted to and that are not over.",
            ),
            (
                "leadgate_attachments_bytes",
                "Bytes of the files people sent kept in the store's files folder (each file once).",
            ),
        ];
        for (name, help) in gauges {
            self.0.describe_gauge(name.into(), None, help.into());
        }
        self.0.describe_histogram(
            "leadgate_manager_time_to_take_seconds".into(),
            None,
            "Seconds from a lead's assignment to the manager taking it (wall clock).".into(),
        );
        self.0.describe_histogram(
            "leadgate_intake_group_size".into(),
            None,
            "Items committed together by one intake group commit.".into(),
        );
        self.0.describe_histogram(
            "leadgate_intake_commit_seconds".into(),
            None,
            "Seconds one intake group commit took, waiting for the store's write turn included (a form's 2xx waits for it).".into(),
        );
        self.0.describe_histogram(
            "leadgate_processing_batch_size".into(),
            None,
            "Inbound items one processing transaction took (batches that took none are not counted).".into(),
        );
    }
}

/// A metric's key: its name and labels.
fn key(name: &'static str, labels: &[(&'static str, &str)]) -> Key {
    let labels: Vec<Label> = labels
        .iter()
        .map(|(k, v)| Label::new(*k, v.to_string()))
        .collect();
    Key::from_parts(name, labels)
}

/// Seconds from assignment to take: a minute to a day.
const TIME_TO_TAKE_BUCKETS: &[f64] = &[
    60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 86400.0,
];
