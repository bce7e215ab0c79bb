//! The shared `/data` storage: listings (cached), and downloads and uploads, which are actions
//! streamed through the workspace's fal client, never cached. Paths are validated by the
//! handlers before they get here.

use super::Reports;
use crate::cache::{key, Cached};
use crate::error::AppError;
use crate::upstream::convert::file_item;
use crate::upstream::{Download, FalApi, UpstreamError};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use shared::files::FileItem;
use std::sync::Arc;

/// Listings change when someone uploads; keep them briefly.
const LIST_TTL: std::time::Duration = std::time::Duration::from_secs(30);

impl Reports {
    /// The entries of `dir` (the root when `None`; the path is already validated), folders
    /// first.
    pub async fn files(
        &self,
        ws: &str,
        dir: Option<String>,
    ) -> Result<Cached<Vec<FileItem>>, AppError> {
        let w = self.workspace(ws)?;
        let fal: Arc<dyn FalApi> = w.fal.clone();
        let cache_key = key(
            &w.id,
            "files",
            &[("dir", dir.clone().unwrap_or_default())],
            None,
        );
        Ok(self
            .cache()
            .get_or_fetch(
                cache_key,
                |_| LIST_TTL,
                move || async move {
                    let mut items: Vec<FileItem> = fal
                        .list_files(dir.as_deref())
                        .await?
                        .into_iter()
                        .filter_map(file_item)
                        .collect();
                    items.sort_by(|a, b| (!a.is_dir, &a.name).cmp(&(!b.is_dir, &b.name)));
                    Ok(items)
                },
            )
            .await?)
    }

    /// `path`'s bytes, streamed from fal; a 404 names the file.
    pub async fn download_file(&self, ws: &str, path: &str) -> Result<Download, AppError> {
        let w = self.workspace(ws)?;
        w.fal.download_file(path).await.map_err(|e| match e {
            UpstreamError::Status { status: 404, .. } => AppError::NotFound(format!("file {path}")),
            other => other.into(),
        })
    }

    /// Streams `body` to fal as `path` (named `file_name`); an error item aborts the upload.
    pub async fn upload_file(
        &self,
        ws: &str,
        path: &str,
        file_name: &str,
        body: impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    ) -> Result<(), AppError> {
        let w = self.workspace(ws)?;
        let body = body
            .map(|item| item.map_err(|e| UpstreamError::Transport(e.to_string())))
            .boxed();
        stored(
            w.fal.upload_local(path, file_name, body, false).await?,
            path,
        )
    }

    /// Has fal fetch the http(s) `url` into `path`.
    pub async fn upload_from_url(&self, ws: &str, path: &str, url: &str) -> Result<(), AppError> {
        let w = self.workspace(ws)?;
        stored(w.fal.upload_from_url(path, url).await?, path)
    }
}

/// fal answers uploads with a JSON boolean: `false` means the file was not stored.
fn stored(done: bool, path: &str) -> Result<(), AppError> {
    if done {
        return Ok(());
    }
    Err(UpstreamError::Status {
        status: 200,
        kind: "not_stored".into(),
        message: format!("fal answered false: {path} was not stored"),
    }
    .into())
}
