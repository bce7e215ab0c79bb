//! The cost view: spend per app beside request outcomes, checked against fal's (the
//! simulator's) own usage and analytics numbers fetched independently for the same hours.

use backend::upstream::query::{AnalyticsKind, AnalyticsQuery, UsageQuery, Window};
use backend::upstream::FalApi;
use chrono::{DateTime, Duration, Utc};
use integration_tests::sim::{SimHarness, T0};
use integration_tests::{ws_path, TestApp};
use shared::cost::CostReport;
use shared::routes::ws;
use shared::Fetched;
use std::collections::BTreeMap;

#[tokio::test]
async fn cost_per_successful_request_matches_fals_own_numbers() {
    let sim = SimHarness::start().await;
    let app = TestApp::spawn_with_sim(&sim, true, &[]).await;
    let to = DateTime::<Utc>::from_timestamp_millis(T0).unwrap();
    let from = to - Duration::hours(6);
    // Both ends are aligned down to whole hours.
    let path = format!(
        "{}?from={}&to={}",
        ws_path(ws::COST),
        (from + Duration::minutes(10)).to_rfc3339(),
        (to + Duration::minutes(1)).to_rfc3339()
    )
    .replace('+', "%2B");
    let resp = app.get(&path).await;
    assert_eq!(resp.status(), 200);
    let report: Fetched<CostReport> = resp.json().await.unwrap();
    let r = report.data;
    assert_eq!((r.from, r.to), (from, to));

    // The same hours, straight from the simulator.
    let window = Window {
        start: Some(from),
        end: Some(to),
        ..Window::default()
    };
    let usage = sim
        .client
        .usage(&UsageQuery {
            summary: true,
            window: window.clone(),
            ..UsageQuery::default()
        })
        .await
        .unwrap();
    // Usage names some apps with a suffix (`flux-studio-prod`, `image-lab-staging`); the
    // seeded world knows which app each name is.
    let world = backend::simulator::world::World::new(42);
    let app_of_usage_name = |name: &str| {
        (0..world.apps.len())
            .find(|i| world.usage_name(*i) == name)
            .map(|i| world.apps[i].name.to_owned())
            .unwrap_or_else(|| panic!("{name} is no app's usage name"))
    };
    let mut spend: BTreeMap<String, f64> = BTreeMap::new();
    let mut suffixed = 0;
    for row in usage.summary.unwrap() {
        let name = row.app.unwrap_or_default();
        let app = app_of_usage_name(&name);
        suffixed += usize::from(app != name);
        *spend.entry(app).or_default() += row.cost_total;
    }
    assert!(suffixed > 0, "the simulator suffixes some usage names");
    let mut endpoints: Vec<String> = Vec::new();
    for env in [None, Some("staging")] {
        let apps = sim.client.list_apps(env).await.unwrap().apps;
        assert!(!apps.is_empty(), "{env:?} has apps");
        endpoints.extend(
            apps.into_iter()
                .flat_map(|a| a.endpoints.unwrap_or_else(|| vec![a.endpoint_id])),
        );
    }
    let analytics = sim
        .client
        .analytics(
            AnalyticsKind::Serverless,
            &AnalyticsQuery {
                endpoint_ids: endpoints,
                metrics: vec!["success_count".into()],
                summary: true,
                window,
                ..AnalyticsQuery::default()
            },
        )
        .await
        .unwrap();
    let mut success: BTreeMap<String, u64> = BTreeMap::new();
    for rec in analytics.summary.unwrap() {
        let app = rec.endpoint_id.split('/').nth(1).unwrap().to_owned();
        *success.entry(app).or_default() += rec.metrics["success_count"].as_u64().unwrap_or(0);
    }

    // One row per app, each with its spend and its requests: a suffixed usage name or an app
    // of another environment does not split into a spend-only and a requests-only row.
    let mut shown: Vec<&str> = r.apps.iter().map(|a| a.app.as_str()).collect();
    shown.sort_unstable();
    let mut names: Vec<&str> = world.apps.iter().map(|a| a.name).collect();
    names.sort_unstable();
    assert_eq!(shown, names);
    for a in &r.apps {
        assert!(a.spend > 0.0 && a.requests > 0, "{}: {a:?}", a.app);
    }
    for a in &r.apps {
        let want_spend = spend.get(&a.app).copied().unwrap_or(0.0);
        let want_success = success.get(&a.app).copied().unwrap_or(0);
        assert!(
            (a.spend - want_spend).abs() < 1e-9 * want_spend.max(1.0),
            "{}: spend",
            a.app
        );
        assert_eq!(a.success, want_success, "{}: successes", a.app);
        match a.cost_per_success {
            Some(c) => assert!(
                (c - want_spend / want_success as f64).abs() < 1e-12,
                "{}",
                a.app
            ),
            None => assert_eq!(want_success, 0, "{}", a.app),
        }
    }
    let busy = r.apps.iter().find(|a| a.app == "chat-llm").unwrap();
    assert!(busy.success > 100 && busy.cost_per_success.unwrap() > 0.0);
    assert!(
        r.apps.windows(2).all(|w| w[0].spend >= w[1].spend),
        "most expensive first"
    );
    let total: f64 = spend.values().sum();
    assert!((r.total_spend - total).abs() < 1e-9 * total);
}

#[tokio::test]
async fn the_cost_view_needs_billing_and_an_admin_key_and_a_whole_hour() {
    let sim = SimHarness::start().await;
    let without_admin = TestApp::spawn_with_sim(&sim, false, &[]).await;
    assert_eq!(without_admin.get(&ws_path(ws::COST)).await.status(), 409);
    let app = TestApp::spawn_with_sim(&sim, true, &[]).await;
    // The clock stands at 15:00: 14:40–15:00 widens to 14:00–15:00; 14:40–14:50 is no whole hour.
    let widened = app
        .get(&format!("{}?from=now-20m&to=now", ws_path(ws::COST)))
        .await;
    assert_eq!(widened.status(), 200);
    let widened: shared::Fetched<shared::cost::CostReport> = widened.json().await.unwrap();
    assert_eq!(
        (widened.data.from.to_rfc3339(), widened.data.to.to_rfc3339()),
        (
            "2026-11-18T14:00:00+00:00".to_owned(),
            "2026-11-18T15:00:00+00:00".to_owned()
        ),
        "the range the view reports is the whole hour it computed"
    );
    let short = app
        .get(&format!("{}?from=now-20m&to=now-10m", ws_path(ws::COST)))
        .await;
    assert_eq!(short.status(), 400);
    let bad = app
        .get(&format!("{}?from=yesterday", ws_path(ws::COST)))
        .await;
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn the_month_end_projection_starts_from_what_was_spent() {
    use shared::cost::Forecast;
    let sim = SimHarness::start().await;
    let app = TestApp::spawn_with_sim(&sim, true, &[]).await;
    let resp = app.get(&ws_path(ws::FORECAST)).await;
    assert_eq!(resp.status(), 200);
    let f: Fetched<Forecast> = resp.json().await.unwrap();
    let f = f.data;
    // The clock stands at Wednesday 2026-11-18 15:00 UTC.
    let now = DateTime::<Utc>::from_timestamp_millis(T0).unwrap();
    assert_eq!(f.month_start.to_rfc3339(), "2026-11-01T00:00:00+00:00");
    assert_eq!(f.month_end.to_rfc3339(), "2026-12-01T00:00:00+00:00");
    assert_eq!(f.daily.len(), 30);
    assert!(f.daily[..18].iter().all(|d| d.actual.is_some()));
    assert!(f.daily[18..]
        .iter()
        .all(|d| d.actual.is_none() && d.predicted.is_some()));
    // Month to date is fal's own spend since the 1st.
    let usage = sim
        .client
        .usage(&UsageQuery {
            summary: true,
            window: Window {
                start: Some(f.month_start),
                end: Some(now),
                ..Window::default()
            },
            ..UsageQuery::default()
        })
        .await
        .unwrap();
    let spent: f64 = usage.summary.unwrap().iter().map(|r| r.cost_total).sum();
    assert!(
        (f.month_to_date - spent).abs() / spent < 0.01,
        "{} vs {spent}",
        f.month_to_date
    );
    let (p, low, high) = (f.projected.unwrap(), f.low.unwrap(), f.high.unwrap());
    assert!(low <= p && p <= high && low >= f.month_to_date);
    // A steady world: the projection is near the month-to-date pace.
    // The complete days are now in falscope's own history, equal to what the view showed.
    let db = app
        .state
        .db
        .clone()
        .expect("the test data directory is usable");
    let day = |n: u32| chrono::NaiveDate::from_ymd_opt(2026, 11, n).unwrap();
    let stored = db
        .daily_cost_totals("default", day(1), day(19))
        .await
        .unwrap();
    assert_eq!(stored.len(), 17, "Nov 1–17, not today");
    for (d, total) in &stored {
        let shown = f.daily[chrono::Datelike::day0(d) as usize].actual.unwrap();
        assert!(
            (total - shown).abs() < 1e-9,
            "{d}: stored {total} shown {shown}"
        );
    }
    let days_elapsed = (now - f.month_start).num_seconds() as f64 / 86_400.0;
    let pace = f.month_to_date / days_elapsed * 30.0;
    assert!(
        (p / pace - 1.0).abs() < 0.25,
        "projected {p:.0}, pace {pace:.0}"
    );
}

/// The true machine time of one app over `[from, to)`, computed from the seeded world the
/// simulator serves: seconds running (2xx/4xx), failed (5xx), setup (cold starts) and idle.
fn true_split(app: usize, from_ms: i64, to_ms: i64) -> [f64; 4] {
    use backend::simulator::world::World;
    let world = World::new(42);
    let spec = &world.apps[app];
    let requests = world.requests_between(app, from_ms, to_ms);
    let (mut running, mut failed, mut setup, mut busy) = (0.0, 0.0, 0.0, 0.0);
    for r in &requests {
        if r.outcome.is_server_error() {
            failed += r.billable_units();
        } else {
            running += r.billable_units();
        }
        if r.runner_id.is_some() {
            busy += r.duration;
        }
        setup += r.cold_boot.unwrap_or(0.0);
    }
    let minutes = ((to_ms - from_ms) / 60_000) as f64;
    let idle = f64::from(spec.min_concurrency) * 60.0 * minutes
        + busy * backend::simulator::usage::KEEP_ALIVE_SHARE;
    [running, failed, setup, idle]
}

#[tokio::test]
async fn where_the_money_goes_matches_the_seeded_worlds_true_figures() {
    let sim = SimHarness::start().await;
    let app = TestApp::spawn_with_sim(&sim, true, &[]).await;
    let to = DateTime::<Utc>::from_timestamp_millis(T0).unwrap();
    let from = to - Duration::hours(6);
    let path = format!(
        "{}?from={}&to={}",
        ws_path(ws::SPLIT),
        from.to_rfc3339(),
        to.to_rfc3339()
    )
    .replace('+', "%2B");
    let resp = app.get(&path).await;
    assert_eq!(resp.status(), 200);
    let split: Fetched<shared::cost::SplitReport> = resp.json().await.unwrap();
    let world = backend::simulator::world::World::new(42);
    let mut checked = 0;
    for s in &split.data.apps {
        let i = world.app_index(&s.app).expect("a simulated app");
        let [running, failed, setup, idle] = true_split(i, from.timestamp_millis(), T0);
        let got = |x: Option<shared::cost::Share>| x.expect("every share is known").seconds;
        let within = |what: &str, got: f64, want: f64, rel: f64, abs: f64| {
            assert!(
                (got - want).abs() <= (want * rel).max(abs),
                "{}: {what} {got:.1} s, true {want:.1} s ({:?})",
                s.app,
                s.notes
            );
        };
        // Requests at the range's edges are counted by when they end (fal's analytics)
        // rather than when they were sent (usage): a few percent.
        // A request still running at the window's end (a timeout runs the app's whole request
        // timeout) is billed but not yet listed, and may land in running or failed: one
        // request timeout of slack.
        let edge = world.apps[i].request_timeout;
        within("running", got(s.running), running, 0.03, 60.0 + edge);
        within("failed", got(s.failed), failed, 0.15, 120.0 + edge);
        // Estimated from the cold starts' median.
        within("setup", got(s.setup), setup, 0.35, 60.0);
        // Idle is what is left, so it carries the same slack.
        within(
            "idle",
            got(s.idle),
            idle,
            0.05,
            0.02 * s.machine_seconds + edge,
        );
        let shares = got(s.running) + got(s.failed) + got(s.setup) + got(s.idle);
        assert!(
            (shares - s.machine_seconds).abs() < 1e-6 * s.machine_seconds.max(1.0)
                || s.notes.iter().any(|n| n.contains("idle shown as 0")),
            "the shares add up to the billed time"
        );
        let money: f64 = [s.running, s.failed, s.setup, s.idle]
            .iter()
            .map(|x| x.unwrap().cost)
            .sum();
        assert!(
            (money - s.spend).abs() < 1e-6 * s.spend.max(1.0),
            "{}: the money adds up",
            s.app
        );
        assert!(
            s.failed_sampled > 0 || s.failed_requests == 0,
            "{}: the failed share is measured on billed 5xx requests",
            s.app
        );
        checked += 1;
    }
    assert_eq!(checked, world.apps.len(), "every app is split");

    // The overhead share reaches /metrics.
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("falscope_overhead_ratio{workspace=\"default\",app=\"chat-llm\"}"));

    // Without the ADMIN key: a 409 that says so, not a wrong number.
    let api_only = TestApp::spawn_with_sim(&sim, false, &[]).await;
    let resp = api_only.get(&path).await;
    assert_eq!(resp.status(), 409);
}

#[tokio::test]
async fn budgets_and_the_price_table_reach_the_forecast_and_the_prices() {
    let sim = SimHarness::start().await;
    let app = TestApp::spawn_with_sim(&sim, true, &[]).await;
    let put = |path: &str, body: serde_json::Value| {
        app.http
            .put(app.url(&ws_path(path)))
            .header(shared::auth::CSRF_HEADER, "1")
            .json(&body)
            .send()
    };
    let resp = put(ws::BUDGETS, serde_json::json!({"monthly": -5}))
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = put(ws::BUDGETS, serde_json::json!({"monthly": "lots"}))
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let err: shared::ApiError = resp.json().await.unwrap();
    assert!(
        err.message.contains("expected JSON like"),
        "{}",
        err.message
    );
    for body in [
        serde_json::json!({"monthly": 9000.0}),
        serde_json::json!({"app": "video-gen", "monthly": 1200.0}),
    ] {
        assert_eq!(put(ws::BUDGETS, body).await.unwrap().status(), 204);
    }
    let forecast: Fetched<shared::cost::Forecast> =
        app.get(&ws_path(ws::FORECAST)).await.json().await.unwrap();
    assert_eq!(forecast.data.budget, Some(9000.0));
    let video = forecast
        .data
        .apps
        .iter()
        .find(|a| a.app == "video-gen")
        .unwrap();
    assert_eq!(video.budget, Some(1200.0));
    let per_app: f64 = forecast.data.apps.iter().map(|a| a.month_to_date).sum();
    assert!(
        (per_app - forecast.data.month_to_date).abs() < 1e-6 * per_app,
        "the apps' months add up to the workspace's"
    );

    let prices: Vec<shared::cost::PriceLine> =
        app.get(&ws_path(ws::PRICES)).await.json().await.unwrap();
    let line = |app: &str| prices.iter().find(|p| p.app == app).unwrap().clone();
    assert!(
        line("flux-studio").ambiguous,
        "H100 is billed with and without surge"
    );
    assert!(!line("upscaler").ambiguous, "A10G has one price");
    assert_eq!(line("upscaler").effective, line("upscaler").derived);

    assert_eq!(
        put(
            ws::PRICES,
            serde_json::json!({"app": "upscaler", "unit_price": 0.0004})
        )
        .await
        .unwrap()
        .status(),
        204
    );
    let prices: Vec<shared::cost::PriceLine> =
        app.get(&ws_path(ws::PRICES)).await.json().await.unwrap();
    let up = prices.iter().find(|p| p.app == "upscaler").unwrap();
    assert_eq!(
        (up.override_price, up.effective),
        (Some(0.0004), Some(0.0004))
    );
    // Requests are priced with it.
    let page: Fetched<shared::requests::RequestsPage> = app
        .get(&format!(
            "{}?endpoints=acme/upscaler&from=now-6h",
            ws_path(ws::REQUESTS)
        ))
        .await
        .json()
        .await
        .unwrap();
    let priced = page
        .data
        .items
        .iter()
        .find_map(|r| match r.cost {
            shared::requests::Cost::Known {
                unit_price,
                blended,
                ..
            } => Some((unit_price, blended)),
            _ => None,
        })
        .expect("a billed request");
    assert_eq!(priced, (0.0004, false), "the admin's price is not a blend");
    // flux-studio is billed with and without surge: its request costs say they are a blend.
    let page: Fetched<shared::requests::RequestsPage> = app
        .get(&format!(
            "{}?endpoints=acme/flux-studio&from=now-6h",
            ws_path(ws::REQUESTS)
        ))
        .await
        .json()
        .await
        .unwrap();
    assert!(page
        .data
        .items
        .iter()
        .any(|r| matches!(r.cost, shared::requests::Cost::Known { blended: true, .. })));
}

#[tokio::test]
async fn the_daily_history_fills_without_anyone_looking() {
    let sim = SimHarness::start().await;
    // The job's hourly tick, shortened: each tick reads the clock the simulator moves.
    let app = TestApp::spawn_with_sim_edited(
        &sim,
        integration_tests::sim::API_KEY,
        Some(integration_tests::sim::ADMIN_KEY),
        &[],
        |c| c.history_every = std::time::Duration::from_millis(200),
    )
    .await;
    let db = app.state.db.clone().expect("a usable data directory");
    let day = |n: u32| chrono::NaiveDate::from_ymd_opt(2026, 11, n).unwrap();
    let days_stored = |want: usize| {
        let db = db.clone();
        async move {
            // No page, no scrape: the background job writes the month's complete days.
            let stored = || async {
                let stored = db
                    .daily_cost_totals("default", day(1), day(30))
                    .await
                    .unwrap();
                if stored.len() == want {
                    Ok(stored)
                } else {
                    Err(format!("{} days", stored.len()))
                }
            };
            let within = std::time::Duration::from_secs(20);
            let what = format!("{want} days of history");
            let stored = integration_tests::eventually(within, what, stored).await;
            assert!(stored.iter().all(|(_, total)| *total > 0.0));
            stored
        }
    };
    let stored = days_stored(17).await;
    assert_eq!(stored.last().unwrap().0, day(17));
    // A day later the next tick adds the day that completed, and only it.
    sim.clock.advance(24 * 3_600_000);
    let stored = days_stored(18).await;
    assert_eq!(stored.last().unwrap().0, day(18));
}

#[tokio::test]
async fn usage_of_one_app_includes_its_suffixed_usage_name() {
    let sim = SimHarness::start().await;
    let app = TestApp::spawn_with_sim(&sim, true, &[]).await;
    // Seed 42's usage names upscaler `upscaler-prod`, and `upscaler-dev` is another app.
    for (name, other) in [("upscaler", "upscaler-dev"), ("upscaler-dev", "upscaler")] {
        let resp = app
            .get(&format!("{}?apps={name}", ws_path(ws::USAGE)))
            .await;
        assert_eq!(resp.status(), 200);
        let r: Fetched<shared::usage::UsageReport> = resp.json().await.unwrap();
        let r = r.data;
        assert!(!r.lines.is_empty() && r.total_cost > 0.0, "{name}: {r:?}");
        assert!(
            r.lines.iter().all(|l| l.app == name),
            "{name}: {:?}",
            r.lines
        );
        assert!(r.series.iter().all(|p| p.app == name && p.app != other));
    }
}

#[tokio::test]
async fn an_hour_later_with_fal_down_the_cost_views_show_their_last_good_copy() {
    use shared::cost::Forecast;
    use shared::usage::UsageReport;
    let sim = SimHarness::start().await;
    let app = TestApp::spawn_with_sim(&sim, true, &[]).await;
    let forecast = app.get(&ws_path(ws::FORECAST)).await;
    assert_eq!(forecast.status(), 200);
    let usage = app
        .get(&format!("{}?from=now-7d", ws_path(ws::USAGE)))
        .await;
    assert_eq!(usage.status(), 200);
    // fal goes down; an hour passes, so the windows' keys move on.
    sim.faults(serde_json::json!([{ "operation": "*", "status": 502 }]))
        .await;
    sim.clock.advance(3_600_000);
    let forecast = app.get(&ws_path(ws::FORECAST)).await;
    assert_eq!(forecast.status(), 200, "not 'no earlier copy'");
    assert_eq!(forecast.headers()["x-cache"], "STALE");
    let f: Fetched<Forecast> = forecast.json().await.unwrap();
    assert!(f.stale && !f.data.daily.is_empty());
    let usage = app
        .get(&format!("{}?from=now-7d", ws_path(ws::USAGE)))
        .await;
    assert_eq!(usage.status(), 200);
    let u: Fetched<UsageReport> = usage.json().await.unwrap();
    assert!(u.stale && !u.data.lines.is_empty());
}
