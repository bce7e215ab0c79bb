//! The SPA server: client routes fall back to index.html (no-cache), hashed assets are
//! immutable, and no request path reads a file outside the dist folder.

use integration_tests::TestApp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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

/// The status and the rest of the answer (headers and body) to `GET {target}` sent as written:
/// HTTP clients (reqwest included) resolve `..` and `%2e%2e` segments before sending, so a
/// traversal can only be tried over a bare socket.
async fn raw_get(app: &TestApp, target: &str) -> (u16, String) {
    let mut tcp = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let request = format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tcp.read_to_end(&mut answer);
    tokio::time::timeout(std::time::Duration::from_secs(10), read)
        .await
        .expect("falscope answers and closes")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = (answer.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"));
    (status, answer)
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
}

#[tokio::test]
async fn no_request_path_reads_outside_the_dist_folder() {
    // dist/ sits next to a secret file and a secret folder: one `..` away.
    let root = tempfile::tempdir().unwrap();
    let dist = root.path().join("dist");
    std::fs::create_dir_all(root.path().join("private")).unwrap();
    std::fs::create_dir(&dist).unwrap();
    std::fs::write(
        dist.join("index.html"),
        "<!doctype html><title>fixture</title>",
    )
    .unwrap();
    std::fs::write(dist.join("frontend-0123456789abcdef.js"), "export {}").unwrap();
    const SECRET: &str = "not-for-the-browser-5d1c";
    std::fs::write(root.path().join("secret.txt"), SECRET).unwrap();
    std::fs::write(root.path().join("private/key.txt"), SECRET).unwrap();
    let app = TestApp::spawn_demo(&["--dist-dir", dist.to_str().unwrap()]).await;

    // The socket reaches files when they are there (the helper reads the whole answer).
    let (status, answer) = raw_get(&app, "/frontend-0123456789abcdef.js").await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.ends_with("export {}"), "{answer}");

    for target in [
        "/../secret.txt",
        "/../../secret.txt",
        "/frontend/../../secret.txt",
        "/./../secret.txt",
        "/../private/key.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/.%2e/secret.txt",
        "/%2e%2e%2fsecret.txt",
        "/..%2fsecret.txt",
        "/..%5csecret.txt",
        "/%2e%2e/private/key.txt",
        "/..",
    ] {
        let (status, answer) = raw_get(&app, target).await;
        assert_eq!(status, 404, "{target}: {answer}");
        assert!(
            !answer.contains(SECRET),
            "{target} read outside dist: {answer}"
        );
        assert!(
            !answer.contains("fixture"),
            "{target} is not a client route: {answer}"
        );
    }
}
