//! Files in the shared `/data` storage (REFERENCE §2): list root, list a directory, download,
//! upload from a URL (fetched by the simulator itself) and upload a local file (multipart
//! part `file_upload`). An in-memory tree seeded with a few realistic files.
//!
//! Choices where fal is silent: a leading `/` or `/data/` prefix is accepted; listing a missing
//! directory or a file is 400; uploads overwrite and create parent folders; `unzip=true` is
//! rejected with 400 because the simulator does not extract archives.

use super::errors::FalError;
use super::query::{iso_ms, Query};
use super::wire::{FileEntry, UploadSource};
use super::Sim;
use axum::body::Body;
use axum::extract::{Multipart, Path, RawQuery, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// One stored file.
#[derive(Debug, Clone)]
pub struct Stored {
    data: Bytes,
    created: i64,
    updated: i64,
}

/// The storage tree: file paths → contents (folders are implied by paths).
#[derive(Debug, Default)]
pub struct Files(Mutex<BTreeMap<String, Stored>>);

impl Files {
    /// The seeded tree, timestamps relative to `now`.
    pub fn seeded(now: i64) -> Self {
        let day = 86_400_000;
        let file = |bytes: Vec<u8>, age_days: i64| Stored {
            data: Bytes::from(bytes),
            created: now - age_days * day,
            updated: now - age_days * day / 2,
        };
        let pattern = |n: usize, seed: u8| {
            (0..n)
                .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
                .collect::<Vec<u8>>()
        };
        let mut tree = BTreeMap::new();
        tree.insert(
            "datasets/images/cat.jpg".into(),
            file(
                [b"\xFF\xD8\xFF\xE0".to_vec(), pattern(48_000, 7)].concat(),
                30,
            ),
        );
        tree.insert(
            "datasets/images/dog.png".into(),
            file(
                [b"\x89PNG\r\n\x1a\n".to_vec(), pattern(61_500, 3)].concat(),
                29,
            ),
        );
        tree.insert(
            "datasets/prompts.jsonl".into(),
            file(
                b"{\"prompt\":\"a cat astronaut\"}\n{\"prompt\":\"a red fox in snow\"}\n".to_vec(),
                12,
            ),
        );
        tree.insert(
            "models/lora/style-v2.safetensors".into(),
            file(pattern(262_144, 11), 9),
        );
        tree.insert(
            "models/README.md".into(),
            file(b"# Models\nLoRA weights used by flux-studio.\n".to_vec(), 9),
        );
        tree.insert(
            "outputs/2026-11-20/run-001.json".into(),
            file(b"{\"images\":3,\"seed\":1234}\n".to_vec(), 3),
        );
        Self(Mutex::new(tree))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Stored>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Immediate children of `dir` (`""` = root), folders and files, sorted by name.
    fn list(&self, dir: &str) -> Option<Vec<FileEntry>> {
        let tree = self.lock();
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let mut children: BTreeMap<String, FileEntry> = BTreeMap::new();
        let mut found = dir.is_empty();
        for (path, f) in tree
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
        {
            found = true;
            let rest = &path[prefix.len()..];
            let (name, is_file) = match rest.split_once('/') {
                Some((folder, _)) => (folder, false),
                None => (rest, true),
            };
            let full = format!("{prefix}{name}");
            let e = children
                .entry(name.to_owned())
                .or_insert_with(|| FileEntry {
                    path: full,
                    name: name.to_owned(),
                    created_time: iso_ms(f.created),
                    updated_time: iso_ms(f.updated),
                    is_file,
                    size: if is_file { f.data.len() as u64 } else { 0 },
                    checksum_sha256: None,
                    checksum_md5: None,
                });
            // A folder's times span its contents.
            if !is_file {
                e.created_time = e.created_time.clone().min(iso_ms(f.created));
                e.updated_time = e.updated_time.clone().max(iso_ms(f.updated));
            }
        }
        found.then(|| children.into_values().collect())
    }

    fn put(&self, path: String, data: Bytes, now: i64) {
        let mut tree = self.lock();
        let created = tree.get(&path).map_or(now, |f| f.created);
        tree.insert(
            path,
            Stored {
                data,
                created,
                updated: now,
            },
        );
    }
}

/// Normalises a storage path: accepts a leading `/` and a `data/` prefix (the runner's mount
/// point; routes are catch-alls, so `/data/x` arrives as `data/x`); refuses `..`, `.`, empty
/// segments and backslashes. A top-level folder named `data` is therefore not addressable.
pub fn normalize(raw: &str) -> Result<String, FalError> {
    let p = raw.strip_prefix('/').unwrap_or(raw);
    let p = p.strip_prefix("data/").unwrap_or(p);
    let p = p.trim_end_matches('/');
    if p.is_empty()
        || p.split('/')
            .any(|s| s.is_empty() || s == "." || s == ".." || s.contains('\\'))
    {
        return Err(FalError::invalid(format!("invalid path {raw:?}")));
    }
    Ok(p.to_owned())
}

/// `GET /v1/serverless/files/list`.
pub async fn list_root(State(sim): State<Arc<Sim>>) -> Json<Vec<FileEntry>> {
    Json(sim.files.list("").unwrap_or_default())
}

/// `GET /v1/serverless/files/list/{*dir}`.
pub async fn list_dir(
    State(sim): State<Arc<Sim>>,
    Path(dir): Path<String>,
) -> Result<Json<Vec<FileEntry>>, FalError> {
    let dir = normalize(&dir)?;
    if sim.files.lock().contains_key(&dir) {
        return Err(FalError::invalid(format!(
            "{dir} is a file, not a directory"
        )));
    }
    sim.files
        .list(&dir)
        .map(Json)
        .ok_or_else(|| FalError::invalid(format!("directory {dir} does not exist")))
}

/// `GET /v1/serverless/files/file/{*file}`: the bytes, with a guessed content type.
pub async fn download(
    State(sim): State<Arc<Sim>>,
    Path(file): Path<String>,
) -> Result<Response, FalError> {
    let path = normalize(&file)?;
    let data = {
        let tree = sim.files.lock();
        match tree.get(&path) {
            Some(f) => f.data.clone(),
            None if tree.keys().any(|k| k.starts_with(&format!("{path}/"))) => {
                return Err(FalError::invalid(format!("{path} is a directory")))
            }
            None => return Err(FalError::NotFound),
        }
    };
    let mime = mime_guess::from_path(&path).first_or_octet_stream();
    let mut resp = Body::from(data).into_response();
    if let Ok(v) = HeaderValue::from_str(mime.as_ref()) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    Ok(resp)
}

/// `POST /v1/serverless/files/file/url/{*file}`: the simulator fetches the URL itself.
pub async fn upload_url(
    State(sim): State<Arc<Sim>>,
    Path(file): Path<String>,
    body: Bytes,
) -> Result<Json<bool>, FalError> {
    let path = normalize(&file)?;
    let req: UploadSource = serde_json::from_slice(&body)
        .map_err(|e| FalError::invalid(format!("body must be {{\"url\": \"...\"}}: {e}")))?;
    let url = url::Url::parse(&req.url).map_err(|_| FalError::invalid("url is not a valid URI"))?;
    let fetched = super::outbound::fetch(&url, sim.outbound)
        .await
        .map_err(|e| match e {
            super::outbound::FetchError::TooLarge(_) => FalError::TooLarge(e.to_string()),
            e => FalError::invalid(e),
        })?;
    sim.files.put(path, fetched, sim.now_ms());
    Ok(Json(true))
}

/// `POST /v1/serverless/files/file/local/{*target_path}`: multipart part `file_upload`.
pub async fn upload_local(
    State(sim): State<Arc<Sim>>,
    Path(target): Path<String>,
    RawQuery(raw): RawQuery,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Json<bool>, FalError> {
    // A body that is not multipart is fal's JSON 400, not the framework's text/plain one.
    let mut form =
        form.map_err(|e| FalError::invalid(format!("expected a multipart/form-data body: {e}")))?;
    let path = normalize(&target)?;
    if Query::parse(raw.as_deref())?.flag("unzip", false)? {
        return Err(FalError::invalid(
            "unzip is not supported by the fal simulator",
        ));
    }
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| FalError::invalid(format!("malformed multipart body: {e}")))?
    {
        if field.name() == Some("file_upload") {
            let data = field
                .bytes()
                .await
                .map_err(|e| FalError::invalid(format!("could not read file_upload: {e}")))?;
            sim.files.put(path, data, sim.now_ms());
            return Ok(Json(true));
        }
    }
    Err(FalError::invalid(
        "the multipart part file_upload is required",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_accept_data_prefix_and_refuse_traversal() {
        assert_eq!(normalize("/data/datasets/a.txt").unwrap(), "datasets/a.txt");
        assert_eq!(normalize("/datasets/a.txt").unwrap(), "datasets/a.txt");
        assert_eq!(normalize("data/datasets/a.txt").unwrap(), "datasets/a.txt");
        assert_eq!(normalize("datasets").unwrap(), "datasets");
        for bad in ["", "../etc/passwd", "a/../b", "a//b", "./a", "a\\b", "/"] {
            assert!(normalize(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn listing_shows_immediate_children_with_folder_flags() {
        let files = Files::seeded(1_795_000_000_000);
        let root = files.list("").unwrap();
        let names: Vec<(&str, bool)> = root.iter().map(|e| (e.name.as_str(), e.is_file)).collect();
        assert_eq!(
            names,
            [("datasets", false), ("models", false), ("outputs", false)]
        );
        let images = files.list("datasets/images").unwrap();
        assert_eq!(images[0].path, "datasets/images/cat.jpg");
        assert!(images.iter().all(|e| e.is_file && e.size > 0));
        assert!(files.list("nope").is_none());
    }
}
