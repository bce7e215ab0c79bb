//! The store suite: what every [`Store`] must do, whatever its engine. Run on SQLite by the
//! unit tests and on SQLite and Postgres by the integration tests (`store::` there), so the
//! two engines cannot drift apart. Each check panics with what went wrong; they use their own
//! workspace names, so one database can take the whole suite once.

#![allow(clippy::unwrap_used, reason = "a test suite fails by panicking")]

use super::{DailyCost, Store};
use chrono::{DateTime, Utc};
use shared::auth::AuditEntry;
use shared::live::LiveSample;
use shared::models::{SlaObjectives, WatchedModel};

fn t(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(s, 0).unwrap()
}

/// Runs every check on `store` (an empty database).
pub async fn run(store: &Store) {
    sessions_expire_and_end(store).await;
    audit_lists_newest_first_and_pruning_keeps_each_rules_last_event(store).await;
    daily_cost_upserts_and_sums_per_day(store).await;
    watching_keeps_order_updates_in_place_and_stops_at_the_limit(store).await;
    alert_rules_and_events_round_trip(store).await;
    budgets_and_prices_set_replace_and_clear(store).await;
    samples_average_into_buckets_and_prune(store).await;
}

async fn sessions_expire_and_end(store: &Store) {
    store
        .create_session(&[1; 32], "ann", t(0), t(100))
        .await
        .unwrap();
    assert_eq!(
        store
            .session_user(&[1; 32], t(99))
            .await
            .unwrap()
            .as_deref(),
        Some("ann")
    );
    assert_eq!(store.session_user(&[2; 32], t(99)).await.unwrap(), None);
    assert_eq!(
        store.session_user(&[1; 32], t(100)).await.unwrap(),
        None,
        "expired"
    );
    store
        .create_session(&[3; 32], "bob", t(0), t(100))
        .await
        .unwrap();
    store.delete_session(&[3; 32]).await.unwrap();
    assert_eq!(
        store.session_user(&[3; 32], t(1)).await.unwrap(),
        None,
        "signed out"
    );
}

fn entry(who: &str, at_ms: i64) -> AuditEntry {
    AuditEntry {
        at: DateTime::from_timestamp_millis(at_ms).unwrap(),
        who: who.into(),
        ip: "127.0.0.1".into(),
        method: "POST".into(),
        route: "/api/x".into(),
        workspace: (at_ms % 2000 == 0).then(|| "w".to_owned()),
        status: 200,
        detail: (at_ms % 3000 == 0).then(|| "flushed chat-llm: 3 waiting".to_owned()),
    }
}

async fn audit_lists_newest_first_and_pruning_keeps_each_rules_last_event(store: &Store) {
    for i in 0..50 {
        store
            .audit_insert(&entry(&format!("u{i}"), i * 1000))
            .await
            .unwrap();
    }
    let newest = store.audit_list(2).await.unwrap();
    assert_eq!(newest, [entry("u49", 49_000), entry("u48", 48_000)]);
    for (rule, at) in [("r1", 1_000), ("r1", 2_000), ("r2", 3_000), ("r1", 40_000)] {
        store
            .insert_alert_event(
                "prune",
                rule,
                DateTime::from_timestamp_millis(at).unwrap(),
                "{}",
            )
            .await
            .unwrap();
    }
    let before = DateTime::from_timestamp_millis(10_000).unwrap();
    store.prune_records(before, 30).await.unwrap();
    let left = store.audit_list(1000).await.unwrap();
    assert_eq!(left.len(), 30, "at most `keep` rows");
    assert!(left.iter().all(|e| e.at >= before));
    assert_eq!(
        store.alert_events("prune", 10).await.unwrap().len(),
        2,
        "r1's old events go, r2's only event stays"
    );
}

async fn daily_cost_upserts_and_sums_per_day(store: &Store) {
    let d = |n: u32| chrono::NaiveDate::from_ymd_opt(2026, 11, n).unwrap();
    let row = |day, app: &str, cost| DailyCost {
        day,
        app: app.into(),
        cost,
        seconds: 10.0,
    };
    store
        .upsert_daily_cost(
            "cost",
            &[
                row(d(1), "a", 1.0),
                row(d(1), "b", 2.0),
                row(d(2), "a", 4.0),
            ],
        )
        .await
        .unwrap();
    store
        .upsert_daily_cost("cost", &[row(d(2), "a", 5.0)])
        .await
        .unwrap();
    store
        .upsert_daily_cost("other", &[row(d(1), "a", 100.0)])
        .await
        .unwrap();
    assert_eq!(
        store.daily_cost_totals("cost", d(1), d(3)).await.unwrap(),
        [(d(1), 3.0), (d(2), 5.0)],
        "per workspace, summed per day, a corrected day replaced"
    );
    assert_eq!(
        store.daily_cost_totals("cost", d(2), d(3)).await.unwrap(),
        [(d(2), 5.0)]
    );
    assert_eq!(
        store.daily_cost_by_app("cost", d(1), d(2)).await.unwrap(),
        [(d(1), "a".to_owned(), 1.0), (d(1), "b".to_owned(), 2.0)]
    );
}

async fn watching_keeps_order_updates_in_place_and_stops_at_the_limit(store: &Store) {
    let m = |e: &str| WatchedModel {
        endpoint: e.into(),
        sla: SlaObjectives::default(),
    };
    assert!(store
        .watch_model("models", &m("fal-ai/b"), 1, 2)
        .await
        .unwrap());
    assert!(store
        .watch_model("models", &m("fal-ai/a"), 2, 2)
        .await
        .unwrap());
    assert!(
        !store
            .watch_model("models", &m("fal-ai/c"), 3, 2)
            .await
            .unwrap(),
        "full"
    );
    let mut changed = m("fal-ai/b");
    changed.sla.period_hours = 24;
    assert!(
        store.watch_model("models", &changed, 4, 2).await.unwrap(),
        "an update is not a new one"
    );
    let watched = store.watched_models("models").await.unwrap();
    assert_eq!(watched.len(), 2);
    assert_eq!(watched[0], changed, "kept its place");
    assert!(store.watched_models("other").await.unwrap().is_empty());
    assert!(store.unwatch_model("models", "fal-ai/b").await.unwrap());
    assert!(!store.unwatch_model("models", "fal-ai/b").await.unwrap());
}

async fn alert_rules_and_events_round_trip(store: &Store) {
    store
        .insert_alert_rule("b", "alerts", "{\"n\":1}")
        .await
        .unwrap();
    store
        .insert_alert_rule("a", "alerts", "{\"n\":2}")
        .await
        .unwrap();
    assert!(
        store.insert_alert_rule("a", "alerts", "{}").await.is_err(),
        "ids are unique"
    );
    assert!(store
        .update_alert_rule("a", "alerts", "{\"n\":3}")
        .await
        .unwrap());
    assert!(
        !store
            .update_alert_rule("a", "elsewhere", "{}")
            .await
            .unwrap(),
        "only in its own workspace"
    );
    assert_eq!(
        store.alert_rules().await.unwrap(),
        ["{\"n\":3}", "{\"n\":1}"],
        "ordered by id"
    );
    assert!(store.delete_alert_rule("b", "alerts").await.unwrap());
    assert!(!store.delete_alert_rule("b", "alerts").await.unwrap());
    for (rule, json) in [("a", "a1"), ("c", "c1"), ("a", "a2")] {
        store
            .insert_alert_event("events", rule, t(1), &format!("\"{json}\""))
            .await
            .unwrap();
    }
    assert_eq!(
        store.alert_events("events", 2).await.unwrap(),
        ["\"a2\"", "\"c1\""],
        "newest first"
    );
    let id = store
        .insert_alert_intent("events", "c", t(2), "\"c2\"")
        .await
        .unwrap();
    assert_eq!(
        store.undelivered_alert_events().await.unwrap(),
        [(id, "\"c2\"".to_owned())],
        "recorded, not yet sent"
    );
    assert!(store.claim_alert_event(id, t(10), t(0), 3).await.unwrap());
    assert!(
        !store.claim_alert_event(id, t(11), t(5), 3).await.unwrap(),
        "claimed once"
    );
    assert!(
        !store.claim_alert_event(id, t(11), t(5), 2).await.unwrap(),
        "never by an older term"
    );
    assert!(
        store.claim_alert_event(id, t(12), t(5), 4).await.unwrap(),
        "what an older term claimed and did not confirm is the next term's at once"
    );
    assert!(
        !store.claim_alert_event(id, t(13), t(5), 4).await.unwrap(),
        "claimed once in the new term"
    );
    assert!(
        store.claim_alert_event(id, t(20), t(15), 4).await.unwrap(),
        "a claim whose webhook refused it is claimed again after a while"
    );
    store.mark_alert_delivered(id).await.unwrap();
    assert!(store.undelivered_alert_events().await.unwrap().is_empty());
    let mut last = store.last_alert_events().await.unwrap();
    last.retain(|e| e.starts_with("\"a") || e.starts_with("\"c"));
    last.sort();
    assert_eq!(last, ["\"a2\"", "\"c2\""], "each rule's newest");
    store.delete_alert_rule("a", "alerts").await.unwrap();
}

async fn budgets_and_prices_set_replace_and_clear(store: &Store) {
    store.set_budget("money", "", Some(100.0)).await.unwrap();
    store.set_budget("money", "app", Some(10.0)).await.unwrap();
    store.set_budget("money", "app", Some(20.0)).await.unwrap();
    assert_eq!(
        store.budgets("money").await.unwrap(),
        [(String::new(), 100.0), ("app".to_owned(), 20.0)]
    );
    store.set_budget("money", "app", None).await.unwrap();
    assert_eq!(store.budgets("money").await.unwrap().len(), 1);
    store.set_price("money", "app", Some(0.0005)).await.unwrap();
    store.set_price("money", "app", Some(0.0007)).await.unwrap();
    assert_eq!(
        store.prices("money").await.unwrap(),
        [("app".to_owned(), 0.0007)]
    );
    store.set_price("money", "app", None).await.unwrap();
    assert!(store.prices("money").await.unwrap().is_empty());
}

async fn samples_average_into_buckets_and_prune(store: &Store) {
    let sample = |s: i64, running: u32| LiveSample {
        t: t(s),
        application: "app".into(),
        running,
        idle: 1,
        pending: 0,
        queue_size: 4,
        concurrent_requests: 2,
        received_per_min: 60,
    };
    store
        .insert_samples("live", &[sample(0, 1), sample(10, 3), sample(60, 5)])
        .await
        .unwrap();
    store
        .insert_samples("live", &[sample(60, 7)])
        .await
        .unwrap();
    let got = store.samples("live", t(0), t(120), 60).await.unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(
        (got[0].t, got[0].running),
        (t(0), 2),
        "averaged in its minute"
    );
    assert_eq!(
        (got[1].t, got[1].running),
        (t(60), 7),
        "a poll stored twice is one row"
    );
    assert_eq!(got[1].received_per_min, 60);
    assert_eq!(store.prune_samples(t(60)).await.unwrap(), 2);
    assert_eq!(
        store.samples("live", t(0), t(120), 60).await.unwrap().len(),
        1
    );
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn sqlite_passes_the_store_suite() {
        let dir = tempfile::tempdir().unwrap();
        let store = super::Store::open(dir.path()).unwrap();
        super::run(&store).await;
    }
}
