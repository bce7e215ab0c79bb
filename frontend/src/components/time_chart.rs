//! A time chart with an interactive legend below it: click a series to hide or show it,
//! double-click to isolate it (double-click again to show all).

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
    view! {
        <Chart id=id label=label data=shown draw=charts::time::draw height=height />
        <div class="legend" role="group" aria-label="Series">{entries}</div>
    }
}
