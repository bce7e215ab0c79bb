//! fal's wire shapes as the client reads them (REFERENCE.md). The browser never
//! sees these: `api` handlers convert them into `shared` DTOs.

use serde::{Deserialize, Serialize};

/// fal's error body: `{"error":{"type","message",...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error object.
    pub error: ErrorDetail,
}

/// Inside fal's error body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// `authorization_error`, `validation_error`, `not_found`, `rate_limited`, `server_error`,
    /// `not_implemented`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Human-readable message; clients must not match on it.
    pub message: String,
    /// Link to fal's docs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs_url: Option<String>,
    /// fal's id of the failed call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// `GET /v1/serverless/apps` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppList {
    /// The account's apps.
    pub apps: Vec<App>,
}

/// One deployed application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct App {
    /// `<owner>/<name>`.
    pub endpoint_id: String,
    /// App name.
    pub name: String,
    /// Owner username.
    pub owner: String,
    /// Environment, e.g. `main`.
    pub environment: String,
    /// Machine type, e.g. `GPU-H100`.
    pub machine_type: String,
    /// `private`, `public` or `shared`.
    pub auth_mode: String,
    /// Seconds an idle runner is kept warm.
    pub keep_alive: f64,
    /// Runners kept even without traffic.
    pub min_concurrency: f64,
    /// Upper bound of runners.
    pub max_concurrency: f64,
    /// Seconds before a request times out.
    pub request_timeout: f64,
    /// Seconds a runner may take to start.
    pub startup_timeout: f64,
    /// Regions, e.g. `["us"]`.
    pub valid_regions: Vec<String>,
    /// Last deployment time (ISO 8601).
    pub updated_at: String,
    /// Route-level endpoint ids, only with `expand=endpoints`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<Vec<String>>,
}

/// A page of a paginated list (`requests/by-endpoint`, `logs/history`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The page's items.
    pub items: Vec<T>,
    /// Cursor of the next page; `null` on the last one.
    pub next_cursor: Option<String>,
    /// `next_cursor != null`.
    pub has_more: bool,
}

/// One row of `GET /v1/serverless/requests/by-endpoint`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestItem {
    /// Request id (uuid).
    pub request_id: String,
    /// Route-level endpoint id it was recorded under.
    pub endpoint_id: String,
    /// Runner that served it; `null` when none was assigned. The key is always present.
    pub runner_id: Option<String>,
    /// Processing start.
    pub started_at: String,
    /// When it was sent to the backend.
    pub sent_at: String,
    /// End; `null` while unfinished.
    #[serde(default)]
    pub ended_at: Option<String>,
    /// HTTP status; `null` while unfinished.
    #[serde(default)]
    pub status_code: Option<u16>,
    /// Total seconds; `null` while unfinished.
    #[serde(default)]
    pub duration: Option<f64>,
    /// Input payload (`expand=payloads`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_input: Option<serde_json::Value>,
    /// Output payload (`expand=payloads`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_output: Option<serde_json::Value>,
    /// Billed units (`expand=billing`); `Some(None)` is fal's `null`: billing not recorded yet.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    pub billable_units: Option<Option<f64>>,
}

/// Distinguishes an absent key (`None`) from `null` (`Some(None)`).
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Option<f64>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<f64>>, D::Error> {
        Option::<f64>::deserialize(d).map(Some)
    }
}

/// `analytics` / `usage` answer: time series and/or summary, page-number paginated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Aggregates<R> {
    /// Buckets, when `expand` asked for `time_series`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_series: Option<Vec<Bucket<R>>>,
    /// Whole-range records, when `expand` asked for `summary`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<Vec<R>>,
    /// Next page cursor.
    pub next_cursor: Option<String>,
    /// `next_cursor != null`.
    pub has_more: bool,
}

/// One time bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bucket<R> {
    /// Bucket start, ISO 8601 with the requested timezone's offset.
    pub bucket: String,
    /// Records in the bucket.
    pub results: Vec<R>,
}

/// An analytics record: the endpoint plus only the requested metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalyticsRecord {
    /// Route-level endpoint id.
    pub endpoint_id: String,
    /// Requested metrics by name (integers for counts, seconds for durations).
    #[serde(flatten)]
    pub metrics: std::collections::BTreeMap<String, serde_json::Value>,
}

/// A usage row. fal's schema has all 13 keys; older answers (and fal's prose examples) carry
/// only `cost`, which §0.1 says is deprecated: read `cost_total`, and `cost` when it is absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawUsageRow")]
pub struct UsageRow {
    /// Deployed app name without owner.
    pub app: Option<String>,
    /// Environment, when any.
    pub environment: Option<String>,
    /// Machine type, e.g. `GPU-H100`.
    pub machine_type: String,
    /// Always `second`.
    pub unit: String,
    /// Machine-seconds.
    pub quantity: f64,
    /// Price per unit before percentage discounts.
    pub unit_price: f64,
    /// Percentage discount, when any.
    pub percent_discount: Option<f64>,
    /// quantity × unit_price.
    pub cost_subtotal: f64,
    /// subtotal − total.
    pub cost_discount: f64,
    /// subtotal − discount.
    pub cost_total: f64,
    /// Deprecated; equals `cost_total`.
    pub cost: f64,
    /// ISO 4217.
    pub currency: String,
    /// Surge pricing row.
    pub is_surge: bool,
}

/// A usage row as it may come: the cost breakdown optional (see [`UsageRow`]).
#[derive(Deserialize)]
struct RawUsageRow {
    app: Option<String>,
    #[serde(default)]
    environment: Option<String>,
    machine_type: String,
    unit: String,
    quantity: f64,
    unit_price: f64,
    #[serde(default)]
    percent_discount: Option<f64>,
    #[serde(default)]
    cost_subtotal: Option<f64>,
    #[serde(default)]
    cost_discount: Option<f64>,
    #[serde(default)]
    cost_total: Option<f64>,
    #[serde(default)]
    cost: Option<f64>,
    currency: String,
    is_surge: bool,
}

impl TryFrom<RawUsageRow> for UsageRow {
    type Error = &'static str;

    fn try_from(r: RawUsageRow) -> Result<Self, Self::Error> {
        let total = r
            .cost_total
            .or(r.cost)
            .ok_or("a usage row with neither cost_total nor cost")?;
        let subtotal = r.cost_subtotal.unwrap_or(total);
        Ok(Self {
            app: r.app,
            environment: r.environment,
            machine_type: r.machine_type,
            unit: r.unit,
            quantity: r.quantity,
            unit_price: r.unit_price,
            percent_discount: r.percent_discount,
            cost_subtotal: subtotal,
            cost_discount: r.cost_discount.unwrap_or((subtotal - total).max(0.0)),
            cost_total: total,
            cost: r.cost.unwrap_or(total),
            currency: r.currency,
            is_surge: r.is_surge,
        })
    }
}

/// A log line (`logs/history` item and `logs/stream` event data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    /// ISO 8601 timestamp, millisecond precision.
    pub timestamp: String,
    /// Level name, e.g. `info`.
    pub level: String,
    /// The message.
    pub message: String,
    /// Bare app name.
    pub app: String,
    /// Revision id.
    pub revision: String,
    /// Labels such as `fal_request_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<std::collections::BTreeMap<String, String>>,
}

/// A label filter in the body of the log operations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelFilter {
    /// Label name.
    pub key: String,
    /// One value or several.
    pub value: LabelValue,
    /// `equals`, `in`, `not_equals`, `not_in`; default by value shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition_type: Option<LabelCondition>,
}

/// A label filter value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LabelValue {
    /// One value.
    One(String),
    /// Several values.
    Many(Vec<String>),
}

/// How a label filter compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelCondition {
    /// Equal to the value.
    Equals,
    /// One of the values.
    In,
    /// Not equal.
    NotEquals,
    /// None of the values.
    NotIn,
}

/// A file or folder in `/data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Full path, no leading `/`.
    pub path: String,
    /// Base name.
    pub name: String,
    /// Creation time (UTC ISO 8601).
    pub created_time: String,
    /// Last update (UTC ISO 8601).
    pub updated_time: String,
    /// False for folders.
    pub is_file: bool,
    /// Bytes; 0 for folders. fal types it `number`: `1250023.0` is valid.
    #[serde(deserialize_with = "number_as_u64")]
    pub size: u64,
    /// Hex SHA-256, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_sha256: Option<String>,
    /// Hex MD5, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_md5: Option<String>,
}

/// Body of `POST files/file/url/{file}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadUrl {
    /// Source URL fal fetches.
    pub url: String,
}

/// `GET apps/{owner}/{name}/queue` answer (fal may add fields: never `deny_unknown_fields` on
/// an answer).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct QueueSize {
    /// Requests waiting.
    pub queue_size: u64,
}

/// `GET /v1/account/billing` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Billing {
    /// Account name.
    pub username: String,
    /// Credit balance, with `expand=credits`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credits: Option<Credits>,
}

/// Credit balance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Credits {
    /// Balance ≥ 0.
    pub current_balance: f64,
    /// ISO 4217.
    pub currency: String,
}

/// A JSON `number` that must be a whole, non-negative count: `12` and `12.0` are 12; `12.5`,
/// negative or non-finite values are a decode error (never silently 0).
fn number_as_u64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let n = f64::deserialize(d)?;
    if n.is_finite() && n >= 0.0 && n.fract() == 0.0 && n <= u64::MAX as f64 {
        Ok(n as u64)
    } else {
        Err(serde::de::Error::custom(format!(
            "{n} is not a whole number of bytes"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_usage_row_in_the_older_shape_reads_its_cost() {
        let older = r#"{"app":"a","environment":null,"machine_type":"L","unit":"second","quantity":9702.47,"unit_price":0.00125,"cost":12.13,"currency":"USD","is_surge":false}"#;
        let row: UsageRow = serde_json::from_str(older).unwrap();
        assert_eq!(
            (row.cost_total, row.cost_subtotal, row.cost_discount),
            (12.13, 12.13, 0.0)
        );
        let neither = older.replace(r#""cost":12.13,"#, "");
        assert!(serde_json::from_str::<UsageRow>(&neither).is_err());
        // Written and read back (the cache), it stays the same.
        let again: UsageRow = serde_json::from_str(&serde_json::to_string(&row).unwrap()).unwrap();
        assert_eq!(again, row);
    }

    #[test]
    fn answers_decode_as_fal_types_them_and_tolerate_new_fields() {
        let f: FileEntry = serde_json::from_str(
            r#"{"path":"a/b.bin","name":"b.bin","created_time":"2026-11-18T10:00:00Z","updated_time":"2026-11-18T10:00:00Z","is_file":true,"size":1250023.0,"added_later":{"x":1}}"#,
        )
        .unwrap();
        assert_eq!(f.size, 1_250_023);
        assert!(serde_json::from_str::<FileEntry>(
            r#"{"path":"a","name":"a","created_time":"","updated_time":"","is_file":true,"size":12.5}"#
        )
        .is_err());
        let q: QueueSize = serde_json::from_str(r#"{"queue_size":3,"oldest_ms":12}"#).unwrap();
        assert_eq!(q.queue_size, 3);
    }
}
