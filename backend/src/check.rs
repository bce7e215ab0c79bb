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

/// Creates the `--record` directory readable by its owner only (0700); an existing directory is
/// left as it is (each file is 0600 anyway).
pub fn create_record_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Writes each answer of `account` under `dir` as `<workspace>-<operation>.txt` (0600: an answer
/// names the account's apps and requests), with anything key-like replaced.
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
        if let Err(err) = write_private(&path, text.as_bytes()) {
            tracing::warn!(path = %path.display(), %err, "could not record an answer");
        }
    })
}

/// Writes `bytes` to `path` with mode 0600, also when the file was left by an earlier run.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(bytes)
}

/// `text` with every `secrets` value (and each half of an `id:secret` key, since either may
/// appear alone) and every `Key …` credential, in any case, replaced.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut values: Vec<&str> = Vec::new();
    for s in secrets {
        values.push(s);
        if let Some((id, secret)) = s.split_once(':') {
            values.extend([id, secret]);
        }
    }
    // Longest first, so a whole key is replaced before its halves.
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    let mut out = text.to_owned();
    for v in values.into_iter().filter(|v| !v.is_empty()) {
        out = out.replace(v, "[REDACTED]");
    }
    // ASCII lowercasing keeps every byte offset, so indices found in `lower` fit `out`.
    let lower = out.to_ascii_lowercase();
    let mut redacted = String::with_capacity(out.len());
    let mut at = 0;
    let mut search = 0;
    while let Some(found) = lower[search..].find("key ") {
        let i = search + found;
        let start = i + 4;
        search = start;
        // A word of its own: not the end of "monkey".
        if lower[..i]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-')
        {
            continue;
        }
        let tail = &out[start..];
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | '}'))
            .unwrap_or(tail.len());
        if end > 0 && &tail[..end] != "[REDACTED]" {
            redacted.push_str(&out[at..start]);
            redacted.push_str("[REDACTED]");
            at = start + end;
            search = at;
        }
    }
    redacted.push_str(&out[at..]);
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

    #[test]
    fn redaction_covers_each_half_of_a_key_and_a_lowercase_key_header() {
        let text = r#"{"id":"abc123","secret":"xyz789","h":"key zz-1","w":"monkey business"}"#;
        let out = redact(text, &["abc123:xyz789".to_owned()]);
        for leak in ["abc123", "xyz789", "zz-1"] {
            assert!(!out.contains(leak), "{leak} in {out}");
        }
        assert!(
            out.contains("key [REDACTED]") && out.contains("monkey business"),
            "{out}"
        );
    }
}
