//! falscope's dashboard: a Leptos CSR app over the backend's `/api`.
//! Data flows `api` → page → component → chart; only `api` touches the network.

pub mod api;
pub mod charts;
pub mod clock;
pub mod components;
pub mod format;
pub mod lazy;
pub mod pages;
pub mod routes;
pub mod state;
pub mod theme;
pub mod zone;

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::path;
use shared::auth::{AuthMode, Role};

/// The whole app: the router around the shell.
#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <Shell />
        </Router>
    }
}

/// What the main area shows.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Gate {
    /// The config has not arrived yet.
    Loading,
    /// falscope did not answer with its config.
    Failed,
    /// Not signed in (token or proxy mode).
    SignIn(AuthMode),
    /// The routed pages, built for one display zone (`tz`).
    Pages(Option<String>),
}

/// Top bar, demo banner and the routed pages. Contexts are provided here, inside the router,
/// so every routed page (rendered by the router's own owner) sees them.
#[component]
fn Shell() -> impl IntoView {
    let config = state::provide_config();
    let theme = theme::provide_theme();
    let help = RwSignal::new(false);
    let view = state::use_view();
    let set = state::use_set_query();
    let set_tz = set.clone();
    let demo = move || config.0.get().and_then(|c| c.ok()).is_some_and(|c| c.demo);
    let workspaces = move || {
        config
            .0
            .get()
            .and_then(|c| c.ok())
            .map(|c| c.workspaces)
            .unwrap_or_default()
    };
    // Keep `ws` and the time range when moving between pages.
    let carry = move |path: &str| {
        let keep: Vec<(String, String)> = ["ws", "from", "to", "refresh", "tz"]
            .iter()
            .filter_map(|k| view.get(k).map(|v| ((*k).to_owned(), v)))
            .collect();
        format!("{path}{}", api::query_string(&keep))
    };
    let loaded = move || config.0.get().and_then(|c| c.ok());
    let user = move || loaded().and_then(|c| c.auth.user);
    // The display zone, from the URL (set for every formatter before pages render).
    let zone = Memo::new(move |_| {
        let z = zone::Zone::parse(view.get("tz").as_deref());
        zone::set(z.clone());
        z
    });
    // What the main area shows. A memo, so pages are built once the config says who is signed
    // in (signed out in token/proxy mode: the sign-in screen) and rebuilt only when that or the
    // zone changes, so every time on them is redrawn in the new zone.
    let gate = Memo::new(move |_| match config.0.get() {
        None => Gate::Loading,
        Some(Err(_)) => Gate::Failed,
        Some(Ok(c)) if c.auth.mode != AuthMode::None && c.auth.user.is_none() => {
            Gate::SignIn(c.auth.mode)
        }
        Some(Ok(_)) => Gate::Pages(zone.get().param()),
    });
    let nav = move || {
        let role = user().map_or(Role::Viewer, |u| u.role);
        routes::Page::NAV
            .into_iter()
            .filter(|p| matches!(gate.get(), Gate::Pages(_)) && role >= p.min_role())
            .map(|p| view! { <A href=move || carry(p.path())>{p.label()}</A> })
            .collect_view()
    };
    let sign_out = move |_| {
        leptos::task::spawn_local(async move {
            if api::logout().await.is_ok() {
                api::reload();
            }
        });
    };
    let token_mode = move || loaded().is_some_and(|c| c.auth.mode == AuthMode::Token);
    // Firing alerts of the workspace, looked at every 30 s while pages are shown.
    let alerts_tick = state::use_tick(|| 30);
    let firing = LocalResource::new(move || {
        let param = view.get("ws");
        let shown = matches!(gate.get(), Gate::Pages(_));
        alerts_tick.track();
        async move {
            if !shown {
                return Vec::new();
            }
            let Ok(ws) = state::workspace(config, param).await else {
                return Vec::new();
            };
            api::get_firing_rules(&ws)
                .await
                .map(|f| f.names())
                .unwrap_or_default()
        }
    });
    let firing_badge = move || {
        let names = firing.get().unwrap_or_default();
        (!names.is_empty()).then(|| {
            let title = format!("Firing: {}", names.join(", "));
            view! {
                <A href=move || carry(routes::Page::Alerts.path()) attr:class="alert-badge" attr:title=title attr:id="firing-alerts">
                    {format!("{} firing", names.len())}
                </A>
            }
        })
    };
    view! {
        <header class="topbar">
            <span class="brand">"falscope"</span>
            <nav>{nav}</nav>
            <span class="spacer"></span>
            {firing_badge}
            <Show when=move || { workspaces().len() > 1 }>
                <select id="workspace" aria-label="Workspace" on:change={
                    let set = set.clone();
                    move |ev| set(&[("ws", Some(event_target_value(&ev))), ("endpoints", None), ("cursor", None)])
                }>
                    {move || {
                        let current = config.0.get().and_then(|c| c.ok()).and_then(|c| view.workspace(&c));
                        workspaces()
                            .into_iter()
                            .map(|w| {
                                let selected = current.as_deref() == Some(w.id.as_str());
                                view! { <option value=w.id.clone() selected=selected>{w.name}</option> }
                            })
                            .collect_view()
                    }}
                </select>
            </Show>
            {move || user().filter(|_| loaded().is_some_and(|c| c.auth.mode != AuthMode::None)).map(|u| view! {
                <span class="user" title="Signed in">{u.name}" · "{u.role.as_str()}</span>
            })}
            <Show when=move || token_mode() && user().is_some()>
                <button id="sign-out" on:click=sign_out>"Sign out"</button>
            </Show>
            <select id="tz" aria-label="Time zone" title="Time zone of every time shown" on:change=move |ev| {
                let v = event_target_value(&ev);
                set_tz(&[("tz", (v != "UTC").then_some(v))]);
            }>
                {move || {
                    let current = zone.get();
                    let mut options: Vec<(String, String)> = vec![
                        ("UTC".into(), "UTC".into()),
                        ("local".into(), format!("Browser ({})", zone::Zone::Local.name())),
                    ];
                    options.extend(zone::COMMON.iter().map(|z| ((*z).to_owned(), (*z).to_owned())));
                    if let zone::Zone::Named(n) = &current {
                        if !zone::COMMON.contains(&n.as_str()) {
                            options.push((n.clone(), n.clone()));
                        }
                    }
                    let selected = current.param().unwrap_or_else(|| "UTC".into());
                    options
                        .into_iter()
                        .map(|(value, label)| {
                            let is = value == selected;
                            view! { <option value=value selected=is>{label}</option> }
                        })
                        .collect_view()
                }}
            </select>
            <button class="icon" title="Keyboard shortcuts (?)" aria-label="Keyboard shortcuts" on:click=move |_| help.update(|h| *h = !*h)>"?"</button>
            <button id="theme-toggle" class="icon" title="Toggle dark/light theme" on:click=move |_| theme.toggle()>
                {move || if theme.is_dark() { "☀ Light" } else { "☾ Dark" }}
            </button>
        </header>
        <components::Shortcuts help=help />
        <Show when=demo>
            <div class="demo-banner" role="status">
                "Demo mode: the data comes from falscope's built-in fal simulator. Set FAL_KEY to see your own apps."
            </div>
        </Show>
        <main>
          {move || match gate.get() {
            Gate::Loading => view! { <components::Loading /> }.into_any(),
            Gate::Failed => config.0.get().and_then(|c| c.err()).map(|error| view! { <components::ErrorPanel error=error /> }).into_any(),
            Gate::SignIn(_) => view! { <lazy::Lazy load=lazy::SIGN_IN /> }.into_any(),
            Gate::Pages(_) => view! {
            <Routes fallback=|| view! { <pages::NotFoundPage /> }>
                <Route path=path!("/") view=pages::OverviewPage />
                <Route path=path!("/analytics") view=|| view! { <lazy::Lazy load=lazy::ANALYTICS /> } />
                <Route path=path!("/errors") view=|| view! { <lazy::Lazy load=lazy::ERRORS /> } />
                <Route path=path!("/usage") view=|| view! { <components::RoleGate page=routes::Page::Usage><lazy::Lazy load=lazy::USAGE /></components::RoleGate> } />
                <Route path=path!("/cost") view=|| view! { <components::RoleGate page=routes::Page::Cost><lazy::Lazy load=lazy::COST /></components::RoleGate> } />
                <Route path=path!("/alerts") view=|| view! { <lazy::Lazy load=lazy::ALERTS /> } />
                <Route path=path!("/requests") view=|| view! { <lazy::Lazy load=lazy::REQUESTS /> } />
                <Route path=path!("/requests/:id") view=|| view! { <lazy::Lazy load=lazy::REQUEST_DETAIL /> } />
                <Route path=path!("/logs") view=|| view! { <lazy::Lazy load=lazy::LOGS /> } />
                <Route path=path!("/models") view=|| view! { <lazy::Lazy load=lazy::MODELS /> } />
                <Route path=path!("/files") view=|| view! { <lazy::Lazy load=lazy::FILES /> } />
            </Routes>
            }.into_any(),
          }}
        </main>
    }
}
