//! Serves the trunk-built frontend: hashed assets with a one-year immutable cache, `index.html`
//! (also the answer for every client-side route) with `no-cache` so a deploy is seen at once.
//!
//! Release builds embed `frontend/dist` so a deployment is one file; debug builds read the same
//! folder from disk at run time, and `--dist-dir` serves any folder instead.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;
use std::borrow::Cow;
use std::path::PathBuf;

#[derive(RustEmbed)]
#[folder = "../frontend/dist"]
#[allow_missing = true]
struct Embedded;

/// Where the frontend files come from.
#[derive(Debug, Clone)]
pub enum Assets {
    /// Built into the binary (release) or read from `frontend/dist` (debug).
    Embedded,
    /// A directory given with `--dist-dir`.
    Dir(PathBuf),
}

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const NO_CACHE: &str = "no-cache";

impl Assets {
    async fn get(&self, path: &str) -> Option<(Cow<'static, [u8]>, Option<String>)> {
        match self {
            Self::Embedded => {
                let file = Embedded::get(path)?;
                let etag = hex(&file.metadata.sha256_hash()[..8]);
                Some((file.data, Some(etag)))
            }
            Self::Dir(root) => {
                // Only plain relative segments: no `..`, no absolute paths, no backslashes.
                let safe = path
                    .split('/')
                    .all(|s| !s.is_empty() && s != "." && s != ".." && !s.contains('\\'));
                if !safe {
                    return None;
                }
                let bytes = tokio::fs::read(root.join(path)).await.ok()?;
                Some((Cow::Owned(bytes), None))
            }
        }
    }
}

/// Fallback handler: an asset, or `index.html` for client routes.
pub async fn serve(State(assets): State<Assets>, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().trim_start_matches('/');
    if !path.is_empty() && path != "index.html" {
        if let Some((data, etag)) = assets.get(path).await {
            let cache = if is_hashed(path) { IMMUTABLE } else { NO_CACHE };
            return file_response(path, data, etag, cache, &headers);
        }
        // A missing file with an extension is a broken asset link, not a client route.
        if path.rsplit('/').next().is_some_and(|f| f.contains('.')) {
            return (StatusCode::NOT_FOUND, "not found").into_response();
        }
    }
    match assets.get("index.html").await {
        Some((data, etag)) => file_response("index.html", data, etag, NO_CACHE, &headers),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "falscope's frontend is not built: run `cargo xtask demo` (or `trunk --config trunk.toml build --release`)",
        )
            .into_response(),
    }
}

fn file_response(
    path: &str,
    data: Cow<'static, [u8]>,
    etag: Option<String>,
    cache: &'static str,
    request: &HeaderMap,
) -> Response {
    let etag = etag.map(|e| format!("\"{e}\""));
    let mut resp = match &etag {
        Some(tag)
            if request
                .get(header::IF_NONE_MATCH)
                .is_some_and(|v| v == tag.as_str()) =>
        {
            StatusCode::NOT_MODIFIED.into_response()
        }
        _ => {
            let mime = mime_guess::from_path(path).first_or_octet_stream();
            let mut resp = Body::from(data).into_response();
            if let Ok(v) = HeaderValue::from_str(mime.as_ref()) {
                resp.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            resp
        }
    };
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Some(v) = etag.and_then(|t| HeaderValue::from_str(&t).ok()) {
        h.insert(header::ETAG, v);
    }
    resp
}

/// trunk names built assets `name-<16 hex>.ext` (or `name-<hex>_bg.wasm`).
fn is_hashed(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    let stem = file.split('.').next().unwrap_or(file);
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-')
        .is_some_and(|(_, hash)| hash.len() >= 16 && hash.chars().all(|c| c.is_ascii_hexdigit()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::is_hashed;

    #[test]
    fn recognises_trunk_hashed_names() {
        assert!(is_hashed("frontend-3f2a9c0d1e2b4a5f.js"));
        assert!(is_hashed("frontend-3f2a9c0d1e2b4a5f_bg.wasm"));
        assert!(is_hashed("assets/main-3f2a9c0d1e2b4a5f.css"));
        assert!(!is_hashed("index.html"));
        assert!(!is_hashed("favicon.ico"));
        assert!(!is_hashed("my-app.js"));
    }
}
