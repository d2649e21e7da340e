//! A deterministic sample report for tests and examples (fixed times, ids and
//! latencies), with a builder to turn it into the variant a test needs.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};

use crate::model::*;

/// Builds sample reports: `ReportBuilder::go().failing("suite_b::…", "why").build()`.
#[derive(Debug, Clone)]
pub struct ReportBuilder {
    report: Report,
}

fn at(secs: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 29, 10, 0, 0).unwrap() + chrono::Duration::seconds(secs.into())
}

fn headers(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn evidence(method: &str, path: &str, status: u16, body: &str, expected: &str) -> Evidence {
    Evidence {
        request: RequestEvidence {
            method: method.into(),
            path: path.into(),
            headers: headers(&[("authorization", "Bearer [REDACTED]")]),
        },
        response: Some(ResponseEvidence {
            status,
            headers: headers(&[("x-request-id", "req-0001")]),
            body: body.into(),
        }),
        error: None,
        latency_ms: 4.2,
        expected: expected.into(),
        matched: true,
    }
}

fn case(id: &str, title: &str, duration_ms: u64) -> CaseResult {
    CaseResult {
        id: id.into(),
        title: title.into(),
        outcome: Outcome::Passed,
        duration_ms,
        message: None,
        evidence: Vec::new(),
        clauses: Vec::new(),
    }
}

fn curve(scale: f64) -> LatencyStats {
    let points = [
        (0.0, 1.0),
        (50.0, 3.0),
        (90.0, 7.0),
        (95.0, 11.0),
        (99.0, 24.0),
        (100.0, 40.0),
    ];
    LatencyStats {
        count: 420,
        min_ms: Some(scale),
        p50_ms: Some(3.0 * scale),
        p90_ms: Some(7.0 * scale),
        p95_ms: Some(11.0 * scale),
        p99_ms: Some(24.0 * scale),
        max_ms: Some(40.0 * scale),
        curve: points
            .iter()
            .map(|&(percentile, ms)| PercentilePoint {
                percentile,
                ms: ms * scale,
            })
            .collect(),
        p95_ci: None,
        samples_ms: Vec::new(),
    }
}

fn suites() -> Vec<Suite> {
    let mut a1 = case(
        "suite_a::no_jwt_returns_401",
        "No JWT gives 401 with a bare Bearer challenge",
        6,
    );
    a1.evidence.push(evidence(
        "GET",
        "/api/v1/knowledge/files",
        401,
        r#"{"code":"missing_token","suggestion":"Send Authorization: Bearer <JWT>."}"#,
        "401 + WWW-Authenticate: Bearer realm=\"knowledge\"",
    ));
    vec![
        Suite {
            id: "A".into(),
            name: "Auth and headers".into(),
            cases: vec![
                a1,
                case(
                    "suite_a::invalid_jwt_returns_401",
                    "Invalid JWT gives 401 with error=\"invalid_token\"",
                    5,
                ),
                case("suite_a::valid_jwt_returns_200", "Valid JWT gives 200", 8),
                case(
                    "suite_a::x_request_id_present",
                    "X-Request-ID is present",
                    4,
                ),
                case(
                    "suite_a::rate_limit_headers_well_formed",
                    "X-RateLimit-* present and well-formed",
                    5,
                ),
            ],
        },
        Suite {
            id: "B".into(),
            name: "Cross-tenant isolation".into(),
            cases: vec![
                case(
                    "suite_b::user_a_uploads_a_file",
                    "User A uploads a file",
                    21,
                ),
                case(
                    "suite_b::user_b_list_excludes_user_a_file",
                    "User B's list does not contain A's file",
                    9,
                ),
                case(
                    "suite_b::user_b_uploads_a_file",
                    "User B uploads a file",
                    19,
                ),
                case(
                    "suite_b::user_b_search_sees_only_own_file",
                    "User B's search sees only B's file",
                    14,
                ),
            ],
        },
        Suite {
            id: "C".into(),
            name: "Per-user rate limit".into(),
            cases: vec![
                case(
                    "suite_c::requests_1_to_100_succeed_101_is_429",
                    "User A's requests 1-100 succeed, 101 gives 429",
                    1480,
                ),
                case(
                    "suite_c::user_b_unaffected_by_user_a_limit",
                    "User B's next request succeeds",
                    7,
                ),
            ],
        },
        Suite {
            id: "D".into(),
            name: "Errors".into(),
            cases: vec![
                case(
                    "suite_d::invalid_mime_type_returns_400_with_suggestion",
                    "Invalid MIME type gives 400 with a suggestion",
                    11,
                ),
                case(
                    "suite_d::rate_limit_exhaustion_returns_429_with_retry_after",
                    "Exhaustion gives 429 with Retry-After and a suggestion",
                    1502,
                ),
            ],
        },
    ]
}

fn gates() -> Vec<Gate> {
    let gate = |id: &str, name: &str, checks: Vec<CaseResult>| Gate {
        id: id.into(),
        name: name.into(),
        outcome: Outcome::Passed,
        checks,
    };
    vec![
        gate(
            "gate_1_r1_regression",
            "Gate 1: no regression to R1",
            vec![
                case(
                    "gate_1::no_breaking_openapi_changes",
                    "OpenAPI has no breaking change against the R1 baseline",
                    3,
                ),
                case(
                    "gate_1::knowledge_paths_present",
                    "The five knowledge paths are present",
                    1,
                ),
            ],
        ),
        gate(
            "gate_2_security",
            "Gate 2: security acceptance",
            vec![
                case("gate_2::alg_none_rejected", "alg: none is rejected", 3),
                case(
                    "gate_2::cross_tenant_delete_is_404",
                    "Cross-tenant DELETE by id gives 404 and the file survives",
                    12,
                ),
                case(
                    "gate_2::error_bodies_leak_nothing",
                    "No error body carries a stack trace, path, SQL or driver text",
                    1,
                ),
            ],
        ),
        gate(
            "gate_3_ux_telemetry",
            "Gate 3: UX and telemetry",
            vec![
                case(
                    "gate_3::request_id_on_every_response",
                    "X-Request-ID on every response, echoed when sent",
                    1,
                ),
                case(
                    "gate_3::rate_limit_arithmetic_consistent",
                    "Remaining falls by one, Reset and Retry-After consistent",
                    1,
                ),
            ],
        ),
        gate(
            "rls_database",
            "RLS at the database",
            vec![case(
                "rls::force_rls_and_non_owner_role",
                "ENABLE and FORCE RLS; the app role is not superuser, owner or BYPASSRLS",
                35,
            )],
        ),
    ]
}

fn criterion(
    name: &str,
    description: &str,
    threshold: &str,
    observed: serde_json::Value,
    samples: u64,
) -> Criterion {
    Criterion {
        name: name.into(),
        description: description.into(),
        threshold: threshold.into(),
        observed: Some(observed),
        samples,
        status: CriterionStatus::Pass,
    }
}

impl ReportBuilder {
    /// A GO report: every case and gate passed, metrics within thresholds.
    pub fn go() -> ReportBuilder {
        let report = Report {
            schema_version: SCHEMA_VERSION.into(),
            tool: Tool {
                name: "gonogo".into(),
                version: "0.1.0".into(),
            },
            run: RunInfo {
                id: "00000000-0000-4000-8000-000000000001".into(),
                started_at: at(0),
                finished_at: at(4),
                duration_ms: 4210,
                mode: Mode::Hermetic,
                target: Target {
                    base_url: "http://127.0.0.1:39211".into(),
                    git_commit: Some("3f2a9c1d0b7e".into()),
                    label: Some("staging <r2>".into()),
                },
                contract_version: Some("1.1".into()),
            },
            decision: Decision {
                verdict: Verdict::Go,
                reasons: vec!["Every case, gate and criterion passed.".into()],
                warnings: Vec::new(),
            },
            criteria: vec![
                criterion(
                    "smoke_suites",
                    "Smoke suites A-D: every case passes",
                    "13/13",
                    serde_json::json!("13/13"),
                    13,
                ),
                criterion(
                    "query_latency_p95_ms",
                    "p95 latency of search requests",
                    "<= 400",
                    serde_json::json!(33.0),
                    120,
                ),
                criterion(
                    "success_rate",
                    "Responses matching expectation",
                    ">= 0.99",
                    serde_json::json!(1.0),
                    420,
                ),
                criterion(
                    "security_violations",
                    "Security findings",
                    "= 0",
                    serde_json::json!(0),
                    420,
                ),
                criterion(
                    "rls_isolation_verified",
                    "Isolation proven at the database",
                    "true",
                    serde_json::json!(true),
                    1,
                ),
            ],
            metrics: Metrics {
                query_latency_p95_ms: Some(33.0),
                success_rate: Some(1.0),
                requests_total: 420,
                requests_matching: 420,
                security_violations: 0,
                rls_isolation_verified: true,
                isolation_scope: "database".into(),
                search_latency: LatencyStats {
                    count: 120,
                    ..curve(3.0)
                },
                all_latency: curve(1.0),
                latency_phase: LatencyStats {
                    count: 200,
                    p95_ci: Some(QuantileInterval {
                        confidence: 0.95,
                        low_ms: 28.0,
                        high_ms: 41.0,
                        low_rank: 184,
                        high_rank: 197,
                    }),
                    ..curve(3.0)
                },
            },
            suites: suites(),
            gates: gates(),
            canary: None,
            waivers: Vec::new(),
            signoffs: Vec::new(),
            comparison: None,
        };
        ReportBuilder { report }
    }

    /// Marks case or gate check `id` failed with `message` (and evidence that
    /// did not match), and turns the decision to NO-GO.
    pub fn failing(mut self, id: &str, message: &str) -> ReportBuilder {
        let mut found = false;
        for c in self.report.cases_mut() {
            if c.id == id {
                c.outcome = Outcome::Failed;
                c.message = Some(message.into());
                let mut ev = evidence(
                    "GET",
                    "/api/v1/knowledge/files?limit=5",
                    200,
                    r#"{"items":[{"filename":"a<b>&c.txt"}]}"#,
                    "404 code: not_found",
                );
                ev.matched = false;
                c.evidence.push(ev);
                found = true;
            }
        }
        assert!(found, "no case or check named {id}");
        for g in &mut self.report.gates {
            if g.checks.iter().any(|c| c.outcome == Outcome::Failed) {
                g.outcome = Outcome::Failed;
            }
        }
        self.report.decision.verdict = Verdict::NoGo;
        self.report.decision.reasons = vec![format!("{id} failed: {message}")];
        self
    }

    /// Adds case `id` with `outcome` and `message` to suite or gate `section`
    /// (a suite's or gate's id); a failed one gets evidence that did not match,
    /// as with [`ReportBuilder::failing`]. The decision is left as it is.
    pub fn case(
        mut self,
        section: &str,
        id: &str,
        outcome: Outcome,
        message: &str,
    ) -> ReportBuilder {
        let mut c = case(id, &format!("Extra case {id}"), 3);
        c.outcome = outcome;
        c.message = Some(message.into());
        if outcome == Outcome::Failed {
            c.evidence.push(Evidence {
                matched: false,
                ..evidence("GET", "/api/v1/knowledge/files", 500, "{}", "200")
            });
        }
        let r = &mut self.report;
        if let Some(s) = r.suites.iter_mut().find(|s| s.id == section) {
            s.cases.push(c);
        } else if let Some(g) = r.gates.iter_mut().find(|g| g.id == section) {
            if outcome == Outcome::Failed {
                g.outcome = Outcome::Failed;
            }
            g.checks.push(c);
        } else {
            panic!("no suite or gate {section}");
        }
        self
    }

    /// Marks case or gate check `id` warned with `message`, guarding
    /// `clauses`, with evidence that did not match, and adds the decision's
    /// warning sentence as the harness words it; the verdict is left as it is.
    /// A gate with nothing worse becomes warned, as the harness builds it.
    pub fn warned(mut self, id: &str, message: &str, clauses: Vec<ClauseRef>) -> ReportBuilder {
        let c = self.report.cases_mut().find(|c| c.id == id);
        let c = c.unwrap_or_else(|| panic!("no case or check named {id}"));
        c.outcome = Outcome::Warned;
        c.message = Some(message.into());
        c.clauses = clauses;
        c.evidence.push(Evidence {
            matched: false,
            ..evidence(
                "GET",
                "/api/v1/knowledge/files/not-a-uuid/extra",
                400,
                r#"{"code":"invalid_id"}"#,
                "404 problem + X-Request-ID",
            )
        });
        for g in &mut self.report.gates {
            if g.outcome == Outcome::Passed && g.checks.iter().any(|c| c.id == id) {
                g.outcome = Outcome::Warned;
            }
        }
        let sentence = format!("{id} warned: {message}");
        self.report.decision.warnings.push(sentence);
        self
    }

    /// Sets the clauses case or gate check `id` guards.
    pub fn clauses(mut self, id: &str, clauses: Vec<ClauseRef>) -> ReportBuilder {
        let c = self.report.cases_mut().find(|c| c.id == id);
        c.unwrap_or_else(|| panic!("no case or check named {id}"))
            .clauses = clauses;
        self
    }

    /// Sets criterion `name`'s status.
    pub fn criterion(mut self, name: &str, status: CriterionStatus) -> ReportBuilder {
        let c = self.report.criteria.iter_mut().find(|c| c.name == name);
        c.unwrap_or_else(|| panic!("no criterion {name}")).status = status;
        self
    }

    /// Makes the body of every piece of evidence of a failed case `bytes` long.
    pub fn bulky_evidence(mut self, bytes: usize) -> ReportBuilder {
        let failed = self
            .report
            .cases_mut()
            .filter(|c| c.outcome == Outcome::Failed);
        for c in failed {
            for e in &mut c.evidence {
                if let Some(resp) = &mut e.response {
                    resp.body = "x".repeat(bytes);
                }
            }
        }
        self
    }

    /// Sets the verdict (and one reason) without touching the cases.
    pub fn verdict(mut self, verdict: Verdict, reason: &str) -> ReportBuilder {
        self.report.decision.verdict = verdict;
        self.report.decision.reasons = vec![reason.into()];
        self
    }

    /// Adds a canary section.
    pub fn canary(mut self, canary: CanaryReport) -> ReportBuilder {
        self.report.canary = Some(canary);
        self
    }

    /// Gives mutable access for one-off changes.
    pub fn with(mut self, change: impl FnOnce(&mut Report)) -> ReportBuilder {
        change(&mut self.report);
        self
    }

    pub fn build(self) -> Report {
        self.report
    }
}

/// A canary section that rolled back in phase 2.
pub fn sample_canary_rollback() -> CanaryReport {
    CanaryReport {
        plan: "default (release plan)".into(),
        time_scale: 0.01,
        phases: vec![
            CanaryPhase {
                name: "5%".into(),
                traffic_percent: 5,
                planned_duration_s: 900,
                observed_duration_ms: 9000,
                samples: 180,
                errors: 0,
                security_violations: 0,
                success_rate: Some(1.0),
                p95_ms: Some(12.0),
                verdict: "pass".into(),
                reason: None,
                triggers: vec!["error budget 1".into(), "success rate < 95%".into()],
                metrics: Vec::new(),
            },
            CanaryPhase {
                name: "25%".into(),
                traffic_percent: 25,
                planned_duration_s: 1800,
                observed_duration_ms: 2400,
                samples: 40,
                errors: 0,
                security_violations: 0,
                success_rate: Some(1.0),
                p95_ms: Some(912.0),
                verdict: "rollback".into(),
                reason: Some("p95 912 ms > 800 ms".into()),
                triggers: vec!["error budget 5".into(), "p95 > 800 ms".into()],
                metrics: Vec::new(),
            },
        ],
        outcome: CanaryOutcome::Rollback,
        reason: "phase 25%: p95 912 ms > 800 ms".into(),
        failures: vec![Evidence {
            matched: false,
            ..evidence(
                "POST",
                "/api/v1/knowledge/search",
                200,
                r#"{"results":[],"took_ms":911}"#,
                "200 with the tenant's seed and nobody else's file",
            )
        }],
    }
}

/// A NO-GO with more findings than GitHub annotates: `failed` failed cases
/// (the first two security and isolation ones, `gate_2::alg_none_rejected`
/// and `suite_b::user_b_list_excludes_user_a_file`, then `suite_c::extra_NN`)
/// and `skipped` skipped cases (`suite_d::skipped_NN`);
/// `security_violations` and `smoke_suites` failed, `rls_isolation_verified`
/// inconclusive. Reasons: one per failed criterion and case.
pub fn crowded_no_go(failed: usize, skipped: usize) -> ReportBuilder {
    assert!(failed >= 2, "the two security cases fail first");
    let mut b = ReportBuilder::go()
        .failing(
            "gate_2::alg_none_rejected",
            "alg: none was accepted with 200.",
        )
        .failing(
            "suite_b::user_b_list_excludes_user_a_file",
            "User B's list holds user A's file.",
        )
        .criterion("security_violations", CriterionStatus::Fail)
        .criterion("smoke_suites", CriterionStatus::Fail)
        .criterion("rls_isolation_verified", CriterionStatus::Inconclusive);
    for i in 1..=failed - 2 {
        let id = format!("suite_c::extra_{i:02}");
        b = b.case(
            "C",
            &id,
            Outcome::Failed,
            &format!("Expected 200, got 500 ({i})."),
        );
    }
    for i in 1..=skipped {
        let id = format!("suite_d::skipped_{i:02}");
        b = b.case("D", &id, Outcome::Skipped, "Needs the JWT secret.");
    }
    let mut report = b
        .with(|r| {
            let c = r
                .criteria
                .iter_mut()
                .find(|c| c.name == "security_violations");
            c.expect("the sample has it").observed = Some(serde_json::json!(2));
        })
        .build();
    let failed_criteria = report
        .criteria
        .iter()
        .filter(|c| c.status == CriterionStatus::Fail)
        .map(|c| {
            format!(
                "{} failed: observed {}, threshold {}.",
                c.name,
                c.observed.clone().unwrap_or_default(),
                c.threshold
            )
        });
    let failed_cases = report
        .cases()
        .filter(|c| c.outcome == Outcome::Failed)
        .map(|c| {
            format!(
                "{} failed: {}",
                c.id,
                c.message.as_deref().unwrap_or_default()
            )
        });
    report.decision.reasons = failed_criteria.chain(failed_cases).collect();
    ReportBuilder { report }
}

/// A NO-GO against a server that is not a Knowledge API: [`crowded_no_go`]
/// with `failed` failed cases, each message long and repetitive (as the
/// harness writes them), each with five long pieces of evidence answered 401
/// or 404, each citing one of six clauses. Reasons: one per failed criterion
/// and case.
pub fn wrong_server_no_go(failed: usize) -> ReportBuilder {
    let clauses = [
        ("conventions.request-id", "Conventions (every response)"),
        ("auth.missing-token", "Authentication"),
        (
            "knowledge.upload",
            "Knowledge endpoints (the five R2 paths)",
        ),
        ("knowledge.list", "Knowledge endpoints (the five R2 paths)"),
        ("ratelimit.headers", "Per-user rate limit"),
        ("memory.r1", "R1 Memory API (must not regress)"),
    ];
    let mut report = crowded_no_go(failed, 0).build();
    let mut n = 0;
    for c in report.cases_mut().filter(|c| c.outcome == Outcome::Failed) {
        let (id, section) = clauses[n % clauses.len()];
        n += 1;
        let status = if n % 3 == 0 { 401 } else { 404 };
        let finding = format!(
            "expected 201 with a FileInfo body, got {status}; header www-authenticate is missing; body is not a problem document"
        );
        c.message = Some(vec![finding; 10].join(" | "));
        c.clauses = vec![clause(
            id,
            ClauseLevel::Must,
            section,
            &format!("The words of {id}, quoted from the contract: `X-Request-ID` on **every** response, and more words so that the quote is as long as the contract's sentences usually are."),
        )];
        c.evidence = (0..5)
            .map(|i| Evidence {
                matched: false,
                ..evidence(
                    "POST",
                    &format!(
                        "/api/v1/knowledge/files?attempt={i}&padding={}",
                        "p".repeat(200)
                    ),
                    status,
                    &format!(
                        "<html><body><h1>{status}</h1>{}</body></html>",
                        "Not here. ".repeat(60)
                    ),
                    "201 + Location + FileInfo",
                )
            })
            .collect();
    }
    let failed_cases: Vec<String> = report
        .cases()
        .filter(|c| c.outcome == Outcome::Failed)
        .map(|c| {
            format!(
                "{} failed: {}",
                c.id,
                c.message.as_deref().unwrap_or_default()
            )
        })
        .collect();
    let criteria = report
        .decision
        .reasons
        .iter()
        .filter(|r| !r.contains("::"))
        .cloned()
        .collect::<Vec<_>>();
    report.decision.reasons = criteria.into_iter().chain(failed_cases).collect();
    ReportBuilder { report }
}

/// A clause as the harness copies it from the contract.
pub fn clause(id: &str, level: ClauseLevel, section: &str, words: &str) -> ClauseRef {
    ClauseRef {
        id: id.into(),
        level,
        section: section.into(),
        words: words.into(),
    }
}

/// A NO-GO with a failure and two warnings, each citing the contract:
/// `suite_a::no_jwt_returns_401` failed (must `auth.missing-token`, with a
/// second finding after ` | `); `gate_3::request_id_on_every_response`
/// warned (guarding must `headers.request-id.every` and should
/// `errors.refused-before-auth.marked`, cited under the should), and
/// `suite_d::invalid_mime_type_returns_400_with_suggestion` warned (expected
/// `errors.suggestion.names-types`).
pub fn warned_no_go() -> ReportBuilder {
    let request_id_every = clause(
        "headers.request-id.every",
        ClauseLevel::Must,
        "Conventions",
        "`X-Request-ID` on **every** response — 2xx, 4xx, 5xx, 404 for unknown routes, 405, 413, 429, 503.",
    );
    let marked = clause(
        "errors.refused-before-auth.marked",
        ClauseLevel::Should,
        "Conventions",
        "A server should still give it `X-Request-ID`, `nosniff` and a problem body where its stack allows (the reference server does).",
    );
    let names_types = clause(
        "errors.suggestion.names-types",
        ClauseLevel::Expected,
        "Conventions",
        "A careful user expects the suggestion to name the accepted types.",
    );
    let missing_token = clause(
        "auth.missing-token",
        ClauseLevel::Must,
        "Authentication",
        "No `Authorization` header → `401`, `WWW-Authenticate: Bearer realm=\"knowledge\"`, `code: missing_token`.",
    );
    ReportBuilder::go()
        .warned(
            "gate_3::request_id_on_every_response",
            "GET /x (431): no X-Request-ID on a refusal before auth",
            vec![request_id_every, marked],
        )
        .warned(
            "suite_d::invalid_mime_type_returns_400_with_suggestion",
            "POST /api/v1/knowledge/files: the suggestion names no accepted type",
            vec![names_types],
        )
        .failing(
            "suite_a::no_jwt_returns_401",
            "GET /api/v1/knowledge/files: status 200, expected 401 | no WWW-Authenticate",
        )
        .clauses("suite_a::no_jwt_returns_401", vec![missing_token])
        .criterion("smoke_suites", CriterionStatus::Fail)
        .with(|r| {
            let smoke = r.criteria.iter_mut().find(|c| c.name == "smoke_suites");
            smoke.expect("the sample has it").observed = Some(serde_json::json!("12/13"));
        })
}

/// `n` latency-phase searches, deterministic: log-normal around `median` ms.
pub fn latency_samples(n: usize, median: f64, seed: u64) -> Vec<f64> {
    let mut rng = crate::compare::stats::SplitMix::new(seed);
    (0..n)
        .map(|_| {
            let (u1, u2) = (rng.unit().max(1e-12), rng.unit());
            let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
            ((median * (0.4 * z).exp()) * 1000.0).round() / 1000.0
        })
        .collect()
}

/// The latency phase's statistics of `samples` (nearest-rank percentiles).
pub fn latency_phase_of(samples: Vec<f64>) -> LatencyStats {
    use crate::compare::stats::nearest_rank;
    let mut sorted = samples.clone();
    sorted.sort_by(f64::total_cmp);
    let at = |p: f64| Some(nearest_rank(&sorted, p));
    LatencyStats {
        count: samples.len() as u64,
        min_ms: sorted.first().copied(),
        p50_ms: at(0.5),
        p90_ms: at(0.9),
        p95_ms: at(0.95),
        p99_ms: at(0.99),
        max_ms: sorted.last().copied(),
        curve: Vec::new(),
        p95_ci: None,
        samples_ms: samples,
    }
}

/// A GO report whose latency phase is `samples`, run `id`, started `minutes` after the sample's start.
pub fn run_with_latency(id: &str, minutes: i64, samples: Vec<f64>) -> ReportBuilder {
    ReportBuilder::go().with(|r| {
        r.run.id = id.into();
        r.run.started_at += chrono::Duration::minutes(minutes);
        r.metrics.latency_phase = latency_phase_of(samples);
        r.metrics.query_latency_p95_ms = r.metrics.latency_phase.p95_ms;
    })
}

/// A run 1.7 times as slow as the last GO, one case newly failing, compared
/// with it under the rule "search_p95 may not grow by more than 50 %": NO-GO on the rule.
pub fn compared_no_go() -> Report {
    use crate::compare::{LatencyMetric, RelativeCriterion};
    let previous = run_with_latency(
        "00000000-0000-4000-8000-00000000000a",
        -60 * 24,
        latency_samples(200, 6.0, 1),
    )
    .with(|r| r.run.target.git_commit = Some("1b2c3d4e5f60".into()))
    .build();
    let slower: Vec<f64> = latency_samples(200, 6.0, 2)
        .into_iter()
        .map(|ms| (ms * 1.7 * 1000.0).round() / 1000.0)
        .collect();
    let mut current = run_with_latency("00000000-0000-4000-8000-000000000001", 0, slower)
        .failing("suite_a::no_jwt_returns_401", "got 200 without a token")
        .build();
    let criteria = [RelativeCriterion {
        metric: LatencyMetric::SearchP95,
        max_growth: 0.5,
    }];
    let comparison = crate::compare::compare(
        &current,
        &previous,
        "reports/out/history/20261128T100000Z-00000000-0000-4000-8000-00000000000a.json (the last GO)",
        &criteria,
    );
    crate::compare::apply(&mut current, comparison);
    current
}
