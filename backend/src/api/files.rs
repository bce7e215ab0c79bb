//! The shared `/data` storage: list, download (streamed), upload (streamed, size-capped) and
//! upload from an http(s) URL (`reports::files`). Paths are validated before anything reaches
//! fal.

use super::query::Query;
use super::respond::fetched;
use crate::error::AppError;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use shared::files::UploadFromUrl;
use shared::query::{FileQuery, FilesQuery};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A storage path: relative, `/`-separated, no `.`/`..`/empty segments, no backslashes or
/// control characters, at most 1,024 bytes. A leading `/` is dropped.
pub fn valid_path(param: &str, raw: &str) -> Result<String, AppError> {
    let p = raw.trim_start_matches('/').trim_end_matches('/');
    let ok = !p.is_empty()
        && p.len() <= 1024
        && p.split('/').all(|s| !s.is_empty() && s != "." && s != "..")
        && !p.chars().any(|c| c == '\\' || c.is_control());
    if ok {
        Ok(p.to_owned())
    } else {
        Err(AppError::invalid(param, "must be a relative path like datasets/images/cat.jpg, without `..`, empty segments or backslashes"))
    }
}

/// `GET /api/ws/{ws}/files?dir=`.
pub async fn list_files(
    State(state): State<AppState>,
    Path(ws): Path<String>,
    Query(q): Query<FilesQuery>,
) -> Result<Response, AppError> {
    let dir = q.dir.as_deref().map(|d| valid_path("dir", d)).transpose()?;
    Ok(fetched(&state.reports.files(&ws, dir).await?))
}

/// `GET /api/ws/{ws}/files/content?path=`: streamed, as an attachment.
pub async fn download_file(
    State(state): State<AppState>,
    Path(ws): Path<String>,
    Query(q): Query<FileQuery>,
) -> Result<Response, AppError> {
    let path = valid_path("path", &q.path)?;
    let download = state.reports.download_file(&ws, &path).await?;
    let name = path
        .rsplit('/')
        .next()
        .unwrap_or("download")
        .replace(['"', '\r', '\n'], "_");
    let mut resp = Body::from_stream(download.body).into_response();
    let h = resp.headers_mut();
    let content_type = download.content_type.unwrap_or_else(|| {
        mime_guess::from_path(&path)
            .first_or_octet_stream()
            .to_string()
    });
    // Files are user content served from falscope's own origin: a stored `.html`, `.js` or
    // `.svg` must not run as falscope (it would satisfy `script-src 'self'`). Active types go
    // out as bytes, and every download is sandboxed and same-origin only (what GitHub's and
    // Google's user-content hosts do, short of a separate domain).
    let content_type = if is_active(&content_type, &path) {
        "application/octet-stream".to_owned()
    } else {
        content_type
    };
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    if let Some(len) = download.content_length {
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(resp)
}

/// `POST /api/ws/{ws}/files/upload?path=` with multipart part `file`: streamed to fal.
pub async fn upload_file(
    State(state): State<AppState>,
    Path(ws): Path<String>,
    Query(q): Query<FileQuery>,
    headers: HeaderMap,
    mut form: Multipart,
) -> Result<Response, AppError> {
    let path = valid_path("path", &q.path)?;
    let max = state.limits.max_upload;
    let too_large = || {
        AppError::TooLarge(format!(
            "uploads are limited to {} MiB (--max-upload-mb)",
            max / (1024 * 1024)
        ))
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    // Multipart framing adds a little; the exact cap is enforced on the file bytes below.
    if declared.is_some_and(|n| n > max + 64 * 1024) {
        return Err(too_large());
    }
    state.reports.workspace(&ws)?;
    let field = loop {
        match form
            .next_field()
            .await
            .map_err(|e| AppError::invalid("file", format!("malformed multipart body: {e}")))?
        {
            Some(f) if f.name() == Some("file") => break f,
            Some(_) => continue,
            None => {
                return Err(AppError::invalid(
                    "file",
                    "the multipart part `file` is required",
                ))
            }
        }
    };
    let file_name = path.rsplit('/').next().unwrap_or("upload").to_owned();
    // The multipart field borrows the request, so it is pumped through a channel into the
    // 'static stream the client sends; both run in this task.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(4);
    let over = Arc::new(AtomicBool::new(false));
    let pump = {
        let over = over.clone();
        async move {
            let mut field = field;
            let mut sent: u64 = 0;
            while let Some(chunk) = field.chunk().await.transpose() {
                let item =
                    chunk.map_err(|e| std::io::Error::other(format!("upload interrupted: {e}")));
                if let Ok(c) = &item {
                    sent += c.len() as u64;
                    if sent > max {
                        over.store(true, Ordering::SeqCst);
                        let _ = tx
                            .send(Err(std::io::Error::other("upload too large")))
                            .await;
                        return;
                    }
                }
                if tx.send(item).await.is_err() {
                    return;
                }
            }
        }
    };
    let body = tokio_stream::wrappers::ReceiverStream::new(rx);
    let upload = state.reports.upload_file(&ws, &path, &file_name, body);
    let (result, ()) = tokio::join!(upload, pump);
    if over.load(Ordering::SeqCst) {
        return Err(too_large());
    }
    result?;
    tracing::info!(workspace = %ws, %path, "file uploaded");
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "path": path })),
    )
        .into_response())
}

/// `POST /api/ws/{ws}/files/upload-url`: fal fetches an http(s) URL into `path`.
pub async fn upload_from_url(
    State(state): State<AppState>,
    Path(ws): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let req: UploadFromUrl = serde_json::from_slice(&body).map_err(|e| {
        AppError::invalid(
            "body",
            format!("expected {{\"path\": \"...\", \"url\": \"https://...\"}}: {e}"),
        )
    })?;
    let path = valid_path("path", &req.path)?;
    let url =
        url::Url::parse(&req.url).map_err(|_| AppError::invalid("url", "is not a valid URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(AppError::invalid("url", "must be an http or https URL"));
    }
    (state.reports)
        .upload_from_url(&ws, &path, url.as_str())
        .await?;
    tracing::info!(workspace = %ws, %path, "file uploaded from URL");
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "path": path })),
    )
        .into_response())
}

/// Types a browser would execute or render with scripts (HTML, JavaScript, SVG, XML), judged
/// by the type fal gave and by the file's extension.
fn is_active(content_type: &str, path: &str) -> bool {
    let ct = content_type.to_ascii_lowercase();
    let guessed = mime_guess::from_path(path)
        .first_or_octet_stream()
        .to_string();
    [ct.as_str(), guessed.as_str()].iter().any(|t| {
        t.contains("html")
            || t.contains("javascript")
            || t.contains("ecmascript")
            || t.contains("svg")
            || t.contains("xml")
    })
}

#[cfg(test)]
mod tests {
    use super::valid_path;

    #[test]
    fn active_types_are_recognised_by_type_and_by_name() {
        use super::is_active;
        assert!(is_active("text/html; charset=utf-8", "a.bin"));
        assert!(is_active("application/octet-stream", "x/evil.svg"));
        assert!(is_active("text/plain", "app.js"));
        assert!(is_active("application/xhtml+xml", "a"));
        assert!(!is_active("image/png", "cat.png"));
        assert!(!is_active("application/json", "data.json"));
    }

    #[test]
    fn paths_refuse_traversal() {
        assert_eq!(
            valid_path("p", "/datasets/a.txt").unwrap(),
            "datasets/a.txt"
        );
        for bad in [
            "",
            "/",
            "../etc/passwd",
            "a/../../b",
            "a//b",
            "a\\b",
            "./a",
            "a\nb",
        ] {
            assert!(valid_path("p", bad).is_err(), "{bad:?}");
        }
    }
}
