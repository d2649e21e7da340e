//! What a run tells whoever watches it while it goes: phases, tenants being
//! minted, each exchange and each case done. The suites never print; the
//! harness passes an [`Observer`] in ([`crate::Ctx::with_observer`]) and draws
//! its progress line from these events. (Inside [`crate::check::ctx`], whose results
//! it carries, so no module imports in a circle; re-exported as `progress`.)

use std::sync::Arc;

use super::CaseReport;
use crate::check::transport::Exchange;

/// When a group runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Concurrently with the other main groups.
    Main,
    /// After every main group, over the exchanges they collected.
    Final,
}

/// One thing that happened during a run.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A phase of the registry's runner starts; `cases` is how many it will report.
    Phase { phase: Phase, cases: usize },
    /// A tenant (its label, e.g. `suite_b/user_a`) is being minted.
    Tenant(&'a str),
    /// The latency phase has its tenants and data and starts sending `searches`.
    Latency { searches: usize },
    /// One request went out and came back (or did not).
    Exchange(&'a Exchange),
    /// A case reported its result; each case once per run.
    CaseDone(&'a CaseReport),
}

/// Receives a run's [`Event`]s. Called from the cases' tasks: keep it quick.
pub trait Observer: Send + Sync {
    fn event(&self, event: Event<'_>);
}

/// Where a [`crate::Ctx`] sends its events: nowhere by default.
#[derive(Clone, Default)]
pub(crate) struct Watch {
    observer: Option<Arc<dyn Observer>>,
    /// Ids of the cases already announced, so a case that reports through
    /// [`super::CaseRun::finish`] and again with its group's results counts once.
    done: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
}

impl Watch {
    pub(crate) fn new(observer: Arc<dyn Observer>) -> Self {
        Watch {
            observer: Some(observer),
            done: Arc::default(),
        }
    }

    pub(crate) fn emit(&self, event: Event<'_>) {
        if let Some(o) = &self.observer {
            o.event(event);
        }
    }

    /// [`Event::CaseDone`] the first time `report`'s case is seen.
    pub(crate) fn case_done(&self, report: &CaseReport) {
        let Some(o) = &self.observer else { return };
        if self.done.lock().unwrap().insert(report.id.clone()) {
            o.event(Event::CaseDone(report));
        }
    }
}
