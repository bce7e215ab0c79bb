//! Horizontal stacked bars: one row per app, segments for running / idle / pending runners.

use super::palette::{self, Style};
use plotters::coord::Shift;
use plotters::prelude::*;
use shared::{AppLive, RunnerState};

/// Draws `apps` onto `area`.
pub fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    apps: &[AppLive],
    style: &Style,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    area.fill(&TRANSPARENT)?;
    let font = ("sans-serif", style.font(13.0))
        .into_font()
        .color(&style.text());
    let n = apps.len().max(1) as i32;
    let max = apps
        .iter()
        .map(|a| {
            RunnerState::ALL
                .iter()
                .map(|s| a.runners_in(*s))
                .sum::<u32>()
        })
        .max()
        .unwrap_or(0)
        .max(4);
    let names: Vec<String> = apps.iter().map(|a| a.application.clone()).collect();
    // The legend gets its own column so it never hides a bar.
    let (w, _) = area.dim_in_pixel();
    let (plot, legend) = area.split_horizontally(w - style.px(110.0).min(w / 4));
    let mut chart = ChartBuilder::on(&plot)
        .margin(style.px(12.0))
        .x_label_area_size(style.px(40.0))
        .y_label_area_size(style.px(150.0))
        .build_cartesian_2d(0u32..max + max / 8 + 1, (0..n - 1).into_segmented())?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(style.grid().mix(0.5))
        .bold_line_style(style.grid())
        .axis_style(style.grid())
        .label_style(font.clone())
        .x_desc("runners")
        .y_label_formatter(&|v| match v {
            // Row 0 is at the bottom: list apps top-down.
            SegmentValue::CenterOf(i) => names
                .get((n - 1 - *i) as usize)
                .cloned()
                .unwrap_or_default(),
            _ => String::new(),
        })
        .draw()?;
    let series = [
        (RunnerState::Running, palette::RUNNING),
        (RunnerState::Idle, palette::IDLE),
        (RunnerState::Pending, palette::PENDING),
    ];
    let mut base: Vec<u32> = vec![0; apps.len()];
    for (state, color) in series {
        let bars: Vec<Rectangle<(u32, SegmentValue<i32>)>> = apps
            .iter()
            .enumerate()
            .filter_map(|(i, app)| {
                let count = app.runners_in(state);
                let from = base[i];
                base[i] += count;
                (count > 0).then(|| {
                    let row = n - 1 - i as i32;
                    let mut bar = Rectangle::new(
                        [
                            (from, SegmentValue::Exact(row)),
                            (from + count, SegmentValue::Exact(row + 1)),
                        ],
                        color.filled(),
                    );
                    bar.set_margin(style.px(5.0), style.px(5.0), 0, 0);
                    bar
                })
            })
            .collect();
        chart.draw_series(bars)?;
    }
    let row = style.px(18.0) as i32;
    let sw = style.px(10.0) as i32;
    let x = style.px(10.0) as i32;
    for (i, (state, color)) in series.iter().enumerate() {
        let y = style.px(16.0) as i32 + i as i32 * row;
        legend.draw(&Rectangle::new([(x, y), (x + sw, y + sw)], color.filled()))?;
        legend.draw(&Text::new(
            state.as_str(),
            (x + sw + style.px(6.0) as i32, y - style.px(1.0) as i32),
            font.clone(),
        ))?;
    }
    area.present()
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::RunnerCount;

    fn app(name: &str, running: u32, idle: u32) -> AppLive {
        AppLive {
            application: name.into(),
            runners: vec![
                RunnerCount {
                    machine_type: "NVIDIA H100".into(),
                    state: RunnerState::Running,
                    count: running,
                },
                RunnerCount {
                    machine_type: "NVIDIA H100".into(),
                    state: RunnerState::Idle,
                    count: idle,
                },
            ],
            queue_size: 0,
            concurrent_requests: running.into(),
            received_per_min: 0,
            completed_per_min: vec![],
            latency: vec![],
        }
    }

    #[test]
    fn draws_one_bar_segment_per_nonzero_state_and_labels_apps() {
        let mut svg = String::new();
        {
            let area =
                plotters_svg::SVGBackend::with_string(&mut svg, (800, 300)).into_drawing_area();
            draw(
                &area,
                &[app("acme/flux", 3, 1), app("acme/llm", 0, 2)],
                &Style::default(),
            )
            .unwrap();
        }
        assert!(svg.contains("acme/flux") && svg.contains("acme/llm"));
        let running = format!("fill=\"#{:02X}{:02X}{:02X}\"", 79, 70, 229);
        // One running bar (acme/llm has none) plus its legend swatch.
        assert_eq!(svg.matches(&running).count(), 2, "{svg}");
    }
}
