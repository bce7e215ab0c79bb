//! CSV exports parse back and agree with the JSON views.

use integration_tests::sim::SimHarness;
use integration_tests::{ws_path, TestApp};
use shared::routes::ws;
use shared::Fetched;

async fn csv_rows(app: &TestApp, path: &str) -> (Vec<String>, Vec<csv::StringRecord>) {
    let resp = app.get(path).await;
    assert_eq!(resp.status(), 200, "{path}");
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let text = resp.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    (header, reader.records().map(Result::unwrap).collect())
}

#[tokio::test]
async fn every_export_parses_back_and_matches_the_json() {
    let sim = SimHarness::start().await;
    let app = TestApp::spawn_with_sim(&sim, true, &[]).await;

    let q = "?endpoints=acme/chat-llm&from=now-3h";
    let (header, rows) = csv_rows(&app, &format!("{}{q}", ws_path(ws::ANALYTICS_CSV))).await;
    assert_eq!(header[0], "bucket");
    let after_csv = sim.stats().await["analytics"].as_u64().unwrap();
    let json: Fetched<shared::analytics::AnalyticsReport> = app
        .get(&format!("{}{q}", ws_path(ws::ANALYTICS)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rows.len(), json.data.series.len());
    assert_eq!(
        sim.stats().await["analytics"].as_u64().unwrap(),
        after_csv,
        "the CSV and the JSON view share one cached report"
    );

    // The hourly daily-cost job reads usage once at start: let it, then count from there.
    app.wait_for_cost_history().await;
    let before = sim.stats().await["usage"].as_u64().unwrap_or(0);
    let (header, rows) = csv_rows(&app, &ws_path(ws::USAGE_CSV)).await;
    assert_eq!(header.last().unwrap(), "currency");
    let total: f64 = rows.iter().map(|r| r[6].parse::<f64>().unwrap()).sum();
    let json: Fetched<shared::usage::UsageReport> =
        app.get(&ws_path(ws::USAGE)).await.json().await.unwrap();
    assert!((total - json.data.total_cost).abs() < 1e-6);
    assert_eq!(
        sim.stats().await["usage"].as_u64().unwrap_or(0) - before,
        1,
        "the CSV and the JSON view share one cached report"
    );

    // Requests: more than one fal page (100 rows) is walked and streamed.
    let (header, rows) = csv_rows(
        &app,
        &format!(
            "{}?endpoints=acme/chat-llm&from=now-90m",
            ws_path(ws::REQUESTS_CSV)
        ),
    )
    .await;
    assert_eq!(header[0], "id");
    assert!(rows.len() > 100, "{} rows", rows.len());
    let ids: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.get(0).unwrap()).collect();
    assert_eq!(ids.len(), rows.len(), "no row twice");
    assert!(rows.iter().any(|r| &r[11] == "pending") && rows.iter().any(|r| &r[11] == "known"));

    let (header, rows) = csv_rows(
        &app,
        &format!("{}?from=now-10m&level=warning", ws_path(ws::LOGS_CSV)),
    )
    .await;
    assert_eq!(
        header,
        [
            "timestamp",
            "level",
            "app",
            "revision",
            "request_id",
            "message"
        ]
    );
    assert!(!rows.is_empty());
    assert!(rows
        .iter()
        .all(|r| ["warning", "error", "critical"].contains(&&r[1])));
}

#[tokio::test]
async fn a_viewers_requests_csv_carries_no_cost() {
    use integration_tests::auth::{token, AuthFixture};
    use shared::auth::Role;
    let sim = SimHarness::start().await;
    let auth = AuthFixture::write("");
    let app = TestApp::spawn_token_mode(&sim, &auth, &[]).await;
    let path = format!(
        "{}?endpoints=acme/flux-studio&from=now-2h",
        ws_path(ws::REQUESTS_CSV)
    );
    let rows_as = |role: Role| {
        let req = app.http.get(app.url(&path)).bearer_auth(token(role));
        async move {
            let text = req.send().await.unwrap().text().await.unwrap();
            let mut reader = csv::Reader::from_reader(text.as_bytes());
            let header: Vec<String> = reader
                .headers()
                .unwrap()
                .iter()
                .map(str::to_owned)
                .collect();
            let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
            (header, rows)
        }
    };
    let (header, billing) = rows_as(Role::Billing).await;
    let cost = header.iter().position(|h| h == "cost").unwrap();
    let state = header.iter().position(|h| h == "cost_state").unwrap();
    assert!(
        billing
            .iter()
            .any(|r| r[state] == *"known" && !r[cost].is_empty()),
        "billing sees costs"
    );
    let (_, viewer) = rows_as(Role::Viewer).await;
    assert_eq!(viewer.len(), billing.len(), "the same requests");
    assert!(
        viewer
            .iter()
            .all(|r| r[cost].is_empty() && r[state] != *"known"),
        "a viewer's export has no cost"
    );
}
