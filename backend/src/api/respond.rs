//! Turning cache answers into HTTP responses: the `Fetched` envelope written around the
//! value's cached JSON (no re-serialisation on hits), plus `X-Cache` and `Cache-Control`.

use crate::cache::Cached;
use axum::body::Body;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use bytes::{BufMut, Bytes, BytesMut};
use shared::{fetched::CACHE_HEADER, CacheStatus};

/// The envelope's JSON: `{"data":<json>,"as_of":"…","stale":bool}`.
pub fn fetched_json<T>(c: &Cached<T>) -> Bytes {
    let as_of = c
        .entry
        .as_of
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let stale = c.status == CacheStatus::Stale;
    let mut body = BytesMut::with_capacity(c.entry.json.len() + 64);
    body.put_slice(b"{\"data\":");
    body.put_slice(&c.entry.json);
    body.put_slice(b",\"as_of\":\"");
    body.put_slice(as_of.as_bytes());
    body.put_slice(if stale {
        b"\",\"stale\":true}"
    } else {
        b"\",\"stale\":false}"
    });
    body.freeze()
}

/// The envelope as a response, with `X-Cache`.
pub fn fetched<T>(c: &Cached<T>) -> Response {
    let mut resp = Body::from(fetched_json(c)).into_response();
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
