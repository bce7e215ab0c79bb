//! Pure formatting helpers, unit-tested natively.

use chrono::{DateTime, Utc};

/// A count with thin thousands separators: `12345` → `12 345`.
pub fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push('\u{2009}');
        }
        out.push(c);
    }
    out
}

/// Seconds for people: `0.042` → `42 ms`, `3.5` → `3.50 s`, `95` → `1 m 35 s`.
pub fn seconds(s: f64) -> String {
    if !s.is_finite() {
        return "–".into();
    }
    if s < 1.0 {
        format!("{:.0} ms", s * 1000.0)
    } else if s < 60.0 {
        format!("{s:.2} s")
    } else {
        let m = (s / 60.0).floor();
        format!("{m:.0} m {:.0} s", s - m * 60.0)
    }
}

/// Optional seconds, `–` when absent.
pub fn opt_seconds(s: Option<f64>) -> String {
    s.map_or_else(|| "–".into(), seconds)
}

/// Money with a precision that suits the amount: `$1 234.57`, `$0.0042`.
pub fn money(amount: f64, currency: &str) -> String {
    let symbol = match currency {
        "USD" => "$",
        "EUR" => "€",
        "GBP" => "£",
        _ => "",
    };
    // Two significant digits at least: a request that costs $0.000099 is not "$0.0001".
    let digits = match amount.abs() {
        a if a >= 1.0 || a == 0.0 => 2,
        a if a >= 0.001 => 4,
        _ => 6,
    };
    let text = format!("{:.*}", digits, amount.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let int = count(int.parse().unwrap_or(0));
    let sign = if amount < 0.0 { "-" } else { "" };
    let code = if symbol.is_empty() {
        format!(" {currency}")
    } else {
        String::new()
    };
    format!("{sign}{symbol}{int}.{frac}{code}")
}

/// A share as a percentage: `0.0312` → `3.1%`.
pub fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// A time in the chosen zone ([`crate::zone`]): `14:03:10`.
pub fn clock(t: DateTime<Utc>) -> String {
    crate::zone::local(t).format("%H:%M:%S").to_string()
}

/// A date-time in the chosen zone: `2026-11-23 14:03:10`.
pub fn datetime(t: DateTime<Utc>) -> String {
    crate::zone::local(t)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// The chosen zone's name, for labels ("as of 14:03:10 UTC").
pub fn zone_name() -> String {
    crate::zone::current().name()
}

/// Bytes for people: `1536` → `1.5 KiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_thousands() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_234_567), "1\u{2009}234\u{2009}567");
    }

    #[test]
    fn durations_money_and_sizes() {
        assert_eq!(seconds(0.042), "42 ms");
        assert_eq!(seconds(3.5), "3.50 s");
        assert_eq!(seconds(95.0), "1 m 35 s");
        assert_eq!(money(1234.567, "USD"), "$1\u{2009}234.57");
        assert_eq!(money(0.00421, "USD"), "$0.0042");
        assert_eq!(money(0.0000992, "USD"), "$0.000099");
        assert_eq!(money(2.0, "CHF"), "2.00 CHF");
        assert_eq!(percent(0.0312), "3.1%");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(12), "12 B");
    }
}
