//! fal wire shapes → the dashboard's `shared` DTOs. The only place that knows both.

use super::models::{AnalyticsRecord, FileEntry, LogEntry, RequestItem, UsageRow};
use chrono::{DateTime, Utc};
use shared::analytics::Percentiles;
use shared::files::FileItem;
use shared::logs::{LogLevel, LogLine};
use shared::requests::{Cost, RequestRow, StatusClass};
use shared::usage::UsageLine;

/// Parses fal's ISO 8601 timestamps (any offset). A timestamp without an offset (or that does
/// not parse) is `None`, logged and counted as a decode error: the caller leaves that row out
/// rather than show it at 1970 or at a guessed zone (REFERENCE §0.1).
pub fn instant(s: &str) -> Option<DateTime<Utc>> {
    match DateTime::parse_from_rfc3339(s) {
        Ok(t) => Some(t.with_timezone(&Utc)),
        Err(e) => {
            tracing::warn!(value = %s, error = %e, "a timestamp from fal has no offset or does not parse: row left out");
            super::DECODE_ERRORS.add("timestamp");
            None
        }
    }
}

fn num(r: &AnalyticsRecord, key: &str) -> Option<f64> {
    r.metrics.get(key).and_then(serde_json::Value::as_f64)
}

/// An integer metric: absent is 0 (fal sends only what was asked for); `12.0` is 12; anything
/// else (a fraction, a string) is logged and counted as a decode error, not silently 0.
fn count(r: &AnalyticsRecord, key: &str) -> u64 {
    let Some(v) = r.metrics.get(key) else {
        return 0;
    };
    if let Some(n) = v.as_u64() {
        return n;
    }
    match v.as_f64() {
        Some(f) if f >= 0.0 && f.fract() == 0.0 => f as u64,
        _ => {
            tracing::warn!(metric = key, endpoint = %r.endpoint_id, value = %v, "an analytics count is not a whole number");
            super::DECODE_ERRORS.add("analytics");
            0
        }
    }
}

/// The analytics metrics falscope asks for.
pub const ANALYTICS_METRICS: [&str; 17] = [
    "request_count",
    "success_count",
    "user_error_count",
    "error_count",
    "startup_error_count",
    "connection_error_count",
    "timeout_error_count",
    "runtime_error_count",
    "cold_boot_count",
    "p50_prepare_duration",
    "p75_prepare_duration",
    "p90_prepare_duration",
    "p50_duration",
    "p75_duration",
    "p90_duration",
    "p50_cold_boot_duration",
    "total_billable_duration",
];

/// What one analytics record counts and measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcomes {
    /// Requests.
    pub requests: u64,
    /// 2xx.
    pub success: u64,
    /// 4xx.
    pub user_errors: u64,
    /// 5xx.
    pub server_errors: u64,
    /// 5xx by failure type.
    pub failures: shared::analytics::Failures,
    /// Queue (prepare) latency.
    pub prepare: Percentiles,
    /// Execution latency.
    pub execution: Percentiles,
}

/// Counts and percentiles of one analytics record.
pub fn outcomes(r: &AnalyticsRecord) -> Outcomes {
    Outcomes {
        requests: count(r, "request_count"),
        success: count(r, "success_count"),
        user_errors: count(r, "user_error_count"),
        server_errors: count(r, "error_count"),
        failures: shared::analytics::Failures {
            startup: count(r, "startup_error_count"),
            connection: count(r, "connection_error_count"),
            timeout: count(r, "timeout_error_count"),
            runtime: count(r, "runtime_error_count"),
        },
        prepare: Percentiles {
            p50: num(r, "p50_prepare_duration"),
            p75: num(r, "p75_prepare_duration"),
            p90: num(r, "p90_prepare_duration"),
        },
        execution: Percentiles {
            p50: num(r, "p50_duration"),
            p75: num(r, "p75_duration"),
            p90: num(r, "p90_duration"),
        },
    }
}

/// Cold starts of a record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColdStarts {
    /// How many.
    pub count: u64,
    /// Their median, seconds.
    pub p50: Option<f64>,
}

/// Cold starts of a record.
pub fn cold_starts(r: &AnalyticsRecord) -> ColdStarts {
    ColdStarts {
        count: count(r, "cold_boot_count"),
        p50: num(r, "p50_cold_boot_duration"),
    }
}

/// Σ billed request durations of a record, seconds.
pub fn billable_seconds(r: &AnalyticsRecord) -> Option<f64> {
    num(r, "total_billable_duration")
}

/// A usage row as a cost line.
/// The app of usage rows fal attributes to none.
pub const UNATTRIBUTED: &str = "(unattributed)";

impl From<&UsageRow> for UsageLine {
    fn from(r: &UsageRow) -> Self {
        Self {
            app: r.app.clone().unwrap_or_else(|| UNATTRIBUTED.into()),
            machine_type: r.machine_type.clone(),
            is_surge: r.is_surge,
            seconds: r.quantity,
            unit_price: r.unit_price,
            discount_percent: r.percent_discount,
            cost: r.cost_total,
            currency: r.currency.clone(),
        }
    }
}

/// The price of one billable unit of an app, as a request's cost is computed with it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UnitPrice {
    /// Per billable unit (machine-second).
    pub price: f64,
    /// Blended from several unit prices (the app's requests were not all billed alike).
    pub blended: bool,
}

/// A request row with its cost from `unit_price` (per billable unit), when known; `None` when
/// one of its times does not parse ([`instant`]).
pub fn request_row(r: &RequestItem, unit_price: Option<UnitPrice>) -> Option<RequestRow> {
    let sent_at = instant(&r.sent_at)?;
    let started_at = instant(&r.started_at)?;
    let ended_at = match r.ended_at.as_deref() {
        Some(t) => Some(instant(t)?),
        None => None,
    };
    let billable_units = r.billable_units.flatten();
    let cost = match (r.billable_units, unit_price) {
        (Some(Some(units)), Some(price)) => Cost::Known {
            amount: units * price.price,
            unit_price: price.price,
            blended: price.blended,
        },
        (Some(None), _) => Cost::Pending,
        _ => Cost::Unknown,
    };
    Some(RequestRow {
        id: r.request_id.clone(),
        endpoint: r.endpoint_id.clone(),
        status_code: r.status_code,
        status: StatusClass::of(r.status_code),
        sent_at,
        started_at,
        ended_at,
        queue_seconds: ((started_at - sent_at).num_milliseconds() as f64 / 1000.0).max(0.0),
        duration_seconds: r.duration,
        runner_id: r.runner_id.clone(),
        billable_units,
        cost,
    })
}

/// A log line; `None` when its timestamp does not parse ([`instant`]).
pub fn log_line(e: LogEntry) -> Option<LogLine> {
    let labels = e.labels.unwrap_or_default();
    Some(LogLine {
        ts: instant(&e.timestamp)?,
        level: LogLevel::parse(&e.level).unwrap_or(LogLevel::Info),
        message: e.message,
        app: e.app,
        revision: e.revision,
        request_id: labels.get("fal_request_id").cloned(),
        labels,
    })
}

/// A file entry; `None` when its time does not parse ([`instant`]).
pub fn file_item(f: FileEntry) -> Option<FileItem> {
    Some(FileItem {
        updated: instant(&f.updated_time)?,
        path: f.path,
        name: f.name,
        is_dir: !f.is_file,
        size: f.size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(sent_at: &str, ended_at: Option<&str>) -> RequestItem {
        serde_json::from_value(serde_json::json!({
            "request_id": "r1",
            "endpoint_id": "acme/app",
            "runner_id": null,
            "started_at": "2026-11-17T15:00:01.000Z",
            "sent_at": sent_at,
            "ended_at": ended_at,
            "status_code": 200,
            "duration": 1.0,
        }))
        .unwrap()
    }

    #[test]
    fn a_time_without_an_offset_leaves_its_row_out_and_is_counted_never_1970() {
        let counted = || crate::upstream::DecodeErrors::counted_here("timestamp");
        assert_eq!(counted(), 0);
        let ok = request_row(&item("2026-11-17T15:00:00.500+01:00", None), None).unwrap();
        assert_eq!(ok.sent_at.to_rfc3339(), "2026-11-17T14:00:00.500+00:00");
        assert!(request_row(&item("2026-11-17T15:00:00.500", None), None).is_none());
        assert!(request_row(
            &item("2026-11-17T15:00:00Z", Some("2026-11-17 15:00:02")),
            None
        )
        .is_none());
        assert!(instant("1700000000").is_none());
        assert_eq!(counted(), 3, "each time that did not decode, by this test");
    }
}
