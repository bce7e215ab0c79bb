//! Every dashboard route: shapes, validation errors naming the parameter, the ADMIN-key
//! error, request detail with logs, and no key in any answer.

use integration_tests::sim::SimHarness;
use integration_tests::{ws_path, TestApp};
use shared::requests::{Cost, RequestDetail, RequestsPage};
use shared::routes::ws;
use shared::{ApiError, ErrorCode, Fetched};

async fn error(app: &TestApp, path: &str) -> (u16, ApiError) {
    let resp = app.get(path).await;
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn bad_parameters_are_400s_naming_the_parameter() {
    let sim = SimHarness::start().await;
    let app = TestApp::spawn_with_sim(&sim, true, &[]).await;
    let cases = [
        (ws::ANALYTICS, "", "endpoints"),
        (ws::ANALYTICS, "?endpoints=a/b&from=yesterday", "from"),
        (ws::ANALYTICS, "?endpoints=a/b&from=now&to=now-1h", "from"),
        (
            ws::ANALYTICS,
            "?endpoints=a/b&timeframe=fortnight",
            "timeframe",
        ),
        (ws::ANALYTICS, "?endpoints=a/b&tz=Mars/Base", "tz"),
        (ws::ANALYTICS, "?endpoints=a/b&colour=red", "colour"),
        (ws::REQUESTS, "?endpoints=acme/chat-llm&limit=0", "limit"),
        (
            ws::REQUESTS,
            "?endpoints=acme/chat-llm&status=fine",
            "status",
        ),
        (ws::LOGS, "?level=loud", "level"),
        (ws::LOGS, "?label=novalue", "label"),
        (ws::FILES, "?dir=../etc", "dir"),
        (ws::FILE_CONTENT, "?path=a/../../b", "path"),
        (ws::USAGE, "?from=now-900d", "from"),
    ];
    for (route, query, param) in cases {
        let (status, err) = error(&app, &format!("{}{query}", ws_path(route))).await;
        assert_eq!(status, 400, "{route}{query}");
        assert_eq!(err.code, ErrorCode::InvalidParameter);
        assert_eq!(
            err.param.as_deref(),
            Some(param),
            "{route}{query}: {}",
            err.message
        );
    }
    let many: Vec<String> = (0..51).map(|i| format!("acme/e{i}")).collect();
    let (status, err) = error(
        &app,
        &format!("{}?endpoints={}", ws_path(ws::ANALYTICS), many.join(",")),
    )
    .await;
    assert_eq!((status, err.param.as_deref()), (400, Some("endpoints")));
    assert_eq!(
        error(&app, "/api/ws/nope/apps").await.0,
        404,
        "unknown workspace"
    );
    assert_eq!(
        sim.stats().await["analytics"],
        0,
        "nothing invalid reaches fal"
    );
}

#[tokio::test]
async fn usage_without_an_admin_key_says_how_to_fix_it() {
    let sim = SimHarness::start().await;
    let app = TestApp::spawn_with_sim(&sim, false, &[]).await;
    let (status, err) = error(&app, &ws_path(ws::USAGE)).await;
    assert_eq!(status, 409);
    assert_eq!(err.code, ErrorCode::AdminKeyMissing);
    assert!(err.message.contains("FAL_ADMIN_KEY"), "{}", err.message);
    assert_eq!(sim.stats().await["usage"], 0);
    // Requests still work; their cost is unknown without prices.
    let page: Fetched<RequestsPage> = app
        .get(&format!(
            "{}?endpoints=acme/chat-llm&from=now-1h",
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
        .all(|r| r.cost == Cost::Unknown || r.cost == Cost::Pending));
}

#[tokio::test]
async fn usage_report_totals_sum_surge_and_non_surge() {
    let sim = SimHarness::start().await;
    let app = TestApp::spawn_with_sim(&sim, true, &[]).await;
    let report: Fetched<shared::usage::UsageReport> =
        app.get(&ws_path(ws::USAGE)).await.json().await.unwrap();
    let r = report.data;
    assert!(r.lines.iter().any(|l| l.is_surge) && r.lines.iter().any(|l| !l.is_surge));
    let sum: f64 = r.lines.iter().map(|l| l.cost).sum();
    assert!((r.total_cost - sum).abs() < 1e-6);
    let series_sum: f64 = r.series.iter().map(|p| p.cost).sum();
    assert!(
        (series_sum - r.total_cost).abs() / r.total_cost < 0.01,
        "series {series_sum} vs total {}",
        r.total_cost
    );
    assert!(
        r.lines.windows(2).all(|w| w[0].cost >= w[1].cost),
        "most expensive first"
    );
}

#[tokio::test]
async fn requests_carry_cost_and_a_row_opens_its_detail_with_logs() {
    let sim = SimHarness::start().await;
    let app = TestApp::spawn_with_sim(&sim, true, &[]).await;
    let page: Fetched<RequestsPage> = app
        .get(&format!(
            "{}?endpoints=acme/flux-studio&from=now-2h&limit=100",
            ws_path(ws::REQUESTS)
        ))
        .await
        .json()
        .await
        .unwrap();
    let items = page.data.items;
    assert!(items
        .iter()
        .any(|r| matches!(r.cost, Cost::Known { amount, .. } if amount > 0.0)));
    assert!(
        items.iter().any(|r| r.cost == Cost::Pending),
        "recent rows await billing"
    );
    let known = items
        .iter()
        .find(|r| matches!(r.cost, Cost::Known { .. }))
        .unwrap();
    let detail: Fetched<RequestDetail> = app
        .get(&ws::path_with_id(ws::REQUEST, "default", &known.id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail.data.row.id, known.id);
    assert!(detail.data.logs.len() >= 3);
    assert!(detail
        .data
        .logs
        .iter()
        .all(|l| l.request_id.as_deref() == Some(known.id.as_str())));
    assert!(
        detail.data.logs.windows(2).all(|w| w[0].ts <= w[1].ts),
        "oldest first"
    );
    // A request of 20 days ago: fal widens `start` to 90 days when `request_id` is given, so
    // the lookup sends no `start` of its own.
    let world = backend::simulator::world::World::new(42);
    let day = 86_400_000;
    let old = world
        .requests_between(
            0,
            integration_tests::sim::T0 - 20 * day,
            integration_tests::sim::T0 - 20 * day + 3_600_000,
        )
        .into_iter()
        .next()
        .expect("flux-studio had traffic that hour");
    let resp = app
        .get(&ws::path_with_id(
            ws::REQUEST,
            "default",
            &old.request_id.to_string(),
        ))
        .await;
    assert_eq!(resp.status(), 200);
    let detail: Fetched<RequestDetail> = resp.json().await.unwrap();
    assert_eq!(detail.data.row.id, old.request_id.to_string());
    let (status, _) = error(
        &app,
        &ws::path_with_id(
            ws::REQUEST,
            "default",
            "0193a0b2-0000-7000-8000-000000000000",
        ),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        error(
            &app,
            &ws::path_with_id(ws::REQUEST, "default", "not-a-uuid")
        )
        .await
        .0,
        400
    );
}

#[tokio::test]
async fn no_answer_ever_contains_a_fal_key() {
    let sim = SimHarness::start().await;
    let app = TestApp::spawn_with_sim(&sim, true, &[]).await;
    let paths = [
        "/api/config".to_owned(),
        ws_path(ws::LIVE),
        ws_path(ws::APPS),
        format!("{}?endpoints=acme/chat-llm", ws_path(ws::ANALYTICS)),
        ws_path(ws::USAGE),
        format!("{}?endpoints=acme/chat-llm", ws_path(ws::REQUESTS)),
        ws_path(ws::LOGS),
        ws_path(ws::FILES),
        format!("{}?path=models/README.md", ws_path(ws::FILE_CONTENT)),
        format!("{}?endpoints=nobody/x", ws_path(ws::ANALYTICS)),
        "/api/ws/default/nope".to_owned(),
        "/api/openapi.json".to_owned(),
        "/metrics".to_owned(),
    ];
    for path in paths {
        let resp = app.get(&path).await;
        let headers = format!("{:?}", resp.headers());
        let body = resp.text().await.unwrap();
        for key in [
            integration_tests::sim::API_KEY,
            integration_tests::sim::ADMIN_KEY,
        ] {
            assert!(
                !body.contains(key) && !headers.contains(key),
                "{path} leaks a key"
            );
        }
    }
}

#[tokio::test]
async fn workspaces_are_separate_accounts_with_separate_caches() {
    let (a, b) = (SimHarness::start().await, SimHarness::start().await);
    let app = TestApp::spawn_with_workspaces(&[("team-a", &a), ("team-b", &b)]).await;
    let config: shared::PublicConfig = app.get("/api/config").await.json().await.unwrap();
    let ids: Vec<&str> = config.workspaces.iter().map(|w| w.id.as_str()).collect();
    assert_eq!(ids, ["team-a", "team-b"]);
    // Files: no background job reads them, so every call counted is a view's.
    for _ in 0..3 {
        assert_eq!(app.get(&ws::path(ws::FILES, "team-a")).await.status(), 200);
    }
    assert_eq!(a.stats().await["files_list"], 1);
    assert_eq!(
        b.stats().await["files_list"],
        0,
        "team-b's account is not asked for team-a's view"
    );
    assert_eq!(
        app.get(&ws::path(ws::FILES, "team-b")).await.headers()["x-cache"],
        "MISS",
        "cache keys are per workspace"
    );
    assert_eq!(b.stats().await["files_list"], 1);
}

#[tokio::test]
async fn a_chosen_endpoint_is_exactly_that_endpoint_never_its_routes_too() {
    use shared::analytics::AnalyticsReport;
    let sim = SimHarness::start().await;
    let app = TestApp::spawn_with_sim(&sim, true, &[]).await;
    // fal answers the bare app id with its `turbo` route's rows too.
    let both = "acme/flux-studio,acme/flux-studio/turbo";
    let all: Fetched<AnalyticsReport> = app
        .get(&format!(
            "{}?endpoints={both}&from=now-6h",
            ws_path(ws::ANALYTICS)
        ))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        all.data
            .summary
            .iter()
            .any(|s| s.endpoint == "acme/flux-studio/turbo"),
        "the route has traffic to leave out: {:?}",
        all.data.summary
    );
    let one: Fetched<AnalyticsReport> = app
        .get(&format!(
            "{}?endpoints=acme/flux-studio&from=now-6h",
            ws_path(ws::ANALYTICS)
        ))
        .await
        .json()
        .await
        .unwrap();
    assert!(!one.data.summary.is_empty());
    assert!(one
        .data
        .summary
        .iter()
        .all(|s| s.endpoint == "acme/flux-studio"));
    assert!(one
        .data
        .series
        .iter()
        .all(|p| p.endpoint == "acme/flux-studio"));
    let page: Fetched<RequestsPage> = app
        .get(&format!(
            "{}?endpoints=acme/flux-studio&from=now-6h&limit=100",
            ws_path(ws::REQUESTS)
        ))
        .await
        .json()
        .await
        .unwrap();
    assert!(!page.data.items.is_empty());
    assert!(page
        .data
        .items
        .iter()
        .all(|r| r.endpoint == "acme/flux-studio"));
}

#[tokio::test]
async fn failures_by_type_match_the_simulators_own_requests() {
    use backend::simulator::world::{Outcome, World};
    use integration_tests::sim::{at, T0};
    use shared::analytics::{AnalyticsReport, FailureType};
    use std::collections::BTreeMap;
    let sim = SimHarness::start().await;
    let app = TestApp::spawn_with_sim(&sim, false, &[]).await;
    let world = World::new(42);
    let (from, to) = (T0 - 6 * 3_600_000, T0);
    // What the seeded world holds: every failed request of the window, by endpoint and type.
    let mut truth: BTreeMap<(String, FailureType), u64> = BTreeMap::new();
    let mut endpoints = Vec::new();
    for i in 0..world.apps.len() {
        endpoints.extend(world.endpoints_of(i));
        for r in world.requests_between(i, from, to) {
            let kind = match r.outcome {
                Outcome::StartupError => FailureType::Startup,
                Outcome::ConnectionError => FailureType::Connection,
                Outcome::TimeoutError => FailureType::Timeout,
                Outcome::RuntimeError => FailureType::Runtime,
                Outcome::Success | Outcome::UserError => continue,
            };
            if r.ended_at <= T0 {
                *truth.entry((r.endpoint_id.clone(), kind)).or_default() += 1;
            }
        }
    }
    let report: Fetched<AnalyticsReport> = app
        .get(&format!(
            "{}?endpoints={}&from={}&to={}",
            ws_path(ws::ANALYTICS),
            endpoints.join(","),
            at(from).to_rfc3339().replace('+', "%2B"),
            at(to).to_rfc3339().replace('+', "%2B"),
        ))
        .await
        .json()
        .await
        .unwrap();
    let mut seen: BTreeMap<(String, FailureType), u64> = BTreeMap::new();
    for s in &report.data.summary {
        assert_eq!(
            s.failures.total(),
            s.server_errors,
            "every 5xx has a type: {s:?}"
        );
        for k in FailureType::ALL {
            if s.failures.of(k) > 0 {
                seen.insert((s.endpoint.clone(), k), s.failures.of(k));
            }
        }
    }
    assert_eq!(seen, truth);
    // Realistic causes: every type occurs, and the slow video app times out most.
    for k in FailureType::ALL {
        assert!(truth.keys().any(|(_, t)| *t == k), "no {k:?} in the window");
    }
    let timeout_share = |app: &str| {
        let (mut t, mut all) = (0, 0);
        for ((e, k), n) in &truth {
            if e == app || e.starts_with(&format!("{app}/")) {
                all += n;
                t += if *k == FailureType::Timeout { *n } else { 0 };
            }
        }
        t as f64 / all.max(1) as f64
    };
    for other in [
        "acme/chat-llm",
        "acme/flux-studio",
        "acme/upscaler",
        "acme/embeddings",
    ] {
        assert!(
            timeout_share("acme/video-gen") > 2.0 * timeout_share(other),
            "video-gen times out most: {truth:?}"
        );
    }
    // The series adds up to the summary.
    let series: u64 = report.data.series.iter().map(|p| p.failures.total()).sum();
    assert_eq!(series, truth.values().sum::<u64>());
}
