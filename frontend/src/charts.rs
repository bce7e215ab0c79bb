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
pub type DrawFn<T> =
    fn(
        &DrawingArea<CanvasBackend, Shift>,
        &T,
    ) -> Result<(), DrawingAreaErrorKind<<CanvasBackend as DrawingBackend>::ErrorType>>;

/// A `<canvas>` redrawn by `draw` whenever `data` changes.
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
) -> impl IntoView
where
    T: std::borrow::Borrow<D> + Send + Sync + 'static,
    D: ?Sized + 'static,
{
    let canvas = NodeRef::<Canvas>::new();
    Effect::new(move |_| {
        let Some(el) = canvas.get() else { return };
        data.track();
        // Draw after layout: inside <Suspense> the canvas may not be in the document yet when
        // this effect first runs, and its size would read as 0.
        request_animation_frame(move || {
            // Match the bitmap to the element's CSS size so text and lines are not stretched.
            let (w, h) = (el.client_width(), el.client_height());
            if w <= 0 || h <= 0 {
                return;
            }
            el.set_width(w as u32);
            el.set_height(h as u32);
            let Some(backend) = CanvasBackend::with_canvas_object(el) else {
                return;
            };
            let area = backend.into_drawing_area();
            data.with_untracked(|d| {
                if let Err(err) = draw(&area, d.borrow()) {
                    leptos::logging::warn!("chart {id} failed to draw: {err:?}");
                }
            });
        });
    });
    view! { <canvas id=id class="chart" node_ref=canvas role="img" aria-label=label></canvas> }
}
