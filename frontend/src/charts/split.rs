//! Where the money goes: one horizontal bar per app, its spend split into running, failed,
//! setup and idle machine time, each segment labelled when it is wide enough.

use super::palette::{Style, SHARES};
use plotters::coord::Shift;
use plotters::prelude::*;
use shared::cost::{AppSplit, Share, SplitReport};

/// The four shares in drawing order, with their labels and colours.
pub fn shares(a: &AppSplit) -> Option<[(&'static str, Share, RGBColor); 4]> {
    let [running, failed, setup, idle] = SHARES;
    Some([
        (running.0, a.running?, running.1),
        (failed.0, a.failed?, failed.1),
        (setup.0, a.setup?, setup.1),
        (idle.0, a.idle?, idle.1),
    ])
}

/// CSS height the chart needs for `n` apps.
pub fn height(n: usize) -> u32 {
    60 + 34 * n.max(1) as u32
}

/// Draws the bars (money on the x axis).
pub fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    report: &SplitReport,
    style: &Style,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let (apps, currency) = (&report.apps, report.currency.as_str());
    area.fill(&TRANSPARENT)?;
    let text = style.text();
    let font = ("sans-serif", style.font(12.0)).into_font().color(&text);
    let on_bar = ("sans-serif", style.font(11.0))
        .into_font()
        .color(&RGBColor(255, 255, 255));
    let (w, _) = area.dim_in_pixel();
    let (w, px) = (w as i32, |v: f64| style.px(v) as i32);
    let label_w = px(130.0);
    let bar_x0 = label_w + px(8.0);
    let bar_w = (w - bar_x0 - px(90.0)).max(1);
    let max = apps.iter().map(|a| a.spend).fold(0.0, f64::max);
    let row = px(34.0);
    let top = px(34.0);
    // Legend.
    let mut x = bar_x0;
    for (label, color) in SHARES {
        area.draw(&Rectangle::new(
            [(x, px(8.0)), (x + px(12.0), px(20.0))],
            color.filled(),
        ))?;
        area.draw(&Text::new(label, (x + px(16.0), px(7.0)), font.clone()))?;
        x += px(150.0);
    }
    for (i, a) in apps.iter().enumerate() {
        let y = top + i as i32 * row;
        area.draw(&Text::new(a.app.clone(), (0, y + px(7.0)), font.clone()))?;
        let Some(parts) = shares(a).filter(|_| max > 0.0) else {
            area.draw(&Text::new(
                "cannot be split (see the notes)",
                (bar_x0, y + px(7.0)),
                font.clone(),
            ))?;
            continue;
        };
        let mut x = f64::from(bar_x0);
        for (_, share, color) in parts {
            let width = share.cost / max * f64::from(bar_w);
            if width <= 0.0 {
                continue;
            }
            let (x0, x1) = (x.round() as i32, (x + width).round() as i32);
            area.draw(&Rectangle::new(
                [(x0, y), (x1.max(x0 + 1), y + px(24.0))],
                color.filled(),
            ))?;
            let label = format!(
                "{:.0}%",
                share.seconds / a.machine_seconds.max(1e-9) * 100.0
            );
            if width > f64::from(px(34.0)) {
                area.draw(&Text::new(
                    label,
                    (x0 + px(4.0), y + px(6.0)),
                    on_bar.clone(),
                ))?;
            }
            x += width;
        }
        let total = super::time::Unit::Money(currency.to_owned()).label(a.spend);
        area.draw(&Text::new(
            total,
            (x.round() as i32 + px(6.0), y + px(6.0)),
            font.clone(),
        ))?;
    }
    area.present()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(name: &str, split: bool) -> AppSplit {
        let s = |seconds: f64| Share {
            seconds,
            cost: seconds / 100.0,
        };
        AppSplit {
            app: name.into(),
            machine_type: "GPU-H100".into(),
            machine_seconds: 1000.0,
            spend: 10.0,
            running: split.then(|| s(550.0)),
            failed: split.then(|| s(50.0)),
            setup: split.then(|| s(100.0)),
            idle: split.then(|| s(300.0)),
            failed_sampled: 4,
            failed_requests: 4,
            estimated: true,
            notes: vec![],
        }
    }

    #[test]
    fn bars_are_labelled_with_their_share_and_unknown_splits_say_so() {
        let mut svg = String::new();
        {
            let area =
                plotters_svg::SVGBackend::with_string(&mut svg, (800, 200)).into_drawing_area();
            let report = SplitReport {
                from: chrono::DateTime::default(),
                to: chrono::DateTime::default(),
                currency: "USD".into(),
                apps: vec![app("img", true), app("llm", false)],
            };
            draw(&area, &report, &Style::default()).unwrap();
        }
        assert!(svg.contains("55%") && svg.contains("30%"), "share labels");
        assert!(svg.contains("cannot be split"));
        assert!(svg.contains("setup (cold starts)"), "legend");
        assert!(svg.contains("$10.00"), "each bar ends with its spend");
    }
}
