//! Query-string parsing with fal's rules: multi-valued parameters (comma-separated or repeated),
//! bounded limits, page-number cursors, `"true"`/`"false"` strings, RFC 3339 or bare dates.
//! Every failure is a 400 `validation_error` naming the parameter.

use super::errors::FalError;
use base64::Engine as _;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// Parsed query pairs, in order.
#[derive(Debug, Clone, Default)]
pub struct Query(Vec<(String, String)>);

impl Query {
    /// Parses a raw query string.
    pub fn parse(raw: Option<&str>) -> Result<Self, FalError> {
        serde_urlencoded::from_str(raw.unwrap_or(""))
            .map(Self)
            .map_err(|_| FalError::invalid("malformed query string"))
    }

    /// The last value of `key`.
    pub fn one(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, split on commas, trimmed, empties dropped.
    pub fn list(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// A 1–50 id list; `required` makes absence an error.
    pub fn ids(&self, key: &str, required: bool) -> Result<Vec<String>, FalError> {
        let ids = self.list(key);
        if ids.is_empty() && required {
            return Err(FalError::invalid(format!("{key} is required")));
        }
        if ids.len() > 50 {
            return Err(FalError::invalid(format!(
                "{key} accepts at most 50 values, got {}",
                ids.len()
            )));
        }
        Ok(ids)
    }

    /// `limit` within `1..=max`, or `default`.
    pub fn limit(&self, default: usize, max: usize) -> Result<usize, FalError> {
        match self.one("limit") {
            None => Ok(default),
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    FalError::invalid(format!("limit must be an integer from 1 to {max}"))
                }),
        }
    }

    /// A boolean given as `true` or `false`.
    pub fn flag(&self, key: &str, default: bool) -> Result<bool, FalError> {
        // fal documents these as the strings "true"/"false" (e.g. `bound_to_timeframe`);
        // strict here, so a client sending `1` or `True` fails before it meets fal.
        match self.one(key) {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(_) => Err(FalError::invalid(format!(
                "{key} must be \"true\" or \"false\""
            ))),
        }
    }

    /// One of `allowed` (by name), or `None` when absent.
    pub fn choice<T: Copy>(&self, key: &str, allowed: &[(&str, T)]) -> Result<Option<T>, FalError> {
        let Some(v) = self.one(key) else {
            return Ok(None);
        };
        allowed
            .iter()
            .find(|(name, _)| *name == v)
            .map(|(_, t)| Some(*t))
            .ok_or_else(|| {
                let names: Vec<&str> = allowed.iter().map(|(n, _)| *n).collect();
                FalError::invalid(format!("{key} must be one of {}", names.join(", ")))
            })
    }

    /// The IANA `timezone` (default UTC).
    pub fn timezone(&self) -> Result<Tz, FalError> {
        match self.one("timezone") {
            None => Ok(Tz::UTC),
            Some(v) => v.parse::<Tz>().map_err(|_| {
                FalError::invalid("timezone must be an IANA name such as America/New_York")
            }),
        }
    }

    /// An instant: RFC 3339 date-time or a bare `YYYY-MM-DD` (midnight in `tz`).
    pub fn instant(&self, key: &str, tz: Tz) -> Result<Option<DateTime<Utc>>, FalError> {
        let Some(v) = self.one(key) else {
            return Ok(None);
        };
        parse_instant(v, tz).map(Some).ok_or_else(|| {
            FalError::invalid(format!("{key} must be an ISO 8601 date-time or YYYY-MM-DD"))
        })
    }

    /// A page-number cursor: `(page, pinned_now_ms)`; page 1 without a cursor.
    pub fn page(&self) -> Result<(usize, Option<i64>), FalError> {
        match self.one("cursor") {
            None => Ok((1, None)),
            Some(c) => {
                decode_page_cursor(c).ok_or_else(|| FalError::invalid("cursor is not valid"))
            }
        }
    }
}

/// Parses RFC 3339 or a bare date.
pub fn parse_instant(v: &str, tz: Tz) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Some(t.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(v, "%Y-%m-%d").ok()?;
    if v.len() != 10 {
        return None;
    }
    tz.from_local_datetime(&date.and_hms_opt(0, 0, 0)?)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// Page-number cursor: base64 of `"<page>"`, plus `"@<ms>"` pinning the clock of page 1 so a
/// result walked page by page does not shift while the world moves. Opaque to clients.
pub fn encode_page_cursor(page: usize, now_ms: i64) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{page}@{now_ms}"))
}

fn decode_page_cursor(c: &str) -> Option<(usize, Option<i64>)> {
    let raw = base64::engine::general_purpose::STANDARD.decode(c).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (page, now) = match text.split_once('@') {
        Some((p, n)) => (p, Some(n.parse().ok()?)),
        None => (text.as_str(), None),
    };
    let page: usize = page.parse().ok()?;
    (page >= 1).then_some((page, now))
}

/// Formats Unix ms as fal does: UTC, millisecond precision, `Z`.
pub fn iso_ms(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_accept_commas_and_repeats() {
        let q = Query::parse(Some("endpoint_id=a,b&endpoint_id=c&endpoint_id=")).unwrap();
        assert_eq!(q.list("endpoint_id"), ["a", "b", "c"]);
        let many = (0..51)
            .map(|i| format!("endpoint_id=e{i}"))
            .collect::<Vec<_>>()
            .join("&");
        assert!(Query::parse(Some(&many))
            .unwrap()
            .ids("endpoint_id", true)
            .is_err());
        assert!(Query::default().ids("endpoint_id", true).is_err());
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let q = Query::parse(Some(&format!("cursor={}", encode_page_cursor(3, 42)))).unwrap();
        assert_eq!(q.page().unwrap(), (3, Some(42)));
        // fal's documented example "Mg==" is page 2.
        assert_eq!(
            Query::parse(Some("cursor=Mg%3D%3D"))
                .unwrap()
                .page()
                .unwrap(),
            (2, None)
        );
        assert!(
            Query::parse(Some("cursor=%%%")).is_err()
                || Query::parse(Some("cursor=zz")).unwrap().page().is_err()
        );
        assert!(
            Query::parse(Some("cursor=MA==")).unwrap().page().is_err(),
            "page 0"
        );
    }

    #[test]
    fn instants_take_rfc3339_or_bare_dates_in_the_zone() {
        let ny: Tz = "America/New_York".parse().unwrap();
        let t = parse_instant("2025-01-15", ny).unwrap();
        assert_eq!(t.to_rfc3339(), "2025-01-15T05:00:00+00:00");
        assert!(
            parse_instant("2025-01-15T10:00:00", Tz::UTC).is_none(),
            "offset required"
        );
        assert!(parse_instant("2025-1-5", Tz::UTC).is_none());
    }
}
