//! The engine: every rule judged on the reports (`evaluate`), its state machine stepped, changes
//! recorded in the history and sent to the webhooks, on a fixed interval until shutdown.

use super::notify::{self, Message};
use super::{evaluate, lock, Alerts, MEMORY_HISTORY};
use chrono::Duration;
use shared::alerts::{AlertEvent, AlertRule, DeliveryResult, RuleSource};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// How long a claimed notification waits before it is tried again (its sender died, or a
/// webhook refused it).
const OUTBOX_RETRY: Duration = Duration::minutes(5);
/// A notification still not taken by every webhook after this long is given up on.
const OUTBOX_GIVE_UP: Duration = Duration::hours(24);

impl Alerts {
    /// Evaluates every rule once; notifications are sent in the background.
    pub async fn evaluate(self: &Arc<Self>) {
        self.refresh_rules().await;
        let leading = self.lease.held();
        if leading && self.lease.taken.load(Ordering::Relaxed) != self.led.load(Ordering::Relaxed) {
            self.take_over().await;
        }
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
                if leading {
                    self.notify(rule, event).await;
                }
            }
        }
        if leading {
            self.deliver_outbox();
        }
        self.evaluations.fetch_add(1, Ordering::Relaxed);
    }

    /// Records a change and has it sent: with a database, recorded as still to be sent first
    /// (the outbox), then sent by [`Alerts::deliver_outbox`]; without one, sent at once.
    async fn notify(self: &Arc<Self>, rule: AlertRule, event: AlertEvent) {
        let outbox = match (&self.db, self.config.webhooks.is_empty()) {
            (Some(db), false) => match serde_json::to_string(&event) {
                Ok(json) => db
                    .insert_alert_intent(&event.workspace, &event.rule_id, event.at, &json)
                    .await
                    .map_err(|err| tracing::warn!(%err, "cannot record an alert notification before sending it; sending it at once"))
                    .is_ok(),
                Err(_) => false,
            },
            _ => false,
        };
        if outbox {
            tracing::info!(target: "falscope::alerts", rule = %event.rule_id, workspace = %event.workspace, state = event.state.as_str(), detail = %event.detail, "alert {}", event.state.as_str());
        } else {
            self.record(&event).await;
            self.dispatch(rule, event);
        }
    }

    /// Sends what the outbox holds (in the background, one delivery at a time): what this
    /// replica recorded, and what a replica that died left unsent.
    fn deliver_outbox(self: &Arc<Self>) {
        let Some(db) = self.db.clone() else { return };
        if self.config.webhooks.is_empty() {
            return;
        }
        let alerts = Arc::clone(self);
        tokio::spawn(async move {
            let Ok(_one) = alerts.delivering.try_lock() else {
                return;
            };
            let pending = match db.undelivered_alert_events().await {
                Ok(p) => p,
                Err(err) => {
                    tracing::warn!(%err, "cannot read the alert outbox");
                    return;
                }
            };
            // A rule whose earlier notification is not sent yet waits: its notifications go
            // out in the order they happened (never "firing" after its own "resolved").
            let mut waiting: std::collections::HashSet<String> = Default::default();
            for (id, json) in pending {
                let term = alerts.lease.term();
                if term == 0 {
                    return;
                }
                let event = serde_json::from_str::<AlertEvent>(&json).ok();
                if let Some(e) = &event {
                    if waiting.contains(&e.rule_id) {
                        continue;
                    }
                }
                let now = alerts.reports.now();
                // One sender per notification, even if the lease moves while this one sends.
                // What an older term claimed (its leader died or lost the lease before it
                // confirmed) is this term's at once; a claim of this term whose webhook
                // refused it is tried again after a while.
                match db
                    .claim_alert_event(id, now, now - OUTBOX_RETRY, term)
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => {
                        if let Some(e) = &event {
                            waiting.insert(e.rule_id.clone());
                        }
                        continue;
                    }
                    Err(err) => {
                        tracing::warn!(%err, "cannot claim an alert notification");
                        return;
                    }
                }
                let rule = event
                    .as_ref()
                    .and_then(|e| alerts.rules().into_iter().find(|r| r.id == e.rule_id));
                let done = match (&event, rule) {
                    (Some(event), Some(rule)) => {
                        alerts.send(&rule, event).await || now - event.at > OUTBOX_GIVE_UP
                    }
                    _ => {
                        tracing::info!(
                            id,
                            "an unsent alert notification of a deleted rule is dropped"
                        );
                        true
                    }
                };
                if !done {
                    // Claimed: tried again after OUTBOX_RETRY, and the rule's later
                    // notifications wait for it.
                    if let Some(e) = &event {
                        waiting.insert(e.rule_id.clone());
                    }
                    continue;
                }
                if let Err(err) = db.mark_alert_delivered(id).await {
                    tracing::warn!(%err, "cannot mark an alert notification sent; it may be sent again");
                }
            }
        });
    }

    pub(super) async fn record(&self, event: &AlertEvent) {
        tracing::info!(target: "falscope::alerts", rule = %event.rule_id, workspace = %event.workspace, state = event.state.as_str(), detail = %event.detail, "alert {}", event.state.as_str());
        let stored = match (&self.db, serde_json::to_string(event)) {
            (Some(db), Ok(j)) => db
                .insert_alert_event(&event.workspace, &event.rule_id, event.at, &j)
                .await
                .is_ok(),
            _ => false,
        };
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
        tokio::spawn(async move { alerts.send(&rule, &event).await });
    }

    /// Sends one change to every webhook (with the configured retries); whether every webhook
    /// took it.
    async fn send(&self, rule: &AlertRule, event: &AlertEvent) -> bool {
        let message = Message::Alert { event, rule };
        let id = notify::notification_id(event);
        let mut all = true;
        for hook in &self.config.webhooks {
            let r = notify::deliver(&self.client, hook, &message, &id, self.config.retry, || {
                self.reports.now().timestamp()
            })
            .await;
            if !r.ok {
                all = false;
                tracing::warn!(webhook = %r.webhook, attempts = r.attempts, detail = %r.detail, "alert notification not delivered");
            }
        }
        all
    }

    /// Sends a test notification to every webhook at once and answers within the configured
    /// deadline (5 s) with every webhook's outcome (retries stop at it): someone is waiting on
    /// the page.
    pub async fn send_test(&self, ws: &str, who: &str) -> Vec<DeliveryResult> {
        let message = Message::Test {
            workspace: ws,
            sent_by: who,
        };
        let retry = notify::Retry {
            within: Some(self.config.test_deadline),
            ..self.config.retry
        };
        let id = uuid::Uuid::new_v4().simple().to_string();
        let sends = self.config.webhooks.iter().map(|hook| {
            notify::deliver(&self.client, hook, &message, &id, retry, || {
                self.reports.now().timestamp()
            })
        });
        futures::future::join_all(sends).await
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
