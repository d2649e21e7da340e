//! Assembles the [`gonogo_reports::Report`] from a run's case results:
//! sections, evidence (redacted, trimmed), metrics, criteria and decision.

use chrono::{DateTime, Utc};
use gonogo_reports as model;
use gonogo_suites::Judged;
use gonogo_suites::{CaseReport, Outcome, Section};

use crate::redact;

/// Evidence kept per case: every mismatch first, then the first exchanges.
const MAX_EVIDENCE: usize = 8;

/// Facts about the run the results do not carry.
#[derive(Debug, Clone)]
pub struct RunFacts {
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub hermetic: bool,
    /// The RLS gate had database access (hermetic, or a remote run with a database URL).
    pub database: bool,
    /// Remote without database access: API-only isolation accepted, for this reason.
    pub api_only_waiver: Option<String>,
    pub base_url: String,
    pub label: Option<String>,
    /// The build judged: this checkout's commit for a hermetic run; for a
    /// remote one `--target-commit`, else what the target says it is.
    pub build: Option<String>,
    /// Masked wherever it appears in evidence.
    pub secret: Option<String>,
    /// What the criteria are judged by (the contract's unless configured stricter).
    pub thresholds: crate::decision::Thresholds,
}

/// `GIT_COMMIT`, else `git rev-parse HEAD`, else unknown.
pub fn git_commit() -> Option<String> {
    if let Ok(c) = std::env::var("GIT_COMMIT") {
        return Some(c).filter(|c| !c.trim().is_empty());
    }
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
}

fn outcome(o: Outcome) -> model::Outcome {
    match o {
        Outcome::Passed => model::Outcome::Passed,
        Outcome::Failed => model::Outcome::Failed,
        Outcome::Skipped => model::Outcome::Skipped,
        Outcome::Warned => model::Outcome::Warned,
    }
}

/// The clauses a case guards, in the contract's own words.
pub fn clause_refs(ids: &[&str]) -> Vec<model::ClauseRef> {
    use gonogo_suites::contract::{clause, Level};
    ids.iter()
        .filter_map(|id| clause(id))
        .map(|c| model::ClauseRef {
            id: c.id.into(),
            level: match c.level {
                Level::Must => model::ClauseLevel::Must,
                Level::Should => model::ClauseLevel::Should,
                Level::Expected => model::ClauseLevel::Expected,
            },
            section: c.section.into(),
            words: c.words().into(),
        })
        .collect()
}

/// One exchange as report evidence: redacted, body trimmed.
pub(crate) fn evidence(j: &Judged, secret: Option<&str>) -> model::Evidence {
    let ex = &j.exchange;
    let (response, error) = match &ex.response {
        Ok(r) => (
            Some(model::ResponseEvidence {
                status: r.status,
                headers: redact::headers(&r.headers, secret),
                body: redact::trim_body(&r.text(), secret),
            }),
            None,
        ),
        Err(e) => (None, Some(redact::redact(e, secret))),
    };
    model::Evidence {
        request: model::RequestEvidence {
            method: ex.request.method.to_string(),
            path: redact::redact(&ex.request.path, secret),
            headers: redact::headers(&ex.request.headers, secret),
        },
        response,
        error,
        latency_ms: (ex.latency.as_secs_f64() * 1e6).round() / 1e3,
        expected: j.expected.clone(),
        matched: j.matched,
    }
}

/// Converts one case, keeping the evidence its verdict rests on.
pub fn case(r: &CaseReport, secret: Option<&str>) -> model::CaseResult {
    let mut chosen: Vec<&Judged> = r
        .evidence
        .iter()
        .filter(|j| !j.matched)
        .take(MAX_EVIDENCE)
        .collect();
    for j in r.evidence.iter().filter(|j| j.matched) {
        if chosen.len() >= MAX_EVIDENCE {
            break;
        }
        chosen.push(j);
    }
    model::CaseResult {
        id: r.id.clone(),
        title: r.title.clone(),
        outcome: outcome(r.outcome),
        duration_ms: r.duration.as_millis() as u64,
        message: r.message.as_deref().map(|m| redact::redact(m, secret)),
        evidence: chosen.into_iter().map(|j| evidence(j, secret)).collect(),
        clauses: clause_refs(r.clauses),
    }
}

/// The whole report.
pub fn build(results: &[(Section, CaseReport)], facts: &RunFacts) -> model::Report {
    let secret = facts.secret.as_deref();
    let mut suites: Vec<model::Suite> = Vec::new();
    let mut gates: Vec<model::Gate> = Vec::new();
    for (section, r) in results {
        let c = case(r, secret);
        match *section {
            Section::Suite { id, name } => match suites.iter_mut().find(|s| s.id == id) {
                Some(s) => s.cases.push(c),
                None => suites.push(model::Suite {
                    id: id.into(),
                    name: name.into(),
                    cases: vec![c],
                }),
            },
            Section::Gate { id, name } => match gates.iter_mut().find(|g| g.id == id) {
                Some(g) => g.checks.push(c),
                None => gates.push(model::Gate {
                    id: id.into(),
                    name: name.into(),
                    outcome: model::Outcome::Passed,
                    checks: vec![c],
                }),
            },
        }
    }
    for g in &mut gates {
        let has = |o| g.checks.iter().any(|c| c.outcome == o);
        g.outcome = if has(model::Outcome::Failed) {
            model::Outcome::Failed
        } else if has(model::Outcome::Skipped) {
            model::Outcome::Skipped
        } else if has(model::Outcome::Warned) {
            model::Outcome::Warned
        } else {
            model::Outcome::Passed
        };
    }
    let waiver = facts.api_only_waiver.as_deref().filter(|_| !facts.database);
    let isolation = crate::metrics::isolation(results, facts.database, waiver);
    let metrics = crate::metrics::compute(results, &isolation);
    let criteria = crate::decision::criteria(results, &metrics, &isolation, &facts.thresholds);
    let mut decision = crate::decision::decide(&criteria, results, &metrics);
    decision.reasons = decision
        .reasons
        .iter()
        .map(|r| redact::redact(r, secret))
        .collect();
    for w in &mut decision.warnings {
        *w = redact::redact(w, secret);
    }
    if let Some(reason) = isolation_note(facts, waiver) {
        decision.reasons.push(reason);
    }
    let waivers = waiver
        .map(|reason| model::Waiver {
            criterion: "rls_isolation_verified".into(),
            reason: redact::redact(reason, secret),
        })
        .into_iter()
        .collect();
    model::Report {
        schema_version: model::SCHEMA_VERSION.into(),
        tool: model::Tool {
            name: "gonogo".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        run: model::RunInfo {
            id: uuid::Uuid::new_v4().to_string(),
            started_at: facts.started_at,
            finished_at: facts.finished_at,
            duration_ms: (facts.finished_at - facts.started_at)
                .num_milliseconds()
                .max(0) as u64,
            mode: if facts.hermetic {
                model::Mode::Hermetic
            } else {
                model::Mode::Remote
            },
            target: model::Target {
                base_url: facts.base_url.clone(),
                git_commit: facts.build.clone(),
                label: facts.label.clone(),
            },
            contract_version: Some(gonogo_suites::contract::text::VERSION.into()),
        },
        decision,
        criteria,
        metrics,
        suites,
        gates,
        canary: None,
        waivers,
        signoffs: Vec::new(),
        comparison: None,
    }
}

/// How a remote run's isolation was judged, and how to prove it at the database.
fn isolation_note(facts: &RunFacts, waiver: Option<&str>) -> Option<String> {
    match (facts.hermetic, facts.database, waiver) {
        (true, _, _) => None,
        (false, true, _) => Some("Remote target: tenant isolation was checked at the database as the application role of --database-url (isolation_scope = database).".into()),
        (false, false, Some(_)) => Some("Remote target: tenant isolation was accepted on the API cases alone by the waiver --accept-api-only-isolation (isolation_scope = api_only); see waivers.".into()),
        (false, false, None) => Some("Remote target without a database URL: tenant isolation cannot be proven at the database, so rls_isolation_verified is inconclusive. Pass --database-url (or SMOKE_DATABASE_URL) with a PostgreSQL URL of the target's application role, or accept API-only isolation with --accept-api-only-isolation REASON (or SMOKE_ACCEPT_API_ONLY_ISOLATION).".into()),
    }
}

#[cfg(test)]
mod tests;
