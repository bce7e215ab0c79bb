//! The cost model: spend from usage beside request outcomes from analytics, per app, so a team
//! sees what one successful request really costs; and the month-end projection
//! ([`forecast`]). Pure functions over the reports.

pub mod forecast;
pub mod split;

pub use crate::upstream::convert::UnitPrice;

use chrono::{DateTime, Utc};
use shared::analytics::AnalyticsReport;
use shared::apps::AppIndex;
use shared::cost::{AppCost, CostReport};
use shared::usage::UsageReport;
use std::collections::BTreeMap;

/// Joins usage and analytics of the same range by app (usage lines name apps already; endpoints
/// are named by `index`).
pub fn report(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    usage: &UsageReport,
    analytics: &AnalyticsReport,
    index: &AppIndex,
) -> CostReport {
    let mut apps: BTreeMap<String, AppCost> = BTreeMap::new();
    for line in &usage.lines {
        let a = app_entry(&mut apps, &line.app);
        a.spend += line.cost;
        a.machine_seconds += line.seconds;
    }
    for s in &analytics.summary {
        let a = app_entry(&mut apps, index.of_endpoint(&s.endpoint));
        a.requests += s.requests;
        a.success += s.success;
        a.user_errors += s.user_errors;
        a.server_errors += s.server_errors;
    }
    let mut apps: Vec<AppCost> = apps
        .into_values()
        .map(|mut a| {
            a.cost_per_success = per_success(a.spend, a.success);
            a
        })
        .collect();
    apps.sort_by(|a, b| b.spend.total_cmp(&a.spend).then_with(|| a.app.cmp(&b.app)));
    let total_spend: f64 = apps.iter().map(|a| a.spend).sum();
    let total_success: u64 = apps.iter().map(|a| a.success).sum();
    CostReport {
        from,
        to,
        currency: if usage.currency.is_empty() {
            "USD".into()
        } else {
            usage.currency.clone()
        },
        cost_per_success: per_success(total_spend, total_success),
        apps,
        total_spend,
        total_success,
    }
}

fn app_entry<'a>(apps: &'a mut BTreeMap<String, AppCost>, app: &str) -> &'a mut AppCost {
    apps.entry(app.to_owned()).or_insert_with(|| AppCost {
        app: app.to_owned(),
        spend: 0.0,
        machine_seconds: 0.0,
        requests: 0,
        success: 0,
        user_errors: 0,
        server_errors: 0,
        cost_per_success: None,
        previous_spend: None,
    })
}

/// `spend ÷ success`, or `None` when nothing succeeded.
fn per_success(spend: f64, success: u64) -> Option<f64> {
    (success > 0).then(|| spend / success as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::analytics::{AnalyticsSummary, Percentiles, Timeframe};
    use shared::usage::UsageLine;

    fn line(app: &str, surge: bool, seconds: f64, cost: f64) -> UsageLine {
        UsageLine {
            app: app.into(),
            machine_type: "GPU-H100".into(),
            is_surge: surge,
            seconds,
            unit_price: cost / seconds,
            discount_percent: None,
            cost,
            currency: "USD".into(),
        }
    }

    fn summary(endpoint: &str, success: u64, user: u64, server: u64) -> AnalyticsSummary {
        AnalyticsSummary {
            endpoint: endpoint.into(),
            requests: success + user + server,
            success,
            user_errors: user,
            server_errors: server,
            error_rate: 0.0,
            failures: Default::default(),
            prepare: Percentiles::default(),
            execution: Percentiles::default(),
            cold_starts: 0,
            cold_start_p50: None,
            billable_seconds: None,
        }
    }

    #[test]
    fn joins_by_app_sums_surge_and_endpoints_and_divides_by_successes() {
        let t = DateTime::from_timestamp(0, 0).unwrap();
        let usage = UsageReport {
            from: t,
            to: t,
            timeframe: Timeframe::Hour,
            lines: vec![
                line("chat-llm", false, 1000.0, 3.0),
                line("chat-llm", true, 100.0, 1.0),
                line("idle-app", false, 50.0, 0.5),
            ],
            series: vec![],
            total_cost: 4.5,
            total_seconds: 1150.0,
            currency: "USD".into(),
        };
        let analytics = AnalyticsReport {
            from: t,
            to: t,
            timeframe: Timeframe::Hour,
            series: vec![],
            summary: vec![
                summary("acme/chat-llm", 30, 5, 1),
                summary("acme/chat-llm/stream", 10, 0, 4),
            ],
        };
        let r = report(
            t,
            t,
            &usage,
            &analytics,
            &AppIndex::of_ids(&["acme/chat-llm"]),
        );
        let chat = &r.apps[0];
        assert_eq!(
            (chat.app.as_str(), chat.success, chat.server_errors),
            ("chat-llm", 40, 5)
        );
        assert!(
            (chat.spend - 4.0).abs() < 1e-12,
            "surge and non-surge summed"
        );
        assert_eq!(chat.cost_per_success, Some(0.1));
        let idle = &r.apps[1];
        assert_eq!(
            idle.cost_per_success, None,
            "no successes: no figure, not infinity"
        );
        assert_eq!(r.total_success, 40);
        assert!((r.cost_per_success.unwrap() - 4.5 / 40.0).abs() < 1e-12);
    }
}
