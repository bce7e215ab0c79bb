//! The "Flush queue" confirmation (operators, from the Overview's apps table). It loads as its
//! own chunk the first time an operator opens it. One `Idempotency-Key` is made per
//! confirmation (when the dialog opens), so a double click or a retry after a network error
//! flushes once; closing and opening again is a new confirmation.

use crate::api::{self, ClientError};
use crate::components::ErrorPanel;
use leptos::prelude::*;
use shared::apps::Flushed;
use wasm_bindgen::JsCast;

/// What the Overview asks to flush: set to open the dialog, cleared to close it.
#[derive(Debug, Clone, PartialEq)]
pub struct FlushAsk {
    /// App id (`owner/name`).
    pub app: String,
    /// Requests waiting in the live snapshot the operator looked at.
    pub waiting: u64,
}

/// The open confirmation, shared by the Overview (which sets it) and the dialog.
#[derive(Clone, Copy)]
pub struct FlushTarget(pub RwSignal<Option<FlushAsk>>);

/// A key for one confirmation: the browser's `crypto.randomUUID()` where it has one (secure
/// contexts), else time and randomness.
fn new_key() -> String {
    let global = js_sys::global();
    js_sys::Reflect::get(&global, &"crypto".into())
        .ok()
        .and_then(|crypto| {
            let f = js_sys::Reflect::get(&crypto, &"randomUUID".into()).ok()?;
            f.dyn_into::<js_sys::Function>()
                .ok()?
                .call0(&crypto)
                .ok()?
                .as_string()
        })
        .unwrap_or_else(|| {
            format!(
                "{:x}-{:x}",
                js_sys::Date::now() as u64,
                (js_sys::Math::random() * 9e15) as u64
            )
        })
}

/// The confirmation dialog of the [`FlushTarget`] in context.
#[component]
pub fn FlushDialog() -> impl IntoView {
    let target = expect_context::<FlushTarget>().0;
    let Some(ask) = target.get_untracked() else {
        return ().into_any();
    };
    let key = new_key();
    let ws = crate::state::use_workspace(crate::state::use_config(), crate::state::use_view());
    let result = RwSignal::new(None::<Result<Flushed, ClientError>>);
    let busy = RwSignal::new(false);
    // Not while a flush is on its way: reopening would make a new confirmation (a new key).
    let close = move || {
        if !busy.get_untracked() {
            target.set(None);
        }
    };
    let confirm = {
        let app = ask.app.clone();
        move |_| {
            let Some(ws) = ws.get_untracked() else { return };
            if busy.get_untracked() {
                return;
            }
            busy.set(true);
            let (app, key) = (app.clone(), key.clone());
            leptos::task::spawn_local(async move {
                let answer = api::flush_queue(&ws, &app, &key).await;
                busy.set(false);
                result.set(Some(answer));
            });
        }
    };
    let title = format!("Flush the queue of {}?", ask.app);
    let waiting = match ask.waiting {
        1 => "1 request is waiting".to_owned(),
        n => format!("{n} requests are waiting"),
    };
    view! {
        <div class="dialog-backdrop" on:click=move |_| close()>
            <div
                class="dialog"
                id="flush-dialog"
                role="alertdialog"
                aria-modal="true"
                aria-labelledby="flush-title"
                aria-describedby="flush-what"
                on:click=|ev| ev.stop_propagation()
                on:keydown=move |ev: web_sys::KeyboardEvent| {
                    if ev.key() == "Escape" {
                        close();
                    }
                }
            >
                <h2 id="flush-title">{title}</h2>
                <p id="flush-what">
                    {waiting} " at the last update. Flushing cancels every waiting request; requests already running finish. "
                    <strong>"This cannot be undone."</strong>
                </p>
                {move || match result.get() {
                    None => view! {
                        <div class="actions">
                            <button id="flush-cancel" on:click=move |_| close()>"Cancel"</button>
                            <button id="flush-confirm" class="danger" disabled=move || busy.get() on:click=confirm.clone()>
                                {move || if busy.get() { "Flushing…" } else { "Flush queue" }}
                            </button>
                        </div>
                    }
                    .into_any(),
                    Some(Ok(done)) => view! {
                        <p id="flush-done" role="status">{said(&done)}</p>
                        <div class="actions">
                            <button id="flush-close" on:click=move |_| close()>"Close"</button>
                        </div>
                    }
                    .into_any(),
                    Some(Err(error)) => view! {
                        <ErrorPanel error=error />
                        <div class="actions">
                            <button id="flush-cancel" on:click=move |_| close()>"Cancel"</button>
                            // Same key: if the first attempt did reach fal, this one flushes nothing.
                            <button id="flush-confirm" class="danger" disabled=move || busy.get() on:click=confirm.clone()>"Try again"</button>
                        </div>
                    }
                    .into_any(),
                }}
            </div>
        </div>
    }
    .into_any()
}

/// What a finished flush says.
fn said(done: &Flushed) -> String {
    match (done.repeated, done.waiting) {
        (true, _) => format!(
            "The queue of {} was already flushed for this confirmation.",
            done.app
        ),
        (false, Some(1)) => format!("Flushed {}: 1 request was waiting.", done.app),
        (false, Some(n)) => format!("Flushed {}: {n} requests were waiting.", done.app),
        (false, None) => format!("Flushed {}.", done.app),
    }
}
