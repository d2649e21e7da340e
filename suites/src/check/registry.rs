//! What a registered group is (its report section, phase and cases), and the
//! runner that executes a selection: main-phase groups concurrently, then the
//! final scans over the log. The cases register in [`crate::cases`].

use futures::future::BoxFuture;
use futures::FutureExt;

use crate::check::ctx::progress::Event;
pub use crate::check::ctx::progress::Phase;
use crate::check::ctx::{failed, CaseReport, CaseSpec, Ctx};

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
    pub run: Runner,
}

/// Runs a group's cases in a context; each case reports once.
pub type Runner = fn(Ctx) -> BoxFuture<'static, Vec<CaseReport>>;

impl Group {
    /// Cases that run concurrently with the other main groups.
    pub const fn main(section: Section, cases: &'static [CaseSpec], run: Runner) -> Self {
        Group {
            section,
            phase: Phase::Main,
            cases,
            run,
        }
    }

    /// Cases that run after every main group, over the exchanges they collected.
    pub const fn finally(section: Section, cases: &'static [CaseSpec], run: Runner) -> Self {
        Group {
            phase: Phase::Final,
            ..Group::main(section, cases, run)
        }
    }
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
    // A report nobody registered would vanish from the list and filters: fail it loudly instead
    // (it came from a group, so there is a first one to file it under).
    if let Some(first) = groups.first() {
        for mut r in produced {
            r.outcome = crate::check::ctx::Outcome::Failed;
            r.message = Some(format!("{} reported a result but is not registered", r.id));
            out.push((first.section, r));
        }
    }
    out
}
