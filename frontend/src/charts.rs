//! Charts: pure `draw(area, data)` functions per kind (testable natively on any plotters
//! backend) and the thin [`Chart`] component that owns a `<canvas>` and redraws on change.

pub mod palette;
pub mod runners;

use leptos::html::Canvas;
use leptos::prelude::*;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters_canvas::CanvasBackend;

/// A draw function over the browser canvas backend.
pub type DrawFn<T> = fn(
    &DrawingArea<CanvasBackend, Shift>,
    &T,
) -> Result<(), DrawingAreaErrorKind<<CanvasBackend as DrawingBackend>::ErrorType>>;

/// A `<canvas>` redrawn by `draw` whenever `data` changes.
#[component]
pub fn Chart<T>(
    /// DOM id of the canvas (tests and screenshots find it by this).
    id: &'static str,
    /// Accessible description of the chart.
    label: &'static str,
    /// The data to draw.
    data: Signal<T>,
    /// The pure drawing function.
    draw: DrawFn<T>,
) -> impl IntoView
where
    T: Send + Sync + 'static,
{
    let canvas = NodeRef::<Canvas>::new();
    Effect::new(move |_| {
        let Some(el) = canvas.get() else { return };
        // Match the bitmap to the element's CSS size so text and lines are not stretched.
        let (w, h) = (el.client_width().max(1) as u32, el.client_height().max(1) as u32);
        el.set_width(w);
        el.set_height(h);
        let Some(backend) = CanvasBackend::with_canvas_object(el) else {
            return;
        };
        let area = backend.into_drawing_area();
        data.with(|d| {
            if let Err(err) = draw(&area, d) {
                leptos::logging::warn!("chart {id} failed to draw: {err:?}");
            }
        });
    });
    view! { <canvas id=id class="chart" node_ref=canvas role="img" aria-label=label></canvas> }
}
