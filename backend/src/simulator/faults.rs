//! Switchable faults (`POST /_sim/faults`): latency, error statuses (429 with `Retry-After`),
//! timeouts, dropped SSE streams and slow bodies, per operation and with a probability.
//! Draws come from a counter-based hash, so a fault sequence is reproducible.

use super::rng::{mix, unit};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// The body of `POST /_sim/faults`: it replaces every active rule (`{"rules":[]}` clears).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSet {
    /// Rules, each applied independently.
    pub rules: Vec<FaultRule>,
    /// fal-style rate limit: calls per key per fixed 60 s window; beyond it, 429 with
    /// `x-ratelimit-reset` (seconds until the window resets). Off when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_per_minute: Option<u32>,
    /// A cost spike: extra idle runners billed to one app from a time on (usage only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_spike: Option<CostSpike>,
    /// A latency regression: one endpoint's requests get slower from a time on (analytics).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_regression: Option<LatencyRegression>,
}

/// Requests to `endpoint` sent from `from` on take `factor` times as long to start and to run,
/// as when a model provider ships a slower version: fal's analytics show it, an SLA misses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyRegression {
    /// Route-level endpoint id (`fal-ai/flux/dev`, `acme/chat-llm`).
    pub endpoint: String,
    /// Multiplies prepare and execution seconds (1–100).
    pub factor: f64,
    /// From when (RFC 3339); absent: from the moment it is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

impl LatencyRegression {
    /// `r` as the regression leaves it.
    pub fn apply(&self, mut r: super::world::SimRequest) -> super::world::SimRequest {
        let start = self
            .from
            .as_deref()
            .and_then(|f| chrono::DateTime::parse_from_rfc3339(f).ok())
            .map_or(i64::MAX, |t| t.timestamp_millis());
        if r.endpoint_id == self.endpoint && r.sent_at >= start {
            r.prepare *= self.factor;
            r.duration *= self.factor;
        }
        r
    }
}

/// One fault rule.
/// Extra warm runners billed to `app` from `from` on, as when someone raises an app's minimum
/// concurrency by mistake: usage (and so spend) jumps while requests stay the same.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostSpike {
    /// App name (`flux-studio`).
    pub app: String,
    /// Runners billed idle on top of the app's own.
    pub extra_idle_runners: u32,
    /// From when (RFC 3339); absent: from the moment it is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

impl CostSpike {
    /// Extra idle machine-seconds of `app` in the minute starting at `minute_ms`.
    pub fn extra_in_minute(&self, app: &str, minute_ms: i64) -> f64 {
        let start = self
            .from
            .as_deref()
            .and_then(|f| chrono::DateTime::parse_from_rfc3339(f).ok())
            .map_or(i64::MAX, |t| t.timestamp_millis());
        if app == self.app && minute_ms >= start {
            60.0 * f64::from(self.extra_idle_runners)
        } else {
            0.0
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// Operation name as in `/_sim/stats`, or `*` for all.
    pub operation: String,
    /// Chance that a call is affected, 0–1.
    #[serde(default = "always")]
    pub probability: f64,
    /// Added latency before answering.
    #[serde(default)]
    pub latency_ms: u64,
    /// Answer with this status and fal's error body instead of the real answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// With `status: 429`: the `Retry-After` header, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_s: Option<u64>,
    /// Never answer (the client must time out).
    #[serde(default)]
    pub timeout: bool,
    /// SSE: end the stream abruptly after this many events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_stream_after: Option<u32>,
    /// Send the body in 1 KiB chunks with this delay between them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slow_body_ms: Option<u64>,
    /// Apply to at most this many calls, then stop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    /// Uploads answer `200 false` (fal's "it did not happen") instead of doing the work.
    #[serde(default)]
    pub not_done: bool,
    /// Answer a 400 whose message reflects the caller's `Authorization` header back (a server
    /// that echoes input): falscope must never pass it on.
    #[serde(default)]
    pub echo_key: bool,
}

fn always() -> f64 {
    1.0
}

impl FaultRule {
    /// Checks the rule; the error says what to fix.
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.probability) {
            return Err(format!(
                "probability must be within 0..=1, got {}",
                self.probability
            ));
        }
        if let Some(s) = self.status {
            if !(400..=599).contains(&s) {
                return Err(format!("status must be a 4xx or 5xx code, got {s}"));
            }
        }
        if self.retry_after_s.is_some() && self.status != Some(429) {
            return Err("retry_after_s only applies with status 429".into());
        }
        Ok(())
    }

    fn matches(&self, op: &str) -> bool {
        self.operation == "*" || self.operation == op
    }
}

/// What happens to one call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Effects {
    /// Delay before answering.
    pub latency_ms: u64,
    /// Replace the answer with this status.
    pub status: Option<u16>,
    /// `Retry-After` seconds for a 429.
    pub retry_after_s: Option<u64>,
    /// Never answer.
    pub timeout: bool,
    /// End an SSE stream after this many events.
    pub drop_stream_after: Option<u32>,
    /// Chunk delay.
    pub slow_body_ms: Option<u64>,
    /// Answer `false` (uploads).
    pub not_done: bool,
    /// Reflect the caller's key in a 400.
    pub echo_key: bool,
}

/// The active rules and how often each fired.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<(FaultRule, u32)>>,
    draws: AtomicU64,
    rate_limit: Mutex<Option<u32>>,
    cost_spike: Mutex<Option<CostSpike>>,
    latency_regression: Mutex<Option<LatencyRegression>>,
    /// Per key: (window index, calls in it).
    windows: Mutex<std::collections::HashMap<String, (i64, u32)>>,
}

impl Faults {
    /// Replaces the rules.
    pub fn set(&self, set: FaultSet) {
        let mut rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        *rules = set.rules.into_iter().map(|r| (r, 0)).collect();
        *self.rate_limit.lock().unwrap_or_else(|e| e.into_inner()) = set.rate_limit_per_minute;
        *self.cost_spike.lock().unwrap_or_else(|e| e.into_inner()) = set.cost_spike;
        *self
            .latency_regression
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = set.latency_regression;
        self.windows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Counts a call of `key` at `now_ms`; `Some(seconds until reset)` when over the limit.
    pub fn rate_limited(&self, key: &str, now_ms: i64) -> Option<u64> {
        let limit = (*self.rate_limit.lock().unwrap_or_else(|e| e.into_inner()))?;
        let window = now_ms.div_euclid(60_000);
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let entry = windows.entry(key.to_owned()).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        entry.1 += 1;
        let reset = (60_000 - now_ms.rem_euclid(60_000) + 999) / 1000;
        (entry.1 > limit).then_some(reset as u64)
    }

    /// The rules as set.
    pub fn get(&self) -> FaultSet {
        let rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        FaultSet {
            rules: rules.iter().map(|(r, _)| r.clone()).collect(),
            rate_limit_per_minute: *self.rate_limit.lock().unwrap_or_else(|e| e.into_inner()),
            cost_spike: self.cost_spike(),
            latency_regression: self
                .latency_regression
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }

    /// The cost spike, when one is set.
    pub fn cost_spike(&self) -> Option<CostSpike> {
        self.cost_spike
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Rolls every matching rule for one call of `op`.
    pub fn draw(&self, op: &str) -> Effects {
        let mut fx = Effects::default();
        let mut rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        for (rule, used) in rules.iter_mut().filter(|(r, _)| r.matches(op)) {
            if rule.times.is_some_and(|t| *used >= t) {
                continue;
            }
            let n = self.draws.fetch_add(1, Ordering::Relaxed);
            if unit(mix(n)) >= rule.probability {
                continue;
            }
            *used += 1;
            fx.latency_ms += rule.latency_ms;
            fx.status = fx.status.or(rule.status);
            fx.retry_after_s = fx.retry_after_s.or(rule.retry_after_s);
            fx.timeout |= rule.timeout;
            fx.drop_stream_after = fx.drop_stream_after.or(rule.drop_stream_after);
            fx.slow_body_ms = fx.slow_body_ms.or(rule.slow_body_ms);
            fx.not_done |= rule.not_done;
            fx.echo_key |= rule.echo_key;
        }
        fx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(op: &str) -> FaultRule {
        serde_json::from_value(serde_json::json!({ "operation": op })).unwrap()
    }

    #[test]
    fn times_limits_and_operation_filters() {
        let faults = Faults::default();
        faults.set(FaultSet {
            rules: vec![FaultRule {
                status: Some(503),
                times: Some(2),
                ..rule("metrics")
            }],
            rate_limit_per_minute: None,
            cost_spike: None,
            latency_regression: None,
        });
        assert_eq!(faults.draw("apps"), Effects::default());
        assert_eq!(faults.draw("metrics").status, Some(503));
        assert_eq!(faults.draw("metrics").status, Some(503));
        assert_eq!(faults.draw("metrics").status, None);
    }

    #[test]
    fn probability_is_roughly_respected() {
        let faults = Faults::default();
        faults.set(FaultSet {
            rules: vec![FaultRule {
                probability: 0.3,
                status: Some(500),
                ..rule("*")
            }],
            rate_limit_per_minute: None,
            cost_spike: None,
            latency_regression: None,
        });
        let hits = (0..2000)
            .filter(|_| faults.draw("x").status.is_some())
            .count();
        assert!((500..700).contains(&hits), "{hits} of 2000");
    }

    #[test]
    fn rate_limit_counts_per_key_in_fixed_windows() {
        let faults = Faults::default();
        assert_eq!(faults.rate_limited("k", 0), None, "off by default");
        faults.set(FaultSet {
            rules: vec![],
            rate_limit_per_minute: Some(2),
            cost_spike: None,
            latency_regression: None,
        });
        assert_eq!(faults.rate_limited("k", 15_000), None);
        assert_eq!(faults.rate_limited("k", 16_000), None);
        assert_eq!(
            faults.rate_limited("k", 17_000),
            Some(43),
            "third call: reset in 43 s"
        );
        assert_eq!(faults.rate_limited("other", 17_000), None, "per key");
        assert_eq!(faults.rate_limited("k", 60_000), None, "a new window");
    }

    #[test]
    fn validation_names_the_problem() {
        let bad = FaultRule {
            retry_after_s: Some(1),
            status: Some(500),
            ..rule("*")
        };
        assert!(bad.validate().unwrap_err().contains("429"));
    }
}
