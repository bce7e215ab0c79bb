//! Time ranges of the aggregate operations (analytics, usage): defaults, timeframe
//! auto-selection (REFERENCE §6.2), `bound_to_timeframe` alignment (§6.3), buckets in a zone.

use super::errors::FalError;
use super::query::Query;
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// Bucket size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeframe {
    /// One minute.
    Minute,
    /// One hour.
    Hour,
    /// One day.
    Day,
    /// One ISO week (Monday start).
    Week,
    /// One calendar month.
    Month,
}

/// Most buckets one query may span (the simulator's guard against minute buckets over years).
pub const MAX_BUCKETS: usize = 20_000;

impl Timeframe {
    const NAMES: [(&'static str, Timeframe); 5] = [
        ("minute", Self::Minute),
        ("hour", Self::Hour),
        ("day", Self::Day),
        ("week", Self::Week),
        ("month", Self::Month),
    ];

    /// Auto-selection from the span: minute < 2 h ≤ hour < 2 d ≤ day < 64 d ≤ week < 183 d ≤ month.
    pub fn auto(span: Duration) -> Self {
        if span < Duration::hours(2) {
            Self::Minute
        } else if span < Duration::days(2) {
            Self::Hour
        } else if span < Duration::days(64) {
            Self::Day
        } else if span < Duration::days(183) {
            Self::Week
        } else {
            Self::Month
        }
    }

    /// Start of the period containing `t`, in `t`'s zone.
    pub fn floor(self, t: DateTime<Tz>) -> DateTime<Tz> {
        let tz = t.timezone();
        let date = t.date_naive();
        let local = match self {
            Self::Minute => {
                return t
                    .with_second(0)
                    .and_then(|t| t.with_nanosecond(0))
                    .unwrap_or(t)
            }
            Self::Hour => {
                return t
                    .with_minute(0)
                    .and_then(|t| t.with_second(0))
                    .and_then(|t| t.with_nanosecond(0))
                    .unwrap_or(t)
            }
            Self::Day => date,
            Self::Week => date - Duration::days(i64::from(date.weekday().num_days_from_monday())),
            Self::Month => NaiveDate::from_ymd_opt(date.year(), date.month(), 1).unwrap_or(date),
        };
        midnight(tz, local)
    }

    /// Start of the next period after the one starting at `start`.
    pub fn next(self, start: DateTime<Tz>) -> DateTime<Tz> {
        let tz = start.timezone();
        let date = start.date_naive();
        match self {
            Self::Minute => start + Duration::minutes(1),
            Self::Hour => start + Duration::hours(1),
            Self::Day => midnight(tz, date + Duration::days(1)),
            Self::Week => midnight(tz, date + Duration::days(7)),
            Self::Month => {
                let (y, m) = if date.month() == 12 {
                    (date.year() + 1, 1)
                } else {
                    (date.year(), date.month() + 1)
                };
                midnight(tz, NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(date))
            }
        }
    }
}

fn midnight(tz: Tz, date: NaiveDate) -> DateTime<Tz> {
    let naive = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    // A DST gap at midnight: take the first valid instant after it.
    tz.from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(naive + Duration::hours(1)))
                .earliest()
        })
        .unwrap_or_else(|| tz.from_utc_datetime(&naive))
}

/// A resolved range: `[start, end)` in UTC, with its zone and bucket size.
#[derive(Debug, Clone)]
pub struct Range {
    /// Inclusive start.
    pub start: DateTime<Utc>,
    /// Exclusive end.
    pub end: DateTime<Utc>,
    /// Bucketing zone.
    pub tz: Tz,
    /// Bucket size.
    pub timeframe: Timeframe,
}

impl Range {
    /// Reads `start`, `end`, `timezone`, `timeframe` and `bound_to_timeframe` from `q`.
    pub fn from_query(q: &Query, now_ms: i64) -> Result<Self, FalError> {
        let tz = q.timezone()?;
        let now = DateTime::<Utc>::from_timestamp_millis(now_ms).unwrap_or_default();
        let end = q.instant("end", tz)?.unwrap_or(now);
        let start = q.instant("start", tz)?.unwrap_or(end - Duration::hours(24));
        if start >= end {
            return Err(FalError::invalid("start must be before end"));
        }
        let timeframe = q
            .choice("timeframe", &Timeframe::NAMES)?
            .unwrap_or_else(|| Timeframe::auto(end - start));
        let (start, end) = if q.flag("bound_to_timeframe", true)? {
            let s = timeframe.floor(start.with_timezone(&tz));
            let e_floor = timeframe.floor(end.with_timezone(&tz));
            // An end already on a boundary stays: it is the exclusive start of the next period.
            let e = if e_floor == end.with_timezone(&tz) {
                e_floor
            } else {
                timeframe.next(e_floor)
            };
            (s.with_timezone(&Utc), e.with_timezone(&Utc))
        } else {
            (start, end)
        };
        let range = Self {
            start,
            end,
            tz,
            timeframe,
        };
        if range.buckets().len() > MAX_BUCKETS {
            return Err(FalError::invalid(format!(
                "the range holds more than {MAX_BUCKETS} buckets of this timeframe; use a larger timeframe"
            )));
        }
        Ok(range)
    }

    /// The buckets: `(label start in tz, start ms, end ms)`, clipped to the range.
    pub fn buckets(&self) -> Vec<(DateTime<Tz>, i64, i64)> {
        let mut out = Vec::new();
        let mut b = self.timeframe.floor(self.start.with_timezone(&self.tz));
        let end = self.end.with_timezone(&self.tz);
        while b < end {
            let next = self.timeframe.next(b);
            let from = b.max(self.start.with_timezone(&self.tz));
            out.push((b, from.timestamp_millis(), next.min(end).timestamp_millis()));
            if out.len() > MAX_BUCKETS {
                break;
            }
            b = next;
        }
        out
    }
}

/// A bucket label: ISO 8601 with the zone's offset (`2025-01-15T00:00:00-05:00`).
pub fn bucket_label(t: DateTime<Tz>) -> String {
    t.fixed_offset()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(q: &str, now: &str) -> Result<Range, FalError> {
        let now = DateTime::parse_from_rfc3339(now)
            .unwrap()
            .timestamp_millis();
        Range::from_query(&Query::parse(Some(q)).unwrap(), now)
    }

    #[test]
    fn auto_timeframe_thresholds() {
        assert_eq!(Timeframe::auto(Duration::minutes(119)), Timeframe::Minute);
        assert_eq!(Timeframe::auto(Duration::hours(2)), Timeframe::Hour);
        assert_eq!(Timeframe::auto(Duration::hours(24)), Timeframe::Hour);
        assert_eq!(Timeframe::auto(Duration::days(2)), Timeframe::Day);
        assert_eq!(Timeframe::auto(Duration::days(63)), Timeframe::Day);
        assert_eq!(Timeframe::auto(Duration::days(64)), Timeframe::Week);
        assert_eq!(Timeframe::auto(Duration::days(183)), Timeframe::Month);
    }

    #[test]
    fn bound_to_timeframe_aligns_like_the_reference_example() {
        let r = range(
            "start=2025-01-01T13:00:00Z&end=2025-01-31T10:00:00Z",
            "2025-03-01T00:00:00Z",
        )
        .unwrap();
        assert_eq!(r.timeframe, Timeframe::Day);
        assert_eq!(r.start.to_rfc3339(), "2025-01-01T00:00:00+00:00");
        assert_eq!(r.end.to_rfc3339(), "2025-02-01T00:00:00+00:00");
        let exact = range(
            "start=2025-01-01T13:00:00Z&end=2025-01-31T10:00:00Z&bound_to_timeframe=false",
            "2025-03-01T00:00:00Z",
        )
        .unwrap();
        assert_eq!(exact.start.to_rfc3339(), "2025-01-01T13:00:00+00:00");
        assert!(range("bound_to_timeframe=maybe", "2025-03-01T00:00:00Z").is_err());
    }

    #[test]
    fn buckets_carry_the_zone_offset_and_weeks_start_monday() {
        let r = range(
            "start=2025-01-15&end=2025-01-17&timezone=America/New_York&timeframe=day",
            "2025-03-01T00:00:00Z",
        )
        .unwrap();
        let labels: Vec<String> = r.buckets().into_iter().map(|b| bucket_label(b.0)).collect();
        assert_eq!(
            labels,
            ["2025-01-15T00:00:00-05:00", "2025-01-16T00:00:00-05:00"]
        );
        let w = range(
            "start=2025-01-15T12:00:00Z&end=2025-01-16T00:00:00Z&timeframe=week",
            "2025-03-01T00:00:00Z",
        )
        .unwrap();
        assert_eq!(w.start.to_rfc3339(), "2025-01-13T00:00:00+00:00", "Monday");
    }

    #[test]
    fn rejects_inverted_ranges_unknown_enums_and_bucket_floods() {
        assert!(range("start=2025-02-01&end=2025-01-01", "2025-03-01T00:00:00Z").is_err());
        assert!(range("timeframe=fortnight", "2025-03-01T00:00:00Z").is_err());
        assert!(range("timezone=Mars/Olympus", "2025-03-01T00:00:00Z").is_err());
        assert!(range(
            "start=2020-01-01&end=2025-01-01&timeframe=minute",
            "2025-03-01T00:00:00Z"
        )
        .is_err());
    }
}
