//! gonogo-reports: the go/no-go report model, its renderings and its sign-offs.
//!
//! - [`model`]: the versioned, serde-serialisable report (key order is format).
//! - [`label`]: the words for the model's enums (their JSON spelling) and evidence text.
//! - [`schema`]: its JSON Schema (committed as `reports/schema/report.schema.json`).
//! - [`compare`]: this run next to an earlier report, and the team's relative criteria
//!   ([`compare::stats`]: the seeded bootstrap test of a latency difference).
//! - [`render`]: one module per format (JSON, Markdown, JUnit XML, HTML) over
//!   the same model, after a final secret-masking pass ([`redact`]).
//! - [`signoff`]: Ed25519 sign-offs by role over the RFC 8785 canonical report.
//! - [`attest`]: the decision as an in-toto test-result attestation in a DSSE envelope.
//! - [`publication`]: where and how a report is published (dir, formats, render options).
//! - [`file`]: a report on disk: load, atomic save, record a canary, re-render its siblings.
//! - [`canary_plan`]: the canary schedule and rollback triggers (TOML);
//!   [`canary_plan::metrics`]: its Prometheus criteria, canary against baseline.
//! - `test_support` (feature `testing`): a deterministic sample report for tests;
//!   release builds leave it out.

pub mod attest;
pub mod canary_plan;
pub mod compare;
pub mod file;
pub mod label;
pub mod model;
pub mod publication;
pub mod redact;
pub mod render;
pub mod schema;
pub mod signoff;
#[cfg(feature = "testing")]
pub mod test_support;

pub use model::*;
