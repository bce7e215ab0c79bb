//! fal's wire shapes as the simulator writes them, read from REFERENCE.md and fal's example
//! bodies there (section numbers on each type), not from the fal client's own models: the
//! contract suite holds the client's reading against this one, so a field one side names,
//! types or omits wrongly fails a test instead of being agreed on by both.
//!
//! Answers are `Serialize` only (the simulator never reads them back). The two request bodies
//! fal defines, label filters and an upload source, are `Deserialize` and refuse unknown fields,
//! as fal's schema does (`additionalProperties: false`).

use serde::{Deserialize, Serialize, Serializer};
use std::collections::BTreeMap;

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

/// §6.1: an analytics record: the endpoint plus only the requested metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnalyticsRecord {
    /// Route-level endpoint id.
    pub endpoint_id: String,
    /// The requested metrics that have data (a percentile without data is left out).
    #[serde(flatten)]
    pub metrics: BTreeMap<Metric, MetricValue>,
}

/// A metric's value: counts are integers, durations seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum MetricValue {
    /// An integer ≥ 0.
    Count(u64),
    /// Seconds.
    Seconds(f64),
}

/// §6.1: the 24 metric names `expand` accepts; each variant is the metric [`Metric::name`]
/// spells (`P50PrepareDuration` is `p50_prepare_duration`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    RequestCount,
    SuccessCount,
    UserErrorCount,
    ErrorCount,
    StartupErrorCount,
    ConnectionErrorCount,
    TimeoutErrorCount,
    RuntimeErrorCount,
    P50PrepareDuration,
    P75PrepareDuration,
    P90PrepareDuration,
    P95PrepareDuration,
    P99PrepareDuration,
    P25Duration,
    P50Duration,
    P75Duration,
    P90Duration,
    P95Duration,
    P99Duration,
    ColdBootCount,
    P50ColdBootDuration,
    P75ColdBootDuration,
    P90ColdBootDuration,
    TotalBillableDuration,
}

impl Metric {
    /// Every metric, in REFERENCE's order.
    pub const ALL: [Metric; 24] = [
        Self::RequestCount,
        Self::SuccessCount,
        Self::UserErrorCount,
        Self::ErrorCount,
        Self::StartupErrorCount,
        Self::ConnectionErrorCount,
        Self::TimeoutErrorCount,
        Self::RuntimeErrorCount,
        Self::P50PrepareDuration,
        Self::P75PrepareDuration,
        Self::P90PrepareDuration,
        Self::P95PrepareDuration,
        Self::P99PrepareDuration,
        Self::P25Duration,
        Self::P50Duration,
        Self::P75Duration,
        Self::P90Duration,
        Self::P95Duration,
        Self::P99Duration,
        Self::ColdBootCount,
        Self::P50ColdBootDuration,
        Self::P75ColdBootDuration,
        Self::P90ColdBootDuration,
        Self::TotalBillableDuration,
    ];

    /// fal's name, as in `expand` and as the record key.
    pub fn name(self) -> &'static str {
        match self {
            Self::RequestCount => "request_count",
            Self::SuccessCount => "success_count",
            Self::UserErrorCount => "user_error_count",
            Self::ErrorCount => "error_count",
            Self::StartupErrorCount => "startup_error_count",
            Self::ConnectionErrorCount => "connection_error_count",
            Self::TimeoutErrorCount => "timeout_error_count",
            Self::RuntimeErrorCount => "runtime_error_count",
            Self::P50PrepareDuration => "p50_prepare_duration",
            Self::P75PrepareDuration => "p75_prepare_duration",
            Self::P90PrepareDuration => "p90_prepare_duration",
            Self::P95PrepareDuration => "p95_prepare_duration",
            Self::P99PrepareDuration => "p99_prepare_duration",
            Self::P25Duration => "p25_duration",
            Self::P50Duration => "p50_duration",
            Self::P75Duration => "p75_duration",
            Self::P90Duration => "p90_duration",
            Self::P95Duration => "p95_duration",
            Self::P99Duration => "p99_duration",
            Self::ColdBootCount => "cold_boot_count",
            Self::P50ColdBootDuration => "p50_cold_boot_duration",
            Self::P75ColdBootDuration => "p75_cold_boot_duration",
            Self::P90ColdBootDuration => "p90_cold_boot_duration",
            Self::TotalBillableDuration => "total_billable_duration",
        }
    }

    /// The metric called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }
}

impl Serialize for Metric {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// §5.1: a log line (a history item, and the `data` of a stream event);
/// `additionalProperties: false`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogEntry {
    /// ISO 8601.
    pub timestamp: String,
    /// The line's level.
    pub level: LogLevel,
    /// The message.
    pub message: String,
    /// The bare app name (`my-app`), not `owner/name`.
    pub app: String,
    /// Revision id.
    pub revision: String,
    /// String → string labels; optional.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
}

/// §5.0: log levels. fal gives no enum; the order `debug < info < warning < error < critical`
/// is REFERENCE's guess, and `level` filters by minimum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    /// `debug`.
    Debug,
    /// `info`.
    Info,
    /// `warning`.
    Warning,
    /// `error`.
    Error,
    /// `critical`.
    Critical,
}

/// §5.0: one element of the log operations' body (`additionalProperties: false`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelFilter {
    /// Label name, e.g. `fal_job_id`.
    pub key: String,
    /// A string or an array of strings.
    pub value: LabelValue,
    /// Optional; defaults to `equals` for a string and `in` for an array.
    #[serde(default)]
    pub condition_type: Option<LabelCondition>,
}

/// §5.0: a label filter's `value`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum LabelValue {
    /// A string.
    One(String),
    /// An array of strings.
    Many(Vec<String>),
}

/// §5.0: `condition_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelCondition {
    /// `equals`.
    Equals,
    /// `in`.
    In,
    /// `not_equals`.
    NotEquals,
    /// `not_in`.
    NotIn,
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
    fn metric_names_round_trip_and_serialise_as_record_keys() {
        for m in Metric::ALL {
            assert_eq!(Metric::from_name(m.name()), Some(m));
        }
        let names: std::collections::BTreeSet<_> = Metric::ALL.map(Metric::name).into();
        assert_eq!(names.len(), 24);
        let r = AnalyticsRecord {
            endpoint_id: "o/a".into(),
            metrics: BTreeMap::from([
                (Metric::RequestCount, MetricValue::Count(3)),
                (Metric::P50Duration, MetricValue::Seconds(2.5)),
            ]),
        };
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            json!({"endpoint_id": "o/a", "request_count": 3, "p50_duration": 2.5})
        );
    }

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
        assert_eq!(
            serde_json::to_value(LogLevel::Warning).unwrap(),
            json!("warning")
        );
    }

    #[test]
    fn request_bodies_refuse_unknown_fields() {
        let f: Vec<LabelFilter> =
            serde_json::from_str(r#"[{"key":"fal_job_id","value":"job_123"}]"#).unwrap();
        assert_eq!(f[0].value, LabelValue::One("job_123".into()));
        assert!(serde_json::from_str::<Vec<LabelFilter>>(
            r#"[{"key":"k","value":["a"],"condition_type":"not_in","x":1}]"#
        )
        .is_err());
        assert!(serde_json::from_str::<UploadSource>(r#"{"url":"u","mode":"x"}"#).is_err());
    }
}
