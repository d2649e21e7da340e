//! Suite A — authentication and the headers every API response carries.

use futures::FutureExt;

use crate::cases::SUITE_A;
use crate::check::api;
use crate::check::ctx::{failed_all, CaseReport, CaseRun, CaseSpec, Ctx};
use crate::check::expect::Expect;
use crate::check::registry::Group;
use crate::check::tokens::{bad_token, BadToken};
use crate::check::transport::ApiRequest;

pub const NO_JWT: CaseSpec = CaseSpec {
    id: "suite_a::no_jwt_returns_401",
    clauses: &["auth.missing-token", "errors.suggestion"],
    title: "No Authorization header gives 401 missing_token with a bare Bearer challenge",
};
pub const INVALID_JWT: CaseSpec = CaseSpec {
    id: "suite_a::invalid_jwt_returns_401",
    clauses: &["auth.invalid-token"],
    title:
        "A malformed token gives 401 invalid_token with error=\"invalid_token\" in the challenge",
};
pub const VALID_JWT: CaseSpec = CaseSpec {
    id: "suite_a::valid_jwt_returns_200",
    clauses: &["files.list", "headers.no-store", "headers.nosniff"],
    title: "A valid token lists files with 200, no-store and nosniff",
};
pub const REQUEST_ID: CaseSpec = CaseSpec {
    id: "suite_a::x_request_id_present",
    clauses: &["headers.request-id.every"],
    title: "X-Request-ID is present on a success and on an error",
};
pub const RATE_HEADERS: CaseSpec = CaseSpec {
    id: "suite_a::rate_limit_headers_well_formed", clauses: &["ratelimit.headers"],
    title: "X-RateLimit-Limit/Remaining/Reset and RateLimit/RateLimit-Policy are present and consistent",
};
pub const CASES: &[CaseSpec] = &[NO_JWT, INVALID_JWT, VALID_JWT, REQUEST_ID, RATE_HEADERS];

/// Seconds of disagreement tolerated between our clock and the server's (rounding
/// of epoch seconds, remote clock skew) when checking X-RateLimit-Reset.
pub const CLOCK_SLACK_S: i64 = 5;

/// Registered in [`crate::cases::registry`].
pub const GROUP: Group = Group::main(SUITE_A, CASES, |c| run(c).boxed());

pub async fn run(ctx: Ctx) -> Vec<CaseReport> {
    let tenant = match ctx.tenant("suite_a/user").await {
        Ok(t) => t,
        Err(e) => return failed_all(CASES, &e),
    };
    let mut out = Vec::new();

    let mut c = CaseRun::start(&ctx, NO_JWT);
    c.call(
        ApiRequest::get(format!("{}?limit=1", api::FILES)),
        Expect::problem(401, "missing_token").bare_challenge(),
    )
    .await;
    out.push(c.finish());

    let mut c = CaseRun::start(&ctx, INVALID_JWT);
    let garbage = bad_token(BadToken::Garbage, None).unwrap_or_default();
    c.call(
        ApiRequest::get(format!("{}?limit=1", api::FILES)).bearer(&garbage),
        Expect::problem(401, "invalid_token").invalid_token_challenge(),
    )
    .await;
    out.push(c.finish());

    let mut c = CaseRun::start(&ctx, VALID_JWT);
    c.call_with(
        api::list(&tenant, 10),
        "200 {items, next_cursor} + no-store + nosniff",
        |r| {
            let mut m = Expect::status(200)
                .header_contains("cache-control", "no-store")
                .header_eq("x-content-type-options", "nosniff")
                .mismatches(r);
            let body = r.json().unwrap_or_default();
            if !body["items"].is_array() || body.get("next_cursor").is_none() {
                m.push("body is not {items: [...], next_cursor}".into());
            }
            m
        },
    )
    .await;
    out.push(c.finish());

    let mut c = CaseRun::start(&ctx, REQUEST_ID);
    c.call(
        api::list(&tenant, 1),
        Expect::status(200).header("x-request-id"),
    )
    .await;
    c.call(
        ApiRequest::get(api::FILES),
        Expect::status(401).header("x-request-id"),
    )
    .await;
    out.push(c.finish());

    let mut c = CaseRun::start(&ctx, RATE_HEADERS);
    c.call_with(
        api::list(&tenant, 1),
        "200 + consistent rate-limit headers",
        rate_header_mismatches,
    )
    .await;
    out.push(c.finish());
    out
}

/// The rate-limit headers of one authenticated response, checked against each other.
pub fn rate_header_mismatches(r: &crate::check::transport::ApiResponse) -> Vec<String> {
    let mut m = Expect::status(200).mismatches(r);
    let now = chrono::Utc::now().timestamp();
    let limit = r.header_u64("x-ratelimit-limit");
    let remaining = r.header_u64("x-ratelimit-remaining");
    let reset = r.header_u64("x-ratelimit-reset");
    match (limit, remaining, reset) {
        (Some(l), Some(rem), Some(reset)) => {
            if l == 0 || rem >= l {
                m.push(format!(
                    "Remaining {rem} not below Limit {l} after a counted request"
                ));
            }
            let reset = reset as i64;
            // Reset is an epoch second when the bucket is full again: after now, within an hour.
            if reset < now - CLOCK_SLACK_S || reset > now + 3600 + CLOCK_SLACK_S {
                m.push(format!(
                    "X-RateLimit-Reset {reset} is not within the next hour (now {now})"
                ));
            }
            let policy = r.header("ratelimit-policy").unwrap_or("");
            if !policy.contains(&format!("q={l}")) || !policy.contains("w=3600") {
                m.push(format!(
                    "RateLimit-Policy {policy:?} does not state q={l};w=3600"
                ));
            }
            let rl = r.header("ratelimit").unwrap_or("");
            if !rl.contains(&format!("r={rem}")) || !rl.contains("t=") {
                m.push(format!("RateLimit {rl:?} does not state r={rem} and t="));
            }
        }
        _ => m.push(format!(
            "X-RateLimit-* missing or not integers: limit={:?} remaining={:?} reset={:?}",
            r.header("x-ratelimit-limit"),
            r.header("x-ratelimit-remaining"),
            r.header("x-ratelimit-reset")
        )),
    }
    m
}
