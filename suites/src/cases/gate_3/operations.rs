//! Gate 3, the rest of telemetry and the limiter's arithmetic: the
//! operational endpoints (no token, not counted, their documented shapes, a
//! real Prometheus exposition), every outcome counted, and GCRA's time to full.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::FutureExt;
use serde_json::Value;
use uuid::Uuid;

use crate::cases::gate_3::time_to_full;
use crate::cases::GATE_3;
use crate::check::api;
use crate::check::ctx::{failed_all, CaseReport, CaseRun, CaseSpec, Ctx};
use crate::check::expect::{refused_before_auth, Expect};
use crate::check::registry::Group;
use crate::check::transport::{route_class, ApiRequest, ApiResponse, Exchange};

pub const HEALTH: CaseSpec = CaseSpec {
    id: "gate_3::health_answers_without_a_token",
    clauses: &["ops.health"],
    title: "GET /health is 200 without a token, and with a token that does not verify",
};
pub const READY: CaseSpec = CaseSpec {
    id: "gate_3::ready_reports_every_dependency",
    clauses: &["ops.ready"],
    title: "GET /ready is 200 {ready: true, checks: {database, redis, storage, telemetry: true}}",
};
pub const METRICS: CaseSpec = CaseSpec {
    id: "gate_3::metrics_are_prometheus_with_the_contract_series",
    clauses: &["ops.metrics"],
    title: "GET /metrics is Prometheus text: request counts and a latency histogram by route and status, rate-limit rejections, fail-open admissions, DB and Redis latency; the request and rejection counters moved by what the run caused",
};
pub const UNCOUNTED: CaseSpec = CaseSpec {
    id: "gate_3::operational_endpoints_are_not_rate_limited",
    clauses: &["ops.unlimited"],
    title:
        "Operational endpoints called with a user's token take nothing from that user's allowance",
};
pub const EVERY_OUTCOME: CaseSpec = CaseSpec {
    id: "gate_3::every_outcome_counts_against_the_limit",
    clauses: &["ratelimit.counts-every-request"],
    title: "A 404, a 400 and a 200 each take exactly one request from the allowance",
};
pub const GCRA: CaseSpec = CaseSpec {
    id: "gate_3::time_to_full_grows_by_one_emission_interval",
    clauses: &["ratelimit.gcra", "ratelimit.remaining"],
    title: "Each request adds 3600/limit seconds to RateLimit t= and X-RateLimit-Reset (a token bucket, not a fixed window)",
};
pub const CASES: &[CaseSpec] = &[HEALTH, READY, UNCOUNTED, EVERY_OUTCOME, GCRA];
/// Run last: by then the run has made requests of every kind and been refused with 429s.
pub const FINAL_CASES: &[CaseSpec] = &[METRICS];

/// Seconds of disagreement tolerated in the time arithmetic (rounding, a slow run).
const SLACK_S: f64 = 3.0;

/// Registered in [`crate::cases::registry`].
pub const GROUP: Group = Group::main(GATE_3, CASES, |c| run(c).boxed());
/// Registered in [`crate::cases::registry`], after every main group.
pub const FINAL: Group = Group::finally(GATE_3, FINAL_CASES, |c| run_final(c).boxed());

pub async fn run(ctx: Ctx) -> Vec<CaseReport> {
    let mut out = Vec::new();
    // The counters before the run's requests, for the final scrape to compare (the log keeps it).
    ctx.send(ApiRequest::get("/metrics")).await;

    let mut c = CaseRun::start(&ctx, HEALTH);
    c.call(ApiRequest::get("/health"), Expect::status(200))
        .await;
    // "200 while the process is up": a probe that forwards a stale or foreign
    // Authorization header does not make the process look down.
    c.call_with(
        ApiRequest::get("/health").bearer("not.a.jwt"),
        "200 with a token that does not verify too",
        |r| Expect::status(200).mismatches(r),
    )
    .await;
    out.push(c.finish());

    let mut c = CaseRun::start(&ctx, READY);
    c.call_with(
        ApiRequest::get("/ready"),
        "200 {ready: true, checks: {database, redis, storage, telemetry}: all true}",
        ready_mismatches,
    )
    .await;
    out.push(c.finish());

    let (t, u) = match ctx.tenant_pair("gate_3/ops", "gate_3/limits").await {
        Ok(p) => p,
        Err(e) => {
            out.extend(failed_all(&[UNCOUNTED, EVERY_OUTCOME, GCRA], &e));
            return out;
        }
    };

    let mut c = CaseRun::start(&ctx, UNCOUNTED);
    let before = c.call(api::list(&t, 1), Expect::status(200)).await;
    for path in ["/health", "/ready", "/metrics", "/health", "/health"] {
        c.call_with(
            ApiRequest::get(path).bearer(&t.token),
            "200 with a user's token too",
            |r| Expect::status(200).mismatches(r),
        )
        .await;
    }
    let after = c.call(api::list(&t, 1), Expect::status(200)).await;
    match (remaining(&before), remaining(&after)) {
        (Some(b), Some(a)) => {
            c.check(
                a + 1 == b,
                format!("Remaining went from {b} to {a} across five operational calls and one list: the operational calls were counted"),
            );
        }
        _ => c.fail("X-RateLimit-Remaining missing on the lists around the operational calls"),
    }
    out.push(c.finish());

    let mut c = CaseRun::start(&ctx, EVERY_OUTCOME);
    let mut seen = Vec::new();
    let missing = Uuid::new_v4();
    let requests = [
        (api::list(&u, 1), Expect::status(200)),
        (
            api::get_file(&u, &missing.to_string()),
            Expect::problem(404, "not_found"),
        ),
        (
            api::get_file(&u, "not-a-uuid"),
            Expect::problem(400, "invalid_id"),
        ),
        (api::list(&u, 0), Expect::status(400)),
        (api::list(&u, 1), Expect::status(200)),
    ];
    for (req, expect) in requests {
        seen.push(remaining(&c.call(req, expect).await));
    }
    let counted: Vec<u64> = seen.iter().flatten().copied().collect();
    if counted.len() != seen.len() {
        c.fail("X-RateLimit-Remaining missing on some of the responses");
    } else if counted.windows(2).any(|w| w[1] + 1 != w[0]) {
        c.fail(format!(
            "Remaining across 200, 404, 400, 400, 200 was {counted:?}: each must take exactly one"
        ));
    }
    out.push(c.finish());

    let mut c = CaseRun::start(&ctx, GCRA);
    let mut points = Vec::new();
    for _ in 0..3 {
        let ex = c.ctx().send(api::list(&u, 1)).await;
        c.record(ex.clone(), Expect::status(200));
        if let Ok(r) = &ex.response {
            points.push((ex.received_at, r.clone()));
        }
    }
    gcra_check(&mut c, &points);
    out.push(c.finish());
    out
}

pub async fn run_final(ctx: Ctx) -> Vec<CaseReport> {
    let mut c = CaseRun::start(&ctx, METRICS);
    let last = ctx.send(ApiRequest::get("/metrics")).await;
    c.record_with(
        last.clone(),
        "200 Prometheus text exposition with the contract's series",
        metrics_mismatches,
    );
    counters_moved(&mut c, &ctx.log(), &last, ctx.sole_client());
    vec![c.finish()]
}

/// A scrape's counter families: name → the sum of its series. Request
/// counters are found as the series check finds them (a name with "request",
/// labelled by route and status), rejection counters by rate, limit and a
/// refusal word: the names are the server's own.
fn counter_totals(text: &str) -> (BTreeMap<String, f64>, BTreeMap<String, f64>) {
    let samples: Vec<Sample> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(parse_sample)
        .filter(|(n, _, _)| {
            !["_bucket", "_sum", "_created"]
                .iter()
                .any(|s| n.ends_with(s))
        })
        .collect();
    // A family counts requests when one of its series is labelled by route and status;
    // then every series of it counts (a label value need not look like an API path).
    let counts_requests = |name: &str| {
        name.to_ascii_lowercase().contains("request")
            && samples
                .iter()
                .any(|(n, l, _)| *n == name && routed(l) && statused(l))
    };
    let (mut requests, mut rejections) = (BTreeMap::new(), BTreeMap::new());
    for (name, _, value) in &samples {
        if counts_requests(name) {
            *requests.entry(name.to_string()).or_default() += value;
        }
        if is_named(&name.to_ascii_lowercase(), REJECTIONS) {
            *rejections.entry(name.to_string()).or_default() += value;
        }
    }
    (requests, rejections)
}

/// The most any family moved between two scrapes (`None`: no such family in the last).
fn moved(before: &BTreeMap<String, f64>, after: &BTreeMap<String, f64>) -> Option<(f64, String)> {
    after
        .iter()
        .map(|(name, v)| (v - before.get(name).copied().unwrap_or(0.0), name.clone()))
        .max_by(|a, b| a.0.total_cmp(&b.0))
}

/// Between the run's first scrape of `/metrics` and `last`, the request
/// counter moved by at least the authenticated API requests answered in
/// between, and the rejection counter by at least their 429s. With the run
/// the target's sole client a shortfall fails; on a deployed target another
/// replica may have answered, so it warns.
fn counters_moved(c: &mut CaseRun, log: &[Arc<Exchange>], last: &Exchange, sole: bool) {
    let scrape = |ex: &&Arc<Exchange>| {
        ex.request.path == "/metrics"
            && ex.response.as_ref().is_ok_and(|r| r.status == 200)
            && !std::ptr::eq(ex.as_ref(), last)
    };
    let (Some(first), Ok(after)) = (log.iter().find(scrape), &last.response) else {
        c.note("no earlier scrape of /metrics answered 200: the counters' movement was not judged");
        return;
    };
    let Ok(before) = &first.response else { return };
    let started = |ex: &Exchange| ex.received_at - ex.latency.as_secs_f64();
    let (from, to) = (first.received_at, started(last));
    // Requests wholly between the scrapes that reached the limiter with an accepted token.
    let caused: Vec<&ApiResponse> = log
        .iter()
        .filter(|ex| started(ex) > from && ex.received_at < to)
        .filter(|ex| {
            matches!(
                route_class(&ex.request.method, &ex.request.path),
                "search" | "upload" | "files" | "memory"
            ) && ex.request.bearer_token().is_some()
                && !refused_before_auth(ex)
        })
        .filter_map(|ex| ex.response.as_ref().ok())
        .filter(|r| r.status != 401)
        .collect();
    let refused = caused
        .iter()
        .filter(|r| r.status == 429 && r.json().is_some_and(|b| b["code"] == "rate_limited"))
        .count();
    let (req_before, rej_before) = counter_totals(&before.text());
    let (req_after, rej_after) = counter_totals(&after.text());
    let (mut shortfall, mut kept) = (Vec::new(), Vec::new());
    for (what, made, family) in [
        (
            "authenticated API requests",
            caused.len(),
            moved(&req_before, &req_after),
        ),
        (
            "429 rate_limited refusals",
            refused,
            moved(&rej_before, &rej_after),
        ),
    ] {
        // A missing family is the series check's finding, not this one's.
        match family {
            Some((d, name)) if d < made as f64 => shortfall.push(format!(
                "the run made {made} {what} between two scrapes of /metrics, and {name} moved by {d}"
            )),
            Some((d, name)) => kept.push(format!("{name} +{d} for {made} {what}")),
            None => {}
        }
    }
    if shortfall.is_empty() && !kept.is_empty() {
        c.note(format!(
            "between the run's first scrape of /metrics and its last: {}",
            kept.join(", ")
        ));
    }
    for s in shortfall {
        if sole {
            c.fail(format!(
                "{s}: the counter does not count what the server answers"
            ));
        } else {
            c.warn(format!("{s} (another replica may have answered some)"));
        }
    }
}

fn remaining(r: &Option<ApiResponse>) -> Option<u64> {
    r.as_ref()?.header_u64("x-ratelimit-remaining")
}

/// Over consecutive requests of one user: `t=` and Reset grow by 3600/limit each.
fn gcra_check(c: &mut CaseRun, points: &[(f64, ApiResponse)]) {
    if points.len() < 3 {
        c.fail("fewer than three answered requests");
        return;
    }
    let Some(limit) = points[0]
        .1
        .header_u64("x-ratelimit-limit")
        .filter(|l| *l > 0)
    else {
        c.fail("X-RateLimit-Limit missing");
        return;
    };
    let interval = 3600.0 / limit as f64;
    let mut prev: Option<(f64, f64, f64)> = None;
    for (at, r) in points {
        let (Some(t), Some(reset)) = (time_to_full(r), r.header_u64("x-ratelimit-reset")) else {
            c.fail("RateLimit t= or X-RateLimit-Reset missing");
            return;
        };
        // Reset is the epoch second the allowance is full: now + t (within rounding).
        c.check(
            (reset as f64 - (at + t)).abs() <= SLACK_S,
            format!("X-RateLimit-Reset {reset} is not now + t ({:.0})", at + t),
        );
        if let Some((p_at, p_t, _)) = prev {
            // Full time is an absolute instant that moves one interval later per request.
            let moved = (at + t) - (p_at + p_t);
            c.check(
                (moved - interval).abs() <= SLACK_S,
                format!("one request moved the time to full by {moved:.1} s, not 3600/{limit} = {interval:.1} s"),
            );
        }
        prev = Some((*at, t, reset as f64));
    }
}

fn ready_mismatches(r: &ApiResponse) -> Vec<String> {
    let mut m = Expect::status(200).mismatches(r);
    let b: Value = r.json().unwrap_or_default();
    if b["ready"] != true {
        m.push(format!("ready is {}", b["ready"]));
    }
    for k in ["database", "redis", "storage", "telemetry"] {
        if b["checks"][k] != true {
            m.push(format!("checks.{k} is {}", b["checks"][k]));
        }
    }
    m
}

/// A sample of the text exposition: name, labels, value.
type Sample<'a> = (&'a str, Vec<(&'a str, &'a str)>, f64);

/// Parses one sample line of the text exposition.
fn parse_sample(line: &str) -> Option<Sample<'_>> {
    let (head, value) = match line.rfind('}') {
        Some(close) => (&line[..=close], line[close + 1..].trim()),
        None => line.split_once(' ').map(|(h, v)| (h, v.trim()))?,
    };
    let value = value.split_whitespace().next()?;
    let value: f64 = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    let (name, labels) = match head.split_once('{') {
        Some((n, rest)) => (n, rest.strip_suffix('}').unwrap_or(rest)),
        None => (head, ""),
    };
    let valid_name = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if !valid_name {
        return None;
    }
    let mut out = Vec::new();
    for pair in split_labels(labels) {
        let (k, v) = pair.split_once('=')?;
        out.push((k.trim(), v.trim().trim_matches('"')));
    }
    Some((name, out, value))
}

/// Splits `a="x",b="y,z"` at the commas outside quotes.
fn split_labels(s: &str) -> Vec<&str> {
    let (mut out, mut start, mut quoted, mut escaped) = (Vec::new(), 0, false, false);
    for (i, ch) in s.char_indices() {
        match ch {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if !s[start..].trim().is_empty() {
        out.push(&s[start..]);
    }
    out
}

/// A name (lower case) with one of each group's words.
fn is_named(name: &str, parts: &[&[&str]]) -> bool {
    parts
        .iter()
        .all(|alts| alts.iter().any(|a| name.contains(a)))
}

/// The words of a rate-limit rejection counter's name.
const REJECTIONS: &[&[&str]] = &[
    &["rate"],
    &["limit"],
    &["reject", "refus", "denied", "throttl", "exceed"],
];

fn label_like(labels: &[(&str, &str)], what: &[&str]) -> bool {
    labels
        .iter()
        .any(|(k, _)| what.iter().any(|w| k.contains(w)))
}

/// Labelled by route: a label named so, or a value that is an API path.
fn routed(labels: &[(&str, &str)]) -> bool {
    labels.iter().any(|(_, v)| v.contains("/api/v1/knowledge"))
        || label_like(labels, &["route", "path", "handler", "endpoint"])
}

fn statused(labels: &[(&str, &str)]) -> bool {
    label_like(labels, &["status", "code"])
}

/// The exposition parses, and the series the contract names are there
/// (found by what they are, not by our server's names).
fn metrics_mismatches(r: &ApiResponse) -> Vec<String> {
    let mut m = Expect::status(200).mismatches(r);
    let ct = r.header("content-type").unwrap_or("");
    if !ct.starts_with("text/plain") && !ct.contains("openmetrics") {
        m.push(format!(
            "Content-Type {ct:?} is not the Prometheus text format"
        ));
    }
    let text = r.text();
    let mut samples = Vec::new();
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        match parse_sample(line) {
            Some(s) => samples.push(s),
            None => {
                m.push(format!(
                    "not a Prometheus sample line: {:?}",
                    line.chars().take(80).collect::<String>()
                ));
                return m;
            }
        }
    }
    let lower = |n: &str| n.to_ascii_lowercase();
    let counted_request = samples.iter().any(|(n, l, v)| {
        !n.ends_with("_bucket")
            && lower(n).contains("request")
            && routed(l)
            && statused(l)
            && *v >= 1.0
    });
    if !counted_request {
        m.push("no request counter labelled by route and status has counted a request".into());
    }
    let histogram = samples.iter().any(|(n, l, _)| {
        n.ends_with("_bucket") && l.iter().any(|(k, _)| *k == "le") && routed(l) && statused(l)
    });
    if !histogram {
        m.push("no latency histogram (_bucket with le) labelled by route and status".into());
    }
    let named = |parts: &[&[&str]]| samples.iter().any(|(n, _, _)| is_named(&lower(n), parts));
    for (what, parts) in [
        ("rate-limit rejections", REJECTIONS),
        ("fail-open admissions", &[&["fail"][..], &["open"]]),
        (
            "database latency",
            &[
                &["db", "database", "postgres", "sql", "pg_"][..],
                &["latency", "duration", "seconds", "_ms"],
            ],
        ),
        (
            "Redis latency",
            &[&["redis"][..], &["latency", "duration", "seconds", "_ms"]],
        ),
    ] {
        if !named(parts) {
            m.push(format!("no series for {what}"));
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_lines_parse_with_quoted_commas() {
        let (n, l, v) =
            parse_sample(r#"http_requests_total{route="/a,b",status="200"} 3"#).unwrap();
        assert_eq!((n, v), ("http_requests_total", 3.0));
        assert_eq!(l, vec![("route", "/a,b"), ("status", "200")]);
        assert_eq!(parse_sample("up 1").unwrap().2, 1.0);
        let (_, l, _) = parse_sample(r#"d_bucket{route="/files/{id}",le="+Inf"} 2"#).unwrap();
        assert_eq!(l, vec![("route", "/files/{id}"), ("le", "+Inf")]);
        assert!(parse_sample("9bad 1").is_none());
        assert!(parse_sample("name{a=\"1\"} notanumber").is_none());
    }
}

#[cfg(test)]
mod movement_tests {
    use super::*;

    #[test]
    fn counter_families_are_found_by_what_they_count_and_summed() {
        let text = "# TYPE svc_http_requests_total counter\n\
            svc_http_requests_total{uri=\"/api/v1/knowledge/files\",outcome_status=\"200\"} 5\n\
            svc_http_requests_total{uri=\"/api/v1/knowledge/search\",outcome_status=\"429\"} 2\n\
            svc_http_requests_total{uri=\"/api/v1/memory\",outcome_status=\"201\"} 3\n\
            svc_http_request_duration_seconds_bucket{uri=\"/api/v1/knowledge/files\",outcome_status=\"200\",le=\"+Inf\"} 7\n\
            svc_http_request_duration_seconds_count{uri=\"/api/v1/knowledge/files\",outcome_status=\"200\"} 7\n\
            throttle_rate_limit_rejections{scope=\"user\"} 2\n\
            up 1\n";
        let (requests, rejections) = counter_totals(text);
        // The memory series counts too, though only a knowledge path shows it is a route.
        assert_eq!(requests.get("svc_http_requests_total"), Some(&10.0));
        assert_eq!(
            requests.get("svc_http_request_duration_seconds_count"),
            Some(&7.0)
        );
        assert_eq!(requests.len(), 2);
        assert_eq!(rejections.get("throttle_rate_limit_rejections"), Some(&2.0));
        let (later, _) = counter_totals(&text.replace("} 5", "} 9"));
        assert_eq!(
            moved(&requests, &later),
            Some((4.0, "svc_http_requests_total".into()))
        );
        assert_eq!(moved(&requests, &requests).map(|m| m.0), Some(0.0));
    }
}
