//! Time-series charts: lines (latencies) or stacked bars (counts, spend), with units on the
//! axis, time labels in the chosen zone that fit the span, a legend, and a clear "no data" state.

use super::palette::Style;
use chrono::{DateTime, Utc};
use plotters::coord::Shift;
use plotters::prelude::*;

/// What the y axis measures.
#[derive(Debug, Clone, PartialEq)]
pub enum Unit {
    /// Plain counts.
    Count,
    /// Seconds (labelled ms or s).
    Seconds,
    /// Money in a currency.
    Money(String),
}

impl Unit {
    /// A tick label.
    pub fn label(&self, v: f64) -> String {
        match self {
            // A count between whole numbers has no label (never `0, 0, 1, 1`).
            Self::Count if v.fract().abs() > 1e-9 => String::new(),
            Self::Count if v >= 10_000.0 => format!("{:.0}k", v / 1000.0),
            Self::Count => format!("{v:.0}"),
            Self::Seconds if v < 1.0 && v > 0.0 => format!("{:.0} ms", v * 1000.0),
            Self::Seconds => format!("{v:.1} s"),
            Self::Money(c) if c == "USD" => format!("${v:.2}"),
            Self::Money(c) => format!("{v:.2} {c}"),
        }
    }
}

/// How series are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One line per series.
    Lines,
    /// Bars per time bucket, series stacked.
    StackedBars,
    /// A gauge sampled now and then (runners, queue): each value holds until the next sample,
    /// and a gap in the samples (falscope was not running) is left blank.
    Steps,
}

/// One named series of `(unix ms, value)` points.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend name.
    pub name: String,
    /// Points, sorted by time.
    pub points: Vec<(i64, f64)>,
    /// Fixed colour; by position when `None`.
    pub color: Option<RGBColor>,
    /// Dashed-looking (thinner) line, for secondary series.
    pub thin: bool,
}

impl Series {
    /// A series with a position colour.
    pub fn new(name: impl Into<String>, points: Vec<(i64, f64)>) -> Self {
        Self {
            name: name.into(),
            points,
            color: None,
            thin: false,
        }
    }
}

/// A chart's data.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeChart {
    /// Series.
    pub series: Vec<Series>,
    /// Y unit.
    pub unit: Unit,
    /// Drawing kind.
    pub kind: Kind,
    /// Draw the legend on the canvas (off when the page shows an interactive one).
    pub legend: bool,
    /// The time range to show in full (unix ms), even where it has no data: an hour's view
    /// of five minutes of history shows the empty 55 minutes.
    pub range: Option<(i64, i64)>,
}

impl TimeChart {
    /// A chart with a canvas legend.
    pub fn new(series: Vec<Series>, unit: Unit, kind: Kind) -> Self {
        Self {
            series,
            unit,
            kind,
            legend: true,
            range: None,
        }
    }

    /// The same chart over the whole of `from..to` (unix ms).
    #[must_use]
    pub fn over(mut self, from: i64, to: i64) -> Self {
        self.range = (from < to).then_some((from, to));
        self
    }

    /// Gives every series its position colour for good, so hiding one does not repaint the rest.
    pub fn with_fixed_colors(mut self) -> Self {
        for (i, s) in self.series.iter_mut().enumerate() {
            s.color.get_or_insert(Style::series(i));
        }
        self
    }
}

/// What a time chart shows, in words, for screen readers (the canvas is an image): the range,
/// then per series its latest value, its highest (and when) and, for stacked counts, the total.
pub fn summary(chart: &TimeChart) -> String {
    let when = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .map_or_else(String::new, crate::format::datetime)
    };
    let value = |v: f64| match chart.unit {
        Unit::Count if v.fract().abs() > 1e-9 => format!("{v:.1}"),
        _ => chart.unit.label(v),
    };
    let Some(d) = domain(chart) else {
        return "No data in this range.".to_owned();
    };
    let mut out = format!("From {} to {}.", when(d.t0), when(d.x_end));
    for s in &chart.series {
        let (Some(last), Some(peak)) = (
            s.points.last(),
            s.points
                .iter()
                .copied()
                .reduce(|a, b| if b.1 > a.1 { b } else { a }),
        ) else {
            continue;
        };
        out.push_str(&format!(
            " {}: latest {}, highest {} at {}",
            s.name,
            value(last.1),
            value(peak.1),
            when(peak.0)
        ));
        if chart.unit == Unit::Count && chart.kind == Kind::StackedBars {
            let total: f64 = s.points.iter().map(|p| p.1).sum();
            out.push_str(&format!(", {} in all", value(total)));
        }
        out.push('.');
    }
    out
}

/// Keeps the `n` largest series (by total) and folds the rest into "other".
pub fn top_n(mut series: Vec<Series>, n: usize) -> Vec<Series> {
    if series.len() <= n {
        return series;
    }
    let total = |s: &Series| s.points.iter().map(|p| p.1).sum::<f64>();
    series.sort_by(|a, b| total(b).total_cmp(&total(a)));
    let rest = series.split_off(n.saturating_sub(1));
    let mut other: std::collections::BTreeMap<i64, f64> = std::collections::BTreeMap::new();
    for s in &rest {
        for (t, v) in &s.points {
            *other.entry(*t).or_default() += v;
        }
    }
    series.push(Series::new(
        format!("other ({})", rest.len()),
        other.into_iter().collect(),
    ));
    series
}

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// An axis label in the chosen zone ([`crate::zone`]), as fine as the ticks of a span
/// (about eight of them) are apart, so no two read the same.
fn time_label(t: &DateTime<Utc>, span_ms: i64) -> String {
    const MINUTE: i64 = 60_000;
    const DAY: i64 = 86_400_000;
    let t = crate::zone::local(*t);
    let tick = span_ms / 8;
    let format = match tick {
        _ if tick < MINUTE => "%H:%M:%S",
        _ if tick < DAY && span_ms <= DAY => "%H:%M",
        _ if tick < DAY => "%b %d %H:%M",
        _ => "%b %d",
    };
    t.format(format).to_string()
}

/// Margin around the plot, CSS pixels.
pub const MARGIN: f64 = 10.0;
/// Width of the y-axis labels, CSS pixels.
pub const Y_LABELS: f64 = 64.0;

/// The time axis of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Domain {
    /// First time (left edge).
    pub t0: i64,
    /// Right edge (one step past the last bucket for bars).
    pub x_end: i64,
    /// Smallest gap between times (the bucket size).
    pub step: i64,
    /// Every time with a point, sorted, unique.
    pub times: Vec<i64>,
}

/// The time axis, or `None` without points.
pub fn domain(chart: &TimeChart) -> Option<Domain> {
    let mut times: Vec<i64> = chart
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .collect();
    times.sort_unstable();
    times.dedup();
    let (t0, t1) = (*times.first()?, *times.last()?);
    let step = times
        .windows(2)
        .map(|w| w[1] - w[0])
        .min()
        .unwrap_or(60_000)
        .max(1);
    let x_end = t1
        + if chart.kind == Kind::StackedBars {
            step
        } else {
            0
        };
    let x_end = if x_end == t0 { t0 + step } else { x_end };
    let (t0, x_end) = match chart.range {
        Some((from, to)) => (t0.min(from), x_end.max(to)),
        None => (t0, x_end),
    };
    Some(Domain {
        t0,
        x_end,
        step,
        times,
    })
}

/// The bucket time under `x` CSS pixels in a canvas `width` CSS pixels wide (canvas legend
/// off): the bucket containing it for bars, the nearest point for lines.
pub fn time_at(chart: &TimeChart, x: f64, width: f64) -> Option<i64> {
    let d = domain(chart)?;
    let (left, right) = (MARGIN + Y_LABELS, width - MARGIN);
    if right <= left || x < left || x > right {
        return None;
    }
    let t = d.t0 as f64 + (x - left) / (right - left) * (d.x_end - d.t0) as f64;
    match chart.kind {
        Kind::StackedBars => d.times.iter().rev().find(|b| (**b as f64) <= t).copied(),
        Kind::Lines | Kind::Steps => d
            .times
            .iter()
            .min_by(|a, b| {
                ((**a as f64) - t)
                    .abs()
                    .total_cmp(&((**b as f64) - t).abs())
            })
            .copied(),
    }
}

/// The instant under `x` CSS pixels (continuous, clamped to the plot), for drag-to-zoom.
pub fn instant_at(chart: &TimeChart, x: f64, width: f64) -> Option<i64> {
    let d = domain(chart)?;
    let (left, right) = (MARGIN + Y_LABELS, width - MARGIN);
    if right <= left {
        return None;
    }
    let f = ((x - left) / (right - left)).clamp(0.0, 1.0);
    Some(d.t0 + (f * (d.x_end - d.t0) as f64) as i64)
}

/// Each series' value at time `t` (series without a point there are left out).
pub fn values_at(chart: &TimeChart, t: i64) -> Vec<(String, f64)> {
    chart
        .series
        .iter()
        .filter_map(|s| {
            s.points
                .iter()
                .find(|p| p.0 == t)
                .map(|p| (s.name.clone(), p.1))
        })
        .collect()
}

/// A gauge's samples as step lines: each value held until the next sample (the last for one
/// sampling step), one run per stretch without a gap longer than three sampling steps.
fn steps_of(points: &[(i64, f64)], step: i64) -> Vec<Vec<(i64, f64)>> {
    let mut runs: Vec<Vec<(i64, f64)>> = Vec::new();
    let mut last: Option<(i64, f64)> = None;
    for &(t, v) in points {
        match last {
            Some((t0, v0)) if t - t0 <= 3 * step => {
                let run = runs.last_mut().expect("a run is open");
                run.push((t, v0));
                run.push((t, v));
            }
            _ => runs.push(vec![(t, v)]),
        }
        last = Some((t, v));
    }
    for run in &mut runs {
        if let Some(&(t, v)) = run.last() {
            run.push((t + step, v));
        }
    }
    runs
}

/// Draws `chart` onto `area`.
pub fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &TimeChart,
    style: &Style,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    area.fill(&TRANSPARENT)?;
    let text = style.text();
    let font = ("sans-serif", style.font(12.0)).into_font().color(&text);
    let Some(Domain {
        t0,
        x_end,
        step,
        times: steps,
    }) = domain(chart)
    else {
        let (w, h) = area.dim_in_pixel();
        area.draw(&Text::new(
            "No data in this range",
            (w as i32 / 2 - style.px(70.0) as i32, h as i32 / 2),
            ("sans-serif", style.font(14.0)).into_font().color(&text),
        ))?;
        return area.present();
    };
    let y_max = match chart.kind {
        Kind::Lines | Kind::Steps => chart
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .fold(0.0, f64::max),
        Kind::StackedBars => steps
            .iter()
            .map(|t| {
                chart
                    .series
                    .iter()
                    .flat_map(|s| s.points.iter().filter(|p| p.0 == *t).map(|p| p.1))
                    .sum::<f64>()
            })
            .fold(0.0, f64::max),
    };
    let y_max = if y_max > 0.0 { y_max * 1.12 } else { 1.0 };
    // Counts on a whole-number axis; small ones get a tick per number.
    let (y_max, y_labels) = match chart.unit {
        Unit::Count => {
            let top = y_max.ceil().max(1.0);
            (top, if top <= 6.0 { top as usize + 1 } else { 6 })
        }
        _ => (y_max, 6),
    };
    // The legend gets its own column so it never hides data.
    let (plot, legend) = if chart.legend && chart.series.len() > 1 {
        let (w, _) = area.dim_in_pixel();
        let legend_w = style.px(190.0).min(w / 3);
        let (p, l) = area.split_horizontally(w - legend_w);
        (p, Some(l))
    } else {
        (area.clone(), None)
    };
    let mut c = ChartBuilder::on(&plot)
        .margin(style.px(MARGIN))
        .x_label_area_size(style.px(28.0))
        .y_label_area_size(style.px(Y_LABELS))
        .build_cartesian_2d(at(t0)..at(x_end), 0.0..y_max)?;
    let span = x_end - t0;
    c.configure_mesh()
        .light_line_style(style.grid().mix(0.5))
        .bold_line_style(style.grid())
        .axis_style(style.grid())
        .label_style(font.clone())
        .x_labels(8)
        .y_labels(y_labels)
        .x_label_formatter(&|t| time_label(t, span))
        .y_label_formatter(&|v| chart.unit.label(*v))
        .draw()?;
    let color = |i: usize, s: &Series| s.color.unwrap_or_else(|| Style::series(i));
    match chart.kind {
        Kind::Lines => {
            for (i, s) in chart.series.iter().enumerate() {
                let col = color(i, s);
                let width = style.px(if s.thin { 1.0 } else { 2.0 });
                c.draw_series(LineSeries::new(
                    s.points.iter().map(|(t, v)| (at(*t), *v)),
                    col.stroke_width(width),
                ))?;
            }
        }
        Kind::Steps => {
            for (i, s) in chart.series.iter().enumerate() {
                let col = color(i, s);
                for run in steps_of(&s.points, step) {
                    c.draw_series(LineSeries::new(
                        run.into_iter().map(|(t, v)| (at(t), v)),
                        col.stroke_width(style.px(2.0)),
                    ))?;
                }
            }
        }
        Kind::StackedBars => {
            let mut base: std::collections::HashMap<i64, f64> = std::collections::HashMap::new();
            let gap = (step / 8).max(1);
            for (i, s) in chart.series.iter().enumerate() {
                let col = color(i, s);
                let bars: Vec<Rectangle<(DateTime<Utc>, f64)>> = s
                    .points
                    .iter()
                    .filter(|p| p.1 > 0.0)
                    .map(|(t, v)| {
                        let b = base.entry(*t).or_default();
                        let rect = Rectangle::new(
                            [(at(*t + gap), *b), (at(*t + step - gap), *b + v)],
                            col.filled(),
                        );
                        *b += v;
                        rect
                    })
                    .collect();
                c.draw_series(bars)?;
            }
        }
    }
    if let Some(legend) = legend {
        let row = style.px(18.0) as i32;
        let sw = style.px(10.0) as i32;
        let top = style.px(14.0) as i32;
        for (i, s) in chart.series.iter().enumerate() {
            let y = top + i as i32 * row;
            let col = color(i, s);
            legend.draw(&Rectangle::new(
                [
                    (style.px(8.0) as i32, y),
                    (style.px(8.0) as i32 + sw, y + sw),
                ],
                col.filled(),
            ))?;
            let name: String = if s.name.chars().count() > 26 {
                s.name.chars().take(25).chain(['…']).collect()
            } else {
                s.name.clone()
            };
            legend.draw(&Text::new(
                name,
                (style.px(24.0) as i32, y - style.px(1.0) as i32),
                font.clone(),
            ))?;
        }
    }
    area.present()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(kind: Kind) -> TimeChart {
        TimeChart::new(
            vec![
                Series::new("a", vec![(0, 1.0), (60_000, 3.0)]),
                Series::new("b", vec![(0, 2.0), (60_000, 0.0)]),
            ],
            Unit::Count,
            kind,
        )
    }

    #[test]
    fn a_chart_reads_as_words_for_screen_readers() {
        let words = summary(&chart(Kind::StackedBars));
        assert_eq!(
            words,
            "From 1970-01-01 00:00:00 to 1970-01-01 00:02:00. a: latest 3, highest 3 at 1970-01-01 00:01:00, 4 in all. b: latest 0, highest 2 at 1970-01-01 00:00:00, 2 in all."
        );
        let lines = summary(&chart(Kind::Lines));
        assert!(!lines.contains("in all"), "{lines}");
        assert_eq!(
            summary(&TimeChart::new(vec![], Unit::Count, Kind::Lines)),
            "No data in this range."
        );
    }

    #[test]
    fn draws_lines_bars_legend_and_an_empty_state() {
        for kind in [Kind::Lines, Kind::StackedBars, Kind::Steps] {
            let mut svg = String::new();
            {
                let area =
                    plotters_svg::SVGBackend::with_string(&mut svg, (640, 240)).into_drawing_area();
                draw(&area, &chart(kind), &Style::default()).unwrap();
            }
            assert!(
                svg.contains("\na\n</text>") && svg.contains("\nb\n</text>"),
                "legend: {kind:?}"
            );
        }
        let mut svg = String::new();
        {
            let area =
                plotters_svg::SVGBackend::with_string(&mut svg, (640, 240)).into_drawing_area();
            draw(
                &area,
                &TimeChart::new(vec![], Unit::Count, Kind::Lines),
                &Style::default(),
            )
            .unwrap();
        }
        assert!(svg.contains("No data in this range"));
    }

    #[test]
    fn top_n_folds_the_rest_into_other() {
        let s: Vec<Series> = (0..5)
            .map(|i| Series::new(format!("s{i}"), vec![(0, f64::from(i))]))
            .collect();
        let folded = top_n(s, 3);
        let names: Vec<&str> = folded.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["s4", "s3", "other (3)"]);
        assert_eq!(folded[2].points, vec![(0, 3.0)]);
    }

    #[test]
    fn hover_maps_pixels_to_buckets() {
        let c = chart(Kind::StackedBars);
        // Plot spans x = 74..630 of 640 px over [0, 120 000) ms: bucket 0 then bucket 60 000.
        assert_eq!(time_at(&c, 100.0, 640.0), Some(0));
        assert_eq!(time_at(&c, 500.0, 640.0), Some(60_000));
        assert_eq!(time_at(&c, 20.0, 640.0), None, "over the axis labels");
        assert_eq!(
            values_at(&c, 60_000),
            vec![("a".to_owned(), 3.0), ("b".to_owned(), 0.0)]
        );
    }

    #[test]
    fn gauges_hold_each_value_until_the_next_sample_and_gaps_stay_blank() {
        let s = [(0, 1.0), (10, 3.0), (20, 2.0), (100, 5.0)];
        assert_eq!(
            steps_of(&s, 10),
            vec![
                vec![
                    (0, 1.0),
                    (10, 1.0),
                    (10, 3.0),
                    (20, 3.0),
                    (20, 2.0),
                    (30, 2.0)
                ],
                vec![(100, 5.0), (110, 5.0)],
            ]
        );
    }

    #[test]
    fn the_whole_range_is_drawn_and_labels_never_repeat() {
        let c = chart(Kind::Steps).over(-3_540_000, 60_000);
        let d = domain(&c).unwrap();
        assert_eq!(
            (d.t0, d.x_end),
            (-3_540_000, 60_000),
            "an hour, not two minutes"
        );
        // Eight ticks across each span read differently.
        for span in [120_000, 3_600_000, 3 * 86_400_000, 30 * 86_400_000] {
            let labels: Vec<String> = (0..8)
                .map(|i| time_label(&at(1_800_000_000_000 + i * span / 8), span))
                .collect();
            let mut unique = labels.clone();
            unique.dedup();
            assert_eq!(unique, labels, "span {span}");
        }
        let ticks: Vec<String> = [0.0, 0.5, 1.0, 1.5, 2.0]
            .iter()
            .map(|v| Unit::Count.label(*v))
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(ticks, ["0", "1", "2"]);
    }

    #[test]
    fn units_label_ticks() {
        assert_eq!(Unit::Seconds.label(0.25), "250 ms");
        assert_eq!(Unit::Money("USD".into()).label(3.5), "$3.50");
        assert_eq!(Unit::Count.label(12_000.0), "12k");
    }
}
