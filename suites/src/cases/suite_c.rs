//! Suite C — the per-user rate limit: a tenant's first `limit` requests pass,
//! the next is refused, and another tenant is unaffected.

use futures::FutureExt;

use crate::cases::SUITE_C;
use crate::check::api;
use crate::check::ctx::{failed_all, skipped_all, CaseReport, CaseRun, CaseSpec, Ctx};
use crate::check::expect::Expect;
use crate::check::registry::Group;
use crate::check::tokens::Tenant;

pub const FIRST_100: CaseSpec = CaseSpec {
    id: "suite_c::user_a_requests_1_to_100_succeed",
    clauses: &["ratelimit.per-user", "ratelimit.remaining"],
    title: "User A's first 100 (the advertised limit) requests within the hour succeed, the last of them leaving X-RateLimit-Remaining 0",
};
pub const REQUEST_101: CaseSpec = CaseSpec {
    id: "suite_c::user_a_request_101_returns_429",
    clauses: &["ratelimit.per-user", "ratelimit.429"],
    title: "User A's request 101 is refused with 429 rate_limited and Retry-After",
};
pub const B_NEXT: CaseSpec = CaseSpec {
    id: "suite_c::user_b_next_request_succeeds",
    clauses: &["ratelimit.per-user"],
    title: "User B's next request succeeds: limits are per user",
};
pub const CASES: &[CaseSpec] = &[FIRST_100, REQUEST_101, B_NEXT];

/// The contract's default, used when the target does not advertise one.
pub const DEFAULT_LIMIT: u64 = 100;
/// Requests in flight at once while exhausting a bucket: also exercises atomicity.
const CONCURRENCY: usize = 10;

/// A spent allowance: the advertised limit, and the lowest X-RateLimit-Remaining
/// the admitted requests showed (`None` when none showed one).
pub struct Spent {
    pub limit: u64,
    pub lowest_remaining: Option<u64>,
}

/// Spends `tenant`'s whole allowance, each request expected to be 200.
pub async fn exhaust(c: &mut CaseRun, tenant: &Tenant) -> Spent {
    let first = c.call(api::list(tenant, 1), Expect::status(200)).await;
    let remaining = |r: &crate::check::transport::ApiResponse| {
        r.header_u64("x-ratelimit-remaining")
            .filter(|_| r.status == 200)
    };
    let mut lowest = first.as_ref().and_then(remaining);
    // A remote target may be configured with another limit: believe its header, within reason.
    let limit = first
        .and_then(|r| r.header_u64("x-ratelimit-limit"))
        .filter(|l| (1..=1000).contains(l))
        .unwrap_or(DEFAULT_LIMIT);
    let mut sent = 1;
    while sent < limit {
        let n = CONCURRENCY.min((limit - sent) as usize);
        let ctx = c.ctx().clone();
        let batch = futures::future::join_all((0..n).map(|_| ctx.send(api::list(tenant, 1)))).await;
        for ex in batch {
            let seen = ex.response.as_ref().ok().and_then(remaining);
            lowest = lowest.into_iter().chain(seen).min();
            c.record(ex, Expect::status(200));
        }
        sent += n as u64;
    }
    Spent {
        limit,
        lowest_remaining: lowest,
    }
}

/// The refusal once the allowance is spent.
pub fn refused() -> Expect {
    Expect::problem(429, "rate_limited")
        .header_int("retry-after", 1, 3600)
        .header_eq("x-ratelimit-remaining", "0")
        .header("x-request-id")
}

/// Registered in [`crate::cases::registry`].
pub const GROUP: Group = Group::main(SUITE_C, CASES, |c| run(c).boxed());

pub async fn run(ctx: Ctx) -> Vec<CaseReport> {
    let (a, b) = match ctx.tenant_pair("suite_c/user_a", "suite_c/user_b").await {
        Ok(pair) => pair,
        Err(e) => return failed_all(CASES, &e),
    };
    let mut out = Vec::new();
    let mut c = CaseRun::start(&ctx, FIRST_100);
    let Spent {
        limit,
        lowest_remaining,
    } = exhaust(&mut c, &a).await;
    // The next cases need the allowance spent, not its header right.
    let ok = c.passed_so_far();
    // "X-RateLimit-Remaining is the allowance after counting this request": the
    // request that spends the last of it leaves 0, not the count before it.
    if ok {
        c.check(
            lowest_remaining == Some(0),
            format!(
                "after {limit} admitted requests the lowest X-RateLimit-Remaining was {lowest_remaining:?}, not 0: the last request was not counted in its own answer"
            ),
        );
    }
    out.push(c.finish());
    if !ok {
        out.extend(skipped_all(
            &CASES[1..],
            "user A's first requests did not all succeed",
        ));
        return out;
    }

    let mut c = CaseRun::start(&ctx, REQUEST_101);
    if c.call(api::list(&a, 1), refused())
        .await
        .is_some_and(|r| r.status == 200)
    {
        c.fail(format!(
            "request {} was admitted although the limit is {limit}",
            limit + 1
        ));
    }
    out.push(c.finish());

    let mut c = CaseRun::start(&ctx, B_NEXT);
    c.call(
        api::list(&b, 1),
        Expect::status(200).header("x-ratelimit-remaining"),
    )
    .await;
    out.push(c.finish());
    out
}
