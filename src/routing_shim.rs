//! TEMPORARY stand-in for the routing module while it is being written.
use crate::lead::{Classification, Lead};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug)]
pub struct Manager {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub crm_user_id: HashMap<String, String>,
}
#[derive(Debug)]
pub struct CompiledRules {
    managers: Vec<Manager>,
}
#[derive(Debug)]
pub struct RulesError(pub String);
impl std::fmt::Display for RulesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl CompiledRules {
    pub fn load(_path: &Path) -> Result<CompiledRules, RulesError> {
        Ok(CompiledRules {
            managers: vec![Manager {
                id: "anna".into(),
                name: "Анна".into(),
                email: None,
                crm_user_id: HashMap::new(),
            }],
        })
    }
    pub fn version(&self) -> &str {
        "shim"
    }
    pub fn manager(&self, id: &str) -> Option<&Manager> {
        self.managers.iter().find(|m| m.id == id)
    }
    pub fn ack_deadline(&self, _m: &Manager, now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
        now + chrono::Duration::from_std(d).unwrap_or_default()
    }
    pub fn decide(&self, _lead: &Lead, ctx: &RoutingContext<'_>) -> Decision {
        Decision {
            classification: Classification {
                rule: "default".into(),
                level: "junior".into(),
                tags: vec![],
                score: 0,
            },
            outcome: Outcome::Assign(Pick {
                manager_id: "anna".into(),
                strategy: "round_robin".into(),
                level: "junior".into(),
            }),
            ack_within: Duration::from_secs(1800),
            state: ctx.state.clone(),
            trace: serde_json::json!({}),
        }
    }
}
pub struct RoutingContext<'a> {
    pub now: DateTime<Utc>,
    pub open_leads: &'a HashMap<String, u32>,
    pub previous_manager: Option<&'a str>,
    pub state: &'a StrategyState,
    pub exclude: &'a [String],
}
#[derive(Serialize, Deserialize, Default, Clone, Debug, PartialEq)]
pub struct StrategyState {}
pub struct Pick {
    pub manager_id: String,
    pub strategy: String,
    pub level: String,
}
pub enum Outcome {
    Assign(Pick),
    Hold { level: String },
    Drop { reason: String },
}
pub struct Decision {
    pub classification: Classification,
    pub outcome: Outcome,
    pub ack_within: Duration,
    pub state: StrategyState,
    pub trace: serde_json::Value,
}
#[derive(Debug, Clone)]
pub struct RulesHandle(Arc<arc_swap::ArcSwap<CompiledRules>>);
impl RulesHandle {
    pub fn new(r: CompiledRules) -> RulesHandle {
        RulesHandle(Arc::new(arc_swap::ArcSwap::from_pointee(r)))
    }
    pub fn current(&self) -> Arc<CompiledRules> {
        self.0.load_full()
    }
}
