//! Telling people of a decision: an optional outgoing webhook, posted after
//! each `gonogo run` decision and each sign-off (issue 23 item 4).
//!
//! The body is JSON with a Slack-compatible `text` field (Slack's and
//! Mattermost's incoming webhooks show it as the message; other receivers
//! read the typed fields beside it). It carries the verdict, the run and the
//! target as the report names them — never a secret, never an evidence body:
//! it is built from the report after its redaction pass, and the webhook's
//! own URL (which holds the receiver's secret) is never printed.
//!
//! Delivery is tried [`ATTEMPTS`] times, each within the configured timeout;
//! only what may pass later (no connection, no answer in time, 5xx, 408,
//! 429) is tried again, and redirects are not followed. A notice that could not be delivered never changes the
//! verdict or the exit: the caller prints one sentence and goes on.

use std::time::Duration;

use gonogo_reports::redact::{redact_report_with, Secrets};
use gonogo_reports::signoff::ApprovalSummary;
use gonogo_reports::{Report, Signoff};
use serde::Serialize;

/// How many times a notice is posted before gonogo gives up on it.
pub const ATTEMPTS: u32 = 3;

/// The wait before the second attempt; it doubles before each later one.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// Where notices go and how long each attempt may take.
#[derive(Clone)]
pub struct Webhook {
    url: reqwest::Url,
    timeout: Duration,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL is the receiver's secret.
        f.debug_struct("Webhook")
            .field("url", &"<secret>")
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Why a webhook could not be used or a notice was not delivered. Its words
/// never hold the URL.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// `notify.webhook_url` is not an http(s) URL.
    #[error("notify.webhook_url is not an http:// or https:// URL")]
    NotAUrl,
    /// Every attempt failed; the last one for this reason.
    #[error("the decision webhook was not delivered after {attempts} attempts ({last}); the verdict stands")]
    Undelivered { attempts: u32, last: String },
}

/// What one notice says, as JSON. `event` is `decision` or `signoff`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notice {
    /// `decision` after a run, `signoff` after a sign-off.
    pub event: &'static str,
    /// One line for people: what Slack-compatible receivers show.
    pub text: String,
    /// GO, NO-GO or INCONCLUSIVE.
    pub verdict: String,
    /// APPROVED or PENDING (sign-offs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval: Option<String>,
    pub run_id: String,
    pub target: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Why the verdict is what it is (the report's reasons, redacted).
    pub reasons: Vec<String>,
    /// The report's warnings (redacted).
    pub warnings: Vec<String>,
    /// The sign-off this notice is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signoff: Option<SignoffNotice>,
    /// Roles still to sign before the report is APPROVED (sign-offs only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing_roles: Vec<String>,
}

/// Who signed, for which role, with which key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignoffNotice {
    pub role: String,
    pub approver: String,
    pub key_id: String,
}

impl Notice {
    /// The notice of a run's decision, read from `report` after masking
    /// `secrets` (the run's own) besides the usual redaction.
    pub fn decision(report: &Report, secrets: &Secrets) -> Notice {
        let report = redact_report_with(report, secrets).unwrap_or_else(|_| report.clone());
        let verdict = report.decision.verdict.to_string();
        let first = report.decision.reasons.first().map(String::as_str);
        let text = format!(
            "gonogo: {verdict} for {}{} (run {}){}",
            target_words(&report),
            commit_words(&report),
            report.run.id,
            first.map(|r| format!(": {r}")).unwrap_or_default()
        );
        Notice {
            event: "decision",
            text,
            verdict,
            approval: None,
            signoff: None,
            missing_roles: Vec::new(),
            ..Notice::about(&report)
        }
    }

    /// The notice of one sign-off of `report` (read from its file, which was
    /// redacted when it was written) and where its approval stands now.
    pub fn signoff(report: &Report, entry: &Signoff, summary: &ApprovalSummary) -> Notice {
        let report =
            redact_report_with(report, &Secrets::default()).unwrap_or_else(|_| report.clone());
        let approval = summary.state.to_string();
        let still = if summary.missing_roles.is_empty() {
            String::new()
        } else {
            format!("; still missing: {}", summary.missing_roles.join(", "))
        };
        let text = format!(
            "gonogo: {} signed the {} of {}{} (run {}) as {}: {approval}{still}",
            entry.approver,
            report.decision.verdict,
            target_words(&report),
            commit_words(&report),
            report.run.id,
            entry.role,
        );
        Notice {
            event: "signoff",
            text,
            verdict: report.decision.verdict.to_string(),
            approval: Some(approval),
            signoff: Some(SignoffNotice {
                role: entry.role.clone(),
                approver: entry.approver.clone(),
                key_id: entry.key_id.clone(),
            }),
            missing_roles: summary.missing_roles.clone(),
            ..Notice::about(&report)
        }
    }

    /// The fields every notice of `report` shares.
    fn about(report: &Report) -> Notice {
        let target = &report.run.target;
        Notice {
            event: "",
            text: String::new(),
            verdict: String::new(),
            approval: None,
            run_id: report.run.id.clone(),
            target: target.base_url.clone(),
            label: target.label.clone(),
            commit: target.git_commit.clone(),
            reasons: report.decision.reasons.clone(),
            warnings: report.decision.warnings.clone(),
            signoff: None,
            missing_roles: Vec::new(),
        }
    }
}

fn target_words(report: &Report) -> String {
    let target = &report.run.target;
    match &target.label {
        Some(label) => format!("{label} ({})", target.base_url),
        None => target.base_url.clone(),
    }
}

fn commit_words(report: &Report) -> String {
    report
        .run
        .target
        .git_commit
        .as_deref()
        .map(|c| format!(" at {c}"))
        .unwrap_or_default()
}

impl Webhook {
    /// The webhook at `url`, each attempt bounded by `timeout`.
    pub fn new(url: &str, timeout: Duration) -> Result<Webhook, NotifyError> {
        let url = reqwest::Url::parse(url).map_err(|_| NotifyError::NotAUrl)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(NotifyError::NotAUrl);
        }
        Ok(Webhook { url, timeout })
    }

    /// Posts `notice`: `Ok` once the receiver answered 2xx.
    pub async fn send(&self, notice: &Notice) -> Result<(), NotifyError> {
        let client = reqwest::Client::builder()
            .timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("gonogo/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| undelivered(0, describe(&e)))?;
        let mut backoff = FIRST_BACKOFF;
        let mut last = String::new();
        for attempt in 1..=ATTEMPTS {
            if attempt > 1 {
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
            match client.post(self.url.clone()).json(notice).send().await {
                Ok(r) if r.status().is_success() => return Ok(()),
                Ok(r) => {
                    let status = r.status();
                    last = format!("the receiver answered {status}");
                    let passing = status.is_server_error()
                        || status == reqwest::StatusCode::REQUEST_TIMEOUT
                        || status == reqwest::StatusCode::TOO_MANY_REQUESTS;
                    if !passing {
                        return Err(undelivered(attempt, last));
                    }
                }
                Err(e) => last = describe(&e),
            }
        }
        Err(undelivered(ATTEMPTS, last))
    }
}

fn undelivered(attempts: u32, last: String) -> NotifyError {
    NotifyError::Undelivered { attempts, last }
}

/// What went wrong with one attempt, in words that never hold the URL.
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "no answer within the timeout".into()
    } else if e.is_connect() {
        "the receiver could not be reached".into()
    } else if e.is_redirect() {
        "the receiver answered with a redirect, which is not followed".into()
    } else {
        "the request could not be sent".into()
    }
}

/// Posts `notice` when a webhook is configured; an undelivered notice is one
/// sentence on stderr and changes nothing else.
pub async fn tell(webhook: Option<Webhook>, notice: Notice) {
    let Some(webhook) = webhook else { return };
    if let Err(e) = webhook.send(&notice).await {
        eprintln!("gonogo: {e}.");
    }
}

#[cfg(test)]
pub(crate) mod tests;
