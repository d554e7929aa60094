//! The Prometheus side of `/metrics`: one recorder per process, every metric described (its
//! `# HELP` line), and the intake group size as a histogram with buckets, which a dashboard can
//! aggregate (a summary's quantiles decay to zero between scrapes of an idle daemon).

use metrics::{describe_counter, describe_gauge, describe_histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

/// The items one intake commit takes: buckets from a single form to a mailbox's backlog.
const GROUP_SIZE_BUCKETS: &[f64] = &[1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0];

/// One Prometheus recorder per process (several daemons in one test process share it).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("leadgate_intake_group_size".into()),
                    GROUP_SIZE_BUCKETS,
                )
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full("leadgate_manager_time_to_take_seconds".into()),
                        TIME_TO_TAKE_BUCKETS,
                    )
                })
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("A metrics recorder was already installed; /metrics shows only this one's metrics.");
            }
            describe();
            handle
        })
        .clone()
}

/// Seconds from assignment to take: a minute to a day.
const TIME_TO_TAKE_BUCKETS: &[f64] = &[
    60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 86400.0,
];

/// A lead was assigned to `manager` (first, or passed on to them).
pub fn manager_assigned(manager: &str) {
    metrics::counter!("leadgate_manager_assigned_total", "manager" => manager.to_string())
        .increment(1);
}

/// `manager` took a lead, `after` its assignment when known.
pub fn manager_acknowledged(manager: &str, after: Option<chrono::Duration>) {
    metrics::counter!("leadgate_manager_acknowledged_total", "manager" => manager.to_string())
        .increment(1);
    if let Some(after) = after {
        metrics::histogram!("leadgate_manager_time_to_take_seconds")
            .record(after.num_milliseconds().max(0) as f64 / 1000.0);
    }
}

/// A lead left `manager` for someone else (declined, or the SLA ran out).
pub fn manager_reassigned(manager: &str) {
    metrics::counter!("leadgate_manager_reassigned_total", "manager" => manager.to_string())
        .increment(1);
}

/// Every metric's help text.
fn describe() {
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
            "leadgate_telegram_webhook_errors_total",
            "Telegram webhook posts refused, by code.",
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
        describe_counter!(name, help);
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
        describe_gauge!(name, help);
    }
    describe_histogram!(
        "leadgate_manager_time_to_take_seconds",
        "Seconds from a lead's assignment to the manager taking it (wall clock)."
    );
    describe_histogram!(
        "leadgate_intake_group_size",
        "Items committed together by one intake group commit."
    );
}
