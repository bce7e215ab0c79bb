//! Requests by endpoint: paging, filters, sorting, billing nulls and payloads.

use backend::upstream::models::RequestItem;
use backend::upstream::query::{
    AnalyticsKind, AnalyticsQuery, RequestSort, RequestStatus, RequestsQuery, Window,
};
use backend::upstream::FalApi;
use integration_tests::sim::{at, SimHarness, API_KEY, T0};
use reqwest::Method;
use std::collections::BTreeSet;

const MIN: i64 = 60_000;

async fn all_pages(h: &SimHarness, base: &RequestsQuery) -> Vec<RequestItem> {
    integration_tests::all_pages(|cursor| {
        let q = RequestsQuery {
            cursor,
            ..base.clone()
        };
        async move {
            let page = h.client.requests(&q).await.unwrap();
            assert_eq!(page.has_more, page.next_cursor.is_some());
            assert!(page.items.len() <= q.limit.unwrap_or(50) as usize);
            (page.items, page.next_cursor)
        }
    })
    .await
}

fn window(minutes: i64) -> RequestsQuery {
    RequestsQuery {
        endpoint_ids: vec!["acme/flux-studio".into()],
        start: Some(at(T0 - minutes * MIN)),
        end: Some(at(T0)),
        ..RequestsQuery::default()
    }
}

#[tokio::test]
async fn paging_returns_every_row_once_even_while_the_clock_moves() {
    let h = SimHarness::start().await;
    let big = RequestsQuery {
        limit: Some(100),
        ..window(60)
    };
    let reference = all_pages(&h, &big).await;
    assert!(
        reference.len() > 100,
        "an hour of flux-studio traffic spans pages: {}",
        reference.len()
    );
    // Small pages, and the world moving on between them (no explicit end: "now").
    let small = RequestsQuery {
        limit: Some(7),
        end: None,
        start: Some(at(T0 - 60 * MIN)),
        ..window(60)
    };
    let walked = integration_tests::all_pages(|cursor| {
        let q = RequestsQuery {
            cursor,
            ..small.clone()
        };
        let h = &h;
        async move {
            let page = h.client.requests(&q).await.unwrap();
            h.clock.advance(5_000);
            (page.items, page.next_cursor)
        }
    })
    .await;
    let ids: Vec<&str> = walked.iter().map(|r| r.request_id.as_str()).collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "no row repeated");
    let expected: BTreeSet<&str> = reference.iter().map(|r| r.request_id.as_str()).collect();
    assert!(expected.is_subset(&unique), "no row lost");
    // Newest first.
    let ends: Vec<&str> = reference
        .iter()
        .filter_map(|r| r.ended_at.as_deref())
        .collect();
    assert!(ends.windows(2).all(|w| w[0] >= w[1]));
}

#[tokio::test]
async fn row_shape_billing_nulls_and_payloads() {
    let h = SimHarness::start().await;
    let q = RequestsQuery {
        billing: true,
        payloads: true,
        limit: Some(100),
        ..window(30)
    };
    let rows = all_pages(&h, &q).await;
    let recent = rows
        .iter()
        .filter(|r| matches!(r.billable_units, Some(None)))
        .count();
    let billed = rows
        .iter()
        .filter(|r| matches!(r.billable_units, Some(Some(_))))
        .count();
    assert!(recent > 0, "the last minutes' billing has not caught up");
    assert!(billed > recent, "older rows are billed");
    assert!(rows.iter().all(|r| r.json_input.is_some()));
    let video = RequestsQuery {
        endpoint_ids: vec!["acme/video-gen".into()],
        limit: Some(100),
        ..window(30)
    };
    let video = all_pages(&h, &video).await;
    assert!(
        video
            .iter()
            .any(|r| r.ended_at.is_none() && r.status_code.is_none() && r.duration.is_none()),
        "in-flight rows"
    );
    let routes: BTreeSet<&str> = rows.iter().map(|r| r.endpoint_id.as_str()).collect();
    assert_eq!(
        routes,
        BTreeSet::from(["acme/flux-studio", "acme/flux-studio/turbo"]),
        "bare app id includes routes"
    );
    // Raw shape: runner_id key always present; billable_units only when expanded.
    let raw: serde_json::Value = h
        .get_json(
            "/v1/serverless/requests/by-endpoint?endpoint_id=acme/chat-llm&limit=5",
            API_KEY,
        )
        .await;
    let item = &raw["items"][0];
    assert!(item.get("runner_id").is_some());
    assert!(item.get("billable_units").is_none() && item.get("json_input").is_none());
}

#[tokio::test]
async fn filters_sorting_and_lookup_by_id() {
    let h = SimHarness::start().await;
    let errors = all_pages(
        &h,
        &RequestsQuery {
            status: Some(RequestStatus::Error),
            limit: Some(100),
            ..window(240)
        },
    )
    .await;
    assert!(!errors.is_empty());
    assert!(errors
        .iter()
        .all(|r| r.status_code.is_some_and(|s| s >= 500)));
    let by_duration = h
        .client
        .requests(&RequestsQuery {
            sort_by: Some(RequestSort::Duration),
            limit: Some(50),
            ..window(60)
        })
        .await
        .unwrap();
    let durations: Vec<f64> = by_duration
        .items
        .iter()
        .filter_map(|r| r.duration)
        .collect();
    assert!(durations.windows(2).all(|w| w[0] >= w[1]), "{durations:?}");
    // A request id is found without a range (90-day default) and only for its own endpoint.
    let target = &errors[0];
    let found = h
        .client
        .requests(&RequestsQuery {
            endpoint_ids: vec!["acme/flux-studio".into()],
            request_id: Some(target.request_id.clone()),
            ..RequestsQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(found.items.len(), 1);
    assert_eq!(found.items[0], *target);
    for bad in [
        "endpoint_id=acme/flux-studio&request_id=not-a-uuid",
        "endpoint_id=acme/flux-studio&limit=101",
        "endpoint_id=acme/flux-studio&status=ok",
        "endpoint_id=acme/flux-studio&sort_by=name",
        "endpoint_id=acme/flux-studio&expand=everything",
        "limit=5",
    ] {
        let path = format!("/v1/serverless/requests/by-endpoint?{bad}");
        assert_eq!(
            h.raw(Method::GET, &path, Some(API_KEY))
                .send()
                .await
                .unwrap()
                .status(),
            400,
            "{bad}"
        );
    }
}

#[tokio::test]
async fn requests_agree_with_analytics_counts() {
    let h = SimHarness::start().await;
    let rows = all_pages(
        &h,
        &RequestsQuery {
            limit: Some(100),
            ..window(120)
        },
    )
    .await;
    let finished = rows.iter().filter(|r| r.ended_at.is_some()).count() as f64;
    let summary = h
        .client
        .analytics(
            AnalyticsKind::Serverless,
            &AnalyticsQuery {
                endpoint_ids: vec!["acme/flux-studio".into()],
                metrics: vec!["request_count".into()],
                summary: true,
                window: Window {
                    start: Some(at(T0 - 120 * MIN)),
                    end: Some(at(T0)),
                    bound_to_timeframe: Some(false),
                    ..Window::default()
                },
                ..AnalyticsQuery::default()
            },
        )
        .await
        .unwrap()
        .summary
        .unwrap();
    let counted: u64 = summary
        .iter()
        .map(|r| r.metrics["request_count"].as_u64().unwrap())
        .sum();
    let ratio = finished / counted as f64;
    assert!(
        (0.95..1.05).contains(&ratio),
        "requests {finished} vs analytics {counted}"
    );
}
