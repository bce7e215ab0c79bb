//! CSV exports of analytics, usage, requests and log history. Aggregates come from the same
//! cached reports as the JSON views; requests and logs walk fal's pages and stream each page
//! out as it arrives (capped at [`MAX_ROWS`]).

use super::query::Query;
use super::requests::may_see_cost;
use crate::auth::Caller;
use crate::error::AppError;
use crate::reports::{Pages, Reports};
use crate::state::{ExportGuard, Limits};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use shared::analytics::AnalyticsReport;
use shared::logs::LogLine;
use shared::query::{AnalyticsQuery, LogsQuery, RequestsQuery, UsageQuery};
use shared::requests::{Cost, RequestRow};
use shared::usage::UsageReport;
use std::sync::Arc;

/// Most rows a paged export writes.
pub const MAX_ROWS: usize = 100_000;
/// Most fal pages one export reads (requests: 100 rows each; logs: up to 1,000).
pub const MAX_PAGES: usize = 200;

fn opt(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// A cell as a spreadsheet will not run it: values starting with `=`, `+`, `-`, `@`, a tab or
/// a carriage return get a leading `'` (OWASP's CSV-injection rule). Log messages carry end
/// users' input. A plain negative number stays a number.
fn cell(v: String) -> String {
    let risky = v.starts_with(['=', '+', '@', '\t', '\r'])
        || (v.starts_with('-') && v.parse::<f64>().is_err());
    if risky {
        format!("'{v}")
    } else {
        v
    }
}

/// One CSV chunk: the header (when given) and records.
fn chunk(
    header: Option<&[&str]>,
    records: impl IntoIterator<Item = Vec<String>>,
) -> Result<Bytes, std::io::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    if let Some(h) = header {
        w.write_record(h)?;
    }
    for r in records {
        w.write_record(r.into_iter().map(cell))?;
    }
    w.into_inner()
        .map(Bytes::from)
        .map_err(|e| std::io::Error::other(e.to_string()))
}

fn csv_response(name: &str, body: Body) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"falscope-{name}.csv\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

fn single(name: &str, bytes: Result<Bytes, std::io::Error>) -> Result<Response, AppError> {
    let bytes = bytes.map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(csv_response(name, Body::from(bytes)))
}

/// `GET /api/ws/{ws}/analytics.csv`.
pub async fn analytics_csv(
    State(reports): State<Reports>,
    Path(ws): Path<String>,
    Query(q): Query<AnalyticsQuery>,
) -> Result<Response, AppError> {
    let report = reports.analytics(&ws, &q).await?;
    let r: &AnalyticsReport = &report.value;
    let header = [
        "bucket",
        "endpoint",
        "requests",
        "success",
        "user_errors",
        "server_errors",
        "p50_queue_s",
        "p75_queue_s",
        "p90_queue_s",
        "p50_execution_s",
        "p75_execution_s",
        "p90_execution_s",
        "startup_errors",
        "connection_errors",
        "timeout_errors",
        "runtime_errors",
    ];
    let records = r.series.iter().map(|pt| {
        vec![
            pt.t.to_rfc3339(),
            pt.endpoint.clone(),
            pt.requests.to_string(),
            pt.success.to_string(),
            pt.user_errors.to_string(),
            pt.server_errors.to_string(),
            opt(pt.prepare.p50),
            opt(pt.prepare.p75),
            opt(pt.prepare.p90),
            opt(pt.execution.p50),
            opt(pt.execution.p75),
            opt(pt.execution.p90),
            pt.failures.startup.to_string(),
            pt.failures.connection.to_string(),
            pt.failures.timeout.to_string(),
            pt.failures.runtime.to_string(),
        ]
    });
    single("analytics", chunk(Some(&header), records))
}

/// `GET /api/ws/{ws}/usage.csv`.
pub async fn usage_csv(
    State(reports): State<Reports>,
    Path(ws): Path<String>,
    Query(q): Query<UsageQuery>,
) -> Result<Response, AppError> {
    let report = reports.usage(&ws, &q).await?;
    let r: &UsageReport = &report.value;
    let header = [
        "app",
        "machine_type",
        "is_surge",
        "machine_seconds",
        "unit_price",
        "discount_percent",
        "cost",
        "currency",
    ];
    let records = r.lines.iter().map(|l| {
        vec![
            l.app.clone(),
            l.machine_type.clone(),
            l.is_surge.to_string(),
            l.seconds.to_string(),
            l.unit_price.to_string(),
            opt(l.discount_percent),
            l.cost.to_string(),
            l.currency.clone(),
        ]
    });
    single("usage", chunk(Some(&header), records))
}

/// The last line of an export cut at [`MAX_PAGES`] or [`MAX_ROWS`] (the rows are complete
/// up to it; a spreadsheet shows it as one more row).
pub const TRUNCATED: &str = "# truncated: this export stops at";

/// Streams `pages` as CSV (each row by `record`) until the last page, [`MAX_PAGES`] pages or
/// [`MAX_ROWS`] rows; a cut export ends with a [`TRUNCATED`] line saying where. The first page
/// is read before anything is sent, so a fal failure at the start is a JSON error with its
/// status, not a download that breaks off. `guard` (an [`ExportGuard`]) is held until the
/// body ends.
async fn paged<T: Send + 'static, G: Send + 'static>(
    header: &'static [&'static str],
    pages: Pages<T>,
    record: fn(T) -> Vec<String>,
    guard: G,
) -> Result<BoxStream<'static, Result<Bytes, std::io::Error>>, AppError> {
    let (first, cursor) = pages(None).await?;
    let written = first.len().min(MAX_ROWS);
    let head = stream::once(std::future::ready(chunk(
        Some(header),
        first.into_iter().take(MAX_ROWS).map(record),
    )));
    let state = (cursor, written, 1usize, Some(guard));
    let rest = stream::unfold(state, move |(cursor, written, read, guard)| {
        let pages = pages.clone();
        async move {
            let _alive = guard.as_ref()?;
            let cursor = cursor?;
            if written >= MAX_ROWS || read >= MAX_PAGES {
                let line = format!(
                    "{TRUNCATED} {read} pages and {written} rows; narrow the time range or filters for the rest\n"
                );
                return Some((Ok(Bytes::from(line)), (None, written, read, None)));
            }
            match pages(Some(cursor)).await {
                Ok((rows, next_cursor)) => {
                    let n = rows.len().min(MAX_ROWS - written);
                    // Rows cut from the last page still end with the truncation line.
                    let next_cursor = if n < rows.len() {
                        next_cursor.or_else(|| Some(String::new()))
                    } else {
                        next_cursor
                    };
                    let bytes = chunk(None, rows.into_iter().take(n).map(record));
                    Some((bytes, (next_cursor, written + n, read + 1, guard)))
                }
                // Headers are already sent: end the body with an error so the download fails
                // visibly instead of looking complete.
                Err(e) => Some((
                    Err(std::io::Error::other(e.to_string())),
                    (None, written, read, None),
                )),
            }
        }
    });
    Ok(head.chain(rest).boxed())
}

/// `GET /api/ws/{ws}/requests.csv`: every page of the filtered requests.
pub async fn requests_csv(
    State(reports): State<Reports>,
    State(limits): State<Arc<Limits>>,
    Path(ws): Path<String>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<RequestsQuery>,
) -> Result<Response, AppError> {
    const HEADER: &[&str] = &[
        "id",
        "endpoint",
        "status_code",
        "status",
        "sent_at",
        "started_at",
        "ended_at",
        "queue_s",
        "duration_s",
        "billable_units",
        "cost",
        "cost_state",
        "price_blended",
    ];
    let guard = ExportGuard::acquire(&limits, &caller, &ws).await?;
    let pages = reports
        .requests_pages(&ws, &q, may_see_cost(&caller))
        .await?;
    let body = paged(HEADER, pages, request_record, guard).await?;
    Ok(csv_response("requests", Body::from_stream(body)))
}

fn request_record(r: RequestRow) -> Vec<String> {
    let (cost, cost_state, blended) = match r.cost {
        Cost::Known {
            amount, blended, ..
        } => (amount.to_string(), "known", blended.to_string()),
        Cost::Pending => (String::new(), "pending", String::new()),
        Cost::Unknown => (String::new(), "unknown", String::new()),
    };
    vec![
        r.id,
        r.endpoint,
        r.status_code.map(|s| s.to_string()).unwrap_or_default(),
        r.status.as_str().to_owned(),
        r.sent_at.to_rfc3339(),
        r.started_at.to_rfc3339(),
        r.ended_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
        r.queue_seconds.to_string(),
        opt(r.duration_seconds),
        opt(r.billable_units),
        cost,
        cost_state.to_owned(),
        blended,
    ]
}

/// `GET /api/ws/{ws}/logs.csv`: every page of the filtered history.
pub async fn logs_csv(
    State(reports): State<Reports>,
    State(limits): State<Arc<Limits>>,
    Path(ws): Path<String>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<LogsQuery>,
) -> Result<Response, AppError> {
    const HEADER: &[&str] = &[
        "timestamp",
        "level",
        "app",
        "revision",
        "request_id",
        "message",
    ];
    let guard = ExportGuard::acquire(&limits, &caller, &ws).await?;
    let body = paged(HEADER, reports.logs_pages(&ws, &q)?, log_record, guard).await?;
    Ok(csv_response("logs", Body::from_stream(body)))
}

fn log_record(l: LogLine) -> Vec<String> {
    vec![
        l.ts.to_rfc3339(),
        l.level.as_str().to_owned(),
        l.app,
        l.revision,
        l.request_id.unwrap_or_default(),
        l.message,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::UpstreamError;

    #[tokio::test]
    async fn a_fal_failure_mid_export_breaks_the_download_visibly() {
        let failing: Pages<u32> = Arc::new(|cursor: Option<String>| {
            Box::pin(async move {
                match cursor {
                    None => Ok((vec![1, 2], Some("next".into()))),
                    Some(_) => Err(UpstreamError::Timeout),
                }
            })
        });
        let body = paged(&["n"], failing, |n| vec![n.to_string()], ())
            .await
            .unwrap();
        let parts: Vec<Result<Bytes, std::io::Error>> = body.collect().await;
        assert_eq!(parts.len(), 2, "the first page, then the error");
        assert_eq!(parts[0].as_ref().unwrap().as_ref(), b"n\n1\n2\n");
        assert!(
            parts[1].is_err(),
            "the body ends in an error, not a clean end"
        );
    }

    #[tokio::test]
    async fn an_export_stops_at_its_row_cap_and_says_so() {
        // Pages of 1,500 rows: the cap falls inside a page, which is cut there, and no page
        // is read after it.
        let reads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = reads.clone();
        let big: Pages<u32> = Arc::new(move |cursor: Option<String>| {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let page: u32 = cursor.map_or(0, |c| c.parse().unwrap());
            Box::pin(async move {
                let rows = (0..1_500).map(|i| page * 1_500 + i).collect();
                Ok((rows, Some((page + 1).to_string())))
            })
        });
        let body = paged(&["n"], big, |n| vec![n.to_string()], ())
            .await
            .unwrap();
        let parts: Vec<Bytes> = body.map(Result::unwrap).collect().await;
        let text = String::from_utf8(parts.concat()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1 + MAX_ROWS + 1, "header, the rows, the note");
        assert_eq!(lines[MAX_ROWS], (MAX_ROWS - 1).to_string());
        let note = lines[MAX_ROWS + 1];
        assert!(
            note.starts_with(TRUNCATED) && note.contains(&format!("{MAX_ROWS} rows")),
            "{note}"
        );
        let pages = MAX_ROWS.div_ceil(1_500);
        assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), pages);
    }

    #[tokio::test]
    async fn an_export_stops_at_its_page_cap_and_says_so() {
        let endless: Pages<u32> = Arc::new(|cursor: Option<String>| {
            let n: u32 = cursor.map_or(0, |c| c.parse().unwrap());
            Box::pin(async move { Ok((vec![n], Some((n + 1).to_string()))) })
        });
        let body = paged(&["n"], endless, |n| vec![n.to_string()], ())
            .await
            .unwrap();
        let parts: Vec<Bytes> = body.map(Result::unwrap).collect().await;
        let text = String::from_utf8(parts.concat()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines.len(),
            1 + MAX_PAGES + 1,
            "header, one row per page, the note"
        );
        assert_eq!(lines[MAX_PAGES], (MAX_PAGES - 1).to_string());
        assert!(
            lines[MAX_PAGES + 1].starts_with(TRUNCATED),
            "{}",
            lines[MAX_PAGES + 1]
        );
    }

    #[test]
    fn formula_cells_are_defused_and_numbers_kept() {
        assert_eq!(cell("=1+1".into()), "'=1+1");
        assert_eq!(cell("+cmd".into()), "'+cmd");
        assert_eq!(cell("@SUM(A1)".into()), "'@SUM(A1)");
        assert_eq!(cell("-x".into()), "'-x");
        assert_eq!(cell("-1.5".into()), "-1.5");
        assert_eq!(cell("plain, with comma".into()), "plain, with comma");
    }
}
