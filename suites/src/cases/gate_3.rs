//! Gate 3 — UX and telemetry: request ids everywhere (and echoed), rate-limit
//! arithmetic, and a suggestion on every error.

use futures::FutureExt;

use crate::cases::GATE_3;
use crate::check::api;
use crate::check::ctx::{failed_all, CaseReport, CaseRun, CaseSpec, Ctx};
use crate::check::expect::{problem_mismatches, refused_before_auth, Expect};
use crate::check::registry::Group;
use crate::check::transport::{route_class, ApiRequest, ApiResponse};

pub mod operations;

pub const ECHOED: CaseSpec = CaseSpec {
    id: "gate_3::x_request_id_echoed",
    clauses: &["headers.request-id.echo"],
    title: "A valid inbound X-Request-ID is echoed, an invalid one replaced, on success and error",
};
pub const ARITHMETIC: CaseSpec = CaseSpec { id: "gate_3::rate_limit_remaining_falls_by_one", clauses: &["ratelimit.remaining"], title: "Remaining falls by exactly one per request; Limit constant; Reset in the future and within the window" };
pub const EVERY_ID: CaseSpec = CaseSpec {
    id: "gate_3::x_request_id_on_every_response",
    clauses: &["headers.request-id.every", "errors.refused-before-auth.marked"],
    title: "Every response the run saw, errors included, carried X-Request-ID (a refusal before the token is read should)",
};
pub const RETRY_AFTER: CaseSpec = CaseSpec {
    id: "gate_3::retry_after_within_reset",
    clauses: &["ratelimit.429", "ratelimit.gcra"],
    title: "Every 429 had Retry-After >= 1, at most one emission interval (3600/limit s) and not past X-RateLimit-Reset; a per-user 429's Retry-After is not before the wait its own time to full gives (rounded up is allowed, early is not)",
};
pub const SUGGESTIONS: CaseSpec = CaseSpec {
    id: "gate_3::suggestion_on_every_error",
    clauses: &["errors.suggestion", "errors.problem-json", "errors.code", "errors.refused-before-auth.marked"],
    title: "Every error the run saw was problem+json with type, title, its status, a snake_case code and a suggestion",
};
pub const OUTSIDE: CaseSpec = CaseSpec { id: "gate_3::unknown_route_and_wrong_method_are_problems", clauses: &["headers.request-id.every", "errors.problem-json"], title: "An unknown route (404) and a wrong method (405) answer problem+json with X-Request-ID and a suggestion" };
pub const MALFORMED: CaseSpec = CaseSpec {
    id: "gate_3::malformed_input_gets_400_with_suggestion", clauses: &["errors.malformed-4xx", "files.invalid-id", "files.list.limit", "search.limits"],
    title: "A bad id, bad limits, wrong JSON types, blank or oversized queries and broken JSON give a 4xx problem, never a 5xx",
};
pub const CASES: &[CaseSpec] = &[ECHOED, ARITHMETIC, OUTSIDE, MALFORMED];
pub const RATE_EVERYWHERE: CaseSpec = CaseSpec { id: "gate_3::rate_limit_headers_on_every_api_response", clauses: &["ratelimit.headers", "errors.refused-before-auth"], title: "Every authenticated knowledge response the run saw, 2xx and 4xx alike, carried X-RateLimit-Limit/Remaining/Reset (a refusal before the token is read is not one)" };
pub const SECURITY_HEADERS: CaseSpec = CaseSpec { id: "gate_3::security_headers_on_every_response", clauses: &["headers.nosniff", "headers.no-store", "errors.refused-before-auth.marked"], title: "Every response carried X-Content-Type-Options: nosniff; every authenticated one Cache-Control: no-store" };
pub const FINAL_CASES: &[CaseSpec] = &[
    EVERY_ID,
    RETRY_AFTER,
    SUGGESTIONS,
    RATE_EVERYWHERE,
    SECURITY_HEADERS,
];

/// A per-user 429's Retry-After that ends before one request is admitted, as
/// the 429's own headers tell: a bucket `t` seconds from full (`RateLimit` t=,
/// or X-RateLimit-Reset less the time received) admits one request once it is
/// no more than limit - 1 intervals from full, that is after t - (limit - 1) *
/// 3600/limit seconds. Whole seconds on each header (and, for Reset, the clocks'
/// disagreement) are allowed for; a Retry-After rounded up is never early.
fn too_early(r: &ApiResponse, ra: u64, received_at: f64) -> Option<String> {
    let limit = r.header_u64("x-ratelimit-limit").filter(|l| *l > 0)? as f64;
    let full_but_one = (limit - 1.0) * 3600.0 / limit;
    let by_t = time_to_full(r).map(|t| (t - full_but_one, 1.0, "RateLimit t="));
    let by_reset = r.header_u64("x-ratelimit-reset").map(|reset| {
        (
            reset as f64 - received_at - full_but_one,
            1.0 + SLACK,
            "X-RateLimit-Reset",
        )
    });
    let (wait, _, from) = [by_t, by_reset]
        .into_iter()
        .flatten()
        .find(|(wait, slack, _)| ra as f64 + slack < *wait)?;
    Some(format!(
        "Retry-After {ra} s, but the 429's {from} leaves {wait:.0} s until one request is admitted (GCRA: time to full less (limit - 1) intervals): a client that waits Retry-After is refused again"
    ))
}

/// `t=` of the `RateLimit` header: seconds until the allowance is full again.
pub fn time_to_full(r: &ApiResponse) -> Option<f64> {
    r.header("ratelimit")?
        .split(';')
        .find_map(|p| p.trim().strip_prefix("t="))?
        .trim()
        .parse()
        .ok()
}

/// Tolerance between our clock and the server's, in seconds.
const SLACK: f64 = crate::cases::suite_a::CLOCK_SLACK_S as f64;
/// Sequential requests in the arithmetic probe.
const PROBES: u64 = 4;

/// Registered in [`crate::cases::registry`].
pub const GROUP: Group = Group::main(GATE_3, CASES, |c| run(c).boxed());
/// Registered in [`crate::cases::registry`], after every main group.
pub const FINAL: Group = Group::finally(GATE_3, FINAL_CASES, |c| run_final(c).boxed());

pub async fn run(ctx: Ctx) -> Vec<CaseReport> {
    let t = match ctx.tenant("gate_3/user").await {
        Ok(t) => t,
        Err(e) => return failed_all(CASES, &e),
    };
    let mut c = CaseRun::start(&ctx, ECHOED);
    let id = format!("gonogo-{}", uuid::Uuid::new_v4());
    c.call(
        api::list(&t, 1).header("x-request-id", &id),
        Expect::status(200).header_eq("x-request-id", &id),
    )
    .await;
    let id2 = format!("gonogo.err_{}", uuid::Uuid::new_v4().simple());
    c.call(
        ApiRequest::get(api::FILES).header("x-request-id", &id2),
        Expect::status(401).header_eq("x-request-id", &id2),
    )
    .await;
    for bad in ["not valid/id", &"x".repeat(129)] {
        c.call_with(
            ApiRequest::get("/health").header("x-request-id", bad),
            "200 + a fresh X-Request-ID",
            |r| match r.header("x-request-id") {
                None => vec!["X-Request-ID missing".into()],
                Some(got) if got == bad => vec![format!("invalid X-Request-ID {bad:?} was echoed")],
                Some(got) if got.parse::<uuid::Uuid>().is_err() => {
                    vec![format!(
                        "the replacement X-Request-ID {got:?} is not a fresh UUID"
                    )]
                }
                Some(_) => vec![],
            },
        )
        .await;
    }
    // The rule is a property of every id: generated ones at its edges (exactly 128 valid
    // characters; one bad character past the 64th), to /health, which no limit counts.
    let seed = ctx.seed();
    for (id, echoed) in
        crate::check::generated::request_ids(&mut crate::check::generated::rng(seed, ECHOED.id))
    {
        let replay = crate::check::generated::replay(seed);
        c.call_with(
            ApiRequest::get("/health").header("x-request-id", &id),
            if echoed {
                "200 + the X-Request-ID echoed"
            } else {
                "200 + a fresh X-Request-ID"
            },
            |r| match (r.header("x-request-id"), echoed) {
                (None, _) => vec!["X-Request-ID missing".into()],
                (Some(got), true) if got != id => vec![format!(
                    "the valid X-Request-ID {id:?} ({} characters) came back as {got:?} ({replay})",
                    id.len()
                )],
                (Some(got), false) if got == id => vec![format!(
                    "the invalid X-Request-ID {id:?} (a bad character past the 64th) was echoed ({replay})"
                )],
                (Some(got), false) if got.parse::<uuid::Uuid>().is_err() => vec![format!(
                    "the replacement X-Request-ID {got:?} is not a fresh UUID ({replay})"
                )],
                _ => vec![],
            },
        )
        .await;
    }
    if c.passed_so_far() {
        c.note(format!(
            "with 4 generated ids ({})",
            crate::check::generated::replay(seed)
        ));
    }
    let echoed = c.finish();

    let mut c = CaseRun::start(&ctx, ARITHMETIC);
    let mut seen: Vec<(u64, u64, u64, f64)> = Vec::new();
    for _ in 0..PROBES {
        let ex = ctx.send(api::list(&t, 1)).await;
        if let Ok(r) = &ex.response {
            match (
                r.header_u64("x-ratelimit-limit"),
                r.header_u64("x-ratelimit-remaining"),
                r.header_u64("x-ratelimit-reset"),
            ) {
                (Some(l), Some(rem), Some(reset)) => seen.push((l, rem, reset, ex.received_at)),
                _ => c.fail("a response lacked integer X-RateLimit-Limit/Remaining/Reset"),
            }
        }
        c.record(ex, Expect::status(200));
    }
    for w in seen.windows(2) {
        let ((l0, r0, _, _), (l1, r1, _, _)) = (w[0], w[1]);
        c.check(
            l0 == l1,
            format!("X-RateLimit-Limit changed from {l0} to {l1}"),
        );
        c.check(
            r0 == r1 + 1,
            format!("X-RateLimit-Remaining went from {r0} to {r1}, not down by one"),
        );
    }
    for (l, _, reset, at) in &seen {
        let reset = *reset as f64;
        // Reset is when the bucket is full again: not in the past, at most one window ahead.
        c.check(
            reset + SLACK >= *at,
            format!("X-RateLimit-Reset {reset} is in the past"),
        );
        c.check(
            reset <= at + 3600.0 + SLACK,
            format!("X-RateLimit-Reset {reset} is beyond the {l}-request hour window"),
        );
    }
    let arithmetic = c.finish();

    // Errors the router produces before any handler runs still follow the conventions.
    let mut c = CaseRun::start(&ctx, OUTSIDE);
    let problem = |status| {
        move |r: &crate::check::transport::ApiResponse| {
            let mut m = Expect::status(status)
                .header("x-request-id")
                .header_eq("x-content-type-options", "nosniff")
                .mismatches(r);
            m.extend(problem_mismatches(r, None));
            m
        }
    };
    c.call_with(
        ApiRequest::get("/api/v1/no-such-route").bearer(&t.token),
        "404 problem + X-Request-ID",
        problem(404),
    )
    .await;
    c.call_with(
        ApiRequest::new(http::Method::PUT, api::SEARCH).bearer(&t.token),
        "405 problem + X-Request-ID",
        problem(405),
    )
    .await;
    let outside = c.finish();

    let mut c = CaseRun::start(&ctx, MALFORMED);
    let bad_id = format!("{}/not-a-uuid", api::FILES);
    c.call(
        ApiRequest::get(&bad_id).bearer(&t.token),
        Expect::problem(400, "invalid_id"),
    )
    .await;
    c.call(
        ApiRequest::delete(&bad_id).bearer(&t.token),
        Expect::problem(400, "invalid_id"),
    )
    .await;
    let client_error = |r: &crate::check::transport::ApiResponse| {
        let mut m = problem_mismatches(r, None);
        if !(400..500).contains(&r.status) || matches!(r.status, 401 | 404 | 429) {
            m.insert(
                0,
                format!("status {} instead of a 4xx for malformed input", r.status),
            );
        }
        m
    };
    for limit in ["0", "101", "abc"] {
        let req = ApiRequest::get(format!("{}?limit={limit}", api::FILES)).bearer(&t.token);
        c.call_with(req, "4xx problem", client_error).await;
    }
    let long = "x".repeat(513);
    for body in [
        serde_json::json!(["fox", 5]),
        serde_json::json!({"query": 5}),
        serde_json::json!({"query": ""}),
        serde_json::json!({"query": long}),
    ] {
        let req = ApiRequest::post(api::SEARCH).bearer(&t.token).json(body);
        c.call_with(req, "4xx problem", client_error).await;
    }
    let broken = ApiRequest::post(api::SEARCH)
        .bearer(&t.token)
        .raw("application/json", &b"{\"query\": "[..]);
    c.call_with(broken, "4xx problem", client_error).await;
    vec![echoed, arithmetic, outside, c.finish()]
}

pub async fn run_final(ctx: Ctx) -> Vec<CaseReport> {
    let log = ctx.log();
    let mut ids = CaseRun::start(&ctx, EVERY_ID);
    let mut retry = CaseRun::start(&ctx, RETRY_AFTER);
    let mut sugg = CaseRun::start(&ctx, SUGGESTIONS);
    let mut rate = CaseRun::start(&ctx, RATE_EVERYWHERE);
    let mut sec = CaseRun::start(&ctx, SECURITY_HEADERS);
    let (mut responses, mut refusals, mut errors, mut counted) = (0, 0, 0, 0);
    for ex in &log {
        let Ok(r) = &ex.response else { continue };
        responses += 1;
        let what = format!("{} {} → {}", ex.request.method, ex.request.path, r.status);
        // Refused before its token was read: not an authenticated response, and
        // its X-Request-ID, nosniff and problem body are only a *should*.
        let early = refused_before_auth(ex);
        let finding = |run: &mut CaseRun, message: String| {
            if early {
                run.warn(format!(
                    "{message} (refused before the token was read: a should)"
                ));
            } else {
                run.fail(message);
            }
        };
        if r.header("x-request-id").is_none_or(|v| v.is_empty()) {
            finding(&mut ids, format!("{what}: no X-Request-ID"));
            ids.cite(ex.clone(), "X-Request-ID present");
        }
        // Authenticated API response: a token was sent and accepted, on a knowledge operation
        // (router-level 404/405 for unknown routes never reach authentication or the limiter).
        let api_route = matches!(
            route_class(&ex.request.method, &ex.request.path),
            "search" | "upload" | "files" | "memory"
        );
        let authenticated =
            ex.request.bearer_token().is_some() && r.status != 401 && api_route && !early;
        if authenticated {
            counted += 1;
            let missing: Vec<&str> = [
                "x-ratelimit-limit",
                "x-ratelimit-remaining",
                "x-ratelimit-reset",
            ]
            .into_iter()
            .filter(|h| r.header_u64(h).is_none())
            .chain(
                ["ratelimit-policy", "ratelimit"]
                    .into_iter()
                    .filter(|h| r.header(h).is_none_or(|v| v.trim().is_empty())),
            )
            .collect();
            if !missing.is_empty() {
                rate.fail(format!("{what}: missing {}", missing.join(", ")));
                rate.cite(ex.clone(), "X-RateLimit-* present");
            }
        }
        let mut bad = Vec::new();
        if r.header("x-content-type-options") != Some("nosniff") {
            bad.push("no X-Content-Type-Options: nosniff");
        }
        if authenticated
            && !r
                .header("cache-control")
                .is_some_and(|v| v.contains("no-store"))
        {
            bad.push("no Cache-Control: no-store");
        }
        if !bad.is_empty() {
            finding(&mut sec, format!("{what}: {}", bad.join(", ")));
            sec.cite(ex.clone(), "nosniff (+ no-store when authenticated)");
        }
        if r.status >= 400 {
            errors += 1;
            let m = problem_mismatches(r, None);
            if !m.is_empty() {
                finding(&mut sugg, format!("{what}: {}", m.join("; ")));
                sugg.cite(ex.clone(), "problem+json with code and suggestion");
            }
        }
        if r.status == 429 {
            refusals += 1;
            let ra = r.header_u64("retry-after");
            let reset = r.header_u64("x-ratelimit-reset");
            // GCRA with burst = limit admits one request again one emission interval later.
            let interval = r
                .header_u64("x-ratelimit-limit")
                .filter(|l| *l > 0)
                .map(|l| 3600_u64.div_ceil(l));
            let bad = match (ra, reset) {
                (None, _) | (Some(0), _) => Some("Retry-After missing or below 1".to_string()),
                (Some(ra), _) if interval.is_some_and(|i| ra > i + 1) => Some(format!(
                    "Retry-After {ra} s is longer than one emission interval ({} s): one request is admitted again after that",
                    interval.unwrap_or_default()
                )),
                (Some(ra), Some(reset)) if ex.received_at + ra as f64 > reset as f64 + SLACK => {
                    Some(format!(
                        "Retry-After {ra} s ends after X-RateLimit-Reset {reset}"
                    ))
                }
                (Some(ra), _) => api_route
                    .then(|| too_early(r, ra, ex.received_at))
                    .flatten(),
            };
            if let Some(bad) = bad {
                retry.fail(format!("{what}: {bad}"));
                retry.cite(ex.clone(), "Retry-After >= 1 and not past Reset");
            }
        }
    }
    ids.note(format!("checked {responses} responses"));
    retry.note(format!("checked {refusals} 429 responses"));
    sugg.note(format!("checked {errors} error responses"));
    rate.note(format!(
        "checked {counted} authenticated knowledge responses"
    ));
    sec.note(format!("checked {responses} responses"));
    if responses == 0 {
        ids.skip("the run saw no responses");
    }
    if refusals == 0 {
        retry.skip("the run saw no 429 to check");
    }
    if errors == 0 {
        sugg.skip("the run saw no error responses");
    }
    if counted == 0 {
        rate.skip("the run saw no authenticated knowledge response");
    }
    if responses == 0 {
        sec.skip("the run saw no responses");
    }
    vec![
        ids.finish(),
        retry.finish(),
        sugg.finish(),
        rate.finish(),
        sec.finish(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 429 of a 100-an-hour bucket a full hour from full: one request is admitted after 36 s.
    fn refusal(received_at: f64) -> ApiResponse {
        let reset = (received_at as u64 + 3600).to_string();
        ApiResponse {
            status: 429,
            headers: [
                ("x-ratelimit-limit", "100"),
                ("x-ratelimit-reset", reset.as_str()),
                ("ratelimit", "\"hourly\";r=0;t=3600"),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            body: Default::default(),
        }
    }

    #[test]
    fn a_retry_after_before_the_gcra_wait_is_too_early_and_rounding_up_is_not() {
        let at = 1_800_000_000.0;
        for ra in [35, 36, 37, 60] {
            assert_eq!(too_early(&refusal(at), ra, at), None, "Retry-After {ra}");
        }
        for ra in [1, 18, 30] {
            assert!(
                too_early(&refusal(at), ra, at).is_some(),
                "Retry-After {ra}"
            );
        }
        // Without RateLimit t=, Reset judges, with the clocks' slack.
        let mut r = refusal(at);
        r.headers.retain(|(k, _)| k != "ratelimit");
        assert_eq!(too_early(&r, 30, at), None);
        assert!(too_early(&r, 18, at).is_some());
    }
}
