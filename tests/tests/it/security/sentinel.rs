//! The fal keys never leave falscope: every route (successes, validation errors, fal failures,
//! CSV exports, streams, `/metrics`, the OpenAPI document, the frontend's files) is called and
//! every byte answered, plus every log line at TRACE level, is scanned for the keys.

use futures::StreamExt;
use integration_tests::sim::{SimHarness, T0};
use integration_tests::{ws_path, TestApp};
use shared::auth::CSRF_HEADER;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const API_KEY: &str = "fal-sentinel-api-8d1f7c2e";
const ADMIN_KEY: &str = "fal-sentinel-admin-3b9e51aa";
/// A key fal rejects: the 401 path must not echo it either.
const WRONG_KEY: &str = "fal-sentinel-wrong-77c0d4";

/// Every log line written while the test runs.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Status line, headers and body of one answer, as text.
async fn everything(resp: reqwest::Response) -> String {
    let mut out = format!("{:?}\n", resp.status());
    for (k, v) in resp.headers() {
        out += &format!("{k}: {}\n", String::from_utf8_lossy(v.as_bytes()));
    }
    let mut body = resp.bytes_stream();
    // Streams never end by themselves: take what arrives within a moment.
    let deadline = tokio::time::Instant::now() + Duration::from_millis(1500);
    while let Ok(Some(Ok(chunk))) = tokio::time::timeout_at(deadline, body.next()).await {
        out += &String::from_utf8_lossy(&chunk);
    }
    out
}

fn concrete(template: &str) -> String {
    ws_path(template).replace("{id}", "0196f3a2-0000-7000-8000-000000000000")
}

async fn sweep(app: &TestApp, extra: &[String]) -> String {
    let mut seen = String::new();
    let mut paths: Vec<(http::Method, String)> = backend::api::table()
        .iter()
        .map(|r| (r.method.clone(), concrete(r.path)))
        .collect();
    let q = "endpoints=acme/chat-llm&from=now-2h";
    for (template, query) in [
        (shared::routes::ws::ANALYTICS, q),
        (shared::routes::ws::ANALYTICS_CSV, q),
        (shared::routes::ws::REQUESTS, q),
        (shared::routes::ws::REQUESTS_CSV, q),
        (shared::routes::ws::USAGE, "from=now-1d"),
        (shared::routes::ws::USAGE_CSV, "from=now-1d"),
        (shared::routes::ws::LOGS_CSV, "from=now-10m"),
        (shared::routes::ws::LOGS, "from=garbage"),
        (shared::routes::ws::FILES, "dir=../../etc"),
        (shared::routes::ws::FILE_CONTENT, "path=missing.bin"),
    ] {
        paths.push((http::Method::GET, format!("{}?{query}", ws_path(template))));
    }
    paths.push((http::Method::GET, "/api/no/such/route".into()));
    paths.extend(extra.iter().map(|p| (http::Method::GET, p.clone())));
    for (method, path) in paths {
        let mut req = app.http.request(method.clone(), app.url(&path));
        if method == http::Method::POST {
            req = req.header(CSRF_HEADER, "1").json(
                &serde_json::json!({ "path": "in/x.txt", "url": "https://example.invalid/x" }),
            );
        }
        seen += &format!("== {method} {path}\n");
        seen += &everything(req.send().await.unwrap()).await;
    }
    seen
}

/// `index.html` and every file it links.
async fn frontend(app: &TestApp) -> Vec<String> {
    let index = app.get("/").await.text().await.unwrap();
    assert!(
        index.contains("<script"),
        "the frontend is built (cargo xtask test builds it)"
    );
    let mut assets = Vec::new();
    for part in index.split(['"', '\'']) {
        if part.starts_with('/') && part.contains('.') && !assets.contains(&part.to_owned()) {
            assets.push(part.to_owned());
        }
    }
    assert!(assets.iter().any(|a| a.ends_with(".wasm")), "{assets:?}");
    assets
}

#[test]
fn the_fal_keys_appear_in_no_response_and_no_log_line() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let responses = tracing::subscriber::with_default(subscriber, || {
        // One thread: every task of falscope, the simulator and the client logs through the
        // capturing subscriber.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let sim = SimHarness::start_with_keys(T0, API_KEY, ADMIN_KEY).await;
            let args = ["--rate-limit", "0"];
            let app = TestApp::spawn_with_sim_keys(&sim, API_KEY, Some(ADMIN_KEY), &args).await;
            let assets = frontend(&app).await;
            let mut seen = sweep(&app, &assets).await;
            assert!(
                seen.contains("acme/chat-llm"),
                "the sweep reached fal's data"
            );
            // fal failing: 500s and timeouts on every operation.
            sim.faults(serde_json::json!([{ "operation": "*", "status": 500 }]))
                .await;
            app.state.reports.cache().expire_all();
            seen += &sweep(&app, &[]).await;
            // fal reflecting the caller's key back in its error message (falscope passes a
            // rejected query's message on to the browser).
            sim.faults(serde_json::json!([{ "operation": "*", "echo_key": true }]))
                .await;
            app.state.reports.cache().expire_all();
            let echoed = sweep(&app, &[]).await;
            assert!(
                echoed.contains("fal rejected the query"),
                "the reflected-key path ran"
            );
            seen += &echoed;
            sim.faults(serde_json::json!([])).await;
            // fal rejecting the key.
            let rejected =
                TestApp::spawn_with_sim_keys(&sim, WRONG_KEY, Some(WRONG_KEY), &args).await;
            seen += &sweep(&rejected, &[]).await;
            assert!(
                seen.contains("upstream_credentials"),
                "the rejected-key path ran"
            );
            seen
        })
    });
    let logs = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(
        logs.len() > 10_000 && logs.contains("audit"),
        "logs were captured"
    );
    for key in [API_KEY, ADMIN_KEY, WRONG_KEY] {
        assert!(!responses.contains(key), "{key} appeared in a response");
        assert!(!logs.contains(key), "{key} appeared in a log line");
        // Not even its distinctive half.
        let half = &key[key.len() / 2..];
        assert!(!responses.contains(half) && !logs.contains(half), "{half}");
    }
}
