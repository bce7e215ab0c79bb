//! The OpenAPI 3 document of `/api`, served at `/api/openapi.json`. Schemas are derived from the
//! `shared` DTOs themselves; the operations below mirror `api::router` (a test checks that
//! every documented path is a route and every `shared::routes` path is documented).

#![allow(
    dead_code,
    reason = "the functions exist only to carry #[utoipa::path] documentation"
)]

use axum::Json;
use shared::alerts::{AlertRule, AlertsView, Budget, DeliveryResult, NewRule};
use shared::analytics::AnalyticsReport;
use shared::apps::{AppSummary, DefaultEndpoints, FlushQueue, Flushed};
use shared::auth::{AuditEntry, LoginRequest, UserInfo};
use shared::cost::{CostReport, Credits, Forecast, PriceLine, PriceOverride, SplitReport};
use shared::files::{FileItem, UploadFromUrl};
use shared::live::{LiveHistory, LiveSnapshot};
use shared::logs::LogsPage;
use shared::requests::{RequestDetail, RequestsPage};
use shared::routes;
use shared::usage::UsageReport;
use shared::{ApiError, Fetched, PublicConfig};
use utoipa::OpenApi;

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "falscope API",
        description = "Dashboard API over fal.ai's Platform APIs. fal-backed answers are wrapped in `{data, as_of, stale}` and carry an `X-Cache` header (HIT, MISS, REVALIDATED, STALE). Times accept ISO 8601 or relative forms (`now`, `now-6h`, `now/d`)."
    ),
    paths(
        config,
        login,
        logout,
        audit,
        live,
        live_stream,
        live_history,
        apps,
        endpoints,
        analytics,
        analytics_csv,
        usage,
        usage_csv,
        cost,
        forecast,
        split,
        budgets,
        put_budget,
        prices,
        put_price,
        alerts,
        create_rule,
        delete_rule,
        update_rule,
        alert_test,
        requests,
        requests_csv,
        request,
        logs,
        logs_csv,
        logs_stream,
        files,
        file_content,
        file_upload,
        file_upload_url,
        queue_flush,
        credits,
        models,
        put_model,
        delete_model,
        models_report
    ),
    components(schemas(ApiError, PublicConfig, UserInfo, AuditEntry)),
    modifiers(&Boundary)
)]
pub struct ApiDoc;

/// What every route can answer besides its own successes, derived from the route table (its
/// method, path and least role) and `AppError`'s one status mapping, so the document lists
/// every status a handler can answer: 401/403 behind a role, 403 for a state-changing call
/// without the CSRF header, 404 for an unknown workspace, 400 for bad parameters, 429 from the
/// rate limiter (and the live-stream cap), 502/503 where fal is read, 500 everywhere; plus the
/// bearer, session-cookie and CSRF security schemes.
struct Boundary;

/// Workspace routes that never read fal (stored settings, the poller's stream, stored samples).
const NOT_FAL_BACKED: &[(&str, &str)] = &[
    ("GET", routes::ws::BUDGETS),
    ("GET", routes::ws::MODELS),
    ("DELETE", routes::ws::MODELS),
    ("PUT", routes::ws::BUDGETS),
    ("PUT", routes::ws::PRICES),
    ("GET", routes::ws::ALERTS),
    ("DELETE", routes::ws::ALERT_RULE),
    ("POST", routes::ws::ALERT_TEST),
    ("GET", routes::ws::LIVE_HISTORY),
    ("GET", routes::ws::LIVE_STREAM),
];

impl utoipa::Modify for Boundary {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
        };
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("`--auth token`: an API token from the auth file"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::auth::cookie_name(false),
                "`--auth token`: the session cookie set by /api/auth/login (`__Host-falscope_session` behind TLS)",
            ))),
        );
        components.add_security_scheme(
            "csrf",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                shared::auth::CSRF_HEADER,
                "Any value; required on every state-changing call made with the session cookie",
            ))),
        );
        for route in super::table() {
            let method = route.method.as_str();
            let Some(op) = doc
                .paths
                .paths
                .get_mut(route.path)
                .and_then(|item| match method {
                    "GET" => item.get.as_mut(),
                    "POST" => item.post.as_mut(),
                    "PUT" => item.put.as_mut(),
                    "DELETE" => item.delete.as_mut(),
                    _ => None,
                })
            else {
                continue;
            };
            let changes_state = method != "GET";
            let mut add = |status: &str, why: &str| {
                op.responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| error_response(why));
            };
            add(
                "400",
                "a parameter or the body is invalid (`param` names it)",
            );
            add(
                "429",
                "too many requests from this caller (or live streams open); see Retry-After",
            );
            add("500", "falscope's own fault (its logs have the detail)");
            if matches!(route.access, crate::guard::Access::Role(_)) {
                add(
                    "401",
                    "not signed in (`--auth token`) or no identity from the proxy (`--auth proxy`)",
                );
                add("403", "the caller's role does not allow this");
            }
            if changes_state {
                add(
                    "403",
                    "a state-changing call with the session cookie but without the CSRF header",
                );
            }
            if route.path.contains("{ws}") {
                add("404", "no such workspace (or not one this caller may see)");
                if !NOT_FAL_BACKED.contains(&(method, route.path)) {
                    add(
                        "502",
                        "fal rejected falscope's key or answered with an error",
                    );
                    add(
                        "503",
                        "fal is failing and falscope has no earlier copy of this view",
                    );
                }
            }
            if matches!(route.access, crate::guard::Access::Role(_)) {
                let mut cookie = SecurityRequirement::new("session", Vec::<String>::new());
                if changes_state {
                    cookie = cookie.add("csrf", Vec::<String>::new());
                }
                op.security = Some(vec![
                    SecurityRequirement::new("bearer", Vec::<String>::new()),
                    cookie,
                    // `--auth none` and `--auth proxy` need neither.
                    SecurityRequirement::default(),
                ]);
            }
        }
    }
}

/// A documented error answer with the `ApiError` body.
fn error_response(why: &str) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    ResponseBuilder::new()
        .description(why)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ApiError")))
                .build(),
        )
        .build()
        .into()
}

/// `GET /api/openapi.json`.
pub async fn get_openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

const WS: &str = "Workspace id from /api/config";

#[utoipa::path(get, path = "/api/config", responses((status = 200, body = PublicConfig)))]
fn config() {}

#[utoipa::path(post, path = "/api/auth/login", request_body = LoginRequest,
    description = "`--auth token` only. Sets the HttpOnly, SameSite=Strict session cookie. Needs the `x-falscope-csrf` header.",
    responses((status = 200, body = UserInfo), (status = 401, body = ApiError), (status = 404, description = "not in token mode", body = ApiError)))]
fn login() {}

#[utoipa::path(post, path = "/api/auth/logout", description = "Ends the session and clears its cookie.",
    responses((status = 204, description = "signed out")))]
fn logout() {}

#[utoipa::path(get, path = "/api/audit", params(("limit" = Option<u32>, Query, description = "1–1000, default 100")),
    description = "Role admin. Every state-changing call: who, what, when, outcome; newest first.",
    responses((status = 200, body = Vec<AuditEntry>), (status = 403, body = ApiError)))]
fn audit() {}

#[utoipa::path(get, path = "/api/ws/{ws}/live", params(("ws" = String, Path, description = WS)),
    responses((status = 200, body = Fetched<LiveSnapshot>), (status = 503, body = ApiError)))]
fn live() {}

#[utoipa::path(get, path = "/api/ws/{ws}/live/stream", params(("ws" = String, Path, description = WS)),
    responses((status = 200, description = "text/event-stream: event `snapshot` with a Fetched<LiveSnapshot>")))]
fn live_stream() {}

#[utoipa::path(get, path = "/api/ws/{ws}/live/history",
    params(("ws" = String, Path, description = WS), ("from" = Option<String>, Query, description = "default now-6h"), ("to" = Option<String>, Query, description = "default now")),
    responses((status = 200, body = LiveHistory), (status = 400, body = ApiError)))]
fn live_history() {}

#[utoipa::path(get, path = "/api/ws/{ws}/apps", params(("ws" = String, Path, description = WS)),
    responses((status = 200, body = Fetched<Vec<AppSummary>>)))]
fn apps() {}

#[utoipa::path(get, path = "/api/ws/{ws}/endpoints", params(("ws" = String, Path, description = WS)),
    description = "The endpoints the Analytics and Requests pages show before anyone picks: every endpoint of the workspace, or, past the 50 one fal call takes, the 50 busiest by requests over the last 24 hours.",
    responses((status = 200, body = Fetched<DefaultEndpoints>), (status = 503, body = ApiError)))]
fn endpoints() {}

#[utoipa::path(get, path = "/api/ws/{ws}/analytics",
    params(("ws" = String, Path, description = WS), ("endpoints" = String, Query, description = "1–50 endpoint ids, comma-separated"),
        ("from" = Option<String>, Query, description = "default now-24h"), ("to" = Option<String>, Query), ("timeframe" = Option<String>, Query, description = "minute|hour|day|week|month; default: fal's auto choice"),
        ("tz" = Option<String>, Query, description = "IANA zone for buckets")),
    responses((status = 200, body = Fetched<AnalyticsReport>), (status = 400, body = ApiError), (status = 503, body = ApiError)))]
fn analytics() {}

#[utoipa::path(get, path = "/api/ws/{ws}/analytics.csv", params(("ws" = String, Path, description = WS)), responses((status = 200, description = "text/csv")))]
fn analytics_csv() {}

#[utoipa::path(get, path = "/api/ws/{ws}/usage",
    params(("ws" = String, Path, description = WS), ("from" = Option<String>, Query, description = "default now-7d"), ("to" = Option<String>, Query),
        ("apps" = Option<String>, Query, description = "exact app names, comma-separated (≤ 50)"), ("search" = Option<String>, Query), ("timeframe" = Option<String>, Query), ("tz" = Option<String>, Query)),
    responses((status = 200, body = Fetched<UsageReport>), (status = 409, description = "no ADMIN key configured", body = ApiError)))]
fn usage() {}

#[utoipa::path(get, path = "/api/ws/{ws}/cost",
    params(("ws" = String, Path, description = WS), ("from" = Option<String>, Query, description = "default now-7d; both ends aligned down to whole hours"), ("to" = Option<String>, Query)),
    description = "Role billing. Spend (usage, surge and non-surge) beside request outcomes (analytics) per app, and cost per successful request.",
    responses((status = 200, body = Fetched<CostReport>), (status = 409, description = "no ADMIN key configured", body = ApiError)))]
fn cost() {}

#[utoipa::path(get, path = "/api/ws/{ws}/forecast", params(("ws" = String, Path, description = WS)),
    description = "Role billing. This month's spend so far (UTC days) and a month-end projection: linear trend × weekly seasonality over the last four weeks of daily usage, with a ~95% band.",
    responses((status = 200, body = Fetched<Forecast>), (status = 409, description = "no ADMIN key configured", body = ApiError)))]
fn forecast() {}

#[utoipa::path(get, path = "/api/ws/{ws}/credits", params(("ws" = String, Path, description = WS)),
    description = "Role billing. fal's prepaid credit balance (ADMIN key) and its runway: the day it reaches zero at the projected daily spend (the forecast model's coming week, repeated, up to a year ahead), with a ~95% band.",
    responses((status = 200, body = Fetched<Credits>), (status = 409, description = "no ADMIN key configured", body = ApiError)))]
fn credits() {}

#[utoipa::path(get, path = "/api/ws/{ws}/split",
    params(("ws" = String, Path, description = WS), ("from" = Option<String>, Query, description = "default now-24h; both ends aligned down to whole hours"), ("to" = Option<String>, Query)),
    description = "Role billing. Each app's billed machine-seconds split into running (Σ durations of 2xx/4xx requests), failed (5xx, from up to 300 requests with billing per app), setup (cold starts × their median) and idle (the rest), with the money of each; `notes` say what is estimated or missing.",
    responses((status = 200, body = Fetched<SplitReport>), (status = 409, description = "no ADMIN key configured", body = ApiError)))]
fn split() {}

#[utoipa::path(get, path = "/api/ws/{ws}/budgets", params(("ws" = String, Path, description = WS)),
    description = "Role billing. Monthly budgets of the workspace (`app: null`) and its apps.",
    responses((status = 200, body = Vec<Budget>)))]
fn budgets() {}

#[utoipa::path(put, path = "/api/ws/{ws}/budgets", params(("ws" = String, Path, description = WS)), request_body = Budget,
    description = "Role billing. Sets one monthly budget; `monthly: 0` removes it.",
    responses((status = 204, description = "saved"), (status = 400, body = ApiError)))]
fn put_budget() {}

#[utoipa::path(get, path = "/api/ws/{ws}/prices", params(("ws" = String, Path, description = WS)),
    description = "Role billing. Price per billable unit of each app: derived from 7 days of usage, or the admin's override; `ambiguous` when the app was billed at several unit prices.",
    responses((status = 200, body = Vec<PriceLine>), (status = 409, description = "no ADMIN key configured", body = ApiError)))]
fn prices() {}

#[utoipa::path(put, path = "/api/ws/{ws}/prices", params(("ws" = String, Path, description = WS)), request_body = PriceOverride,
    description = "Role admin. Sets an app's price per billable unit; `unit_price: null` returns to the derived price.",
    responses((status = 204, description = "saved"), (status = 400, body = ApiError)))]
fn put_price() {}

#[utoipa::path(get, path = "/api/ws/{ws}/alerts", params(("ws" = String, Path, description = WS)),
    description = "Role viewer. Alert rules of the workspace with their states (firing first), the latest 100 state changes and the configured webhooks.",
    responses((status = 200, body = AlertsView)))]
fn alerts() {}

#[utoipa::path(post, path = "/api/ws/{ws}/alerts/rules", params(("ws" = String, Path, description = WS)), request_body = NewRule,
    description = "Role operator. Creates a rule (stored in the data directory).",
    responses((status = 201, body = AlertRule), (status = 400, body = ApiError), (status = 409, description = "no usable data directory", body = ApiError)))]
fn create_rule() {}

#[utoipa::path(delete, path = "/api/ws/{ws}/alerts/rules/{id}", params(("ws" = String, Path, description = WS), ("id" = String, Path)),
    description = "Role operator. Deletes a rule made in the UI; rules of the alerts file answer 409.",
    responses((status = 204, description = "deleted"), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
fn delete_rule() {}

#[utoipa::path(put, path = "/api/ws/{ws}/alerts/rules/{id}", params(("ws" = String, Path, description = WS), ("id" = String, Path)), request_body = NewRule,
    description = "Role operator. New settings for a rule made in the UI; its state carries over (a firing rule that no longer holds resolves at the next evaluation). Rules of the alerts file answer 409.",
    responses((status = 200, body = AlertRule), (status = 400, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
fn update_rule() {}

#[utoipa::path(post, path = "/api/ws/{ws}/alerts/test", params(("ws" = String, Path, description = WS)),
    description = "Role operator. Sends a test notification to every webhook (with retries) and answers each outcome.",
    responses((status = 200, body = Vec<DeliveryResult>)))]
fn alert_test() {}

#[utoipa::path(get, path = "/api/ws/{ws}/usage.csv", params(("ws" = String, Path, description = WS)),
    responses((status = 200, description = "text/csv"), (status = 409, description = "no ADMIN key configured", body = ApiError)))]
fn usage_csv() {}

#[utoipa::path(get, path = "/api/ws/{ws}/requests",
    params(("ws" = String, Path, description = WS), ("endpoints" = String, Query, description = "1–50 endpoint ids"), ("from" = Option<String>, Query), ("to" = Option<String>, Query),
        ("status" = Option<String>, Query, description = "success|user_error|error"), ("sort" = Option<String>, Query, description = "ended_at|duration"),
        ("limit" = Option<u32>, Query, description = "1–100, default 50"), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = Fetched<RequestsPage>), (status = 400, body = ApiError)))]
fn requests() {}

#[utoipa::path(get, path = "/api/ws/{ws}/requests.csv", params(("ws" = String, Path, description = WS)), responses((status = 200, description = "text/csv")))]
fn requests_csv() {}

#[utoipa::path(get, path = "/api/ws/{ws}/requests/{id}", params(("ws" = String, Path, description = WS), ("id" = String, Path, description = "request id (UUID)")),
    responses((status = 200, body = Fetched<RequestDetail>), (status = 404, body = ApiError)))]
fn request() {}

#[utoipa::path(get, path = "/api/ws/{ws}/logs",
    params(("ws" = String, Path, description = WS), ("from" = Option<String>, Query, description = "default now-1h"), ("to" = Option<String>, Query),
        ("apps" = Option<String>, Query, description = "owner/name ids"), ("level" = Option<String>, Query, description = "minimum level"), ("search" = Option<String>, Query),
        ("request_id" = Option<String>, Query), ("label" = Option<String>, Query, description = "key=value or key!=value, repeatable"),
        ("limit" = Option<u32>, Query, description = "1–1000, default 200"), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = Fetched<LogsPage>), (status = 400, body = ApiError)))]
fn logs() {}

#[utoipa::path(get, path = "/api/ws/{ws}/logs.csv", params(("ws" = String, Path, description = WS)), responses((status = 200, description = "text/csv")))]
fn logs_csv() {}

#[utoipa::path(get, path = "/api/ws/{ws}/logs/stream", params(("ws" = String, Path, description = WS)),
    responses((status = 200, description = "text/event-stream: events `log` (LogLine) and `status` (StreamStatus)")))]
fn logs_stream() {}

#[utoipa::path(get, path = "/api/ws/{ws}/files", params(("ws" = String, Path, description = WS), ("dir" = Option<String>, Query)),
    responses((status = 200, body = Fetched<Vec<FileItem>>), (status = 400, body = ApiError)))]
fn files() {}

#[utoipa::path(get, path = "/api/ws/{ws}/files/content", params(("ws" = String, Path, description = WS), ("path" = String, Query)),
    responses((status = 200, description = "the file, as an attachment"), (status = 404, body = ApiError)))]
fn file_content() {}

#[utoipa::path(post, path = "/api/ws/{ws}/files/upload", params(("ws" = String, Path, description = WS), ("path" = String, Query)),
    request_body(content_type = "multipart/form-data", description = "part `file`"),
    responses((status = 201, description = "stored"), (status = 413, body = ApiError)))]
fn file_upload() {}

#[utoipa::path(post, path = "/api/ws/{ws}/files/upload-url", params(("ws" = String, Path, description = WS)), request_body = UploadFromUrl,
    responses((status = 201, description = "stored"), (status = 400, body = ApiError)))]
fn file_upload_url() {}

#[utoipa::path(post, path = "/api/ws/{ws}/queue/flush",
    params(("ws" = String, Path, description = WS), ("Idempotency-Key" = String, Header, description = "made once per confirmation: a repeat with the same key within 10 minutes flushes nothing and answers `repeated: true`")),
    request_body = FlushQueue,
    description = "Role operator. Cancels every request waiting in the app's queue (running ones are untouched). Irreversible. The audit trail records the app and how many were waiting.",
    responses((status = 200, body = Flushed), (status = 400, body = ApiError)))]
fn queue_flush() {}

#[utoipa::path(get, path = "/api/ws/{ws}/models", params(("ws" = String, Path, description = WS)),
    description = "The model endpoints the workspace watches (fal's model APIs the team calls, e.g. `fal-ai/flux/dev`) with their SLA objectives; in demo mode, the simulator's models as suggestions.",
    responses((status = 200, body = shared::models::Watched)))]
fn models() {}

#[utoipa::path(put, path = "/api/ws/{ws}/models", params(("ws" = String, Path, description = WS)), request_body = shared::models::WatchedModel,
    description = "Role operator. Watches a model endpoint or changes its SLA. The id must be in fal's form (`owner/name[/route]`) and known to fal (one models-analytics read); at most 50 per workspace.",
    responses((status = 204, description = "saved"), (status = 400, body = ApiError)))]
fn put_model() {}

#[utoipa::path(delete, path = "/api/ws/{ws}/models", params(("ws" = String, Path, description = WS), ("endpoint" = String, Query, description = "the watched endpoint id")),
    description = "Role operator. Stops watching a model endpoint.",
    responses((status = 204, description = "removed"), (status = 404, body = ApiError)))]
fn delete_model() {}

#[utoipa::path(get, path = "/api/ws/{ws}/models/report",
    params(("ws" = String, Path, description = WS), ("from" = Option<String>, Query, description = "default now-24h"), ("to" = Option<String>, Query), ("timeframe" = Option<String>, Query), ("tz" = Option<String>, Query)),
    description = "fal's models analytics of the watched endpoints over the range (the team's own calls), and each endpoint's SLA over its own period ending now: met or missed per objective, with the success objective's error budget left.",
    responses((status = 200, body = Fetched<shared::models::ModelsReport>)))]
fn models_report() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_api_route_is_documented_and_nothing_else() {
        let doc = ApiDoc::openapi();
        let documented: std::collections::BTreeSet<&str> =
            doc.paths.paths.keys().map(String::as_str).collect();
        // Every /api route of the router's table except this document itself.
        let routes: std::collections::BTreeSet<&str> = crate::api::table()
            .iter()
            .map(|r| r.path)
            .filter(|p| p.starts_with("/api/") && *p != routes::OPENAPI)
            .collect();
        assert_eq!(documented, routes);
        let json = serde_json::to_string(&doc).unwrap();
        assert!(json.contains("AnalyticsReport") && json.contains("\"openapi\":\"3.1.0\""));
    }
}
