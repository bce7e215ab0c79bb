//! The workspace's apps and their endpoint ids.

use super::Reports;
use crate::cache::{key, Cached};
use crate::error::AppError;
use crate::upstream::FalApi;
use shared::apps::AppSummary;
use std::sync::Arc;
use std::time::Duration;

/// Deployments change rarely.
const APPS_TTL: Duration = Duration::from_secs(300);

impl Reports {
    /// The workspace's apps.
    pub async fn apps(&self, ws: &str) -> Result<Cached<Vec<AppSummary>>, AppError> {
        let w = self.workspace(ws)?;
        let fal: Arc<dyn FalApi> = w.fal.clone();
        let cached = self
            .cache()
            .get_or_fetch(
                key(&w.id, "apps", &[], None),
                |_| APPS_TTL,
                move || async move {
                    let list = fal.list_apps().await?;
                    Ok(list
                        .apps
                        .into_iter()
                        .map(|a| AppSummary {
                            endpoints: a.endpoints.unwrap_or_else(|| vec![a.endpoint_id.clone()]),
                            id: a.endpoint_id,
                            name: a.name,
                            machine_type: a.machine_type,
                        })
                        .collect::<Vec<_>>())
                },
            )
            .await?;
        Ok(cached)
    }
}

/// The endpoint ids of `app` (or of every app), at most the 50 one analytics call takes.
pub fn endpoints(apps: &[AppSummary], app: Option<&str>) -> Vec<String> {
    apps.iter()
        .filter(|a| app.is_none_or(|name| a.name == name))
        .flat_map(|a| a.endpoints.iter().cloned())
        .take(50)
        .collect()
}
