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
    let ctx: web_sys::CanvasRenderingContext2d =
        canvas.get_context("2d").unwrap().unwrap().unchecked_into();
    let data = ctx
        .get_image_data(0.0, 0.0, canvas.width().into(), canvas.height().into())
        .unwrap()
        .data();
    data.chunks(4)
        .filter(|p| p[0] == 79 && p[1] == 70 && p[2] == 229)
        .count()
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
