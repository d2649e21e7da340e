//! gonogo-suites: the smoke suites A–D and the release gates, as pure logic
//! over a [`Transport`], so the harness runs them over HTTP and tests can run
//! them against fakes.
//!
//! - [`transport`]: requests, responses, exchanges and the `Transport` trait.
//! - [`ctx`]: the run context (tokens, R1 baseline, database probe, run log)
//!   and the per-case recorder whose results the harness reports.
//! - [`expect`]: declarative checks of status + headers + problem body.
//! - [`registry`]: the one place cases are registered, and the runner;
//!   [`progress`]: the events a run reports to whoever watches it.
//! - `suite_a`..`suite_d`, `gate_1`..`gate_3`, [`rls`]: the cases.
//! - [`openapi`]: the R1 breaking-change diff; [`spec`]: response conformance to an
//!   OpenAPI document (JSON Schema); [`leaks`]: the error-body scanner.
//! - [`r1_memory`]: the R1 memory API's behaviour, shapes and isolation.
//! - [`latency`]: the latency phase and the p95's confidence interval.
//! - [`generated`]: seeded inputs for the clauses that are properties (a report's seed replays them).
//! - `suite_a`..`suite_d`, `gate_1`..`gate_3`, [`rls`]: the cases; [`files`], [`uploads`],
//!   [`search`], [`limits`]: the knowledge paths clause by clause; [`errors`]: every error
//!   kind provoked on purpose.
//! - [`openapi`]: the R1 breaking-change diff; [`leaks`]: the error-body scanner.
//! - `fake` (feature `testing`): an in-memory contract-following API with
//!   switchable faults, used to test the suites themselves; `faults`
//!   (feature `testing`): each fault and exactly the cases it must fail,
//!   shared with the harness's mutant tests. Release builds leave both out.

pub mod api;
pub mod at_rest;
pub mod calls;
pub mod contract;
pub mod ctx;
pub mod errors;
pub mod expect;
#[cfg(feature = "testing")]
pub mod fake;
#[cfg(feature = "testing")]
pub mod faults;
pub mod files;
pub mod gate_1;
pub mod gate_2;
pub mod gate_2_auth;
pub mod gate_3;
pub mod gate_3_ops;
pub mod generated;
pub mod latency;
pub mod leaks;
pub mod limits;
pub mod openapi;
pub mod pages;
pub mod r1_memory;
pub mod registry;
pub mod rls;
pub mod rls_facts;
pub mod search;
pub mod spec;
pub mod suite_a;
pub mod suite_b;
pub mod suite_c;
pub mod suite_d;
pub mod tokens;
pub mod transport;
pub mod uploads;

pub use ctx::progress;
pub use ctx::{Capabilities, CaseReport, Ctx, DbProbe, Earlier, Findings, Judged, Outcome};
pub use registry::{registry, Group, Phase, Section};
pub use rls::RlsFacts;
pub use tokens::{Tenant, TokenSource};
pub use transport::{ApiRequest, ApiResponse, Exchange, Transport};
