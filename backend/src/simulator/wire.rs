//! fal's wire shapes as the simulator writes them, read from REFERENCE.md and fal's example
//! bodies there (section numbers on each type), not from the fal client's own models: the
//! contract suite holds the client's reading against this one, so a field one side names,
//! types or omits wrongly fails a test instead of being agreed on by both.
//!
//! Answers are `Serialize` only (the simulator never reads them back). The two request bodies
//! fal defines, label filters and an upload source, are `Deserialize` and refuse unknown fields,
//! as fal's schema does (`additionalProperties: false`).

mod analytics;
mod logs;

pub use analytics::{AnalyticsRecord, Metric, MetricValue};
pub use logs::{LabelCondition, LabelFilter, LabelValue, LogEntry, LogLevel};

use serde::{Deserialize, Serialize};

/// §1.3: the body of every error status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorBody {
    /// Required.
    pub error: ErrorObject,
}

/// §1.3: `type` and `message` required, `docs_url` and `request_id` optional.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorObject {
    /// The error class.
    #[serde(rename = "type")]
    pub error_type: ErrorType,
    /// Human-readable; clients must not match on it.
    pub message: String,
    /// A link into fal's docs (a URI).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub docs_url: Option<String>,
    /// fal's id of the failed call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// §1.3: the `type` enum, the same list on every operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorType {
    /// 401 and 403.
    AuthorizationError,
    /// 400.
    ValidationError,
    /// 404.
    NotFound,
    /// 429.
    RateLimited,
    /// 500 (and any other 5xx).
    ServerError,
    /// No operation lists it; paired with 501 by guess (§1.3 [I]).
    NotImplemented,
}

/// §1.7: the envelope of `requests/by-endpoint` and `logs/history`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    /// The page's items.
    pub items: Vec<T>,
    /// Always present; `null` on the last page.
    pub next_cursor: Option<String>,
    /// Always present; true exactly when `next_cursor` is not null.
    pub has_more: bool,
}

impl<T> Page<T> {
    /// A page whose `has_more` follows `next_cursor`, as §1.7 defines it.
    pub fn new(items: Vec<T>, next_cursor: Option<String>) -> Self {
        Self {
            items,
            has_more: next_cursor.is_some(),
            next_cursor,
        }
    }
}

/// §4 and §6.1: analytics and usage answers. `time_series` and `summary` are present exactly
/// when `expand` asked for them; the cursor pair is always present.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Aggregates<R> {
    /// Buckets, with `expand=time_series`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_series: Option<Vec<Bucket<R>>>,
    /// Records over the whole range, with `expand=summary`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<Vec<R>>,
    /// Page-number cursor, or `null`.
    pub next_cursor: Option<String>,
    /// True exactly when `next_cursor` is not null.
    pub has_more: bool,
}

impl<R> Aggregates<R> {
    /// An answer whose `has_more` follows `next_cursor`.
    pub fn new(
        time_series: Option<Vec<Bucket<R>>>,
        summary: Option<Vec<R>>,
        next_cursor: Option<String>,
    ) -> Self {
        Self {
            time_series,
            summary,
            has_more: next_cursor.is_some(),
            next_cursor,
        }
    }
}

/// One `time_series` element; both keys required.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bucket<R> {
    /// Bucket start, ISO 8601 with the requested timezone's offset.
    pub bucket: String,
    /// Records of the bucket.
    pub results: Vec<R>,
}

/// §2: a file or folder of `/data` (`additionalProperties: false`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileEntry {
    /// Full path from the storage root, no leading `/` (`datasets/images/cat.jpg`).
    pub path: String,
    /// Base name.
    pub name: String,
    /// UTC ISO 8601, millisecond precision.
    pub created_time: String,
    /// UTC ISO 8601, millisecond precision.
    pub updated_time: String,
    /// False for a folder.
    pub is_file: bool,
    /// Bytes, 0 for a folder. fal types it `number`; shape variation writes it `12.0`.
    pub size: u64,
    /// Hex SHA-256; optional, may be absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checksum_sha256: Option<String>,
    /// Hex MD5; optional, may be absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checksum_md5: Option<String>,
}

/// §2.4: the body of upload-from-URL (`url` required, nothing else allowed).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadSource {
    /// The URI fal fetches.
    pub url: String,
}

/// §3: one row of `requests/by-endpoint`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestItem {
    /// A uuid.
    pub request_id: String,
    /// The route-level endpoint id the request was recorded under.
    pub endpoint_id: String,
    /// Key always present; `null` when no runner was assigned.
    pub runner_id: Option<String>,
    /// Processing start.
    pub started_at: String,
    /// When it was sent to the backend.
    pub sent_at: String,
    /// Not required; `null` while unfinished.
    pub ended_at: Option<String>,
    /// Not required; `null` while unfinished.
    pub status_code: Option<u16>,
    /// Seconds; not required, `null` while unfinished.
    pub duration: Option<f64>,
    /// Only with `expand=payloads`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json_input: Option<serde_json::Value>,
    /// Only with `expand=payloads`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json_output: Option<serde_json::Value>,
    /// Only with `expand=billing` (absent otherwise); inside, `None` is fal's `null`: the billing
    /// event is not recorded yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billable_units: Option<Option<f64>>,
}

/// §4: a usage row. All 13 keys are required, some nullable: `null` is written, never omitted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UsageRow {
    /// Deployed app name without owner, maybe with an environment suffix; `null` when the line
    /// has no app.
    pub app: Option<String>,
    /// `null` when absent.
    pub environment: Option<String>,
    /// `GPU-H100`, `L`, ...
    pub machine_type: String,
    /// Always `second`.
    pub unit: UsageUnit,
    /// Machine-seconds.
    pub quantity: f64,
    /// Per-second price before percentage discounts.
    pub unit_price: f64,
    /// 0–100; `null` when no percentage discount applies (not 0).
    pub percent_discount: Option<f64>,
    /// quantity × unit_price.
    pub cost_subtotal: f64,
    /// subtotal − total.
    pub cost_discount: f64,
    /// What was charged.
    pub cost_total: f64,
    /// Deprecated; equals `cost_total`.
    pub cost: f64,
    /// ISO 4217, three letters.
    pub currency: String,
    /// Surge and non-surge usage are separate rows.
    pub is_surge: bool,
}

/// §4: the serverless usage `unit`, documented as always `"second"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UsageUnit {
    /// Machine-seconds.
    Second,
}

/// §7.1: the queue size answer, its only property (`additionalProperties: false`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct QueueSize {
    /// Requests waiting (not those being processed); an integer ≥ 0.
    pub queue_size: u64,
}

/// §9: the account billing answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Billing {
    /// Required.
    pub username: String,
    /// Only with `expand=credits`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credits: Option<Credits>,
}

/// §9: the credit balance; both fields required.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Credits {
    /// A number ≥ 0.
    pub current_balance: f64,
    /// ISO 4217.
    pub currency: String,
}

/// §10: the apps list (not paginated).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AppList {
    /// The apps of the requested environment.
    pub apps: Vec<App>,
}

/// §10: one app (`additionalProperties: false`); everything required except `endpoints`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct App {
    /// `<owner>/<name>`.
    pub endpoint_id: String,
    /// App name.
    pub name: String,
    /// Owner username.
    pub owner: String,
    /// Environment, e.g. `main`.
    pub environment: String,
    /// `GPU-H100` style (not the metrics' `NVIDIA H100`).
    pub machine_type: String,
    /// Who may call it.
    pub auth_mode: AuthMode,
    /// Seconds.
    pub keep_alive: f64,
    /// A number.
    pub min_concurrency: f64,
    /// A number.
    pub max_concurrency: f64,
    /// Seconds.
    pub request_timeout: f64,
    /// Seconds.
    pub startup_timeout: f64,
    /// E.g. `["us"]`.
    pub valid_regions: Vec<String>,
    /// ISO 8601.
    pub updated_at: String,
    /// Route-level endpoint ids, only with `expand=endpoints`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<Vec<String>>,
}

/// §10: `auth_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// `private`.
    Private,
    /// `public`.
    Public,
    /// `shared`.
    Shared,
}

/// Keys of the answers above that fal types `number` (not `integer`): an integral value may be
/// written `12` or `12.0` (§0.1), which shape variation exercises.
pub const NUMBER_FIELDS: &[&str] = &[
    // §2
    "size",
    // §3
    "duration",
    "billable_units",
    // §4
    "quantity",
    "unit_price",
    "percent_discount",
    "cost_subtotal",
    "cost_discount",
    "cost_total",
    "cost",
    // §9
    "current_balance",
    // §10
    "keep_alive",
    "min_concurrency",
    "max_concurrency",
    "request_timeout",
    "startup_timeout",
];

/// Keys of the answers above that are optional and nullable: fal may send `null` or leave them
/// out (§3: `ended_at`, `status_code`, `duration` are not required).
pub const OMITTABLE_WHEN_NULL: &[&str] = &["ended_at", "status_code", "duration"];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn required_nullable_keys_are_written_and_expansions_left_out() {
        let item = RequestItem {
            request_id: "r".into(),
            endpoint_id: "o/a".into(),
            runner_id: None,
            started_at: "s".into(),
            sent_at: "s".into(),
            ended_at: None,
            status_code: None,
            duration: None,
            json_input: None,
            json_output: None,
            billable_units: Some(None),
        };
        let v = serde_json::to_value(&item).unwrap();
        assert_eq!(v["runner_id"], json!(null));
        assert_eq!(v["billable_units"], json!(null));
        assert!(v.get("json_input").is_none());
        let v = serde_json::to_value(RequestItem {
            billable_units: None,
            ..item
        })
        .unwrap();
        assert!(v.get("billable_units").is_none());

        let e = serde_json::to_value(ErrorBody {
            error: ErrorObject {
                error_type: ErrorType::AuthorizationError,
                message: "Access denied".into(),
                docs_url: None,
                request_id: None,
            },
        })
        .unwrap();
        assert_eq!(
            e,
            json!({"error": {"type": "authorization_error", "message": "Access denied"}})
        );
        assert_eq!(
            serde_json::to_value(UsageUnit::Second).unwrap(),
            json!("second")
        );
        assert!(serde_json::from_str::<UploadSource>(r#"{"url":"u","mode":"x"}"#).is_err());
    }
}
