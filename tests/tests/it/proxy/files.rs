//! Files through falscope: listing, download as an attachment, streamed upload with a cap,
//! upload from URL limited to http(s).

use integration_tests::sim::SimHarness;
use integration_tests::{ws_path, TestApp};
use shared::files::FileItem;
use shared::routes::ws;
use shared::Fetched;

#[tokio::test]
async fn list_download_and_upload_round_trip() {
    let sim = SimHarness::start().await;
    let app = TestApp::spawn_with_sim(&sim, true, &[]).await;
    let root: Fetched<Vec<FileItem>> = app.get(&ws_path(ws::FILES)).await.json().await.unwrap();
    assert!(root.data.iter().all(|f| f.is_dir));
    let resp = app
        .get(&format!(
            "{}?path=datasets/images/dog.png",
            ws_path(ws::FILE_CONTENT)
        ))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "image/png");
    assert_eq!(
        resp.headers()["content-disposition"],
        "attachment; filename=\"dog.png\""
    );
    assert!(resp.bytes().await.unwrap().starts_with(b"\x89PNG"));
    assert_eq!(
        app.get(&format!(
            "{}?path=datasets/none.bin",
            ws_path(ws::FILE_CONTENT)
        ))
        .await
        .status(),
        404
    );

    let payload = vec![7u8; 300_000];
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(payload.clone()).file_name("blob.bin"),
    );
    let resp = app
        .http
        .post(app.url(&format!(
            "{}?path=uploads/blob.bin",
            ws_path(ws::FILE_UPLOAD)
        )))
        .header(shared::auth::CSRF_HEADER, "1")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    let back = app
        .get(&format!(
            "{}?path=uploads/blob.bin",
            ws_path(ws::FILE_CONTENT)
        ))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(back.as_ref(), payload.as_slice());

    let bad = app
        .http
        .post(app.url(&ws_path(ws::FILE_UPLOAD_URL)))
        .header(shared::auth::CSRF_HEADER, "1")
        .json(&serde_json::json!({ "path": "x.txt", "url": "file:///etc/passwd" }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let err: shared::ApiError = bad.json().await.unwrap();
    assert_eq!(err.param.as_deref(), Some("url"));
}

#[tokio::test]
async fn uploads_over_the_cap_get_413_and_never_land() {
    let sim = SimHarness::start().await;
    let app = TestApp::spawn_with_sim(&sim, true, &["--max-upload-mb", "1"]).await;
    let big = vec![1u8; 2 * 1024 * 1024];
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(big).file_name("big.bin"),
    );
    let resp = app
        .http
        .post(app.url(&format!(
            "{}?path=uploads/big.bin",
            ws_path(ws::FILE_UPLOAD)
        )))
        .header(shared::auth::CSRF_HEADER, "1")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    let err: shared::ApiError = resp.json().await.unwrap();
    assert_eq!(err.code, shared::ErrorCode::PayloadTooLarge);
    assert_eq!(
        app.get(&format!(
            "{}?path=uploads/big.bin",
            ws_path(ws::FILE_CONTENT)
        ))
        .await
        .status(),
        404
    );
}
