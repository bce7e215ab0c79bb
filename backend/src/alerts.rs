//! Alerts: rules from the alerts file (`--alerts-file`) and from the UI (stored in the data
//! directory), evaluated in the background on the data falscope already caches, with a state
//! machine per rule ([`machine`]), a history of firings, and delivery to webhooks ([`notify`]).

mod config;
pub mod detect;
mod engine;
pub mod evaluate;
pub mod machine;
pub mod notify;

use config::ui_rule;
pub use config::AlertsConfig;

use crate::error::AppError;
use crate::reports::Reports;
use crate::store::Store;
use machine::Runtime;
use notify::Webhook;
use shared::alerts::{AlertEvent, AlertRule, AlertState, AlertsView, NewRule, RuleStatus};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::sync::Mutex;

/// Rules made in the UI per workspace at most (each is evaluated every interval).
pub const MAX_UI_RULES: usize = 100;
/// Events kept in memory when there is no data directory.
const MEMORY_HISTORY: usize = 200;
/// Events the API lists.
const HISTORY_LIMIT: u32 = 100;

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
    db: Option<Arc<Store>>,
    /// Held by the one replica that records state changes and sends notifications.
    lease: Arc<crate::cluster::Lease>,
    /// How many times this replica had taken the lease when it last read the recorded states.
    led: AtomicU64,
    /// One delivery of the outbox at a time.
    delivering: tokio::sync::Mutex<()>,
}

impl Alerts {
    /// Alerts of `config` judged on `reports`, keeping UI rules and history in `db` (read by
    /// [`Alerts::load`]). Every replica judges the rules (its Alerts page is live); only the
    /// holder of `lease` records changes and notifies.
    pub fn new(
        config: AlertsConfig,
        reports: Reports,
        db: Option<Arc<Store>>,
        lease: Arc<crate::cluster::Lease>,
    ) -> Self {
        Self {
            config,
            ui_rules: Mutex::default(),
            runtimes: Mutex::default(),
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
            lease,
            led: AtomicU64::new(0),
            delivering: tokio::sync::Mutex::new(()),
        }
    }

    /// Reads the UI's rules and the state each rule was left in from the database, and closes
    /// what removed rules left open. A rule left firing before a restart is still firing: it
    /// is not notified again.
    pub async fn load(&self) {
        self.refresh_rules().await;
        if self.lease.held() {
            self.take_over().await;
        }
    }

    /// Becomes the replica that records and notifies: the states recorded (by this replica
    /// before a restart, or by the one that held the lease before) are where each rule is,
    /// so a change another replica recorded is not recorded or sent again.
    async fn take_over(&self) {
        self.led
            .store(self.lease.taken.load(Ordering::Relaxed), Ordering::Relaxed);
        let Some(db) = &self.db else { return };
        let last: Vec<AlertEvent> = match db.last_alert_events().await {
            Ok(events) => events,
            Err(err) => {
                // Tried again at the next evaluation; the states judged so far stay.
                tracing::warn!(%err, "cannot read the recorded alert states");
                self.led.store(0, Ordering::Relaxed);
                return;
            }
        }
        .iter()
        .filter_map(|json| serde_json::from_str::<AlertEvent>(json).ok())
        .collect();
        *lock(&self.runtimes) = last
            .iter()
            .filter(|e| e.state == AlertState::Firing)
            .map(|e| {
                let rt = Runtime {
                    state: AlertState::Firing,
                    since: Some(e.at),
                    value: e.value,
                    detail: e.detail.clone(),
                    evaluated_at: None,
                };
                (e.rule_id.clone(), rt)
            })
            .collect();
        self.close_removed(last).await;
    }

    /// Reads the UI's rules again: another replica sharing the database may have changed them.
    /// Kept as they were when the database cannot be read.
    pub async fn refresh_rules(&self) {
        let Some(db) = &self.db else { return };
        match db.alert_rules().await {
            Ok(rules) => {
                *lock(&self.ui_rules) = rules
                    .iter()
                    .filter_map(|json| serde_json::from_str::<AlertRule>(json).ok())
                    .collect();
            }
            Err(err) => tracing::warn!(%err, "cannot read the alert rules; using the last read"),
        }
    }

    /// Closes what rules that no longer exist (removed from the file, or deleted while the
    /// data directory was elsewhere) left firing or pending: history would say "firing"
    /// for ever.
    async fn close_removed(&self, last: Vec<AlertEvent>) {
        let known: std::collections::HashSet<String> =
            self.rules().into_iter().map(|r| r.id).collect();
        let orphans: Vec<AlertEvent> = last
            .into_iter()
            .filter(|e| matches!(e.state, AlertState::Firing | AlertState::Pending))
            .filter(|e| !known.contains(&e.rule_id))
            .collect();
        for e in orphans {
            lock(&self.runtimes).remove(&e.rule_id);
            self.close(
                e.rule_id,
                e.rule_name,
                e.workspace,
                "the rule was removed from --alerts-file; no longer evaluated",
            )
            .await;
        }
    }

    /// Records that a rule which is no longer evaluated is resolved, saying why.
    async fn close(&self, rule_id: String, rule_name: String, workspace: String, why: &str) {
        self.record(&AlertEvent {
            rule_id,
            rule_name,
            workspace,
            state: AlertState::Resolved,
            at: self.reports.now(),
            value: None,
            detail: why.into(),
        })
        .await;
    }

    /// Evaluation rounds run so far.
    pub fn evaluations(&self) -> u64 {
        self.evaluations.load(Ordering::Relaxed)
    }

    /// The lease of the replica that records and notifies (started with the jobs).
    pub fn lease(&self) -> &Arc<crate::cluster::Lease> {
        &self.lease
    }

    /// Whether this replica records changes and sends notifications now.
    pub fn leading(&self) -> bool {
        self.lease.held()
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
    pub async fn view(&self, ws: &str, show_spend: bool) -> AlertsView {
        self.refresh_rules().await;
        let history = self.history(ws).await;
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
        let mut history = history;
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

    async fn history(&self, ws: &str) -> Vec<AlertEvent> {
        match &self.db {
            Some(db) => db
                .alert_events(ws, HISTORY_LIMIT)
                .await
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
    pub async fn add(&self, ws: &str, new: NewRule) -> Result<AlertRule, AppError> {
        let Some(db) = &self.db else {
            return Err(AppError::Conflict(
                "rules made in the UI are stored in --data-dir (FALSCOPE_DATA_DIR), which is not usable; fix it or add the rule to --alerts-file".into(),
            ));
        };
        let rule = ui_rule(format!("ui-{}", uuid::Uuid::new_v4().simple()), ws, new)?;
        self.refresh_rules().await;
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
        db.insert_alert_rule(&rule.id, ws, &json).await?;
        lock(&self.ui_rules).push(rule.clone());
        Ok(rule)
    }

    /// Replaces the settings of a rule made in the UI. Its state carries over: a firing rule
    /// whose new condition no longer holds resolves (and says so) at the next evaluation.
    pub async fn update(&self, ws: &str, id: &str, new: NewRule) -> Result<AlertRule, AppError> {
        self.refuse_file_rule(ws, id)?;
        let db = self
            .db
            .as_ref()
            .ok_or_else(|| AppError::NotFound(format!("alert rule {id:?}")))?;
        let rule = ui_rule(id.to_owned(), ws, new)?;
        let json = serde_json::to_string(&rule).map_err(|e| AppError::Internal(e.to_string()))?;
        if !db.update_alert_rule(id, ws, &json).await? {
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
    pub async fn remove(&self, ws: &str, id: &str) -> Result<(), AppError> {
        self.refuse_file_rule(ws, id)?;
        let Some(db) = &self.db else {
            return Err(AppError::NotFound(format!("alert rule {id:?}")));
        };
        if !db.delete_alert_rule(id, ws).await? {
            return Err(AppError::NotFound(format!("alert rule {id:?}")));
        }
        let removed = {
            let mut rules = lock(&self.ui_rules);
            let removed = rules.iter().find(|r| r.id == id).cloned();
            rules.retain(|r| r.id != id);
            removed
        };
        let open = lock(&self.runtimes)
            .remove(id)
            .is_some_and(|rt| matches!(rt.state, AlertState::Firing | AlertState::Pending));
        lock(&self.queue_samples).remove(id);
        if let Some(rule) = removed.filter(|_| open) {
            self.close(
                rule.id,
                rule.name,
                rule.workspace,
                "the rule was deleted; no longer evaluated",
            )
            .await;
        }
        Ok(())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use shared::alerts::{Condition, RuleSource};

    /// Alerts with one queue-growth rule `id` from the alerts file, stored in `db`.
    async fn with_file_rule(id: &str, db: Arc<crate::store::Store>) -> Alerts {
        let rule = AlertRule {
            id: id.into(),
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
            crate::cache::Cache::new(1 << 20, Arc::new(crate::clock::SystemClock)),
            Arc::new(crate::clock::SystemClock),
            Some(db.clone()),
            crate::cluster::Cluster::alone(),
        );
        let alerts = Alerts::new(
            config,
            reports,
            Some(db),
            crate::cluster::Lease::new(&crate::cluster::Cluster::alone(), "alerts"),
        );
        alerts.load().await;
        alerts
    }

    #[tokio::test]
    async fn rules_from_the_alerts_file_are_read_only_through_the_api() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::store::Store::open(dir.path()).unwrap();
        let alerts = with_file_rule("from-file", db).await;
        let edit = NewRule {
            name: "Mine now".into(),
            app: None,
            condition: Condition::QueueGrowing { minutes: 10 },
            for_minutes: 0,
        };
        let conflict = |r: Result<(), AppError>| matches!(r, Err(AppError::Conflict(m)) if m.contains("--alerts-file"));
        assert!(conflict(
            alerts
                .update("default", "from-file", edit.clone())
                .await
                .map(drop)
        ));
        assert!(conflict(alerts.remove("default", "from-file").await));
        // A UI rule of the same workspace is editable.
        let mine = alerts.add("default", edit.clone()).await.unwrap();
        assert!(alerts.update("default", &mine.id, edit).await.is_ok());
        assert!(alerts.remove("default", &mine.id).await.is_ok());
    }

    #[tokio::test]
    async fn a_rule_left_firing_is_not_notified_again_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::store::Store::open(dir.path()).unwrap();
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
                .await
                .unwrap();
        }
        let alerts = with_file_rule("queue", db).await;
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

    #[tokio::test]
    async fn a_rule_removed_while_firing_is_resolved_in_the_history() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::store::Store::open(dir.path()).unwrap();
        let firing = AlertEvent {
            rule_id: "gone".into(),
            rule_name: "Gone".into(),
            workspace: "default".into(),
            state: AlertState::Firing,
            at: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            value: Some(60.0),
            detail: "queue is 60".into(),
        };
        let json = serde_json::to_string(&firing).unwrap();
        db.insert_alert_event("default", "gone", firing.at, &json)
            .await
            .unwrap();
        // Restarted with a file that no longer has the rule "gone".
        let alerts = with_file_rule("kept", db.clone()).await;
        let last = &alerts.view("default", true).await.history[0];
        assert_eq!(
            (last.rule_id.as_str(), last.state),
            ("gone", AlertState::Resolved)
        );
        assert!(last.detail.contains("removed"), "{}", last.detail);
        // Once: a second restart finds nothing open.
        let again = with_file_rule("kept", db).await;
        assert_eq!(again.view("default", true).await.history.len(), 2);

        // A UI rule deleted while firing resolves too.
        let mine = again
            .add(
                "default",
                NewRule {
                    name: "Mine".into(),
                    app: None,
                    condition: Condition::QueueGrowing { minutes: 10 },
                    for_minutes: 0,
                },
            )
            .await
            .unwrap();
        lock(&again.runtimes).insert(
            mine.id.clone(),
            Runtime {
                state: AlertState::Firing,
                ..Runtime::default()
            },
        );
        again.remove("default", &mine.id).await.unwrap();
        let last = &again.view("default", true).await.history[0];
        assert_eq!(
            (last.rule_id.as_str(), last.state),
            (mine.id.as_str(), AlertState::Resolved)
        );
    }
}
