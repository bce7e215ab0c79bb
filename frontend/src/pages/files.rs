//! `/files`: browse the shared `/data` storage, download, upload a local file (with progress)
//! or have fal fetch a URL.

use crate::api;
use crate::components::{Empty, ErrorPanel, Freshness, Loading};
use crate::format;
use crate::state::{self, use_config, use_set_query, use_view};
use leptos::prelude::*;
use shared::files::UploadFromUrl;
use shared::query::{FileQuery, FilesQuery};
use wasm_bindgen::JsCast;

/// The files page.
#[component]
pub fn FilesPage() -> impl IntoView {
    let config = use_config();
    let view = use_view();
    let set = use_set_query();
    let (reload, set_reload) = signal(0u32);
    let dir = move || view.get("dir").unwrap_or_default();
    let listing = LocalResource::new(move || {
        let param = view.get("ws");
        let q = FilesQuery {
            dir: Some(dir()).filter(|d| !d.is_empty()),
        };
        reload.track();
        async move { api::get_files(&state::workspace(config, param).await?, &q).await }
    });
    let ws = state::use_workspace(config, view);
    // Downloads and uploads are the operator's; a viewer browses.
    let role = state::use_role(config);
    let can_transfer = Signal::derive(move || role.get() >= shared::auth::Role::Operator);
    let crumbs = move || {
        let d = dir();
        let mut acc = String::new();
        let mut out = vec![(String::new(), "/data".to_owned())];
        for part in d.split('/').filter(|p| !p.is_empty()) {
            if !acc.is_empty() {
                acc.push('/');
            }
            acc.push_str(part);
            out.push((acc.clone(), part.to_owned()));
        }
        out
    };
    let crumb_set = set.clone();
    view! {
        <div class="page-head"><h1>"Files"</h1></div>
        <nav class="crumbs" aria-label="Folder">
            {move || crumbs()
                .into_iter()
                .map(|(path, name)| {
                    let set = crumb_set.clone();
                    view! { <button class="crumb" on:click=move |_| set(&[("dir", (!path.is_empty()).then(|| path.clone()))])>{name}</button> " / " }
                })
                .collect_view()}
        </nav>
        <Suspense fallback=|| view! { <Loading /> }>
            {move || {
                let set = set.clone();
                Suspend::new(async move {
                    match listing.await {
                        Ok(l) if l.data.is_empty() => view! { <Empty message="This folder is empty." /> }.into_any(),
                        Ok(l) => {
                            let ws = ws.get_untracked().unwrap_or_default();
                            let rows = l
                                .data
                                .into_iter()
                                .map(|f| {
                                    let set = set.clone();
                                    let name = if f.is_dir {
                                        let path = f.path.clone();
                                        view! { <button class="link" on:click=move |_| set(&[("dir", Some(path.clone()))])>{format!("{}/", f.name)}</button> }.into_any()
                                    } else if can_transfer.get_untracked() {
                                        let href = api::url_of(shared::routes::ws::FILE_CONTENT, &ws, &FileQuery { path: f.path.clone() });
                                        view! { <a href=href download>{f.name.clone()}</a> }.into_any()
                                    } else {
                                        view! { <span>{f.name.clone()}</span> }.into_any()
                                    };
                                    view! {
                                        <tr>
                                            <td>{name}</td>
                                            <td class="num">{if f.is_dir { String::new() } else { format::bytes(f.size) }}</td>
                                            <td>{format::datetime(f.updated)}</td>
                                        </tr>
                                    }
                                })
                                .collect_view();
                            view! {
                                <p class="meta"><Freshness as_of=l.as_of stale=l.stale /></p>
                                <div class="table-wrap">
                                    <table id="files-table">
                                        <thead><tr><th>"Name"</th><th>"Size"</th><th>{format!("Updated ({})", crate::format::zone_name())}</th></tr></thead>
                                        <tbody>{rows}</tbody>
                                    </table>
                                </div>
                            }
                                .into_any()
                        }
                        Err(error) => view! { <ErrorPanel error=error /> }.into_any(),
                    }
                })
            }}
        </Suspense>
        <Show
            when=move || can_transfer.get()
            fallback=move || view! { <p class="meta" id="files-role">{format!("Downloading and uploading files need the operator role; you are signed in as {}.", role.get())}</p> }
        >
            <Uploads dir=Signal::derive(dir) ws=ws on_done=move || set_reload.update(|n| *n += 1) />
        </Show>
    }
}

/// Upload forms.
#[component]
fn Uploads(
    /// Current folder.
    dir: Signal<String>,
    /// Workspace id.
    ws: Signal<Option<String>>,
    /// Called after a successful upload.
    on_done: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let (progress, set_progress) = signal(None::<f64>);
    let (message, set_message) = signal(None::<(bool, String)>);
    let (url, set_url) = signal(String::new());
    let (name, set_name) = signal(String::new());
    let target = move |file_name: &str| {
        let d = dir.get_untracked();
        if d.is_empty() {
            file_name.to_owned()
        } else {
            format!("{d}/{file_name}")
        }
    };
    let on_file = move |ev: leptos::ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        let Some(ws) = ws.get_untracked() else { return };
        let path = target(&file.name());
        set_progress.set(Some(0.0));
        set_message.set(None);
        leptos::task::spawn_local(async move {
            let result =
                api::upload_file(&ws, &path, file, move |p| set_progress.set(Some(p))).await;
            set_progress.set(None);
            match result {
                Ok(()) => {
                    set_message.set(Some((true, format!("Uploaded {path}"))));
                    on_done();
                }
                Err(e) => set_message.set(Some((false, e.to_string()))),
            }
        });
    };
    let from_url = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(ws) = ws.get_untracked() else { return };
        let body = UploadFromUrl {
            path: target(&name.get_untracked()),
            url: url.get_untracked(),
        };
        set_message.set(None);
        leptos::task::spawn_local(async move {
            match api::upload_from_url(&ws, &body).await {
                Ok(()) => {
                    set_message.set(Some((
                        true,
                        format!("fal fetched {} into {}", body.url, body.path),
                    )));
                    on_done();
                }
                Err(e) => set_message.set(Some((false, e.to_string()))),
            }
        });
    };
    view! {
        <section class="panel uploads">
            <h2>"Upload here"</h2>
            <label class="upload">"Local file " <input id="upload-file" type="file" on:change=on_file /></label>
            {move || progress.get().map(|p| view! { <progress id="upload-progress" max="1" value=p></progress> })}
            <form class="upload-url" on:submit=from_url>
                <input id="upload-url" type="url" required placeholder="https://example.com/image.png" prop:value=url on:input=move |ev| set_url.set(event_target_value(&ev)) />
                <input id="upload-name" required placeholder="file name" prop:value=name on:input=move |ev| set_name.set(event_target_value(&ev)) />
                <button type="submit">"Fetch from URL"</button>
            </form>
            {move || message.get().map(|(ok, m)| view! { <p class={if ok { "ok" } else { "state-error" }} role="status">{m}</p> })}
        </section>
    }
}
