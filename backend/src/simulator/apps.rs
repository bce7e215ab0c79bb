//! `GET /v1/serverless/apps`: the account's apps, with `expand=endpoints` and `search`.

use super::errors::FalError;
use super::wire::{App, AppList, AuthMode};
use super::Sim;
use axum::extract::{RawQuery, State};
use axum::Json;
use std::sync::Arc;

/// Handler.
pub async fn list_apps(
    State(sim): State<Arc<Sim>>,
    RawQuery(query): RawQuery,
) -> Result<Json<AppList>, FalError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.as_deref().unwrap_or(""))
        .map_err(|_| FalError::invalid("malformed query string"))?;
    let mut environment = "main".to_owned();
    let mut search = None;
    let mut endpoints = false;
    for (k, v) in pairs {
        match k.as_str() {
            "environment" => environment = v,
            "search" => search = Some(v.to_lowercase()),
            "expand" => {
                for e in v.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                    match e {
                        "endpoints" => endpoints = true,
                        other => {
                            return Err(FalError::invalid(format!(
                                "unknown expand value {other:?}"
                            )))
                        }
                    }
                }
            }
            other => return Err(FalError::invalid(format!("unknown parameter {other:?}"))),
        }
    }
    let w = &sim.world;
    let apps = w
        .apps
        .iter()
        .enumerate()
        .filter(|(_, a)| a.environment == environment)
        .filter(|(_, a)| search.as_ref().is_none_or(|s| a.name.contains(s.as_str())))
        .map(|(i, a)| App {
            endpoint_id: w.app_id(i),
            name: a.name.to_owned(),
            owner: w.owner.to_owned(),
            environment: a.environment.to_owned(),
            machine_type: a.machine.usage_name.to_owned(),
            auth_mode: AuthMode::Private,
            keep_alive: a.keep_alive,
            min_concurrency: f64::from(a.min_concurrency),
            max_concurrency: f64::from(a.max_concurrency),
            request_timeout: a.request_timeout,
            startup_timeout: a.startup_s * 4.0,
            valid_regions: vec!["us".into()],
            updated_at: chrono::DateTime::from_timestamp_millis(
                sim.now_ms().div_euclid(7 * 86_400_000) * 7 * 86_400_000,
            )
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            endpoints: endpoints.then(|| w.endpoints_of(i)),
        })
        .collect();
    Ok(Json(AppList { apps }))
}
