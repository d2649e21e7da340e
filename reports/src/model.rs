//! The go/no-go report: one versioned model that every rendering (JSON,
//! Markdown, JUnit, HTML) and every signature is made from.
//!
//! Field order is the serialised key order, so it is part of the format:
//! append new fields, never reorder. Maps are `BTreeMap` for a stable order.
//! Bump [`SCHEMA_VERSION`] on any change a consumer could notice.

pub mod comparison;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Version of the report format (semver: minor = additive, major = breaking).
pub const SCHEMA_VERSION: &str = "1.5.0";

/// A criterion accepted on weaker evidence, and the reason the operator gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Waiver {
    /// The criterion's `name`, e.g. `rls_isolation_verified`.
    pub criterion: String,
    /// Why it was accepted (mandatory, non-empty).
    pub reason: String,
}

/// One run of the release gate against one target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Report {
    /// Always [`SCHEMA_VERSION`] when written by this build.
    pub schema_version: String,
    /// Which tool wrote this report.
    pub tool: Tool,
    /// When, where and against what the run happened.
    pub run: RunInfo,
    /// GO / NO-GO / INCONCLUSIVE and why.
    pub decision: Decision,
    /// The contract's go/no-go criteria with observed values.
    pub criteria: Vec<Criterion>,
    /// Aggregates over every request the run made.
    pub metrics: Metrics,
    /// Smoke suites A–D with their cases.
    pub suites: Vec<Suite>,
    /// Release gates (R1 regression, security, UX/telemetry, RLS).
    pub gates: Vec<Gate>,
    /// Canary observation, when `gonogo canary` wrote one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<CanaryReport>,
    /// Criteria accepted on weaker evidence by an explicit, reasoned waiver
    /// (e.g. API-only tenant isolation on a remote run). Signed with the report.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waivers: Vec<Waiver>,
    /// Approvals; excluded from the signed content (see the `signoff` module).
    #[serde(default)]
    pub signoffs: Vec<Signoff>,
    /// This run next to an earlier report (`--compare-to`), with the team's
    /// relative criteria judged on it; absent without a comparison (added in
    /// schema 1.5.0). Signed with the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<comparison::Comparison>,
}

impl Report {
    /// Every case: the suites' cases, then the gates' checks.
    pub fn cases(&self) -> impl Iterator<Item = &CaseResult> {
        let suites = self.suites.iter().flat_map(|s| &s.cases);
        suites.chain(self.gates.iter().flat_map(|g| &g.checks))
    }

    /// [`Report::cases`], to change them.
    pub fn cases_mut(&mut self) -> impl Iterator<Item = &mut CaseResult> {
        let suites = self.suites.iter_mut().flat_map(|s| &mut s.cases);
        suites.chain(self.gates.iter_mut().flat_map(|g| &mut g.checks))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Tool {
    /// `gonogo`.
    pub name: String,
    /// The tool's crate version.
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunInfo {
    /// Unique id of this run.
    pub id: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub duration_ms: u64,
    /// `hermetic` (containers + in-process server) or `remote` (a deployed URL).
    pub mode: Mode,
    pub target: Target,
    /// The version of the contract the run was judged by (`gonogo contract`);
    /// `null` in reports before schema 1.5.0.
    #[serde(default)]
    pub contract_version: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Hermetic,
    Remote,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Target {
    /// Base URL the suites spoke to (no credentials).
    pub base_url: String,
    /// The build of the code under test, when known. Hermetic: this checkout's
    /// commit (`GIT_COMMIT` or `git rev-parse`), the reference server being it.
    /// Remote: `--target-commit`, else what the target says, with where it was
    /// read (`9f2c1e7 (/health commit)`, `2.3.0 (x-app-version header)`).
    pub git_commit: Option<String>,
    /// Free-form label of the deployment (environment, release name).
    pub label: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
// `NO-GO` as the contract words it; `NO_GO` (before schema 1.1.0) is still read.
pub enum Verdict {
    Go,
    #[serde(rename = "NO-GO", alias = "NO_GO")]
    NoGo,
    Inconclusive,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Decision {
    pub verdict: Verdict,
    /// One sentence per reason, failed criteria and cases named first.
    pub reasons: Vec<String>,
    /// One sentence per warned check: a failed *should* of the contract, or a
    /// careful user's expectation the contract does not state. Never a NO-GO,
    /// always shown (added in schema 1.4.0).
    #[serde(default)]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CriterionStatus {
    Pass,
    Fail,
    /// No samples: never a pass.
    Inconclusive,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Criterion {
    /// Stable key, e.g. `query_latency_p95_ms`.
    pub name: String,
    pub description: String,
    /// Human form of the threshold, e.g. `<= 400`.
    pub threshold: String,
    /// Observed value; `null` when there were no samples.
    pub observed: Option<serde_json::Value>,
    /// How many observations the value stands on.
    pub samples: u64,
    pub status: CriterionStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Metrics {
    /// p95 of the latency phase's searches (`latency_phase`), in milliseconds;
    /// `null` without samples. (Before schema 1.2.0: of every search the run made.)
    pub query_latency_p95_ms: Option<f64>,
    /// Share of responses that matched their case's expectation (0..1).
    pub success_rate: Option<f64>,
    pub requests_total: u64,
    pub requests_matching: u64,
    /// Security findings (leaks, isolation breaks, accepted bad tokens).
    pub security_violations: u64,
    /// True only when isolation was proven (at the database in hermetic mode).
    pub rls_isolation_verified: bool,
    /// `database` or `api_only`: how isolation was checked.
    pub isolation_scope: String,
    /// Latency of search requests.
    pub search_latency: LatencyStats,
    /// Latency of every request.
    pub all_latency: LatencyStats,
    /// The latency phase's searches, from exact order statistics: the sample
    /// `query_latency_p95_ms` is judged on, with the 95 % interval of its p95
    /// (added in schema 1.2.0).
    #[serde(default)]
    pub latency_phase: LatencyStats,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LatencyStats {
    pub count: u64,
    pub min_ms: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p90_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
    /// Percentile curve (percentile, ms) for charts, ascending.
    pub curve: Vec<PercentilePoint>,
    /// Distribution-free confidence interval of the p95, from order
    /// statistics; `null` when the sample is too small or not kept exactly.
    #[serde(default)]
    pub p95_ci: Option<QuantileInterval>,
    /// Every sample, in milliseconds, in the order measured: kept for the
    /// latency phase alone, so a later run can test whether its latency
    /// really differs (`comparison`); empty elsewhere and before schema 1.5.0.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub samples_ms: Vec<f64>,
}

/// `[low_ms, high_ms]` holds the true quantile with at least `confidence`,
/// whatever the latency distribution: they are the samples of ranks
/// `low_rank` and `high_rank` (1-based, ascending), chosen from the binomial
/// distribution of how many samples fall below the quantile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct QuantileInterval {
    pub confidence: f64,
    pub low_ms: f64,
    pub high_ms: f64,
    pub low_rank: u64,
    pub high_rank: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PercentilePoint {
    pub percentile: f64,
    pub ms: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Passed,
    Failed,
    /// Not run: the target does not support it, or a prerequisite failed.
    Skipped,
    /// Failed only where the contract says *should* (or does not speak): a
    /// warning, shown in every rendering, never a NO-GO (added in schema 1.4.0).
    Warned,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Suite {
    /// `A`..`D`.
    pub id: String,
    pub name: String,
    pub cases: Vec<CaseResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Gate {
    /// `gate_1_r1_regression`, `gate_2_security`, `gate_3_ux_telemetry`, `rls_database`.
    pub id: String,
    pub name: String,
    pub outcome: Outcome,
    pub checks: Vec<CaseResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CaseResult {
    /// Test name, e.g. `suite_a::no_jwt_returns_401`.
    pub id: String,
    /// One sentence: what the case checks.
    pub title: String,
    pub outcome: Outcome,
    pub duration_ms: u64,
    /// Why it failed or was skipped.
    pub message: Option<String>,
    /// The exchanges the verdict rests on (redacted, trimmed).
    pub evidence: Vec<Evidence>,
    /// The contract clauses this check guards, in the contract's own words, so a
    /// reader can judge whether the server or the gate is wrong (added in schema 1.4.0).
    #[serde(default)]
    pub clauses: Vec<ClauseRef>,
}

/// One clause of the contract a check guards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ClauseRef {
    /// Stable clause id, e.g. `auth.expired`.
    pub id: String,
    /// `must` (a failure is NO-GO), `should` or `expected` (a failure is a warning).
    pub level: ClauseLevel,
    /// The contract section, e.g. `Authentication`.
    pub section: String,
    /// The contract's own words.
    pub words: String,
}

/// How much a clause binds a server (CONTRACT.md, "Two readers, two duties").
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ClauseLevel {
    /// Stated by the contract: a failed check is NO-GO.
    Must,
    /// The contract says "should": a failed check is a warning.
    Should,
    /// A careful user's expectation the contract does not state: a warning.
    Expected,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Evidence {
    pub request: RequestEvidence,
    /// `null` when no response came (connection error: see `error`).
    pub response: Option<ResponseEvidence>,
    pub error: Option<String>,
    pub latency_ms: f64,
    /// What the case expected, e.g. `401 + WWW-Authenticate`.
    pub expected: String,
    pub matched: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RequestEvidence {
    pub method: String,
    /// Path and query, relative to the target.
    pub path: String,
    /// Relevant headers; `Authorization` is always redacted.
    pub headers: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ResponseEvidence {
    pub status: u16,
    /// Relevant headers (request id, rate limit, auth challenge, content type).
    pub headers: BTreeMap<String, String>,
    /// Body, trimmed to a few hundred characters, secrets redacted.
    pub body: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CanaryOutcome {
    Promote,
    Rollback,
    Inconclusive,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CanaryReport {
    /// Name or path of the plan used.
    pub plan: String,
    /// Wall-clock compression used (1.0 = real time).
    pub time_scale: f64,
    pub phases: Vec<CanaryPhase>,
    pub outcome: CanaryOutcome,
    pub reason: String,
    /// The first probes that failed or leaked (redacted, trimmed), for a
    /// ROLLBACK or INCONCLUSIVE canary; empty on PROMOTE (added in schema 1.2.0).
    #[serde(default)]
    pub failures: Vec<Evidence>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CanaryPhase {
    pub name: String,
    pub traffic_percent: u8,
    /// Planned duration in seconds (before time scaling).
    pub planned_duration_s: u64,
    pub observed_duration_ms: u64,
    pub samples: u64,
    pub errors: u64,
    pub security_violations: u64,
    pub success_rate: Option<f64>,
    pub p95_ms: Option<f64>,
    /// `pass`, `rollback` or `inconclusive`, with the trigger that fired.
    pub verdict: String,
    pub reason: Option<String>,
    /// The plan's rollback triggers for this phase, in words (appended by the
    /// canary judge; absent in older reports).
    #[serde(default)]
    pub triggers: Vec<String>,
    /// The plan's metrics criteria, read from Prometheus at the end of the
    /// phase, baseline next to canary (absent without a metrics source; added in schema 1.3.0).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<MetricCheck>,
}

/// One metrics criterion of a canary phase, judged on what Prometheus answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MetricCheck {
    /// The criterion, e.g. `p95_ms`.
    pub name: String,
    /// The evaluation time sent to Prometheus.
    pub time: DateTime<Utc>,
    pub canary: MetricReading,
    /// Absent when the criterion is absolute only.
    pub baseline: Option<MetricReading>,
    /// The bounds in words, e.g. `<= 800; <= 1.2 x baseline`.
    pub bound: String,
    /// `pass`, `rollback` or `inconclusive`.
    pub verdict: String,
    pub reason: Option<String>,
}

/// One PromQL query and its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MetricReading {
    /// The query as sent (selectors and window substituted).
    pub query: String,
    /// `None`: no data (no series, NaN, or Prometheus did not answer).
    pub value: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Signoff {
    /// e.g. `Security`.
    pub role: String,
    pub approver: String,
    pub signed_at: DateTime<Utc>,
    /// Fingerprint of the public key (hex of the first 8 bytes of its SHA-256).
    pub key_id: String,
    /// `ed25519`.
    pub algorithm: String,
    /// Base64 signature over the canonical (RFC 8785) report without `signoffs`,
    /// bound to role, approver, time and key id (see `signoff`).
    pub signature: String,
}
