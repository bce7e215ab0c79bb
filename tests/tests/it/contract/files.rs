//! Files: bare-array listings, download, uploads answering `true`, path validation.

use backend::upstream::{FalApi, UpstreamError};
use futures::StreamExt;
use integration_tests::sim::{SimHarness, API_KEY};
use reqwest::Method;

async fn download(h: &SimHarness, path: &str) -> Vec<u8> {
    let d = h.client.download_file(path).await.unwrap();
    d.body.map(|c| c.unwrap().to_vec()).concat().await
}

#[tokio::test]
async fn listings_are_bare_arrays_of_immediate_children() {
    let h = SimHarness::start().await;
    let raw: serde_json::Value = h.get_json("/v1/serverless/files/list", API_KEY).await;
    assert!(raw.is_array());
    let root = h.client.list_files(None).await.unwrap();
    assert!(root
        .iter()
        .all(|e| !e.is_file && e.size == 0 && !e.path.contains('/')));
    let images = h.client.list_files(Some("datasets/images")).await.unwrap();
    assert_eq!(
        images.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(),
        ["datasets/images/cat.jpg", "datasets/images/dog.png"]
    );
    assert!(images
        .iter()
        .all(|e| e.is_file && e.size > 0 && e.created_time.ends_with('Z')));
    let same = h
        .client
        .list_files(Some("/data/datasets/images"))
        .await
        .unwrap();
    assert_eq!(same, images, "a /data/ prefix is accepted");
    let err = h
        .client
        .list_files(Some("datasets/none"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, UpstreamError::Status { status: 400, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn download_streams_bytes_with_type_and_refuses_bad_paths() {
    let h = SimHarness::start().await;
    let d = h
        .client
        .download_file("datasets/images/dog.png")
        .await
        .unwrap();
    assert_eq!(d.content_type.as_deref(), Some("image/png"));
    let len = d.content_length.unwrap();
    let bytes = d.body.map(|c| c.unwrap().to_vec()).concat().await;
    assert_eq!(bytes.len() as u64, len);
    assert!(bytes.starts_with(b"\x89PNG"));
    let err = h
        .client
        .download_file("datasets/missing.bin")
        .await
        .unwrap_err();
    assert!(
        matches!(err, UpstreamError::Status { status: 404, .. }),
        "{err:?}"
    );
    for bad in [
        "/v1/serverless/files/file/datasets%2F..%2Fsecret",
        "/v1/serverless/files/file/datasets/images",
    ] {
        let status = h
            .raw(Method::GET, bad, Some(API_KEY))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 400, "{bad}");
    }
}

#[tokio::test]
async fn uploads_store_files_and_answer_true() {
    let h = SimHarness::start().await;
    let body = futures::stream::iter(vec![
        Ok(bytes::Bytes::from_static(b"hello ")),
        Ok(bytes::Bytes::from_static(b"world")),
    ])
    .boxed();
    assert!(h
        .client
        .upload_local("uploads/new dir/hello.txt", "hello.txt", body, false)
        .await
        .unwrap());
    assert_eq!(
        download(&h, "uploads/new dir/hello.txt").await,
        b"hello world"
    );
    let listed = h.client.list_files(Some("uploads/new dir")).await.unwrap();
    assert_eq!(listed[0].name, "hello.txt");

    // Upload from URL: the simulator fetches a URL itself (here, one of its own files).
    let source = h.url("/_sim/stats");
    assert!(h
        .client
        .upload_from_url("uploads/stats.json", &source)
        .await
        .unwrap());
    assert!(download(&h, "uploads/stats.json").await.starts_with(b"{"));
    let err = h
        .client
        .upload_from_url("uploads/x", "ftp://example.com/x")
        .await
        .unwrap_err();
    assert!(matches!(err, UpstreamError::Status { status: 400, .. }));

    let no_part = h
        .raw(
            Method::POST,
            "/v1/serverless/files/file/local/a.txt",
            Some(API_KEY),
        )
        .multipart(reqwest::multipart::Form::new().text("wrong_name", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_part.status(), 400);
    // Not multipart at all: still fal's JSON error body, not the framework's plain text.
    let not_multipart = h
        .raw(
            Method::POST,
            "/v1/serverless/files/file/local/a.txt",
            Some(API_KEY),
        )
        .body("plain bytes")
        .send()
        .await
        .unwrap();
    assert_eq!(not_multipart.status(), 400);
    let body: serde_json::Value = not_multipart.json().await.unwrap();
    assert_eq!(body["error"]["type"], "validation_error", "{body}");
    let extra = h
        .raw(
            Method::POST,
            "/v1/serverless/files/file/url/a.txt",
            Some(API_KEY),
        )
        .json(&serde_json::json!({ "url": source, "extra": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(extra.status(), 400, "additionalProperties: false");
}
