//! Alerts end to end: rules made through the API are evaluated on the simulator's data, fire
//! once, notify once (signed), show on `/metrics` and in the history; webhook deliveries are
//! signed by the documented recipe and retried.

use backend::alerts::AlertsConfig;
use hmac::{Hmac, Mac};
use integration_tests::sim::SimHarness;
use integration_tests::{eventually, ws_path, TestApp};
use sha2::Sha256;
use shared::alerts::{AlertState, AlertsView, DeliveryResult};
use shared::auth::CSRF_HEADER;
use shared::routes::ws;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) const SECRET: &str = "whsec-test-4f1c";

/// One request a webhook receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) path: String,
    timestamp: Option<String>,
    signature: Option<String>,
    pub(crate) body: String,
}

/// A local webhook receiver: `/flaky` fails twice with 500 then accepts, `/ok` accepts,
/// `/reject` answers 400, `/hang` never answers.
pub(crate) struct Receiver {
    pub(crate) url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub(crate) async fn start() -> Self {
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let seen = got.clone();
        let handler = move |uri: http::Uri, headers: http::HeaderMap, body: String| {
            let seen = seen.clone();
            async move {
                let header = |n: &str| {
                    headers
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                };
                let flaky_calls = {
                    let mut all = seen.lock().unwrap();
                    all.push(Received {
                        path: uri.path().to_owned(),
                        timestamp: header("x-falscope-timestamp"),
                        signature: header("x-falscope-signature"),
                        body,
                    });
                    all.iter().filter(|r| r.path == "/flaky").count()
                };
                if uri.path() == "/hang" {
                    std::future::pending::<()>().await;
                }
                match uri.path() {
                    "/flaky" if flaky_calls <= 2 => http::StatusCode::INTERNAL_SERVER_ERROR,
                    "/reject" => http::StatusCode::BAD_REQUEST,
                    _ => http::StatusCode::OK,
                }
            }
        };
        let router = axum::Router::new().fallback(axum::routing::post(handler));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { url, got }
    }

    pub(crate) fn got(&self, path: &str) -> Vec<Received> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }
}

/// The README's recipe: HMAC-SHA256 over `"{timestamp}." + body`, hex, prefixed `sha256=`.
fn verifies(r: &Received) -> bool {
    let (Some(t), Some(sig)) = (&r.timestamp, &r.signature) else {
        return false;
    };
    let Some(hex) = sig.strip_prefix("sha256=") else {
        return false;
    };
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect();
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.{}", r.body).as_bytes());
    mac.verify_slice(&bytes).is_ok()
}

/// falscope against `sim` with webhooks to `receiver` (`hooks`: name, path, format).
async fn app_with_hooks(
    sim: &SimHarness,
    receiver: &Receiver,
    hooks: &[(&str, &str, &str)],
    evaluate_every: Duration,
) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.toml");
    let mut text = "[delivery]\nattempts = 4\nbackoff_ms = 10\n".to_owned();
    for (name, p, format) in hooks {
        text += &format!(
            "[[webhook]]\nname = \"{name}\"\nurl = \"{}{p}\"\nformat = \"{format}\"\n",
            receiver.url
        );
        if *format == "generic" {
            text += "secret_env = \"HOOK_SECRET\"\n";
        }
    }
    std::fs::write(&path, text).unwrap();
    let mut alerts = AlertsConfig::load(&path, |k| (k == "HOOK_SECRET").then(|| SECRET.to_owned()))
        .expect("the alerts file is valid");
    alerts.evaluate_every = evaluate_every;
    // Generous: the whole suite shares two cores; `/hang` waits it out once.
    alerts.test_deadline = Duration::from_secs(10);
    TestApp::spawn_with_sim_edited(
        sim,
        integration_tests::sim::API_KEY,
        Some(integration_tests::sim::ADMIN_KEY),
        &["--rate-limit", "0"],
        move |c| c.alerts = alerts,
    )
    .await
}

async fn view(app: &TestApp) -> AlertsView {
    let resp = app.get(&ws_path(ws::ALERTS)).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// Polls the Alerts view until `done` holds (20 s at most).
async fn until(app: &TestApp, what: &str, done: impl Fn(&AlertsView) -> bool) -> AlertsView {
    let check = || async {
        let v = view(app).await;
        if done(&v) {
            Ok(v)
        } else {
            Err(format!("{v:#?}"))
        }
    };
    eventually(Duration::from_secs(20), what, check).await
}

#[tokio::test]
async fn test_notifications_are_signed_by_the_documented_recipe_and_retried() {
    let sim = SimHarness::start().await;
    let receiver = Receiver::start().await;
    let hooks = [
        ("flaky", "/flaky", "generic"),
        ("slack", "/ok", "slack"),
        ("broken", "/reject", "generic"),
        ("silent", "/hang", "slack"),
    ];
    let app = app_with_hooks(&sim, &receiver, &hooks, Duration::from_secs(3600)).await;
    let v = view(&app).await;
    let names: Vec<&str> = v.webhooks.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["flaky", "slack", "broken", "silent"]);
    assert!(
        !serde_json::to_string(&v).unwrap().contains(SECRET),
        "the signing key never reaches the browser"
    );

    let resp = app
        .http
        .post(app.url(&ws_path(ws::ALERT_TEST)))
        .header(CSRF_HEADER, "1")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let results: Vec<DeliveryResult> = resp.json().await.unwrap();
    let by_name = |n: &str| results.iter().find(|r| r.webhook == n).unwrap().clone();
    let flaky = by_name("flaky");
    assert!(
        flaky.ok && flaky.attempts == 3,
        "two 500s, then delivered: {flaky:?}"
    );
    let broken = by_name("broken");
    assert!(
        !broken.ok && broken.attempts == 1 && broken.detail == "HTTP 400",
        "a 400 is not retried: {broken:?}"
    );
    assert!(by_name("slack").ok);
    let silent = by_name("silent");
    assert!(
        !silent.ok && silent.detail == "timed out",
        "a webhook that never answers is reported, not waited on for ever: {silent:?}"
    );

    let tries = receiver.got("/flaky");
    assert_eq!(tries.len(), 3);
    for r in &tries {
        assert!(verifies(r), "signature verifies: {r:?}");
        let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["type"], "test");
        assert_eq!(body["workspace"], "default");
    }
    // The signature covers the body: a changed body does not verify.
    let mut forged = tries[0].clone();
    forged.body = forged.body.replace("test", "alert");
    assert!(!verifies(&forged));

    let slack = &receiver.got("/ok")[0];
    let body: serde_json::Value = serde_json::from_str(&slack.body).unwrap();
    assert!(body["text"].as_str().unwrap().contains("test notification"));
}

#[tokio::test]
async fn a_rule_fires_once_notifies_once_and_keeps_firing_while_fal_is_down() {
    let sim = SimHarness::start().await;
    let receiver = Receiver::start().await;
    let app = app_with_hooks(
        &sim,
        &receiver,
        &[("ops", "/ok", "generic")],
        Duration::from_millis(200),
    )
    .await;
    let post = |body: serde_json::Value| {
        app.http
            .post(app.url(&ws_path(ws::ALERT_RULES)))
            .header(CSRF_HEADER, "1")
            .json(&body)
            .send()
    };
    // Bad input: a 400 naming the field.
    let resp = post(serde_json::json!({
        "name": "bad", "condition": {"kind": "threshold", "metric": "error_rate", "above": 7}
    }))
    .await
    .unwrap();
    assert_eq!(resp.status(), 400);
    let err: shared::ApiError = resp.json().await.unwrap();
    assert_eq!(err.param.as_deref(), Some("condition.above"));
    let resp = post(serde_json::json!({
        "name": "typo", "app": "flux-studoi",
        "condition": {"kind": "threshold", "metric": "queue_size", "above": 5}
    }))
    .await
    .unwrap();
    assert_eq!(resp.status(), 400);
    let err: shared::ApiError = resp.json().await.unwrap();
    assert_eq!(err.param.as_deref(), Some("app"));
    let resp = post(serde_json::json!({"name": "no condition"}))
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);

    // chat-llm fails 1.5% of its requests: "any 5xx in the last two hours" holds.
    let resp = post(serde_json::json!({
        "name": "chat-llm failing", "app": "chat-llm",
        "condition": {"kind": "threshold", "metric": "error_rate", "above": 0.0,
                      "window_minutes": 120, "min_requests": 20}
    }))
    .await
    .unwrap();
    assert_eq!(resp.status(), 201);
    let rule: shared::alerts::AlertRule = resp.json().await.unwrap();
    // A steady, seeded world: the hourly-cost anomaly rule judges and stays quiet.
    let resp = post(serde_json::json!({
        "name": "cost anomaly",
        "condition": {"kind": "anomaly", "metric": "hourly_cost", "lookback_hours": 48}
    }))
    .await
    .unwrap();
    assert_eq!(resp.status(), 201);

    let v = until(&app, "the rule to fire and the other to be judged", |v| {
        v.rules
            .iter()
            .any(|r| r.rule.id == rule.id && r.state == AlertState::Firing)
            && v.rules.iter().all(|r| r.evaluated_at.is_some())
    })
    .await;
    let fired = v.rules.iter().find(|r| r.rule.id == rule.id).unwrap();
    assert!(fired.detail.contains("failed 5xx"), "{}", fired.detail);
    let calm = v
        .rules
        .iter()
        .find(|r| r.rule.name == "cost anomaly")
        .unwrap();
    assert_eq!(calm.state, AlertState::Inactive, "{}", calm.detail);
    assert!(
        calm.detail.contains("MADs"),
        "it was judged: {}",
        calm.detail
    );

    // Several more evaluations: still one firing in the history, one notification.
    let after = v.evaluations + 3;
    let v = until(&app, "three more evaluations", |v| v.evaluations >= after).await;
    assert_eq!(v.history.len(), 1, "{:?}", v.history);
    assert_eq!(v.history[0].state, AlertState::Firing);
    eventually(Duration::from_secs(10), "a notification", || {
        std::future::ready(!receiver.got("/ok").is_empty())
    })
    .await;
    let sent = receiver.got("/ok");
    assert_eq!(sent.len(), 1, "notified once");
    assert!(verifies(&sent[0]));
    let body: serde_json::Value = serde_json::from_str(&sent[0].body).unwrap();
    assert_eq!(
        (body["type"].as_str(), body["event"]["state"].as_str()),
        (Some("alert"), Some("firing"))
    );
    assert_eq!(body["rule"]["id"], rule.id.as_str());

    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(&format!(
            "falscope_alert_firing{{workspace=\"default\",rule=\"{}\",name=\"chat-llm failing\"}} 1",
            rule.id
        )),
        "{metrics}"
    );

    // fal down: the rule cannot be judged, and missing data changes nothing.
    sim.faults(serde_json::json!([{ "operation": "*", "status": 500 }]))
        .await;
    app.state.reports.cache().expire_all();
    let after = view(&app).await.evaluations + 3;
    let v = until(&app, "evaluations while fal is down", |v| {
        v.evaluations >= after
    })
    .await;
    let still = v.rules.iter().find(|r| r.rule.id == rule.id).unwrap();
    assert_eq!(still.state, AlertState::Firing);
    assert_eq!(v.history.len(), 1);

    // Edited so it no longer holds: it resolves, once, and says so to the webhook.
    sim.faults(serde_json::json!([])).await;
    let rule_path = format!("{}/{}", ws_path(ws::ALERT_RULES), rule.id);
    let resp = app
        .http
        .put(app.url(&rule_path))
        .header(CSRF_HEADER, "1")
        .json(&serde_json::json!({
            "name": "chat-llm failing badly", "app": "chat-llm",
            "condition": {"kind": "threshold", "metric": "error_rate", "above": 0.9,
                          "window_minutes": 120, "min_requests": 20}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v = until(&app, "the edited rule to resolve", |v| {
        v.rules
            .iter()
            .any(|r| r.rule.id == rule.id && r.state == AlertState::Resolved)
    })
    .await;
    assert_eq!(v.history.len(), 2, "{:?}", v.history);
    assert_eq!(v.history[0].rule_name, "chat-llm failing badly");
    eventually(Duration::from_secs(10), "a resolved notification", || {
        std::future::ready(receiver.got("/ok").len() >= 2)
    })
    .await;
    let body: serde_json::Value = serde_json::from_str(&receiver.got("/ok")[1].body).unwrap();
    assert_eq!(body["event"]["state"], "resolved");

    // A rule from the UI can be deleted; it then is gone.
    let resp = app
        .http
        .delete(app.url(&format!("{}/{}", ws_path(ws::ALERT_RULES), rule.id)))
        .header(CSRF_HEADER, "1")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert!(view(&app).await.rules.iter().all(|r| r.rule.id != rule.id));
}

#[tokio::test]
async fn evaluations_read_the_caches_not_fal() {
    let sim = SimHarness::start().await;
    let receiver = Receiver::start().await;
    let app = app_with_hooks(&sim, &receiver, &[], Duration::from_millis(50)).await;
    // Two rules over the same app and window share one analytics report.
    for (name, metric, above) in [("errors", "error_rate", 0.5), ("slow", "p90_latency", 60.0)] {
        let resp = app
            .http
            .post(app.url(&ws_path(ws::ALERT_RULES)))
            .header(CSRF_HEADER, "1")
            .json(&serde_json::json!({
                "name": name, "app": "chat-llm",
                "condition": {"kind": "threshold", "metric": metric, "above": above, "window_minutes": 30}
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
    }
    let start = view(&app).await.evaluations;
    // The first evaluation reads the report (its pages).
    until(&app, "one evaluation", |v| v.evaluations > start).await;
    let first = sim.stats().await;
    until(&app, "20 evaluations", |v| v.evaluations >= start + 20).await;
    let stats = sim.stats().await;
    assert_eq!(
        stats["analytics"], first["analytics"],
        "19 more evaluations of two rules read the cached report within its TTL: {stats}"
    );
    assert!(first["analytics"].as_u64().unwrap() >= 1);
    // Once per environment (main, and staging named by usage).
    assert_eq!(stats["apps"], 2, "{stats}");
}

#[tokio::test]
async fn an_injected_cost_spike_fires_the_anomaly_rule_and_a_steady_app_does_not() {
    let sim = SimHarness::start().await;
    // Someone left 20 extra H100 runners warm on flux-studio two hours ago.
    let from = chrono::DateTime::from_timestamp_millis(integration_tests::sim::T0).unwrap()
        - chrono::Duration::hours(2);
    let resp = sim
        .http
        .post(sim.url("/_sim/faults"))
        .json(&serde_json::json!({
            "rules": [],
            "cost_spike": {"app": "flux-studio", "extra_idle_runners": 20, "from": from.to_rfc3339()}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let receiver = Receiver::start().await;
    let app = app_with_hooks(&sim, &receiver, &[], Duration::from_millis(100)).await;
    for target in ["flux-studio", "chat-llm"] {
        let resp = app
            .http
            .post(app.url(&ws_path(ws::ALERT_RULES)))
            .header(CSRF_HEADER, "1")
            .json(&serde_json::json!({
                "name": format!("{target} cost anomaly"), "app": target,
                "condition": {"kind": "anomaly", "metric": "hourly_cost", "lookback_hours": 48}
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
    }
    let v = until(&app, "both rules judged", |v| {
        v.rules.len() == 2 && v.rules.iter().all(|r| r.evaluated_at.is_some())
    })
    .await;
    let state = |app: &str| {
        let r = v
            .rules
            .iter()
            .find(|r| r.rule.app.as_deref() == Some(app))
            .unwrap();
        (r.state, r.detail.clone())
    };
    let (spiked, detail) = state("flux-studio");
    assert_eq!(spiked, AlertState::Firing, "{detail}");
    let (steady, detail) = state("chat-llm");
    assert_eq!(steady, AlertState::Inactive, "{detail}");
    assert!(detail.contains("MADs"), "judged: {detail}");
}

#[tokio::test]
async fn a_queue_rule_reads_its_own_apps_queue() {
    let sim = SimHarness::start().await;
    let receiver = Receiver::start().await;
    let app = app_with_hooks(&sim, &receiver, &[], Duration::from_millis(50)).await;
    // The queues the poller published, per app name.
    let live = integration_tests::eventually(
        Duration::from_secs(60),
        "the poller publishes a snapshot",
        || async {
            let resp = app.get(&ws_path(ws::LIVE)).await;
            (resp.status() == 200).then_some(())?;
            let live: shared::Fetched<shared::live::LiveSnapshot> = resp.json().await.ok()?;
            Some(live.data)
        },
    )
    .await;
    let mut queues: Vec<(String, u64)> = live
        .apps
        .iter()
        .map(|a| {
            (
                a.application.rsplit('/').next().unwrap().to_owned(),
                a.queue_size,
            )
        })
        .collect();
    queues.sort_by_key(|(_, q)| std::cmp::Reverse(*q));
    let (busy, q) = queues[0].clone();
    assert!(q >= 1, "some app has a queue at T0: {queues:?}");
    let (other, other_q) = queues.last().unwrap().clone();
    // One named by its id, as live metrics name it; one by its name, as the app list does.
    let busy_id = format!("acme/{busy}");
    for (name, app_name, above) in [
        ("busy queue", &busy_id, q as f64 - 0.5),
        ("quiet queue", &other, other_q as f64 + 0.5),
    ] {
        let resp = app
            .http
            .post(app.url(&ws_path(ws::ALERT_RULES)))
            .header(CSRF_HEADER, "1")
            .json(&serde_json::json!({
                "name": name, "app": app_name, "for_minutes": 0,
                "condition": {"kind": "threshold", "metric": "queue_size", "above": above, "window_minutes": 5}
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    }
    let v = until(&app, "both rules judged", |v| {
        v.rules.len() == 2 && v.rules.iter().all(|r| r.evaluated_at.is_some())
    })
    .await;
    let busy_rule = v
        .rules
        .iter()
        .find(|r| r.rule.name == "busy queue")
        .unwrap();
    let quiet_rule = v
        .rules
        .iter()
        .find(|r| r.rule.name == "quiet queue")
        .unwrap();
    assert_eq!(
        busy_rule.rule.app.as_deref(),
        Some(busy.as_str()),
        "kept under the app's one name"
    );
    assert_eq!(busy_rule.value, Some(q as f64), "{busy_rule:?}");
    assert_eq!(quiet_rule.value, Some(other_q as f64), "{quiet_rule:?}");
    assert_ne!(quiet_rule.state, shared::alerts::AlertState::Firing);
}

#[tokio::test]
async fn budget_pace_and_error_rate_anomaly_rules_measure_what_they_say() {
    let sim = SimHarness::start().await;
    let receiver = Receiver::start().await;
    let app = app_with_hooks(&sim, &receiver, &[], Duration::from_millis(50)).await;
    let post = |body: serde_json::Value| {
        app.http
            .post(app.url(&ws_path(ws::ALERT_RULES)))
            .header(CSRF_HEADER, "1")
            .json(&body)
            .send()
    };
    // No budget yet: the pace rule says what is missing instead of guessing.
    let resp = post(serde_json::json!({"name": "pace", "condition": {"kind": "over_budget_pace"}}))
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let v = until(&app, "the pace rule judged", |v| {
        v.rules.iter().any(|r| r.evaluated_at.is_some())
    })
    .await;
    assert!(
        v.rules[0].detail.contains("no monthly budget"),
        "{:?}",
        v.rules[0]
    );
    // A budget far below what the seeded month spends: on pace to exceed it.
    let put = app
        .http
        .put(app.url(&ws_path(ws::BUDGETS)))
        .header(CSRF_HEADER, "1")
        .json(&serde_json::json!({ "app": null, "monthly": 1.0 }))
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{}", put.status());
    let v = until(&app, "the pace rule fires", |v| {
        v.rules[0].state == shared::alerts::AlertState::Firing
    })
    .await;
    let pace = v.rules[0].value.unwrap();
    let forecast: shared::Fetched<shared::cost::Forecast> =
        app.get(&ws_path(ws::FORECAST)).await.json().await.unwrap();
    let f = forecast.data;
    assert!(
        pace > f.month_to_date,
        "a pace projects the month: {pace} vs {}",
        f.month_to_date
    );

    // The error-rate anomaly reads the hourly 5xx share of the app's requests.
    let resp = post(serde_json::json!({
        "name": "errors", "app": "chat-llm",
        "condition": {"kind": "anomaly", "metric": "error_rate", "lookback_hours": 24, "sensitivity": 20.0}
    }))
    .await
    .unwrap();
    assert_eq!(resp.status(), 201);
    let v = until(&app, "the anomaly rule judged", |v| {
        v.rules
            .iter()
            .any(|r| r.rule.name == "errors" && r.evaluated_at.is_some())
    })
    .await;
    let errors = v.rules.iter().find(|r| r.rule.name == "errors").unwrap();
    assert_ne!(
        errors.state,
        shared::alerts::AlertState::Firing,
        "{errors:?}"
    );
    let rate = errors.value.expect("a measured rate");
    assert!(
        (0.0..=0.2).contains(&rate),
        "a 5xx share of the last hour: {rate}"
    );
    assert!(errors.detail.contains("MADs"), "{}", errors.detail);
}

/// falscope against `sim` with `api_key` and an alerts file of one queue rule on `app`.
async fn app_with_file_rule(sim: &SimHarness, api_key: &str, app: &str) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.toml");
    // No `workspace`: there is one.
    let text = format!(
        "[[rule]]\nid = \"q\"\nname = \"Queue\"\napp = \"{app}\"\ncondition = {{ kind = \"threshold\", metric = \"queue_size\", above = 50 }}\n"
    );
    std::fs::write(&path, text).unwrap();
    let alerts = AlertsConfig::load(&path, |_| None).expect("the alerts file is valid");
    TestApp::spawn_with_sim_edited(sim, api_key, None, &[], move |c| c.alerts = alerts).await
}

#[tokio::test]
async fn start_up_refuses_a_file_rule_on_an_app_fal_does_not_list_and_says_when_the_key_is_rejected(
) {
    use backend::{first_contact, Contact};
    let sim = SimHarness::start().await;
    for known in ["flux-studio", "acme/flux-studio"] {
        let app = app_with_file_rule(&sim, integration_tests::sim::API_KEY, known).await;
        let contact = first_contact(&app.state)
            .await
            .expect("a listed app starts");
        assert!(
            matches!(contact[..], [(ref ws, Contact::Connected(n))] if ws == "default" && n > 0),
            "{contact:?}"
        );
    }
    let app = app_with_file_rule(&sim, integration_tests::sim::API_KEY, "flux").await;
    let refused = first_contact(&app.state).await.unwrap_err().to_string();
    assert!(
        refused.contains("rule \"q\"") && refused.contains("flux-studio"),
        "names the rule and the apps there are: {refused}"
    );
    // A rejected key is said at start, not "connected"; the rule cannot be checked then.
    let app = app_with_file_rule(&sim, "key-fal-never-issued", "flux").await;
    let contact = first_contact(&app.state).await.unwrap();
    assert_eq!(contact, [("default".to_owned(), Contact::KeyRejected)]);
}

#[tokio::test]
async fn a_5xx_rate_rule_can_watch_one_failure_type() {
    let sim = SimHarness::start().await;
    let receiver = Receiver::start().await;
    let app = app_with_hooks(&sim, &receiver, &[], Duration::from_millis(50)).await;
    let post = |body: serde_json::Value| {
        let app = &app;
        async move {
            app.http
                .post(app.url(&ws_path(ws::ALERT_RULES)))
                .header(CSRF_HEADER, "1")
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    // The slow video app times out; over two hours of the simulator's clock it has.
    let resp = post(serde_json::json!({
        "name": "video timeouts", "app": "video-gen", "for_minutes": 0,
        "condition": {"kind": "threshold", "metric": "error_rate", "failure": "timeout", "above": 0.0, "window_minutes": 120}
    }))
    .await;
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    // chat-llm fails in several ways: its runtime errors are part of its 5xx, not all.
    for (name, failure) in [("chat runtime", Some("runtime")), ("chat 5xx", None)] {
        let resp = post(serde_json::json!({
            "name": name, "app": "chat-llm", "for_minutes": 0,
            "condition": {"kind": "threshold", "metric": "error_rate", "failure": failure, "above": 0.0, "window_minutes": 360}
        }))
        .await;
        assert_eq!(resp.status(), 201);
    }
    // A failure type narrows the 5xx rate only.
    let resp = post(serde_json::json!({
        "name": "nonsense", "for_minutes": 0,
        "condition": {"kind": "threshold", "metric": "queue_size", "failure": "timeout", "above": 1}
    }))
    .await;
    assert_eq!(resp.status(), 400);
    let body: shared::ApiError = resp.json().await.unwrap();
    assert_eq!(body.param.as_deref(), Some("condition.failure"));
    let v = until(&app, "every rule fires", |v| {
        v.rules
            .iter()
            .filter(|r| r.state == AlertState::Firing)
            .count()
            == 3
    })
    .await;
    let by_name = |n: &str| v.rules.iter().find(|r| r.rule.name == n).unwrap();
    let timeouts = by_name("video timeouts");
    assert!(timeouts.detail.contains("timeouts"), "{}", timeouts.detail);
    let (runtime, all) = (by_name("chat runtime"), by_name("chat 5xx"));
    let (r, a) = (runtime.value.unwrap(), all.value.unwrap());
    assert!(r > 0.0 && r < a, "runtime {r}, every 5xx {a}");
}

/// PUTs a watched model endpoint.
async fn watch(app: &TestApp, body: serde_json::Value) -> reqwest::Response {
    app.http
        .put(app.url(&ws_path(ws::MODELS)))
        .header(CSRF_HEADER, "1")
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_latency_regression_on_a_watched_model_fires_its_sla_rule_and_shows_on_metrics() {
    let sim = SimHarness::start().await;
    // fal-ai/flux/dev got four times slower two hours ago.
    let from = chrono::DateTime::from_timestamp_millis(integration_tests::sim::T0).unwrap()
        - chrono::Duration::hours(2);
    sim.http
        .post(sim.url("/_sim/faults"))
        .json(&serde_json::json!({
            "rules": [],
            "latency_regression": {"endpoint": "fal-ai/flux/dev", "factor": 4.0, "from": from.to_rfc3339()}
        }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let receiver = Receiver::start().await;
    let app = app_with_hooks(
        &sim,
        &receiver,
        &[("ops", "/ok", "generic")],
        Duration::from_millis(100),
    )
    .await;

    // Ids are checked for fal's form, then with fal.
    let bad = watch(&app, serde_json::json!({"endpoint": "flux"})).await;
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("owner/name"));
    let unknown = watch(&app, serde_json::json!({"endpoint": "fal-ai/nope"})).await;
    assert_eq!(unknown.status(), 400);
    assert!(unknown.text().await.unwrap().contains("404"));
    for (endpoint, p90) in [("fal-ai/flux/dev", 8.0), ("fal-ai/flux-pro/v1.1", 20.0)] {
        let ok = watch(
            &app,
            serde_json::json!({"endpoint": endpoint, "sla": {"p90_execution_s": p90, "success": 0.9, "period_hours": 1}}),
        )
        .await;
        assert_eq!(ok.status(), 204, "{:?}", ok.text().await);
    }
    let watched: shared::models::Watched =
        app.get(&ws_path(ws::MODELS)).await.json().await.unwrap();
    assert_eq!(watched.models.len(), 2);

    let report: shared::Fetched<shared::models::ModelsReport> = app
        .get(&format!("{}?from=now-6h", ws_path(ws::MODELS_REPORT)))
        .await
        .json()
        .await
        .unwrap();
    let report = report.data;
    let endpoints: Vec<&str> = report
        .analytics
        .summary
        .iter()
        .map(|s| s.endpoint.as_str())
        .collect();
    assert_eq!(endpoints, ["fal-ai/flux-pro/v1.1", "fal-ai/flux/dev"]);
    assert!(!report.analytics.series.is_empty());
    let sla = |e: &str| report.sla.iter().find(|s| s.endpoint == e).unwrap().clone();
    let slow = sla("fal-ai/flux/dev");
    assert_eq!(slow.met, Some(false), "{slow:?}");
    assert!(slow.misses()[0].starts_with("p90 execution"), "{slow:?}");
    assert_eq!(sla("fal-ai/flux-pro/v1.1").met, Some(true));

    for endpoint in ["fal-ai/flux/dev", "fal-ai/flux-pro/v1.1"] {
        let resp = app
            .http
            .post(app.url(&ws_path(ws::ALERT_RULES)))
            .header(CSRF_HEADER, "1")
            .json(&serde_json::json!({
                "name": format!("{endpoint} SLA"),
                "condition": {"kind": "sla", "endpoint": endpoint}
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
    }
    let v = until(&app, "the SLA rules judged and notified", |v| {
        v.rules.len() == 2
            && v.rules.iter().all(|r| r.evaluated_at.is_some())
            && !receiver.got("/ok").is_empty()
    })
    .await;
    let state = |e: &str| {
        let r = v.rules.iter().find(|r| r.rule.name.starts_with(e)).unwrap();
        (r.state, r.detail.clone())
    };
    let (fired, detail) = state("fal-ai/flux/dev");
    assert_eq!(fired, AlertState::Firing, "{detail}");
    assert!(
        detail.contains("misses its SLA") && detail.contains("p90 execution"),
        "{detail}"
    );
    let (fine, detail) = state("fal-ai/flux-pro/v1.1");
    assert_eq!(fine, AlertState::Inactive, "{detail}");
    let sent = receiver.got("/ok");
    assert_eq!(sent.len(), 1, "one notification: {sent:?}");
    assert!(sent[0].body.contains("fal-ai/flux/dev"));

    let metrics = app.get(shared::routes::METRICS).await.text().await.unwrap();
    assert!(
        metrics.contains(r#"falscope_model_sla_met{workspace="default",endpoint="fal-ai/flux/dev",objective="p90_execution"} 0"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"falscope_model_sla_met{workspace="default",endpoint="fal-ai/flux-pro/v1.1",objective="p90_execution"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains("falscope_model_sla_error_budget_remaining{"));

    // An endpoint fal stops knowing (retired since it was watched) is named, not a blank page:
    // fal refuses the whole call, so falscope asks again without it.
    app.state
        .db
        .as_ref()
        .unwrap()
        .watch_model(
            "default",
            &shared::models::WatchedModel {
                endpoint: "fal-ai/retired".into(),
                sla: shared::models::SlaObjectives::default(),
            },
            0,
            50,
        )
        .await
        .unwrap();
    let report: shared::Fetched<shared::models::ModelsReport> = app
        .get(&format!("{}?from=now-6h", ws_path(ws::MODELS_REPORT)))
        .await
        .json()
        .await
        .unwrap();
    let report = report.data;
    assert_eq!(report.refused, ["fal-ai/retired: fal answers 404 for it"]);
    assert_eq!(
        report.analytics.summary.len(),
        2,
        "the others are still there"
    );
    let retired = report
        .sla
        .iter()
        .find(|s| s.endpoint == "fal-ai/retired")
        .unwrap();
    assert_eq!((retired.met, retired.refused.is_some()), (None, true));
    assert_eq!(
        report
            .sla
            .iter()
            .find(|s| s.endpoint == "fal-ai/flux/dev")
            .unwrap()
            .met,
        Some(false),
        "still judged"
    );

    // Unwatched, its rule can no longer be judged and says why.
    let gone = app
        .http
        .delete(app.url(&format!("{}?endpoint=fal-ai/flux/dev", ws_path(ws::MODELS))))
        .header(CSRF_HEADER, "1")
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 204);
    let watched: shared::models::Watched =
        app.get(&ws_path(ws::MODELS)).await.json().await.unwrap();
    let left: Vec<&str> = watched.models.iter().map(|m| m.endpoint.as_str()).collect();
    assert_eq!(
        left,
        ["fal-ai/retired", "fal-ai/flux-pro/v1.1"],
        "in the order they were added"
    );
}

#[tokio::test]
async fn the_credit_balance_has_a_runway_and_a_low_credit_rule_fires_on_it() {
    let sim = SimHarness::start().await;
    let receiver = Receiver::start().await;
    let app = app_with_hooks(&sim, &receiver, &[], Duration::from_millis(100)).await;
    let credits: shared::Fetched<shared::cost::Credits> =
        app.get(&ws_path(ws::CREDITS)).await.json().await.unwrap();
    let c = credits.data;
    let billing = sim
        .get_json(
            "/v1/account/billing?expand=credits",
            integration_tests::sim::ADMIN_KEY,
        )
        .await;
    assert_eq!(
        c.balance,
        billing["credits"]["current_balance"].as_f64().unwrap()
    );
    assert_eq!(c.currency, "USD");
    let r = c.runway.unwrap_or_else(|| panic!("a runway: {c:?}"));
    let daily = c.daily_spend.unwrap();
    assert!(daily > 0.0);
    // The runway is the balance over the projected spend, give or take the week's shape.
    let naive = c.balance / daily;
    assert!(
        (r.days - naive).abs() < 0.3 * naive + 1.0,
        "{r:?} vs {naive:.1} days"
    );
    let latest = r.latest.unwrap_or(r.runs_out + chrono::Duration::days(365));
    assert!(r.earliest <= r.runs_out && r.runs_out <= latest, "{r:?}");

    // Runway under a year: fires; a balance below 1: does not.
    for (name, condition) in [
        (
            "runway",
            serde_json::json!({"kind": "low_credits", "runway_days": 365}),
        ),
        (
            "balance",
            serde_json::json!({"kind": "low_credits", "below": 1}),
        ),
    ] {
        let resp = app
            .http
            .post(app.url(&ws_path(ws::ALERT_RULES)))
            .header(CSRF_HEADER, "1")
            .json(&serde_json::json!({"name": name, "condition": condition}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
    }
    let v = until(&app, "both credit rules judged", |v| {
        v.rules.len() == 2 && v.rules.iter().all(|r| r.evaluated_at.is_some())
    })
    .await;
    let state = |n: &str| v.rules.iter().find(|r| r.rule.name == n).unwrap();
    assert_eq!(
        state("runway").state,
        AlertState::Firing,
        "{}",
        state("runway").detail
    );
    assert!(state("runway").detail.contains("credit balance"));
    assert_eq!(state("balance").state, AlertState::Inactive);

    let metrics = app.get(shared::routes::METRICS).await.text().await.unwrap();
    assert!(
        metrics.contains(&format!(
            r#"falscope_credit_balance{{workspace="default",currency="USD"}} {}"#,
            c.balance
        )),
        "{metrics}"
    );
    assert!(metrics
        .contains(r#"falscope_credit_runway_seconds{workspace="default",estimate="expected"}"#));
}
