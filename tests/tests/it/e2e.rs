//! Browser end-to-end: falscope in demo mode, headless Chromium through chromedriver.
//! Needs the trunk build (`frontend/dist`) and `chromedriver`; `cargo xtask test` provides both
//! and runs these with `--include-ignored`.

use integration_tests::browser::Browser;
use integration_tests::TestApp;

#[tokio::test]
#[ignore = "needs frontend/dist and chromedriver: run through `cargo xtask test`"]
async fn overview_draws_the_runners_chart_without_console_errors() {
    let app = TestApp::spawn_demo(&[]).await;
    let browser = Browser::start().await;
    browser.goto(&app.url("/")).await;
    let painted = browser.painted_pixels("runners-chart").await;
    assert!(painted > 2_000, "the chart drew only {painted} pixels");
    assert!(browser.text().await.contains("Demo mode"));
    browser.screenshot("overview").await;
    browser.assert_no_console_errors().await;
    browser.close().await;
}
