//! The rules page: the version in force, the last reload's result (a refused save with every
//! problem, file, line and fix), the file itself, and a tester that routes a pasted lead
//! record or raw sample as `leadgate route` does, but with the live store's state: the
//! managers' open leads, the rotation, and the contact's previous manager.

use super::auth::Signed;
use super::leads::store_failed;
use super::page::render_status;
use crate::http::AppState;
use crate::lead::{Channel, Lead, Parsed, normalise, sample_lead};
use crate::routing::STRATEGY_STATE_KEY;
use crate::routing::{ReloadStatus, RoutingContext, StrategyState};
use crate::sources::parse_sample;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;

/// The tester's choice that reads the sample as a lead record (`leadgate.lead.v1` JSON, as
/// `leadgate route` without `--channel` takes it) rather than a channel's raw item.
const LEAD_RECORD: &str = "lead";

/// The page, with the tester's last sample and result when there is one.
fn page(signed: &Signed, app: &AppState, status: StatusCode, tried: minijinja::Value) -> Response {
    let rules = app.rules.current();
    let reload = app.rules.status().borrow().clone();
    let state = reload.state();
    let refused = match &reload {
        ReloadStatus::Refused { error, .. } => Some(error.clone()),
        _ => None,
    };
    let file = std::fs::read_to_string(&app.config.routing_file).unwrap_or_default();
    render_status(
        &signed.frame,
        status,
        "rules.html",
        context! {
            version => rules.version(),
            state, refused,
            path => app.config.routing_file.display().to_string(),
            file,
            choices => choices(app),
            ..tried
        },
    )
}

/// What the tester may read a sample as, `(value, label)`: a lead record, each configured
/// source (`source:<id>`, so that rules on `source` can be tried for every one), and each
/// channel no source is configured for.
fn choices(app: &AppState) -> Vec<(String, String)> {
    let sources = &app.config.sources;
    let mut out = vec![(LEAD_RECORD.to_string(), String::new())];
    for s in sources.iter() {
        let label = format!("{}: {}", s.channel.as_str(), s.id);
        out.push((format!("{SOURCE_PREFIX}{}", s.id), label));
    }
    for channel in Channel::ALL {
        if app.config.first_source(channel).is_none() {
            out.push((channel.as_str().to_string(), channel.as_str().to_string()));
        }
    }
    out
}

/// The tester's value for a configured source: `source:<id>`.
const SOURCE_PREFIX: &str = "source:";

/// The rules page.
pub async fn show(signed: Signed, State(app): State<AppState>) -> Response {
    page(&signed, &app, StatusCode::OK, context! {})
}

/// The tester's form.
#[derive(Debug, Deserialize)]
pub struct TestForm {
    #[serde(default)]
    csrf: String,
    channel: String,
    sample: String,
}

/// Routes the sample with the live store's state; nothing is written.
pub async fn test(
    signed: Signed,
    State(app): State<AppState>,
    Form(form): Form<TestForm>,
) -> Response {
    if let Some(refused) = signed.refuse_without_csrf(&form.csrf) {
        return refused;
    }
    let tried = |result: String, ok: bool| {
        context! { sample => form.sample.clone(), channel => form.channel.clone(), result, ok }
    };
    let rules = app.rules.current();
    let now = app.clock.now();
    let leads: Vec<Result<Lead, String>> = if form.channel == LEAD_RECORD {
        match sample_lead(form.sample.as_bytes(), now) {
            Ok(lead) => vec![Ok(lead)],
            Err(e) => {
                let msg = format!("{e}");
                return page(&signed, &app, StatusCode::BAD_REQUEST, tried(msg, false));
            }
        }
    } else {
        // Read, and routed, as the source chosen, else the channel's first: rules on `source`
        // see its id.
        let chosen = match form.channel.strip_prefix(SOURCE_PREFIX) {
            Some(id) => (app.config.sources.iter())
                .find(|s| s.id == id)
                .map(|s| (s.channel, Some(s.id))),
            None => Channel::parse(&form.channel).map(|c| (c, app.config.first_source(c))),
        };
        let Some((channel, source)) = chosen else {
            let msg = format!("{:?} is not a source or a channel", form.channel);
            return page(&signed, &app, StatusCode::BAD_REQUEST, tried(msg, false));
        };
        parse_sample(
            &app.config.source_settings(),
            channel,
            source,
            form.sample.as_bytes(),
        )
        .await
        .into_iter()
        .map(|p| match p {
            Parsed::NotLead(n) => Err(format!("not a lead: {} ({})", n.reason, n.detail)),
            Parsed::Lead(d) => {
                let draft = normalise(d, &app.config.phones, &app.config.own_contacts);
                Ok(Lead::unrouted(
                    "sample".into(),
                    now,
                    channel,
                    source.unwrap_or("sample").into(),
                    draft,
                ))
            }
        })
        .collect()
    };
    let mut tx = match app.store.begin().await {
        Ok(tx) => tx,
        Err(e) => return store_failed(&signed, &e),
    };
    let mut out = Vec::new();
    for lead in leads {
        let lead = match lead {
            Ok(lead) => lead,
            Err(said) => {
                out.push(said);
                continue;
            }
        };
        if !lead.contact.is_reachable() {
            out.push("not a lead: no way to answer the person (no valid phone, e-mail or messenger account)".into());
            continue;
        }
        let live = async {
            let open = tx.open_leads_per_manager().await?;
            let state: StrategyState = tx
                .get_cursor(STRATEGY_STATE_KEY)
                .await?
                .and_then(|s| serde_json::from_str(&s).ok())
                .unwrap_or_default();
            let previous = tx.previous_lead(&lead.contact.identity_keys()).await?;
            Ok::<_, crate::store::StoreError>((open, state, previous))
        };
        let (open, state, previous) = match live.await {
            Ok(l) => l,
            Err(e) => return store_failed(&signed, &e),
        };
        let previous_manager = previous.as_ref().and_then(|p| p.manager_id.clone());
        let ctx = RoutingContext {
            now,
            open_leads: &open,
            previous_manager: previous_manager.as_deref(),
            state: &state,
            exclude: &[],
        };
        let mut said = format!(
            "open leads now: {}\nprevious lead of this contact: {}\n\n",
            if open.is_empty() {
                "none".to_string()
            } else {
                let mut o: Vec<_> = open.iter().map(|(m, n)| format!("{m} {n}")).collect();
                o.sort();
                o.join(", ")
            },
            match &previous {
                Some(p) => format!(
                    "{} (manager {})",
                    p.id,
                    p.manager_id.as_deref().unwrap_or("none")
                ),
                None => "none".into(),
            }
        );
        said.push_str(&rules.decide(&lead, &ctx).trace.to_string());
        out.push(said);
    }
    // Nothing was written: the transaction ends without a commit.
    drop(tx);
    if out.is_empty() {
        out.push("the sample holds no item".into());
    }
    page(&signed, &app, StatusCode::OK, tried(out.join("\n\n"), true))
}
