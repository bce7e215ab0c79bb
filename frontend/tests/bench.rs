//! Frontend figures for BENCHMARKS.md: redrawing a time chart of 10,000 points and scrolling the
//! log list over 100,000 lines, in headless Chromium. A benchmark, not a test (`test = false`
//! in Cargo.toml): only `cargo xtask bench` runs it (release build, `--test bench`), and it
//! prints its figures against the 16 ms frame target.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed benchmark")]

use frontend::charts::palette::Style;
use frontend::charts::time::{draw, Kind, Series, TimeChart, Unit};
use leptos::prelude::*;
use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn now() -> f64 {
    web_sys::window().unwrap().performance().unwrap().now()
}

fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

/// Median and 95th percentile of `samples` (ms).
fn summary(mut samples: Vec<f64>) -> (f64, f64) {
    samples.sort_by(f64::total_cmp);
    (
        samples[samples.len() / 2],
        samples[samples.len() * 95 / 100],
    )
}

fn report(name: &str, samples: Vec<f64>) {
    let (median, p95) = summary(samples);
    let verdict = if p95 <= 16.0 { "met" } else { "MISSED" };
    web_sys::console::log_1(
        &format!("BENCH {name}: median {median:.2} ms, p95 {p95:.2} ms  [target <= 16 ms per frame (p95): {verdict}]").into(),
    );
}

fn series(n_series: usize, points: usize) -> TimeChart {
    let t0 = 1_795_000_000_000i64;
    let series = (0..n_series)
        .map(|s| {
            let pts = (0..points)
                .map(|i| {
                    let x = i as f64 / 50.0 + s as f64;
                    (
                        t0 + i as i64 * 60_000,
                        100.0 + 60.0 * x.sin() + 15.0 * (3.1 * x).cos(),
                    )
                })
                .collect();
            Series::new(format!("acme/app-{s}"), pts)
        })
        .collect();
    TimeChart::new(series, Unit::Count, Kind::Lines)
}

#[wasm_bindgen_test]
fn chart_redraw_of_10k_points() {
    let canvas: web_sys::HtmlCanvasElement = document()
        .create_element("canvas")
        .unwrap()
        .unchecked_into();
    document().body().unwrap().append_child(&canvas).unwrap();
    for (label, chart) in [
        ("1 series x 10,000", series(1, 10_000)),
        ("4 series x 2,500", series(4, 2_500)),
    ] {
        for scale in [1.0, 2.0] {
            canvas.set_width((1200.0 * scale) as u32);
            canvas.set_height((320.0 * scale) as u32);
            let style = Style { dark: false, scale };
            let mut samples = Vec::new();
            // Five untimed draws first: the first ones pay for compiling and warming caches.
            for i in 0..35 {
                let t = now();
                let area = CanvasBackend::with_canvas_object(canvas.clone())
                    .unwrap()
                    .into_drawing_area();
                draw(&area, &chart, &style).unwrap();
                area.present().unwrap();
                // Reading a pixel back waits for the canvas to finish rasterising, so the figure
                // is the whole redraw, not just issuing the drawing commands.
                let ctx: web_sys::CanvasRenderingContext2d =
                    canvas.get_context("2d").unwrap().unwrap().unchecked_into();
                let _ = ctx.get_image_data(0.0, 0.0, 1.0, 1.0).unwrap();
                if i >= 5 {
                    samples.push(now() - t);
                }
            }
            report(
                &format!("7 chart redraw, {label} points, 1200x320 CSS px at {scale}x"),
                samples,
            );
        }
    }
}

fn line(i: usize) -> std::sync::Arc<shared::logs::LogLine> {
    std::sync::Arc::new(shared::logs::LogLine {
        ts: chrono::DateTime::from_timestamp(1_795_000_000 + i as i64, 0).unwrap(),
        level: shared::logs::LogLevel::Info,
        message: format!(
            "Processing request {i:012x} on acme/chat-llm: step {}/28",
            i % 28
        ),
        app: "chat-llm".into(),
        revision: "rev_1".into(),
        request_id: Some(format!("0196f3a2-0000-7000-8000-{i:012x}")),
        labels: Default::default(),
    })
}

/// Lets every queued effect run (a macrotask runs after all microtasks).
async fn settle() {
    gloo_timers::future::TimeoutFuture::new(0).await;
}

#[wasm_bindgen_test]
async fn log_scroll_over_100k_lines() {
    use frontend::components::LogView;
    let style: web_sys::HtmlStyleElement =
        document().create_element("style").unwrap().unchecked_into();
    style.set_text_content(Some(include_str!("../style/main.css")));
    document().head().unwrap().append_child(&style).unwrap();
    let host: web_sys::HtmlElement = document().create_element("div").unwrap().unchecked_into();
    host.set_attribute("style", "width: 1200px").unwrap();
    document().body().unwrap().append_child(&host).unwrap();
    let lines = RwSignal::new(
        (0..100_000)
            .map(line)
            .collect::<std::collections::VecDeque<_>>(),
    );
    let follow = RwSignal::new(false);
    let _handle = leptos::mount::mount_to(
        host.clone(),
        move || view! { <LogView lines=lines follow=follow height=480 /> },
    );
    settle().await;
    let list: web_sys::HtmlElement = host
        .query_selector(".log-list")
        .unwrap()
        .unwrap()
        .unchecked_into();
    // Baseline: the same wait and layout with nothing to do.
    let mut idle = Vec::new();
    for _ in 0..20 {
        let t = now();
        settle().await;
        let _ = list.offset_height();
        idle.push(now() - t);
    }
    let (baseline, _) = summary(idle);
    let scroll = |top: i32| {
        let list = list.clone();
        async move {
            let t = now();
            list.set_scroll_top(top);
            list.dispatch_event(&web_sys::Event::new("scroll").unwrap())
                .unwrap();
            settle().await;
            // Force style and layout of the new rows.
            let _ = list
                .query_selector(".log-line")
                .unwrap()
                .map(|r| r.get_bounding_client_rect());
            (now() - t - baseline).max(0.0)
        }
    };
    // A wheel or trackpad: about 100 px (4–5 rows) a frame.
    let mut smooth = Vec::new();
    for step in 0..120 {
        smooth.push(scroll(1_000_000 + step * 100).await);
    }
    // Dragging the scrollbar: jumps of ~900 lines, a whole new window of rows every frame.
    let mut jumps = Vec::new();
    for step in 0..120 {
        jumps.push(scroll((step * 19_937) % (100_000 * 22 - 480)).await);
    }
    let rows = host.query_selector_all(".log-line").unwrap().length();
    assert!(rows < 200, "virtualized: {rows} rows in the DOM");
    report(
        "7 log list smooth scroll (100 px/frame), 100,000 lines",
        smooth,
    );
    report(
        "7 log list scrollbar jumps (~900 lines/frame), 100,000 lines",
        jumps,
    );
}
