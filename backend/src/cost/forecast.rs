//! Month-end spend projection from daily spend: a linear trend over the last four weeks times
//! a day-of-week factor (weekly seasonality), with a band from the fit's residuals.

use chrono::{Datelike, NaiveDate};

/// Days of history the trend is fitted on.
pub const FIT_DAYS: usize = 28;

/// A projection of the rest of a month.
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    /// Predicted spend of each remaining day, in order.
    pub days: Vec<(NaiveDate, f64)>,
    /// Sum of `days`.
    pub remaining: f64,
    /// Half-width of the ~95% band around `remaining`.
    pub band: f64,
    /// Standard deviation of one day's spend around the fit.
    pub daily_sigma: f64,
}

/// Projects `future` days from `history` (complete days, oldest first, no gaps needed: missing
/// days count as absent, not zero). `None` with less than a week of history.
pub fn project(history: &[(NaiveDate, f64)], future: &[NaiveDate]) -> Option<Projection> {
    let recent: Vec<(NaiveDate, f64)> =
        history.iter().rev().take(FIT_DAYS).rev().copied().collect();
    if recent.len() < 7 {
        return None;
    }
    // Ratio-to-trend: fit a line, take each weekday's mean ratio to it as its factor, refit the
    // line on the deseasonalised series, and once more (a trend would otherwise leak into
    // the factors of the weekdays that happen to start the window).
    let origin = recent[0].0;
    let x = |d: NaiveDate| (d - origin).num_days() as f64;
    let weekday = |d: NaiveDate| d.weekday().num_days_from_monday() as usize;
    let mut factors = [1.0f64; 7];
    let mut line = (0.0, 0.0);
    for _ in 0..3 {
        line = fit_line(
            recent
                .iter()
                .map(|(d, v)| (x(*d), v / factors[weekday(*d)])),
        );
        let mut sums = [0.0f64; 7];
        let mut counts = [0usize; 7];
        for (d, v) in &recent {
            let t = line.0 + line.1 * x(*d);
            if t > 0.0 {
                sums[weekday(*d)] += v / t;
                counts[weekday(*d)] += 1;
            }
        }
        let present: Vec<usize> = (0..7).filter(|w| counts[*w] > 0).collect();
        if present.is_empty() {
            break;
        }
        let raw: Vec<f64> = (0..7)
            .map(|w| {
                if counts[w] > 0 {
                    sums[w] / counts[w] as f64
                } else {
                    1.0
                }
            })
            .collect();
        let norm = present.iter().map(|w| raw[*w]).sum::<f64>() / present.len() as f64;
        for w in 0..7 {
            factors[w] = if counts[w] > 0 && norm > 0.0 {
                raw[w] / norm
            } else {
                1.0
            };
        }
    }
    let (intercept, slope) = line;
    let fitted = |d: NaiveDate| ((intercept + slope * x(d)) * factors[weekday(d)]).max(0.0);
    let n = recent.len() as f64;
    let residual_var = recent
        .iter()
        .map(|(d, v)| (v - fitted(*d)).powi(2))
        .sum::<f64>()
        / (n - 2.0).max(1.0);
    let days: Vec<(NaiveDate, f64)> = future.iter().map(|d| (*d, fitted(*d))).collect();
    let remaining = days.iter().map(|(_, v)| v).sum();
    // Independent daily errors: the sum's deviation grows with √days; 1.96σ for ~95%.
    let band = 1.96 * (residual_var * future.len() as f64).sqrt();
    Some(Projection {
        days,
        remaining,
        band,
        daily_sigma: residual_var.sqrt(),
    })
}

/// When a balance runs out at the projected spend, in days from now: the middle and the ~95%
/// band (spending at the band's upper edge runs out first).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunOut {
    /// At the projected spend.
    pub days: f64,
    /// At the band's upper edge.
    pub earliest: f64,
    /// At the band's lower edge; `None`: later than the horizon.
    pub latest: Option<f64>,
}

/// When `balance` runs out, spending as projected from `history` from now on (`elapsed_today`
/// of today already spent), looking at most `horizon` days ahead. The fit gives the coming
/// week (trend and weekday shape), and that week repeats: a line carried months ahead would
/// reach zero or run away. `None`: not within the horizon (or less than a week of history to
/// project from, as [`project`]).
pub fn run_out(
    balance: f64,
    history: &[(NaiveDate, f64)],
    today: NaiveDate,
    elapsed_today: f64,
    horizon: u32,
) -> Option<RunOut> {
    if balance <= 0.0 {
        return Some(RunOut {
            days: 0.0,
            earliest: 0.0,
            latest: Some(0.0),
        });
    }
    let fitted: Vec<NaiveDate> = today.iter_days().take(7.min(horizon as usize)).collect();
    let mut p = project(history, &fitted)?;
    let last_week: Vec<f64> = p.days.iter().rev().take(7).rev().map(|(_, v)| *v).collect();
    for (i, d) in today
        .iter_days()
        .enumerate()
        .skip(p.days.len())
        .take(horizon as usize - p.days.len().min(horizon as usize))
    {
        let v = last_week
            .get(i % last_week.len().max(1))
            .copied()
            .unwrap_or(0.0);
        p.days.push((d, v));
    }
    // The day (fractional, from now) on which spending `per_day(n, v)` reaches the balance.
    let reach = |edge: f64| -> Option<f64> {
        let (mut spent, mut elapsed) = (0.0, 0.0);
        for (n, (_, v)) in p.days.iter().enumerate() {
            // Today only its rest; the band grows with √days, as in `project`.
            let share = if n == 0 { 1.0 - elapsed_today } else { 1.0 };
            let sigma = |days: f64| 1.96 * p.daily_sigma * days.sqrt();
            let before = spent + edge * sigma(elapsed);
            let after = spent + v * share + edge * sigma(elapsed + share);
            if after >= balance && after > before {
                return Some(
                    elapsed + share * ((balance - before) / (after - before)).clamp(0.0, 1.0),
                );
            }
            spent += v * share;
            elapsed += share;
        }
        None
    };
    Some(RunOut {
        days: reach(0.0)?,
        earliest: reach(1.0)?,
        latest: reach(-1.0),
    })
}

/// Least-squares line `(intercept, slope)` through `points`.
fn fit_line(points: impl Iterator<Item = (f64, f64)> + Clone) -> (f64, f64) {
    let n = points.clone().count() as f64;
    let (sx, sy) = points
        .clone()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let (mx, my) = (sx / n, sy / n);
    let (sxx, sxy) = points.fold((0.0, 0.0), |(a, b), (x, y)| {
        (a + (x - mx).powi(2), b + (x - mx) * (y - my))
    });
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    (my - slope * mx, slope)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(i: i64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 10, 5).unwrap() + chrono::Duration::days(i)
    }

    /// Linear growth times a weekly pattern (quiet weekends), plus bounded noise.
    fn series(i: i64) -> f64 {
        let weekly =
            [1.1, 1.15, 1.1, 1.05, 1.0, 0.8, 0.8][day(i).weekday().num_days_from_monday() as usize];
        let noise = ((i * 7919) % 13) as f64 / 13.0 - 0.5; // deterministic, in [-0.5, 0.5)
        (100.0 + 2.0 * i as f64) * weekly + 3.0 * noise
    }

    #[test]
    fn a_linear_weekly_series_lands_inside_its_band() {
        let history: Vec<_> = (0..35).map(|i| (day(i), series(i))).collect();
        let future: Vec<_> = (35..52).map(day).collect();
        let truth: f64 = (35..52).map(series).sum();
        let p = project(&history, &future).unwrap();
        assert!(
            (p.remaining - truth).abs() <= p.band,
            "projected {:.1} ± {:.1}, truth {truth:.1}",
            p.remaining,
            p.band
        );
        assert!(
            p.band < 0.05 * truth,
            "a clean series gives a tight band: {:.1}",
            p.band
        );
        // The weekly shape survives: a Saturday is predicted below the Tuesday before it.
        let tue = p
            .days
            .iter()
            .find(|(d, _)| d.weekday() == chrono::Weekday::Tue)
            .unwrap();
        let sat = p
            .days
            .iter()
            .find(|(d, _)| d.weekday() == chrono::Weekday::Sat && *d > tue.0)
            .unwrap();
        assert!(sat.1 < tue.1);
    }

    #[test]
    fn noise_widens_the_band_and_a_short_history_gives_nothing() {
        let noisy: Vec<_> = (0..28)
            .map(|i| (day(i), 100.0 + if i % 2 == 0 { 40.0 } else { -40.0 }))
            .collect();
        let p = project(&noisy, &[day(28), day(29)]).unwrap();
        assert!(p.band > 50.0, "{}", p.band);
        assert!(project(&noisy[..6], &[day(6)]).is_none());
    }

    #[test]
    fn a_balance_runs_out_when_the_projected_spend_reaches_it_within_its_band() {
        // Flat 100 a day with noise ±10: 1,050 lasts the rest of today (half spent: 50) and
        // ten more days.
        let flat: Vec<_> = (0..28)
            .map(|i| (day(i), 100.0 + if i % 2 == 0 { 10.0 } else { -10.0 }))
            .collect();
        let r = run_out(1_050.0, &flat, day(28), 0.5, 365).unwrap();
        assert!((r.days - 10.5).abs() < 0.3, "{r:?}");
        let latest = r.latest.unwrap();
        assert!(r.earliest < r.days && r.days < latest, "{r:?}");
        assert!(
            latest - r.earliest < 3.0,
            "a tight band for a steady spend: {r:?}"
        );
        // Spend that does not reach the balance within the horizon: no date.
        assert_eq!(run_out(1e9, &flat, day(28), 0.5, 365), None);
        // The coming week repeats: a falling spend does not fall to zero and make the balance
        // last for ever (the line alone reaches zero in twelve days).
        let falling: Vec<_> = (0..28).map(|i| (day(i), 200.0 - 5.0 * i as f64)).collect();
        let r = run_out(5_000.0, &falling, day(28), 0.0, 365).unwrap();
        assert!(r.days > 28.0 && r.days < 365.0, "{r:?}");
        // An empty balance has run out now.
        assert_eq!(run_out(0.0, &flat, day(28), 0.5, 365).unwrap().days, 0.0);
        // A week of history is needed, as for the month's projection.
        assert_eq!(run_out(100.0, &flat[..5], day(5), 0.5, 365), None);
    }
}
