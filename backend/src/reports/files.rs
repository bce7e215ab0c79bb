//! Listings of the shared `/data` storage (downloads and uploads are actions, not reports: the
//! `api::files` handlers stream them through the workspace's fal client).

use super::Reports;
use crate::cache::{key, Cached};
use crate::error::AppError;
use crate::upstream::convert::file_item;
use crate::upstream::FalApi;
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
}
