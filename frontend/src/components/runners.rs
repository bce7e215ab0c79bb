//! Runners per app, stacked by state.

use crate::charts::{self, Chart};
use leptos::prelude::*;
use shared::{LiveSnapshot, RunnerState};

/// A panel charting each app's runners by state, with the snapshot's time.
#[component]
pub fn RunnersPanel(
    /// The live snapshot to show.
    snapshot: LiveSnapshot,
) -> impl IntoView {
    let total: u32 = snapshot
        .apps
        .iter()
        .map(|a| {
            RunnerState::ALL
                .iter()
                .map(|s| a.runners_in(*s))
                .sum::<u32>()
        })
        .sum();
    let as_of = format!(
        "{} {}",
        crate::format::clock(snapshot.as_of),
        crate::format::zone_name()
    );
    let empty = snapshot.apps.is_empty();
    let apps = Signal::stored(snapshot.apps);
    view! {
        <section class="panel">
            <h2>"Runners by app"</h2>
            <p class="meta">{format!("{total} runners · as of {as_of}")}</p>
            {if empty {
                view! { <div class="state-empty">"No apps report metrics yet."</div> }.into_any()
            } else {
                view! {
                    <Chart
                        id="runners-chart"
                        label="Runners per app by state"
                        data=apps
                        draw=charts::runners::draw
                    />
                }
                    .into_any()
            }}
        </section>
    }
}
