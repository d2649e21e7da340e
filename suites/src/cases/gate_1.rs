//! Gate 1 — no regression to R1: the target's `/openapi.json` against the R1
//! baseline, and (run last) every response of the run against that document.

use futures::FutureExt;

use crate::cases::GATE_1;
use crate::check::ctx::{CaseReport, CaseRun, CaseSpec, Ctx};
use crate::check::openapi::{breaking_changes, missing_operations, CONTRACT_OPERATIONS};
use crate::check::registry::Group;
use crate::check::spec::Route;

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
    title: "The document is OpenAPI 3.1 and describes every route of the contract: knowledge, memory, anonymous token, operational (itself optional)",
};
pub const CASES: &[CaseSpec] = &[SERVED, NO_BREAKING, KNOWLEDGE_PRESENT];
pub const CONFORMS: CaseSpec = CaseSpec {
    id: "gate_1::responses_conform_to_the_served_spec",
    clauses: &["ops.responses-documented", "ops.error-statuses-documented"],
    title: "Every success response the run saw to a documented operation has a status, content type and body the target's /openapi.json documents for it (an undocumented error response is a warning)",
};
/// Run last, over every exchange of the run.
pub const FINAL_CASES: &[CaseSpec] = &[CONFORMS];
/// Non-conforming exchanges cited as evidence, at most (the message counts them all).
const MAX_CITED: usize = 25;

/// Registered in [`crate::cases::registry`].
pub const GROUP: Group = Group::main(GATE_1, CASES, |c| run(c).boxed());
/// Registered in [`crate::cases::registry`], after every main group.
pub const FINAL: Group = Group::finally(GATE_1, FINAL_CASES, |c| run_final(c).boxed());

pub async fn run(ctx: Ctx) -> Vec<CaseReport> {
    let mut c = CaseRun::start(&ctx, SERVED);
    // Fetched and parsed once per run; the conformance scan reads the same document.
    let served = ctx.served_openapi().await;
    c.record_with(
        served.exchange.clone(),
        "200 OpenAPI 3.x JSON",
        |r| match &served.spec {
            Ok(_) => vec![],
            Err(why) => vec![format!(
                "status {} without an OpenAPI 3.x document: {why}",
                r.status
            )],
        },
    );
    let doc = served
        .spec
        .as_ref()
        .ok()
        .filter(|_| c.passed_so_far())
        .map(|s| s.document());
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
            let missing = missing_operations(doc, &CONTRACT_OPERATIONS);
            kp.note(format!(
                "OpenAPI 3.1; all {} operations of the contract are described",
                CONTRACT_OPERATIONS.len()
            ));
            let version = doc["openapi"].as_str().unwrap_or_default();
            kp.check(
                version.starts_with("3.1"),
                format!("openapi {version:?}: the contract asks for an OpenAPI 3.1 description"),
            );
            kp.check(
                missing.is_empty(),
                format!("missing operations: {}", missing.join(", ")),
            );
        }
    }
    vec![served, nb.finish(), kp.finish()]
}

/// Judges every response the run saw against the target's own document
/// ([`crate::check::spec`]). Only documented operations are judged; a route the
/// document does not describe has nothing to be held to here (unknown routes
/// are Gate 3's), but a documented path answering an undocumented method with
/// anything but a 4xx serves an operation the document hides.
pub async fn run_final(ctx: Ctx) -> Vec<CaseReport> {
    let mut c = CaseRun::start(&ctx, CONFORMS);
    let spec = match &ctx.served_openapi().await.spec {
        Ok(spec) => spec.clone(),
        Err(why) => {
            c.skip(format!(
                "the target's /openapi.json could not be read: {why}"
            ));
            return vec![c.finish()];
        }
    };
    let (mut judged, mut elsewhere, mut cited) = (0, 0, 0);
    for ex in ctx.log() {
        let Ok(r) = &ex.response else { continue };
        let (method, path) = (ex.request.method.as_str(), &ex.request.path);
        let findings = match spec.route(method, path) {
            Route::Documented(op) => {
                judged += 1;
                spec.check(&op, r)
            }
            Route::OtherMethod { path: template } => {
                judged += 1;
                if (400..500).contains(&r.status) {
                    vec![]
                } else {
                    vec![format!(
                        "{method} is not documented for {template}, yet it answered {}",
                        r.status
                    )]
                }
            }
            Route::Unknown => {
                elsewhere += 1;
                vec![]
            }
        };
        if !findings.is_empty() {
            let finding = format!("{method} {path} → {}: {}", r.status, findings.join("; "));
            // The contract binds success responses to their schema; error statuses
            // only *should* be documented.
            if r.status >= 400 {
                c.warn(finding);
            } else {
                c.fail(finding);
            }
            if cited < MAX_CITED {
                cited += 1;
                c.cite(ex.clone(), "status, content type and body as documented");
            }
        }
    }
    c.note(format!(
        "checked {judged} responses against the served document ({elsewhere} to undocumented routes not judged)"
    ));
    if judged == 0 {
        c.skip("the run saw no response to a documented operation");
    }
    vec![c.finish()]
}
