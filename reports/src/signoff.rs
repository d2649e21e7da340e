//! Sign-off: Ed25519 signatures by role over the canonical report.
//!
//! What is signed is the RFC 8785 (JCS) canonical JSON of
//! `{"statement":"approved","report":<report>,"role","approver","signed_at","key_id","algorithm"}`
//! where `<report>` is the report without `signoffs` (the list the signature is
//! added to) and without `canary` (observed after approval; writing it must not
//! void the approvals). Any other changed value voids every signature.
//!
//! The final state: REJECTED when the decision is not GO; APPROVED when it is GO
//! and every required role has a valid signature from a trusted key that the
//! trust directory's `trust.toml` lets count for it ([`policy`]: the key's
//! person holds the role, the key is not revoked, and the person signed no
//! other role of this report); PENDING otherwise (including when no trusted
//! keys, or no `trust.toml`, were given to check against).

mod keys;
pub mod policy;
mod roles;

use std::path::{Path, PathBuf};

use base64::Engine as _;
use chrono::{DateTime, SubsecRound, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey};
use serde_json::json;

use crate::model::{Report, Signoff, Verdict};
use policy::and_list;

pub use keys::{key_id, keygen, load_signing_key, KeyPairFiles, TrustStore, TrustedKey};
pub use policy::{TrustPolicy, POLICY_FILE};
pub use roles::{
    check_roles, default_required_roles, load_required_roles, normalize_role, resolve_role,
};

/// The only signature algorithm.
pub const ALGORITHM: &str = "ed25519";

/// What went wrong while signing or loading keys and configuration.
#[derive(Debug, thiserror::Error)]
pub enum SignoffError {
    #[error("cannot use {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Key(String),
    #[error("{0}")]
    Usage(String),
    #[error("refusing to sign: the decision is {0}, only a GO report can be approved")]
    NotGo(&'static str),
    #[error("{}: {reason}", path.display())]
    Config { path: PathBuf, reason: String },
    #[error("the report is not valid JSON for this tool: {0}")]
    Json(#[from] serde_json::Error),
}

impl SignoffError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        SignoffError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The bytes a sign-off signs: canonical JSON of the statement.
pub fn signed_bytes(report: &Report, signoff: &Signoff) -> Result<Vec<u8>, serde_json::Error> {
    let mut content = serde_json::to_value(report)?;
    if let Some(map) = content.as_object_mut() {
        map.remove("signoffs");
        map.remove("canary");
    }
    let statement = json!({
        "statement": "approved",
        "report": content,
        "role": signoff.role,
        "approver": signoff.approver,
        "signed_at": signoff.signed_at,
        "key_id": signoff.key_id,
        "algorithm": signoff.algorithm,
    });
    serde_json_canonicalizer::to_vec(&statement)
}

/// Signs `report` for `role` and appends the sign-off to its `signoffs`,
/// replacing an earlier one by the same key for the same role.
/// Refuses a report whose decision is not GO and a role that is not required.
pub fn sign(
    report: &mut Report,
    key: &SigningKey,
    role: &str,
    approver: &str,
    signed_at: DateTime<Utc>,
    required_roles: &[String],
) -> Result<Signoff, SignoffError> {
    if report.decision.verdict != Verdict::Go {
        return Err(SignoffError::NotGo(report.decision.verdict.label()));
    }
    let role = resolve_role(role, required_roles).ok_or_else(|| {
        SignoffError::Usage(format!(
            "role `{role}` is not a required role; use one of: {}",
            required_roles.join(", ")
        ))
    })?;
    let approver = approver.trim();
    if approver.is_empty() {
        return Err(SignoffError::Usage("the approver name is empty".into()));
    }
    let mut signoff = Signoff {
        role: role.to_string(),
        approver: approver.to_string(),
        // Whole seconds: the timestamp round-trips through every JSON tool unchanged.
        signed_at: signed_at.trunc_subsecs(0),
        key_id: key_id(&key.verifying_key()),
        algorithm: ALGORITHM.to_string(),
        signature: String::new(),
    };
    let signature = key.sign(&signed_bytes(report, &signoff)?);
    signoff.signature = base64::engine::general_purpose::STANDARD.encode(signature.to_bytes());

    report.signoffs.retain(|s| {
        !(s.key_id == signoff.key_id && normalize_role(&s.role) == normalize_role(role))
    });
    report.signoffs.push(signoff.clone());
    Ok(signoff)
}

/// Checks one sign-off of `report` against `trust`; `Err` names why it is not valid.
pub fn verify_signoff(
    report: &Report,
    signoff: &Signoff,
    trust: &TrustStore,
) -> Result<(), String> {
    if signoff.algorithm != ALGORITHM {
        return Err(format!("unsupported algorithm `{}`", signoff.algorithm));
    }
    let trusted = trust.get(&signoff.key_id).ok_or_else(|| {
        format!(
            "signed with unknown key {}: not in the trust directory",
            signoff.key_id
        )
    })?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&signoff.signature)
        .map_err(|_| "the signature is not base64".to_string())?;
    let signature = Signature::from_slice(&bytes)
        .map_err(|_| "the signature is not 64 bytes of Ed25519".to_string())?;
    let message = signed_bytes(report, signoff).map_err(|e| e.to_string())?;
    trusted.key.verify_strict(&message, &signature).map_err(|_| {
        format!(
            "signature does not match the report: the signed content (report, role, approver, time or key id) was changed after signing (key {} from {})",
            signoff.key_id, trusted.source
        )
    })?;
    // Checked after the signature: a valid signature over a non-GO report means
    // someone approved a NO-GO (the signing tool refuses to; another did not).
    match report.decision.verdict {
        Verdict::Go => Ok(()),
        other => Err(format!(
            "approves a report whose decision is {}, not GO",
            other
        )),
    }
}

/// The approval state of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalState {
    Approved,
    Pending,
    Rejected,
}

impl ApprovalState {
    pub fn label(self) -> &'static str {
        match self {
            ApprovalState::Approved => "APPROVED",
            ApprovalState::Pending => "PENDING",
            ApprovalState::Rejected => "REJECTED",
        }
    }
}

impl std::fmt::Display for ApprovalState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// Whether one sign-off was checked and how it fared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckStatus {
    Valid,
    Invalid(String),
    /// No trusted keys were given to check against.
    Unverified,
}

/// One sign-off as shown to people.
#[derive(Debug, Clone)]
pub struct SignoffCheck {
    pub signoff: Signoff,
    /// Who holds the key, by the trust directory's `trust.toml` (the approver
    /// name in the sign-off is the signer's own word).
    pub person: Option<String>,
    pub status: CheckStatus,
}

/// Who signed, who is missing, and the resulting state.
#[derive(Debug, Clone)]
pub struct ApprovalSummary {
    pub state: ApprovalState,
    pub required_roles: Vec<String>,
    pub checks: Vec<SignoffCheck>,
    /// Required roles without a valid (or, unverified, any) signature.
    pub missing_roles: Vec<String>,
    /// False when no trust store was given: signatures were not checked.
    pub verified: bool,
    /// Why the state is not APPROVED, one sentence each.
    pub reasons: Vec<String>,
}

impl ApprovalSummary {
    /// The sign-off table: each required role with its sign-offs (`None` when
    /// missing), then sign-offs for roles that are not required.
    pub fn rows(&self) -> Vec<(String, Option<&SignoffCheck>)> {
        let mut rows = Vec::new();
        for role in &self.required_roles {
            let mine: Vec<_> = self
                .checks
                .iter()
                .filter(|c| normalize_role(&c.signoff.role) == normalize_role(role))
                .collect();
            if mine.is_empty() {
                rows.push((role.clone(), None));
            }
            rows.extend(mine.into_iter().map(|c| (role.clone(), Some(c))));
        }
        for c in &self.checks {
            let required = self
                .required_roles
                .iter()
                .any(|r| normalize_role(r) == normalize_role(&c.signoff.role));
            if !required {
                rows.push((format!("{} (not required)", c.signoff.role), Some(c)));
            }
        }
        rows
    }

    /// True when some sign-off failed verification.
    pub fn has_invalid(&self) -> bool {
        self.checks
            .iter()
            .any(|c| matches!(c.status, CheckStatus::Invalid(_)))
    }
}

/// Who must sign a GO report before it is APPROVED, and the keys their
/// signatures are checked against: what Flagger's `confirm-promotion`, `gonogo
/// verify` and the documents' sign-off table decide by.
#[derive(Debug, Clone)]
pub struct ApprovalPolicy {
    /// Roles whose signature is required for APPROVED.
    pub required_roles: Vec<String>,
    /// Trusted public keys; without them signatures are shown as not verified (PENDING).
    pub trust: Option<TrustStore>,
}

impl Default for ApprovalPolicy {
    fn default() -> Self {
        ApprovalPolicy {
            required_roles: default_required_roles(),
            trust: None,
        }
    }
}

impl ApprovalPolicy {
    /// The same roles, checked against `trust`.
    pub fn trusting(self, trust: TrustStore) -> ApprovalPolicy {
        ApprovalPolicy {
            trust: Some(trust),
            ..self
        }
    }

    /// The sign-off summary of `report` under this policy.
    pub fn approval(&self, report: &Report) -> ApprovalSummary {
        summarize(report, &self.required_roles, self.trust.as_ref())
    }
}

/// Summarises the sign-offs of `report`: checked against `trust` when given,
/// signatures first, then the trust directory's separation of duties
/// ([`policy`]).
pub fn summarize(
    report: &Report,
    required: &[String],
    trust: Option<&TrustStore>,
) -> ApprovalSummary {
    let mut checks: Vec<SignoffCheck> = report
        .signoffs
        .iter()
        .map(|s| SignoffCheck {
            signoff: s.clone(),
            person: None,
            status: match trust {
                None => CheckStatus::Unverified,
                Some(t) => match verify_signoff(report, s, t) {
                    Ok(()) => CheckStatus::Valid,
                    Err(reason) => CheckStatus::Invalid(reason),
                },
            },
        })
        .collect();
    let genuine_invalid: Vec<usize> = (0..checks.len())
        .filter(|&i| matches!(checks[i].status, CheckStatus::Invalid(_)))
        .collect();
    let policy = trust.and_then(TrustStore::policy);
    let broken = match policy {
        Some(p) => apply_policy(&mut checks, p, required),
        None => Vec::new(),
    };
    let missing_roles: Vec<String> = required
        .iter()
        .filter(|role| {
            !checks.iter().any(|c| {
                normalize_role(&c.signoff.role) == normalize_role(role)
                    && !matches!(c.status, CheckStatus::Invalid(_))
            })
        })
        .cloned()
        .collect();
    let mut reasons = Vec::new();
    let unbound = trust.is_some() && policy.is_none();
    let state = if report.decision.verdict != Verdict::Go {
        reasons.push(format!(
            "the decision is {}: a report that is not GO cannot be approved",
            report.decision.verdict
        ));
        ApprovalState::Rejected
    } else {
        if !missing_roles.is_empty() {
            reasons.push(format!("missing sign-off: {}", missing_roles.join(", ")));
        }
        if trust.is_none() {
            reasons.push("signatures not verified here: run `gonogo verify --trust DIR`".into());
        }
        if unbound {
            reasons.push(NO_POLICY.into());
        }
        if missing_roles.is_empty() && trust.is_some() && !unbound {
            ApprovalState::Approved
        } else {
            ApprovalState::Pending
        }
    };
    for &i in &genuine_invalid {
        let c = &checks[i];
        if let CheckStatus::Invalid(reason) = &c.status {
            reasons.push(format!(
                "invalid sign-off by {} as {}: {reason}",
                c.signoff.approver, c.signoff.role
            ));
        }
    }
    reasons.extend(broken);
    ApprovalSummary {
        state,
        required_roles: required.to_vec(),
        checks,
        missing_roles,
        verified: trust.is_some(),
        reasons,
    }
}

/// Why a trust directory without `trust.toml` approves nothing.
pub const NO_POLICY: &str = "the trust directory has no trust.toml: add one naming each key's person and the roles they may sign (see \"Trust directory\" in reports/README.md)";

/// Marks the genuine sign-offs that break a rule of `policy` invalid and
/// returns one sentence per rule broken, in the order of [`Rule`].
fn apply_policy(
    checks: &mut [SignoffCheck],
    policy: &TrustPolicy,
    required: &[String],
) -> Vec<String> {
    let mut revoked = Vec::new();
    let mut no_person = Vec::new();
    // Person → (roles signed but not held, roles held), in the order first seen.
    let mut not_held: Vec<(String, Vec<String>, String)> = Vec::new();
    for c in checks.iter_mut() {
        let id = c.signoff.key_id.clone();
        let person = policy.person(&id);
        c.person = person.map(|p| p.name.clone());
        if c.status != CheckStatus::Valid {
            continue;
        }
        let why = if let Some(reason) = policy.revoked(&id) {
            revoked.push(who(c));
            match reason {
                "" => format!("key {id} is revoked in trust.toml"),
                reason => format!("key {id} is revoked ({reason})"),
            }
        } else if let Some(person) = person {
            if person.holds(&c.signoff.role) {
                continue;
            }
            let held = and_list(&person.roles);
            match not_held.iter_mut().find(|(p, _, _)| *p == person.name) {
                Some((_, roles, _)) => roles.push(c.signoff.role.clone()),
                None => not_held.push((
                    person.name.clone(),
                    vec![c.signoff.role.clone()],
                    held.clone(),
                )),
            }
            format!("{} (key {id}) may sign {held} only", person.name)
        } else {
            no_person.push(who(c));
            format!("trust.toml binds key {id} to no person")
        };
        c.status = CheckStatus::Invalid(why);
    }
    let mut sentences = Vec::new();
    if !revoked.is_empty() {
        sentences.push(format!(
            "a revoked key does not count: {} (revoked in trust.toml)",
            revoked.join("; ")
        ));
    }
    if !no_person.is_empty() {
        sentences.push(format!(
            "a key trust.toml binds to no person does not count: {}",
            no_person.join("; ")
        ));
    }
    if !not_held.is_empty() {
        let what: Vec<String> = not_held
            .iter()
            .map(|(person, roles, held)| {
                format!("{person} signed {} but holds {held}", and_list(roles))
            })
            .collect();
        sentences.push(format!(
            "a key counts only for the roles trust.toml gives its person: {}",
            what.join("; ")
        ));
    }
    sentences.extend(one_role_each(checks, required));
    sentences
}

/// One person, one role: of each person's valid sign-offs for required roles
/// the first (by time, then by order in the report) counts, and a sign-off for
/// another role is marked invalid. One sentence naming every such person.
fn one_role_each(checks: &mut [SignoffCheck], required: &[String]) -> Option<String> {
    let mut order: Vec<usize> = (0..checks.len()).collect();
    order.sort_by_key(|&i| checks[i].signoff.signed_at);
    // Person → (the role that counts, every role signed), in the order first seen.
    let mut people: Vec<(String, String, Vec<String>)> = Vec::new();
    for i in order {
        let c = &mut checks[i];
        let counts =
            c.status == CheckStatus::Valid && resolve_role(&c.signoff.role, required).is_some();
        let Some(person) = c.person.clone().filter(|_| counts) else {
            continue;
        };
        let role = c.signoff.role.clone();
        match people.iter_mut().find(|(p, _, _)| *p == person) {
            None => people.push((person, role.clone(), vec![role])),
            Some((_, kept, _)) if normalize_role(kept) == normalize_role(&role) => {}
            Some((_, kept, signed)) => {
                c.status = CheckStatus::Invalid(format!(
                    "{person} already signed {kept} for this release: one person satisfies one role only"
                ));
                if !signed
                    .iter()
                    .any(|r| normalize_role(r) == normalize_role(&role))
                {
                    signed.push(role);
                }
            }
        }
    }
    let what: Vec<String> = people
        .iter()
        .filter(|(_, _, signed)| signed.len() > 1)
        .map(|(person, kept, signed)| {
            format!(
                "{person} signed {}, and only {kept} (signed first) counts",
                and_list(signed)
            )
        })
        .collect();
    (!what.is_empty()).then(|| format!("one person satisfies one role only: {}", what.join("; ")))
}

/// `alice as Security (key 0123456789abcdef)`.
fn who(c: &SignoffCheck) -> String {
    format!(
        "{} as {} (key {})",
        c.signoff.approver, c.signoff.role, c.signoff.key_id
    )
}
