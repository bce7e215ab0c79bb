//! [`FalClient`]: the reqwest implementation of [`FalApi`]. One private `send` helper adds the
//! key and sorts failures into [`UpstreamError`]; nothing that can see a key is traced.

use super::models::{
    Aggregates, AnalyticsRecord, AppList, Billing, ErrorBody, FileEntry, LabelFilter, LogEntry,
    Page, QueueSize, RequestItem, UploadUrl, UsageRow,
};
use super::prometheus::MetricsScrape;
use super::query::{AnalyticsKind, AnalyticsQuery, LogsQuery, RequestsQuery, UsageQuery};
use super::{sse, ByteStream, Download, FalApi, Scope, UpstreamError};
use async_trait::async_trait;
use futures::stream::BoxStream;
use futures::StreamExt;
use reqwest::{header, RequestBuilder, Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;
use url::Url;

/// How long fal may take to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Whole-request timeout for JSON/text operations (streams and downloads set their own).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Uploads: fal fetches or stores the whole file before answering.
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(600);

/// Talks to fal's Platform API (or anything serving its contract) over HTTP.
pub struct FalClient {
    http: reqwest::Client,
    timeout: Duration,
    base: Url,
    api_key: SecretString,
    admin_key: Option<SecretString>,
    /// Sees every answer body before it is decoded (`falscope check --record`).
    recorder: Option<Recorder>,
}

/// A hook that sees `(operation, body)` of every JSON or text answer.
pub type Recorder = std::sync::Arc<dyn Fn(&'static str, &[u8]) + Send + Sync>;

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
            timeout: REQUEST_TIMEOUT,
            base: base_url,
            api_key,
            admin_key,
            recorder: None,
        })
    }

    /// Hands every answer body to `recorder` before decoding it.
    pub fn with_recorder(mut self, recorder: Recorder) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// The body of `resp`, shown to the recorder.
    async fn body(&self, op: &'static str, resp: Response) -> Result<bytes::Bytes, UpstreamError> {
        let body = resp
            .bytes()
            .await
            .map_err(|e| UpstreamError::Decode(decode_reason(&e)))?;
        if let Some(r) = &self.recorder {
            r(op, &body);
        }
        Ok(body)
    }

    /// Replaces the whole-request timeout of JSON/text operations (default 30 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
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
                .ok_or_else(UpstreamError::admin_key_missing),
        }
    }

    /// `base` + `/v1/` + fixed segments + caller segments, each percent-encoded.
    fn url_with(&self, fixed: &[&str], segments: &[&str]) -> Url {
        let mut url = self.url("");
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(fixed).extend(segments);
        }
        url
    }

    /// Sends `req` with the key for `scope` and the default timeout.
    async fn send(
        &self,
        op: &'static str,
        scope: Scope,
        req: RequestBuilder,
    ) -> Result<Response, UpstreamError> {
        self.send_with(op, scope, req, Some(self.timeout)).await
    }

    /// Sends `req` with the key for `scope`; non-2xx answers become [`UpstreamError`]s.
    #[tracing::instrument(skip_all, fields(op = op))]
    async fn send_with(
        &self,
        op: &'static str,
        scope: Scope,
        req: RequestBuilder,
        timeout: Option<Duration>,
    ) -> Result<Response, UpstreamError> {
        let key = self.key(scope)?;
        // Sensitive: hyper and h2 leave it out of their debug output and HPACK tables.
        let mut value = header::HeaderValue::from_str(&format!("Key {}", key.expose_secret()))
            .map_err(|_| UpstreamError::Credentials { status: 0 })?;
        value.set_sensitive(true);
        let mut req = req.header(header::AUTHORIZATION, value);
        if let Some(t) = timeout {
            req = req.timeout(t);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| UpstreamError::from_reqwest(&e))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let err = self.scrubbed(error_from_response(resp).await);
        tracing::debug!(status = status.as_u16(), error = %err, "fal call failed");
        Err(err)
    }

    /// `err` with falscope's keys removed from fal's message: some errors pass fal's message on
    /// to the browser (a rejected query), and a server may reflect the header it was sent.
    fn scrubbed(&self, err: UpstreamError) -> UpstreamError {
        match err {
            UpstreamError::Status {
                status,
                kind,
                mut message,
            } => {
                let keys = std::iter::once(&self.api_key).chain(self.admin_key.as_ref());
                for k in keys
                    .map(ExposeSecret::expose_secret)
                    .filter(|k| !k.is_empty())
                {
                    message = message.replace(k, "[redacted]");
                }
                UpstreamError::Status {
                    status,
                    kind,
                    message,
                }
            }
            other => other,
        }
    }

    /// Sends and decodes a JSON answer.
    async fn json<T: serde::de::DeserializeOwned>(
        &self,
        op: &'static str,
        scope: Scope,
        req: RequestBuilder,
    ) -> Result<T, UpstreamError> {
        let resp = self.send(op, scope, req).await?;
        let body = self.body(op, resp).await?;
        decode(op, &body)
    }
}

/// Decodes a JSON answer, keeping serde's path and message (never the body, which may carry
/// anything) in the error and the log line.
pub fn decode<T: serde::de::DeserializeOwned>(
    op: &'static str,
    body: &[u8],
) -> Result<T, UpstreamError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let reason = format!("{op}: at `{}`: {}", e.path(), e.inner());
        tracing::warn!(op, path = %e.path(), error = %e.inner(), "fal's answer did not decode");
        super::DECODE_ERRORS.add(op);
        UpstreamError::Decode(reason)
    })
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
        let resp = self.send("metrics", Scope::Api, req).await?;
        let body = self.body("metrics", resp).await?;
        let text = String::from_utf8_lossy(&body);
        let (scrape, skipped) = MetricsScrape::parse_lenient(&text)
            .map_err(|e| UpstreamError::Decode(e.to_string()))?;
        if let Some(first) = skipped.first() {
            // Counted per line; the rest of the scrape is used.
            for _ in &skipped {
                super::DECODE_ERRORS.add("metrics");
            }
            tracing::warn!(lines = skipped.len(), first = %first, "fal's metrics: lines that do not parse were skipped");
        }
        Ok(scrape)
    }

    async fn queue_size(&self, owner: &str, name: &str) -> Result<u64, UpstreamError> {
        let url = self.url_with(&["serverless", "apps"], &[owner, name, "queue"]);
        let resp: Result<QueueSize, _> = self
            .json("queue_size", Scope::Api, self.http.get(url))
            .await;
        Ok(resp
            .map_err(|e| e.about(&[format!("{owner}/{name}")]))?
            .queue_size)
    }

    async fn flush_queue(
        &self,
        owner: &str,
        name: &str,
        idempotency_key: Option<&str>,
    ) -> Result<(), UpstreamError> {
        let url = self.url_with(&["serverless", "apps"], &[owner, name, "queue"]);
        let mut req = self.http.delete(url);
        if let Some(key) = idempotency_key {
            req = req.header("Idempotency-Key", key);
        }
        // A refusal names the app (fal: 403 not yours, 404 no such app), as for its queue size.
        self.send("queue_flush", Scope::Api, req)
            .await
            .map(drop)
            .map_err(|e| e.about(&[format!("{owner}/{name}")]))
    }

    async fn analytics(
        &self,
        kind: AnalyticsKind,
        q: &AnalyticsQuery,
    ) -> Result<Aggregates<AnalyticsRecord>, UpstreamError> {
        let (op, path) = match kind {
            AnalyticsKind::Serverless => ("analytics", "serverless/analytics"),
            AnalyticsKind::Models => ("models_analytics", "models/analytics"),
        };
        let req = self.http.get(self.url(path)).query(&q.pairs());
        let answer = self.json(op, Scope::Api, req).await;
        answer.map_err(|e| e.about(&q.endpoint_ids))
    }

    async fn requests(&self, q: &RequestsQuery) -> Result<Page<RequestItem>, UpstreamError> {
        let req = self
            .http
            .get(self.url("serverless/requests/by-endpoint"))
            .query(&q.pairs());
        let answer = self.json("requests_by_endpoint", Scope::Api, req).await;
        answer.map_err(|e| e.about(&q.endpoint_ids))
    }

    async fn usage(&self, q: &UsageQuery) -> Result<Aggregates<UsageRow>, UpstreamError> {
        let req = self
            .http
            .get(self.url("serverless/usage"))
            .query(&q.pairs());
        self.json("usage", Scope::Admin, req).await
    }

    async fn logs_history(
        &self,
        q: &LogsQuery,
        labels: &[LabelFilter],
    ) -> Result<Page<LogEntry>, UpstreamError> {
        let req = self
            .http
            .post(self.url("serverless/logs/history"))
            .query(&q.pairs())
            .json(labels);
        self.json("logs_history", Scope::Api, req).await
    }

    async fn logs_stream(
        &self,
        q: &LogsQuery,
        labels: &[LabelFilter],
    ) -> Result<BoxStream<'static, Result<LogEntry, UpstreamError>>, UpstreamError> {
        let req = self
            .http
            .post(self.url("serverless/logs/stream"))
            .query(&q.pairs())
            .header(header::ACCEPT, "text/event-stream")
            .json(labels);
        // No whole-request timeout on a stream: it lives as long as the viewer; a stalled
        // stream is caught by the read timeout below.
        let resp = self.send_with("logs_stream", Scope::Api, req, None).await?;
        Ok(sse::log_events(resp.bytes_stream(), sse::IDLE_TIMEOUT))
    }

    async fn list_files(&self, dir: Option<&str>) -> Result<Vec<FileEntry>, UpstreamError> {
        let (op, url) = match dir {
            None => ("files_list", self.url("serverless/files/list")),
            Some(d) => (
                "files_list_dir",
                self.url_with(&["serverless", "files", "list"], &path_segments(d)),
            ),
        };
        self.json(op, Scope::Api, self.http.get(url)).await
    }

    async fn download_file(&self, path: &str) -> Result<Download, UpstreamError> {
        let url = self.url_with(&["serverless", "files", "file"], &path_segments(path));
        let resp = self
            .send_with("files_download", Scope::Api, self.http.get(url), None)
            .await?;
        let content_type = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let content_length = resp.content_length();
        let body = resp
            .bytes_stream()
            .map(|r| r.map_err(|e| UpstreamError::from_reqwest(&e)))
            .boxed();
        Ok(Download {
            content_type,
            content_length,
            body,
        })
    }

    async fn upload_from_url(&self, path: &str, source: &str) -> Result<bool, UpstreamError> {
        let url = self.url_with(
            &["serverless", "files", "file", "url"],
            &path_segments(path),
        );
        let req = self.http.post(url).json(&UploadUrl {
            url: source.to_owned(),
        });
        // fal fetches the URL before answering; its CLI waits up to 10 minutes.
        let resp = self
            .send_with("files_upload_url", Scope::Api, req, Some(UPLOAD_TIMEOUT))
            .await?;
        decode(
            "files_upload_url",
            &self.body("files_upload_url", resp).await?,
        )
    }

    async fn upload_local(
        &self,
        path: &str,
        file_name: &str,
        body: ByteStream,
        unzip: bool,
    ) -> Result<bool, UpstreamError> {
        let url = self.url_with(
            &["serverless", "files", "file", "local"],
            &path_segments(path),
        );
        let part = reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(body))
            .file_name(file_name.to_owned());
        let form = reqwest::multipart::Form::new().part("file_upload", part);
        let req = self
            .http
            .post(url)
            .query(&[("unzip", unzip)])
            .multipart(form);
        let resp = self
            .send_with("files_upload_local", Scope::Api, req, Some(UPLOAD_TIMEOUT))
            .await?;
        decode(
            "files_upload_local",
            &self.body("files_upload_local", resp).await?,
        )
    }

    async fn list_apps(&self, environment: Option<&str>) -> Result<AppList, UpstreamError> {
        let mut req = self
            .http
            .get(self.url("serverless/apps"))
            .query(&[("expand", "endpoints")]);
        if let Some(env) = environment {
            req = req.query(&[("environment", env)]);
        }
        self.json("apps", Scope::Api, req).await
    }

    async fn account_billing(&self, credits: bool) -> Result<Billing, UpstreamError> {
        let mut req = self.http.get(self.url("account/billing"));
        if credits {
            req = req.query(&[("expand", "credits")]);
        }
        self.json("account_billing", Scope::Admin, req).await
    }

    fn has_admin_key(&self) -> bool {
        self.admin_key.is_some()
    }
}

/// A storage path as URL segments: a leading `/` dropped, each segment percent-encoded on its
/// own so the slashes between them stay literal (fal's routes are catch-alls).
fn path_segments(path: &str) -> Vec<&str> {
    path.trim_start_matches('/').split('/').collect()
}
