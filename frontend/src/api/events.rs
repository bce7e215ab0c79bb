//! Server-Sent Events as signals: [`use_events`] opens an `EventSource`, exposes the latest
//! payload of each subscribed event name and the connection state, and closes on cleanup.

use futures::StreamExt;
use gloo_net::eventsource::futures::EventSource;
use leptos::prelude::*;
use leptos::task::spawn_local;
use send_wrapper::SendWrapper;

/// Connection state of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    /// Opening.
    Connecting,
    /// Receiving.
    Open,
    /// The browser lost the stream (it retries by itself).
    Lost,
}

/// Opens `url` and calls `on_event(name, data)` for every event of the given names.
/// Returns the connection state. The stream closes when the calling component is cleaned up.
pub fn use_events(
    url: String,
    names: &'static [&'static str],
    on_event: impl Fn(&str, String) + 'static,
) -> ReadSignal<Connection> {
    let (state, set_state) = signal(Connection::Connecting);
    let Ok(mut source) = EventSource::new(&url) else {
        set_state.set(Connection::Lost);
        return state;
    };
    let streams: Vec<_> = names
        .iter()
        .filter_map(|n| source.subscribe(*n).ok())
        .collect();
    let mut errors = source.subscribe("error").ok();
    let mut merged = futures::stream::select_all(streams);
    spawn_local(async move {
        while let Some(item) = merged.next().await {
            match item {
                Ok((name, msg)) => {
                    set_state.set(Connection::Open);
                    if let Some(data) = msg.data().as_string() {
                        on_event(&name, data);
                    }
                }
                Err(_) => set_state.set(Connection::Lost),
            }
        }
    });
    if let Some(errors) = errors.take() {
        spawn_local(async move {
            let mut errors = errors;
            while errors.next().await.is_some() {
                set_state.set(Connection::Lost);
            }
        });
    }
    let source = SendWrapper::new(source);
    on_cleanup(move || source.take().close());
    state
}
