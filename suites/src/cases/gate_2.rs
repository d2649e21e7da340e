//! Gate 2 — security acceptance: forged tokens (on a file route and a memory
//! route), cross-tenant access by id,
//! SQL-ish search text, and a scan of every error the run collected.

use futures::FutureExt;

use crate::cases::GATE_2;
use crate::check::api;
use crate::check::ctx::{failed_all, CaseReport, CaseRun, CaseSpec, Ctx};
use crate::check::expect::Expect;
use crate::check::leaks;
use crate::check::registry::Group;
use crate::check::tokens::{bad_token, BadToken};
use crate::check::transport::ApiRequest;

pub mod authentication;
pub mod pages;

pub const ALG_NONE: CaseSpec = CaseSpec {
    id: "gate_2::alg_none_rejected",
    clauses: &["auth.hs256-only", "auth.invalid-token"],
    title: "An unsigned (alg: none) token is rejected with 401 invalid_token",
};
pub const EXPIRED: CaseSpec = CaseSpec {
    id: "gate_2::expired_token_rejected",
    clauses: &["auth.expired"],
    title: "A correctly signed token that expired an hour ago, or a minute ago (past the 30 s leeway), is rejected with 401 invalid_token",
};
pub const BAD_SIG: CaseSpec = CaseSpec {
    id: "gate_2::bad_signature_rejected",
    clauses: &["auth.signature"],
    title: "A token signed with another secret is rejected with 401 invalid_token",
};
pub const WRONG_AUD: CaseSpec = CaseSpec {
    id: "gate_2::wrong_audience_rejected",
    clauses: &["auth.audience"],
    title: "A correctly signed token for another audience is rejected with 401 invalid_token",
};
pub const OTHER_ALG: CaseSpec = CaseSpec {
    id: "gate_2::other_algorithm_rejected",
    clauses: &["auth.hs256-only"],
    title: "A token signed with the right secret but HS512 is rejected: only HS256 is accepted",
};
pub const SERVICE_ROLE: CaseSpec = CaseSpec {
    id: "gate_2::non_authenticated_role_rejected",
    clauses: &["auth.role"],
    title: "A correctly signed token with role service_role is rejected with 401 invalid_token",
};
pub const BAD_SUB: CaseSpec = CaseSpec {
    id: "gate_2::non_uuid_subject_rejected",
    clauses: &["auth.sub-uuid"],
    title: "A correctly signed token whose sub is not a UUID is rejected with 401 invalid_token",
};
pub const FUTURE_IAT: CaseSpec = CaseSpec {
    id: "gate_2::future_issued_token_rejected",
    clauses: &["auth.future-iat-nbf"],
    title: "A token issued ten minutes in the future (beyond the 30 s leeway) is rejected",
};
pub const FUTURE_NBF: CaseSpec = CaseSpec {
    id: "gate_2::not_yet_valid_token_rejected",
    clauses: &["auth.future-iat-nbf"],
    title: "A token not valid before ten minutes from now is rejected",
};
pub const CROSS_GET: CaseSpec = CaseSpec {
    id: "gate_2::cross_tenant_get_by_id_returns_404",
    clauses: &["files.not-found", "files.own-data-only"],
    title: "Another tenant's file id gives 404 not_found for metadata and content",
};
pub const CROSS_DELETE: CaseSpec = CaseSpec {
    id: "gate_2::cross_tenant_delete_by_id_returns_404",
    clauses: &["files.not-found", "files.own-data-only"],
    title: "Deleting another tenant's file gives 404 not_found and the file survives",
};
pub const SQLISH: CaseSpec = CaseSpec {
    id: "gate_2::sql_like_search_text_is_not_5xx",
    clauses: &["search.bound-parameter", "files.own-data-only"],
    title:
        "SQL-ish and odd search text gives 200 or 400, never 5xx, and never another tenant's file",
};
pub const SCAN: CaseSpec = CaseSpec { id: "gate_2::error_bodies_leak_nothing", clauses: &["errors.no-leak"], title: "No error body or header the run saw carries a stack trace, path, SQL, driver text, a library's message, URL or secret" };
/// Run with the other suites.
pub const CASES: &[CaseSpec] = &[
    ALG_NONE,
    EXPIRED,
    BAD_SIG,
    WRONG_AUD,
    OTHER_ALG,
    SERVICE_ROLE,
    BAD_SUB,
    FUTURE_IAT,
    FUTURE_NBF,
    CROSS_GET,
    CROSS_DELETE,
    SQLISH,
    pages::PAGES,
];
/// Run last, over everything the run collected.
pub const FINAL_CASES: &[CaseSpec] = &[SCAN];

const SEARCH_PROBES: [&str; 6] = [
    "' OR 1=1 --",
    "'; DROP TABLE knowledge_files; --",
    "\") OR (\"a\"=\"a",
    "a & | ! ( ) :* <-> \\",
    "\u{0}\u{202e}💥 ∀x ¬x",
    "%' UNION SELECT id FROM knowledge_files --",
];

/// Where each forged token is sent: a file route and a memory route, both of
/// which a valid token would read (200).
const FORGED_ON: [&str; 2] = [
    "/api/v1/knowledge/files?limit=1",
    "/api/v1/memory?session_id=gonogo-forged&limit=1",
];

fn rejected() -> Expect {
    Expect::problem(401, "invalid_token").invalid_token_challenge()
}

async fn forged(ctx: &Ctx, spec: CaseSpec, kind: BadToken) -> CaseReport {
    forged_all(ctx, spec, &[kind]).await
}

/// Each of `kinds` must be refused; one the run cannot forge skips the case.
async fn forged_all(ctx: &Ctx, spec: CaseSpec, kinds: &[BadToken]) -> CaseReport {
    let mut c = CaseRun::start(ctx, spec);
    for &kind in kinds {
        match bad_token(kind, ctx.tokens().secret()) {
            None => {
                c.skip("needs the target's JWT secret (SMOKE_JWT_SECRET) to forge this token");
                break;
            }
            Some(token) => {
                // "Every knowledge and memory route needs a valid JWT": a verifier
                // of its own on one route family is as likely as on the other.
                for path in FORGED_ON {
                    let req = ApiRequest::get(path).bearer(&token);
                    if c.call(req, rejected())
                        .await
                        .is_some_and(|r| r.status < 400)
                    {
                        c.violation(format!("a {kind:?} token was accepted on {path}"));
                    }
                }
            }
        }
    }
    c.finish()
}

/// Registered in [`crate::cases::registry`].
pub const GROUP: Group = Group::main(GATE_2, CASES, |c| run(c).boxed());
/// Registered in [`crate::cases::registry`], after every main group.
pub const FINAL: Group = Group::finally(GATE_2, FINAL_CASES, |c| run_final(c).boxed());

pub async fn run(ctx: Ctx) -> Vec<CaseReport> {
    let mut out = vec![
        forged(&ctx, ALG_NONE, BadToken::AlgNone).await,
        forged_all(
            &ctx,
            EXPIRED,
            &[BadToken::Expired, BadToken::ExpiredAMinuteAgo],
        )
        .await,
        forged(&ctx, BAD_SIG, BadToken::BadSignature).await,
        forged(&ctx, WRONG_AUD, BadToken::WrongAudience).await,
        forged(&ctx, OTHER_ALG, BadToken::OtherAlgorithm).await,
        forged(&ctx, SERVICE_ROLE, BadToken::ServiceRole).await,
        forged(&ctx, BAD_SUB, BadToken::NonUuidSubject).await,
        forged(&ctx, FUTURE_IAT, BadToken::IssuedInFuture).await,
        forged(&ctx, FUTURE_NBF, BadToken::NotYetValid).await,
    ];
    let (a, b) = match ctx.tenant_pair("gate_2/owner", "gate_2/intruder").await {
        Ok(pair) => pair,
        Err(e) => {
            out.extend(failed_all(
                &[CROSS_GET, CROSS_DELETE, SQLISH, pages::PAGES],
                &e,
            ));
            return out;
        }
    };
    let word = api::unique_word("secret");
    let mut get = CaseRun::start(&ctx, CROSS_GET);
    let Some(id) = crate::cases::suite_b::upload_text(&mut get, &a, &word).await else {
        get.fail("the owner's upload failed, so cross-tenant access could not be tried");
        out.push(get.finish());
        out.extend(failed_all(
            &[CROSS_DELETE, SQLISH, pages::PAGES],
            "the owner's upload failed",
        ));
        return out;
    };
    for path in [
        format!("{}/{id}", api::FILES),
        format!("{}/{id}/content", api::FILES),
    ] {
        let req = ApiRequest::get(path).bearer(&b.token);
        if get
            .call(req, Expect::problem(404, "not_found"))
            .await
            .is_some_and(|r| r.status < 300)
        {
            get.violation(format!("another tenant read file {id}"));
        }
    }
    out.push(get.finish());

    let mut del = CaseRun::start(&ctx, CROSS_DELETE);
    if del
        .call(api::delete_file(&b, &id), Expect::problem(404, "not_found"))
        .await
        .is_some_and(|r| r.status < 300)
    {
        del.violation(format!("another tenant deleted file {id}"));
    }
    if del
        .call(api::get_file(&a, &id), Expect::status(200))
        .await
        .is_some_and(|r| r.status == 404)
    {
        del.violation(format!("file {id} did not survive another tenant's DELETE"));
    }
    out.push(del.finish());

    let mut sql = CaseRun::start(&ctx, SQLISH);
    for probe in SEARCH_PROBES
        .iter()
        .map(|p| p.to_string())
        .chain([format!("{word}' OR '1'='1")])
    {
        let r = sql
            .call_with(
                api::search(&b, &probe),
                "200 or 400 with a problem body",
                |r| match r.status {
                    200 => vec![],
                    400 => crate::check::expect::problem_mismatches(r, None),
                    s => vec![format!("status {s} for search text {probe:?}")],
                },
            )
            .await;
        if r.and_then(|r| r.json())
            .is_some_and(|j| j.to_string().contains(&id))
        {
            sql.violation(format!(
                "search text {probe:?} returned another tenant's file"
            ));
        }
    }
    out.push(sql.finish());
    out.push(pages::run(&ctx, &a, &b).await);
    out
}

/// Scans every error response of the run (body and headers) for leaks.
pub async fn run_final(ctx: Ctx) -> Vec<CaseReport> {
    let mut c = CaseRun::start(&ctx, SCAN);
    let secret = ctx.tokens().secret().map(str::to_owned);
    let mut errors = 0;
    for ex in ctx.log() {
        let Ok(r) = &ex.response else { continue };
        if r.status < 400 {
            continue;
        }
        errors += 1;
        let headers: String = r
            .headers
            .iter()
            .map(|(k, v)| format!("{k}: {v}\n"))
            .collect();
        let found = leaks::scan(&format!("{headers}\n{}", r.text()), secret.as_deref());
        if !found.is_empty() {
            c.violation(format!(
                "{} {} → {}: {}",
                ex.request.method,
                ex.request.path,
                r.status,
                found.join(", ")
            ));
            c.cite(ex.clone(), "no leak in an error");
        }
    }
    if errors == 0 {
        c.skip("the run collected no error responses to scan");
    }
    c.note(format!(
        "scanned {errors} error responses (bodies and headers)"
    ));
    vec![c.finish()]
}
