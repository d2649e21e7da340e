//! The framework the cases are written in; nothing here names a case.
//!
//! - [`transport`]: requests, responses, exchanges and the `Transport` trait.
//! - [`ctx`]: the run context (tokens, R1 baseline, database probe, run log) and the
//!   per-case recorder whose results the harness reports; [`ctx::progress`]: the events
//!   a run reports to whoever watches it.
//! - [`registry`]: what a group of cases is, and the runner (the groups themselves
//!   register in [`crate::cases`]).
//! - [`expect`]: declarative checks of status + headers + problem body; [`calls`]: calls
//!   and judgements cases share.
//! - [`api`]: request builders; [`tokens`]: tenants and their tokens.
//! - [`spec`]: response conformance to an OpenAPI document (JSON Schema); [`openapi`]: the
//!   R1 breaking-change diff; [`leaks`]: the error-body scanner.
//! - [`generated`]: seeded inputs for the clauses that are properties (a report's seed
//!   replays them).
//! - [`rls_facts`]: what the database probe reads, for the RLS gate.

pub mod api;
pub mod calls;
pub mod ctx;
pub mod expect;
pub mod generated;
pub mod leaks;
pub mod openapi;
pub mod registry;
pub mod rls_facts;
pub mod spec;
pub mod tokens;
pub mod transport;
