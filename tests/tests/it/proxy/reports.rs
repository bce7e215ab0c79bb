//! The reports layer: cache keys from the resolved query (a clock that moves does not make new
//! entries), derived views answered from warm caches while fal fails, and every CSV export
//! holding the rows of its JSON view for the same page state.

use integration_tests::sim::SimHarness;
use integration_tests::{ws_path, TestApp};
use serde_json::json;
use shared::auth::CSRF_HEADER;
use shared::query::{AnalyticsQuery, List, LogsQuery, RequestsQuery, TimeExpr, UsageQuery};
use shared::routes::ws;
use shared::Fetched;

fn usage_calls(stats: &serde_json::Value) -> u64 {
    stats["usage"].as_u64().unwrap_or(0)
}

/// falscope against a simulator whose clock is a few seconds past the hour, with the history
/// job's first usage read done.
async fn warm_app(sim: &SimHarness) -> TestApp {
    sim.clock.advance(7_000);
    let app = TestApp::spawn_with_sim(sim, true, &[]).await;
    app.wait_for_cost_history().await;
    app
}

#[tokio::test]
async fn forecast_views_and_scrapes_on_a_moving_clock_cost_one_usage_read() {
    let sim = SimHarness::start().await;
    let app = warm_app(&sim).await;
    // The history job read this month's daily usage: the forecast's own input.
    let after_job = usage_calls(&sim.stats().await);
    assert!(after_job >= 1, "{}", sim.stats().await);
    for i in 0..20 {
        // The clock moves between every view (milliseconds, seconds): the keys do not.
        sim.clock.advance(1_237 + i);
        let resp = app.get(&ws_path(ws::FORECAST)).await;
        assert_eq!(resp.status(), 200);
        let resp = app.get(shared::routes::METRICS).await;
        assert_eq!(resp.status(), 200);
    }
    let stats = sim.stats().await;
    // 20 forecast views: no usage read beyond the job's. 20 scrapes: one read of the last 24
    // whole hours (cost per success, overhead, cost per hour share it).
    assert_eq!(
        usage_calls(&stats) - after_job,
        1,
        "20 forecast views and 20 scrapes within one usage TTL: {stats}"
    );
}

#[tokio::test]
async fn spend_rule_evaluations_on_a_moving_clock_read_usage_once() {
    let sim = SimHarness::start().await;
    let app = warm_app(&sim).await;
    let put = app
        .http
        .put(app.url(&ws_path(ws::BUDGETS)))
        .header(CSRF_HEADER, "1")
        .json(&json!({ "app": null, "monthly": 1000.0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 204);
    for (name, condition) in [
        (
            "spend",
            json!({"kind": "threshold", "metric": "spend_per_day", "above": 1e9}),
        ),
        ("pace", json!({"kind": "over_budget_pace"})),
    ] {
        let resp = app
            .http
            .post(app.url(&ws_path(ws::ALERT_RULES)))
            .header(CSRF_HEADER, "1")
            .json(&json!({ "name": name, "condition": condition }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
    }
    app.state.alerts.evaluate().await;
    let before = usage_calls(&sim.stats().await);
    for i in 0..20 {
        sim.clock.advance(997 + i);
        app.state.alerts.evaluate().await;
    }
    let stats = sim.stats().await;
    assert_eq!(
        usage_calls(&stats),
        before,
        "20 evaluations of two spend rules on a moving clock read the cached usage: {stats}"
    );
    let view: shared::alerts::AlertsView =
        app.get(&ws_path(ws::ALERTS)).await.json().await.unwrap();
    for r in view.rules {
        assert!(
            r.value.is_some(),
            "{} was judged on real numbers: {}",
            r.rule.name,
            r.detail
        );
    }
}

#[tokio::test]
async fn a_warmed_forecast_answers_from_the_cache_while_fal_fails() {
    let sim = SimHarness::start().await;
    let app = warm_app(&sim).await;
    let fresh = app.get(&ws_path(ws::FORECAST)).await;
    assert_eq!(fresh.headers()[shared::fetched::CACHE_HEADER], "HIT");
    sim.faults(json!([
        { "operation": "usage", "timeout": true },
        { "operation": "apps", "status": 503 },
        { "operation": "analytics", "status": 503 }
    ]))
    .await;
    let before = usage_calls(&sim.stats().await);
    for _ in 0..5 {
        sim.clock.advance(3_000);
        let resp = app.get(&ws_path(ws::FORECAST)).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()[shared::fetched::CACHE_HEADER], "HIT");
    }
    assert_eq!(
        usage_calls(&sim.stats().await),
        before,
        "within its TTL the forecast never waits on fal"
    );
}

async fn csv_records(app: &TestApp, path: &str) -> Vec<csv::StringRecord> {
    let resp = app.get(path).await;
    assert_eq!(resp.status(), 200, "{path}");
    let text = resp.text().await.unwrap();
    csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect()
}

/// The path of `template` with the query a page would send (the frontend serialises the same
/// structs the same way).
fn page<Q: serde::Serialize>(template: &str, q: &Q) -> String {
    format!(
        "{}?{}",
        ws_path(template),
        serde_urlencoded::to_string(q).unwrap()
    )
}

#[tokio::test]
async fn each_csv_has_the_rows_of_its_json_view_for_the_same_page_state() {
    let sim = SimHarness::start().await;
    let app = TestApp::spawn_with_sim(&sim, true, &[]).await;
    let t = |s: &str| Some(TimeExpr::parse(s).unwrap());

    // Analytics with the page's bucket and zone overrides: the same buckets, endpoint by
    // endpoint.
    let q = AnalyticsQuery {
        endpoints: List::of(&["acme/chat-llm", "acme/flux-studio"]),
        from: t("now-2d"),
        to: t("now"),
        timeframe: Some(shared::analytics::Timeframe::Day),
        tz: Some("Asia/Tokyo".into()),
    };
    let json: Fetched<shared::analytics::AnalyticsReport> = app
        .get(&page(ws::ANALYTICS, &q))
        .await
        .json()
        .await
        .unwrap();
    let rows = csv_records(&app, &page(ws::ANALYTICS_CSV, &q)).await;
    let from_json: Vec<(String, String, String)> = json
        .data
        .series
        .iter()
        .map(|p| (p.t.to_rfc3339(), p.endpoint.clone(), p.requests.to_string()))
        .collect();
    let from_csv: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| (r[0].to_owned(), r[1].to_owned(), r[2].to_owned()))
        .collect();
    assert!(from_json.len() >= 4, "day buckets of two endpoints");
    assert_eq!(from_csv, from_json);

    // Usage: the same lines.
    let q = UsageQuery {
        from: t("now-3d"),
        search: Some("studio".into()),
        tz: Some("Europe/Paris".into()),
        ..UsageQuery::default()
    };
    let json: Fetched<shared::usage::UsageReport> =
        app.get(&page(ws::USAGE, &q)).await.json().await.unwrap();
    let rows = csv_records(&app, &page(ws::USAGE_CSV, &q)).await;
    let from_json: Vec<(String, String, String)> = json
        .data
        .lines
        .iter()
        .map(|l| (l.app.clone(), l.machine_type.clone(), l.cost.to_string()))
        .collect();
    let from_csv: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| (r[0].to_owned(), r[1].to_owned(), r[6].to_owned()))
        .collect();
    assert!(!from_json.is_empty());
    assert_eq!(from_csv, from_json);

    // Requests: the CSV is every page the view pages through, in order.
    let q = RequestsQuery {
        endpoints: List::of(&["acme/chat-llm"]),
        from: t("now-40m"),
        to: t("now"),
        status: Some(shared::query::RequestOutcome::Success),
        limit: shared::query::Limit::new(100),
        ..RequestsQuery::default()
    };
    let csv_ids: Vec<String> = csv_records(&app, &page(ws::REQUESTS_CSV, &q))
        .await
        .iter()
        .map(|r| r[0].to_owned())
        .collect();
    let json_ids = integration_tests::all_pages(|cursor| {
        let url = page(
            ws::REQUESTS,
            &RequestsQuery {
                cursor,
                ..q.clone()
            },
        );
        let app = &app;
        async move {
            let p: Fetched<shared::requests::RequestsPage> =
                app.get(&url).await.json().await.unwrap();
            let ids = p.data.items.iter().map(|r| r.id.clone()).collect();
            (ids, p.data.next_cursor)
        }
    })
    .await;
    assert!(
        json_ids.len() > 100,
        "more than one page: {}",
        json_ids.len()
    );
    assert_eq!(csv_ids, json_ids);

    // Logs: the same lines, newest first, across pages.
    let q = LogsQuery {
        from: t("now-20m"),
        to: t("now"),
        apps: List::of(&["acme/chat-llm"]),
        level: Some(shared::logs::LogLevel::Info),
        limit: shared::query::Limit::new(1000),
        ..LogsQuery::default()
    };
    let csv_lines: Vec<(String, String)> = csv_records(&app, &page(ws::LOGS_CSV, &q))
        .await
        .iter()
        .map(|r| (r[0].to_owned(), r[5].to_owned()))
        .collect();
    let json_lines = integration_tests::all_pages(|cursor| {
        let url = page(
            ws::LOGS,
            &LogsQuery {
                cursor,
                ..q.clone()
            },
        );
        let app = &app;
        async move {
            let p: Fetched<shared::logs::LogsPage> = app.get(&url).await.json().await.unwrap();
            let lines = (p.data.items.iter())
                .map(|l| (l.ts.to_rfc3339(), l.message.clone()))
                .collect();
            (lines, p.data.next_cursor)
        }
    })
    .await;
    assert!(!json_lines.is_empty());
    assert_eq!(csv_lines, json_lines);
}

#[tokio::test]
async fn instants_given_as_instants_are_kept_and_relative_ends_are_aligned() {
    let sim = SimHarness::start().await;
    sim.clock.advance(42 * 60_000 + 7_000); // 15:42:07
    let app = TestApp::spawn_with_sim(&sim, true, &[]).await;
    // An alert rule's "last 120 min" (or a zoomed chart): exactly those minutes.
    let q = "endpoints=acme/chat-llm&from=2026-11-18T13:42:00Z&to=2026-11-18T15:42:00Z";
    let r: Fetched<shared::analytics::AnalyticsReport> = app
        .get(&format!("{}?{q}", ws_path(ws::ANALYTICS)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r.data.from.to_rfc3339(), "2026-11-18T13:42:00+00:00");
    assert_eq!(r.data.to.to_rfc3339(), "2026-11-18T15:42:00+00:00");
    // And fal reads exactly those minutes: by default it would move the start back to 13:00
    // (REFERENCE §6.3) and count 42 minutes more than the view shows.
    let fal_count = |bound: bool| {
        let sim = &sim;
        async move {
            let v = sim
                .get_json(
                    &format!(
                        "/v1/serverless/analytics?endpoint_id=acme/chat-llm&start=2026-11-18T13:42:00Z&end=2026-11-18T15:42:00Z&timeframe=hour&bound_to_timeframe={bound}&expand=summary&expand=request_count"
                    ),
                    &sim.api_key(),
                )
                .await;
            v["summary"][0]["request_count"].as_u64().unwrap()
        }
    };
    let (exact, moved) = (fal_count(false).await, fal_count(true).await);
    assert!(
        exact < moved,
        "the simulator moves the start ({exact} vs {moved})"
    );
    assert_eq!(
        r.data.summary[0].requests, exact,
        "the requests of the view's window"
    );
    // `now-2h`: both ends move with the clock, so they are aligned to the hourly bucket.
    let r: Fetched<shared::analytics::AnalyticsReport> = app
        .get(&format!(
            "{}?endpoints=acme/chat-llm&from=now-3h",
            ws_path(ws::ANALYTICS)
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r.data.from.to_rfc3339(), "2026-11-18T12:00:00+00:00");
    assert_eq!(
        r.data.to.to_rfc3339(),
        "2026-11-18T15:42:07+00:00",
        "clamped to now"
    );
}
