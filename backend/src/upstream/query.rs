//! Typed parameters of fal's operations, serialised the way fal documents: multi-valued
//! parameters in the repeated form, times in RFC 3339, `bound_to_timeframe` as a string.

use chrono::{DateTime, SecondsFormat, Utc};

/// Query pairs ready for `reqwest::RequestBuilder::query`.
pub type Pairs = Vec<(&'static str, String)>;

fn time(pairs: &mut Pairs, key: &'static str, t: Option<DateTime<Utc>>) {
    if let Some(t) = t {
        pairs.push((key, t.to_rfc3339_opts(SecondsFormat::Millis, true)));
    }
}

fn opt(pairs: &mut Pairs, key: &'static str, v: Option<impl ToString>) {
    if let Some(v) = v {
        pairs.push((key, v.to_string()));
    }
}

fn many(pairs: &mut Pairs, key: &'static str, values: &[String]) {
    pairs.extend(values.iter().map(|v| (key, v.clone())));
}

/// Bucket size of aggregate operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timeframe {
    /// One minute.
    Minute,
    /// One hour.
    Hour,
    /// One day.
    Day,
    /// One week.
    Week,
    /// One month.
    Month,
}

impl Timeframe {
    /// fal's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Minute => "minute",
            Self::Hour => "hour",
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
        }
    }
}

/// Time window and bucketing shared by analytics and usage.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Window {
    /// Inclusive start (fal default: end − 24 h).
    pub start: Option<DateTime<Utc>>,
    /// Exclusive end (fal default: now).
    pub end: Option<DateTime<Utc>>,
    /// IANA zone for bucketing (fal default UTC).
    pub timezone: Option<String>,
    /// Bucket size (fal default: auto from the span).
    pub timeframe: Option<Timeframe>,
    /// Align to bucket boundaries (fal default true).
    pub bound_to_timeframe: Option<bool>,
}

impl Window {
    fn push(&self, pairs: &mut Pairs) {
        time(pairs, "start", self.start);
        time(pairs, "end", self.end);
        opt(pairs, "timezone", self.timezone.as_deref());
        opt(pairs, "timeframe", self.timeframe.map(Timeframe::as_str));
        opt(pairs, "bound_to_timeframe", self.bound_to_timeframe);
    }
}

/// Which analytics operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnalyticsKind {
    /// `/v1/serverless/analytics`: your endpoints, everyone's traffic.
    Serverless,
    /// `/v1/models/analytics`: model endpoints, your traffic.
    Models,
}

/// Parameters of the analytics operations.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AnalyticsQuery {
    /// 1–50 endpoint ids.
    pub endpoint_ids: Vec<String>,
    /// Metric names to include.
    pub metrics: Vec<String>,
    /// Include the time series.
    pub time_series: bool,
    /// Include the whole-range summary.
    pub summary: bool,
    /// Window and bucketing.
    pub window: Window,
    /// Buckets per page.
    pub limit: Option<u32>,
    /// Page cursor.
    pub cursor: Option<String>,
}

impl AnalyticsQuery {
    /// The query pairs.
    pub fn pairs(&self) -> Pairs {
        let mut p = Pairs::new();
        many(&mut p, "endpoint_id", &self.endpoint_ids);
        let mut expand = self.metrics.clone();
        if self.time_series {
            expand.push("time_series".into());
        }
        if self.summary {
            expand.push("summary".into());
        }
        many(&mut p, "expand", &expand);
        self.window.push(&mut p);
        opt(&mut p, "limit", self.limit);
        opt(&mut p, "cursor", self.cursor.as_deref());
        p
    }
}

/// `status` filter of requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// 2xx.
    Success,
    /// 5xx.
    Error,
    /// 4xx.
    UserError,
}

/// `sort_by` of requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestSort {
    /// Newest end first.
    EndedAt,
    /// Longest first.
    Duration,
}

/// Parameters of `requests/by-endpoint`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestsQuery {
    /// 1–50 endpoint ids.
    pub endpoint_ids: Vec<String>,
    /// 1–100 (fal default 50).
    pub limit: Option<u32>,
    /// Page cursor.
    pub cursor: Option<String>,
    /// Inclusive start.
    pub start: Option<DateTime<Utc>>,
    /// Exclusive end.
    pub end: Option<DateTime<Utc>>,
    /// Outcome filter.
    pub status: Option<RequestStatus>,
    /// One request.
    pub request_id: Option<String>,
    /// Include `json_input` / `json_output`.
    pub payloads: bool,
    /// Include `billable_units`.
    pub billing: bool,
    /// Sort order.
    pub sort_by: Option<RequestSort>,
}

impl RequestsQuery {
    /// The query pairs.
    pub fn pairs(&self) -> Pairs {
        let mut p = Pairs::new();
        many(&mut p, "endpoint_id", &self.endpoint_ids);
        opt(&mut p, "limit", self.limit);
        opt(&mut p, "cursor", self.cursor.as_deref());
        time(&mut p, "start", self.start);
        time(&mut p, "end", self.end);
        opt(
            &mut p,
            "status",
            self.status.map(|s| match s {
                RequestStatus::Success => "success",
                RequestStatus::Error => "error",
                RequestStatus::UserError => "user_error",
            }),
        );
        opt(&mut p, "request_id", self.request_id.as_deref());
        if self.payloads {
            p.push(("expand", "payloads".into()));
        }
        if self.billing {
            p.push(("expand", "billing".into()));
        }
        opt(
            &mut p,
            "sort_by",
            self.sort_by.map(|s| match s {
                RequestSort::EndedAt => "ended_at",
                RequestSort::Duration => "duration",
            }),
        );
        p
    }
}

/// Parameters of `usage`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UsageQuery {
    /// Exact app names (0–50; none = all).
    pub apps: Vec<String>,
    /// Case-insensitive substring of the app name.
    pub search: Option<String>,
    /// Window and bucketing.
    pub window: Window,
    /// Include the time series.
    pub time_series: bool,
    /// Include the summary.
    pub summary: bool,
    /// Items per page.
    pub limit: Option<u32>,
    /// Page cursor.
    pub cursor: Option<String>,
}

impl UsageQuery {
    /// The query pairs.
    pub fn pairs(&self) -> Pairs {
        let mut p = Pairs::new();
        many(&mut p, "app", &self.apps);
        opt(&mut p, "search", self.search.as_deref());
        self.window.push(&mut p);
        if self.time_series {
            p.push(("expand", "time_series".into()));
        }
        if self.summary {
            p.push(("expand", "summary".into()));
        }
        opt(&mut p, "limit", self.limit);
        opt(&mut p, "cursor", self.cursor.as_deref());
        p
    }
}

/// Parameters of `logs/history` and `logs/stream` (limit and cursor: history only).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogsQuery {
    /// Inclusive start (the stream replays from here).
    pub start: Option<DateTime<Utc>>,
    /// Exclusive end.
    pub end: Option<DateTime<Utc>>,
    /// `<owner>/<name>` app ids.
    pub app_ids: Vec<String>,
    /// Revision.
    pub revision: Option<String>,
    /// `grpc-run`, `grpc-register`, `gateway` or `cron`.
    pub run_source: Option<String>,
    /// Include tracebacks.
    pub traceback: bool,
    /// Free-text search.
    pub search: Option<String>,
    /// Minimum level.
    pub level: Option<String>,
    /// Job id.
    pub job_id: Option<String>,
    /// Request id.
    pub request_id: Option<String>,
    /// 1–1000 (history).
    pub limit: Option<u32>,
    /// Timestamp cursor (history).
    pub cursor: Option<String>,
}

impl LogsQuery {
    /// The query pairs.
    pub fn pairs(&self) -> Pairs {
        let mut p = Pairs::new();
        time(&mut p, "start", self.start);
        time(&mut p, "end", self.end);
        many(&mut p, "app_id", &self.app_ids);
        opt(&mut p, "revision", self.revision.as_deref());
        opt(&mut p, "run_source", self.run_source.as_deref());
        if self.traceback {
            p.push(("traceback", "true".into()));
        }
        opt(&mut p, "search", self.search.as_deref());
        opt(&mut p, "level", self.level.as_deref());
        opt(&mut p, "job_id", self.job_id.as_deref());
        opt(&mut p, "request_id", self.request_id.as_deref());
        opt(&mut p, "limit", self.limit);
        opt(&mut p, "cursor", self.cursor.as_deref());
        p
    }
}
