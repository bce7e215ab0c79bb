//! App-wide context and the view state kept in the URL (range, refresh, filters), so a copied
//! link opens the same view and back/forward works.

use crate::api::{self, ClientError};
use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate, use_query_map};
use leptos_router::NavigateOptions;
use shared::query::{List, TimeExpr};
use shared::PublicConfig;
use std::time::Duration;

/// The config resource shared by every page.
#[derive(Clone, Copy)]
pub struct ConfigContext(pub LocalResource<Result<PublicConfig, ClientError>>);

/// Loads the config and puts it in context. Call once, inside the router.
pub fn provide_config() -> ConfigContext {
    let ctx = ConfigContext(LocalResource::new(api::get_config));
    provide_context(ctx);
    ctx
}

/// The config from context.
pub fn use_config() -> ConfigContext {
    expect_context::<ConfigContext>()
}

/// Time-range presets of the picker: (label, `from` expression).
pub const PRESETS: [(&str, &str); 6] = [
    ("15 min", "now-15m"),
    ("1 h", "now-1h"),
    ("6 h", "now-6h"),
    ("24 h", "now-24h"),
    ("7 d", "now-7d"),
    ("30 d", "now-30d"),
];

/// Auto-refresh choices in seconds (0 = off); none is faster than fal's 10 s metrics cache.
pub const REFRESH: [(u32, &str); 5] = [
    (0, "off"),
    (10, "10 s"),
    (30, "30 s"),
    (60, "1 m"),
    (300, "5 m"),
];

/// Reads the view state from the query string.
#[derive(Clone, Copy)]
pub struct ViewState {
    query: Memo<leptos_router::params::ParamsMap>,
}

/// The view state of the current URL.
pub fn use_view() -> ViewState {
    ViewState {
        query: use_query_map(),
    }
}

impl ViewState {
    /// A query parameter (tracked).
    pub fn get(self, key: &str) -> Option<String> {
        self.query.with(|q| q.get(key)).filter(|v| !v.is_empty())
    }

    /// `from`, defaulting to `default`.
    pub fn from(self, default: &str) -> String {
        self.get("from").unwrap_or_else(|| default.to_owned())
    }

    /// `to`, defaulting to `now`.
    pub fn to(self) -> String {
        self.get("to").unwrap_or_else(|| "now".to_owned())
    }

    /// `from` as a typed time (checked by the server, which names it if it is bad).
    pub fn time_from(self, default: &str) -> Option<TimeExpr> {
        Some(TimeExpr::unchecked(self.from(default)))
    }

    /// `to` as a typed time.
    pub fn time_to(self) -> Option<TimeExpr> {
        Some(TimeExpr::unchecked(self.to()))
    }

    /// The analytics query of the view (endpoints, range, buckets, zone): the Analytics and
    /// Errors pages and their CSV links ask for the same thing.
    pub fn analytics_query(self) -> shared::query::AnalyticsQuery {
        shared::query::AnalyticsQuery {
            endpoints: self.list("endpoints"),
            from: self.time_from("now-24h"),
            to: self.time_to(),
            timeframe: self.choice("timeframe"),
            tz: self.tz(),
        }
    }

    /// A comma-separated parameter as a list (at most `N` values are sent).
    pub fn list<const N: usize>(self, key: &str) -> List<N> {
        let v = self.get(key).unwrap_or_default();
        List::of(&v.split(',').map(str::trim).collect::<Vec<_>>())
    }

    /// A parameter naming one of `T`'s values (by its wire name); `None` if absent or unknown.
    pub fn choice<T: serde::de::DeserializeOwned>(self, key: &str) -> Option<T> {
        serde_json::from_value(serde_json::Value::String(self.get(key)?)).ok()
    }

    /// The display zone's IANA name for the API's `tz` (`None` for UTC, the default), so day
    /// and week buckets start at midnight in the zone the dashboard shows.
    pub fn tz(self) -> Option<String> {
        crate::zone::Zone::parse(self.get("tz").as_deref()).iana()
    }

    /// Auto-refresh period in seconds (0 = off).
    pub fn refresh(self) -> u32 {
        self.get("refresh")
            .and_then(|v| v.parse().ok())
            .filter(|s| REFRESH.iter().any(|(r, _)| r == s))
            .unwrap_or(0)
    }

    /// The selected workspace: `ws` from the URL, else the first configured one.
    pub fn workspace(self, config: &PublicConfig) -> Option<String> {
        self.get("ws")
            .or_else(|| config.workspaces.first().map(|w| w.id.clone()))
    }
}

/// Returns a function that updates query parameters (`None` removes one) and navigates,
/// keeping the path and the other parameters. Each change is a history entry.
pub fn use_set_query() -> impl Fn(&[(&str, Option<String>)]) + Clone + 'static {
    let navigate = use_navigate();
    let location = use_location();
    move |updates: &[(&str, Option<String>)]| {
        let path = location.pathname.get_untracked();
        let mut pairs: Vec<(String, String)> = location
            .query
            .get_untracked()
            .into_iter()
            .filter(|(k, _)| !updates.iter().any(|(u, _)| *u == k.as_ref()))
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        for (k, v) in updates {
            if let Some(v) = v {
                pairs.push(((*k).to_owned(), v.clone()));
            }
        }
        pairs.sort();
        navigate(
            &format!("{path}{}", crate::api::query_string(&pairs)),
            NavigateOptions::default(),
        );
    }
}

/// A counter that increases every `refresh` seconds of the view state (never while off), for
/// resources to depend on.
pub fn use_refresh_tick(view: ViewState) -> ReadSignal<u32> {
    use_tick(move || view.refresh())
}

/// A counter that increases every `period()` seconds (never while 0), for resources to depend
/// on; the interval follows `period` and stops with the owner.
pub fn use_tick(period: impl Fn() -> u32 + 'static) -> ReadSignal<u32> {
    let (tick, set_tick) = signal(0u32);
    // The running interval, cleared when the period changes and when the page goes away.
    let current = StoredValue::new_local(None::<IntervalHandle>);
    Effect::new(move |_| {
        let period = period();
        if let Some(handle) = current.try_update_value(Option::take).flatten() {
            handle.clear();
        }
        if period > 0 {
            let handle = set_interval_with_handle(
                move || set_tick.update(|t| *t += 1),
                Duration::from_secs(u64::from(period)),
            );
            current.set_value(handle.ok());
        }
    });
    on_cleanup(move || {
        if let Some(handle) = current.try_update_value(Option::take).flatten() {
            handle.clear();
        }
    });
    tick
}

/// The selected workspace id once the config has loaded; `ws_param` is the URL's `ws`, read
/// by the caller while tracking.
pub async fn workspace(
    config: ConfigContext,
    ws_param: Option<String>,
) -> Result<String, ClientError> {
    let cfg = config.0.await?;
    ws_param
        .or_else(|| cfg.workspaces.first().map(|w| w.id.clone()))
        .ok_or_else(|| ClientError::Decode("falscope reports no workspace".into()))
}

/// The selected workspace id as a signal (`None` until the config has loaded).
pub fn use_workspace(config: ConfigContext, view: ViewState) -> Signal<Option<String>> {
    Signal::derive(move || {
        let cfg = config.0.get()?.ok()?;
        view.workspace(&cfg)
    })
}

/// Drag-to-zoom on time charts: sets `from`/`to` to the selected instants.
pub fn use_zoom() -> Callback<(i64, i64)> {
    let set = use_set_query();
    Callback::new(move |(from, to): (i64, i64)| {
        let iso = |ms: i64| {
            chrono::DateTime::from_timestamp_millis(ms)
                .unwrap_or_default()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        };
        set(&[
            ("from", Some(iso(from))),
            ("to", Some(iso(to))),
            ("cursor", None),
        ]);
    })
}

/// The signed-in user's role (viewer until the config says otherwise; `--auth none` is admin).
pub fn use_role(config: ConfigContext) -> Signal<shared::auth::Role> {
    Signal::derive(move || {
        config
            .0
            .get()
            .and_then(|c| c.ok())
            .and_then(|c| c.auth.user)
            .map_or(shared::auth::Role::Viewer, |u| u.role)
    })
}

/// Whether the signed-in user has `role` or above, read once where a view is built.
pub fn has_role(role: shared::auth::Role) -> bool {
    use_role(use_config()).get_untracked() >= role
}

/// Share of the current UTC day already past (0–1).
pub fn today_elapsed() -> f64 {
    let now = js_sys::Date::now();
    (now.rem_euclid(86_400_000.0)) / 86_400_000.0
}
