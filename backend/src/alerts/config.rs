//! The alerts file (`--alerts-file`): webhooks, delivery retries and rules, parsed and checked
//! with errors that name what to fix; and rules made in the UI, checked the same way.

use super::notify::{Format, Retry, Webhook};
use crate::error::AppError;
use secrecy::SecretString;
use serde::Deserialize;
use shared::alerts::{AlertRule, Condition, NewRule, RuleSource};
use std::path::Path;

/// The alerts file, parsed and checked.
#[derive(Debug, Clone)]
pub struct AlertsConfig {
    /// How often every rule is evaluated.
    pub evaluate_every: std::time::Duration,
    /// Delivery retries.
    pub retry: Retry,
    /// Where notifications go.
    pub webhooks: Vec<Webhook>,
    /// Rules of the file.
    pub rules: Vec<AlertRule>,
    /// How long "Send test" waits for the webhooks.
    pub test_deadline: std::time::Duration,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        Self {
            evaluate_every: std::time::Duration::from_secs(30),
            retry: Retry::default(),
            webhooks: Vec::new(),
            rules: Vec::new(),
            test_deadline: std::time::Duration::from_secs(5),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    evaluate_every_seconds: Option<u64>,
    #[serde(default)]
    delivery: Option<DeliveryFile>,
    #[serde(default)]
    webhook: Vec<WebhookFile>,
    #[serde(default)]
    rule: Vec<RuleFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliveryFile {
    attempts: Option<u32>,
    backoff_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookFile {
    name: String,
    /// The URL, or the environment variable holding it (Slack URLs are credentials).
    url: Option<String>,
    url_env: Option<String>,
    format: Format,
    /// Environment variable holding the HMAC key (generic format).
    secret_env: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    id: String,
    name: String,
    /// Optional when falscope has one workspace.
    workspace: Option<String>,
    app: Option<String>,
    #[serde(default)]
    for_minutes: u32,
    condition: Condition,
}

impl AlertsConfig {
    /// Gives the rules that name no workspace the only one there is (`only`); with several
    /// workspaces such a rule is an error saying to name one.
    pub fn assign_workspace(&mut self, workspaces: &[&str]) -> Result<(), String> {
        for r in self.rules.iter_mut().filter(|r| r.workspace.is_empty()) {
            match workspaces {
                [only] => r.workspace = (*only).to_owned(),
                _ => {
                    return Err(format!(
                        "rule {:?} names no workspace; with several, set workspace = one of: {}",
                        r.id,
                        workspaces.join(", ")
                    ))
                }
            }
        }
        Ok(())
    }

    /// Reads the alerts file; `env` looks up variables named by `url_env` and `secret_env`.
    pub fn load(path: &Path, env: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
        let file: File = toml::from_str(&text).map_err(|e| e.to_string())?;
        let mut config = Self::default();
        if let Some(s) = file.evaluate_every_seconds {
            if !(1..=3600).contains(&s) {
                return Err("evaluate_every_seconds must be 1 to 3600".into());
            }
            config.evaluate_every = std::time::Duration::from_secs(s);
        }
        if let Some(d) = file.delivery {
            config.retry = Retry {
                attempts: d.attempts.unwrap_or(config.retry.attempts).clamp(1, 10),
                backoff: d
                    .backoff_ms
                    .map_or(config.retry.backoff, std::time::Duration::from_millis),
                within: None,
            };
        }
        for w in file.webhook {
            let var = |name: &str, what: &str| {
                env(name).filter(|v| !v.is_empty()).ok_or_else(|| {
                    format!(
                        "webhook {:?}: environment variable {name} ({what}) is not set",
                        w.name
                    )
                })
            };
            let url = match (&w.url, &w.url_env) {
                (Some(u), None) => u.clone(),
                (None, Some(v)) => var(v, "url_env")?,
                _ => {
                    return Err(format!(
                        "webhook {:?}: give exactly one of url and url_env",
                        w.name
                    ))
                }
            };
            if !url::Url::parse(&url).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
                return Err(format!(
                    "webhook {:?}: the URL must be http or https",
                    w.name
                ));
            }
            let secret = match &w.secret_env {
                Some(v) => Some(SecretString::from(var(v, "secret_env")?)),
                None if w.format == Format::Generic => {
                    return Err(format!(
                        "webhook {:?}: the generic format is signed; set secret_env to the variable holding the HMAC key",
                        w.name
                    ))
                }
                None => None,
            };
            if config.webhooks.iter().any(|x| x.name == w.name) {
                return Err(format!("webhook name {:?} appears twice", w.name));
            }
            config.webhooks.push(Webhook {
                name: w.name,
                url: SecretString::from(url),
                format: w.format,
                secret,
            });
        }
        for r in file.rule {
            if config.rules.iter().any(|x| x.id == r.id) {
                return Err(format!("rule id {:?} appears twice", r.id));
            }
            let rule = AlertRule {
                id: r.id,
                name: r.name,
                workspace: r.workspace.unwrap_or_default(),
                app: r.app,
                condition: r.condition,
                for_minutes: r.for_minutes,
                source: RuleSource::File,
            };
            check(&rule).map_err(|(field, msg)| format!("rule {:?}: {field}: {msg}", rule.id))?;
            config.rules.push(rule);
        }
        Ok(config)
    }
}

/// Checks a rule's numbers: `(field, what to fix)` (the form checks the same).
fn check(rule: &AlertRule) -> Result<(), (&'static str, String)> {
    NewRule {
        name: rule.name.clone(),
        app: rule.app.clone(),
        condition: rule.condition.clone(),
        for_minutes: rule.for_minutes,
    }
    .check()
}

/// A checked rule of the UI from its form.
pub(super) fn ui_rule(id: String, ws: &str, new: NewRule) -> Result<AlertRule, AppError> {
    let rule = AlertRule {
        id,
        name: new.name.trim().to_owned(),
        workspace: ws.to_owned(),
        app: new.app.filter(|a| !a.trim().is_empty()),
        condition: new.condition,
        for_minutes: new.for_minutes,
        source: RuleSource::Ui,
    };
    check(&rule).map_err(|(field, msg)| AppError::invalid(field, msg))?;
    Ok(rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_names_what_to_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.toml");
        let env = |k: &str| (k == "HOOK_SECRET").then(|| "s3cret".to_owned());
        std::fs::write(
            &path,
            r#"
evaluate_every_seconds = 15
[delivery]
attempts = 3
backoff_ms = 50
[[webhook]]
name = "ops"
url = "https://hooks.example.com/falscope"
format = "generic"
secret_env = "HOOK_SECRET"
[[rule]]
id = "queue"
name = "Queue above 50"
workspace = "default"
app = "flux-studio"
for_minutes = 5
condition = { kind = "threshold", metric = "queue_size", above = 50 }
[[rule]]
id = "cost-spike"
name = "Hourly cost anomaly"
workspace = "default"
condition = { kind = "anomaly", metric = "hourly_cost" }
"#,
        )
        .unwrap();
        let c = AlertsConfig::load(&path, env).unwrap();
        assert_eq!(c.evaluate_every, std::time::Duration::from_secs(15));
        assert_eq!(c.retry.attempts, 3);
        assert_eq!(c.webhooks[0].info().host, "hooks.example.com");
        assert!(!format!("{:?}", c.webhooks[0]).contains("s3cret"));
        assert_eq!(c.rules.len(), 2);
        assert!(matches!(
            c.rules[1].condition,
            Condition::Anomaly {
                lookback_hours: 72,
                ..
            }
        ));
        for (bad, hint) in [
            ("[[webhook]]\nname = \"x\"\nurl = \"https://h\"\nformat = \"generic\"\n", "secret_env"),
            ("[[webhook]]\nname = \"x\"\nurl_env = \"NOPE\"\nformat = \"slack\"\n", "NOPE"),
            ("[[rule]]\nid = \"a\"\nname = \"a\"\nworkspace = \"w\"\ncondition = { kind = \"threshold\", metric = \"error_rate\", above = 5 }\n", "share from 0 to 1"),
            ("[[rule]]\nid = \"a\"\nname = \"a\"\nworkspace = \"w\"\ncondition = { kind = \"anomaly\", metric = \"hourly_cost\", sensitivity = 0.1 }\n", "sensitivity"),
            ("bogus = 1\n", "unknown field"),
        ] {
            std::fs::write(&path, bad).unwrap();
            let e = AlertsConfig::load(&path, env).unwrap_err();
            assert!(e.contains(hint), "{e}");
        }
    }
}
