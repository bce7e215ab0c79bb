//! The time zone the dashboard shows times in (URL `tz`): UTC (the default), the browser's
//! zone, or an IANA name. Offsets come from the browser's own `Intl` data, so no zone database
//! ships in the bundle; natively (tests) every zone is UTC.

use chrono::{DateTime, FixedOffset, Offset, Utc};
use std::cell::RefCell;
use std::collections::HashMap;

/// A display zone.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Zone {
    /// UTC.
    #[default]
    Utc,
    /// The browser's zone.
    Local,
    /// An IANA zone, e.g. `Europe/Berlin`.
    Named(String),
}

/// Zones offered besides UTC and the browser's.
pub const COMMON: [&str; 8] = [
    "America/Los_Angeles",
    "America/New_York",
    "Europe/London",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Sydney",
];

thread_local! {
    static CURRENT: RefCell<(Zone, HashMap<i64, i32>)> = RefCell::new((Zone::Utc, HashMap::new()));
}

impl Zone {
    /// From the URL's `tz`: absent or `UTC` → UTC, `local` → the browser's, else an IANA name
    /// the browser knows (unknown names fall back to UTC).
    pub fn parse(tz: Option<&str>) -> Self {
        match tz.map(str::trim) {
            None | Some("" | "UTC" | "utc") => Self::Utc,
            Some("local") => Self::Local,
            Some(name) if offset_of(&Self::Named(name.to_owned()), 0).is_some() => {
                Self::Named(name.to_owned())
            }
            Some(_) => Self::Utc,
        }
    }

    /// The URL value (`None` for UTC, the default).
    pub fn param(&self) -> Option<String> {
        match self {
            Self::Utc => None,
            Self::Local => Some("local".into()),
            Self::Named(n) => Some(n.clone()),
        }
    }

    /// The IANA name for the API's `tz` (bucket boundaries), `None` for UTC.
    pub fn iana(&self) -> Option<String> {
        match self {
            Self::Utc => None,
            Self::Local => browser_zone(),
            Self::Named(n) => Some(n.clone()),
        }
    }

    /// Short name for labels: `UTC`, `Europe/Berlin`.
    pub fn name(&self) -> String {
        match self {
            Self::Utc => "UTC".into(),
            Self::Local => browser_zone().unwrap_or_else(|| "local".into()),
            Self::Named(n) => n.clone(),
        }
    }
}

/// Makes `zone` the one every time is shown in.
pub fn set(zone: Zone) {
    CURRENT.with(|c| {
        let mut c = c.borrow_mut();
        if c.0 != zone {
            *c = (zone, HashMap::new());
        }
    });
}

/// The zone times are shown in.
pub fn current() -> Zone {
    CURRENT.with(|c| c.borrow().0.clone())
}

/// `t` in the current zone (offsets cached per hour).
pub fn local(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    let ms = t.timestamp_millis();
    let minutes = CURRENT.with(|c| {
        let mut c = c.borrow_mut();
        let hour = ms.div_euclid(3_600_000);
        if let Some(m) = c.1.get(&hour) {
            return *m;
        }
        let m = offset_of(&c.0, ms).unwrap_or(0);
        c.1.insert(hour, m);
        m
    });
    let offset = FixedOffset::east_opt(minutes * 60).unwrap_or(Utc.fix());
    t.with_timezone(&offset)
}

/// Minutes east of UTC of `zone` at `ms`, or `None` for a zone the browser does not know.
#[cfg(target_arch = "wasm32")]
fn offset_of(zone: &Zone, ms: i64) -> Option<i32> {
    use wasm_bindgen::JsValue;
    let date = js_sys::Date::new(&JsValue::from_f64(ms as f64));
    let name = match zone {
        Zone::Utc => return Some(0),
        Zone::Local => return Some(-(date.get_timezone_offset() as i32)),
        Zone::Named(n) => n,
    };
    let options = js_sys::Object::new();
    let set = |k: &str, v: &str| js_sys::Reflect::set(&options, &k.into(), &v.into()).ok();
    set("timeZone", name)?;
    set("hourCycle", "h23")?;
    for k in ["year", "month", "day", "hour", "minute", "second"] {
        set(k, "numeric")?;
    }
    // `toLocaleString` throws a RangeError for unknown zones.
    let text: String = js_sys::Reflect::get(&date, &"toLocaleString".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .and_then(|f| f.call2(&date, &"en-US".into(), &options).ok())?
        .as_string()?;
    // "11/23/2026, 17:33:07"
    let nums: Vec<i64> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect();
    let [mo, d, y, h, mi, s] = nums[..] else {
        return None;
    };
    let wall = chrono::NaiveDate::from_ymd_opt(y as i32, mo as u32, d as u32)?
        .and_hms_opt(h as u32, mi as u32, s as u32)?
        .and_utc()
        .timestamp_millis();
    Some(((wall - ms.div_euclid(1000) * 1000) as f64 / 60_000.0).round() as i32)
}

#[cfg(target_arch = "wasm32")]
use wasm_bindgen::JsCast;

/// Natively there is no zone data: UTC only.
#[cfg(not(target_arch = "wasm32"))]
fn offset_of(zone: &Zone, _ms: i64) -> Option<i32> {
    matches!(zone, Zone::Utc).then_some(0)
}

/// The browser's IANA zone.
#[cfg(target_arch = "wasm32")]
fn browser_zone() -> Option<String> {
    let options = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new())
        .resolved_options();
    js_sys::Reflect::get(&options, &"timeZone".into())
        .ok()?
        .as_string()
}

#[cfg(not(target_arch = "wasm32"))]
fn browser_zone() -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_url_value_and_defaults_to_utc() {
        assert_eq!(Zone::parse(None), Zone::Utc);
        assert_eq!(Zone::parse(Some("UTC")), Zone::Utc);
        assert_eq!(Zone::parse(Some("local")), Zone::Local);
        assert_eq!(Zone::Local.param().as_deref(), Some("local"));
        assert_eq!(Zone::Utc.param(), None);
        let t = DateTime::from_timestamp(1_795_014_000, 0).unwrap();
        set(Zone::Utc);
        assert_eq!(local(t).format("%H:%M").to_string(), "15:00");
    }
}
