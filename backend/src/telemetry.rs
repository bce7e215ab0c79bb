//! tracing setup: one place, an `EnvFilter` default, and a JSON switch for production.

use crate::cli::LogFormat;
use tracing_subscriber::{fmt, prelude::*, EnvFilter};

/// Default filter when `RUST_LOG` is unset.
const DEFAULT_FILTER: &str = "backend=info,falscope=info,tower_http=warn";

/// Installs the global subscriber. Call once, from `main`.
pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        // Colour only where a person reads it: not in a file, a pipe or a journal.
        LogFormat::Pretty => registry
            .with(
                fmt::layer()
                    .with_target(false)
                    .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout())),
            )
            .init(),
        LogFormat::Json => registry.with(fmt::layer().json()).init(),
    }
}
