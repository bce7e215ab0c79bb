//! Series colours, readable on light and dark panels.

use plotters::style::RGBColor;

/// Running runners.
pub const RUNNING: RGBColor = RGBColor(79, 70, 229);
/// Idle runners.
pub const IDLE: RGBColor = RGBColor(16, 163, 127);
/// Pending (cold-starting) runners.
pub const PENDING: RGBColor = RGBColor(234, 138, 0);
/// Axis and label text.
pub const TEXT: RGBColor = RGBColor(110, 118, 135);
/// Grid lines.
pub const GRID: RGBColor = RGBColor(200, 205, 214);
