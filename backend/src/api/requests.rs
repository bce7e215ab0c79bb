//! Requests with their cost, and one request with its logs (`reports::requests`).

use super::query::Query;
use super::respond::fetched;
use crate::auth::Caller;
use crate::error::AppError;
use crate::reports::Reports;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::Extension;
use shared::auth::Role;
use shared::query::RequestsQuery;

/// Whether `caller` may see spend and costs (billing and up: they come from usage, read with
/// the ADMIN key). Requests, `/metrics` and the cost views ask.
pub fn may_see_cost(caller: &Caller) -> bool {
    caller.role() >= Some(Role::Billing)
}

/// `GET /api/ws/{ws}/requests`.
pub async fn list_requests(
    State(reports): State<Reports>,
    Path(ws): Path<String>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<RequestsQuery>,
) -> Result<Response, AppError> {
    Ok(fetched(
        &reports.requests(&ws, &q, may_see_cost(&caller)).await?,
    ))
}

/// `GET /api/ws/{ws}/requests/{id}`: the row (found across every endpoint of the workspace)
/// and its logs.
pub async fn get_request(
    State(reports): State<Reports>,
    Path((ws, id)): Path<(String, String)>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, AppError> {
    Ok(fetched(
        &reports.request(&ws, &id, may_see_cost(&caller)).await?,
    ))
}
