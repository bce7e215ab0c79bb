//! Alerts: rules from the alerts file (`--alerts-file`) and from the UI (stored in the data
//! directory), evaluated in the background on the data falscope already caches, with a state
//! machine per rule ([`machine`]), a history of firings, and delivery to webhooks ([`notify`]).

pub mod detect;
pub mod evaluate;
pub mod machine;
pub mod notify;

use crate::error::AppError;
use crate::reports::Reports;
use crate::store::SqliteStore;
use chrono::Duration;
use machine::Runtime;
use notify::{Format, Message, Retry, Webhook};
use secrecy::SecretString;
use serde::Deserialize;
use shared::alerts::{
    AlertEvent, AlertRule, AlertState, AlertsView, Condition, DeliveryResult, NewRule, RuleSource,
    RuleStatus, ThresholdMetric,
};
use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::sync::Mutex;

/// Rules made in the UI per workspace at most (each is evaluated every interval).
pub const MAX_UI_RULES: usize = 100;
/// Events kept in memory when there is no data directory.
const MEMORY_HISTORY: usize = 200;
/// Events the API lists.
const HISTORY_LIMIT: u32 = 100;

/// The alerts file, parsed and checked.
#[derive(Debug, Clone)]
pub struct AlertsConfig {
    /// How often every rule is evaluated.
    pub evaluate_every: std::time::Duration,
    /// Delivery retries.
    pub retry: Retry,
    /// Where notifications go.
    pub webhooks: Vec<Webhook>,
    /// Rules of the file.
    pub rules: Vec<AlertRule>,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        Self {
            evaluate_every: std::time::Duration::from_secs(30),
            retry: Retry::default(),
            webhooks: Vec::new(),
            rules: Vec::new(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    evaluate_every_seconds: Option<u64>,
    #[serde(default)]
    delivery: Option<DeliveryFile>,
    #[serde(default)]
    webhook: Vec<WebhookFile>,
    #[serde(default)]
    rule: Vec<RuleFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliveryFile {
    attempts: Option<u32>,
    backoff_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookFile {
    name: String,
    /// The URL, or the environment variable holding it (Slack URLs are credentials).
    url: Option<String>,
    url_env: Option<String>,
    format: Format,
    /// Environment variable holding the HMAC key (generic format).
    secret_env: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    id: String,
    name: String,
    workspace: String,
    app: Option<String>,
    #[serde(default)]
    for_minutes: u32,
    condition: Condition,
}

impl AlertsConfig {
    /// Reads the alerts file; `env` looks up variables named by `url_env` and `secret_env`.
    pub fn load(path: &Path, env: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
        let file: File = toml::from_str(&text).map_err(|e| e.to_string())?;
        let mut config = Self::default();
        if let Some(s) = file.evaluate_every_seconds {
            if !(1..=3600).contains(&s) {
                return Err("evaluate_every_seconds must be 1 to 3600".into());
            }
            config.evaluate_every = std::time::Duration::from_secs(s);
        }
        if let Some(d) = file.delivery {
            config.retry = Retry {
                attempts: d.attempts.unwrap_or(config.retry.attempts).clamp(1, 10),
                backoff: d
                    .backoff_ms
                    .map_or(config.retry.backoff, std::time::Duration::from_millis),
            };
        }
        for w in file.webhook {
            let var = |name: &str, what: &str| {
                env(name).filter(|v| !v.is_empty()).ok_or_else(|| {
                    format!(
                        "webhook {:?}: environment variable {name} ({what}) is not set",
                        w.name
                    )
                })
            };
            let url = match (&w.url, &w.url_env) {
                (Some(u), None) => u.clone(),
                (None, Some(v)) => var(v, "url_env")?,
                _ => {
                    return Err(format!(
                        "webhook {:?}: give exactly one of url and url_env",
                        w.name
                    ))
                }
            };
            if !url::Url::parse(&url).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
                return Err(format!(
                    "webhook {:?}: the URL must be http or https",
                    w.name
                ));
            }
            let secret = match &w.secret_env {
                Some(v) => Some(SecretString::from(var(v, "secret_env")?)),
                None if w.format == Format::Generic => {
                    return Err(format!(
                        "webhook {:?}: the generic format is signed; set secret_env to the variable holding the HMAC key",
                        w.name
                    ))
                }
                None => None,
            };
            if config.webhooks.iter().any(|x| x.name == w.name) {
                return Err(format!("webhook name {:?} appears twice", w.name));
            }
            config.webhooks.push(Webhook {
                name: w.name,
                url: SecretString::from(url),
                format: w.format,
                secret,
            });
        }
        for r in file.rule {
            if config.rules.iter().any(|x| x.id == r.id) {
                return Err(format!("rule id {:?} appears twice", r.id));
            }
            let rule = AlertRule {
                id: r.id,
                name: r.name,
                workspace: r.workspace,
                app: r.app,
                condition: r.condition,
                for_minutes: r.for_minutes,
                source: RuleSource::File,
            };
            check(&rule).map_err(|(field, msg)| format!("rule {:?}: {field}: {msg}", rule.id))?;
            config.rules.push(rule);
        }
        Ok(config)
    }
}

/// Checks a rule's numbers: `(field, what to fix)`.
fn check(rule: &AlertRule) -> Result<(), (&'static str, String)> {
    let name_ok = !rule.name.trim().is_empty() && rule.name.chars().count() <= 80;
    if !name_ok {
        return Err(("name", "must be 1 to 80 characters".into()));
    }
    if rule.for_minutes > 1440 {
        return Err(("for_minutes", "must be 0 to 1440".into()));
    }
    match &rule.condition {
        Condition::Threshold {
            metric,
            above,
            window_minutes,
            ..
        } => {
            if !above.is_finite() || *above < 0.0 {
                return Err(("condition.above", "must be a number ≥ 0".into()));
            }
            if *metric == ThresholdMetric::ErrorRate && *above >= 1.0 {
                return Err((
                    "condition.above",
                    "an error rate is a share from 0 to 1 (0.05 = 5%)".into(),
                ));
            }
            if !(1..=1440).contains(window_minutes) {
                return Err(("condition.window_minutes", "must be 1 to 1440".into()));
            }
        }
        Condition::QueueGrowing { minutes } => {
            if !(1..=240).contains(minutes) {
                return Err(("condition.minutes", "must be 1 to 240".into()));
            }
        }
        Condition::OverBudgetPace => {}
        Condition::Anomaly {
            lookback_hours,
            sensitivity,
            ..
        } => {
            if !(24..=720).contains(lookback_hours) {
                return Err(("condition.lookback_hours", "must be 24 to 720".into()));
            }
            if !sensitivity.is_finite() || !(1.0..=20.0).contains(sensitivity) {
                return Err((
                    "condition.sensitivity",
                    "must be 1 to 20 (scaled MADs)".into(),
                ));
            }
        }
    }
    Ok(())
}

/// A checked rule of the UI from its form.
fn ui_rule(id: String, ws: &str, new: NewRule) -> Result<AlertRule, AppError> {
    let rule = AlertRule {
        id,
        name: new.name.trim().to_owned(),
        workspace: ws.to_owned(),
        app: new.app.filter(|a| !a.trim().is_empty()),
        condition: new.condition,
        for_minutes: new.for_minutes,
        source: RuleSource::Ui,
    };
    check(&rule).map_err(|(field, msg)| AppError::invalid(field, msg))?;
    Ok(rule)
}

/// Rules, their live states and the history.
pub struct Alerts {
    config: AlertsConfig,
    ui_rules: Mutex<Vec<AlertRule>>,
    runtimes: Mutex<HashMap<String, Runtime>>,
    queue_samples: Mutex<HashMap<String, evaluate::QueueSamples>>,
    memory_history: Mutex<VecDeque<AlertEvent>>,
    evaluations: AtomicU64,
    client: reqwest::Client,
    /// What rules are judged on.
    reports: Reports,
    /// Where UI rules and the history are kept, when the data directory is usable.
    db: Option<Arc<SqliteStore>>,
}

impl Alerts {
    /// Alerts of `config` judged on `reports`, with the UI's rules read from `db`.
    pub fn new(config: AlertsConfig, reports: Reports, db: Option<Arc<SqliteStore>>) -> Self {
        let ui_rules = db
            .as_ref()
            .and_then(|db| db.alert_rules().ok())
            .unwrap_or_default()
            .iter()
            .filter_map(|json| serde_json::from_str::<AlertRule>(json).ok())
            .collect();
        // A rule left firing before a restart is still firing: it is not notified again.
        let runtimes: HashMap<String, Runtime> = db
            .as_ref()
            .and_then(|db| db.last_alert_events().ok())
            .unwrap_or_default()
            .iter()
            .filter_map(|json| serde_json::from_str::<AlertEvent>(json).ok())
            .filter(|e| e.state == AlertState::Firing)
            .map(|e| {
                let rt = Runtime {
                    state: AlertState::Firing,
                    since: Some(e.at),
                    value: e.value,
                    detail: e.detail,
                    evaluated_at: None,
                };
                (e.rule_id, rt)
            })
            .collect();
        Self {
            config,
            ui_rules: Mutex::new(ui_rules),
            runtimes: Mutex::new(runtimes),
            queue_samples: Mutex::default(),
            memory_history: Mutex::default(),
            evaluations: AtomicU64::new(0),
            client: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
            reports,
            db,
        }
    }

    /// How often every rule is evaluated.
    pub fn interval(&self) -> std::time::Duration {
        self.config.evaluate_every
    }

    /// Workspaces named by the file's rules (checked against the configured ones at start).
    pub fn file_workspaces(&self) -> impl Iterator<Item = &str> {
        self.config.rules.iter().map(|r| r.workspace.as_str())
    }

    /// Every rule, file first.
    pub fn rules(&self) -> Vec<AlertRule> {
        let ui = lock(&self.ui_rules);
        self.config.rules.iter().chain(ui.iter()).cloned().collect()
    }

    /// `(workspace, rule name, state)` of every rule, for `/metrics`.
    pub fn states(&self) -> Vec<(AlertRule, AlertState)> {
        let runtimes = lock(&self.runtimes);
        self.rules()
            .into_iter()
            .map(|r| {
                let s = runtimes
                    .get(&r.id)
                    .map_or(AlertState::Inactive, |rt| rt.state);
                (r, s)
            })
            .collect()
    }

    /// What the Alerts page shows for `ws`. Without `show_spend` (a caller below billing), the
    /// values and findings of rules that read spend are withheld, in the rules and the history.
    pub fn view(&self, ws: &str, show_spend: bool) -> AlertsView {
        let runtimes = lock(&self.runtimes);
        let mut rules: Vec<RuleStatus> = self
            .rules()
            .into_iter()
            .filter(|r| r.workspace == ws)
            .map(|rule| {
                let rt = runtimes.get(&rule.id).cloned().unwrap_or_default();
                RuleStatus {
                    rule,
                    state: rt.state,
                    since: rt.since,
                    value: rt.value,
                    detail: rt.detail,
                    evaluated_at: rt.evaluated_at,
                }
            })
            .collect();
        drop(runtimes);
        let rank = |s: AlertState| match s {
            AlertState::Firing => 0,
            AlertState::Pending => 1,
            AlertState::Resolved => 2,
            AlertState::Inactive => 3,
        };
        rules.sort_by_key(|r| rank(r.state));
        let mut history = self.history(ws);
        if !show_spend {
            let spend_rules: std::collections::HashSet<&str> = rules
                .iter()
                .filter(|r| r.rule.condition.reads_spend())
                .map(|r| r.rule.id.as_str())
                .collect();
            let known: std::collections::HashSet<&str> =
                rules.iter().map(|r| r.rule.id.as_str()).collect();
            for e in &mut history {
                // A deleted rule's kind is unknown: withheld too.
                let rule = e.rule_id.as_str();
                if spend_rules.contains(rule) || !known.contains(rule) {
                    e.value = None;
                    e.detail = shared::alerts::SPEND_HIDDEN.into();
                }
            }
            for r in rules.iter_mut().filter(|r| r.rule.condition.reads_spend()) {
                r.value = None;
                r.detail = shared::alerts::SPEND_HIDDEN.into();
            }
        }
        AlertsView {
            rules,
            history,
            webhooks: self.config.webhooks.iter().map(Webhook::info).collect(),
            editable: self.db.is_some(),
            evaluations: self.evaluations.load(Ordering::Relaxed),
            evaluate_every_seconds: self.config.evaluate_every.as_secs_f64(),
        }
    }

    fn history(&self, ws: &str) -> Vec<AlertEvent> {
        match &self.db {
            Some(db) => db
                .alert_events(ws, HISTORY_LIMIT)
                .unwrap_or_default()
                .iter()
                .filter_map(|j| serde_json::from_str(j).ok())
                .collect(),
            None => lock(&self.memory_history)
                .iter()
                .rev()
                .filter(|e| e.workspace == ws)
                .take(HISTORY_LIMIT as usize)
                .cloned()
                .collect(),
        }
    }

    /// Adds a rule made in the UI.
    pub fn add(&self, ws: &str, new: NewRule) -> Result<AlertRule, AppError> {
        let Some(db) = &self.db else {
            return Err(AppError::Conflict(
                "rules made in the UI are stored in --data-dir (FALSCOPE_DATA_DIR), which is not usable; fix it or add the rule to --alerts-file".into(),
            ));
        };
        let rule = ui_rule(format!("ui-{}", uuid::Uuid::new_v4().simple()), ws, new)?;
        if lock(&self.ui_rules)
            .iter()
            .filter(|r| r.workspace == ws)
            .count()
            >= MAX_UI_RULES
        {
            return Err(AppError::Conflict(format!(
                "this workspace has {MAX_UI_RULES} rules made in the UI already; delete some first"
            )));
        }
        let json = serde_json::to_string(&rule).map_err(|e| AppError::Internal(e.to_string()))?;
        db.insert_alert_rule(&rule.id, ws, &json)?;
        lock(&self.ui_rules).push(rule.clone());
        Ok(rule)
    }

    /// Replaces the settings of a rule made in the UI. Its state carries over: a firing rule
    /// whose new condition no longer holds resolves (and says so) at the next evaluation.
    pub fn update(&self, ws: &str, id: &str, new: NewRule) -> Result<AlertRule, AppError> {
        self.refuse_file_rule(ws, id)?;
        let db = self
            .db
            .as_ref()
            .ok_or_else(|| AppError::NotFound(format!("alert rule {id:?}")))?;
        let rule = ui_rule(id.to_owned(), ws, new)?;
        let json = serde_json::to_string(&rule).map_err(|e| AppError::Internal(e.to_string()))?;
        if !db.update_alert_rule(id, ws, &json)? {
            return Err(AppError::NotFound(format!("alert rule {id:?}")));
        }
        for r in lock(&self.ui_rules).iter_mut().filter(|r| r.id == id) {
            *r = rule.clone();
        }
        lock(&self.queue_samples).remove(id);
        Ok(rule)
    }

    fn refuse_file_rule(&self, ws: &str, id: &str) -> Result<(), AppError> {
        if self
            .config
            .rules
            .iter()
            .any(|r| r.id == id && r.workspace == ws)
        {
            return Err(AppError::Conflict(format!(
                "rule {id:?} is defined in --alerts-file (FALSCOPE_ALERTS_FILE); change it there"
            )));
        }
        Ok(())
    }

    /// Deletes a rule made in the UI.
    pub fn remove(&self, ws: &str, id: &str) -> Result<(), AppError> {
        self.refuse_file_rule(ws, id)?;
        let Some(db) = &self.db else {
            return Err(AppError::NotFound(format!("alert rule {id:?}")));
        };
        if !db.delete_alert_rule(id, ws)? {
            return Err(AppError::NotFound(format!("alert rule {id:?}")));
        }
        lock(&self.ui_rules).retain(|r| r.id != id);
        lock(&self.runtimes).remove(id);
        lock(&self.queue_samples).remove(id);
        Ok(())
    }

    /// Evaluates every rule once; notifications are sent in the background.
    pub async fn evaluate(self: &Arc<Self>) {
        for rule in self.rules() {
            let mut samples = lock(&self.queue_samples)
                .remove(&rule.id)
                .unwrap_or_default();
            let verdict =
                evaluate::judge(&self.reports, self.interval(), &rule, &mut samples).await;
            // Deleted while it was being judged: nothing to record. (File rules stay.)
            let kept = rule.source == RuleSource::File
                || lock(&self.ui_rules).iter().any(|r| r.id == rule.id);
            if !kept {
                continue;
            }
            lock(&self.queue_samples).insert(rule.id.clone(), samples);
            let now = self.reports.now();
            let hold = Duration::minutes(i64::from(rule.for_minutes));
            let changed = {
                let mut runtimes = lock(&self.runtimes);
                let rt = runtimes.entry(rule.id.clone()).or_default();
                rt.step(verdict, now, hold)
                    .map(|s| (s, rt.value, rt.detail.clone()))
            };
            if let Some((state_now, value, detail)) = changed {
                let event = AlertEvent {
                    rule_id: rule.id.clone(),
                    rule_name: rule.name.clone(),
                    workspace: rule.workspace.clone(),
                    state: state_now,
                    at: now,
                    value,
                    detail,
                };
                self.record(&event);
                self.dispatch(rule, event);
            }
        }
        self.evaluations.fetch_add(1, Ordering::Relaxed);
    }

    fn record(&self, event: &AlertEvent) {
        tracing::info!(target: "falscope::alerts", rule = %event.rule_id, workspace = %event.workspace, state = event.state.as_str(), detail = %event.detail, "alert {}", event.state.as_str());
        let stored = self.db.as_ref().is_some_and(|db| {
            serde_json::to_string(event).ok().is_some_and(|j| {
                db.insert_alert_event(&event.workspace, &event.rule_id, event.at, &j)
                    .is_ok()
            })
        });
        if !stored {
            let mut h = lock(&self.memory_history);
            h.push_back(event.clone());
            while h.len() > MEMORY_HISTORY {
                h.pop_front();
            }
        }
    }

    fn dispatch(self: &Arc<Self>, rule: AlertRule, event: AlertEvent) {
        if self.config.webhooks.is_empty() {
            return;
        }
        let alerts = Arc::clone(self);
        tokio::spawn(async move {
            let message = Message::Alert {
                event: &event,
                rule: &rule,
            };
            for hook in &alerts.config.webhooks {
                let r =
                    notify::deliver(&alerts.client, hook, &message, alerts.config.retry, || {
                        alerts.reports.now().timestamp()
                    })
                    .await;
                if !r.ok {
                    tracing::warn!(webhook = %r.webhook, attempts = r.attempts, detail = %r.detail, "alert notification not delivered");
                }
            }
        });
    }

    /// Sends a test notification to every webhook and waits for the outcomes.
    pub async fn send_test(&self, ws: &str, who: &str) -> Vec<DeliveryResult> {
        let message = Message::Test {
            workspace: ws,
            sent_by: who,
        };
        let mut out = Vec::new();
        for hook in &self.config.webhooks {
            out.push(
                notify::deliver(&self.client, hook, &message, self.config.retry, || {
                    self.reports.now().timestamp()
                })
                .await,
            );
        }
        out
    }

    /// Evaluates every `evaluate_every` until shutdown.
    pub async fn run(self: Arc<Self>, shutdown: tokio_util::sync::CancellationToken) {
        let mut tick = tokio::time::interval(self.interval());
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = shutdown.cancelled() => return,
            }
            self.evaluate().await;
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_left_firing_is_not_notified_again_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::store::SqliteStore::open(dir.path()).unwrap();
        let at = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let event = |state| AlertEvent {
            rule_id: "queue".into(),
            rule_name: "Queue".into(),
            workspace: "default".into(),
            state,
            at,
            value: Some(60.0),
            detail: "queue is 60".into(),
        };
        for e in [
            event(AlertState::Firing),
            event(AlertState::Resolved),
            event(AlertState::Firing),
        ] {
            let json = serde_json::to_string(&e).unwrap();
            db.insert_alert_event("default", "queue", e.at, &json)
                .unwrap();
        }
        let rule = AlertRule {
            id: "queue".into(),
            name: "Queue".into(),
            workspace: "default".into(),
            app: None,
            condition: Condition::QueueGrowing { minutes: 5 },
            for_minutes: 0,
            source: RuleSource::File,
        };
        let config = AlertsConfig {
            rules: vec![rule],
            ..AlertsConfig::default()
        };
        let reports = Reports::new(
            Vec::new(),
            crate::cache::Cache::new(1 << 20),
            Arc::new(crate::clock::SystemClock),
            Some(db.clone()),
            None,
        );
        let alerts = Alerts::new(config, reports, Some(db));
        assert_eq!(
            alerts.states()[0].1,
            AlertState::Firing,
            "the last event wins"
        );
        let mut rt = lock(&alerts.runtimes).get("queue").cloned().unwrap();
        let holds = machine::Verdict::Holds {
            value: 61.0,
            detail: "still".into(),
        };
        assert_eq!(
            rt.step(holds, at, Duration::zero()),
            None,
            "no second notification"
        );
    }

    #[test]
    fn the_file_names_what_to_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.toml");
        let env = |k: &str| (k == "HOOK_SECRET").then(|| "s3cret".to_owned());
        std::fs::write(
            &path,
            r#"
evaluate_every_seconds = 15
[delivery]
attempts = 3
backoff_ms = 50
[[webhook]]
name = "ops"
url = "https://hooks.example.com/falscope"
format = "generic"
secret_env = "HOOK_SECRET"
[[rule]]
id = "queue"
name = "Queue above 50"
workspace = "default"
app = "flux-studio"
for_minutes = 5
condition = { kind = "threshold", metric = "queue_size", above = 50 }
[[rule]]
id = "cost-spike"
name = "Hourly cost anomaly"
workspace = "default"
condition = { kind = "anomaly", metric = "hourly_cost" }
"#,
        )
        .unwrap();
        let c = AlertsConfig::load(&path, env).unwrap();
        assert_eq!(c.evaluate_every, std::time::Duration::from_secs(15));
        assert_eq!(c.retry.attempts, 3);
        assert_eq!(c.webhooks[0].info().host, "hooks.example.com");
        assert!(!format!("{:?}", c.webhooks[0]).contains("s3cret"));
        assert_eq!(c.rules.len(), 2);
        assert!(matches!(
            c.rules[1].condition,
            Condition::Anomaly {
                lookback_hours: 72,
                ..
            }
        ));
        for (bad, hint) in [
            ("[[webhook]]\nname = \"x\"\nurl = \"https://h\"\nformat = \"generic\"\n", "secret_env"),
            ("[[webhook]]\nname = \"x\"\nurl_env = \"NOPE\"\nformat = \"slack\"\n", "NOPE"),
            ("[[rule]]\nid = \"a\"\nname = \"a\"\nworkspace = \"w\"\ncondition = { kind = \"threshold\", metric = \"error_rate\", above = 5 }\n", "share from 0 to 1"),
            ("[[rule]]\nid = \"a\"\nname = \"a\"\nworkspace = \"w\"\ncondition = { kind = \"anomaly\", metric = \"hourly_cost\", sensitivity = 0.1 }\n", "sensitivity"),
            ("bogus = 1\n", "unknown field"),
        ] {
            std::fs::write(&path, bad).unwrap();
            let e = AlertsConfig::load(&path, env).unwrap_err();
            assert!(e.contains(hint), "{e}");
        }
    }
}
