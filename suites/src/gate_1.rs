//! Gate 1 — no regression to R1: the target's `/openapi.json` against the R1 baseline.

use crate::ctx::{CaseReport, CaseRun, CaseSpec, Ctx};
use crate::openapi::{breaking_changes, missing_operations, KNOWLEDGE_OPERATIONS};
use crate::transport::ApiRequest;

pub const SERVED: CaseSpec = CaseSpec {
    id: "gate_1::openapi_document_is_served",
    clauses: &["ops.openapi"],
    title: "GET /openapi.json returns an OpenAPI 3.x document",
};
pub const NO_BREAKING: CaseSpec = CaseSpec {
    id: "gate_1::no_breaking_change_to_r1",
    clauses: &["r1.spec-additive"],
    title: "Nothing in the R1 baseline was removed or changed type (additions are fine)",
};
pub const KNOWLEDGE_PRESENT: CaseSpec = CaseSpec {
    id: "gate_1::knowledge_paths_present",
    clauses: &["ops.openapi"],
    title: "The R2 knowledge operations are described",
};
pub const CASES: &[CaseSpec] = &[SERVED, NO_BREAKING, KNOWLEDGE_PRESENT];

pub async fn run(ctx: Ctx) -> Vec<CaseReport> {
    let mut c = CaseRun::start(&ctx, SERVED);
    // Parsed once, inside the check; kept only when the check passed.
    let mut parsed = None;
    c.call_with(
        ApiRequest::get("/openapi.json"),
        "200 OpenAPI 3.x JSON",
        |r| {
            parsed = r.json().filter(|j| {
                r.status == 200 && j["openapi"].as_str().is_some_and(|v| v.starts_with("3."))
            });
            if parsed.is_some() {
                vec![]
            } else {
                vec![format!(
                    "status {} without an OpenAPI 3.x document",
                    r.status
                )]
            }
        },
    )
    .await;
    let doc = parsed.filter(|_| c.passed_so_far());
    let served = c.finish();

    let mut nb = CaseRun::start(&ctx, NO_BREAKING);
    let mut kp = CaseRun::start(&ctx, KNOWLEDGE_PRESENT);
    match &doc {
        None => {
            nb.skip("the target's OpenAPI document could not be read");
            kp.skip("the target's OpenAPI document could not be read");
        }
        Some(doc) => {
            match ctx.r1_baseline() {
                Ok(base) if base["paths"].as_object().is_none_or(|p| p.is_empty()) => {
                    nb.skip("the R1 baseline describes no paths, so nothing could be compared")
                }
                Ok(base) => {
                    let n = base["paths"].as_object().map_or(0, |p| p.len());
                    nb.note(format!("compared {n} R1 path(s): no breaking change"));
                    for b in breaking_changes(base, doc) {
                        nb.fail(format!("{}: {}", b.pointer, b.message));
                    }
                }
                Err(why) => nb.skip(format!("no R1 baseline: {why}")),
            }
            let missing = missing_operations(doc, &KNOWLEDGE_OPERATIONS);
            kp.note(format!(
                "all {} knowledge operations are described",
                KNOWLEDGE_OPERATIONS.len()
            ));
            kp.check(
                missing.is_empty(),
                format!("missing operations: {}", missing.join(", ")),
            );
        }
    }
    vec![served, nb.finish(), kp.finish()]
}
