//! The fal Platform API client: a [`FalApi`] trait that handlers depend on, and [`FalClient`],
//! its reqwest implementation. fal's wire shapes live in [`models`]; browser DTOs never do.

mod client;
pub mod convert;
mod error;
#[cfg(test)]
pub mod fake;
pub mod models;
pub mod prometheus;
pub mod query;
pub mod resilient;
mod sse;

pub use client::{decode, FalClient, Recorder};
pub use error::UpstreamError;
pub use resilient::{Policy, Resilient};

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use models::{
    Aggregates, AnalyticsRecord, AppList, Billing, FileEntry, LabelFilter, LogEntry, Page,
    RequestItem, UsageRow,
};
use query::{AnalyticsKind, AnalyticsQuery, LogsQuery, RequestsQuery, UsageQuery};

/// Which key an operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The API-scoped key (an ADMIN key would also do).
    Api,
    /// The ADMIN-scoped key.
    Admin,
}

/// A streamed body (file download or upload).
pub type ByteStream = BoxStream<'static, Result<Bytes, UpstreamError>>;

/// A file download in progress: headers now, bytes as they arrive.
pub struct Download {
    /// fal's `Content-Type`.
    pub content_type: Option<String>,
    /// fal's `Content-Length`.
    pub content_length: Option<u64>,
    /// The body.
    pub body: ByteStream,
}

impl std::fmt::Debug for Download {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download")
            .field("content_type", &self.content_type)
            .field("content_length", &self.content_length)
            .finish_non_exhaustive()
    }
}

/// Every fal operation falscope uses. One implementation talks HTTP; tests may swap in fakes.
#[async_trait]
pub trait FalApi: Send + Sync {
    /// `GET /v1/serverless/metrics`: Prometheus text, parsed.
    async fn metrics(&self) -> Result<prometheus::MetricsScrape, UpstreamError>;
    /// `GET /v1/serverless/apps/{owner}/{name}/queue`.
    async fn queue_size(&self, owner: &str, name: &str) -> Result<u64, UpstreamError>;
    /// `DELETE /v1/serverless/apps/{owner}/{name}/queue`, idempotent per key for 10 minutes.
    async fn flush_queue(
        &self,
        owner: &str,
        name: &str,
        idempotency_key: Option<&str>,
    ) -> Result<(), UpstreamError>;
    /// `GET /v1/serverless/analytics` or `GET /v1/models/analytics`.
    async fn analytics(
        &self,
        kind: AnalyticsKind,
        q: &AnalyticsQuery,
    ) -> Result<Aggregates<AnalyticsRecord>, UpstreamError>;
    /// `GET /v1/serverless/requests/by-endpoint`.
    async fn requests(&self, q: &RequestsQuery) -> Result<Page<RequestItem>, UpstreamError>;
    /// `GET /v1/serverless/usage` (ADMIN key).
    async fn usage(&self, q: &UsageQuery) -> Result<Aggregates<UsageRow>, UpstreamError>;
    /// `POST /v1/serverless/logs/history`.
    async fn logs_history(
        &self,
        q: &LogsQuery,
        labels: &[LabelFilter],
    ) -> Result<Page<LogEntry>, UpstreamError>;
    /// `POST /v1/serverless/logs/stream`: log lines as they arrive; an `Err` ends the stream.
    async fn logs_stream(
        &self,
        q: &LogsQuery,
        labels: &[LabelFilter],
    ) -> Result<BoxStream<'static, Result<LogEntry, UpstreamError>>, UpstreamError>;
    /// `GET /v1/serverless/files/list[/{dir}]`.
    async fn list_files(&self, dir: Option<&str>) -> Result<Vec<FileEntry>, UpstreamError>;
    /// `GET /v1/serverless/files/file/{file}`, streamed.
    async fn download_file(&self, path: &str) -> Result<Download, UpstreamError>;
    /// `POST /v1/serverless/files/file/url/{file}`.
    async fn upload_from_url(&self, path: &str, url: &str) -> Result<bool, UpstreamError>;
    /// `POST /v1/serverless/files/file/local/{target_path}`, streamed as multipart `file_upload`.
    async fn upload_local(
        &self,
        path: &str,
        file_name: &str,
        body: ByteStream,
        unzip: bool,
    ) -> Result<bool, UpstreamError>;
    /// `GET /v1/serverless/apps?expand=endpoints` of `environment` (fal's default: the main
    /// one).
    async fn list_apps(&self, environment: Option<&str>) -> Result<AppList, UpstreamError>;
    /// `GET /v1/account/billing` (ADMIN key).
    async fn account_billing(&self, credits: bool) -> Result<Billing, UpstreamError>;
    /// Whether an ADMIN key is configured.
    fn has_admin_key(&self) -> bool;
}

/// Answers from fal that did not decode (whole answers, skipped stream events, fields that
/// are not what fal documents), per operation: `/metrics` exports them as
/// `falscope_upstream_decode_errors_total`. fal adds fields and values over time; this is how a
/// team sees when it changed something falscope reads.
pub static DECODE_ERRORS: DecodeErrors =
    DecodeErrors(std::sync::Mutex::new(std::collections::BTreeMap::new()));

#[cfg(test)]
thread_local! {
    static COUNTED_HERE: std::cell::RefCell<std::collections::BTreeMap<&'static str, u64>> =
        const { std::cell::RefCell::new(std::collections::BTreeMap::new()) };
}

/// See [`DECODE_ERRORS`].
#[derive(Debug)]
pub struct DecodeErrors(std::sync::Mutex<std::collections::BTreeMap<&'static str, u64>>);

impl DecodeErrors {
    /// Counts one for `op`.
    pub fn add(&self, op: &'static str) {
        *self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(op)
            .or_default() += 1;
        #[cfg(test)]
        COUNTED_HERE.with_borrow_mut(|m| *m.entry(op).or_default() += 1);
    }

    /// How many `op` errors this thread counted: what one unit test caused, whatever the tests
    /// running beside it add to the process-wide counts. (A `#[tokio::test]` polls its futures
    /// on its own thread.)
    #[cfg(test)]
    pub fn counted_here(op: &str) -> u64 {
        COUNTED_HERE.with_borrow(|m| m.get(op).copied().unwrap_or(0))
    }

    /// Every operation's count.
    pub fn counts(&self) -> Vec<(&'static str, u64)> {
        let m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.iter().map(|(k, v)| (*k, *v)).collect()
    }
}
