//! Colours that read on light and dark panels, and the chart style of the current theme.

use plotters::style::RGBColor;

/// Running runners.
pub const RUNNING: RGBColor = RGBColor(79, 70, 229);
/// Idle runners.
pub const IDLE: RGBColor = RGBColor(16, 163, 127);
/// Pending (cold-starting) runners.
pub const PENDING: RGBColor = RGBColor(234, 138, 0);
/// Successful requests.
pub const SUCCESS: RGBColor = RGBColor(16, 163, 127);
/// 4xx.
pub const USER_ERROR: RGBColor = RGBColor(234, 138, 0);
/// 5xx.
pub const SERVER_ERROR: RGBColor = RGBColor(214, 48, 49);

/// The shares of billed machine time (cost split), in drawing order.
pub const SHARES: [(&str, RGBColor); 4] = [
    ("running", RGBColor(46, 160, 90)),
    ("failed (5xx)", RGBColor(214, 69, 65)),
    ("setup (cold starts)", RGBColor(230, 160, 40)),
    ("idle", RGBColor(140, 150, 165)),
];

/// Series colours in order (colour-blind-friendly, distinct in both themes).
pub const SERIES: [RGBColor; 10] = [
    RGBColor(79, 70, 229),
    RGBColor(16, 163, 127),
    RGBColor(234, 138, 0),
    RGBColor(214, 48, 49),
    RGBColor(0, 150, 214),
    RGBColor(171, 71, 188),
    RGBColor(124, 179, 66),
    RGBColor(240, 98, 146),
    RGBColor(93, 64, 55),
    RGBColor(120, 144, 156),
];

/// How charts look in the current theme.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Style {
    /// Dark theme.
    pub dark: bool,
    /// Device pixels per CSS pixel (fonts and lines scale with it).
    pub scale: f64,
}

impl Default for Style {
    fn default() -> Self {
        Self {
            dark: false,
            scale: 1.0,
        }
    }
}

impl Style {
    /// Axis and label text.
    pub fn text(&self) -> RGBColor {
        if self.dark {
            RGBColor(170, 178, 192)
        } else {
            RGBColor(93, 103, 120)
        }
    }

    /// Grid lines.
    pub fn grid(&self) -> RGBColor {
        if self.dark {
            RGBColor(52, 60, 74)
        } else {
            RGBColor(221, 225, 232)
        }
    }

    /// Legend background.
    pub fn panel(&self) -> RGBColor {
        if self.dark {
            RGBColor(27, 32, 41)
        } else {
            RGBColor(255, 255, 255)
        }
    }

    /// A font size in device pixels.
    pub fn font(&self, css_px: f64) -> u32 {
        (css_px * self.scale).round() as u32
    }

    /// A length in device pixels.
    pub fn px(&self, css_px: f64) -> u32 {
        (css_px * self.scale).round() as u32
    }

    /// The colour of series `i`.
    pub fn series(i: usize) -> RGBColor {
        SERIES[i % SERIES.len()]
    }
}
