//! Charts: pure `draw(area, data, style)` functions per kind (testable natively on any plotters
//! backend) and the thin [`Chart`] component that owns a `<canvas>` and redraws when the data,
//! the theme or the element's size changes. The bitmap is sized in device pixels, so charts
//! stay crisp on HiDPI screens.

pub mod forecast;
pub mod palette;
pub mod runners;
pub mod split;
pub mod time;

use crate::theme::use_theme;
use leptos::html::Canvas;
use leptos::prelude::*;
use palette::Style;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters_canvas::CanvasBackend;

/// A draw function over the browser canvas backend.
pub type DrawFn<D> =
    fn(
        &DrawingArea<CanvasBackend, Shift>,
        &D,
        &Style,
    ) -> Result<(), DrawingAreaErrorKind<<CanvasBackend as DrawingBackend>::ErrorType>>;

/// Marks `falscope:first-chart` in the page's performance timeline when the first chart of
/// this page load is drawn: `cargo xtask bench` reads it as the time to first chart.
fn mark_first_chart() {
    static MARKED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !MARKED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
            let _ = performance.mark("falscope:first-chart");
        }
    }
}

/// A `<canvas>` redrawn by `draw` whenever `data`, the theme or the window size changes.
#[component]
pub fn Chart<T, D>(
    /// DOM id of the canvas (tests and screenshots find it by this).
    id: &'static str,
    /// Accessible description of the chart.
    label: &'static str,
    /// The data to draw.
    data: Signal<T>,
    /// The pure drawing function (it may take a borrowed form of `T`, e.g. a slice).
    draw: DrawFn<D>,
    /// CSS height in pixels.
    #[prop(default = 300)]
    height: u32,
    /// The chart in words (screen readers read it after the label); charts whose numbers sit
    /// in a table beside them need none.
    #[prop(optional, into)]
    summary: Option<Signal<String>>,
) -> impl IntoView
where
    T: std::borrow::Borrow<D> + Send + Sync + 'static,
    D: ?Sized + 'static,
{
    let canvas = NodeRef::<Canvas>::new();
    let theme = use_theme();
    let (resized, set_resized) = signal(0u32);
    let handle =
        window_event_listener(leptos::ev::resize, move |_| set_resized.update(|n| *n += 1));
    on_cleanup(move || handle.remove());
    Effect::new(move |_| {
        let Some(el) = canvas.get() else { return };
        data.track();
        resized.track();
        let dark = theme.map(|t| t.is_dark()).unwrap_or(false);
        // Draw after layout: inside <Suspense> the canvas may not be in the document yet when
        // this effect first runs, and its size would read as 0.
        request_animation_frame(move || {
            let (w, h) = (el.client_width(), el.client_height());
            if w <= 0 || h <= 0 {
                return;
            }
            let scale = web_sys::window()
                .map_or(1.0, |w| w.device_pixel_ratio())
                .clamp(1.0, 3.0);
            el.set_width((f64::from(w) * scale) as u32);
            el.set_height((f64::from(h) * scale) as u32);
            let Some(backend) = CanvasBackend::with_canvas_object(el) else {
                return;
            };
            let area = backend.into_drawing_area();
            let style = Style { dark, scale };
            // The page may have moved on before this frame: the data is then disposed.
            data.try_with_untracked(|d| {
                if let Err(err) = draw(&area, d.borrow(), &style) {
                    leptos::logging::warn!("chart {id} failed to draw: {err:?}");
                } else {
                    mark_first_chart();
                }
            });
        });
    });
    let described = summary.map(|_| format!("{id}-summary"));
    view! {
        <canvas
            id=id
            class="chart"
            style=format!("height: {height}px")
            node_ref=canvas
            role="img"
            aria-label=label
            aria-describedby=described.clone()
        ></canvas>
        {summary.map(|words| view! { <p class="sr-only" id=described>{words}</p> })}
    }
}
