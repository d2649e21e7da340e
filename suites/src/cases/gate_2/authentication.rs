//! Gate 2, authentication beyond refusals: the token variants the contract
//! requires to be *accepted* (an implementation that rejects too much is as
//! broken as one that accepts too much), one bucket per user rather than per
//! token, and the anonymous-token endpoint: its token, and its per-IP limit.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use futures::FutureExt;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::cases::GATE_2;
use crate::check::api;
use crate::check::ctx::{skipped, CaseReport, CaseRun, CaseSpec, Ctx};
use crate::check::expect::Expect;
use crate::check::registry::Group;
use crate::check::tokens::{claims, sign, wait_for};
use crate::check::transport::{ApiRequest, ApiResponse, Exchange};

pub const ACCEPTED: CaseSpec = CaseSpec {
    id: "gate_2::valid_token_variants_accepted",
    clauses: &["auth.audience", "auth.role", "auth.future-iat-nbf"],
    title: "Tokens the contract allows are accepted: aud as an array, no role claim, iat and nbf within the 30 s leeway",
};
pub const PER_USER: CaseSpec = CaseSpec {
    id: "gate_2::two_tokens_of_one_user_share_one_bucket",
    clauses: &["ratelimit.per-user"],
    title:
        "The limit is per user (sub), not per token: two tokens of one user draw on one allowance",
};
pub const ANON_TOKEN: CaseSpec = CaseSpec {
    id: "gate_2::anonymous_token_is_a_fresh_one_hour_user",
    clauses: &["auth.anon.token"],
    title: "POST /api/v1/stream/auth/anon ({} or empty) gives a working 1 h bearer token for a new anonymous user",
};
pub const ANON_LIMIT: CaseSpec = CaseSpec {
    id: "gate_2::anonymous_tokens_are_limited_per_ip",
    clauses: &["auth.anon.ip-limit", "ratelimit.429"],
    title: "The anonymous endpoint refuses an IP's tokens past its hourly limit (30 by default; a deployment may set another, up to 100 judged) with the 429 shape",
};
pub const ANON_CLAIMED_IP: CaseSpec = CaseSpec {
    id: "gate_2::client_sent_forwarding_headers_share_the_ip_allowance",
    clauses: &["auth.anon.ip-limit"],
    title: "With an IP's anonymous allowance spent, requests claiming other addresses in X-Forwarded-For, Forwarded or X-Real-IP are refused too: what the client sends never moves its IP",
};
pub const CASES: &[CaseSpec] = &[ACCEPTED, PER_USER, ANON_TOKEN, ANON_LIMIT, ANON_CLAIMED_IP];

/// Client addresses a request claims (documentation ranges, never the run's
/// own), one per header the contract names; the second XFF puts the claim
/// last, where a server behind no proxy of its own would read "the proxy's" hop.
const CLAIMED: [(&str, &str); 4] = [
    ("x-forwarded-for", "203.0.113.7"),
    ("x-forwarded-for", "203.0.113.8, 198.51.100.24"),
    ("forwarded", "for=198.51.100.23;proto=https"),
    ("x-real-ip", "192.0.2.45"),
];

/// An edit to a valid token's claims.
type EditClaims = fn(&mut Value);

pub const ANON: &str = "/api/v1/stream/auth/anon";
/// The contract's default per-IP allowance of the anonymous endpoint.
pub const ANON_PER_IP: usize = 30;
/// The largest per-IP allowance the limit check judges: a deployment may raise
/// the default, and a limit above this is reported as no limit.
pub const ANON_PROBE_MAX: usize = 100;

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The payload of a JWT, unverified (the server's signature is its own business).
pub fn jwt_payload(token: &str) -> Option<Value> {
    let part = token.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()?).ok()
}

/// Registered in [`crate::cases::registry`].
pub const GROUP: Group = Group::main(GATE_2, CASES, |c| run(c).boxed());

pub async fn run(ctx: Ctx) -> Vec<CaseReport> {
    let mut out = Vec::new();
    let secret = ctx.tokens().secret().map(str::to_owned);

    let mut c = CaseRun::start(&ctx, ACCEPTED);
    match &secret {
        None => c.skip("needs the target's JWT secret (SMOKE_JWT_SECRET) to mint these tokens"),
        Some(s) => {
            let variants: [(&str, EditClaims); 4] = [
                ("aud as an array", |c| {
                    c["aud"] = json!(["authenticated", "other"])
                }),
                ("no role claim", |c| {
                    c.as_object_mut().map(|o| o.remove("role"));
                }),
                ("iat 10 s ahead", |c| c["iat"] = json!(now() + 10)),
                ("nbf 10 s ahead", |c| c["nbf"] = json!(now() + 10)),
            ];
            for (what, edit) in variants {
                let mut claims = claims(Uuid::new_v4());
                edit(&mut claims);
                let req =
                    ApiRequest::get(format!("{}?limit=1", api::FILES)).bearer(&sign(&claims, s));
                c.call_with(req, &format!("200 for a token with {what}"), |r| {
                    Expect::status(200).mismatches(r)
                })
                .await;
            }
        }
    }
    out.push(c.finish());

    let mut c = CaseRun::start(&ctx, PER_USER);
    match &secret {
        None => c.skip(
            "needs the target's JWT secret (SMOKE_JWT_SECRET) to mint two tokens for one user",
        ),
        Some(s) => {
            let sub = Uuid::new_v4();
            let first = sign(&claims(sub), s);
            let mut other = claims(sub);
            other["iat"] = json!(now() - 60);
            other["jti"] = json!(Uuid::new_v4().to_string());
            let second = sign(&other, s);
            let list = |t: &str| ApiRequest::get(format!("{}?limit=1", api::FILES)).bearer(t);
            let a = c.call(list(&first), Expect::status(200)).await;
            let b = c.call(list(&second), Expect::status(200)).await;
            let remaining = |r: &Option<ApiResponse>| {
                r.as_ref()
                    .and_then(|r| r.header_u64("x-ratelimit-remaining"))
            };
            match (remaining(&a), remaining(&b)) {
                (Some(ra), Some(rb)) => {
                    c.check(
                        rb + 1 == ra,
                        format!("the second token of the same sub saw Remaining {rb} after {ra}: the bucket is not the user's"),
                    );
                }
                _ => c.fail("X-RateLimit-Remaining missing"),
            }
        }
    }
    out.push(c.finish());

    let mut c = CaseRun::start(&ctx, ANON_TOKEN);
    let first = c.ctx().send(ApiRequest::post(ANON).json(json!({}))).await;
    if first.response.as_ref().is_ok_and(|r| r.status == 429) {
        out.extend(allowance_spent(&ctx, c, first.clone()));
        out.push(claimed_addresses_refused(&ctx, first).await);
        return out;
    }
    let json_body = c.record_with(
        first,
        "200 {token, token_type: bearer, user_id, expires_at, expires_in: 3600}",
        anon_mismatches,
    );
    let empty_body = c
        .call_with(
            ApiRequest::post(ANON),
            "200 for an empty body",
            anon_mismatches,
        )
        .await;
    let subs: Vec<String> = [&json_body, &empty_body]
        .iter()
        .filter_map(|r| r.as_ref()?.json()?["user_id"].as_str().map(str::to_owned))
        .collect();
    if subs.len() == 2 && subs[0] == subs[1] {
        c.violation("two anonymous tokens were given the same user_id");
    }
    if let Some(token) = json_body
        .as_ref()
        .and_then(|r| r.json()?["token"].as_str().map(str::to_owned))
    {
        c.call(
            ApiRequest::get(format!("{}?limit=1", api::FILES)).bearer(&token),
            Expect::status(200),
        )
        .await;
    }
    out.push(c.finish());

    let mut c = CaseRun::start(&ctx, ANON_LIMIT);
    // The refusal that spent the allowance: the claimed addresses are tried against it.
    let mut spent = None;
    // The run's own tenants come from this endpoint: exhausting it would starve them.
    let needs_secret = "the run's tenants come from the anonymous endpoint; exhausting its per-IP allowance needs the JWT secret";
    if secret.is_none() {
        c.skip(needs_secret);
    } else {
        let mut refused = None;
        // 30 an hour is the contract's default, not a fixed number: a deployment
        // may allow more, so the probe goes on up to a bound it documents.
        for _ in 0..=ANON_PROBE_MAX {
            let ex = c.ctx().send(ApiRequest::post(ANON).json(json!({}))).await;
            match &ex.response {
                Ok(r) if r.status == 200 => continue,
                _ => {
                    refused = Some(ex);
                    break;
                }
            }
        }
        match refused {
            None => c.fail(format!(
                "{} anonymous tokens in a row from one IP were all granted (default limit 30/hour; gonogo judges limits up to {ANON_PROBE_MAX})",
                ANON_PROBE_MAX + 1
            )),
            Some(ex) => {
                let refused = ex.response.as_ref().is_ok_and(|r| r.status == 429);
                spent = refused.then(|| ex.clone());
                c.record(
                    ex,
                    Expect::problem(429, "rate_limited").header("retry-after"),
                )
            }
        }
    }
    out.push(c.finish());
    out.push(match spent {
        Some(refusal) => claimed_addresses_refused(&ctx, refusal).await,
        None if secret.is_none() => skipped(ANON_CLAIMED_IP, needs_secret),
        None => skipped(
            ANON_CLAIMED_IP,
            "this address's anonymous allowance was not seen spent (see the limit check), so another address's cannot be told from it",
        ),
    });
    out
}

/// Retry-After of a refusal, when it is one (at least a second).
fn retry_after(ex: &Exchange) -> Option<u64> {
    ex.response
        .as_ref()
        .ok()?
        .header_u64("retry-after")
        .filter(|s| *s >= 1)
}

/// With this address's allowance spent (`refusal`), a request claiming another
/// client address in a header must be refused as well: one bucket whatever
/// the client says. No request is admitted before Retry-After, so a token
/// granted sooner was drawn from another bucket; close to the refill the
/// refill is waited out and spent first. Each probe is refused and spends nothing.
async fn claimed_addresses_refused(ctx: &Ctx, mut refusal: Arc<Exchange>) -> CaseReport {
    let mut c = CaseRun::start(ctx, ANON_CLAIMED_IP);
    if let Some(secs) = retry_after(&refusal).filter(|s| *s < 3) {
        tokio::time::sleep(std::time::Duration::from_secs(secs)).await;
        for _ in 0..2 {
            let ex = ctx.send(ApiRequest::post(ANON).json(json!({}))).await;
            if ex.response.as_ref().is_ok_and(|r| r.status == 429) {
                refusal = ex;
                break;
            }
        }
    }
    // Without a Retry-After of a second or more (the limit check's finding) every probe is judged.
    // Rounded up, Retry-After may overstate the wait by a second, counted from before the 429 came back.
    let asked_at = refusal.received_at - refusal.latency.as_secs_f64();
    let until = retry_after(&refusal).map_or(f64::INFINITY, |s| asked_at + s as f64 - 1.0);
    let mut judged = 0;
    for (name, value) in CLAIMED {
        let ex = ctx
            .send(ApiRequest::post(ANON).header(name, value).json(json!({})))
            .await;
        if ex.received_at >= until {
            c.note(format!(
                "the request claiming {name}: {value} came back after Retry-After: not judged"
            ));
            continue;
        }
        judged += 1;
        c.record_with(ex, "429: the allowance of the connection's address is spent", |r| {
            match r.status {
                429 => vec![],
                200 => vec![format!(
                    "a token was granted to a request claiming {name}: {value} while this address's allowance is spent (Retry-After still running): a header the client sends moved its client IP"
                )],
                s => vec![format!("status {s}, not the 429 of a spent allowance")],
            }
        });
    }
    if judged == 0 {
        c.skip("every probe came back after the spent allowance's Retry-After");
    }
    c.finish()
}

/// The anonymous endpoint refused this run's first request: an earlier run
/// from this address within the hour spent the allowance (reruns after a fix
/// are the common case). The refusal is itself the limit holding, judged in
/// full; the token's 200 cannot be seen again before Retry-After, so it
/// counts as verified only when an earlier report of the same build says so.
fn allowance_spent(ctx: &Ctx, mut token: CaseRun, refusal: Arc<Exchange>) -> Vec<CaseReport> {
    let retry_after = refusal
        .response
        .as_ref()
        .ok()
        .and_then(|r| r.header_u64("retry-after"));
    match &ctx.earlier().anon_token {
        Some(report) => token.note(format!(
            "verified by {report}, a run of the same build; this run's request was refused (429): an earlier run spent this address's allowance"
        )),
        None => token.skip(format!(
            "this address's anonymous-token allowance is spent (an earlier run within the hour) and no earlier report of this build verified the token; {}",
            wait_for(retry_after)
        )),
    }
    let mut limit = CaseRun::start(ctx, ANON_LIMIT);
    limit.record(
        refusal,
        Expect::problem(429, "rate_limited").header_int("retry-after", 1, 3600),
    );
    limit.note("the first request was refused: the allowance an earlier run spent still holds");
    vec![token.finish(), limit.finish()]
}

/// The anonymous endpoint's answer and the token's claims.
fn anon_mismatches(r: &ApiResponse) -> Vec<String> {
    let mut m = Expect::status(200).mismatches(r);
    if !m.is_empty() {
        return m;
    }
    let b = r.json().unwrap_or_default();
    let user = b["user_id"].as_str().and_then(|s| s.parse::<Uuid>().ok());
    if user.is_none() {
        m.push(format!("user_id {} is not a UUID", b["user_id"]));
    }
    if !b["token_type"]
        .as_str()
        .is_some_and(|t| t.eq_ignore_ascii_case("bearer"))
    {
        m.push(format!("token_type {} is not bearer", b["token_type"]));
    }
    let expires_in = b["expires_in"].as_i64();
    if !expires_in.is_some_and(|e| (3590..=3600).contains(&e)) {
        m.push(format!("expires_in {} is not one hour", b["expires_in"]));
    }
    let expires_at = b["expires_at"].as_i64().or_else(|| {
        b["expires_at"]
            .as_str()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map(|d| d.timestamp())
    });
    if expires_at.is_none_or(|e| (e - now() - 3600).abs() > 60) {
        m.push(format!(
            "expires_at {} is not about an hour from now",
            b["expires_at"]
        ));
    }
    let Some(claims) = b["token"].as_str().and_then(jwt_payload) else {
        m.push("token is not a JWT".into());
        return m;
    };
    if user.is_some() && claims["sub"].as_str() != b["user_id"].as_str() {
        m.push("the token's sub is not user_id".into());
    }
    if claims["role"] != "authenticated" {
        m.push(format!("the token's role is {}", claims["role"]));
    }
    let aud_ok = claims["aud"] == "authenticated"
        || claims["aud"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x == "authenticated"));
    if !aud_ok {
        m.push(format!("the token's aud is {}", claims["aud"]));
    }
    if claims["is_anonymous"] != true {
        m.push("the token does not say is_anonymous: true".into());
    }
    let lifetime = claims["exp"].as_i64().unwrap_or(0) - now();
    if !(3500..=3660).contains(&lifetime) {
        m.push(format!("the token expires in {lifetime} s, not one hour"));
    }
    m
}
