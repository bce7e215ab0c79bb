//! Browser entry point: install the panic hook and mount the app.

fn main() {
    console_error_panic_hook::set_once();
    // The first page's code starts downloading before the shell asks for its config.
    if let Some(path) = web_sys::window().and_then(|w| w.location().pathname().ok()) {
        frontend::lazy::preload(&path);
    }
    leptos::mount::mount_to_body(frontend::App);
}
