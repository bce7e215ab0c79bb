//! `/logs`: history search with paging, and a live tail over SSE with pause/resume/clear,
//! follow-bottom, level colours and a line cap.

use crate::api::events::{use_events, Connection};
use crate::api::{self, ClientError};
use crate::components::log_view::Lines;
use crate::components::{Empty, ErrorPanel, Freshness, Loading, LogView, TimePicker};
use crate::state::{self, use_config, use_set_query, use_view};
use leptos::prelude::*;
use shared::logs::{LogLevel, LogLine};
use shared::query::LogsQuery;
use std::collections::VecDeque;
use std::sync::Arc;

/// Most lines the live tail keeps (oldest dropped first).
pub const LINE_CAP: usize = 100_000;

/// The logs page.
#[component]
pub fn LogsPage() -> impl IntoView {
    let view = use_view();
    let set = use_set_query();
    let live = move || view.get("mode").as_deref() == Some("live");
    let filter_input = |key: &'static str, placeholder: &'static str| {
        let set = set.clone();
        view! {
            <input
                id=format!("logs-{key}")
                type="search"
                placeholder=placeholder
                prop:value=move || view.get(key).unwrap_or_default()
                on:change=move |ev| {
                    let v = event_target_value(&ev);
                    set(&[(key, (!v.is_empty()).then_some(v)), ("cursor", None)]);
                }
            />
        }
    };
    let level_set = set.clone();
    let mode_set = set.clone();
    view! {
        <div class="page-head">
            <h1>"Logs"</h1>
            <Show when=move || !live()>
                <TimePicker default_from="now-1h" />
            </Show>
        </div>
        <div class="toolbar">
            <div class="tabs" role="tablist">
                <button role="tab" class:active=move || !live() on:click={
                    let set = mode_set.clone();
                    move |_| set(&[("mode", None)])
                }>"History"</button>
                <button id="logs-live-tab" role="tab" class:active=live on:click=move |_| mode_set(&[("mode", Some("live".into())), ("cursor", None)])>"Live tail"</button>
            </div>
            {filter_input("search", "Search text")}
            {filter_input("apps", "Apps (owner/name, …)")}
            {filter_input("request_id", "Request id")}
            <select id="logs-level" aria-label="Lowest level shown" on:change=move |ev| {
                let v = event_target_value(&ev);
                level_set(&[("level", (!v.is_empty()).then_some(v)), ("cursor", None)]);
            }>
                <option value="" selected=move || view.get("level").is_none()>"any level"</option>
                {LogLevel::ALL
                    .map(|l| view! { <option value=l.as_str() selected=move || view.get("level").as_deref() == Some(l.as_str())>{format!("≥ {}", l.as_str())}</option> })
                    .into_iter()
                    .collect_view()}
            </select>
        </div>
        {move || if live() { view! { <LiveTail /> }.into_any() } else { view! { <History /> }.into_any() }}
    }
}

/// The history query of the view (the live tail takes its filter).
fn query(view: state::ViewState) -> LogsQuery {
    LogsQuery {
        from: view.time_from("now-1h"),
        to: view.time_to(),
        apps: view.list("apps"),
        level: view.get("level").as_deref().and_then(LogLevel::parse),
        search: view.get("search"),
        request_id: view.get("request_id"),
        cursor: view.get("cursor"),
        ..LogsQuery::default()
    }
}

/// Log history with paging.
#[component]
fn History() -> impl IntoView {
    let config = use_config();
    let view = use_view();
    let set = use_set_query();
    let page = LocalResource::new(move || {
        let param = view.get("ws");
        let q = query(view);
        async move { api::get_logs(&state::workspace(config, param).await?, &q).await }
    });
    view! {
        <Suspense fallback=|| view! { <Loading /> }>
            {move || {
                let set = set.clone();
                Suspend::new(async move {
                    match page.await {
                        Ok(p) if p.data.items.is_empty() => view! { <Empty message="No log lines match these filters in this range." /> }.into_any(),
                        Ok(p) => {
                            let next = p.data.next_cursor.clone();
                            // History comes newest first; the list shows oldest at the top.
                            let lines: Lines = RwSignal::new(p.data.items.into_iter().rev().map(Arc::new).collect());
                            let follow = RwSignal::new(true);
                            let first = set.clone();
                            view! {
                                <p class="meta"><Freshness as_of=p.as_of stale=p.stale /></p>
                                <LogView lines=lines follow=follow />
                                <div class="pager">
                                    <button disabled=move || view.get("cursor").is_none() on:click=move |_| first(&[("cursor", None)])>"Newest"</button>
                                    <button disabled=next.is_none() on:click=move |_| set(&[("cursor", next.clone())])>"Older"</button>
                                </div>
                            }
                                .into_any()
                        }
                        Err(error) => view! { <ErrorPanel error=error /> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

/// The live tail, once the workspace is known.
#[component]
fn LiveTail() -> impl IntoView {
    let config = use_config();
    let view = use_view();
    let ws = LocalResource::new(move || {
        let param = view.get("ws");
        let q = query(view).filter();
        async move { Ok::<_, ClientError>((state::workspace(config, param).await?, q)) }
    });
    view! {
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match ws.await {
                    Ok((ws, q)) => view! { <Tail url=api::url_of(shared::routes::ws::LOGS_STREAM, &ws, &q) /> }.into_any(),
                    Err(error) => view! { <ErrorPanel error=error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The tail of one stream URL.
#[component]
fn Tail(
    /// `/api/ws/{ws}/logs/stream?…`.
    url: String,
) -> impl IntoView {
    let lines: Lines = RwSignal::new(VecDeque::new());
    let held = RwSignal::new(Vec::<Arc<LogLine>>::new());
    let paused = RwSignal::new(false);
    let follow = RwSignal::new(true);
    let (status, set_status) = signal(String::new());
    let connection = use_events(
        url,
        &[shared::events::LOG, shared::events::STATUS],
        move |name, data| {
            if name == shared::events::STATUS {
                set_status.set(data);
                return;
            }
            let Ok(line) = serde_json::from_str::<LogLine>(&data) else {
                return;
            };
            let line = Arc::new(line);
            // A line can arrive after the page has gone (the stream closes on cleanup): the
            // signals are disposed then, and the `try_` forms skip it instead of panicking.
            if paused.try_get_untracked().unwrap_or(false) {
                held.try_update(|h| h.push(line));
            } else {
                lines.try_update(|l| {
                    l.push_back(line);
                    while l.len() > LINE_CAP {
                        l.pop_front();
                    }
                });
            }
        },
    );
    let resume = move |_| {
        let waiting = held.try_update(std::mem::take).unwrap_or_default();
        lines.update(|l| {
            l.extend(waiting);
            while l.len() > LINE_CAP {
                l.pop_front();
            }
        });
        paused.set(false);
    };
    view! {
        <div class="toolbar">
            <Show when=move || !paused.get() fallback=move || view! { <button id="tail-resume" on:click=resume>{move || format!("Resume ({} new)", held.with(Vec::len))}</button> }>
                <button id="tail-pause" on:click=move |_| paused.set(true)>"Pause"</button>
            </Show>
            <button id="tail-clear" on:click=move |_| lines.update(VecDeque::clear)>"Clear"</button>
            <label><input type="checkbox" prop:checked=follow on:change=move |ev| follow.set(event_target_checked(&ev)) />" Follow"</label>
            <span class="meta" id="tail-state">
                {move || match connection.get() {
                    Connection::Open if status.get().contains("reconnecting") => "fal's stream dropped — resuming…".to_owned(),
                    Connection::Open => format!("Live · {} lines", lines.with(VecDeque::len)),
                    Connection::Connecting => "Connecting…".to_owned(),
                    Connection::Lost => "Stream interrupted — reconnecting…".to_owned(),
                }}
            </span>
        </div>
        <LogView lines=lines follow=follow />
    }
}
