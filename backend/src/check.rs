//! `falscope check`: the day-one check against a real fal account. Every operation falscope
//! reads is called once, read-only (no upload, no flush), over small windows, through the same
//! client and decoders the dashboard uses; the table says per operation what fal answered,
//! whether falscope understood it (serde's path when not), how many items came back and how
//! long it took, and what a missing key scope turns off. `--record DIR` keeps each raw answer,
//! with the keys redacted, for a bug report.

use crate::clock::Clock;
use crate::config::Account;
use crate::upstream::query::{
    AnalyticsKind, AnalyticsQuery, LogsQuery, RequestsQuery, UsageQuery, Window,
};
use crate::upstream::{FalApi, FalClient, UpstreamError};
use chrono::Duration;
use futures::StreamExt;
use secrecy::ExposeSecret;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::time::Instant;

/// One operation's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Workspace id.
    pub workspace: String,
    /// fal operation, as `/_sim/stats` and `/metrics` name it.
    pub operation: &'static str,
    /// What fal answered: `200`, `HTTP 403`, `timeout`, …; `skipped` when a scope is missing.
    pub status: String,
    /// `ok`, or why the answer did not decode (serde's path and message).
    pub decode: String,
    /// Items in the answer.
    pub items: Option<usize>,
    /// Milliseconds.
    pub latency_ms: u128,
    /// Whether falscope can use this operation.
    pub ok: bool,
}

/// The whole check.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// One row per workspace and operation.
    pub rows: Vec<Row>,
    /// What missing scopes turn off, per workspace.
    pub notes: Vec<String>,
}

impl Report {
    /// Everything falscope needs works (skipped operations do not count against it).
    pub fn ok(&self) -> bool {
        self.rows.iter().all(|r| r.ok)
    }

    /// The table as text.
    pub fn render(&self) -> String {
        let mut out = format!(
            "{:<12} {:<22} {:<10} {:<8} {:>6} {:>9}  {}\n",
            "workspace", "operation", "status", "decode", "items", "latency", "detail"
        );
        for r in &self.rows {
            let (decode, detail) = if r.decode == "ok" || r.decode == "-" {
                (r.decode.as_str(), "")
            } else {
                ("FAILED", r.decode.as_str())
            };
            out += &format!(
                "{:<12} {:<22} {:<10} {:<8} {:>6} {:>6} ms  {}\n",
                r.workspace,
                r.operation,
                r.status,
                decode,
                r.items.map_or_else(|| "-".to_owned(), |n| n.to_string()),
                r.latency_ms,
                detail
            );
        }
        for n in &self.notes {
            out += &format!("note: {n}\n");
        }
        out += if self.ok() {
            "result: OK: falscope and this fal account understand each other\n"
        } else {
            "result: FAILED: the operations above marked otherwise need attention\n"
        };
        out
    }
}

/// Checks every account; `record` is a directory for the raw answers.
pub async fn run(accounts: &[Account], record: Option<&Path>, clock: Arc<dyn Clock>) -> Report {
    let mut report = Report::default();
    for a in accounts {
        check_account(a, record, clock.as_ref(), &mut report).await;
    }
    report
}

/// Writes each answer of `account` under `dir` as `<workspace>-<operation>.txt`, with anything
/// key-like replaced.
fn recorder(account: &Account, dir: PathBuf) -> crate::upstream::Recorder {
    let mut secrets = vec![account.api_key.expose_secret().to_owned()];
    secrets.extend(
        account
            .admin_key
            .as_ref()
            .map(|k| k.expose_secret().to_owned()),
    );
    let workspace = account.id.clone();
    Arc::new(move |op, body| {
        let text = redact(&String::from_utf8_lossy(body), &secrets);
        let path = dir.join(format!("{workspace}-{op}.txt"));
        if let Err(err) = std::fs::write(&path, text) {
            tracing::warn!(path = %path.display(), %err, "could not record an answer");
        }
    })
}

/// `text` with every `secrets` value and every `Key …` credential replaced.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        out = out.replace(s.as_str(), "[REDACTED]");
    }
    let mut redacted = String::with_capacity(out.len());
    let mut rest = out.as_str();
    while let Some(i) = rest.find("Key ") {
        redacted.push_str(&rest[..i + 4]);
        let tail = &rest[i + 4..];
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | '}'))
            .unwrap_or(tail.len());
        redacted.push_str(if end > 0 { "[REDACTED]" } else { "" });
        rest = &tail[end..];
    }
    redacted.push_str(rest);
    redacted
}

async fn check_account(a: &Account, record: Option<&Path>, clock: &dyn Clock, report: &mut Report) {
    let mut client =
        match FalClient::new(a.base_url.clone(), a.api_key.clone(), a.admin_key.clone()) {
            Ok(c) => c,
            Err(e) => {
                report
                    .notes
                    .push(format!("{}: the fal client could not be built: {e}", a.id));
                return;
            }
        };
    if let Some(dir) = record {
        client = client.with_recorder(recorder(a, dir.to_owned()));
    }
    let fal = client;
    let now = clock.now();
    let hour_ago = now - Duration::hours(1);
    let mut row = |op: &'static str, started: Instant, result: Result<usize, UpstreamError>| {
        let latency_ms = started.elapsed().as_millis();
        let (status, decode, items, ok) = match result {
            Ok(n) => ("200".to_owned(), "ok".to_owned(), Some(n), true),
            Err(UpstreamError::AdminKeyMissing { .. }) => {
                ("skipped".into(), "-".into(), None, true)
            }
            Err(UpstreamError::Decode(why)) => ("200".into(), why, None, false),
            Err(e) => (status_of(&e), "-".into(), None, false),
        };
        report.rows.push(Row {
            workspace: a.id.clone(),
            operation: op,
            status,
            decode,
            items,
            latency_ms,
            ok,
        });
    };

    let t = Instant::now();
    let apps = fal.list_apps(None).await.map(|l| l.apps);
    let app_ids: Vec<String> = apps
        .as_ref()
        .map(|l| l.iter().map(|a| a.endpoint_id.clone()).collect())
        .unwrap_or_default();
    row("apps", t, apps.map(|l| l.len()));

    let t = Instant::now();
    let metrics = fal.metrics().await;
    row("metrics", t, metrics.map(|m| m.to_live(now).apps.len()));

    if let Some((owner, name)) = app_ids.first().and_then(|id| id.split_once('/')) {
        let t = Instant::now();
        let q = fal.queue_size(owner, name).await;
        row("queue_size", t, q.map(|_| 1));
    }

    if !app_ids.is_empty() {
        let ids: Vec<String> = app_ids.iter().take(5).cloned().collect();
        let t = Instant::now();
        let q = AnalyticsQuery {
            endpoint_ids: ids.clone(),
            metrics: crate::upstream::convert::ANALYTICS_METRICS
                .iter()
                .map(|m| (*m).to_owned())
                .collect(),
            time_series: true,
            summary: true,
            window: Window {
                start: Some(hour_ago),
                end: Some(now),
                ..Window::default()
            },
            ..AnalyticsQuery::default()
        };
        let r = fal.analytics(AnalyticsKind::Serverless, &q).await;
        row(
            "analytics",
            t,
            r.map(|p| p.time_series.unwrap_or_default().len()),
        );

        let t = Instant::now();
        let q = RequestsQuery {
            endpoint_ids: ids,
            start: Some(hour_ago),
            end: Some(now),
            limit: Some(10),
            billing: true,
            ..RequestsQuery::default()
        };
        let r = fal.requests(&q).await;
        row("requests_by_endpoint", t, r.map(|p| p.items.len()));
    }

    let t = Instant::now();
    let q = LogsQuery {
        start: Some(now - Duration::minutes(15)),
        end: Some(now),
        limit: Some(10),
        ..LogsQuery::default()
    };
    let r = fal.logs_history(&q, &[]).await;
    row("logs_history", t, r.map(|p| p.items.len()));

    let t = Instant::now();
    let q = LogsQuery {
        start: Some(now - Duration::minutes(1)),
        ..LogsQuery::default()
    };
    let r = match fal.logs_stream(&q, &[]).await {
        // Open is what matters; a line within five seconds is read if one comes.
        Ok(mut stream) => {
            match tokio::time::timeout(std::time::Duration::from_secs(5), stream.next()).await {
                Ok(Some(Ok(_))) => Ok(1),
                Ok(Some(Err(e))) => Err(e),
                Ok(None) | Err(_) => Ok(0),
            }
        }
        Err(e) => Err(e),
    };
    row("logs_stream", t, r);

    let t = Instant::now();
    let r = fal.list_files(None).await;
    row("files_list", t, r.map(|f| f.len()));

    let t = Instant::now();
    let q = UsageQuery {
        summary: true,
        window: Window {
            start: Some(now - Duration::hours(24)),
            end: Some(now),
            ..Window::default()
        },
        ..UsageQuery::default()
    };
    let r = fal.usage(&q).await;
    row("usage", t, r.map(|u| u.summary.unwrap_or_default().len()));

    if a.admin_key.is_none() {
        report.notes.push(format!(
            "{}: no ADMIN key (FAL_ADMIN_KEY): usage, cost, the forecast, budgets, spend alerts and per-request costs are off",
            a.id
        ));
    }
    if report
        .rows
        .iter()
        .any(|r| r.workspace == a.id && r.operation == "usage" && r.status == "HTTP 403")
    {
        report.notes.push(format!(
            "{}: fal refused usage with FAL_ADMIN_KEY: it is not an ADMIN-scoped key",
            a.id
        ));
    }
}

fn status_of(e: &UpstreamError) -> String {
    match e {
        UpstreamError::Credentials { status }
        | UpstreamError::Status { status, .. }
        | UpstreamError::Refused { status, .. } => format!("HTTP {status}"),
        UpstreamError::RateLimited { .. } => "HTTP 429".into(),
        UpstreamError::Timeout => "timeout".into(),
        UpstreamError::Transport(_) => "unreachable".into(),
        UpstreamError::CircuitOpen => "held off".into(),
        UpstreamError::AdminKeyMissing { .. } => "skipped".into(),
        UpstreamError::Decode(_) => "200".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_removes_keys_and_key_headers() {
        let text = r#"{"error":"bad key abc123:xyz","header":"Key abc123:xyz","other":"Key zz-1"}"#;
        let out = redact(text, &["abc123:xyz".to_owned()]);
        assert!(!out.contains("abc123") && !out.contains("zz-1"), "{out}");
        assert!(out.contains("Key [REDACTED]"));
    }
}
