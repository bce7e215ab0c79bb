//! Presentational pieces: props in, view out. No network; routing only through the
//! `use_set_query` helper for controls that edit the URL's view state.

mod endpoint_picker;
pub mod log_view;
mod runners;
mod shortcuts;
mod sign_in;
mod states;
mod table;
mod time_chart;
mod time_picker;

pub use endpoint_picker::EndpointPicker;
pub use log_view::LogView;
pub use runners::RunnersPanel;
pub use shortcuts::Shortcuts;
pub use sign_in::SignIn;
pub use states::{loaded, Empty, ErrorPanel, Freshness, Loading, RoleGate};
pub use table::{by_f64, Column, Table};
pub use time_chart::TimeChartPanel;
pub use time_picker::TimePicker;
