//! [`FalClient`]: the reqwest implementation of [`FalApi`]. One private `send` helper adds the
//! key and sorts failures into [`UpstreamError`]; nothing that can see a key is traced.

use super::models::{AppList, ErrorBody};
use super::prometheus::MetricsScrape;
use super::{FalApi, Scope, UpstreamError};
use async_trait::async_trait;
use reqwest::{header, RequestBuilder, Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;
use url::Url;

/// How long fal may take to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Whole-request timeout for JSON/text operations (streams and downloads set their own).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Talks to fal's Platform API (or the simulator) over HTTP.
pub struct FalClient {
    http: reqwest::Client,
    base: Url,
    api_key: SecretString,
    admin_key: Option<SecretString>,
}

impl std::fmt::Debug for FalClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FalClient")
            .field("base", &self.base.as_str())
            .field("admin_key", &self.admin_key.is_some())
            .finish_non_exhaustive()
    }
}

impl FalClient {
    /// A client for `base_url` (without `/v1`).
    pub fn new(
        base_url: Url,
        api_key: SecretString,
        admin_key: Option<SecretString>,
    ) -> Result<Self, UpstreamError> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("falscope/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| UpstreamError::from_reqwest(&e))?;
        Ok(Self {
            http,
            base: base_url,
            api_key,
            admin_key,
        })
    }

    /// `base` + `/v1/` + `path`, with `path` segments taken literally.
    fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        let prefix = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{prefix}/v1/{}", path.trim_start_matches('/')));
        url
    }

    fn key(&self, scope: Scope) -> Result<&SecretString, UpstreamError> {
        match scope {
            Scope::Api => Ok(&self.api_key),
            Scope::Admin => self
                .admin_key
                .as_ref()
                .ok_or(UpstreamError::AdminKeyMissing),
        }
    }

    /// Sends `req` with the key for `scope`; non-2xx answers become [`UpstreamError`]s.
    #[tracing::instrument(skip_all, fields(op = op))]
    async fn send(
        &self,
        op: &'static str,
        scope: Scope,
        req: RequestBuilder,
    ) -> Result<Response, UpstreamError> {
        let key = self.key(scope)?;
        let resp = req
            .header(
                header::AUTHORIZATION,
                format!("Key {}", key.expose_secret()),
            )
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(|e| UpstreamError::from_reqwest(&e))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let err = error_from_response(resp).await;
        tracing::debug!(status = status.as_u16(), error = %err, "fal call failed");
        Err(err)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        op: &'static str,
        scope: Scope,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, UpstreamError> {
        let req = self.http.get(self.url(path)).query(query);
        self.send(op, scope, req)
            .await?
            .json()
            .await
            .map_err(|e| UpstreamError::Decode(decode_reason(&e)))
    }
}

fn decode_reason(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "the body did not arrive in time".into()
    } else {
        "the body did not match fal's documented shape".into()
    }
}

/// Turns a non-2xx answer into an [`UpstreamError`], reading fal's error body when present.
async fn error_from_response(resp: Response) -> UpstreamError {
    let status = resp.status();
    let retry_after = retry_after(resp.headers());
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => UpstreamError::Credentials {
            status: status.as_u16(),
        },
        StatusCode::TOO_MANY_REQUESTS => UpstreamError::RateLimited { retry_after },
        _ => {
            let body: Option<ErrorBody> = resp.json().await.ok();
            let (kind, message) = body
                .map(|b| (b.error.kind, b.error.message))
                .unwrap_or_else(|| ("unknown".into(), String::new()));
            UpstreamError::Status {
                status: status.as_u16(),
                kind,
                message,
            }
        }
    }
}

/// `Retry-After` (seconds) or fal's `x-ratelimit-reset` (seconds until the window resets).
fn retry_after(headers: &header::HeaderMap) -> Option<Duration> {
    [header::RETRY_AFTER.as_str(), "x-ratelimit-reset"]
        .iter()
        .find_map(|name| {
            headers
                .get(*name)?
                .to_str()
                .ok()?
                .trim()
                .parse::<f64>()
                .ok()
        })
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

#[async_trait]
impl FalApi for FalClient {
    async fn metrics(&self) -> Result<MetricsScrape, UpstreamError> {
        let req = self.http.get(self.url("serverless/metrics"));
        let text = self
            .send("metrics", Scope::Api, req)
            .await?
            .text()
            .await
            .map_err(|e| UpstreamError::Decode(decode_reason(&e)))?;
        MetricsScrape::parse(&text).map_err(|e| UpstreamError::Decode(e.to_string()))
    }

    async fn list_apps(&self) -> Result<AppList, UpstreamError> {
        let query = [("expand", "endpoints".to_owned())];
        self.get_json("apps", Scope::Api, "serverless/apps", &query)
            .await
    }

    fn has_admin_key(&self) -> bool {
        self.admin_key.is_some()
    }
}
