//! The typed client of falscope's `/api`: the only module that touches the network.

pub mod events;

use gloo_net::http::{Request, Response};
use serde::de::DeserializeOwned;
use shared::alerts::{AlertRule, AlertsView, Budget, DeliveryResult, FiringRules, NewRule};
use shared::analytics::AnalyticsReport;
use shared::apps::{AppSummary, DefaultEndpoints};
use shared::auth::{LoginRequest, UserInfo, CSRF_HEADER};
use shared::cost::{CostReport, Forecast, PriceLine, PriceOverride, SplitReport};
use shared::files::{FileItem, UploadFromUrl};
use shared::live::LiveHistory;
use shared::logs::LogsPage;
use shared::query::{
    AnalyticsQuery, FileQuery, FilesQuery, HoursQuery, LiveHistoryQuery, LogsQuery, RequestsQuery,
    UsageQuery,
};
use shared::requests::{RequestDetail, RequestsPage};
use shared::routes::{self, ws};
use shared::usage::UsageReport;
use shared::{ApiError, ErrorCode, Fetched, LiveSnapshot, PublicConfig};

/// Why an API call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClientError {
    /// The request did not complete (offline, server down).
    #[error("falscope is not reachable: {0}")]
    Network(String),
    /// falscope answered with its error body.
    #[error("{0}")]
    Api(ApiError),
    /// The answer could not be read.
    #[error("unexpected answer from falscope: {0}")]
    Decode(String),
}

impl ClientError {
    /// The API error code, when falscope sent one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Api(e) => Some(e.code),
            _ => None,
        }
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay).
pub fn encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' | b',' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `?k=v&…` (empty values skipped; empty string when nothing remains).
pub fn query_string<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.as_ref().is_empty())
        .map(|(k, v)| format!("{}={}", encode(k.as_ref()), encode(v.as_ref())))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// A workspace route with its typed query (`shared::query`): the JSON view, its CSV and its
/// stream are all addressed from the same value.
pub fn url_of<Q: serde::Serialize>(template: &str, workspace: &str, query: &Q) -> String {
    let path = ws::path(template, workspace);
    match serde_urlencoded::to_string(query) {
        Ok(q) if !q.is_empty() => format!("{path}?{q}"),
        _ => path,
    }
}

async fn get_json<T: DeserializeOwned>(path: &str) -> Result<T, ClientError> {
    let resp = Request::get(path)
        .send()
        .await
        .map_err(|e| ClientError::Network(e.to_string()))?;
    decode(resp).await
}

async fn decode<T: DeserializeOwned>(resp: Response) -> Result<T, ClientError> {
    if resp.ok() {
        return resp
            .json()
            .await
            .map_err(|e| ClientError::Decode(e.to_string()));
    }
    let status = resp.status();
    match resp.json::<ApiError>().await {
        Ok(err) => Err(ClientError::Api(err)),
        Err(_) => Err(ClientError::Decode(format!(
            "HTTP {status} without an error body"
        ))),
    }
}

/// `GET /api/config`.
pub async fn get_config() -> Result<PublicConfig, ClientError> {
    get_json(routes::CONFIG).await
}

/// A state-changing call: with the CSRF header and an optional JSON body.
async fn call<B: serde::Serialize>(
    req: gloo_net::http::RequestBuilder,
    body: Option<&B>,
) -> Result<Response, ClientError> {
    let req = req.header(CSRF_HEADER, "1");
    let req = match body {
        Some(b) => req.json(b),
        None => req.build(),
    }
    .map_err(|e| ClientError::Decode(e.to_string()))?;
    req.send()
        .await
        .map_err(|e| ClientError::Network(e.to_string()))
}

/// A state-changing call whose answer has no body to read (204).
async fn send<B: serde::Serialize>(
    req: gloo_net::http::RequestBuilder,
    body: Option<&B>,
) -> Result<(), ClientError> {
    let resp = call(req, body).await?;
    if resp.ok() {
        Ok(())
    } else {
        decode::<serde_json::Value>(resp).await.map(drop)
    }
}

/// `POST /api/auth/login`: the session cookie is set by the answer.
pub async fn login(username: String, password: String) -> Result<UserInfo, ClientError> {
    let body = LoginRequest { username, password };
    decode(call(Request::post(routes::LOGIN), Some(&body)).await?).await
}

/// Reloads the page (after signing in or out, so every view refetches with the new session).
pub fn reload() {
    if let Some(w) = web_sys::window() {
        let _ = w.location().reload();
    }
}

/// `POST /api/auth/logout`.
pub async fn logout() -> Result<(), ClientError> {
    send::<()>(Request::post(routes::LOGOUT), None).await
}

/// `GET /api/ws/{ws}/cost`.
pub async fn get_cost(
    workspace: &str,
    query: &HoursQuery,
) -> Result<Fetched<CostReport>, ClientError> {
    get_json(&url_of(ws::COST, workspace, query)).await
}

/// `GET /api/ws/{ws}/forecast`.
pub async fn get_forecast(workspace: &str) -> Result<Fetched<Forecast>, ClientError> {
    get_json(&ws::path(ws::FORECAST, workspace)).await
}

/// `GET /api/ws/{ws}/split`.
pub async fn get_split(
    workspace: &str,
    query: &HoursQuery,
) -> Result<Fetched<SplitReport>, ClientError> {
    get_json(&url_of(ws::SPLIT, workspace, query)).await
}

/// `GET /api/ws/{ws}/prices`.
pub async fn get_prices(workspace: &str) -> Result<Vec<PriceLine>, ClientError> {
    get_json(&ws::path(ws::PRICES, workspace)).await
}

/// `PUT /api/ws/{ws}/prices` (admin).
pub async fn put_price(workspace: &str, body: &PriceOverride) -> Result<(), ClientError> {
    send(Request::put(&ws::path(ws::PRICES, workspace)), Some(body)).await
}

/// `POST /api/ws/{ws}/queue/flush` (operator), once per `key` (one per confirmation).
pub async fn flush_queue(
    workspace: &str,
    app: &str,
    key: &str,
) -> Result<shared::apps::Flushed, ClientError> {
    let req = Request::post(&ws::path(ws::QUEUE_FLUSH, workspace))
        .header(shared::apps::IDEMPOTENCY_KEY, key);
    let body = shared::apps::FlushQueue {
        app: app.to_owned(),
    };
    decode(call(req, Some(&body)).await?).await
}

/// `GET /api/ws/{ws}/credits` (billing).
pub async fn get_credits(workspace: &str) -> Result<Fetched<shared::cost::Credits>, ClientError> {
    get_json(&ws::path(ws::CREDITS, workspace)).await
}

/// `GET /api/ws/{ws}/models`.
pub async fn get_models(workspace: &str) -> Result<shared::models::Watched, ClientError> {
    get_json(&ws::path(ws::MODELS, workspace)).await
}

/// `PUT /api/ws/{ws}/models` (operator).
pub async fn put_model(
    workspace: &str,
    body: &shared::models::WatchedModel,
) -> Result<(), ClientError> {
    send(Request::put(&ws::path(ws::MODELS, workspace)), Some(body)).await
}

/// `DELETE /api/ws/{ws}/models?endpoint=…` (operator).
pub async fn delete_model(workspace: &str, endpoint: &str) -> Result<(), ClientError> {
    let q = shared::query::ModelEndpointQuery {
        endpoint: endpoint.to_owned(),
    };
    send::<()>(Request::delete(&url_of(ws::MODELS, workspace, &q)), None).await
}

/// `GET /api/ws/{ws}/models/report`.
pub async fn get_models_report(
    workspace: &str,
    query: &shared::query::ModelsQuery,
) -> Result<Fetched<shared::models::ModelsReport>, ClientError> {
    get_json(&url_of(ws::MODELS_REPORT, workspace, query)).await
}

/// `PUT /api/ws/{ws}/budgets` (billing).
pub async fn put_budget(workspace: &str, body: &Budget) -> Result<(), ClientError> {
    send(Request::put(&ws::path(ws::BUDGETS, workspace)), Some(body)).await
}

/// `GET /api/ws/{ws}/alerts`.
pub async fn get_alerts(workspace: &str) -> Result<AlertsView, ClientError> {
    get_json(&ws::path(ws::ALERTS, workspace)).await
}

/// `GET /api/ws/{ws}/alerts`, read for the header: the firing rules only.
pub async fn get_firing_rules(workspace: &str) -> Result<FiringRules, ClientError> {
    get_json(&ws::path(ws::ALERTS, workspace)).await
}

/// `POST /api/ws/{ws}/alerts/rules` (operator).
pub async fn create_rule(workspace: &str, rule: &NewRule) -> Result<AlertRule, ClientError> {
    let req = Request::post(&ws::path(ws::ALERT_RULES, workspace));
    decode(call(req, Some(rule)).await?).await
}

/// `PUT /api/ws/{ws}/alerts/rules/{id}` (operator).
pub async fn update_rule(
    workspace: &str,
    id: &str,
    rule: &NewRule,
) -> Result<AlertRule, ClientError> {
    let path = ws::path_with_id(ws::ALERT_RULE, workspace, &encode(id));
    decode(call(Request::put(&path), Some(rule)).await?).await
}

/// `DELETE /api/ws/{ws}/alerts/rules/{id}` (operator).
pub async fn delete_rule(workspace: &str, id: &str) -> Result<(), ClientError> {
    let path = ws::path_with_id(ws::ALERT_RULE, workspace, &encode(id));
    send::<()>(Request::delete(&path), None).await
}

/// `POST /api/ws/{ws}/alerts/test` (operator).
pub async fn send_test(workspace: &str) -> Result<Vec<DeliveryResult>, ClientError> {
    let req = Request::post(&ws::path(ws::ALERT_TEST, workspace));
    decode(call::<()>(req, None).await?).await
}

/// `GET /api/ws/{ws}/live`.
pub async fn get_live(workspace: &str) -> Result<Fetched<LiveSnapshot>, ClientError> {
    get_json(&ws::path(ws::LIVE, workspace)).await
}

/// `GET /api/ws/{ws}/live/history`.
pub async fn get_live_history(
    workspace: &str,
    query: &LiveHistoryQuery,
) -> Result<LiveHistory, ClientError> {
    get_json(&url_of(ws::LIVE_HISTORY, workspace, query)).await
}

/// `GET /api/ws/{ws}/apps`.
pub async fn get_apps(workspace: &str) -> Result<Fetched<Vec<AppSummary>>, ClientError> {
    get_json(&ws::path(ws::APPS, workspace)).await
}

/// `GET /api/ws/{ws}/endpoints`.
pub async fn get_default_endpoints(
    workspace: &str,
) -> Result<Fetched<DefaultEndpoints>, ClientError> {
    get_json(&ws::path(ws::ENDPOINTS, workspace)).await
}

/// `GET /api/ws/{ws}/analytics`.
pub async fn get_analytics(
    workspace: &str,
    query: &AnalyticsQuery,
) -> Result<Fetched<AnalyticsReport>, ClientError> {
    get_json(&url_of(ws::ANALYTICS, workspace, query)).await
}

/// `GET /api/ws/{ws}/usage`.
pub async fn get_usage(
    workspace: &str,
    query: &UsageQuery,
) -> Result<Fetched<UsageReport>, ClientError> {
    get_json(&url_of(ws::USAGE, workspace, query)).await
}

/// `GET /api/ws/{ws}/requests`.
pub async fn get_requests(
    workspace: &str,
    query: &RequestsQuery,
) -> Result<Fetched<RequestsPage>, ClientError> {
    get_json(&url_of(ws::REQUESTS, workspace, query)).await
}

/// `GET /api/ws/{ws}/requests/{id}`.
pub async fn get_request(workspace: &str, id: &str) -> Result<Fetched<RequestDetail>, ClientError> {
    get_json(&ws::path_with_id(ws::REQUEST, workspace, &encode(id))).await
}

/// `GET /api/ws/{ws}/logs`.
pub async fn get_logs(
    workspace: &str,
    query: &LogsQuery,
) -> Result<Fetched<LogsPage>, ClientError> {
    get_json(&url_of(ws::LOGS, workspace, query)).await
}

/// `GET /api/ws/{ws}/files`.
pub async fn get_files(
    workspace: &str,
    query: &FilesQuery,
) -> Result<Fetched<Vec<FileItem>>, ClientError> {
    get_json(&url_of(ws::FILES, workspace, query)).await
}

/// `POST /api/ws/{ws}/files/upload-url`.
pub async fn upload_from_url(workspace: &str, body: &UploadFromUrl) -> Result<(), ClientError> {
    send(
        Request::post(&ws::path(ws::FILE_UPLOAD_URL, workspace)),
        Some(body),
    )
    .await
}

/// `POST /api/ws/{ws}/files/upload?path=`: uploads `file` with XHR so progress (0–1) can be
/// reported; resolves when falscope answers.
pub async fn upload_file(
    workspace: &str,
    path: &str,
    file: web_sys::File,
    on_progress: impl Fn(f64) + 'static,
) -> Result<(), ClientError> {
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    let js = |e: wasm_bindgen::JsValue| ClientError::Network(format!("{e:?}"));
    let query = FileQuery {
        path: path.to_owned(),
    };
    let url = url_of(ws::FILE_UPLOAD, workspace, &query);
    let xhr = web_sys::XmlHttpRequest::new().map_err(js)?;
    xhr.open("POST", &url).map_err(js)?;
    xhr.set_request_header(CSRF_HEADER, "1").map_err(js)?;
    let progress =
        Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
            if e.length_computable() && e.total() > 0.0 {
                on_progress(e.loaded() / e.total());
            }
        });
    xhr.upload()
        .map_err(js)?
        .set_onprogress(Some(progress.as_ref().unchecked_ref()));
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    let tx = std::cell::RefCell::new(Some(tx));
    let done = Closure::<dyn FnMut()>::new(move || {
        if let Some(tx) = tx.borrow_mut().take() {
            let _ = tx.send(());
        }
    });
    xhr.set_onloadend(Some(done.as_ref().unchecked_ref()));
    let form = web_sys::FormData::new().map_err(js)?;
    form.append_with_blob("file", &file).map_err(js)?;
    xhr.send_with_opt_form_data(Some(&form)).map_err(js)?;
    let _ = rx.await;
    drop((progress, done));
    match xhr.status().map_err(js)? {
        200..=299 => Ok(()),
        0 => Err(ClientError::Network("the upload was interrupted".into())),
        status => {
            let text = xhr.response_text().ok().flatten().unwrap_or_default();
            Err(serde_json::from_str::<ApiError>(&text)
                .map(ClientError::Api)
                .unwrap_or_else(|_| ClientError::Decode(format!("HTTP {status}"))))
        }
    }
}
