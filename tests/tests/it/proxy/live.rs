//! Live data: the metrics poller feeds SSE viewers and the stored history with one upstream call
//! per interval; live logs fan out from one shared upstream stream that resumes without gaps.

use backend::simulator::Clock;
use eventsource_stream::{Event, Eventsource};
use futures::{Stream, StreamExt};
use integration_tests::sim::SimHarness;
use integration_tests::{ws_path, TestApp};
use shared::live::LiveHistory;
use shared::logs::LogLine;
use shared::routes::ws;
use std::collections::BTreeSet;
use std::pin::Pin;
use std::time::Duration;

pub(crate) type Events = Pin<Box<dyn Stream<Item = Event> + Send>>;

pub(crate) async fn sse(app: &TestApp, path: &str) -> Events {
    let resp = app.http.get(app.url(path)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    resp.bytes_stream()
        .eventsource()
        .filter_map(|e| async move { e.ok() })
        .boxed()
}

async fn next_named(events: &mut Events, name: &str) -> Event {
    loop {
        let e = tokio::time::timeout(Duration::from_secs(15), events.next())
            .await
            .expect("an event in time")
            .expect("stream open");
        if e.event == name {
            return e;
        }
    }
}

#[tokio::test]
async fn many_overview_viewers_share_one_metrics_call_and_history_is_stored() {
    let sim = SimHarness::start().await;
    let started = tokio::time::Instant::now();
    let app = TestApp::spawn_with_sim(&sim, true, &["--max-streams", "1000"]).await;
    let mut viewers = Vec::new();
    for _ in 0..50 {
        viewers.push(sse(&app, &ws_path(ws::LIVE_STREAM)).await);
    }
    for v in &mut viewers {
        let e = next_named(v, shared::events::SNAPSHOT).await;
        let snap: shared::Fetched<shared::LiveSnapshot> = serde_json::from_str(&e.data).unwrap();
        assert!(snap.data.apps.len() >= 5);
    }
    // One poll per 10 s interval, however many viewers: at most one more if the test was slow.
    let polls = 1 + started.elapsed().as_secs() / 10;
    let calls = sim.stats().await["metrics"].as_u64().unwrap();
    assert!(
        calls >= 1 && calls <= polls,
        "50 viewers: {calls} metrics calls in {polls} poll intervals"
    );
    // Ranges end before `now`: let a second pass so the sample taken at `now` is inside.
    sim.clock.advance(1_000);
    let history = integration_tests::eventually(
        Duration::from_secs(60),
        "the first poll is stored",
        || async {
            let h: LiveHistory = app
                .get(&format!("{}?from=now-1h", ws_path(ws::LIVE_HISTORY)))
                .await
                .json()
                .await
                .ok()?;
            (!h.samples.is_empty()).then_some(h)
        },
    )
    .await;
    assert!(history
        .samples
        .iter()
        .any(|s| s.application == "acme/chat-llm"));
}

fn line_key(l: &LogLine) -> String {
    format!("{}|{}|{}", l.ts.to_rfc3339(), l.app, l.message)
}

/// Asserts that `seen`, a live tail of chat-llm and flux-studio, has no duplicate and nothing
/// missing: it equals fal's history (read through `app`) from `from` to its last line.
pub(crate) async fn assert_tail_is_the_history(
    app: &TestApp,
    from: chrono::DateTime<chrono::Utc>,
    seen: &[LogLine],
) {
    let keys: Vec<String> = seen.iter().map(line_key).collect();
    assert_eq!(
        keys.iter().collect::<BTreeSet<_>>().len(),
        keys.len(),
        "no duplicates"
    );
    let ms = |t: chrono::DateTime<chrono::Utc>| {
        t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            .replace('+', "%2B")
    };
    let last = seen.last().expect("a line").ts;
    let history: shared::Fetched<shared::logs::LogsPage> = app
        .get(&format!(
            "{}?apps=acme/chat-llm,acme/flux-studio&from={}&to={}&limit=1000",
            ws_path(ws::LOGS),
            ms(from),
            ms(last + chrono::Duration::milliseconds(1)),
        ))
        .await
        .json()
        .await
        .unwrap();
    let mut expected: Vec<String> = history.data.items.iter().map(line_key).collect();
    expected.reverse();
    assert_eq!(keys, expected, "the tail equals the history: no gap");
}

#[tokio::test]
async fn log_viewers_share_one_upstream_stream_that_resumes_without_gaps_or_duplicates() {
    let sim = SimHarness::start().await;
    let app = TestApp::spawn_with_sim(&sim, true, &[]).await;
    // fal drops the stream after 7 lines, twice.
    sim.faults(
        serde_json::json!([{ "operation": "logs_stream", "drop_stream_after": 7, "times": 2 }]),
    )
    .await;
    let path = format!(
        "{}?apps=acme/chat-llm,acme/flux-studio",
        ws_path(ws::LOGS_STREAM)
    );
    let mut a = sse(&app, &path).await;
    let mut b = sse(&app, &path).await;
    let start = chrono::DateTime::from_timestamp_millis(sim.clock.now_ms()).unwrap();
    let mut seen_a = Vec::new();
    let mut reconnects = 0;
    // A broken resume must fail the test, not hang CI.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while seen_a.len() < 40 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} lines in 60 s: the tail stopped",
            seen_a.len()
        );
        sim.clock.advance(1_000);
        match tokio::time::timeout(Duration::from_millis(400), a.next()).await {
            Ok(Some(e)) if e.event == shared::events::LOG => {
                seen_a.push(serde_json::from_str::<LogLine>(&e.data).unwrap())
            }
            Ok(Some(e)) if e.event == shared::events::STATUS && e.data.contains("reconnecting") => {
                reconnects += 1
            }
            Ok(Some(_)) | Err(_) => {}
            Ok(None) => panic!("viewer stream ended"),
        }
    }
    assert!(
        seen_a[0].ts >= start - chrono::Duration::seconds(1),
        "the tail starts when it is opened, not a day back (fal replays 24 h without `start`): first line at {}",
        seen_a[0].ts
    );
    assert!(
        reconnects >= 2,
        "the drops were seen as reconnects: {reconnects}"
    );
    // Viewer b saw the same lines, in the same order.
    let mut seen_b = Vec::new();
    while seen_b.len() < seen_a.len() {
        let e = next_named(&mut b, shared::events::LOG).await;
        seen_b.push(serde_json::from_str::<LogLine>(&e.data).unwrap());
    }
    assert_eq!(
        seen_a.iter().map(line_key).collect::<Vec<_>>(),
        seen_b.iter().map(line_key).collect::<Vec<_>>()
    );
    assert_tail_is_the_history(&app, start, &seen_a).await;
    assert_eq!(app.state.reports.workspaces()[0].logs.open_streams(), 1);
    assert_eq!(
        app.state.reports.workspaces()[0].logs.upstream_connects(),
        3,
        "one stream, resumed twice"
    );
    drop((a, b));
    integration_tests::eventually(
        Duration::from_secs(60),
        "the upstream stream closes when the last viewer leaves",
        || async { (app.state.reports.workspaces()[0].logs.open_streams() == 0).then_some(()) },
    )
    .await;
}
