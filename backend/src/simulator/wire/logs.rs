//! §5: log lines and the label filters of the log operations' body.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// §5.1: a log line (a history item, and the `data` of a stream event);
/// `additionalProperties: false`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogEntry {
    /// ISO 8601.
    pub timestamp: String,
    /// The line's level.
    pub level: LogLevel,
    /// The message.
    pub message: String,
    /// The bare app name (`my-app`), not `owner/name`.
    pub app: String,
    /// Revision id.
    pub revision: String,
    /// String → string labels; optional.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
}

/// §5.0: log levels. fal gives no enum; the order `debug < info < warning < error < critical`
/// is REFERENCE's guess, and `level` filters by minimum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    /// `debug`.
    Debug,
    /// `info`.
    Info,
    /// `warning`.
    Warning,
    /// `error`.
    Error,
    /// `critical`.
    Critical,
}

/// §5.0: one element of the log operations' body (`additionalProperties: false`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelFilter {
    /// Label name, e.g. `fal_job_id`.
    pub key: String,
    /// A string or an array of strings.
    pub value: LabelValue,
    /// Optional; defaults to `equals` for a string and `in` for an array.
    #[serde(default)]
    pub condition_type: Option<LabelCondition>,
}

/// §5.0: a label filter's `value`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum LabelValue {
    /// A string.
    One(String),
    /// An array of strings.
    Many(Vec<String>),
}

/// §5.0: `condition_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelCondition {
    /// `equals`.
    Equals,
    /// `in`.
    In,
    /// `not_equals`.
    NotEquals,
    /// `not_in`.
    NotIn,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_filters_refuse_unknown_fields_and_levels_are_lowercase() {
        let f: Vec<LabelFilter> =
            serde_json::from_str(r#"[{"key":"fal_job_id","value":"job_123"}]"#).unwrap();
        assert_eq!(f[0].value, LabelValue::One("job_123".into()));
        assert!(serde_json::from_str::<Vec<LabelFilter>>(
            r#"[{"key":"k","value":["a"],"condition_type":"not_in","x":1}]"#
        )
        .is_err());
        assert_eq!(
            serde_json::to_value(LogLevel::Warning).unwrap(),
            serde_json::json!("warning")
        );
    }
}
