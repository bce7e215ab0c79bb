//! The sign-in screen: a login form (`--auth token`) or, behind an SSO proxy, what to do when
//! the proxy did not identify the user.

use leptos::prelude::*;
use shared::auth::AuthMode;

/// Shown instead of the pages until the user is signed in (the mode is the config's). Signing
/// in reloads the page, so every view starts fresh with the new session (and the URL's view
/// state is kept).
#[component]
pub fn SignIn() -> impl IntoView {
    let config = crate::state::use_config();
    let mode = config
        .0
        .get_untracked()
        .and_then(Result::ok)
        .map_or(AuthMode::Token, |c| c.auth.mode);
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        error.set(None);
        let (u, p) = (username.get_untracked(), password.get_untracked());
        leptos::task::spawn_local(async move {
            match crate::api::login(u, p).await {
                Ok(_) => crate::api::reload(),
                Err(e) => {
                    let _ = error.try_set(Some(e.to_string()));
                    let _ = password.try_set(String::new());
                }
            }
            let _ = busy.try_set(false);
        });
    };
    match mode {
        AuthMode::Proxy => view! {
            <section class="sign-in panel">
                <h1>"Not signed in"</h1>
                <p>"falscope gets your identity from your company's single sign-on, and none arrived. Open falscope through its SSO address, or ask an admin to check the proxy's identity headers and --trusted-proxies."</p>
            </section>
        }
        .into_any(),
        _ => view! {
            <form class="sign-in panel" on:submit=submit>
                <h1>"Sign in to falscope"</h1>
                <label>"User name"
                    <input id="username" autocomplete="username" required prop:value=username
                        on:input=move |ev| username.set(event_target_value(&ev)) />
                </label>
                <label>"Password"
                    <input id="password" type="password" autocomplete="current-password" required prop:value=password
                        on:input=move |ev| password.set(event_target_value(&ev)) />
                </label>
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                <button type="submit" class="active" disabled=move || busy.get()>"Sign in"</button>
            </form>
        }
        .into_any(),
    }
}
