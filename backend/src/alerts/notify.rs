//! Delivery of alert notifications: a generic JSON webhook signed with HMAC-SHA256, or Slack's
//! incoming-webhook format; retried with exponential backoff.
//!
//! Signature recipe (README): `X-Falscope-Timestamp` carries Unix seconds `t`;
//! `X-Falscope-Signature` is `sha256=` + lowercase hex of HMAC-SHA256(secret, `"{t}." + body`).
//! A receiver recomputes it over the raw body and rejects timestamps older than a few minutes.
//!
//! `X-Falscope-Notification-Id` is the same for every delivery of one notification (retries,
//! and the next leader's after a crash mid-delivery), so a receiver can drop a duplicate.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sha2::Sha256;
use shared::alerts::{AlertEvent, AlertRule, AlertState, DeliveryResult, WebhookInfo};
use std::time::Duration;

/// Header with the signing time (Unix seconds).
pub const TIMESTAMP_HEADER: &str = "x-falscope-timestamp";
/// Header with `sha256=<hex>`.
pub const SIGNATURE_HEADER: &str = "x-falscope-signature";
/// Header with the notification's stable id.
pub const ID_HEADER: &str = "x-falscope-notification-id";

/// A notification's stable id: the same for every replica and every retry of one state
/// change (workspace, rule, state and time), and different for any other.
pub fn notification_id(event: &AlertEvent) -> String {
    let at = event.at.timestamp_millis().to_string();
    crate::digest::of_parts(
        [
            event.workspace.as_str(),
            event.rule_id.as_str(),
            event.state.as_str(),
            &at,
        ],
        16,
    )
}

/// Body shape a webhook expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// falscope's JSON, signed.
    Generic,
    /// `{"text": ...}` for a Slack incoming webhook (the URL is the secret).
    Slack,
}

/// One configured webhook.
#[derive(Clone)]
pub struct Webhook {
    /// Name from the alerts file.
    pub name: String,
    /// Where it posts (secret: Slack's URL is its credential).
    pub url: SecretString,
    /// Body shape.
    pub format: Format,
    /// HMAC key of the generic format.
    pub secret: Option<SecretString>,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("name", &self.name)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl Webhook {
    /// What the browser may see.
    pub fn info(&self) -> WebhookInfo {
        WebhookInfo {
            name: self.name.clone(),
            format: match self.format {
                Format::Generic => "generic",
                Format::Slack => "slack",
            }
            .into(),
            host: url::Url::parse(self.url.expose_secret())
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_default(),
        }
    }
}

/// The least time an attempt is started with, within a delivery's deadline.
const MIN_ATTEMPT: Duration = Duration::from_millis(250);

/// Retry policy.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// Attempts in all (≥ 1).
    pub attempts: u32,
    /// Wait before the second attempt; doubled each time, at most a minute.
    pub backoff: Duration,
    /// The whole delivery, attempts and waits, gives up after this long (none: only the
    /// client's timeout per attempt bounds it).
    pub within: Option<Duration>,
}

impl Default for Retry {
    fn default() -> Self {
        Self {
            attempts: 5,
            backoff: Duration::from_secs(1),
            within: None,
        }
    }
}

/// `sha256=<hex>` of `"{timestamp}." + body` under `secret`.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// What a notification says.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Message<'a> {
    /// A rule changed state.
    Alert {
        /// The change.
        event: &'a AlertEvent,
        /// The rule.
        rule: &'a AlertRule,
    },
    /// "Send test" from the Alerts page.
    Test {
        /// Workspace it was sent from.
        workspace: &'a str,
        /// Who sent it.
        sent_by: &'a str,
    },
}

impl Message<'_> {
    /// The Slack text. Slack reads `<…>` as links and mentions (`<!channel>`), so `&`, `<` and
    /// `>` in names and findings are escaped as its docs ask.
    fn text(&self) -> String {
        let text = match self {
            Message::Alert { event, rule } => {
                let mark = match event.state {
                    AlertState::Firing => ":rotating_light: FIRING",
                    _ => ":white_check_mark: RESOLVED",
                };
                format!(
                    "{mark}: {} ({}{}) — {}",
                    rule.name,
                    rule.workspace,
                    rule.app
                        .as_deref()
                        .map(|a| format!(" / {a}"))
                        .unwrap_or_default(),
                    event.detail
                )
            }
            Message::Test { workspace, sent_by } => {
                format!("falscope test notification from workspace {workspace} (sent by {sent_by})")
            }
        };
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    }
}

/// Posts `message` to `hook`, retrying network errors, 429 and 5xx with exponential backoff.
pub async fn deliver(
    client: &reqwest::Client,
    hook: &Webhook,
    message: &Message<'_>,
    id: &str,
    retry: Retry,
    now_unix: impl Fn() -> i64,
) -> DeliveryResult {
    let body = match hook.format {
        Format::Generic => serde_json::to_vec(message),
        Format::Slack => serde_json::to_vec(&serde_json::json!({ "text": message.text() })),
    }
    .unwrap_or_default();
    let mut wait = retry.backoff;
    let mut detail = String::new();
    let started = tokio::time::Instant::now();
    let left = || retry.within.map(|w| w.saturating_sub(started.elapsed()));
    for attempt in 1..=retry.attempts.max(1) {
        // Too little time left for an answer: the last attempt's outcome says more than a
        // timeout would.
        if attempt > 1 && left().is_some_and(|l| l < MIN_ATTEMPT) {
            return DeliveryResult {
                webhook: hook.name.clone(),
                ok: false,
                attempts: attempt - 1,
                detail,
            };
        }
        let t = now_unix();
        let mut req = client.post(hook.url.expose_secret());
        if let Some(left) = left() {
            req = req.timeout(left);
        }
        req = req
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(TIMESTAMP_HEADER, t.to_string())
            .header(ID_HEADER, id)
            .body(body.clone());
        if let Some(secret) = &hook.secret {
            req = req.header(
                SIGNATURE_HEADER,
                signature(secret.expose_secret().as_bytes(), t, &body),
            );
        }
        let retryable = match req.send().await {
            Ok(resp) if resp.status().is_success() => {
                return DeliveryResult {
                    webhook: hook.name.clone(),
                    ok: true,
                    attempts: attempt,
                    detail: format!("HTTP {}", resp.status().as_u16()),
                }
            }
            Ok(resp) => {
                let s = resp.status();
                detail = format!("HTTP {}", s.as_u16());
                s.is_server_error() || s == reqwest::StatusCode::TOO_MANY_REQUESTS
            }
            // The error's text would name the URL, which is Slack's credential.
            Err(e) if e.is_timeout() => {
                detail = "timed out".into();
                true
            }
            Err(e) if e.is_connect() => {
                detail = "could not connect".into();
                true
            }
            Err(_) => {
                detail = "request failed".into();
                true
            }
        };
        let out_of_time = left().is_some_and(|left| left <= wait);
        if !retryable || attempt == retry.attempts || out_of_time {
            return DeliveryResult {
                webhook: hook.name.clone(),
                ok: false,
                attempts: attempt,
                detail,
            };
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(60));
    }
    DeliveryResult {
        webhook: hook.name.clone(),
        ok: false,
        attempts: retry.attempts,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_a_known_vector() {
        // The documented recipe, computed independently: HMAC-SHA256 over "{t}." + body.
        let sig = signature(b"Jefe", 1_700_000_000, b"{}");
        assert!(sig.starts_with("sha256=") && sig.len() == 7 + 64);
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"1700000000.{}");
        mac.verify_slice(&hex(&sig[7..]))
            .expect("same recipe, same MAC");
        assert_ne!(
            sig,
            signature(b"Jefe", 1_700_000_001, b"{}"),
            "the time is signed"
        );
    }

    #[test]
    fn slack_text_cannot_mention_the_channel() {
        let m = Message::Test {
            workspace: "prod",
            sent_by: "<!channel> & co",
        };
        let t = m.text();
        assert!(t.contains("&lt;!channel&gt; &amp; co"), "{t}");
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
