//! The dashboard's queries, one struct per view: the browser builds its URLs from them
//! (`frontend::api`), the backend parses its query strings into them (`backend::api::query`),
//! and the reports compute from them. Unknown parameters are refused (`deny_unknown_fields`),
//! every value is checked where it is parsed, and [`Checked::check`] holds the rules that
//! span fields, so a page cannot build a query the backend does not understand, and the CSV
//! link of a view is built from the very query its chart used.
//!
//! On the wire every field is one query parameter; lists are comma-separated.

use crate::analytics::Timeframe;
use crate::logs::LogLevel;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A query the backend refused: the parameter and what to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    /// The parameter.
    pub param: &'static str,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl QueryError {
    fn new(param: &'static str, message: impl Into<String>) -> Self {
        Self {
            param,
            message: message.into(),
        }
    }
}

/// Rules of a query that span fields (beyond each value's own parsing).
pub trait Checked {
    /// Parameters that take a list: given twice in a URL, their values add up; any other
    /// parameter given twice is refused.
    const LISTS: &'static [&'static str] = &[];

    /// `Ok` when the query can be answered as it is.
    fn check(&self) -> Result<(), QueryError> {
        Ok(())
    }
}

/// Longest time range any view may ask for.
pub const MAX_RANGE: Duration = Duration::days(400);

/// A point in time as the time picker writes it: ISO 8601 (`2026-11-23T10:00:00Z`), a date, or
/// relative to now (`now`, `now-6h`, `now/d`, see [`crate::time`]). It is resolved against the
/// server's clock when the view is computed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TimeExpr(String);

impl TimeExpr {
    /// `expr` if it is a time expression.
    pub fn parse(expr: &str) -> Result<Self, crate::time::TimeError> {
        crate::time::parse(expr, DateTime::<Utc>::UNIX_EPOCH)?;
        Ok(Self(expr.trim().to_owned()))
    }

    /// An absolute instant (to the second).
    pub fn at(t: DateTime<Utc>) -> Self {
        Self(t.to_rfc3339_opts(SecondsFormat::Secs, true))
    }

    /// The expression as the browser wrote it, unchecked: the backend checks it when it parses
    /// the query (a bad one is a 400 naming the parameter).
    pub fn unchecked(expr: impl Into<String>) -> Self {
        Self(expr.into())
    }

    /// The instant it names at `now`.
    pub fn resolve(&self, now: DateTime<Utc>) -> Result<DateTime<Utc>, crate::time::TimeError> {
        crate::time::parse(&self.0, now)
    }

    /// Whether it moves with the clock (`now…`).
    pub fn is_relative(&self) -> bool {
        self.0.starts_with("now")
    }

    /// The expression.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Serialize for TimeExpr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for TimeExpr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(|e| de::Error::custom(e.0))
    }
}

/// The `from`/`to` of a view resolved at `now`: `to` defaults to now, `from` to `default`
/// before `to`; `from` must be before `to`, the span at most [`MAX_RANGE`], and `to` not in
/// the future.
pub fn resolve_range(
    from: Option<&TimeExpr>,
    to: Option<&TimeExpr>,
    now: DateTime<Utc>,
    default: Duration,
) -> Result<(DateTime<Utc>, DateTime<Utc>), QueryError> {
    let to = match to {
        Some(t) => t.resolve(now).map_err(|e| QueryError::new("to", e.0))?,
        None => now,
    };
    let from = match from {
        Some(f) => f.resolve(now).map_err(|e| QueryError::new("from", e.0))?,
        None => to - default,
    };
    if from >= to {
        return Err(QueryError::new("from", "must be before `to`"));
    }
    if to - from > MAX_RANGE {
        return Err(QueryError::new(
            "from",
            format!("the range may span at most {} days", MAX_RANGE.num_days()),
        ));
    }
    if to > now + Duration::minutes(5) {
        return Err(QueryError::new("to", "must not be in the future"));
    }
    Ok((from, to))
}

/// Up to `MAX` distinct values, comma-separated on the wire (a parameter repeated in the URL
/// adds to the list).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct List<const MAX: usize>(Vec<String>);

impl<const MAX: usize> List<MAX> {
    /// The values of a comma-separated list, trimmed, without blanks and repeats; `Err` when
    /// there are more than `MAX`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut out: Vec<String> = Vec::new();
        for v in s.split(',').map(str::trim).filter(|v| !v.is_empty()) {
            if !out.iter().any(|o| o == v) {
                if out.len() == MAX {
                    // Stop before the work grows with a hostile list.
                    return Err(format!("at most {MAX} values"));
                }
                out.push(v.to_owned());
            }
        }
        Ok(Self(out))
    }

    /// A list of `values` (the first `MAX` distinct ones).
    pub fn of<S: AsRef<str>>(values: &[S]) -> Self {
        let mut out: Vec<String> = Vec::new();
        for v in values.iter().map(AsRef::as_ref) {
            if out.len() < MAX && !v.is_empty() && !out.iter().any(|o| o == v) {
                out.push(v.to_owned());
            }
        }
        Self(out)
    }

    /// The values.
    pub fn values(&self) -> &[String] {
        &self.0
    }

    /// No values.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The values, comma-separated.
    pub fn joined(&self) -> String {
        self.0.join(",")
    }

    fn required(&self, param: &'static str) -> Result<(), QueryError> {
        if self.is_empty() {
            return Err(QueryError::new(
                param,
                format!("required: 1 to {MAX} values, comma-separated"),
            ));
        }
        Ok(())
    }
}

impl<const MAX: usize> Serialize for List<MAX> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.joined())
    }
}

impl<'de, const MAX: usize> Deserialize<'de> for List<MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(de::Error::custom)
    }
}

/// A page size: an integer from `MIN` to `MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limit<const MIN: u32, const MAX: u32>(u32);

impl<const MIN: u32, const MAX: u32> Limit<MIN, MAX> {
    /// `n` if it is in range.
    pub fn new(n: u32) -> Option<Self> {
        (MIN..=MAX).contains(&n).then_some(Self(n))
    }

    /// The number.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl<const MIN: u32, const MAX: u32> Serialize for Limit<MIN, MAX> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.0)
    }
}

impl<'de, const MIN: u32, const MAX: u32> Deserialize<'de> for Limit<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<const MIN: u32, const MAX: u32>;
        impl<const MIN: u32, const MAX: u32> Visitor<'_> for V<MIN, MAX> {
            type Value = Limit<MIN, MAX>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "an integer from {MIN} to {MAX}")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
                u32::try_from(n)
                    .ok()
                    .and_then(Limit::new)
                    .ok_or_else(|| E::custom(format!("must be an integer from {MIN} to {MAX}")))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
                self.visit_u64(u64::try_from(n).unwrap_or(u64::MAX))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                self.visit_u64(s.trim().parse().unwrap_or(u64::MAX))
            }
        }
        d.deserialize_any(V::<MIN, MAX>)
    }
}

fn level<'de, D: Deserializer<'de>>(d: D) -> Result<Option<LogLevel>, D::Error> {
    let s = String::deserialize(d)?;
    LogLevel::parse(&s)
        .map(Some)
        .ok_or_else(|| de::Error::custom("must be one of: debug, info, warning, error, critical"))
}

/// `GET /api/ws/{ws}/analytics` and `analytics.csv`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalyticsQuery {
    /// 1–50 endpoint ids.
    #[serde(default, skip_serializing_if = "List::is_empty")]
    pub endpoints: List<50>,
    /// Start (default: 24 hours before `to`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<TimeExpr>,
    /// End (default: now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<TimeExpr>,
    /// Bucket size (default: chosen from the range, as fal does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeframe: Option<Timeframe>,
    /// IANA zone the buckets are aligned to (default UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tz: Option<String>,
}

impl Checked for AnalyticsQuery {
    const LISTS: &'static [&'static str] = &["endpoints"];

    fn check(&self) -> Result<(), QueryError> {
        self.endpoints.required("endpoints")
    }
}

/// `GET /api/ws/{ws}/models/report`: the watched model endpoints' analytics over a range (their
/// SLAs are judged over their own periods, ending now).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelsQuery {
    /// Start (default: 24 hours before `to`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<TimeExpr>,
    /// End (default: now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<TimeExpr>,
    /// Bucket size (default: chosen from the range, as fal does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeframe: Option<Timeframe>,
    /// IANA zone the buckets are aligned to (default UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tz: Option<String>,
}

impl Checked for ModelsQuery {}

/// `DELETE /api/ws/{ws}/models?endpoint=…`: stop watching one model endpoint.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEndpointQuery {
    /// The endpoint id (`fal-ai/flux/dev`).
    pub endpoint: String,
}

impl Checked for ModelEndpointQuery {}

/// `GET /api/ws/{ws}/usage` and `usage.csv` (ADMIN key).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    /// Start (default: 7 days before `to`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<TimeExpr>,
    /// End (default: now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<TimeExpr>,
    /// Exact app names (default: every app).
    #[serde(default, skip_serializing_if = "List::is_empty")]
    pub apps: List<50>,
    /// Substring of app names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<String>,
    /// Bucket size of the series.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeframe: Option<Timeframe>,
    /// IANA zone of the buckets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tz: Option<String>,
}

impl Checked for UsageQuery {
    const LISTS: &'static [&'static str] = &["apps"];
}

/// Outcome filter of the requests view.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestOutcome {
    /// 2xx.
    Success,
    /// 4xx.
    UserError,
    /// 5xx.
    Error,
}

/// Order of the requests view.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestOrder {
    /// Latest first.
    EndedAt,
    /// Slowest first.
    Duration,
}

/// `GET /api/ws/{ws}/requests` and `requests.csv`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestsQuery {
    /// 1–50 endpoint ids.
    #[serde(default, skip_serializing_if = "List::is_empty")]
    pub endpoints: List<50>,
    /// Start (default: 24 hours before `to`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<TimeExpr>,
    /// End (default: now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<TimeExpr>,
    /// Only requests with this outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<RequestOutcome>,
    /// Order (default: fal's, latest first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<RequestOrder>,
    /// Page size, 1–100 (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<Limit<1, 100>>,
    /// The `next_cursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

impl Checked for RequestsQuery {
    const LISTS: &'static [&'static str] = &["endpoints"];

    fn check(&self) -> Result<(), QueryError> {
        self.endpoints.required("endpoints")
    }
}

/// `GET /api/ws/{ws}/logs` and `logs.csv`; the live tail takes its [`LogsQuery::filter`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogsQuery {
    /// Start (default: an hour before `to`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<TimeExpr>,
    /// End (default: now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<TimeExpr>,
    /// App ids (`owner/name`).
    #[serde(default, skip_serializing_if = "List::is_empty")]
    pub apps: List<50>,
    /// Minimum level.
    #[serde(
        default,
        deserialize_with = "level",
        skip_serializing_if = "Option::is_none"
    )]
    pub level: Option<LogLevel>,
    /// Text the message contains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<String>,
    /// Only this request's lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Label conditions, `key=value` or `key!=value`.
    #[serde(default, skip_serializing_if = "List::is_empty")]
    pub label: List<20>,
    /// Page size, 1–1000 (default 200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<Limit<1, 1000>>,
    /// The `next_cursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

impl LogsQuery {
    /// Its filter, as the live tail takes it.
    pub fn filter(&self) -> LogFilter {
        LogFilter {
            apps: self.apps.clone(),
            level: self.level,
            search: self.search.clone(),
            request_id: self.request_id.clone(),
            label: self.label.clone(),
        }
    }
}

impl Checked for LogsQuery {
    const LISTS: &'static [&'static str] = &["apps", "label"];

    fn check(&self) -> Result<(), QueryError> {
        self.filter().check()
    }
}

/// Which log lines: shared by the history and the live tail (`GET /api/ws/{ws}/logs/stream`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogFilter {
    /// App ids (`owner/name`).
    #[serde(default, skip_serializing_if = "List::is_empty")]
    pub apps: List<50>,
    /// Minimum level.
    #[serde(
        default,
        deserialize_with = "level",
        skip_serializing_if = "Option::is_none"
    )]
    pub level: Option<LogLevel>,
    /// Text the message contains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<String>,
    /// Only this request's lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Label conditions, `key=value` or `key!=value`.
    #[serde(default, skip_serializing_if = "List::is_empty")]
    pub label: List<20>,
}

impl LogFilter {
    /// The label conditions as `(key, value, equals)`.
    pub fn labels(&self) -> Result<Vec<(String, String, bool)>, QueryError> {
        self.label
            .values()
            .iter()
            .map(|spec| {
                let (k, v, equals) = match spec.split_once("!=") {
                    Some((k, v)) => (k, v, false),
                    None => match spec.split_once('=') {
                        Some((k, v)) => (k, v, true),
                        None => {
                            return Err(QueryError::new("label", "use key=value or key!=value"))
                        }
                    },
                };
                Ok((k.trim().to_owned(), v.trim().to_owned(), equals))
            })
            .collect()
    }
}

impl Checked for LogFilter {
    const LISTS: &'static [&'static str] = &["apps", "label"];

    fn check(&self) -> Result<(), QueryError> {
        self.labels().map(drop)
    }
}

/// A whole-hour range: `GET /api/ws/{ws}/cost` (default: the last 7 days) and `/split` (the
/// last 24 hours). Both ends are aligned down to whole hours.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoursQuery {
    /// Start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<TimeExpr>,
    /// End (default: now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<TimeExpr>,
}

impl Checked for HoursQuery {}

/// A query without parameters (`/forecast`, `/alerts`, `/budgets`, `/prices`): any parameter
/// is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoQuery {}

impl Checked for NoQuery {}

/// `GET /api/ws/{ws}/files`: one directory (default: the root).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesQuery {
    /// The directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<String>,
}

impl Checked for FilesQuery {}

/// `GET /api/ws/{ws}/files/content` and `POST …/files/upload`: one file.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileQuery {
    /// The file's path.
    #[serde(default)]
    pub path: String,
}

impl Checked for FileQuery {}

/// `GET /api/audit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Entries, 1–1000 (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<Limit<1, 1000>>,
}

impl Checked for AuditQuery {}

/// `GET /api/ws/{ws}/live/history` (default: the last 6 hours).
pub type LiveHistoryQuery = HoursQuery;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_split_dedupe_and_cap() {
        let l = List::<3>::parse(" a, b,,a ,c").unwrap();
        assert_eq!(l.values(), ["a", "b", "c"]);
        assert!(List::<2>::parse("a,b,c").unwrap_err().contains("at most 2"));
        assert!(
            List::<2>::parse("a,a,b,b,a").is_ok(),
            "repeats do not count"
        );
        assert_eq!(List::<2>::of(&["x", "x", "y", "z"]).joined(), "x,y");
    }

    #[test]
    fn ranges_are_checked_in_one_place() {
        let now = DateTime::parse_from_rfc3339("2026-11-18T15:42:10Z")
            .unwrap()
            .with_timezone(&Utc);
        let t = |s: &str| TimeExpr::parse(s).unwrap();
        let (from, to) = resolve_range(Some(&t("now-2h")), None, now, Duration::hours(24)).unwrap();
        assert_eq!(to - from, Duration::hours(2));
        let err = resolve_range(Some(&t("now")), Some(&t("now-1h")), now, Duration::hours(1));
        assert_eq!(err.unwrap_err().param, "from");
        let err = resolve_range(Some(&t("now-500d")), None, now, Duration::hours(1));
        assert!(err.unwrap_err().message.contains("400 days"));
        let err = resolve_range(None, Some(&t("now+1h")), now, Duration::hours(1));
        assert_eq!(err.unwrap_err().param, "to");
        assert!(TimeExpr::parse("yesterday").is_err());
        assert_eq!(TimeExpr::at(now).as_str(), "2026-11-18T15:42:10Z");
    }

    #[test]
    fn limits_take_numbers_and_strings_in_range() {
        let l: Limit<1, 100> = serde_json::from_str("\"50\"").unwrap();
        assert_eq!(l.get(), 50);
        let err = serde_json::from_str::<Limit<1, 100>>("500").unwrap_err();
        assert!(err.to_string().contains("1 to 100"));
    }
}
