//! Light and dark themes: follow the OS until the user picks one; the pick is kept in
//! localStorage and applied as `data-theme` on `<html>`.

use leptos::prelude::*;

const KEY: &str = "falscope-theme";

/// The theme choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    /// Light.
    Light,
    /// Dark.
    Dark,
}

/// The theme in context.
#[derive(Clone, Copy)]
pub struct ThemeContext(pub RwSignal<Theme>);

impl ThemeContext {
    /// Whether the dark theme is on (tracked).
    pub fn is_dark(self) -> bool {
        self.0.get() == Theme::Dark
    }

    /// Flips and persists the theme.
    pub fn toggle(self) {
        let next = if self.0.get_untracked() == Theme::Dark {
            Theme::Light
        } else {
            Theme::Dark
        };
        self.0.set(next);
        if let Some(s) = storage() {
            let _ = s.set_item(KEY, if next == Theme::Dark { "dark" } else { "light" });
        }
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn initial() -> Theme {
    match storage()
        .and_then(|s| s.get_item(KEY).ok().flatten())
        .as_deref()
    {
        Some("dark") => Theme::Dark,
        Some("light") => Theme::Light,
        _ => {
            let os_dark = web_sys::window()
                .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
                .is_some_and(|m| m.matches());
            if os_dark {
                Theme::Dark
            } else {
                Theme::Light
            }
        }
    }
}

/// Provides the theme and keeps `<html data-theme>` in sync.
pub fn provide_theme() -> ThemeContext {
    let ctx = ThemeContext(RwSignal::new(initial()));
    provide_context(ctx);
    Effect::new(move |_| {
        let name = if ctx.is_dark() { "dark" } else { "light" };
        if let Some(root) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
        {
            let _ = root.set_attribute("data-theme", name);
        }
    });
    ctx
}

/// The theme, when provided (components also work without it, in light mode).
pub fn use_theme() -> Option<ThemeContext> {
    use_context::<ThemeContext>()
}
