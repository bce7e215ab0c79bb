//! Turning cache answers into HTTP responses: the `Fetched` envelope written around the
//! value's cached JSON (no re-serialisation on hits), plus `X-Cache` and `Cache-Control`; and
//! state-changing answers that tell the audit trail what they did.

use crate::reports::{Cached, Derived};
use axum::body::Body;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use shared::{fetched::CACHE_HEADER, CacheStatus};

/// The envelope as a response, with `X-Cache`.
pub fn fetched<T>(c: &Cached<T>) -> Response {
    let mut resp = Body::from(c.envelope()).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(CACHE_HEADER, HeaderValue::from_static(c.status.as_str()));
    // Browsers must ask again: freshness is falscope's cache's business, not theirs.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// A view computed from cached answers (not cached itself): the envelope around `data`, with
/// the `as_of` and cache status of its inputs.
pub fn derived<T: serde::Serialize>(d: Derived<T>) -> Response {
    let status = d.status;
    let body = shared::Fetched {
        data: d.value,
        as_of: d.as_of,
        stale: status == CacheStatus::Stale,
    };
    let mut resp = axum::Json(body).into_response();
    let h = resp.headers_mut();
    h.insert(CACHE_HEADER, HeaderValue::from_static(status.as_str()));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// `response`, with what the call did for its audit entry (`guard::AuditDetail`).
pub fn audited(response: impl IntoResponse, detail: String) -> Response {
    let mut response = response.into_response();
    response
        .extensions_mut()
        .insert(crate::guard::AuditDetail(detail));
    response
}
