//! The pure judgements of the trend and anomaly rules.

/// Median of `values` (`None` when empty).
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len().is_multiple_of(2) {
        (v[mid - 1] + v[mid]) / 2.0
    } else {
        v[mid]
    })
}

/// Points of history an anomaly judgement needs at least.
pub const MIN_HISTORY: usize = 12;

/// Scale that makes the MAD estimate the standard deviation of normal data.
const MAD_SCALE: f64 = 1.4826;

/// How unusual `latest` is against `history`: its distance above the median in scaled MADs
/// (robust z-score). `None` with fewer than [`MIN_HISTORY`] points. A perfectly flat history
/// (MAD 0) is judged against 5% of its median (or 1e-9), so a flat series does not turn its
/// first tiny wobble into an infinite score.
pub fn robust_score(history: &[f64], latest: f64) -> Option<f64> {
    if history.len() < MIN_HISTORY {
        return None;
    }
    let m = median(history)?;
    let deviations: Vec<f64> = history.iter().map(|v| (v - m).abs()).collect();
    let mad = median(&deviations)? * MAD_SCALE;
    let floor = (m.abs() * 0.05).max(1e-9);
    Some((latest - m) / mad.max(floor))
}

/// Whether a series of `(minutes ago, value)` samples, oldest first, grew over the whole of the
/// last `minutes`: the samples reach back that far, no sample is below the one before it, and
/// the last is above the first.
pub fn grew_for(samples: &[(f64, f64)], minutes: f64) -> bool {
    let Some(first) = samples.first() else {
        return false;
    };
    let Some(last) = samples.last() else {
        return false;
    };
    first.0 >= minutes && last.1 > first.1 && samples.windows(2).all(|w| w[1].1 >= w[0].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A day of hourly cost with a daily rhythm and a little noise (deterministic).
    fn steady(hours: usize) -> Vec<f64> {
        (0..hours)
            .map(|h| {
                let rhythm = 10.0 + 3.0 * ((h % 24) as f64 / 24.0 * std::f64::consts::TAU).sin();
                let noise = ((h * 7919) % 13) as f64 / 13.0 - 0.5;
                rhythm + noise
            })
            .collect()
    }

    #[test]
    fn an_injected_spike_scores_high_and_a_steady_series_does_not() {
        let series = steady(73);
        let (history, latest) = series.split_at(72);
        let calm = robust_score(history, latest[0]).unwrap();
        assert!(
            calm.abs() < 4.0,
            "a steady next hour is not an anomaly: {calm}"
        );
        // Every hour of the steady series, judged against the 72 before it, stays calm.
        let long = steady(24 * 8);
        for end in 72..long.len() {
            let s = robust_score(&long[end - 72..end], long[end]).unwrap();
            assert!(s < 4.0, "hour {end} scored {s}");
        }
        let spike = robust_score(history, latest[0] * 3.0).unwrap();
        assert!(spike > 4.0, "three times the usual cost is: {spike}");
    }

    #[test]
    fn too_little_history_and_flat_series_are_handled() {
        assert_eq!(robust_score(&[1.0; 5], 100.0), None);
        let flat = vec![2.0; 24];
        assert!(robust_score(&flat, 2.0).unwrap().abs() < 1e-9);
        assert!(robust_score(&flat, 2.05).unwrap() < 1.0, "a 2.5% wobble");
        assert!(robust_score(&flat, 4.0).unwrap() > 4.0);
        assert!(
            robust_score(&[0.0; 24], 0.0).unwrap().abs() < 1e-9,
            "zero spend stays calm"
        );
    }

    #[test]
    fn growth_needs_the_whole_window_and_no_dip() {
        let rising = [(10.0, 1.0), (6.0, 2.0), (3.0, 2.0), (0.0, 5.0)];
        assert!(grew_for(&rising, 10.0));
        assert!(
            !grew_for(&rising, 15.0),
            "samples do not reach back 15 minutes"
        );
        let dip = [(10.0, 1.0), (6.0, 3.0), (3.0, 2.0), (0.0, 5.0)];
        assert!(!grew_for(&dip, 10.0));
        let flat = [(10.0, 3.0), (0.0, 3.0)];
        assert!(!grew_for(&flat, 10.0));
        assert!(!grew_for(&[], 1.0));
    }
}
