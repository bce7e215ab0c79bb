//! The SPA server: client routes fall back to index.html (no-cache), hashed assets are immutable.

use integration_tests::TestApp;

/// A dist folder with an index.html and one hashed asset, removed when dropped.
fn dist_fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("index.html"),
        "<!doctype html><title>fixture</title>",
    )
    .expect("write index.html");
    std::fs::write(dir.path().join("frontend-0123456789abcdef.js"), "export {}")
        .expect("write asset");
    dir
}

#[tokio::test]
async fn client_routes_get_index_html_without_caching() {
    let dist = dist_fixture();
    let app = TestApp::spawn_demo(&["--dist-dir", dist.path().to_str().unwrap()]).await;
    for path in [
        "/",
        "/analytics",
        "/cost",
        "/alerts",
        "/requests/0193a0b2-0000-7000-8000-000000000000",
    ] {
        let resp = app.get(path).await;
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(resp.headers()["cache-control"], "no-cache", "{path}");
        assert!(resp.text().await.unwrap().contains("fixture"));
    }
}

#[tokio::test]
async fn hashed_assets_are_immutable_and_missing_assets_404() {
    let dist = dist_fixture();
    let app = TestApp::spawn_demo(&["--dist-dir", dist.path().to_str().unwrap()]).await;
    let resp = app.get("/frontend-0123456789abcdef.js").await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("javascript"));
    assert_eq!(app.get("/frontend-ffffffffffffffff.js").await.status(), 404);
    assert_eq!(
        app.get("/../../etc/passwd").await.status(),
        200,
        "normalised to a client route"
    );
    assert_eq!(app.get("/%2e%2e/Cargo.toml").await.status(), 404);
}
