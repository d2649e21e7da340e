//! The questions people ask of the ledger: what was decided (history), and
//! may commit C go to environment E (`can-i-deploy`).

use chrono::{DateTime, Utc};
use gonogo_reports::signoff::normalize_role;
use serde::Serialize;

use crate::entry::{Entry, EntryKind};

/// `gonogo history`'s filter.
#[derive(Debug, Clone, Default)]
pub struct HistoryFilter {
    /// Only entries for this environment (sign-offs and attestations count as their run's).
    pub environment: Option<String>,
    /// Only entries recorded at or after this time.
    pub since: Option<DateTime<Utc>>,
}

/// The entries `filter` keeps, oldest first. A sign-off or attestation is kept
/// when its own environment, or its run's, is the one asked for.
pub fn history<'a>(entries: &'a [Entry], filter: &HistoryFilter) -> Vec<&'a Entry> {
    entries
        .iter()
        .filter(|e| match &filter.environment {
            None => true,
            Some(env) => environment_of(entries, e) == Some(env.as_str()),
        })
        .filter(|e| match filter.since {
            None => true,
            Some(since) => e.recorded_at().is_some_and(|t| t >= since),
        })
        .collect()
}

/// The entry's environment, or its run's when it has none of its own.
fn environment_of<'a>(entries: &'a [Entry], e: &'a Entry) -> Option<&'a str> {
    e.fields.environment.as_deref().or_else(|| {
        let run = e.fields.run_id.as_deref()?;
        entries
            .iter()
            .find(|r| r.fields.kind == EntryKind::Run && r.fields.run_id.as_deref() == Some(run))?
            .fields
            .environment
            .as_deref()
    })
}

/// What an environment requires before a commit may go there.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EnvironmentPolicy {
    /// Roles that must have signed the run's GO report.
    pub required_roles: Vec<String>,
    /// Whether a PASSED attestation of the run is required.
    pub require_attestation: bool,
}

/// The answer to "may `commit` go to `environment`?".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum Answer {
    /// Yes: the latest run is GO, approved, and attested when required.
    Yes { run_id: Option<String>, seq: i64 },
    /// No run of the commit was recorded for the environment.
    NoDecision,
    /// The latest run's verdict is not GO.
    NotGo {
        run_id: Option<String>,
        seq: i64,
        verdict: String,
    },
    /// Roles the environment requires have not signed the latest run.
    MissingRoles {
        run_id: Option<String>,
        seq: i64,
        roles: Vec<String>,
    },
    /// The environment requires an attestation and the latest run has no PASSED one.
    NotAttested { run_id: Option<String>, seq: i64 },
}

/// Why `can-i-deploy` said no, without the details: what its exit code tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NoDecision,
    NotGo,
    MissingRoles,
    NotAttested,
}

impl Answer {
    /// Why it is no (`None`: yes).
    pub fn refusal(&self) -> Option<Refusal> {
        match self {
            Answer::Yes { .. } => None,
            Answer::NoDecision => Some(Refusal::NoDecision),
            Answer::NotGo { .. } => Some(Refusal::NotGo),
            Answer::MissingRoles { .. } => Some(Refusal::MissingRoles),
            Answer::NotAttested { .. } => Some(Refusal::NotAttested),
        }
    }

    /// One sentence, for people.
    pub fn sentence(&self, commit: &str, environment: &str) -> String {
        let run = |id: &Option<String>, seq: &i64| match id {
            Some(id) => format!("run {id} (ledger entry {seq})"),
            None => format!("the run of ledger entry {seq}"),
        };
        match self {
            Answer::Yes { run_id, seq } => format!(
                "yes: {commit} may go to {environment}: {} is GO and approved",
                run(run_id, seq)
            ),
            Answer::NoDecision => format!(
                "no: the ledger holds no decision for {commit} in {environment}: run gonogo against it first"
            ),
            Answer::NotGo { run_id, seq, verdict } => format!(
                "no: the latest decision for {commit} in {environment}, {}, is {verdict}, not GO",
                run(run_id, seq)
            ),
            Answer::MissingRoles { run_id, seq, roles } => format!(
                "no: {} for {commit} in {environment} is GO but not approved: missing sign-off from {}",
                run(run_id, seq),
                roles.join(", ")
            ),
            Answer::NotAttested { run_id, seq } => format!(
                "no: {} for {commit} in {environment} is GO and approved but not attested, and {environment} requires an attestation",
                run(run_id, seq)
            ),
        }
    }

    /// Whether the answer is yes.
    pub fn is_yes(&self) -> bool {
        matches!(self, Answer::Yes { .. })
    }
}

/// May `commit` go to `environment`? Only when its latest run recorded for
/// that environment is GO, every required role signed that run, and (when
/// the policy says so) a PASSED attestation of it was recorded.
pub fn can_i_deploy(
    entries: &[Entry],
    commit: &str,
    environment: &str,
    policy: &EnvironmentPolicy,
) -> Answer {
    let Some(run) = entries.iter().rev().find(|e| {
        e.fields.kind == EntryKind::Run
            && e.fields.commit.as_deref() == Some(commit)
            && e.fields.environment.as_deref() == Some(environment)
    }) else {
        return Answer::NoDecision;
    };
    let (run_id, seq) = (run.fields.run_id.clone(), run.seq);
    let verdict = run.fields.outcome.clone().unwrap_or_default();
    if verdict != "GO" {
        return Answer::NotGo {
            run_id,
            seq,
            verdict: if verdict.is_empty() {
                "unrecorded".to_owned()
            } else {
                verdict
            },
        };
    }
    let id = run_id.as_deref();
    let of_run = |kind: EntryKind| {
        entries.iter().filter(move |e| {
            e.fields.kind == kind && e.seq > seq && id.is_some() && e.fields.run_id.as_deref() == id
        })
    };
    let signed: Vec<String> = of_run(EntryKind::Signoff)
        .filter_map(|e| e.fields.role.as_deref().map(normalize_role))
        .collect();
    let missing: Vec<String> = policy
        .required_roles
        .iter()
        .filter(|r| !signed.contains(&normalize_role(r)))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Answer::MissingRoles {
            run_id: run_id.clone(),
            seq,
            roles: missing,
        };
    }
    if policy.require_attestation
        && !of_run(EntryKind::Attestation).any(|e| e.fields.outcome.as_deref() == Some("PASSED"))
    {
        return Answer::NotAttested {
            run_id: run_id.clone(),
            seq,
        };
    }
    Answer::Yes {
        run_id: run_id.clone(),
        seq,
    }
}
