//! gonogo-suites: the smoke suites A–D and the release gates, as pure logic
//! over a [`Transport`], so the harness runs them over HTTP and tests can run
//! them against fakes. Four rooms:
//!
//! - [`contract`]: every normative clause of the contract under a stable id, and
//!   its text.
//! - [`check`]: the framework — transport, run context, expectations, the runner,
//!   request builders, the OpenAPI diff and conformance, the leak scanner.
//! - [`cases`]: the cases, one module per capability, and [`registry`], the one
//!   list of groups in report order.
//! - `testing` (feature `testing`): the in-memory fake API and the fault table.
//!
//! Dependencies run one way: `cases` and `testing` use `check`; `check` names no case.

pub mod cases;
pub mod check;
pub mod contract;
#[cfg(feature = "testing")]
pub mod testing;

pub use cases::registry;
pub use check::ctx::progress;
pub use check::ctx::{
    Capabilities, CaseReport, Ctx, DbProbe, DbUnreadable, Earlier, Findings, Judged, Outcome,
};
pub use check::registry::{Group, Phase, Section};
pub use check::rls_facts::RlsFacts;
pub use check::tokens::{Tenant, TokenSource};
pub use check::transport::{ApiRequest, ApiResponse, Exchange, Transport};
