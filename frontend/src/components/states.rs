//! Loading, empty, error and stale states shared by every panel: no blank panels, no raw dumps.

use crate::api::ClientError;
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use shared::ErrorCode;

/// Placeholder while data loads.
#[component]
pub fn Loading() -> impl IntoView {
    view! { <div class="state-loading" role="status">"Loading…"</div> }
}

/// Nothing to show, and why.
#[component]
pub fn Empty(
    /// What is missing, in the user's terms ("No requests for acme/x in this range").
    #[prop(into)]
    message: String,
) -> impl IntoView {
    view! { <div class="state-empty">{message}</div> }
}

/// A panel fed by one resource: "Loading…" until its first answer, the failure explained
/// ([`ErrorPanel`]) when it fails, `render(data)` otherwise; a refresh keeps the last answer on
/// screen until the next one lands. Every data panel goes through this one function: a
/// `Suspend` per panel compiled to a future of its own (6–11 KB of wasm each).
pub fn loaded<T, V>(
    data: LocalResource<Result<T, ClientError>>,
    render: impl Fn(T) -> V + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + 'static,
    V: IntoView + 'static,
{
    move || match data.get() {
        None => view! { <Loading /> }.into_any(),
        Some(Ok(data)) => render(data).into_any(),
        Some(Err(error)) => view! { <ErrorPanel error=error /> }.into_any(),
    }
}

/// A failed load, explained: what happened and what to do.
#[component]
pub fn ErrorPanel(
    /// What went wrong.
    error: ClientError,
) -> impl IntoView {
    let (title, hint) = match error.code() {
        Some(ErrorCode::AdminKeyMissing) => (
            "This view needs an ADMIN key",
            "Usage and cost come from fal's usage API, which only ADMIN-scoped keys may read. Create an ADMIN key in fal's dashboard (Settings → Keys), set it where the line below says, restart falscope and reload.",
        ),
        Some(ErrorCode::UpstreamUnavailable) => ("fal is not answering", "falscope will keep trying; this panel fills in as soon as fal answers."),
        Some(ErrorCode::UpstreamCredentials) => ("fal rejected falscope's key", "Check FAL_KEY / FAL_ADMIN_KEY on the falscope server."),
        Some(ErrorCode::Forbidden) => ("Your role cannot see this", "Ask a falscope admin for a role that includes it."),
        Some(ErrorCode::UpstreamRefused) => ("fal refused this endpoint", "The fal account of this workspace does not own it: pick one of its own apps."),
        Some(ErrorCode::Unauthenticated) => ("You are signed out", "Your session ended: reload the page to sign in again."),
        Some(ErrorCode::RateLimited) => ("Too many requests", "falscope is limiting how fast one user may ask; this panel retries on the next refresh."),
        Some(ErrorCode::InvalidParameter) => ("This view's settings are not valid", "Fix the value named below, or reset the time range."),
        _ => ("Something went wrong", ""),
    };
    view! {
        <div class="panel state-error" role="alert">
            <strong>{title}</strong>
            <p>{hint}</p>
            <p class="meta">{error.to_string()}</p>
        </div>
    }
}

/// When the data is from, and a warning when it is a stale copy.
#[component]
pub fn Freshness(
    /// When falscope received it from fal.
    as_of: DateTime<Utc>,
    /// Whether fal failed and this is the last good copy.
    stale: bool,
) -> impl IntoView {
    let time = format!(
        "{} {}",
        crate::format::clock(as_of),
        crate::format::zone_name()
    );
    if stale {
        view! {
            <span class="freshness stale" role="status">
                {format!("as of {time} — fal is not answering; showing the last good data")}
            </span>
        }
        .into_any()
    } else {
        view! { <span class="freshness">{format!("as of {time}")}</span> }.into_any()
    }
}

/// A page the signed-in role may not open: one explanation instead of a panel of errors
/// per view. `children` render only for `page`'s role and up.
#[component]
pub fn RoleGate(
    /// The page.
    page: crate::routes::Page,
    /// The page's content.
    children: ChildrenFn,
) -> impl IntoView {
    let role = crate::state::use_role(crate::state::use_config());
    move || {
        let (mine, needed) = (role.get(), page.min_role());
        if mine >= needed {
            children().into_any()
        } else {
            view! {
                <div class="page-head"><h1>{page.label()}</h1></div>
                <div class="panel state-error" role="alert">
                    <strong>{format!("{} needs the {needed} role", page.label())}</strong>
                    <p>{format!("You are signed in as {mine}. Ask a falscope admin for the {needed} role to see spend and cost.")}</p>
                </div>
            }
            .into_any()
        }
    }
}
