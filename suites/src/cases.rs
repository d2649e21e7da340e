//! The cases, one module per capability, each declaring its groups (section,
//! phase, cases, runner); this file is the table of contents: the report's
//! sections and [`registry`], the one list of groups in report order.
//!
//! - [`suite_a`]..[`suite_d`]: the smoke suites (auth and headers, isolation,
//!   the rate limit, errors a user meets).
//! - [`gate_1`] with [`r1_memory`]: no regression to R1 (the document, the memory API).
//! - [`gate_2`]: security acceptance ([`gate_2::authentication`]: tokens that must be
//!   accepted and the anonymous endpoint; [`gate_2::pages`]: paging under the tenant filter).
//! - [`gate_3`]: UX and telemetry ([`gate_3::operations`]: the operational endpoints,
//!   counting and GCRA).
//! - [`knowledge`]: the knowledge paths clause by clause (files, uploads, search, limits).
//! - [`errors`]: every error kind, provoked; [`latency`]: the search p95 with confidence.
//! - [`rls`] with [`rls::at_rest`]: row-level security at the database (hermetic, or given
//!   the target's database URL).

use crate::check::registry::{Group, Section};

pub mod errors;
pub mod gate_1;
pub mod gate_2;
pub mod gate_3;
pub mod knowledge;
pub mod latency;
pub mod r1_memory;
pub mod rls;
pub mod suite_a;
pub mod suite_b;
pub mod suite_c;
pub mod suite_d;

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
    let mut groups = vec![
        suite_a::GROUP,
        suite_b::GROUP,
        suite_c::GROUP,
        suite_d::GROUP,
        gate_1::GROUP,
        r1_memory::GROUP,
        gate_1::FINAL,
        gate_2::GROUP,
        gate_2::authentication::GROUP,
        gate_2::FINAL,
        gate_3::GROUP,
        gate_3::operations::GROUP,
        knowledge::FILE_ROUTES,
        knowledge::LIMITS,
        errors::GROUP,
        gate_3::FINAL,
        gate_3::operations::FINAL,
        latency::GROUP,
    ];
    // The database gate needs database access: hermetic mode only.
    if has_database {
        groups.push(rls::GROUP);
    }
    groups
}
