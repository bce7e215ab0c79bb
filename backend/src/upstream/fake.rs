//! A fake fal for unit tests: `list_apps` answers from a script, every other operation times
//! out.

use super::models::{
    Aggregates, AnalyticsRecord, AppList, Billing, FileEntry, LabelFilter, LogEntry, Page,
    RequestItem, UsageRow,
};
use super::prometheus::MetricsScrape;
use super::query::{AnalyticsKind, AnalyticsQuery, LogsQuery, RequestsQuery, UsageQuery};
use super::{ByteStream, Download, FalApi, UpstreamError};
use async_trait::async_trait;
use futures::stream::BoxStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// A fake fal whose `list_apps` answers from a script.
pub struct Script {
    /// Answers of `list_apps`, in order; a timeout once they run out.
    pub answers: Mutex<Vec<Result<AppList, UpstreamError>>>,
    /// Calls of `list_apps`.
    pub calls: AtomicUsize,
}

#[async_trait]
impl FalApi for Script {
    async fn list_apps(&self, _: Option<&str>) -> Result<AppList, UpstreamError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        // In flight for a moment, as a network call is: concurrent callers overlap.
        tokio::task::yield_now().await;
        let mut a = self.answers.lock().unwrap();
        if a.is_empty() {
            Err(UpstreamError::Timeout)
        } else {
            a.remove(0)
        }
    }
    fn has_admin_key(&self) -> bool {
        false
    }
    async fn metrics(&self) -> Result<MetricsScrape, UpstreamError> {
        Err(UpstreamError::Timeout)
    }
    async fn queue_size(&self, _: &str, _: &str) -> Result<u64, UpstreamError> {
        Err(UpstreamError::Timeout)
    }
    async fn flush_queue(&self, _: &str, _: &str, _: Option<&str>) -> Result<(), UpstreamError> {
        Err(UpstreamError::Timeout)
    }
    async fn analytics(
        &self,
        _: AnalyticsKind,
        _: &AnalyticsQuery,
    ) -> Result<Aggregates<AnalyticsRecord>, UpstreamError> {
        Err(UpstreamError::Timeout)
    }
    async fn requests(&self, _: &RequestsQuery) -> Result<Page<RequestItem>, UpstreamError> {
        Err(UpstreamError::Timeout)
    }
    async fn usage(&self, _: &UsageQuery) -> Result<Aggregates<UsageRow>, UpstreamError> {
        Err(UpstreamError::Timeout)
    }
    async fn logs_history(
        &self,
        _: &LogsQuery,
        _: &[LabelFilter],
    ) -> Result<Page<LogEntry>, UpstreamError> {
        Err(UpstreamError::Timeout)
    }
    async fn logs_stream(
        &self,
        _: &LogsQuery,
        _: &[LabelFilter],
    ) -> Result<BoxStream<'static, Result<LogEntry, UpstreamError>>, UpstreamError> {
        Err(UpstreamError::Timeout)
    }
    async fn list_files(&self, _: Option<&str>) -> Result<Vec<FileEntry>, UpstreamError> {
        Err(UpstreamError::Timeout)
    }
    async fn download_file(&self, _: &str) -> Result<Download, UpstreamError> {
        Err(UpstreamError::Timeout)
    }
    async fn upload_from_url(&self, _: &str, _: &str) -> Result<bool, UpstreamError> {
        Err(UpstreamError::Timeout)
    }
    async fn upload_local(
        &self,
        _: &str,
        _: &str,
        _: ByteStream,
        _: bool,
    ) -> Result<bool, UpstreamError> {
        Err(UpstreamError::Timeout)
    }
    async fn account_billing(&self, _: bool) -> Result<Billing, UpstreamError> {
        Err(UpstreamError::Timeout)
    }
}

impl Script {
    /// A fake whose apps are `owner/name` ids, listed on every call.
    pub fn listing(ids: &[&str]) -> Self {
        let apps = ids
            .iter()
            .map(|id| {
                let (owner, name) = id.split_once('/').unwrap_or(("acme", id));
                super::models::App {
                    endpoint_id: (*id).to_owned(),
                    name: name.to_owned(),
                    owner: owner.to_owned(),
                    environment: "main".into(),
                    machine_type: "GPU-H100".into(),
                    auth_mode: "private".into(),
                    keep_alive: 300.0,
                    min_concurrency: 0.0,
                    max_concurrency: 4.0,
                    request_timeout: 600.0,
                    startup_timeout: 300.0,
                    valid_regions: vec!["us".into()],
                    updated_at: "2026-11-01T00:00:00Z".into(),
                    endpoints: Some(vec![(*id).to_owned()]),
                }
            })
            .collect::<Vec<_>>();
        let answers = (0..64)
            .map(|_| Ok(AppList { apps: apps.clone() }))
            .collect();
        Self::new(answers)
    }

    /// A script of `answers`.
    pub fn new(answers: Vec<Result<AppList, UpstreamError>>) -> Self {
        Self {
            answers: Mutex::new(answers),
            calls: AtomicUsize::new(0),
        }
    }
}
