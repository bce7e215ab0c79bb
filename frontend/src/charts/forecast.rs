//! The month's spend, cumulative: what was spent (solid), where it is heading (projection with
//! its ~95% band, widening towards month end) and the budget as a line, so the burn-down reads
//! at a glance: where the projection crosses the budget line is when the budget runs out.

use super::palette::Style;
use plotters::coord::Shift;
use plotters::prelude::*;
use shared::cost::Forecast;

/// What the chart draws: the forecast and the share of today already past.
#[derive(Debug, Clone, PartialEq)]
pub struct MonthChart {
    /// The forecast.
    pub forecast: Forecast,
    /// The budget line (the workspace's or one app's).
    pub budget: Option<f64>,
    /// Share of today already past (0–1), where the spent line ends.
    pub today_elapsed: f64,
}

/// A point of the projection: day position, projected cumulative spend, half the band there.
pub type Projected = (f64, f64, f64);

/// The cumulative curves: `(day position, spent)` and the projection from where spend is now.
pub fn curves(m: &MonthChart) -> (Vec<(f64, f64)>, Vec<Projected>) {
    let f = &m.forecast;
    let mut spent = vec![(0.0, 0.0)];
    let mut total = 0.0;
    let today = f
        .daily
        .iter()
        .rposition(|d| d.actual.is_some())
        .unwrap_or(0);
    for (i, d) in f.daily.iter().enumerate() {
        if let Some(a) = d.actual {
            total += a;
            let x = if i == today {
                i as f64 + m.today_elapsed.clamp(0.0, 1.0)
            } else {
                i as f64 + 1.0
            };
            spent.push((x, total));
        }
    }
    let mut projected = Vec::new();
    if let (Some(p), Some(hi)) = (f.projected, f.high) {
        let start = spent.last().copied().unwrap_or((0.0, 0.0));
        projected.push((start.0, start.1, 0.0));
        let end = f.daily.len() as f64;
        let (mut cum, span) = (start.1, (end - start.0).max(1e-9));
        for (i, d) in f.daily.iter().enumerate().skip(today) {
            let Some(v) = d.predicted else { continue };
            let part = if i == today {
                1.0 - m.today_elapsed.clamp(0.0, 1.0)
            } else {
                1.0
            };
            cum += v * part;
            let x = i as f64 + 1.0;
            // The band grows like √(days ahead), reaching the month-end band at the end.
            let half = (hi - p) * ((x - start.0) / span).max(0.0).sqrt();
            projected.push((x, cum, half));
        }
    }
    (spent, projected)
}

/// Where the day labels sit: the middle of every other day, counted back from the last so
/// the month's last day is always labelled.
pub fn day_ticks(days: u32) -> Vec<f64> {
    let mut ticks: Vec<f64> = (1..=days)
        .rev()
        .step_by(2)
        .map(|d| f64::from(d) - 0.5)
        .collect();
    ticks.reverse();
    ticks
}

/// Draws the month.
pub fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    m: &MonthChart,
    style: &Style,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    area.fill(&TRANSPARENT)?;
    let f = &m.forecast;
    let text = style.text();
    let font = ("sans-serif", style.font(12.0)).into_font().color(&text);
    let (spent, projected) = curves(m);
    let days = f.daily.len().max(1) as f64;
    let top = projected
        .iter()
        .map(|p| p.1 + p.2)
        .chain(spent.iter().map(|s| s.1))
        .chain(m.budget)
        .fold(0.0, f64::max);
    let y_max = if top > 0.0 { top * 1.12 } else { 1.0 };
    let unit = super::time::Unit::Money(f.currency.clone());
    let money = |v: f64| unit.label(v);
    // x runs from the month's start (0) to its end (`days`); day d is the slot [d−1, d) and is
    // labelled at its middle, so the axis ends with the month's last day, never a day after.
    let mut c = ChartBuilder::on(area)
        .margin(style.px(12.0))
        .x_label_area_size(style.px(44.0))
        .y_label_area_size(style.px(72.0))
        .build_cartesian_2d(0.0..days, 0.0..y_max)?;
    c.configure_mesh()
        .light_line_style(style.grid().mix(0.5))
        .bold_line_style(style.grid())
        .axis_style(style.grid())
        .label_style(font.clone())
        .x_labels(16)
        .y_labels(6)
        // Grid lines at day boundaries; the day labels are drawn below, in their slots.
        .x_label_formatter(&|_| String::new())
        .y_label_formatter(&|v| money(*v))
        .x_desc("day of the month (UTC)")
        .draw()?;
    let base = area.get_base_pixel();
    let below = font.pos(plotters::style::text_anchor::Pos::new(
        plotters::style::text_anchor::HPos::Center,
        plotters::style::text_anchor::VPos::Top,
    ));
    for tick in day_ticks(days as u32) {
        let (x, y) = c.backend_coord(&(tick, 0.0));
        area.draw(&Text::new(
            format!("{}", (tick + 0.5).round()),
            (x - base.0, y - base.1 + style.px(8.0) as i32),
            below.clone(),
        ))?;
    }
    let spent_color = Style::series(0);
    let projected_color = Style::series(1);
    let budget_color = RGBColor(214, 69, 65);
    if projected.len() > 1 {
        let upper = projected.iter().map(|p| (p.0, p.1 + p.2));
        let lower = projected.iter().rev().map(|p| (p.0, (p.1 - p.2).max(0.0)));
        c.draw_series(std::iter::once(Polygon::new(
            upper.chain(lower).collect::<Vec<_>>(),
            projected_color.mix(0.18).filled(),
        )))?;
        c.draw_series(DashedLineSeries::new(
            projected.iter().map(|p| (p.0, p.1)),
            style.px(6.0),
            style.px(4.0),
            projected_color.stroke_width(style.px(2.0)),
        ))?;
    }
    c.draw_series(LineSeries::new(
        spent.iter().copied(),
        spent_color.stroke_width(style.px(2.5)),
    ))?;
    if let Some(b) = m.budget {
        c.draw_series(LineSeries::new(
            [(0.0, b), (days, b)],
            budget_color.stroke_width(style.px(1.5)),
        ))?;
        c.draw_series(std::iter::once(Text::new(
            format!("budget {}", money(b)),
            (0.3, b),
            ("sans-serif", style.font(12.0))
                .into_font()
                .color(&budget_color)
                .pos(plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Left,
                    plotters::style::text_anchor::VPos::Bottom,
                )),
        )))?;
    }
    // Legend, top left inside the plot.
    let entries = [
        ("spent", spent_color, 1.0),
        ("projected", projected_color, 1.0),
        ("~95% band", projected_color, 0.25),
    ];
    let x0 = style.px(86.0) as i32;
    let y0 = style.px(20.0) as i32;
    let mut x = x0;
    for (label, color, alpha) in entries {
        let sw = style.px(12.0) as i32;
        area.draw(&Rectangle::new(
            [(x, y0 - sw / 2), (x + sw, y0 + sw / 2)],
            color.mix(alpha).filled(),
        ))?;
        area.draw(&Text::new(
            label,
            (x + sw + style.px(4.0) as i32, y0 - style.px(7.0) as i32),
            font.clone(),
        ))?;
        x += style.px(100.0) as i32;
    }
    area.present()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Duration, Utc};
    use shared::cost::DailySpend;

    fn month() -> MonthChart {
        let start = DateTime::<Utc>::from_timestamp(1_793_491_200, 0).unwrap(); // 2026-11-01
        let daily = (0..30)
            .map(|i| DailySpend {
                day: start + Duration::days(i),
                actual: (i <= 10).then_some(10.0),
                predicted: (i >= 10).then_some(10.0),
            })
            .collect();
        MonthChart {
            forecast: Forecast {
                month_start: start,
                month_end: start + Duration::days(30),
                currency: "USD".into(),
                month_to_date: 110.0,
                projected: Some(305.0),
                low: Some(280.0),
                high: Some(330.0),
                daily,
                budget: Some(250.0),
                apps: vec![],
            },
            budget: Some(250.0),
            today_elapsed: 0.5,
        }
    }

    #[test]
    fn curves_end_at_the_projection_with_the_full_band() {
        let (spent, projected) = curves(&month());
        assert_eq!(
            spent.last().copied(),
            Some((10.5, 110.0)),
            "today ends half-way"
        );
        let last = projected.last().copied().unwrap();
        assert_eq!(last.0, 30.0);
        assert!(
            (last.1 - 305.0).abs() < 1e-9,
            "the rest of today + 19 days: {}",
            last.1
        );
        assert!(
            (last.2 - 25.0).abs() < 1e-9,
            "the band reaches high − projected"
        );
        assert_eq!(
            projected[0],
            (10.5, 110.0, 0.0),
            "the projection starts where spend is"
        );
    }

    #[test]
    fn draws_the_budget_and_the_legend() {
        let mut svg = String::new();
        {
            let area =
                plotters_svg::SVGBackend::with_string(&mut svg, (800, 300)).into_drawing_area();
            draw(&area, &month(), &Style::default()).unwrap();
        }
        assert!(svg.contains("budget $250"), "the budget is labelled");
        assert!(svg.contains("projected") && svg.contains("~95% band"));
        // November: the axis is labelled up to its 30th day, and not a day more.
        let labels: Vec<&str> = svg
            .split("</text>")
            .filter_map(|t| t.rsplit('>').next())
            .map(str::trim)
            .collect();
        assert!(
            labels.contains(&"30"),
            "the last day is labelled: {labels:?}"
        );
        assert!(!labels.contains(&"31"), "no 31st of November: {labels:?}");
        assert!(
            labels.contains(&"2") && !labels.contains(&"1"),
            "{labels:?}"
        );
    }

    #[test]
    fn every_month_labels_its_last_day_at_the_end_of_the_axis() {
        assert_eq!(day_ticks(31).first(), Some(&0.5));
        assert_eq!(day_ticks(31).last(), Some(&30.5));
        assert_eq!(
            day_ticks(30).first(),
            Some(&1.5),
            "day 2, then every other day to the 30th"
        );
        assert_eq!(day_ticks(28).len(), 14);
        assert_eq!(day_ticks(28).last(), Some(&27.5));
    }
}
