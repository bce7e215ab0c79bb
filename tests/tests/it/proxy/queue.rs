//! Flushing a queue from the dashboard: operator only, once per confirmation, audited.

use integration_tests::auth::{token, AuthFixture};
use integration_tests::sim::SimHarness;
use integration_tests::{ws_path, TestApp};
use shared::apps::{Flushed, IDEMPOTENCY_KEY};
use shared::auth::{AuditEntry, Role};
use shared::routes::{self, ws};

#[tokio::test]
async fn two_identical_confirmations_flush_once_and_the_audit_says_how_many_waited() {
    let sim = SimHarness::start().await;
    let auth = AuthFixture::write("");
    let app = TestApp::spawn_token_mode(&sim, &auth, &[]).await;
    let flush = |role: Role, key: Option<&'static str>, body: &'static str| {
        let mut req = app
            .http
            .post(app.url(&ws_path(ws::QUEUE_FLUSH)))
            .bearer_auth(token(role))
            .header("content-type", "application/json")
            .body(body);
        if let Some(k) = key {
            req = req.header(IDEMPOTENCY_KEY, k);
        }
        async move { req.send().await.unwrap() }
    };
    let chat = r#"{"app": "chat-llm"}"#;

    // A viewer may not; a call without a key, or naming no app of the workspace, is a 400
    // saying what to send. None of them reaches fal.
    let denied = flush(Role::Viewer, Some("k-1"), chat).await;
    assert_eq!(denied.status(), 403);
    let no_key = flush(Role::Operator, None, chat).await;
    assert_eq!(no_key.status(), 400);
    assert!(no_key.text().await.unwrap().contains("Idempotency-Key"));
    let unknown = flush(Role::Operator, Some("k-0"), r#"{"app": "nope"}"#).await;
    assert_eq!(unknown.status(), 400);
    assert!(
        unknown.text().await.unwrap().contains("chat-llm"),
        "lists the apps"
    );
    assert_eq!(sim.server.sim().flushes(), 0);

    // A double click: two identical confirmations at once.
    let (a, b) = tokio::join!(
        flush(Role::Operator, Some("k-1"), chat),
        flush(Role::Operator, Some("k-1"), chat)
    );
    let (a, b): (Flushed, Flushed) = (a.json().await.unwrap(), b.json().await.unwrap());
    assert_eq!(sim.server.sim().flushes(), 1, "one flush at fal");
    assert_eq!(sim.stats().await["queue_flush"], 1, "one call to fal");
    assert_eq!(
        [a.repeated, b.repeated].iter().filter(|r| **r).count(),
        1,
        "one of them says it was already done: {a:?} {b:?}"
    );
    assert_eq!(a.app, "chat-llm");
    assert_eq!(a.waiting, b.waiting);
    let waiting = a
        .waiting
        .expect("fal's queue size was read before the flush");

    // A new confirmation (new key) flushes again; the app may be named by its id too.
    let again = flush(Role::Operator, Some("k-2"), r#"{"app": "acme/chat-llm"}"#).await;
    assert_eq!(again.status(), 200);
    assert_eq!(sim.server.sim().flushes(), 2);

    let audit: Vec<AuditEntry> = app
        .http
        .get(app.url(routes::AUDIT))
        .bearer_auth(token(Role::Admin))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let flushes: Vec<&AuditEntry> = audit
        .iter()
        .filter(|e| e.route == ws::QUEUE_FLUSH)
        .collect();
    let details: Vec<Option<&str>> = flushes.iter().map(|e| e.detail.as_deref()).collect();
    assert!(
        details.contains(&Some(&*format!("flushed chat-llm: {waiting} waiting"))),
        "{details:?}"
    );
    assert!(
        details.contains(&Some(
            "flush of chat-llm already done for this confirmation"
        )),
        "{details:?}"
    );
    assert!(
        flushes
            .iter()
            .any(|e| e.status == 403 && e.who.starts_with("viewer")),
        "the refusal is audited: {flushes:?}"
    );
}

#[tokio::test]
async fn a_flush_fal_refuses_names_the_app_and_another_persons_key_is_refused() {
    let sim = SimHarness::start().await;
    let auth = AuthFixture::write("");
    let app = TestApp::spawn_token_mode(&sim, &auth, &[]).await;
    let flush = |role: Role, key: &'static str| {
        let req = app
            .http
            .post(app.url(&ws_path(ws::QUEUE_FLUSH)))
            .bearer_auth(token(role))
            .header("content-type", "application/json")
            .header(IDEMPOTENCY_KEY, key)
            .body(r#"{"app": "chat-llm"}"#);
        async move { req.send().await.unwrap() }
    };
    // fal says the app is not there (deleted a moment ago): the answer names it, and does not
    // blame the key.
    sim.faults(serde_json::json!([{"operation": "queue_flush", "status": 404}]))
        .await;
    let refused = flush(Role::Operator, "k-404").await;
    let status = refused.status().as_u16();
    let body = refused.text().await.unwrap();
    assert!(body.contains("acme/chat-llm"), "{status} {body}");
    assert!(!body.contains("FAL_KEY"), "{status} {body}");
    sim.faults(serde_json::json!([])).await;
    // A key is one person's: another operator reusing it would make fal flush nothing.
    assert_eq!(flush(Role::Operator, "k-mine").await.status(), 200);
    let reused = flush(Role::Admin, "k-mine").await;
    assert_eq!(reused.status(), 409);
    assert!(reused.text().await.unwrap().contains("someone else"));
    assert_eq!(sim.server.sim().flushes(), 1);
}
