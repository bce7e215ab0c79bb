//! `/requests`: filterable, sortable, paginated requests with their cost; a row opens its page.

use crate::api;
use crate::components::{loaded, Empty, Freshness, TimePicker};
use crate::format;
use crate::routes::request_path;
use crate::state::{use_config, use_refresh_tick, use_set_query, use_view};
use leptos::prelude::*;
use leptos_router::components::A;
use shared::query::RequestsQuery;
use shared::requests::{Cost, RequestRow, RequestsPage as Listing, StatusClass};
use shared::Fetched;

/// What the page shows: a page of requests, which endpoints it covers and why, and its CSV.
#[derive(Debug, Clone)]
struct Shown {
    page: Fetched<Listing>,
    /// Set when no endpoint was picked: which ones are shown instead.
    note: Option<String>,
    csv: String,
    /// The endpoints to keep in the URL when paging (ranked defaults).
    pin: Option<String>,
}

/// The requests page.
#[component]
pub fn RequestsPage() -> impl IntoView {
    let config = use_config();
    let view = use_view();
    let tick = use_refresh_tick(view);
    let query = move || RequestsQuery {
        endpoints: view.list("endpoints"),
        from: view.time_from("now-24h"),
        to: view.time_to(),
        status: view.choice("status"),
        sort: view.choice("sort"),
        limit: None,
        cursor: view.get("cursor"),
    };
    let shown = LocalResource::new(move || {
        let (param, mut q) = (view.get("ws"), query());
        tick.track();
        async move {
            let Some((ws, shown)) = super::shown_endpoints(config, param, q.endpoints).await?
            else {
                return Ok(None);
            };
            let (note, ranked) = (shown.note, shown.ranked);
            q.endpoints = shown.list;
            // Ranked defaults may change between pages: the next page keeps these in the URL.
            let pin = ranked.then(|| q.endpoints.values().join(","));
            // The CSV has every page of the view's query.
            let all = RequestsQuery {
                cursor: None,
                ..q.clone()
            };
            let csv = api::url_of(shared::routes::ws::REQUESTS_CSV, &ws, &all);
            let page = api::get_requests(&ws, &q).await?;
            Ok(Some(Shown {
                page,
                note,
                csv,
                pin,
            }))
        }
    });
    let set = use_set_query();
    let csv = move || {
        shown.with(|s| {
            s.as_ref()
                .and_then(|r| r.as_ref().ok())
                .and_then(Option::as_ref)
                .map(|s| s.csv.clone())
        })
    };
    let select = |key: &'static str, options: &'static [(&'static str, &'static str)]| {
        let set = set.clone();
        view! {
            <select id=format!("requests-{key}") on:change=move |ev| {
                let v = event_target_value(&ev);
                set(&[(key, (!v.is_empty()).then_some(v)), ("cursor", None)]);
            }>
                {options
                    .iter()
                    .map(|(value, label)| view! { <option value=*value selected=move || view.get(key).unwrap_or_default() == *value>{*label}</option> })
                    .collect_view()}
            </select>
        }
    };
    let next_set = set.clone();
    view! {
        <div class="page-head">
            <h1>"Requests"</h1>
            <TimePicker default_from="now-24h" />
        </div>
        <div class="toolbar">
            <super::EndpointChooser />
            <label>"Status " {select("status", &[("", "any"), ("success", "2xx"), ("user_error", "4xx"), ("error", "5xx")])}</label>
            <label>"Sort " {select("sort", &[("", "newest"), ("duration", "longest")])}</label>
            {move || csv().map(|href| view! { <a class="button" href=href download>"CSV"</a> })}
        </div>
        {loaded(shown, move |shown| match shown {
            None => view! { <Empty message="This workspace has no endpoints yet." /> }.into_any(),
            Some(Shown { page: p, note, pin, .. }) => {
                let next = p.data.next_cursor.clone();
                let (as_of, stale) = (p.as_of, p.stale);
                let first_set = next_set.clone();
                let next_set = next_set.clone();
                let rows = if p.data.items.is_empty() {
                    view! { <Empty message="No requests for these endpoints in this range." /> }.into_any()
                } else {
                    view! { <RequestsTable rows=p.data.items /> }.into_any()
                };
                view! {
                    <p class="meta" id="endpoints-shown">{note}" "<Freshness as_of=as_of stale=stale /></p>
                    {rows}
                    <div class="pager">
                        <button disabled=move || view.get("cursor").is_none() on:click=move |_| first_set(&[("cursor", None)])>"First page"</button>
                        <button disabled=next.is_none() on:click=move |_| {
                            let mut keep = vec![("cursor", next.clone())];
                            if pin.is_some() {
                                keep.push(("endpoints", pin.clone()));
                            }
                            next_set(&keep);
                        }>"Next page"</button>
                    </div>
                }
                .into_any()
            }
        })}
    }
}

/// The distinguishing tail of a request id (request ids are UUIDv7: their head is a timestamp
/// shared by neighbours).
pub fn short_id(id: &str) -> String {
    id.chars()
        .rev()
        .take(12)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect()
}

/// A cost cell.
pub fn cost_text(c: &Cost) -> String {
    match c {
        // A blended price (several unit prices billed): the amount is approximate.
        Cost::Known {
            amount,
            blended: true,
            ..
        } => format!("≈{}", format::money(*amount, "USD")),
        Cost::Known { amount, .. } => format::money(*amount, "USD"),
        Cost::Pending => "pending".into(),
        Cost::Unknown => "–".into(),
    }
}

/// The table of request rows.
#[component]
pub fn RequestsTable(
    /// Rows to show.
    rows: Vec<RequestRow>,
) -> impl IntoView {
    // Costs are billing data: below the billing role the server sends none, so no column.
    let priced = crate::state::has_role(shared::auth::Role::Billing);
    let rows = rows
        .into_iter()
        .map(|r| {
            let class = match r.status {
                StatusClass::Success => "ok",
                StatusClass::UserError => "warn",
                StatusClass::Error => "bad",
                StatusClass::Running => "muted",
            };
            view! {
                <tr>
                    <td><A href=request_path(&r.id)>{short_id(&r.id)}</A></td>
                    <td>{r.endpoint.clone()}</td>
                    <td class=format!("status {class}")>{r.status_code.map_or_else(|| "running".to_owned(), |s| s.to_string())}</td>
                    <td class="num">{format::opt_seconds(r.duration_seconds)}</td>
                    <td class="num">{format::seconds(r.queue_seconds)}</td>
                    <td>{r.ended_at.map(format::datetime).unwrap_or_default()}</td>
                    <td class="num">{r.billable_units.map(|u| format!("{u:.2}")).unwrap_or_default()}</td>
                    {priced.then(|| view! { <td class="num">{cost_text(&r.cost)}</td> })}
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap">
            <table id="requests-table">
                <thead>
                    <tr><th>"Request"</th><th>"Endpoint"</th><th>"Status"</th><th>"Duration"</th><th>"Queue"</th><th>{format!("Ended ({})", crate::format::zone_name())}</th><th>"Billable units"</th>{priced.then(|| view! { <th>"Cost"</th> })}</tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}
