//! Usage (ADMIN): rows per app × machine × surge, filters, validation, consistency with requests.

use backend::upstream::query::{RequestsQuery, UsageQuery, Window};
use backend::upstream::{FalApi, UpstreamError};
use integration_tests::sim::{at, SimHarness, ADMIN_KEY, T0};
use reqwest::Method;

const DAY: i64 = 86_400_000;

fn week() -> UsageQuery {
    UsageQuery {
        summary: true,
        window: Window {
            start: Some(at(T0 - 7 * DAY)),
            end: Some(at(T0)),
            ..Window::default()
        },
        ..UsageQuery::default()
    }
}

#[tokio::test]
async fn summary_rows_split_surge_and_carry_all_thirteen_keys() {
    let h = SimHarness::start().await;
    let rows = h.client.usage(&week()).await.unwrap().summary.unwrap();
    // Seed 42 reports flux-studio with fal's example suffix.
    let h100: Vec<_> = rows
        .iter()
        .filter(|r| r.app.as_deref() == Some("flux-studio-prod"))
        .collect();
    assert_eq!(h100.len(), 2, "surge and non-surge rows over a week");
    assert!(h100.iter().any(|r| r.is_surge) && h100.iter().any(|r| !r.is_surge));
    let surge = h100.iter().find(|r| r.is_surge).unwrap();
    let normal = h100.iter().find(|r| !r.is_surge).unwrap();
    assert!(surge.unit_price > normal.unit_price);
    for r in &rows {
        assert_eq!(r.unit, "second");
        assert!(
            (r.cost_subtotal - r.quantity * r.unit_price).abs() < 1e-3,
            "{r:?}"
        );
        assert!((r.cost_total - (r.cost_subtotal - r.cost_discount)).abs() < 1e-6);
        assert_eq!(r.cost, r.cost_total);
    }
    let raw: serde_json::Value = h
        .get_json("/v1/serverless/usage?expand=summary", ADMIN_KEY)
        .await;
    assert_eq!(integration_tests::sim::keys(&raw["summary"][0]).len(), 13);
    assert!(raw.get("time_series").is_none());
}

#[tokio::test]
async fn app_and_search_filters_and_validation() {
    let h = SimHarness::start().await;
    let client = &h.client;
    let apps = |q: UsageQuery| async move {
        let rows = client.usage(&q).await.unwrap().summary.unwrap();
        let mut names: Vec<String> = rows.into_iter().filter_map(|r| r.app).collect();
        names.dedup();
        names
    };
    // Seed 42 reports upscaler as `upscaler-prod` (fal: "may include an environment/version
    // suffix"); `app` matches the reported name exactly.
    assert_eq!(
        apps(UsageQuery {
            apps: vec!["upscaler-prod".into()],
            ..week()
        })
        .await,
        ["upscaler-prod"],
        "exact match"
    );
    assert!(
        apps(UsageQuery {
            apps: vec!["upscaler".into()],
            ..week()
        })
        .await
        .is_empty(),
        "the suffix is part of the name"
    );
    assert_eq!(
        apps(UsageQuery {
            search: Some("UPSCALER".into()),
            ..week()
        })
        .await,
        ["upscaler-prod", "upscaler-dev"]
    );
    assert!(
        apps(UsageQuery {
            apps: vec!["chat-llm".into()],
            search: Some("flux".into()),
            ..week()
        })
        .await
        .is_empty(),
        "ANDed"
    );
    for bad in [
        "expand=bogus",
        "timeframe=decade",
        "start=2026-13-01",
        "limit=0",
    ] {
        let resp = h
            .raw(
                Method::GET,
                &format!("/v1/serverless/usage?{bad}"),
                Some(ADMIN_KEY),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{bad}");
    }
    let err = h.api_only.usage(&week()).await.unwrap_err();
    assert!(matches!(err, UpstreamError::AdminKeyMissing { .. }));
}

#[tokio::test]
async fn machine_seconds_cover_request_durations() {
    let h = SimHarness::start().await;
    // Two past hours, whole minutes, both sides filtered on the same window.
    let (start, end) = (T0 - 3 * 3_600_000, T0 - 3_600_000);
    let usage = h
        .client
        .usage(&UsageQuery {
            apps: vec!["chat-llm".into()],
            summary: true,
            window: Window {
                start: Some(at(start)),
                end: Some(at(end)),
                bound_to_timeframe: Some(false),
                ..Window::default()
            },
            ..UsageQuery::default()
        })
        .await
        .unwrap()
        .summary
        .unwrap();
    let seconds: f64 = usage.iter().map(|r| r.quantity).sum();
    let q = RequestsQuery {
        endpoint_ids: vec!["acme/chat-llm".into()],
        start: Some(at(start)),
        end: Some(at(end)),
        billing: true,
        limit: Some(100),
        ..RequestsQuery::default()
    };
    let requests = integration_tests::all_pages(|cursor| {
        let q = RequestsQuery {
            cursor,
            ..q.clone()
        };
        let h = &h;
        async move {
            let page = h.client.requests(&q).await.unwrap();
            (page.items, page.next_cursor)
        }
    })
    .await;
    let busy: f64 = requests
        .iter()
        .filter(|r| r.runner_id.is_some())
        .filter_map(|r| r.duration)
        .sum();
    assert!(busy > 0.0);
    assert!(seconds >= busy, "usage {seconds} s < request time {busy} s");
    assert!(
        seconds < busy * 3.0 + 2.0 * 2.0 * 3600.0,
        "idle overhead stays plausible: {seconds} vs {busy}"
    );
}
