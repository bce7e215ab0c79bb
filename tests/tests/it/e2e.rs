//! Browser end-to-end: falscope in demo mode, headless Chromium through chromedriver.
//! Needs the release frontend (`frontend/dist`, built by `cargo xtask`) and `chromedriver`; `cargo xtask test` provides both
//! and runs these with `--include-ignored`. Screenshots land in `target/e2e-screenshots/`.

use backend::clock::Clock as _;
use integration_tests::browser::Browser;
use integration_tests::TestApp;

#[tokio::test]
#[ignore = "needs frontend/dist and chromedriver: run through `cargo xtask test`"]
async fn overview_draws_the_runners_chart_without_console_errors() {
    let app = TestApp::spawn_demo(&[]).await;
    let browser = Browser::start().await;
    browser.goto(&app.url("/")).await;
    let painted = browser.series_pixels("runners-chart").await;
    assert!(
        painted > 1_000,
        "the runner series drew only {painted} pixels"
    );
    browser.wait_for("#apps-table tbody tr").await;
    assert!(browser.text().await.contains("Demo mode"));
    // The stored history, drawn as steps over the whole hour asked for.
    browser.goto(&app.url("/?from=now-1h")).await;
    let history = browser.series_pixels("history-queue").await;
    assert!(history > 0, "the queue history drew nothing");
    browser.screenshot("overview-light").await;
    browser.assert_no_console_errors().await;
    browser.close().await;
}

#[tokio::test]
#[ignore = "needs frontend/dist and chromedriver: run through `cargo xtask test`"]
async fn every_page_renders_its_content_in_both_themes() {
    let app = TestApp::spawn_demo(&[]).await;
    let browser = Browser::start().await;
    let pages: [(&str, &str, &str); 10] = [
        ("overview", "/", "#history-runners"),
        ("errors", "/errors", "#errors-table tbody tr:not(.empty)"),
        // Analytics and Requests open on every endpoint, with nothing picked.
        (
            "analytics",
            "/analytics?from=now-6h",
            "#analytics-summary tbody tr:not(.empty)",
        ),
        ("usage", "/usage", "#usage-lines tbody tr:not(.empty)"),
        ("cost", "/cost", "#split-table tbody tr"),
        // The rule form offers fal's apps.
        (
            "alerts",
            "/alerts",
            "#new-rule #rule-app option:not([value=''])",
        ),
        (
            "requests",
            "/requests?from=now-1h",
            "#requests-table tbody tr",
        ),
        ("logs", "/logs?from=now-15m", ".log-line"),
        ("files", "/files", "#files-table tbody tr"),
        // Nothing watched yet: the demo offers the simulator's models.
        ("models", "/models", "#watched-models .suggestion"),
    ];
    let mut violations = Vec::new();
    for dark in [false, true] {
        for (name, path, marker) in pages {
            browser.goto(&app.url(path)).await;
            browser.wait_for(marker).await;
            if name == "analytics" || name == "requests" {
                let note = browser
                    .eval("return document.getElementById('endpoints-shown').textContent")
                    .await;
                assert!(
                    note.as_str()
                        .is_some_and(|n| n.contains("Showing all 9 endpoints")),
                    "{name}: {note}"
                );
            }
            if name == "analytics" && !dark {
                let painted = browser.series_pixels("analytics-requests").await;
                assert!(painted > 500, "analytics series drew {painted} pixels");
                browser
                    .eval("const c = document.getElementById('analytics-requests'); const r = c.getBoundingClientRect(); c.dispatchEvent(new MouseEvent('mousemove', { clientX: r.left + r.width * 0.7, clientY: r.top + 60, bubbles: true })); return true;")
                    .await;
                browser.wait_for(".readout").await;
                browser.screenshot("analytics-hover").await;
            }
            if name == "overview" {
                // The stored history: each chart draws series and says (in its screen-reader
                // summary) which apps' samples they are.
                for chart in ["history-runners", "history-queue"] {
                    let painted = browser.series_pixels(chart).await;
                    assert!(painted > 0, "{chart} drew nothing");
                    let script =
                        format!("return document.getElementById('{chart}-summary').textContent");
                    let summary = browser.eval(&script).await;
                    let summary = summary.as_str().unwrap_or_default();
                    assert!(
                        summary.contains("acme/chat-llm: latest"),
                        "{chart} shows no stored samples: {summary:?}"
                    );
                }
                browser
                    .eval(
                        "document.getElementById('history-runners').scrollIntoView(); return true;",
                    )
                    .await;
                let theme = if dark { "dark" } else { "light" };
                browser
                    .screenshot(&format!("overview-history-{theme}"))
                    .await;
            }
            if name == "usage" {
                let painted = browser.series_pixels("usage-spend").await;
                assert!(painted > 1_000, "usage series drew {painted} pixels");
            }
            if name == "cost" {
                for chart in ["forecast-chart", "split-chart"] {
                    let painted = browser.series_pixels(chart).await;
                    assert!(painted > 1_000, "{chart} series drew {painted} pixels");
                }
                browser.wait_for("#cost-per-success tbody tr").await;
                browser.wait_for("#top-movers tbody tr").await;
                browser.wait_for("#prices tbody tr").await;
                browser
                    .eval("document.getElementById('split-chart').scrollIntoView(); return true;")
                    .await;
                browser
                    .screenshot(&format!(
                        "cost-split-{}",
                        if dark { "dark" } else { "light" }
                    ))
                    .await;
                browser.wait_for_text("Projected month end").await;
                browser.wait_for_text("Per successful request").await;
                browser
                    .eval("document.getElementById('cost-per-success').scrollIntoView(); return true;")
                    .await;
                browser
                    .screenshot(&format!(
                        "cost-per-success-{}",
                        if dark { "dark" } else { "light" }
                    ))
                    .await;
                browser.eval("window.scrollTo(0, 0); return true;").await;
            }
            if dark && name == "overview" {
                browser.click("#theme-toggle").await;
            }
            let theme = if dark { "dark" } else { "light" };
            if dark {
                let current = browser
                    .eval("return document.documentElement.dataset.theme")
                    .await;
                assert_eq!(
                    current, "dark",
                    "{name}: the dark theme is applied and persisted"
                );
            }
            browser.screenshot(&format!("{name}-{theme}")).await;
            browser.assert_no_console_errors().await;
            for line in browser.accessibility_violations().await {
                violations.push(format!("{name} ({theme}): {line}"));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "axe-core: serious or critical accessibility violations:\n{}",
        violations.join("\n")
    );
    browser.close().await;
}

#[tokio::test]
#[ignore = "needs frontend/dist and chromedriver: run through `cargo xtask test`"]
async fn a_request_row_opens_its_page_with_logs() {
    let app = TestApp::spawn_demo(&[]).await;
    let browser = Browser::start().await;
    browser
        .goto(&app.url("/requests?endpoints=acme/chat-llm&from=now-2h&status=success"))
        .await;
    browser.click("#requests-table tbody tr a").await;
    browser.wait_for("#request-facts").await;
    assert!(
        browser.url().await.contains("/requests/"),
        "{}",
        browser.url().await
    );
    browser.wait_for("#request-logs .log-line").await;
    browser.wait_for_text("completed in").await;
    browser.screenshot("request-detail").await;
    browser.assert_accessible("request-detail").await;
    browser.assert_no_console_errors().await;
    browser.close().await;
}

#[tokio::test]
#[ignore = "needs frontend/dist and chromedriver: run through `cargo xtask test`"]
async fn the_range_lives_in_the_url_and_survives_a_reload() {
    let app = TestApp::spawn_demo(&[]).await;
    let browser = Browser::start().await;
    browser
        .goto(&app.url("/analytics?endpoints=acme/chat-llm&from=now-6h"))
        .await;
    let from = browser.wait_for("#range-from").await;
    assert_eq!(from.prop("value").await.unwrap().as_deref(), Some("now-6h"));
    browser.click(".presets button:nth-child(2)").await; // "1 h"
    let url = integration_tests::browser::poll(|| async {
        let u = browser.url().await;
        u.contains("from=now-1h").then_some(u)
    })
    .await
    .expect("the preset is written to the URL");
    browser.goto(&url).await;
    let from = browser.wait_for("#range-from").await;
    assert_eq!(
        from.prop("value").await.unwrap().as_deref(),
        Some("now-1h"),
        "reloaded from the URL"
    );
    assert!(
        url.contains("endpoints=acme/chat-llm"),
        "other view state is kept: {url}"
    );
    browser.assert_no_console_errors().await;
    browser.close().await;
}

#[tokio::test]
#[ignore = "needs frontend/dist and chromedriver: run through `cargo xtask test`"]
async fn the_live_tail_streams_pauses_and_resumes() {
    use integration_tests::browser::poll;
    let app = TestApp::spawn_demo(&[]).await;
    let browser = Browser::start().await;
    browser.goto(&app.url("/logs?mode=live")).await;
    browser.wait_for(".log-spacer .log-line").await;
    const SHOWN: &str = "return document.getElementById('tail-state').textContent";
    const HELD: &str =
        "const b = document.getElementById('tail-resume'); return b ? b.textContent : ''";
    browser.click("#tail-pause").await;
    browser.wait_for("#tail-resume").await;
    let at_pause = number_in(&browser, SHOWN).await.expect("a line count");
    // Lines keep arriving while paused: they are held, not shown.
    let waiting = poll(|| async { number_in(&browser, HELD).await.filter(|n| *n >= 3) })
        .await
        .expect("lines arrive while paused");
    assert_eq!(
        number_in(&browser, SHOWN).await,
        Some(at_pause),
        "no line was shown while paused"
    );
    browser.click("#tail-resume").await;
    browser.wait_for("#tail-pause").await;
    let resumed = poll(|| async {
        number_in(&browser, SHOWN)
            .await
            .filter(|n| *n >= at_pause + waiting)
    })
    .await
    .expect("the held lines are shown on resume");
    browser.screenshot("logs-live").await;
    browser.click("#tail-clear").await;
    // Cleared: the count starts again from the lines that came after the click.
    let cleared =
        poll(|| async { number_in(&browser, SHOWN).await.filter(|n| *n < resumed) }).await;
    assert!(cleared.is_some(), "lines remain after Clear");
    browser.assert_no_console_errors().await;
    browser.close().await;
}

#[tokio::test]
#[ignore = "needs frontend/dist and chromedriver: run through `cargo xtask test`"]
async fn token_mode_signs_in_shows_the_role_and_signs_out() {
    use integration_tests::auth::{password, user, AuthFixture};
    use shared::auth::Role;
    let auth = AuthFixture::write("");
    let app = TestApp::spawn_demo(&["--auth", "token", "--auth-file", &auth.arg()]).await;
    let browser = Browser::start().await;
    browser.goto(&app.url("/logs?from=now-15m")).await;
    browser.wait_for("form.sign-in").await;
    browser.screenshot("sign-in").await;
    browser.assert_accessible("sign-in").await;
    browser.type_into("#username", &user(Role::Viewer)).await;
    browser.type_into("#password", "wrong").await;
    browser.click("form.sign-in button[type=submit]").await;
    browser.wait_for_text("wrong user name or password").await;
    // The only console error so far is the refused login itself (no page loaded data early).
    let errors = browser.console_errors().await;
    assert!(
        errors
            .iter()
            .all(|e| e.contains("/api/auth/login") && e.contains("401")),
        "{errors:#?}"
    );
    browser
        .type_into("#password", &password(Role::Viewer))
        .await;
    browser.click("form.sign-in button[type=submit]").await;
    // The same view opens once signed in, with the role in the header.
    browser.wait_for(".log-line").await;
    browser.wait_for_text("viewer-user · viewer").await;
    browser.screenshot("signed-in").await;
    let nav = browser
        .eval("return document.querySelector('.topbar nav').textContent")
        .await;
    let nav = nav.as_str().unwrap_or_default().to_owned();
    assert!(nav.contains("Logs") && !nav.contains("Usage"), "{nav}");
    // What a viewer cannot use, it does not see: no download links, no upload forms, no cost
    // column, and one explanation on a page it cannot open.
    let count = |css: &str| format!("return document.querySelectorAll('{css}').length");
    browser.goto(&app.url("/files")).await;
    browser.wait_for("#files-table tbody tr").await;
    browser.wait_for_text("need the operator role").await;
    assert_eq!(browser.eval(&count("#files-table a[download]")).await, 0);
    assert_eq!(browser.eval(&count("#upload-file, #upload-url")).await, 0);
    browser
        .goto(&app.url("/requests?endpoints=acme/flux-studio&from=now-1h"))
        .await;
    browser.wait_for("#requests-table tbody tr").await;
    let head = browser
        .eval("return document.querySelector('#requests-table thead').textContent")
        .await;
    assert!(!head.as_str().unwrap().contains("Cost"), "{head}");
    browser.goto(&app.url("/cost")).await;
    browser.wait_for_text("Cost needs the billing role").await;
    assert_eq!(browser.eval(&count(".state-error")).await, 1);
    browser.screenshot("viewer-cost").await;
    browser.assert_accessible("viewer-cost").await;
    browser.assert_no_console_errors().await;
    browser.click("#sign-out").await;
    browser.wait_for("form.sign-in").await;
    browser.assert_no_console_errors().await;
    browser.close().await;
}

#[tokio::test]
#[ignore = "needs frontend/dist and chromedriver: run through `cargo xtask test`"]
async fn the_time_zone_is_chosen_in_the_header_and_kept_in_the_url() {
    let app = TestApp::spawn_demo(&[]).await;
    let browser = Browser::start().await;
    browser
        .goto(&app.url("/requests?endpoints=acme/flux-studio&from=now-1h&tz=Asia/Tokyo"))
        .await;
    browser.wait_for("#requests-table tbody tr").await;
    browser.wait_for_text("Ended (Asia/Tokyo)").await;
    let picked = browser
        .eval("return document.getElementById('tz').value")
        .await;
    assert_eq!(picked, "Asia/Tokyo");
    browser
        .eval("const s = document.getElementById('tz'); s.value = 'UTC'; s.dispatchEvent(new Event('change', { bubbles: true })); return true;")
        .await;
    browser.wait_for_text("Ended (UTC)").await;
    assert!(
        !browser.url().await.contains("tz="),
        "UTC is the default and leaves the URL"
    );
    browser.assert_no_console_errors().await;
    browser.close().await;
}

#[tokio::test]
#[ignore = "needs frontend/dist and chromedriver: run through `cargo xtask test`"]
async fn an_alert_rule_made_in_the_form_fires_and_shows_in_the_header() {
    use integration_tests::sim::{SimHarness, ADMIN_KEY, API_KEY};
    use shared::alerts::{AlertState, AlertsView};
    // The simulator's fixed clock, not the real one: the last two hours always hold the same
    // chat-llm 5xx, at night and at weekends too.
    let sim = SimHarness::start().await;
    let app = TestApp::spawn_with_sim_edited(&sim, API_KEY, Some(ADMIN_KEY), &[], |c| {
        c.alerts.evaluate_every = std::time::Duration::from_millis(500);
    })
    .await;
    let browser = Browser::start().await;
    browser.goto(&app.url("/alerts")).await;
    browser.wait_for("#new-rule").await;
    browser.wait_for_text("No rules yet").await;
    let choose = |id: &str, value: &str| {
        format!("const s = document.getElementById('{id}'); s.value = '{value}'; s.dispatchEvent(new Event('change', {{ bubbles: true }})); return true;")
    };
    let value = |id: &str| {
        let script = format!("return document.getElementById('{id}')?.value ?? null");
        let browser = &browser;
        async move { browser.eval(&script).await }
    };
    // A queue size has no window; a p90 latency brings its own default, and a decimal typed
    // key by key is kept.
    assert_eq!(value("rule-above").await, "50");
    assert_eq!(value("rule-window").await, serde_json::Value::Null);
    browser.eval(&choose("rule-metric", "p90_latency")).await;
    assert_eq!(value("rule-above").await, "10");
    assert_eq!(value("rule-window").await, "15");
    browser.type_into("#rule-name", "slow").await;
    browser.fill("#rule-above", "99.5").await;
    assert_eq!(value("rule-above").await, "99.5");
    browser.click("#new-rule button[type=submit]").await;
    browser
        .wait_for_text("p90 latency (s) above 99.5 over 15 min")
        .await;

    browser.eval(&choose("rule-app", "chat-llm")).await;
    browser.eval(&choose("rule-metric", "error_rate")).await;
    assert_eq!(
        value("rule-above").await,
        "0.05",
        "the 5xx rate's own default"
    );
    browser.fill("#rule-above", "0.05").await;
    assert_eq!(value("rule-above").await, "0.05", "typed, not 050");
    // An error rate is a share: 5 is refused with the field named, before anything is sent.
    browser.type_into("#rule-name", "chat-llm failing").await;
    browser.fill("#rule-above", "5").await;
    browser.click("#new-rule button[type=submit]").await;
    browser.wait_for_text("condition.above").await;
    let errors = browser.console_errors().await;
    assert!(
        !errors.iter().any(|e| e.contains("/alerts/rules")),
        "refused in the form, not by the server: {errors:#?}"
    );
    browser.fill("#rule-above", "0").await;
    browser.fill("#rule-window", "120").await;
    browser.fill("#rule-hold", "0").await;
    browser.click("#new-rule button[type=submit]").await;
    browser.wait_for("#alert-rules tbody tr:not(.empty)").await;
    browser
        .wait_for_text("5xx rate above 0.0% over 120 min")
        .await;
    // The backend evaluates twice a second here; once it fires, a fresh page shows it in the
    // header and in the history.
    let alerts = shared::routes::ws::path(shared::routes::ws::ALERTS, "default");
    let fired = || async {
        let v: AlertsView = app.get(&alerts).await.json().await.unwrap();
        let firing = v.rules.iter().any(|r| r.state == AlertState::Firing);
        firing.then_some(()).ok_or_else(|| format!("{v:#?}"))
    };
    let within = std::time::Duration::from_secs(20);
    integration_tests::eventually(within, "the rule fires", fired).await;
    browser.goto(&app.url("/alerts")).await;
    browser.wait_for("#firing-alerts").await;
    browser
        .wait_for("#alert-history tbody tr:not(.empty)")
        .await;
    browser.wait_for_text("1 firing").await;
    browser.screenshot("alerts").await;
    browser.assert_accessible("alerts").await;
    // Edit it: the form fills with the rule, saving renames it in place.
    browser.click(".edit-rule").await;
    browser.wait_for_text("Edit rule").await;
    let window = browser
        .eval("return document.getElementById('rule-window').value")
        .await;
    assert_eq!(window, "120", "the form shows the rule's settings");
    browser
        .fill("#rule-name", "chat-llm failing (edited)")
        .await;
    browser.click("#new-rule button[type=submit]").await;
    browser.wait_for_text("chat-llm failing (edited)").await;
    browser.wait_for_text("New rule").await;
    browser.assert_no_console_errors().await;
    browser.close().await;
}

/// The first number in the text `script` returns ("Live · 12 lines", "Resume (3 new)").
async fn number_in(browser: &Browser, script: &str) -> Option<u64> {
    let text = browser.eval(script).await;
    text.as_str()?
        .split(|c: char| !c.is_ascii_digit())
        .find(|s| !s.is_empty())?
        .parse()
        .ok()
}

#[tokio::test]
#[ignore = "needs frontend/dist and chromedriver: run through `cargo xtask test`"]
async fn when_fal_fails_a_page_shows_the_last_good_data_marked_stale() {
    use integration_tests::sim::SimHarness;
    let sim = SimHarness::start().await;
    let app = TestApp::spawn_with_sim(&sim, true, &[]).await;
    let browser = Browser::start().await;
    browser.goto(&app.url("/usage")).await;
    browser.wait_for("#usage-lines tbody tr:not(.empty)").await;
    assert_eq!(
        browser
            .eval("return document.querySelectorAll('.freshness.stale').length")
            .await,
        0,
        "fresh data is not marked stale"
    );
    // fal starts failing and every cached copy is past its TTL: the page, opened again, shows
    // the last good copy with its time and says it is stale, never a blank panel.
    sim.faults(serde_json::json!([{ "operation": "*", "status": 502 }]))
        .await;
    app.state.reports.cache().expire_all();
    browser.goto(&app.url("/usage")).await;
    browser.wait_for(".freshness.stale").await;
    browser.wait_for("#usage-lines tbody tr:not(.empty)").await;
    let painted = browser.series_pixels("usage-spend").await;
    assert!(painted > 1_000, "the stale chart drew {painted} pixels");
    browser.screenshot("usage-stale").await;
    browser.assert_accessible("usage-stale").await;
    browser.close().await;
}

#[tokio::test]
#[ignore = "needs frontend/dist and chromedriver: run through `cargo xtask test`"]
async fn the_overview_says_when_its_stream_is_cut_and_reconnects_after_a_restart() {
    let mut app = TestApp::spawn_demo(&[]).await;
    let addr = app.addr;
    let browser = Browser::start().await;
    browser.goto(&app.url("/")).await;
    browser.wait_for_text("Live: updates every 10 s").await;
    // falscope restarts (a deploy): the stream ends, the page says so and keeps its data.
    app.stop().await;
    browser
        .wait_for_text("Live stream interrupted — reconnecting…")
        .await;
    let painted = browser.series_pixels("runners-chart").await;
    assert!(
        painted > 1_000,
        "the last data stays drawn: {painted} pixels"
    );
    browser.screenshot("overview-interrupted").await;
    // The new process on the same address: the browser's stream reconnects by itself.
    let _again = TestApp::spawn_demo_edited(&[], |c| c.listen = addr).await;
    browser.wait_for_text("Live: updates every 10 s").await;
    browser.close().await;
}

#[tokio::test]
#[ignore = "needs frontend/dist and chromedriver: run through `cargo xtask test`"]
async fn the_overview_says_when_fal_rejects_the_key_or_stops_answering() {
    use integration_tests::sim::{SimHarness, API_KEY};
    let sim = SimHarness::start().await;
    // A key fal never issued: the overview says so, as every other page does.
    let rejected = TestApp::spawn_with_sim_keys(&sim, "key-fal-never-issued", None, &[]).await;
    let browser = Browser::start().await;
    browser.goto(&rejected.url("/")).await;
    browser.wait_for_text("fal rejected falscope's key").await;
    browser.screenshot("overview-key-rejected").await;
    browser.assert_accessible("overview-key-rejected").await;

    // fal stops answering: the stream says the data is stale, and /metrics says fal is down.
    let app = TestApp::spawn_with_sim_keys(&sim, API_KEY, None, &[]).await;
    browser.goto(&app.url("/")).await;
    browser.wait_for_text("Live: updates every 10 s").await;
    let fal_up = || async {
        let text = app.get("/metrics").await.text().await.unwrap();
        text.lines()
            .find(|l| l.starts_with("falscope_fal_up{"))
            .and_then(|l| l.rsplit(' ').next())
            .map(str::to_owned)
    };
    assert_eq!(fal_up().await.as_deref(), Some("1"));
    sim.faults(serde_json::json!([{ "operation": "metrics", "status": 502 }]))
        .await;
    app.state.reports.cache().expire_all();
    browser.wait_for(".freshness.stale").await;
    browser
        .wait_for_text("fal is not answering; showing the last good data")
        .await;
    assert!(!browser.text().await.contains("updates every 10 s"));
    assert_eq!(fal_up().await.as_deref(), Some("0"));
    browser.screenshot("overview-fal-down").await;
    browser.assert_no_console_errors().await;
    browser.close().await;
}

#[tokio::test]
#[ignore = "needs frontend/dist and chromedriver: run through `cargo xtask test`"]
async fn the_time_picker_finds_its_way_back_and_filters_follow_typing() {
    let app = TestApp::spawn_demo(&[]).await;
    let browser = Browser::start().await;
    let url_has = |needle: &'static str| {
        let browser = &browser;
        async move {
            integration_tests::browser::poll(|| async {
                browser.url().await.contains(needle).then_some(())
            })
            .await
            .unwrap_or_else(|| panic!("the URL should contain {needle}"));
        }
    };
    // A range in the future, from a pasted link: said, with a way back to the default.
    browser
        .goto(&app.url("/usage?from=now-1h&to=now%2B1h"))
        .await;
    browser.wait_for_text("To: must not be in the future").await;
    browser.click("#range-reset").await;
    browser.wait_for("#usage-lines tbody tr:not(.empty)").await;
    assert!(
        !browser.url().await.contains("to="),
        "{}",
        browser.url().await
    );
    // "App contains" filters as you type, without Enter.
    let rows = "return document.querySelectorAll('#usage-lines tbody tr:not(.empty)').length";
    let before = browser.eval(rows).await.as_u64().unwrap();
    browser.type_into("#usage-search", "chat").await;
    url_has("search=chat").await;
    let after = integration_tests::browser::poll(|| async {
        let n = browser.eval(rows).await.as_u64()?;
        (n > 0 && n < before).then_some(n)
    })
    .await;
    assert!(after.is_some(), "fewer lines than {before} once filtered");
    // Zoom out doubles the span and stays relative; a time typed with a space is taken.
    browser.goto(&app.url("/usage?from=now-1h")).await;
    browser.click("#range-zoom-out").await;
    url_has("from=now-2h").await;
    let day = (backend::clock::SystemClock.now() - chrono::Duration::days(2)).format("%Y-%m-%d");
    browser.fill("#range-from", &format!("{day} 10:00")).await;
    browser.click(".range button[type=submit]").await;
    let typed = format!("from={day}T10%3A00%3A00%2B00%3A00");
    integration_tests::browser::poll(|| async {
        browser.url().await.contains(&typed).then_some(())
    })
    .await
    .unwrap_or_else(|| panic!("the URL should contain {typed}"));
    browser.close().await;
}

#[tokio::test]
#[ignore = "needs frontend/dist and chromedriver: run through `cargo xtask test`"]
async fn a_failure_bar_opens_the_failed_requests_behind_it() {
    let app = TestApp::spawn_demo(&[]).await;
    let browser = Browser::start().await;
    // Every endpoint by default: nothing to pick first.
    browser.goto(&app.url("/errors")).await;
    browser.wait_for("#errors-table tbody tr:not(.empty)").await;
    let painted = browser.series_pixels("errors-chart").await;
    assert!(painted > 100, "the failure bars drew {painted} pixels");
    browser.screenshot("errors-light").await;
    assert!(browser.click_series("errors-chart").await, "a bar to click");
    integration_tests::browser::poll(|| async {
        let url = browser.url().await;
        (url.contains("/requests?") && url.contains("status=error")).then_some(())
    })
    .await
    .expect("the click opens the failed requests");
    browser.wait_for("#requests-table tbody tr").await;
    let statuses = browser
        .eval("return [...document.querySelectorAll('#requests-table tbody td.status')].map(td => td.textContent)")
        .await;
    let statuses: Vec<String> = serde_json::from_value(statuses).unwrap();
    assert!(
        !statuses.is_empty() && statuses.iter().all(|s| s.starts_with('5')),
        "only failed requests: {statuses:?}"
    );
    browser.assert_no_console_errors().await;
    browser.close().await;
}

/// The wasm files the page has fetched so far (their names).
async fn fetched_wasm(browser: &Browser) -> Vec<String> {
    let names = browser
        .eval("return performance.getEntriesByType('resource').map(e => e.name).filter(n => n.endsWith('.wasm')).map(n => n.split('/').pop())")
        .await;
    serde_json::from_value(names).expect("a list of names")
}

#[tokio::test]
#[ignore = "needs frontend/dist and chromedriver: run through `cargo xtask test`"]
async fn pages_load_their_code_on_first_visit_and_a_chunk_that_fails_offers_a_retry() {
    // A copy of the split build, so one chunk can go missing as it does mid-deploy.
    let dist = tempfile::tempdir().expect("temp dir");
    let built = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../frontend/dist");
    let mut pkg = None;
    for entry in std::fs::read_dir(&built)
        .expect("frontend/dist is built")
        .flatten()
    {
        let target = dist.path().join(entry.file_name());
        if entry.path().is_dir() {
            std::fs::create_dir(&target).expect("mkdir");
            for file in std::fs::read_dir(entry.path()).expect("pkg").flatten() {
                std::fs::copy(file.path(), target.join(file.file_name())).expect("copy");
            }
            pkg = Some(target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
    let pkg = pkg.expect("frontend/dist holds the split build's pkg-<hash> folder (cargo xtask)");
    let dist_dir = dist.path().to_path_buf();
    let app = TestApp::spawn_demo_edited(&[], move |c| c.dist_dir = Some(dist_dir)).await;
    let browser = Browser::start().await;

    browser.goto(&app.url("/")).await;
    browser.wait_for("#history-runners").await;
    let first = fetched_wasm(&browser).await;
    assert!(
        first
            .iter()
            .all(|n| !n.starts_with("split_") && !n.starts_with("chunk_")),
        "the Overview should need no page chunk: {first:?}"
    );

    // Moving to Cost in the app fetches Cost's code, then renders it.
    browser.click(".topbar nav a[href^='/cost']").await;
    browser.wait_for("#split-table tbody tr").await;
    let after = fetched_wasm(&browser).await;
    assert!(
        after.iter().any(|n| n == "split_page_cost.wasm"),
        "{after:?}"
    );
    assert!(
        !after.iter().any(|n| n == "split_page_files.wasm"),
        "Files' code is fetched only when Files opens: {after:?}"
    );

    // Files' chunk is gone (a deploy replaced the files): an error panel with a retry, no panic.
    let chunk = pkg.join("split_page_files.wasm");
    let aside = pkg.join("split_page_files.wasm.aside");
    std::fs::rename(&chunk, &aside).expect("hide the chunk");
    browser.click(".topbar nav a[href^='/files']").await;
    browser.wait_for("#chunk-failed").await;
    browser.wait_for_text("This page did not load").await;
    browser.screenshot("chunk-failed").await;
    // The chunk is back: Retry fetches it again and the page renders.
    std::fs::rename(&aside, &chunk).expect("restore the chunk");
    browser.click("#chunk-retry").await;
    browser.wait_for("#files-table tbody tr").await;
    // The app kept working: another page still opens.
    browser.click(".topbar nav a[href^='/alerts']").await;
    browser.wait_for("#new-rule").await;
    browser.close().await;
}

#[tokio::test]
#[ignore = "needs frontend/dist and chromedriver: run through `cargo xtask test`"]
async fn the_pickers_legends_and_the_tail_work_from_the_keyboard() {
    const ENTER: &str = "\u{E007}";
    let app = TestApp::spawn_demo(&[]).await;
    let browser = Browser::start().await;
    browser.goto(&app.url("/analytics?from=now-6h")).await;
    browser
        .wait_for("#analytics-summary tbody tr:not(.empty)")
        .await;
    // A legend entry hides its series with Enter, and shows it again.
    browser.press(".legend-entry", ENTER).await;
    browser.wait_for(".legend-entry.off").await;
    browser.press(".legend-entry", ENTER).await;
    let off = browser
        .eval("return document.querySelectorAll('.legend-entry.off').length")
        .await;
    assert_eq!(off, 0, "Enter again shows the series");
    // The summary sorts by a column from the keyboard: requests, biggest first.
    browser
        .press("#analytics-summary th:nth-child(2) button", ENTER)
        .await;
    browser
        .wait_for("#analytics-summary th[aria-sort=descending]")
        .await;
    let counts = browser
        .eval("return [...document.querySelectorAll('#analytics-summary tbody tr:not(.empty) td:nth-child(2)')].map(td => Number(td.textContent.replace(/\\D/g, '')))")
        .await;
    let counts: Vec<u64> = serde_json::from_value(counts).unwrap_or_default();
    assert!(counts.len() > 2, "{counts:?}");
    assert!(
        counts.windows(2).all(|w| w[0] >= w[1]),
        "sorted: {counts:?}"
    );
    // A preset of the time picker.
    browser.press(".presets button:nth-child(2)", ENTER).await;
    let narrowed = integration_tests::browser::poll(|| async {
        browser.url().await.contains("from=now-1h").then_some(())
    })
    .await;
    assert!(
        narrowed.is_some(),
        "Enter on “1 h”: {}",
        browser.url().await
    );
    // The endpoint picker (closed: the page shows its default endpoints) opens and closes
    // with Enter, and an endpoint is picked with Space.
    browser.press(".endpoint-picker summary", ENTER).await;
    browser.wait_for("details.endpoint-picker[open]").await;
    browser.press(".endpoint-picker summary", ENTER).await;
    browser
        .wait_for("details.endpoint-picker:not([open])")
        .await;
    browser.press(".endpoint-picker summary", ENTER).await;
    browser
        .press("details.endpoint-picker[open] input[type=checkbox]", " ")
        .await;
    let picked = integration_tests::browser::poll(|| async {
        browser.url().await.contains("endpoints=").then_some(())
    })
    .await;
    assert!(
        picked.is_some(),
        "Space on an endpoint: {}",
        browser.url().await
    );
    // The live tail pauses and resumes from the keyboard.
    browser.goto(&app.url("/logs?mode=live")).await;
    browser.press("#tail-pause", ENTER).await;
    browser.press("#tail-resume", ENTER).await;
    browser.wait_for("#tail-pause").await;
    browser.close().await;
}

#[tokio::test]
#[ignore = "needs frontend/dist and chromedriver: run through `cargo xtask test`"]
async fn a_watched_model_shows_its_sla_credits_show_their_runway_and_a_queue_is_flushed_once() {
    use integration_tests::sim::SimHarness;
    let sim = SimHarness::start().await;
    // A moment when chat-llm has requests waiting (the simulator's clock stays there).
    let mut waiting = 0;
    for _ in 0..240 {
        waiting = backend::upstream::FalApi::queue_size(&sim.client, "acme", "chat-llm")
            .await
            .unwrap();
        if waiting > 0 {
            break;
        }
        sim.clock.advance(1_000);
    }
    assert!(waiting > 0, "chat-llm queues within four minutes");
    let app = TestApp::spawn_with_sim(&sim, true, &[]).await;
    let browser = Browser::start().await;

    // Models: watch fal-ai/flux/dev with an SLA it cannot meet (p90 execution ≤ 1 s).
    browser.goto(&app.url("/models")).await;
    browser.wait_for("#add-model").await;
    browser.fill("#model-endpoint", "fal-ai/flux/dev").await;
    browser.fill("#model-exec", "1").await;
    browser.click("#add-model button[type=submit]").await;
    browser.wait_for("#sla-table tbody tr").await;
    browser.wait_for_text("missed").await;
    let painted = browser.series_pixels("models-latency").await;
    assert!(painted > 200, "the latency chart drew {painted} pixels");
    browser.screenshot("models-light").await;
    browser.assert_accessible("models page with an SLA").await;

    // Credits: the balance and when it runs out.
    browser.goto(&app.url("/cost")).await;
    browser.wait_for("#credits #runway").await;
    let runway = browser
        .eval("return document.getElementById('runway').textContent")
        .await;
    assert!(
        runway.as_str().is_some_and(|r| r.starts_with("Runs out ~")),
        "{runway}"
    );
    browser
        .eval("document.getElementById('credits').scrollIntoView(); return true;")
        .await;
    browser.screenshot("cost-credits").await;
    // The flush confirmation is looked at in the dark theme.
    browser.click("#theme-toggle").await;

    // Flush: the confirmation states what waits; a double click flushes once.
    browser.goto(&app.url("/")).await;
    browser.click("#apps-table button.flush").await;
    browser.wait_for("#flush-dialog").await;
    let said = browser
        .eval("return document.getElementById('flush-what').textContent")
        .await;
    let said = said.as_str().unwrap_or_default().to_owned();
    assert!(
        said.contains("waiting") && said.contains("cannot be undone"),
        "{said}"
    );
    browser.screenshot("flush-dialog-dark").await;
    browser.assert_accessible("flush confirmation").await;
    browser
        .eval("const b = document.getElementById('flush-confirm'); b.click(); b.click(); return true;")
        .await;
    browser.wait_for("#flush-done").await;
    browser.wait_for_text("Flushed chat-llm").await;
    assert_eq!(
        sim.server.sim().flushes(),
        1,
        "one flush for one confirmation"
    );
    browser.click("#flush-close").await;
    browser.assert_no_console_errors().await;
    browser.close().await;
}
