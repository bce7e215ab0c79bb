//! Time expressions shared by the time picker and the API: ISO 8601 instants and Grafana-style
//! relative forms (`now`, `now-6h`, `now-7d`, `now/d`, `now-1d/d`).

use chrono::{DateTime, Duration, DurationRound, Utc};

/// Why a time expression was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeError(pub String);

impl std::fmt::Display for TimeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses `expr` relative to `now`. Units: `s`, `m`, `h`, `d`, `w`; rounding `/m`, `/h`, `/d`, `/w`
/// rounds down (UTC).
pub fn parse(expr: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, TimeError> {
    let expr = expr.trim();
    let bad = || {
        TimeError(format!("{expr:?} is not a time: use ISO 8601 (2026-11-23T10:00:00Z) or now, now-6h, now-7d, now/d"))
    };
    let Some(rest) = expr.strip_prefix("now") else {
        // `2026-11-30 10:00:00Z` is RFC 3339 with a space, as people type it.
        let spaced = expr.replacen(' ', "T", 1);
        if let Ok(t) = DateTime::parse_from_rfc3339(&spaced) {
            return Ok(t.with_timezone(&Utc));
        }
        return naive(expr).map(|t| t.and_utc()).ok_or_else(bad);
    };
    let (offset, round) = match rest.split_once('/') {
        Some((o, r)) => (o, Some(r)),
        None => (rest, None),
    };
    let mut t = now;
    if !offset.is_empty() {
        let (sign, amount) = match offset.as_bytes()[0] {
            b'-' => (-1, &offset[1..]),
            b'+' => (1, &offset[1..]),
            _ => return Err(bad()),
        };
        let d = unit(amount).ok_or_else(bad)?;
        let d = if sign < 0 { -d } else { d };
        t = t.checked_add_signed(d).ok_or_else(bad)?;
    }
    if let Some(r) = round {
        let step = unit(&format!("1{r}")).ok_or_else(bad)?;
        t = if r == "w" {
            // Weeks start on Monday.
            let days = i64::from(chrono::Datelike::weekday(&t).num_days_from_monday());
            (t - Duration::days(days))
                .duration_trunc(Duration::days(1))
                .map_err(|_| bad())?
        } else {
            t.duration_trunc(step).map_err(|_| bad())?
        };
    }
    Ok(t)
}

/// A date or a date and time without an offset, as people type them: `2026-11-30`,
/// `2026-11-30 10:00`, `2026-11-30T10:00:00` (UTC when [`parse`] reads it; the time picker
/// reads it in the page's zone).
pub fn naive(expr: &str) -> Option<chrono::NaiveDateTime> {
    let expr = expr.trim();
    [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|f| chrono::NaiveDateTime::parse_from_str(expr, f).ok())
    .or_else(|| {
        chrono::NaiveDate::parse_from_str(expr, "%Y-%m-%d")
            .ok()?
            .and_hms_opt(0, 0, 0)
    })
}

/// A span as the shortest relative form that says it exactly: `2h`, `90m`, `3d`, `45s`.
pub fn span(d: Duration) -> String {
    let s = d.num_seconds().max(1);
    match s {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

fn unit(s: &str) -> Option<Duration> {
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (n, u) = s.split_at(split);
    let n: i64 = n.parse().ok()?;
    match u {
        // `try_*`: a huge count is an error to report, not a panic (a link is user input).
        "s" => Duration::try_seconds(n),
        "m" => Duration::try_minutes(n),
        "h" => Duration::try_hours(n),
        "d" => Duration::try_days(n),
        "w" => Duration::try_weeks(n),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_offsets_are_errors_not_panics() {
        let now = DateTime::parse_from_rfc3339("2026-11-18T15:42:10Z")
            .unwrap()
            .with_timezone(&Utc);
        for e in [
            "now-99999999999999d",
            "now-9999999999d",
            "now+9999999999w",
            "now-99999999999999999999s",
        ] {
            assert!(parse(e, now).is_err(), "{e}");
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-18T15:42:10Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn times_typed_with_a_space_or_without_seconds_are_read() {
        let at = |s: &str| parse(s, now()).map(|t| t.to_rfc3339());
        assert_eq!(at("2026-11-30 10:00").unwrap(), "2026-11-30T10:00:00+00:00");
        assert_eq!(
            at("2026-11-30 10:00:30").unwrap(),
            "2026-11-30T10:00:30+00:00"
        );
        assert_eq!(
            at("2026-11-30 10:00:00+02:00").unwrap(),
            "2026-11-30T08:00:00+00:00"
        );
        assert_eq!(at("2026-11-30T10:00").unwrap(), "2026-11-30T10:00:00+00:00");
        assert!(at("2026-11-30 25:00").is_err());
        assert_eq!(span(Duration::hours(2)), "2h");
        assert_eq!(span(Duration::minutes(90)), "90m");
        assert_eq!(span(Duration::days(14)), "14d");
    }

    #[test]
    fn relative_forms() {
        let p = |s| parse(s, now()).unwrap().to_rfc3339();
        assert_eq!(p("now"), "2026-11-18T15:42:10+00:00");
        assert_eq!(p("now-6h"), "2026-11-18T09:42:10+00:00");
        assert_eq!(p("now-7d"), "2026-11-11T15:42:10+00:00");
        assert_eq!(p("now/d"), "2026-11-18T00:00:00+00:00");
        assert_eq!(p("now-1d/d"), "2026-11-17T00:00:00+00:00");
        assert_eq!(p("now/w"), "2026-11-16T00:00:00+00:00");
        assert_eq!(p("2026-01-02T03:04:05+01:00"), "2026-01-02T02:04:05+00:00");
        assert_eq!(p("2026-01-02"), "2026-01-02T00:00:00+00:00");
    }

    #[test]
    fn rejects_nonsense_with_a_hint() {
        for bad in [
            "yesterday",
            "now-",
            "now-6x",
            "now*2",
            "now/q",
            "2026-13-01",
        ] {
            let err = parse(bad, now()).unwrap_err();
            assert!(err.0.contains("now-6h"), "{bad}: {err}");
        }
    }
}
