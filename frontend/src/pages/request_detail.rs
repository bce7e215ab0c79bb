//! `/requests/{id}`: one request's row, timings, cost and its logs on one linkable page.

use super::requests::cost_text;
use crate::api;
use crate::components::{ErrorPanel, Freshness, Loading};
use crate::format;
use crate::state::{self, use_config, use_view};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// The request detail page.
#[component]
pub fn RequestDetailPage() -> impl IntoView {
    let config = use_config();
    let view = use_view();
    let params = use_params_map();
    let detail = LocalResource::new(move || {
        let param = view.get("ws");
        let id = params.with(|p| p.get("id")).unwrap_or_default();
        async move { api::get_request(&state::workspace(config, param).await?, &id).await }
    });
    view! {
        <div class="page-head">
            <h1>"Request " <code>{move || params.with(|p| p.get("id")).unwrap_or_default()}</code></h1>
        </div>
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(d) => {
                        let r = d.data.row;
                        let logs = d.data.logs;
                        let lines = logs
                            .into_iter()
                            .map(|l| view! {
                                <div class=format!("log-line level-{}", l.level.as_str())>
                                    <span class="ts">{format::clock(l.ts)}</span>
                                    <span class="lvl">{l.level.as_str()}</span>
                                    <span class="msg">{l.message}</span>
                                </div>
                            })
                            .collect_view();
                        view! {
                            <p class="meta"><Freshness as_of=d.as_of stale=d.stale /></p>
                            <section class="panel">
                                <dl class="facts" id="request-facts">
                                    <dt>"Endpoint"</dt><dd>{r.endpoint.clone()}</dd>
                                    <dt>"Status"</dt><dd>{r.status_code.map_or_else(|| "running".to_owned(), |s| s.to_string())}</dd>
                                    <dt>"Sent"</dt><dd>{format::datetime(r.sent_at)}</dd>
                                    <dt>"Started"</dt><dd>{format::datetime(r.started_at)}</dd>
                                    <dt>"Ended"</dt><dd>{r.ended_at.map(format::datetime).unwrap_or_else(|| "still running".into())}</dd>
                                    <dt>"Queue"</dt><dd>{format::seconds(r.queue_seconds)}</dd>
                                    <dt>"Duration"</dt><dd>{format::opt_seconds(r.duration_seconds)}</dd>
                                    <dt>"Runner"</dt><dd>{r.runner_id.clone().unwrap_or_else(|| "none (failed before dispatch)".into())}</dd>
                                    <dt>"Billable units"</dt><dd>{r.billable_units.map(|u| format!("{u:.2}")).unwrap_or_else(|| "not billed yet".into())}</dd>
                                    {crate::state::has_role(shared::auth::Role::Billing)
                                        .then(|| view! { <dt>"Cost"</dt><dd>{cost_text(&r.cost)}</dd> })}
                                </dl>
                            </section>
                            <section class="panel">
                                <h2>"Logs"</h2>
                                <div class="log-list static" id="request-logs">{lines}</div>
                            </section>
                        }
                            .into_any()
                    }
                    Err(error) => view! { <ErrorPanel error=error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
