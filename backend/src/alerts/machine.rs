//! A rule's state machine: inactive → pending → firing → resolved, with de-duplication (a
//! notification only on the move to firing and the move to resolved).

use chrono::{DateTime, Duration, Utc};
use shared::alerts::AlertState;

/// What one evaluation found.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The condition holds.
    Holds {
        /// Measured value.
        value: f64,
        /// In words.
        detail: String,
    },
    /// The condition does not hold.
    Clear {
        /// Measured value, when there was one.
        value: Option<f64>,
        /// In words.
        detail: String,
    },
    /// The data needed could not be read or is missing: the state stays as it is.
    Unknown {
        /// Why.
        detail: String,
    },
}

/// The live state of one rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Runtime {
    /// Current state.
    pub state: AlertState,
    /// Since when.
    pub since: Option<DateTime<Utc>>,
    /// Last measured value.
    pub value: Option<f64>,
    /// Last finding in words.
    pub detail: String,
    /// Last evaluation.
    pub evaluated_at: Option<DateTime<Utc>>,
}

impl Default for Runtime {
    fn default() -> Self {
        Self {
            state: AlertState::Inactive,
            since: None,
            value: None,
            detail: "not evaluated yet".into(),
            evaluated_at: None,
        }
    }
}

impl Runtime {
    /// Applies `verdict` at `now`; returns the state to notify about (`Firing` or `Resolved`)
    /// when this evaluation changed the state to one of them, `None` otherwise.
    pub fn step(
        &mut self,
        verdict: Verdict,
        now: DateTime<Utc>,
        hold: Duration,
    ) -> Option<AlertState> {
        use AlertState::{Firing, Inactive, Pending, Resolved};
        self.evaluated_at = Some(now);
        let holds = match verdict {
            Verdict::Unknown { detail } => {
                self.detail = detail;
                return None;
            }
            Verdict::Holds { value, detail } => {
                self.value = Some(value);
                self.detail = detail;
                true
            }
            Verdict::Clear { value, detail } => {
                self.value = value;
                self.detail = detail;
                false
            }
        };
        let next = match (self.state, holds) {
            (Inactive | Resolved, true) if hold <= Duration::zero() => Firing,
            (Inactive | Resolved, true) => Pending,
            (Pending, true) if self.since.is_some_and(|s| now - s >= hold) => Firing,
            (Pending, true) => Pending,
            (Firing, true) => Firing,
            (Pending, false) => Inactive,
            (Firing, false) => Resolved,
            (state @ (Inactive | Resolved), false) => state,
        };
        if next == self.state {
            return None;
        }
        self.state = next;
        self.since = Some(now);
        matches!(next, Firing | Resolved).then_some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holds(v: f64) -> Verdict {
        Verdict::Holds {
            value: v,
            detail: format!("{v} is high"),
        }
    }

    fn clear() -> Verdict {
        Verdict::Clear {
            value: Some(0.0),
            detail: "fine".into(),
        }
    }

    #[test]
    fn pending_then_firing_once_then_resolved_once() {
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let at = |m: i64| t0 + Duration::minutes(m);
        let hold = Duration::minutes(5);
        let mut rt = Runtime::default();
        assert_eq!(rt.step(holds(9.0), at(0), hold), None);
        assert_eq!(rt.state, AlertState::Pending);
        assert_eq!(
            rt.step(holds(9.0), at(4), hold),
            None,
            "not yet held 5 minutes"
        );
        assert_eq!(rt.step(holds(9.0), at(5), hold), Some(AlertState::Firing));
        let since = rt.since;
        for m in 6..20 {
            assert_eq!(
                rt.step(holds(9.0), at(m), hold),
                None,
                "firing is notified once"
            );
        }
        assert_eq!(rt.since, since, "a repeated firing keeps its start");
        let unknown = Verdict::Unknown {
            detail: "fal unavailable".into(),
        };
        assert_eq!(rt.step(unknown, at(21), hold), None);
        assert_eq!(rt.state, AlertState::Firing, "missing data changes nothing");
        assert_eq!(rt.step(clear(), at(22), hold), Some(AlertState::Resolved));
        assert_eq!(
            rt.step(clear(), at(23), hold),
            None,
            "resolved is notified once"
        );
        // A blip shorter than the hold never fires.
        assert_eq!(rt.step(holds(9.0), at(30), hold), None);
        assert_eq!(rt.state, AlertState::Pending);
        assert_eq!(rt.step(clear(), at(31), hold), None);
        assert_eq!(rt.state, AlertState::Inactive);
    }

    #[test]
    fn zero_hold_fires_at_once() {
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let mut rt = Runtime::default();
        assert_eq!(
            rt.step(holds(1.0), t0, Duration::zero()),
            Some(AlertState::Firing)
        );
    }
}
