//! A virtualized log list: only the rows in view (plus a margin) are in the DOM, so 100,000
//! lines scroll as smoothly as 100. Follows the bottom while `follow` is on.

use crate::format;
use crate::routes::request_path;
use leptos::html::Div;
use leptos::prelude::*;
use shared::logs::LogLine;
use std::collections::VecDeque;
use std::sync::Arc;

/// Row height in CSS pixels (rows are single-line; the full message is in the title).
pub const ROW_HEIGHT: f64 = 22.0;
/// Rows rendered above and below the viewport: enough for a fast wheel flick between frames,
/// few enough that a scrollbar jump builds a new window within a frame (BENCHMARKS.md).
const OVERSCAN: usize = 10;

/// The lines a [`LogView`] shows.
pub type Lines = RwSignal<VecDeque<Arc<LogLine>>>;

/// The list.
#[component]
pub fn LogView(
    /// The lines, oldest first.
    lines: Lines,
    /// Keep the newest line in view as lines arrive.
    follow: RwSignal<bool>,
    /// Viewport height in CSS pixels.
    #[prop(default = 480)]
    height: u32,
) -> impl IntoView {
    let viewport = NodeRef::<Div>::new();
    let (scroll_top, set_scroll_top) = signal(0.0f64);
    let len = Memo::new(move |_| lines.with(VecDeque::len));
    Effect::new(move |_| {
        let n = len.get();
        if follow.get() {
            // Window the rows at the bottom now; scroll the viewport there on the next frame,
            // once the spacer has its new height (scrolling now would be clamped to the old
            // one and leave the viewport above the rendered rows).
            let bottom = (n as f64 * ROW_HEIGHT - f64::from(height)).max(0.0);
            set_scroll_top.set(bottom);
            request_animation_frame(move || {
                // The scroll event this fires keeps `scroll_top` in step.
                if let Some(el) = viewport.try_get_untracked().flatten() {
                    el.set_scroll_top(bottom as i32);
                }
            });
        }
    });
    let window = move || {
        let first = ((scroll_top.get() / ROW_HEIGHT) as usize).saturating_sub(OVERSCAN);
        let count = (f64::from(height) / ROW_HEIGHT) as usize + 2 * OVERSCAN;
        lines.with(|l| {
            l.iter()
                .enumerate()
                .skip(first)
                .take(count)
                .map(|(i, line)| (i, line.clone()))
                .collect::<Vec<_>>()
        })
    };
    view! {
        <div
            class="log-list"
            node_ref=viewport
            style=format!("height: {height}px")
            on:scroll=move |_| {
                if let Some(el) = viewport.get() {
                    set_scroll_top.set(f64::from(el.scroll_top()));
                    let at_bottom = f64::from(el.scroll_top() + el.client_height()) >= len.get_untracked() as f64 * ROW_HEIGHT - 4.0;
                    if follow.get_untracked() != at_bottom {
                        follow.set(at_bottom);
                    }
                }
            }
        >
            <div class="log-spacer" style=move || format!("height: {}px", len.get() as f64 * ROW_HEIGHT)>
                <For each=window key=|(i, line)| (*i, line.ts) let:item>
                    <LogRow index=item.0 line=item.1 />
                </For>
            </div>
        </div>
    }
}

/// One positioned row.
#[component]
fn LogRow(
    /// Position in the list.
    index: usize,
    /// The line.
    line: Arc<LogLine>,
) -> impl IntoView {
    let top = index as f64 * ROW_HEIGHT;
    let request = line.request_id.clone().map(|id| {
        let short = crate::pages::short_id(&id);
        view! { <a class="req" href=request_path(&id)>{short}</a> }
    });
    view! {
        <div class=format!("log-line level-{}", line.level.as_str()) style=format!("top: {top}px") title=line.message.clone()>
            <span class="ts">{format::clock(line.ts)}</span>
            <span class="lvl">{line.level.as_str()}</span>
            <span class="app">{line.app.clone()}</span>
            {request}
            <span class="msg">{line.message.lines().next().unwrap_or_default().to_owned()}</span>
        </div>
    }
}
