//! Presentational pieces: props in, view out. No network, no routing.

mod runners;
mod states;

pub use runners::RunnersPanel;
pub use states::{ErrorPanel, Loading};
