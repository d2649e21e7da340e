//! The one place every case is registered, and the runner that executes a
//! selection: main-phase groups concurrently, then the final scans over the log.

use futures::future::BoxFuture;
use futures::FutureExt;

use crate::ctx::progress::Event;
pub use crate::ctx::progress::Phase;
use crate::ctx::{failed, CaseReport, CaseSpec, Ctx};
use crate::{
    errors, files, gate_1, gate_2, gate_2_auth, gate_3, gate_3_ops, latency, limits, r1_memory,
    rls, suite_a, suite_b, suite_c, suite_d,
};

/// Where a group's results go in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Smoke suite `A`..`D`.
    Suite {
        id: &'static str,
        name: &'static str,
    },
    /// A release gate, by its report id.
    Gate {
        id: &'static str,
        name: &'static str,
    },
}

/// Cases that run together, in order, sharing fixtures.
#[derive(Clone)]
pub struct Group {
    pub section: Section,
    pub phase: Phase,
    pub cases: &'static [CaseSpec],
    pub run: fn(Ctx) -> BoxFuture<'static, Vec<CaseReport>>,
}

pub const SUITE_A: Section = Section::Suite {
    id: "A",
    name: "Auth and headers",
};
pub const SUITE_B: Section = Section::Suite {
    id: "B",
    name: "Cross-tenant isolation",
};
pub const SUITE_C: Section = Section::Suite {
    id: "C",
    name: "Per-user rate limit",
};
pub const SUITE_D: Section = Section::Suite {
    id: "D",
    name: "Errors",
};
pub const GATE_1: Section = Section::Gate {
    id: "gate_1_r1_regression",
    name: "Gate 1: no regression to R1",
};
pub const GATE_2: Section = Section::Gate {
    id: "gate_2_security",
    name: "Gate 2: security acceptance",
};
pub const GATE_3: Section = Section::Gate {
    id: "gate_3_ux_telemetry",
    name: "Gate 3: UX and telemetry",
};
pub const LATENCY: Section = Section::Gate {
    id: "latency",
    name: "Latency: search p95 with 95 % confidence",
};
pub const KNOWLEDGE: Section = Section::Gate {
    id: "knowledge_paths",
    name: "Knowledge paths, clause by clause",
};
pub const ERROR_KINDS: Section = Section::Gate {
    id: "error_kinds",
    name: "Every error kind, provoked",
};
pub const RLS: Section = Section::Gate {
    id: "rls_database",
    name: "Row-level security at the database",
};

/// Every group the target supports, in report order.
pub fn registry(has_database: bool) -> Vec<Group> {
    let g = |section, phase, cases, run| Group {
        section,
        phase,
        cases,
        run,
    };
    let mut groups = vec![
        g(SUITE_A, Phase::Main, suite_a::CASES, |c| {
            suite_a::run(c).boxed()
        }),
        g(SUITE_B, Phase::Main, suite_b::CASES, |c| {
            suite_b::run(c).boxed()
        }),
        g(SUITE_C, Phase::Main, suite_c::CASES, |c| {
            suite_c::run(c).boxed()
        }),
        g(SUITE_D, Phase::Main, suite_d::CASES, |c| {
            suite_d::run(c).boxed()
        }),
        g(GATE_1, Phase::Main, gate_1::CASES, |c| {
            gate_1::run(c).boxed()
        }),
        g(GATE_1, Phase::Main, r1_memory::CASES, |c| {
            r1_memory::run(c).boxed()
        }),
        g(GATE_1, Phase::Final, gate_1::FINAL_CASES, |c| {
            gate_1::run_final(c).boxed()
        }),
        g(GATE_2, Phase::Main, gate_2::CASES, |c| {
            gate_2::run(c).boxed()
        }),
        g(GATE_2, Phase::Main, gate_2_auth::CASES, |c| {
            gate_2_auth::run(c).boxed()
        }),
        g(GATE_2, Phase::Final, gate_2::FINAL_CASES, |c| {
            gate_2::run_final(c).boxed()
        }),
        g(GATE_3, Phase::Main, gate_3::CASES, |c| {
            gate_3::run(c).boxed()
        }),
        g(GATE_3, Phase::Main, gate_3_ops::CASES, |c| {
            gate_3_ops::run(c).boxed()
        }),
        g(KNOWLEDGE, Phase::Main, files::CASES, |c| {
            files::run(c).boxed()
        }),
        g(KNOWLEDGE, Phase::Main, limits::CASES, |c| {
            limits::run(c).boxed()
        }),
        g(ERROR_KINDS, Phase::Main, errors::CASES, |c| {
            errors::run(c).boxed()
        }),
        g(GATE_3, Phase::Final, gate_3::FINAL_CASES, |c| {
            gate_3::run_final(c).boxed()
        }),
        g(GATE_3, Phase::Final, gate_3_ops::FINAL_CASES, |c| {
            gate_3_ops::run_final(c).boxed()
        }),
        g(LATENCY, Phase::Main, latency::CASES, |c| {
            latency::run(c).boxed()
        }),
    ];
    // The database gate needs database access: hermetic mode only.
    if has_database {
        groups.push(g(RLS, Phase::Main, rls::CASES, |c| rls::run(c).boxed()));
    }
    groups
}

/// Every case id the registry declares, in order.
pub fn case_ids(groups: &[Group]) -> Vec<&'static str> {
    groups
        .iter()
        .flat_map(|g| g.cases.iter().map(|c| c.id))
        .collect()
}

/// Runs `groups` (main phase concurrently, then final). Every declared case gets
/// exactly one report, in declaration order, even if its group forgot it.
pub async fn run(ctx: &Ctx, groups: &[Group]) -> Vec<(Section, CaseReport)> {
    let phase = |p: Phase| {
        let ctx = ctx.clone();
        let selected: Vec<&Group> = groups.iter().filter(|g| g.phase == p).collect();
        let cases = selected.iter().map(|g| g.cases.len()).sum();
        ctx.emit(Event::Phase { phase: p, cases });
        async move {
            // Each group's results are announced as it ends: cases that
            // reported without a `CaseRun` (a group that could not start) count too.
            let each = selected.iter().map(|g| {
                (g.run)(ctx.clone()).inspect(|reports| {
                    for r in reports {
                        ctx.case_done(r);
                    }
                })
            });
            futures::future::join_all(each).await
        }
    };
    let mut produced: Vec<CaseReport> = phase(Phase::Main).await.into_iter().flatten().collect();
    produced.extend(phase(Phase::Final).await.into_iter().flatten());
    let mut out = Vec::new();
    for g in groups {
        for spec in g.cases {
            let report = match produced.iter().position(|r| r.id == spec.id) {
                Some(i) => produced.swap_remove(i),
                None => failed(*spec, "the case did not report a result"),
            };
            out.push((g.section, report));
        }
    }
    // A report nobody registered would vanish from the list and filters: fail it loudly instead.
    for mut r in produced {
        let section = groups.first().map(|g| g.section).unwrap_or(SUITE_A);
        r.outcome = crate::ctx::Outcome::Failed;
        r.message = Some(format!("{} reported a result but is not registered", r.id));
        out.push((section, r));
    }
    out
}
