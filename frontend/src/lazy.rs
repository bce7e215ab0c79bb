//! Pages that load on first visit. Each page below is a split point: in the release build
//! (`cargo xtask`, with `--cfg falscope_split`) its code sits in its own wasm chunk, fetched the
//! first time its route renders, so the first download carries only the shell and the Overview
//! (the sign-in screen is a chunk too: most visits are signed in).
//! `trunk serve` and the tests build one module, where the same functions run directly.
//!
//! A chunk that fails to load (network, or a deploy replaced the files) shows an error panel
//! with a retry; the loader does not cache failures, so the retry fetches again.

#![allow(
    unsafe_code,
    reason = "wasm_split's generated import/export pair and its static loader; no hand-written unsafe"
)]

use crate::pages;
use futures::future::LocalBoxFuture;
use leptos::prelude::*;
#[cfg(falscope_split)]
use leptos::wasm_split::wasm_split;
use leptos::wasm_split::SplitLoaderError;
use send_wrapper::SendWrapper;

/// Declares `async fn $name() -> Result<AnyView, SplitLoaderError>`: the page's view, built by
/// code that lives in chunk `$chunk` of the split build; and `async fn $preload()`, which only
/// fetches that chunk.
macro_rules! split_page {
    ($name:ident, $preload:ident, $chunk:ident, $page:expr) => {
        #[cfg(falscope_split)]
        #[wasm_split($chunk, wasm_split_path = ::leptos::wasm_split, fallible, preload($preload))]
        fn $name() -> Result<AnyView, SplitLoaderError> {
            Ok($page.into_any())
        }

        #[cfg(not(falscope_split))]
        async fn $name() -> Result<AnyView, SplitLoaderError> {
            Ok($page.into_any())
        }

        #[cfg(not(falscope_split))]
        #[allow(
            dead_code,
            reason = "the sign-in screen and dialogs are never the path opened"
        )]
        async fn $preload() -> Result<(), SplitLoaderError> {
            Ok(())
        }
    };
}

split_page!(
    analytics,
    preload_analytics,
    page_analytics,
    view! { <pages::AnalyticsPage /> }
);
split_page!(
    errors,
    preload_errors,
    page_errors,
    view! { <pages::ErrorsPage /> }
);
split_page!(
    usage,
    preload_usage,
    page_usage,
    view! { <pages::UsagePage /> }
);
split_page!(cost, preload_cost, page_cost, view! { <pages::CostPage /> });
split_page!(
    alerts,
    preload_alerts,
    page_alerts,
    view! { <pages::AlertsPage /> }
);
split_page!(
    requests,
    preload_requests,
    page_requests,
    view! { <pages::RequestsPage /> }
);
split_page!(
    request_detail,
    preload_request_detail,
    page_request_detail,
    view! { <pages::RequestDetailPage /> }
);
split_page!(logs, preload_logs, page_logs, view! { <pages::LogsPage /> });
split_page!(
    models,
    preload_models,
    page_models,
    view! { <pages::ModelsPage /> }
);
split_page!(
    files,
    preload_files,
    page_files,
    view! { <pages::FilesPage /> }
);
split_page!(
    flush_dialog,
    preload_flush_dialog,
    flush_dialog,
    view! { <pages::FlushDialog /> }
);
split_page!(
    sign_in,
    preload_sign_in,
    sign_in,
    view! { <crate::components::SignIn /> }
);

/// A page's loader, as a plain function pointer (one `Lazy` for every page).
pub type Loader = fn() -> LocalBoxFuture<'static, Result<AnyView, SplitLoaderError>>;

/// The lazily loaded pages, by route.
pub const ANALYTICS: Loader = || Box::pin(analytics());
/// `/errors`.
pub const ERRORS: Loader = || Box::pin(errors());
/// `/usage`.
pub const USAGE: Loader = || Box::pin(usage());
/// `/cost`.
pub const COST: Loader = || Box::pin(cost());
/// `/alerts`.
pub const ALERTS: Loader = || Box::pin(alerts());
/// `/requests`.
pub const REQUESTS: Loader = || Box::pin(requests());
/// `/requests/:id`.
pub const REQUEST_DETAIL: Loader = || Box::pin(request_detail());
/// `/logs`.
pub const LOGS: Loader = || Box::pin(logs());
/// `/models`.
pub const MODELS: Loader = || Box::pin(models());
/// `/files`.
pub const FILES: Loader = || Box::pin(files());
/// The Overview's flush confirmation (operators).
pub const FLUSH_DIALOG: Loader = || Box::pin(flush_dialog());
/// The sign-in screen (token and proxy modes, signed out).
pub const SIGN_IN: Loader = || Box::pin(sign_in());

/// Starts fetching the chunk of the page at `path` (the page a visitor opens first), so it
/// downloads while the shell asks falscope for its config rather than after.
pub fn preload(path: &str) {
    let first = path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    let fetch: LocalBoxFuture<'static, Result<(), SplitLoaderError>> = match first {
        "analytics" => Box::pin(preload_analytics()),
        "errors" => Box::pin(preload_errors()),
        "usage" => Box::pin(preload_usage()),
        "cost" => Box::pin(preload_cost()),
        "alerts" => Box::pin(preload_alerts()),
        "requests" if path.trim_end_matches('/').len() > "/requests".len() => {
            Box::pin(preload_request_detail())
        }
        "requests" => Box::pin(preload_requests()),
        "logs" => Box::pin(preload_logs()),
        "models" => Box::pin(preload_models()),
        "files" => Box::pin(preload_files()),
        _ => return,
    };
    // A failure shows when the page renders (with its retry); nothing to do here. Called
    // before the app mounts, so before leptos's executor exists: wasm-bindgen's spawns it.
    wasm_bindgen_futures::spawn_local(async move {
        let _ = fetch.await;
    });
}

/// Renders the page `load` yields: "Loading…" while its chunk downloads, an error panel with a
/// retry when it cannot be fetched.
#[component]
pub fn Lazy(
    /// The page's loader.
    load: Loader,
) -> impl IntoView {
    let attempt = RwSignal::new(0_u32);
    view! {
        // A Transition, not a Suspense: the page's own resources register with the nearest one,
        // and a Suspense would hide the whole page behind "Loading…" on every refresh.
        <Transition fallback=|| view! { <crate::components::Loading /> }>
            {move || {
                attempt.track();
                Suspend::new(SendWrapper::new(async move {
                    match load().await {
                        Ok(page) => page,
                        Err(_) => view! {
                            <div class="panel state-error" role="alert" id="chunk-failed">
                                <strong>"This page did not load"</strong>
                                <p>"falscope could not fetch this page's code: the network dropped, or falscope was upgraded since this tab opened. Retry, or reload the page."</p>
                                <button id="chunk-retry" on:click=move |_| attempt.update(|n| *n += 1)>"Retry"</button>
                            </div>
                        }
                        .into_any(),
                    }
                }))
            }}
        </Transition>
    }
}
