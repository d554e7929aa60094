//! One attempt at a webhook sink's outbox row: the envelope POSTed as it is, or its preset
//! request's steps in order from the first not yet done.
//!
//! After each step the CRM took, what it captured and the step count are committed
//! (`Store::record_step`) before the next step, so a retry never repeats a call that
//! succeeded (only a crash between the CRM's answer and that commit can). A step that needs a
//! value no answer has given yet is not sent: the row is retried later.

use super::retry::{Attempt, Verdict, classify};
use super::webhook::{PostResult, WebhookSink};
use crate::connectors::{Preset, Rendered, Step};
use crate::store::{OutboxRow, PresetPlan, Store};
use chrono::{DateTime, Utc};

/// Sends what is left of `row` once.
pub(super) async fn attempt(
    sink: &WebhookSink,
    preset: Option<&Preset>,
    store: &dyn Store,
    row: &OutboxRow,
    now: DateTime<Utc>,
) -> PostResult {
    match (&row.plan, preset) {
        (None, _) => {
            let envelope = Rendered {
                method: "POST".into(),
                path: String::new(),
                headers: Vec::new(),
                body: row.body.clone(),
            };
            sink.post(&row.event_id, &envelope, false, now).await
        }
        (Some(PresetPlan::Error(e)), _) => {
            PostResult::without_call(Attempt::Unsendable, Some(e.clone()))
        }
        (Some(PresetPlan::Request(_)), None) => PostResult::without_call(
            Attempt::Unsendable,
            Some("queued for a CRM preset, but the sink has none now".into()),
        ),
        (Some(PresetPlan::Request(request)), Some(preset)) => {
            steps(sink, preset, store, row, *request, now).await
        }
    }
}

async fn steps(
    sink: &WebhookSink,
    preset: &Preset,
    store: &dyn Store,
    row: &OutboxRow,
    request: usize,
    now: DateTime<Utc>,
) -> PostResult {
    let stop = |attempt, error: String| PostResult::without_call(attempt, Some(error));
    let envelope: serde_json::Value = match serde_json::from_str(&row.body) {
        Ok(v) => v,
        Err(e) => {
            return stop(
                Attempt::Unsendable,
                format!("the stored event is not JSON: {e}"),
            );
        }
    };
    let mut crm = match store.crm_refs(&row.sink, &row.lead_id).await {
        Ok(c) => c,
        Err(e) => {
            return stop(
                Attempt::NotReady,
                format!("cannot read captured values: {e}"),
            );
        }
    };
    let mut step = row.step as usize;
    let mut last = None;
    loop {
        let call = match preset.step(request, step, &envelope, &crm) {
            Err(e) => return stop(Attempt::Unsendable, e.to_string()),
            Ok(Step::Done) => {
                return last.unwrap_or_else(|| PostResult::without_call(Attempt::Completed, None));
            }
            Ok(Step::Skip) => {
                step += 1;
                continue;
            }
            Ok(Step::Waiting(names)) => {
                let names: Vec<String> = names.iter().map(|n| format!("crm.{n}")).collect();
                return stop(
                    Attempt::NotReady,
                    format!(
                        "step {} waits for {}, which this CRM has not answered yet (an earlier event of the lead is not delivered)",
                        step + 1,
                        names.join(", ")
                    ),
                );
            }
            Ok(Step::Send(call)) => call,
        };
        let keep = preset.captures(request, step);
        let mut posted = sink.post(&row.event_id, &call, keep, now).await;
        let label = format!("step {} ({} {})", step + 1, call.method, call.path);
        if classify(&posted.attempt) != Verdict::Delivered {
            posted.error = posted.error.map(|e| format!("{label}: {e}"));
            return posted;
        }
        let answer = posted.answer.take().unwrap_or_default();
        let captured = match preset.capture(request, step, &answer) {
            Ok(c) => c,
            Err(e) => return stop(Attempt::Unsendable, e),
        };
        let done = step as u32 + 1;
        match store.record_step(row, done, &captured, now).await {
            Ok(true) => {}
            Ok(false) => {
                return stop(
                    Attempt::NotReady,
                    format!(
                        "{label} succeeded after this claim's lease ran out: another claim holds the row now and goes on from its own progress"
                    ),
                );
            }
            Err(e) => {
                return stop(
                    Attempt::NotReady,
                    format!(
                        "{label} succeeded, but its progress could not be kept ({e}): it will be sent again"
                    ),
                );
            }
        }
        crm.extend(captured);
        step += 1;
        last = Some(posted);
    }
}
