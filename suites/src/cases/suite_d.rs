//! Suite D — errors a user meets: a refused file type and an exhausted allowance,
//! each with a code and an actionable suggestion.

use futures::FutureExt;

use crate::cases::SUITE_D;
use crate::check::api;
use crate::check::ctx::{failed_all, CaseReport, CaseRun, CaseSpec, Ctx};
use crate::check::expect::Expect;
use crate::check::registry::Group;

pub const INVALID_MIME: CaseSpec = CaseSpec {
    id: "suite_d::invalid_mime_type_returns_400_with_suggestion", clauses: &["files.mime-allowed", "errors.suggestion"],
    title: "An unsupported MIME type gives 400 invalid_mime_type with a suggestion listing the allowed types",
};
pub const EXHAUSTION: CaseSpec = CaseSpec {
    id: "suite_d::rate_limit_exhaustion_returns_429_with_retry_after",
    clauses: &["ratelimit.429", "errors.suggestion"],
    title: "An exhausted allowance gives 429 with Retry-After and a suggestion naming the wait",
};
pub const CASES: &[CaseSpec] = &[INVALID_MIME, EXHAUSTION];

/// Registered in [`crate::cases::registry`].
pub const GROUP: Group = Group::main(SUITE_D, CASES, |c| run(c).boxed());

pub async fn run(ctx: Ctx) -> Vec<CaseReport> {
    let (u, x) = match ctx.tenant_pair("suite_d/user", "suite_d/exhausted").await {
        Ok(pair) => pair,
        Err(e) => return failed_all(CASES, &e),
    };
    let mut c = CaseRun::start(&ctx, INVALID_MIME);
    let mut expect = Expect::problem(400, "invalid_mime_type").header("x-request-id");
    for mime in api::ALLOWED_MIME {
        expect = expect.suggestion_mentions(mime);
    }
    c.call(
        api::upload(
            &u,
            "tool.exe",
            "application/x-msdownload",
            &b"MZ\x90\x00binary"[..],
        ),
        expect,
    )
    .await;
    let mime = c.finish();

    let mut c = CaseRun::start(&ctx, EXHAUSTION);
    crate::cases::suite_c::exhaust(&mut c, &x).await;
    c.call_with(
        api::list(&x, 1),
        "429 rate_limited + Retry-After + suggestion naming the wait",
        |r| {
            let mut m = crate::cases::suite_c::refused().mismatches(r);
            let suggestion = r
                .json()
                .and_then(|j| j["suggestion"].as_str().map(str::to_owned))
                .unwrap_or_default();
            if !suggestion.chars().any(|ch| ch.is_ascii_digit()) {
                m.push(format!("suggestion {suggestion:?} does not name the wait"));
            }
            m
        },
    )
    .await;
    vec![mime, c.finish()]
}
