//! Logs history (filters, exclusive timestamp cursor) and the SSE stream (replay, live, drops).

use backend::upstream::models::{LabelCondition, LabelFilter, LabelValue, LogEntry};
use backend::upstream::query::{LogsQuery, RequestsQuery};
use backend::upstream::{FalApi, UpstreamError};
use futures::StreamExt;
use integration_tests::sim::{at, SimHarness, API_KEY, T0};
use reqwest::Method;
use std::collections::BTreeSet;
use std::time::Duration;

const MIN: i64 = 60_000;

fn window(from_min: i64, to_min: i64) -> LogsQuery {
    LogsQuery {
        start: Some(at(T0 - from_min * MIN)),
        end: Some(at(T0 - to_min * MIN)),
        ..LogsQuery::default()
    }
}

async fn all_history(h: &SimHarness, base: &LogsQuery, labels: &[LabelFilter]) -> Vec<LogEntry> {
    integration_tests::all_pages(|cursor| {
        let q = LogsQuery {
            cursor,
            ..base.clone()
        };
        async move {
            let page = h.client.logs_history(&q, labels).await.unwrap();
            assert_eq!(page.has_more, page.next_cursor.is_some());
            (page.items, page.next_cursor)
        }
    })
    .await
}

fn key(e: &LogEntry) -> String {
    format!("{}|{}|{}", e.timestamp, e.app, e.message)
}

#[tokio::test]
async fn history_pages_walk_back_in_time_without_gaps_or_repeats() {
    let h = SimHarness::start().await;
    let one = h
        .client
        .logs_history(
            &LogsQuery {
                limit: Some(1000),
                ..window(5, 0)
            },
            &[],
        )
        .await
        .unwrap();
    assert!(!one.has_more, "five minutes fit in one page of 1000");
    assert!(one.items.len() > 100, "{}", one.items.len());
    let walked = all_history(
        &h,
        &LogsQuery {
            limit: Some(13),
            ..window(5, 0)
        },
        &[],
    )
    .await;
    assert_eq!(
        walked.iter().map(key).collect::<Vec<_>>(),
        one.items.iter().map(key).collect::<Vec<_>>()
    );
    assert!(
        walked.windows(2).all(|w| w[0].timestamp >= w[1].timestamp),
        "newest first"
    );
    for bad in [
        "limit=0",
        "limit=1001",
        "level=loud",
        "run_source=ftp",
        "start=later",
    ] {
        let resp = h
            .raw(
                Method::POST,
                &format!("/v1/serverless/logs/history?{bad}"),
                Some(API_KEY),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{bad}");
    }
    let bad_body = h
        .raw(Method::POST, "/v1/serverless/logs/history", Some(API_KEY))
        .body(r#"{"key":"x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        bad_body.status(),
        400,
        "the body is a bare array of label filters"
    );
}

#[tokio::test]
async fn filters_level_app_search_and_labels() {
    let h = SimHarness::start().await;
    let base = LogsQuery {
        limit: Some(1000),
        ..window(30, 0)
    };
    let errors = all_history(
        &h,
        &LogsQuery {
            level: Some("error".into()),
            ..base.clone()
        },
        &[],
    )
    .await;
    assert!(!errors.is_empty());
    assert!(errors
        .iter()
        .all(|e| e.level == "error" || e.level == "critical"));
    let chat = all_history(
        &h,
        &LogsQuery {
            app_ids: vec!["acme/chat-llm".into()],
            ..base.clone()
        },
        &[],
    )
    .await;
    assert!(
        !chat.is_empty() && chat.iter().all(|e| e.app == "chat-llm"),
        "app_id takes owner/name, entries carry the bare name"
    );
    let searched = all_history(
        &h,
        &LogsQuery {
            search: Some("COMPLETED".into()),
            ..base.clone()
        },
        &[],
    )
    .await;
    assert!(
        !searched.is_empty()
            && searched
                .iter()
                .all(|e| e.message.to_lowercase().contains("completed"))
    );
    let label = LabelFilter {
        key: "fal_endpoint".into(),
        value: LabelValue::One("acme/flux-studio/turbo".into()),
        condition_type: None,
    };
    let turbo = all_history(&h, &base, std::slice::from_ref(&label)).await;
    assert!(!turbo.is_empty());
    assert!(turbo
        .iter()
        .all(|e| e.labels.as_ref().unwrap()["fal_endpoint"] == "acme/flux-studio/turbo"));
    let not_turbo = all_history(
        &h,
        &base,
        &[LabelFilter {
            condition_type: Some(LabelCondition::NotEquals),
            ..label
        }],
    )
    .await;
    let all = all_history(&h, &base, &[]).await;
    assert_eq!(turbo.len() + not_turbo.len(), all.len());
}

#[tokio::test]
async fn a_requests_logs_are_found_by_its_id_with_tracebacks_on_demand() {
    let h = SimHarness::start().await;
    let failed = h
        .client
        .requests(&RequestsQuery {
            endpoint_ids: vec!["acme/chat-llm".into()],
            status: Some(backend::upstream::query::RequestStatus::Error),
            start: Some(at(T0 - 6 * 60 * MIN)),
            end: Some(at(T0)),
            limit: Some(100),
            ..RequestsQuery::default()
        })
        .await
        .unwrap();
    let target = failed
        .items
        .iter()
        .find(|r| r.status_code == Some(500))
        .expect("a runtime error in 6 h");
    let q = LogsQuery {
        request_id: Some(target.request_id.clone()),
        start: Some(at(T0 - 7 * 60 * MIN)),
        ..LogsQuery::default()
    };
    let lines = h.client.logs_history(&q, &[]).await.unwrap().items;
    assert!(lines.len() >= 3, "{lines:?}");
    assert!(lines
        .iter()
        .all(|l| l.labels.as_ref().unwrap()["fal_request_id"] == target.request_id));
    assert!(lines.iter().all(|l| !l.message.contains("Traceback")));
    let with_tb = h
        .client
        .logs_history(
            &LogsQuery {
                traceback: true,
                ..q
            },
            &[],
        )
        .await
        .unwrap()
        .items;
    assert!(with_tb
        .iter()
        .any(|l| l.message.contains("Traceback (most recent call last)")));
}

#[tokio::test]
async fn stream_replays_the_same_lines_as_history_then_ends() {
    let h = SimHarness::start().await;
    let q = window(3, 1);
    let history = all_history(
        &h,
        &LogsQuery {
            limit: Some(1000),
            ..q.clone()
        },
        &[],
    )
    .await;
    let streamed: Vec<LogEntry> = h
        .client
        .logs_stream(&q, &[])
        .await
        .unwrap()
        .take_while(|r| std::future::ready(r.is_ok()))
        .map(Result::unwrap)
        .collect()
        .await;
    let mut expected: Vec<String> = history.iter().map(key).collect();
    expected.reverse();
    assert_eq!(
        streamed.iter().map(key).collect::<Vec<_>>(),
        expected,
        "oldest first, same lines"
    );
}

#[tokio::test]
async fn live_stream_follows_the_clock_and_reports_a_dropped_stream() {
    let h = SimHarness::start().await;
    h.faults(serde_json::json!([{ "operation": "logs_stream", "drop_stream_after": 5 }]))
        .await;
    let live = LogsQuery {
        start: Some(at(T0)),
        ..LogsQuery::default()
    };
    let mut stream = h.client.logs_stream(&live, &[]).await.unwrap();
    let mut got = BTreeSet::new();
    let mut ended_with_error = false;
    for _ in 0..200 {
        h.clock.advance(2_000);
        match tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("stream moves")
        {
            Some(Ok(e)) => {
                assert!(
                    e.timestamp.as_str() >= "2026-11-18T15:00:00.000Z",
                    "live only, no replay"
                );
                got.insert(key(&e));
            }
            Some(Err(err)) => {
                assert!(matches!(err, UpstreamError::Transport(_)), "{err:?}");
                ended_with_error = true;
                break;
            }
            None => break,
        }
    }
    assert_eq!(got.len(), 5);
    assert!(
        ended_with_error,
        "a dropped stream is reported, not silently ended"
    );
    assert_eq!(h.stats().await["logs_stream"], 1);
}

#[tokio::test]
async fn a_stream_opened_without_start_replays_the_last_day_as_fal_documents() {
    let h = SimHarness::start().await;
    let mut stream = h
        .client
        .logs_stream(&LogsQuery::default(), &[])
        .await
        .unwrap();
    let first = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("the replay starts at once")
        .expect("a line")
        .expect("a good line");
    let age = at(T0) - backend::upstream::convert::instant(&first.timestamp).unwrap();
    assert!(
        age > chrono::Duration::hours(23),
        "without `start` fal replays the last 24 hours; the first line is {age} old"
    );
}
