//! `Authorization: Key <key>`: 401 without a known key, 403 for an API key on ADMIN operations.

use integration_tests::sim::{SimHarness, ADMIN_KEY, API_KEY};
use reqwest::Method;

async fn status_and_body(
    h: &SimHarness,
    path: &str,
    key: Option<&str>,
) -> (u16, serde_json::Value) {
    let resp = h.raw(Method::GET, path, key).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or_default())
}

#[tokio::test]
async fn missing_or_unknown_keys_get_401_with_fal_error_body() {
    let h = SimHarness::start().await;
    for key in [None, Some("wrong"), Some("")] {
        let (status, body) = status_and_body(&h, "/v1/serverless/apps", key).await;
        assert_eq!(status, 401, "{key:?}");
        assert_eq!(body["error"]["type"], "authorization_error");
        assert_eq!(body["error"]["message"], "Authentication required");
    }
    let bearer = h
        .http
        .get(h.url("/v1/serverless/apps"))
        .header("authorization", format!("Bearer {API_KEY}"))
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), 401, "only the `Key` scheme is accepted");
}

#[tokio::test]
async fn api_key_is_forbidden_on_admin_operations_and_admin_key_does_everything() {
    let h = SimHarness::start().await;
    for path in ["/v1/serverless/usage", "/v1/account/billing"] {
        let (status, body) = status_and_body(&h, path, Some(API_KEY)).await;
        assert_eq!(status, 403, "{path}");
        assert_eq!(body["error"]["type"], "authorization_error");
        assert_eq!(
            status_and_body(&h, path, Some(ADMIN_KEY)).await.0,
            200,
            "{path}"
        );
    }
    assert_eq!(
        status_and_body(&h, "/v1/serverless/apps", Some(ADMIN_KEY))
            .await
            .0,
        200
    );
    assert_eq!(
        status_and_body(&h, "/v1/serverless/metrics", Some(ADMIN_KEY))
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn client_reports_credentials_and_missing_admin_key_distinctly() {
    use backend::upstream::{FalApi, UpstreamError};
    let h = SimHarness::start().await;
    let err = h.api_only.account_billing(false).await.unwrap_err();
    assert!(
        matches!(err, UpstreamError::AdminKeyMissing { .. }),
        "{err:?}"
    );
    let wrong =
        backend::upstream::FalClient::new(h.server.base_url(), "nope".to_owned().into(), None)
            .unwrap();
    let err = wrong.list_apps(None).await.unwrap_err();
    assert!(
        matches!(err, UpstreamError::Credentials { status: 401 }),
        "{err:?}"
    );
    assert!(
        !format!("{err} {err:?}").contains("nope"),
        "no key in errors"
    );
    let billing = h.client.account_billing(true).await.unwrap();
    assert_eq!(billing.username, "acme");
    assert_eq!(billing.credits.unwrap().currency, "USD");
}

#[tokio::test]
async fn app_list_has_the_documented_shape_and_discovers_endpoints() {
    use backend::upstream::FalApi;
    let h = SimHarness::start().await;
    let raw: serde_json::Value = h.get_json("/v1/serverless/apps", API_KEY).await;
    let first = &raw["apps"][0];
    assert!(
        first.get("endpoints").is_none(),
        "endpoints only with expand=endpoints"
    );
    for key in [
        "endpoint_id",
        "name",
        "owner",
        "environment",
        "machine_type",
        "auth_mode",
        "keep_alive",
        "min_concurrency",
        "max_concurrency",
        "request_timeout",
        "startup_timeout",
        "valid_regions",
        "updated_at",
    ] {
        assert!(first.get(key).is_some(), "missing {key}");
    }
    let apps = h.client.list_apps(None).await.unwrap().apps;
    let flux = apps.iter().find(|a| a.name == "flux-studio").unwrap();
    assert_eq!(flux.endpoint_id, "acme/flux-studio");
    assert_eq!(
        flux.endpoints.as_deref().unwrap(),
        ["acme/flux-studio", "acme/flux-studio/turbo"]
    );
    let bad = h
        .raw(
            Method::GET,
            "/v1/serverless/apps?expand=everything",
            Some(API_KEY),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}
