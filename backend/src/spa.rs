//! Serves the built frontend (`cargo xtask`, `xtask/src/web.rs`): hashed assets with a one-year immutable cache, `index.html`
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

/// The Content-Security-Policy for the served frontend. Scripts only from falscope itself plus
/// the exact inline loader the build writes into `index.html` (allowed by its SHA-256, so no
/// `'unsafe-inline'` for scripts), and `'wasm-unsafe-eval'` so WebAssembly may compile.
/// Styles allow inline `style` attributes: the virtualized log list and chart overlays position
/// elements with them, and a style attribute cannot run code.
pub async fn content_security_policy(assets: &Assets) -> String {
    let index = assets
        .get("index.html")
        .await
        .map(|(data, _)| String::from_utf8_lossy(&data).into_owned())
        .unwrap_or_default();
    let hashes: String = inline_scripts(&index)
        .iter()
        .map(|body| {
            use base64::Engine;
            use sha2::Digest;
            let digest = sha2::Sha256::digest(body.as_bytes());
            format!(
                " 'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest)
            )
        })
        .collect();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{hashes}; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// Bodies of the `<script>` elements without `src` in `html`.
fn inline_scripts(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let after = &rest[start..];
        let Some(tag_end) = after.find('>') else {
            break;
        };
        let tag = &after[..tag_end];
        let body_and_rest = &after[tag_end + 1..];
        let Some(close) = body_and_rest.find("</script>") else {
            break;
        };
        if !tag.contains(" src=") {
            out.push(&body_and_rest[..close]);
        }
        rest = &body_and_rest[close..];
    }
    out
}

/// Fallback handler: an asset, or `index.html` for client routes.
pub async fn serve(State(assets): State<Assets>, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().trim_start_matches('/');
    // Whatever the source of the files: no `.` or `..` segments (a debug build's embedded
    // folder would resolve them on disk).
    if path.split('/').any(|s| s == "." || s == "..") {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
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
            "falscope's frontend is not built: run `cargo xtask demo` (or `cargo xtask size` to build it only)",
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

/// Built assets are named `name-<16 hex>.ext` (trunk also writes `name-<hex>_bg.wasm`), or sit
/// in a folder named so (`pkg-<16 hex>/`: the split build's modules, which refer to each other
/// by plain relative names).
fn is_hashed(path: &str) -> bool {
    let mut segments = path.split('/');
    let file = segments.next_back().unwrap_or(path);
    let stem = file.split('.').next().unwrap_or(file);
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    let named = |s: &str| {
        s.rsplit_once('-').is_some_and(|(_, hash)| {
            hash.len() >= 16 && hash.chars().all(|c| c.is_ascii_hexdigit())
        })
    };
    named(stem) || segments.any(named)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::{inline_scripts, is_hashed};

    #[test]
    fn finds_only_inline_scripts() {
        let html = "<head><script type=\"module\">\nimport init from '/a.js';\n</script><script src=\"/x.js\"></script><script>b()</script></head>";
        assert_eq!(
            inline_scripts(html),
            ["\nimport init from '/a.js';\n", "b()"]
        );
    }

    #[test]
    fn recognises_trunk_hashed_names() {
        assert!(is_hashed("frontend-3f2a9c0d1e2b4a5f.js"));
        assert!(is_hashed("frontend-3f2a9c0d1e2b4a5f_bg.wasm"));
        assert!(is_hashed("assets/main-3f2a9c0d1e2b4a5f.css"));
        assert!(!is_hashed("index.html"));
        assert!(!is_hashed("favicon.ico"));
        assert!(!is_hashed("my-app.js"));
        assert!(is_hashed("pkg-3f2a9c0d1e2b4a5f/split_page_cost.wasm"));
        assert!(!is_hashed("pkg/split_page_cost.wasm"));
    }
}
