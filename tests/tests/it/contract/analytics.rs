//! Serverless and models analytics: expand rules, validation, buckets and ownership.

use backend::upstream::query::{AnalyticsKind, AnalyticsQuery, Timeframe, Window};
use backend::upstream::{FalApi, UpstreamError};
use integration_tests::sim::{at, SimHarness, API_KEY, T0};
use reqwest::Method;

const HOUR: i64 = 3_600_000;

async fn status(h: &SimHarness, query: &str) -> u16 {
    let path = format!("/v1/serverless/analytics?{query}");
    h.raw(Method::GET, &path, Some(API_KEY))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn default_expand_is_hourly_request_count_time_series() {
    let h = SimHarness::start().await;
    let resp: serde_json::Value = h
        .get_json(
            "/v1/serverless/analytics?endpoint_id=acme/chat-llm",
            API_KEY,
        )
        .await;
    assert!(resp.get("summary").is_none());
    assert_eq!(resp["has_more"], false);
    assert!(resp["next_cursor"].is_null());
    let series = resp["time_series"].as_array().unwrap();
    assert!(
        (24..=25).contains(&series.len()),
        "hourly buckets over 24 h: {}",
        series.len()
    );
    let rec = &series[0]["results"][0];
    assert_eq!(
        integration_tests::sim::keys(rec),
        ["endpoint_id", "request_count"],
        "only requested metrics"
    );
    assert!(rec["request_count"].is_u64(), "counts are integers");
    assert!(series[0]["bucket"].as_str().unwrap().ends_with("+00:00"));
}

#[tokio::test]
async fn expand_rules_and_parameter_validation() {
    let h = SimHarness::start().await;
    let e = "endpoint_id=acme/chat-llm";
    assert_eq!(
        status(&h, &format!("{e}&expand=summary")).await,
        400,
        "no metric"
    );
    assert_eq!(
        status(&h, &format!("{e}&expand=request_count")).await,
        400,
        "no time_series/summary"
    );
    assert_eq!(
        status(&h, &format!("{e}&expand=summary,bogus_count")).await,
        400,
        "unknown expand"
    );
    assert_eq!(
        status(&h, &format!("{e}&expand=summary,p99_duration")).await,
        200
    );
    assert_eq!(status(&h, "").await, 400, "endpoint_id is required");
    let many: Vec<String> = (0..51)
        .map(|_| "endpoint_id=acme/chat-llm".to_owned())
        .collect();
    assert_eq!(status(&h, &many.join("&")).await, 400, "at most 50 ids");
    assert_eq!(status(&h, &format!("{e}&timeframe=fortnight")).await, 400);
    for v in ["yes", "1", "True"] {
        assert_eq!(
            status(&h, &format!("{e}&bound_to_timeframe={v}")).await,
            400,
            "bound_to_timeframe is the string true or false, as fal documents"
        );
    }
    assert_eq!(
        status(&h, &format!("{e}&bound_to_timeframe=false")).await,
        200
    );
    assert_eq!(status(&h, &format!("{e}&start=yesterday")).await, 400);
    assert_eq!(status(&h, &format!("{e}&limit=0")).await, 400);
    assert_eq!(status(&h, &format!("{e}&cursor=!!")).await, 400);
    assert_eq!(
        status(&h, "endpoint_id=fal-ai/flux/dev").await,
        403,
        "not owned"
    );
    assert_eq!(status(&h, "endpoint_id=nobody/nothing").await, 404);
}

#[tokio::test]
async fn summary_splits_outcomes_and_route_level_ids_stay_separate() {
    let h = SimHarness::start().await;
    let q = AnalyticsQuery {
        endpoint_ids: vec!["acme/flux-studio".into()],
        metrics: [
            "request_count",
            "success_count",
            "user_error_count",
            "error_count",
            "p50_duration",
            "p90_duration",
            "p50_prepare_duration",
        ]
        .map(String::from)
        .to_vec(),
        summary: true,
        window: Window {
            start: Some(at(T0 - 6 * HOUR)),
            end: Some(at(T0)),
            ..Window::default()
        },
        ..AnalyticsQuery::default()
    };
    let resp = h
        .client
        .analytics(AnalyticsKind::Serverless, &q)
        .await
        .unwrap();
    assert!(resp.time_series.is_none());
    let summary = resp.summary.unwrap();
    let ids: Vec<&str> = summary.iter().map(|r| r.endpoint_id.as_str()).collect();
    assert_eq!(ids, ["acme/flux-studio", "acme/flux-studio/turbo"]);
    for r in &summary {
        let n = |k: &str| r.metrics[k].as_u64().unwrap();
        assert_eq!(
            n("request_count"),
            n("success_count") + n("user_error_count") + n("error_count")
        );
        assert!(
            r.metrics["p90_duration"].as_f64().unwrap()
                >= r.metrics["p50_duration"].as_f64().unwrap()
        );
    }
    // A route-level id alone returns only that route.
    let turbo = AnalyticsQuery {
        endpoint_ids: vec!["acme/flux-studio/turbo".into()],
        ..q
    };
    let only = h
        .client
        .analytics(AnalyticsKind::Serverless, &turbo)
        .await
        .unwrap()
        .summary
        .unwrap();
    assert_eq!(only.len(), 1);
    assert_eq!(only[0].endpoint_id, "acme/flux-studio/turbo");
}

#[tokio::test]
async fn timezone_buckets_and_paging_cover_the_range_once() {
    let h = SimHarness::start().await;
    let q = |cursor: Option<String>| AnalyticsQuery {
        endpoint_ids: vec!["acme/chat-llm".into()],
        metrics: vec!["request_count".into()],
        time_series: true,
        window: Window {
            start: Some(at(T0 - 90 * 60_000)),
            end: Some(at(T0)),
            timezone: Some("America/New_York".into()),
            timeframe: Some(Timeframe::Minute),
            bound_to_timeframe: None,
        },
        limit: Some(40),
        cursor,
        ..AnalyticsQuery::default()
    };
    let buckets = integration_tests::all_pages(|cursor| {
        let (h, q) = (&h, q(cursor));
        async move {
            let page = h
                .client
                .analytics(AnalyticsKind::Serverless, &q)
                .await
                .unwrap();
            assert_eq!(page.has_more, page.next_cursor.is_some());
            (page.time_series.unwrap(), page.next_cursor)
        }
    })
    .await;
    let labels: Vec<&str> = buckets.iter().map(|b| b.bucket.as_str()).collect();
    assert!(
        labels.len() > 80 && labels.len() <= 90,
        "{} minute buckets",
        labels.len()
    );
    assert!(labels.iter().all(|l| l.ends_with("-05:00")), "{labels:?}");
    let unique: std::collections::BTreeSet<&&str> = labels.iter().collect();
    assert_eq!(
        unique.len(),
        labels.len(),
        "no bucket repeated across pages"
    );
}

#[tokio::test]
async fn models_analytics_covers_model_endpoints_only() {
    let h = SimHarness::start().await;
    let q = AnalyticsQuery {
        endpoint_ids: vec!["fal-ai/flux/dev".into()],
        metrics: vec!["request_count".into()],
        summary: true,
        ..AnalyticsQuery::default()
    };
    let summary = h
        .client
        .analytics(AnalyticsKind::Models, &q)
        .await
        .unwrap()
        .summary
        .unwrap();
    assert_eq!(summary[0].endpoint_id, "fal-ai/flux/dev");
    assert!(summary[0].metrics["request_count"].as_u64().unwrap() > 100);
    let own = AnalyticsQuery {
        endpoint_ids: vec!["acme/chat-llm".into()],
        ..q
    };
    let err = h
        .client
        .analytics(AnalyticsKind::Models, &own)
        .await
        .unwrap_err();
    assert!(
        matches!(err, UpstreamError::Refused { status: 404, .. }),
        "{err:?}"
    );
}
