//! Query-string parsing for the dashboard API: every parameter is read into a typed value or
//! rejected with a 400 naming it and saying what is allowed; unknown parameters are rejected.

use crate::error::AppError;
use chrono::{DateTime, Duration, Utc};

/// Parsed query pairs, checked against the parameters a route accepts.
#[derive(Debug)]
pub struct Params(Vec<(String, String)>);

/// Longest time range any view may ask for.
pub const MAX_RANGE: Duration = Duration::days(400);

impl Params {
    /// Parses `raw`, rejecting parameters not in `allowed`.
    pub fn parse(raw: Option<&str>, allowed: &[&str]) -> Result<Self, AppError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
            .map_err(|_| AppError::invalid("query", "the query string is malformed"))?;
        if let Some((k, _)) = pairs.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
            return Err(AppError::invalid(
                k,
                format!(
                    "unknown parameter; this route accepts: {}",
                    allowed.join(", ")
                ),
            ));
        }
        Ok(Self(pairs))
    }

    /// The last value of `key`, if non-empty.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// Comma-separated or repeated values, at most `max`.
    pub fn list(&self, key: &str, max: usize) -> Result<Vec<String>, AppError> {
        let mut out: Vec<String> = Vec::new();
        for v in self
            .0
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split(','))
        {
            let v = v.trim();
            if !v.is_empty() && !out.iter().any(|o| o == v) {
                out.push(v.to_owned());
            }
        }
        if out.len() > max {
            return Err(AppError::invalid(
                key,
                format!("at most {max} values, got {}", out.len()),
            ));
        }
        Ok(out)
    }

    /// A required list of 1..=`max` values.
    pub fn required_list(&self, key: &str, max: usize) -> Result<Vec<String>, AppError> {
        let v = self.list(key, max)?;
        if v.is_empty() {
            return Err(AppError::invalid(
                key,
                format!("required: 1 to {max} values, comma-separated"),
            ));
        }
        Ok(v)
    }

    /// An integer in `min..=max`, or `default`.
    pub fn int(&self, key: &str, default: u32, min: u32, max: u32) -> Result<u32, AppError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| {
                    AppError::invalid(key, format!("must be an integer from {min} to {max}"))
                }),
        }
    }

    /// One of `allowed` by wire name.
    pub fn choice<T: Copy>(&self, key: &str, allowed: &[(&str, T)]) -> Result<Option<T>, AppError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        allowed
            .iter()
            .find(|(n, _)| *n == v)
            .map(|(_, t)| Some(*t))
            .ok_or_else(|| {
                let names: Vec<&str> = allowed.iter().map(|(n, _)| *n).collect();
                AppError::invalid(key, format!("must be one of: {}", names.join(", ")))
            })
    }

    /// The `from`/`to` range (ISO 8601 or `now-24h`-style), defaulting to the last `default`.
    pub fn range(
        &self,
        now: DateTime<Utc>,
        default: Duration,
    ) -> Result<(DateTime<Utc>, DateTime<Utc>), AppError> {
        let to = match self.get("to") {
            Some(v) => shared::time::parse(v, now).map_err(|e| AppError::invalid("to", e.0))?,
            None => now,
        };
        let from = match self.get("from") {
            Some(v) => shared::time::parse(v, now).map_err(|e| AppError::invalid("from", e.0))?,
            None => to - default,
        };
        if from >= to {
            return Err(AppError::invalid("from", "must be before `to`"));
        }
        if to - from > MAX_RANGE {
            return Err(AppError::invalid(
                "from",
                format!("the range may span at most {} days", MAX_RANGE.num_days()),
            ));
        }
        if to > now + Duration::minutes(5) {
            return Err(AppError::invalid("to", "must not be in the future"));
        }
        Ok((from, to))
    }

    /// The `timeframe` override (`None`: fal's automatic choice).
    pub fn timeframe(&self) -> Result<Option<shared::analytics::Timeframe>, AppError> {
        let names: Vec<(&str, shared::analytics::Timeframe)> = shared::analytics::Timeframe::ALL
            .iter()
            .map(|t| (t.as_str(), *t))
            .collect();
        self.choice("timeframe", &names)
    }

    /// An IANA time zone (default UTC).
    pub fn tz(&self) -> Result<Option<String>, AppError> {
        match self.get("tz") {
            None => Ok(None),
            Some(v) => v
                .parse::<chrono_tz::Tz>()
                .map(|_| Some(v.to_owned()))
                .map_err(|_| {
                    AppError::invalid("tz", "must be an IANA time zone such as Europe/Paris")
                }),
        }
    }

    /// An instant as derived views pass it (`2026-11-23T20:00:00Z`).
    pub fn iso(t: DateTime<Utc>) -> String {
        t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }

    /// Parameters built in code, for a derived view that reuses a cached report: the same
    /// validation and cache key as a browser's query with these pairs.
    pub fn of(pairs: &[(&str, String)], allowed: &[&str]) -> Result<Self, AppError> {
        let q = serde_urlencoded::to_string(pairs).unwrap_or_default();
        Self::parse(Some(&q), allowed)
    }

    /// The wire pairs, for cache keys.
    pub fn pairs(&self) -> Vec<(&str, String)> {
        self.0
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect()
    }
}

/// A JSON request body, or a 400 saying what was wrong and showing an `example` of the shape.
pub fn json_body<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    example: &str,
) -> Result<T, AppError> {
    serde_json::from_slice(bytes)
        .map_err(|e| AppError::invalid("body", format!("{e}; expected JSON like {example}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_parameter_and_the_rule() {
        let p = Params::parse(Some("limit=500&from=now-2h"), &["limit", "from", "to"]).unwrap();
        let err = p.int("limit", 50, 1, 100).unwrap_err();
        assert!(
            matches!(&err, AppError::InvalidParam { param, message } if param == "limit" && message.contains("1 to 100"))
        );
        let err = Params::parse(Some("lmit=5"), &["limit"]).unwrap_err();
        assert!(matches!(&err, AppError::InvalidParam { param, .. } if param == "lmit"));
        let now = Utc::now();
        let (from, to) = p.range(now, Duration::hours(24)).unwrap();
        assert_eq!(to - from, Duration::hours(2));
        let inverted = Params::parse(Some("from=now&to=now-1h"), &["from", "to"]).unwrap();
        assert!(inverted.range(now, Duration::hours(1)).is_err());
        let huge = Params::parse(Some("from=now-500d"), &["from"]).unwrap();
        assert!(huge.range(now, Duration::hours(1)).is_err());
    }
}
