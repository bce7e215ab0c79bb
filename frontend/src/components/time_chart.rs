//! A time chart with a hover read-out (time and each series' value under the pointer) and an
//! interactive legend below it: click a series to hide or show it, double-click to isolate it
//! (double-click again to show all).

use crate::charts::palette::Style;
use crate::charts::time::TimeChart;
use crate::charts::{self, Chart};
use leptos::prelude::*;
use std::collections::BTreeSet;

/// The chart and its legend.
#[component]
pub fn TimeChartPanel(
    /// DOM id of the canvas.
    id: &'static str,
    /// Accessible description.
    label: &'static str,
    /// The data (colours are fixed per series here, so hiding one repaints nothing else).
    chart: TimeChart,
    /// CSS height of the canvas.
    #[prop(default = 260)]
    height: u32,
) -> impl IntoView {
    let mut chart = chart.with_fixed_colors();
    chart.legend = false;
    let names: Vec<(String, String)> = chart
        .series
        .iter()
        .map(|s| {
            let c = s.color.unwrap_or_else(|| Style::series(0));
            (s.name.clone(), format!("rgb({}, {}, {})", c.0, c.1, c.2))
        })
        .collect();
    let hidden = RwSignal::new(BTreeSet::<String>::new());
    let full = StoredValue::new(chart);
    let shown = Signal::derive(move || {
        let mut c = full.get_value();
        hidden.with(|h| c.series.retain(|s| !h.contains(&s.name)));
        c
    });
    let all: Vec<String> = names.iter().map(|(n, _)| n.clone()).collect();
    let entries = names
        .into_iter()
        .map(|(name, color)| {
            let (toggle_name, isolate_name, state_name) = (name.clone(), name.clone(), name.clone());
            let all = all.clone();
            view! {
                <button
                    class="legend-entry"
                    class:off=move || hidden.with(|h| h.contains(&state_name))
                    title="Click: hide or show · double-click: show only this"
                    on:click=move |_| hidden.update(|h| {
                        if !h.remove(&toggle_name) {
                            h.insert(toggle_name.clone());
                        }
                    })
                    on:dblclick=move |_| hidden.update(|h| {
                        let isolated = h.len() + 1 == all.len() && !h.contains(&isolate_name);
                        *h = if isolated { BTreeSet::new() } else { all.iter().filter(|n| **n != isolate_name).cloned().collect() };
                    })
                >
                    <span class="swatch" style=format!("background: {color}")></span>
                    {name}
                </button>
            }
        })
        .collect_view();
    // The hovered bucket, the pointer's x and the chart's width, in CSS pixels.
    let (hover, set_hover) = signal(None::<(i64, f64, f64)>);
    let on_move = move |ev: leptos::ev::MouseEvent| {
        // Positions are taken against the canvas itself: the plot's geometry is the canvas's.
        let canvas = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(id))
            .and_then(|c| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(c).ok());
        let Some(el) = canvas else { return };
        let x = f64::from(ev.client_x()) - el.get_bounding_client_rect().left();
        let w = f64::from(el.client_width());
        let t = shown.with_untracked(|c| charts::time::time_at(c, x, w));
        set_hover.set(t.map(|t| (t, x, w)));
    };
    let readout = move || {
        let (t, x, w) = hover.get()?;
        // Beside the pointer, on whichever side has room.
        let place = if x > w * 0.6 {
            format!("right: {}px", w - x + 12.0)
        } else {
            format!("left: {}px", x + 12.0)
        };
        let (unit, values) = shown.with(|c| (c.unit.clone(), charts::time::values_at(c, t)));
        let when = chrono::DateTime::from_timestamp_millis(t)
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default();
        let rows = values
            .into_iter()
            .map(|(name, v)| view! { <div><span class="name">{name}</span> <strong>{unit.label(v)}</strong></div> })
            .collect_view();
        Some(view! {
            <div class="readout" role="status" style=place>
                <div class="when">{when}</div>
                {rows}
            </div>
        })
    };
    view! {
        <div class="chart-wrap" on:mousemove=on_move on:mouseleave=move |_| set_hover.set(None)>
            <Chart id=id label=label data=shown draw=charts::time::draw height=height />
            {readout}
        </div>
        <div class="legend" role="group" aria-label="Series">{entries}</div>
    }
}
