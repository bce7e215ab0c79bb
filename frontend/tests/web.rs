//! Component tests in headless Chromium (wasm-bindgen-test-runner + chromedriver).
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use leptos::prelude::*;
use shared::{AppLive, LiveSnapshot, RunnerCount, RunnerState};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn snapshot() -> LiveSnapshot {
    let app = |name: &str, running: u32| AppLive {
        application: name.into(),
        runners: vec![
            RunnerCount {
                machine_type: "NVIDIA H100".into(),
                state: RunnerState::Running,
                count: running,
            },
            RunnerCount {
                machine_type: "NVIDIA H100".into(),
                state: RunnerState::Idle,
                count: 1,
            },
        ],
        queue_size: 0,
        concurrent_requests: running.into(),
        received_per_min: 10,
        completed_per_min: vec![(200, 9)],
        latency: vec![],
    };
    LiveSnapshot {
        as_of: chrono::DateTime::from_timestamp(1_795_000_000, 0).unwrap(),
        apps: vec![app("acme/flux-studio", 4), app("acme/chat-llm", 2)],
    }
}

fn host() -> web_sys::HtmlElement {
    let document = web_sys::window().unwrap().document().unwrap();
    let div = document.create_element("div").unwrap();
    div.set_attribute("style", "width: 800px").unwrap();
    document.body().unwrap().append_child(&div).unwrap();
    div.unchecked_into()
}

/// Counts pixels of the canvas whose colour is the "running" series colour.
fn running_pixels(canvas: &web_sys::HtmlCanvasElement) -> usize {
    pixels_of(canvas, (79, 70, 229))
}

#[wasm_bindgen_test]
async fn runners_panel_draws_bars_and_shows_the_time() {
    let host = host();
    let _handle = leptos::mount::mount_to(host.clone(), || {
        view! { <frontend::components::RunnersPanel snapshot=snapshot() /> }
    });
    // The chart's Effect runs after mount; yield to the event loop until it has drawn.
    let mut pixels = 0;
    for _ in 0..50 {
        gloo_timers::future::TimeoutFuture::new(20).await;
        if let Some(c) = host.query_selector("canvas#runners-chart").unwrap() {
            pixels = running_pixels(&c.unchecked_into());
            if pixels > 0 {
                break;
            }
        }
    }
    assert!(pixels > 500, "running bars painted {pixels} pixels");
    let text = host.text_content().unwrap();
    assert!(text.contains("8 runners"), "{text}");
    assert!(text.contains("as of"), "{text}");
}

fn line(i: usize) -> std::sync::Arc<shared::logs::LogLine> {
    std::sync::Arc::new(shared::logs::LogLine {
        ts: chrono::DateTime::from_timestamp(1_795_000_000 + i as i64, 0).unwrap(),
        level: shared::logs::LogLevel::Info,
        message: format!("line {i}"),
        app: "chat-llm".into(),
        revision: "rev_1".into(),
        request_id: None,
        labels: Default::default(),
    })
}

#[wasm_bindgen_test]
async fn log_view_keeps_100k_lines_out_of_the_dom() {
    use frontend::components::LogView;
    let host = host();
    let lines = RwSignal::new(
        (0..100_000)
            .map(line)
            .collect::<std::collections::VecDeque<_>>(),
    );
    let follow = RwSignal::new(true);
    let _handle = leptos::mount::mount_to(
        host.clone(),
        move || view! { <LogView lines=lines follow=follow height=440 /> },
    );
    let mut rows = 0;
    for _ in 0..50 {
        gloo_timers::future::TimeoutFuture::new(20).await;
        rows = host.query_selector_all(".log-line").unwrap().length();
        if rows > 0 {
            break;
        }
    }
    assert!(
        rows > 10 && rows < 100,
        "{rows} rows in the DOM for 100 000 lines"
    );
    let text = host.text_content().unwrap();
    assert!(
        text.contains("line 99999"),
        "following the bottom shows the newest line"
    );
    let spacer: web_sys::HtmlElement = host
        .query_selector(".log-spacer")
        .unwrap()
        .unwrap()
        .unchecked_into();
    assert_eq!(
        spacer.offset_height(),
        100_000 * 22,
        "the scroll height covers every line"
    );
}

#[wasm_bindgen_test]
fn query_strings_encode_and_skip_empty_values() {
    let q = frontend::api::query_string(&[("from", "now-6h"), ("search", "a b&c"), ("empty", "")]);
    assert_eq!(q, "?from=now-6h&search=a%20b%26c");
    assert_eq!(frontend::api::query_string::<&str, &str>(&[]), "");
}

fn pixels_of(canvas: &web_sys::HtmlCanvasElement, rgb: (u8, u8, u8)) -> usize {
    let ctx: web_sys::CanvasRenderingContext2d =
        canvas.get_context("2d").unwrap().unwrap().unchecked_into();
    let data = ctx
        .get_image_data(0.0, 0.0, canvas.width().into(), canvas.height().into())
        .unwrap()
        .data();
    data.chunks(4).filter(|p| (p[0], p[1], p[2]) == rgb).count()
}

async fn until(mut f: impl FnMut() -> bool) -> bool {
    for _ in 0..100 {
        if f() {
            return true;
        }
        gloo_timers::future::TimeoutFuture::new(20).await;
    }
    false
}

#[wasm_bindgen_test]
async fn clicking_a_legend_entry_hides_its_series() {
    use frontend::charts::time::{Kind, Series, TimeChart, Unit};
    let host = host();
    let points = |v: f64| {
        (0..20)
            .map(|i| (i * 60_000, v + (i % 3) as f64))
            .collect::<Vec<_>>()
    };
    let chart = TimeChart::new(
        vec![
            Series::new("alpha", points(5.0)),
            Series::new("beta", points(2.0)),
        ],
        Unit::Count,
        Kind::StackedBars,
    );
    let _handle = leptos::mount::mount_to(host.clone(), move || {
        view! { <frontend::components::TimeChartPanel id="legend-test" label="test" chart=chart.clone() /> }
    });
    let canvas = || {
        host.query_selector("canvas#legend-test")
            .unwrap()
            .map(|c| c.unchecked_into::<web_sys::HtmlCanvasElement>())
    };
    let (alpha, beta) = ((79, 70, 229), (16, 163, 127));
    assert!(
        until(|| canvas().is_some_and(|c| pixels_of(&c, alpha) > 500)).await,
        "alpha drawn"
    );
    let entry: web_sys::HtmlElement = host
        .query_selector(".legend-entry")
        .unwrap()
        .unwrap()
        .unchecked_into();
    entry.click();
    assert!(
        until(|| canvas().is_some_and(|c| pixels_of(&c, alpha) == 0)).await,
        "alpha hidden after a click"
    );
    assert!(
        pixels_of(&canvas().unwrap(), beta) > 500,
        "beta still drawn"
    );
}

#[wasm_bindgen_test]
async fn hovering_a_chart_reads_out_time_and_values() {
    use frontend::charts::time::{Kind, Series, TimeChart, Unit};
    let host = host();
    let chart = TimeChart::new(
        vec![Series::new("alpha", vec![(0, 4.0), (60_000, 7.0)])],
        Unit::Count,
        Kind::StackedBars,
    );
    let _handle = leptos::mount::mount_to(host.clone(), move || {
        view! { <frontend::components::TimeChartPanel id="hover-test" label="test" chart=chart.clone() /> }
    });
    assert!(until(|| host.query_selector("canvas#hover-test").unwrap().is_some()).await);
    // Over the right half: the second bucket (1970-01-01 00:01, value 7).
    js_sys::eval(
        "const c = document.getElementById('hover-test'); const r = c.getBoundingClientRect();
         c.dispatchEvent(new MouseEvent('mousemove', { clientX: r.left + r.width * 0.8, clientY: r.top + 40, bubbles: true }));",
    )
    .unwrap();
    assert!(
        until(|| host.query_selector(".readout").unwrap().is_some()).await,
        "a read-out appears"
    );
    let text = host
        .query_selector(".readout")
        .unwrap()
        .unwrap()
        .text_content()
        .unwrap();
    assert!(
        text.contains("00:01") && text.contains("alpha") && text.contains('7'),
        "{text}"
    );
}

#[wasm_bindgen_test]
async fn dragging_across_a_chart_zooms_to_the_selection() {
    use frontend::charts::time::{Kind, Series, TimeChart, Unit};
    let host = host();
    let points = (0..10).map(|i| (i * 60_000, 1.0)).collect::<Vec<_>>();
    let chart = TimeChart::new(vec![Series::new("alpha", points)], Unit::Count, Kind::Lines);
    let zoomed = RwSignal::new(None::<(i64, i64)>);
    let _handle = leptos::mount::mount_to(host.clone(), move || {
        let on_zoom = Callback::new(move |r: (i64, i64)| zoomed.set(Some(r)));
        view! { <frontend::components::TimeChartPanel id="zoom-test" label="test" chart=chart.clone() on_zoom=on_zoom /> }
    });
    assert!(until(|| host.query_selector("canvas#zoom-test").unwrap().is_some()).await);
    let drag = |from: f64, to: f64| {
        js_sys::eval(&format!(
            "const c = document.getElementById('zoom-test'); const r = c.getBoundingClientRect();
             const at = (f) => ({{ clientX: r.left + 74 + (r.width - 84) * f, clientY: r.top + 40, bubbles: true, button: 0 }});
             c.dispatchEvent(new MouseEvent('mousedown', at({from})));
             c.dispatchEvent(new MouseEvent('mousemove', at({to})));
             c.dispatchEvent(new MouseEvent('mouseup', at({to})));"
        ))
        .unwrap();
    };
    drag(0.5, 0.5);
    gloo_timers::future::TimeoutFuture::new(50).await;
    assert_eq!(zoomed.get_untracked(), None, "a click is not a zoom");
    drag(0.25, 0.75);
    assert!(
        until(|| zoomed.get_untracked().is_some()).await,
        "a drag zooms"
    );
    let (a, b) = zoomed.get_untracked().unwrap();
    // The plot spans 0..9 minutes: a quarter to three quarters is about 2.25 to 6.75 minutes.
    assert!(
        (a - 135_000).abs() < 15_000 && (b - 405_000).abs() < 15_000,
        "{a}..{b}"
    );
}

#[wasm_bindgen_test]
fn zones_come_from_the_browser_with_their_daylight_saving_rules() {
    use frontend::zone::{self, Zone};
    let tokyo = Zone::parse(Some("Asia/Tokyo"));
    assert_eq!(tokyo, Zone::Named("Asia/Tokyo".into()));
    assert_eq!(
        Zone::parse(Some("Not/AZone")),
        Zone::Utc,
        "unknown names fall back to UTC"
    );
    let winter = chrono::DateTime::from_timestamp(1_795_014_000, 0).unwrap(); // 2026-11-18 15:00Z
    let summer = chrono::DateTime::from_timestamp(1_783_350_000, 0).unwrap(); // 2026-07-06 15:00Z
    zone::set(tokyo);
    assert_eq!(frontend::format::clock(winter), "00:00:00");
    zone::set(Zone::Named("Europe/Berlin".into()));
    assert_eq!(frontend::format::clock(winter), "16:00:00");
    assert_eq!(frontend::format::clock(summer), "17:00:00");
    zone::set(Zone::Utc);
    assert_eq!(frontend::format::clock(winter), "15:00:00");
}
