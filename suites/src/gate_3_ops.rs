//! Gate 3, the rest of telemetry and the limiter's arithmetic: the
//! operational endpoints (no token, not counted, their documented shapes, a
//! real Prometheus exposition), every outcome counted, and GCRA's time to full.

use serde_json::Value;
use uuid::Uuid;

use crate::api;
use crate::ctx::{failed_all, CaseReport, CaseRun, CaseSpec, Ctx};
use crate::expect::Expect;
use crate::transport::{ApiRequest, ApiResponse};

pub const HEALTH: CaseSpec = CaseSpec {
    id: "gate_3::health_answers_without_a_token",
    clauses: &["ops.health"],
    title: "GET /health is 200 without a token",
};
pub const READY: CaseSpec = CaseSpec {
    id: "gate_3::ready_reports_every_dependency",
    clauses: &["ops.ready"],
    title: "GET /ready is 200 {ready: true, checks: {database, redis, storage, telemetry: true}}",
};
pub const METRICS: CaseSpec = CaseSpec {
    id: "gate_3::metrics_are_prometheus_with_the_contract_series",
    clauses: &["ops.metrics"],
    title: "GET /metrics is Prometheus text: request counts and a latency histogram by route and status, rate-limit rejections, fail-open admissions, DB and Redis latency",
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

pub async fn run(ctx: Ctx) -> Vec<CaseReport> {
    let mut out = Vec::new();

    let mut c = CaseRun::start(&ctx, HEALTH);
    c.call(ApiRequest::get("/health"), Expect::status(200))
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
    c.call_with(
        ApiRequest::get("/metrics"),
        "200 Prometheus text exposition with the contract's series",
        metrics_mismatches,
    )
    .await;
    vec![c.finish()]
}

fn remaining(r: &Option<ApiResponse>) -> Option<u64> {
    r.as_ref()?.header_u64("x-ratelimit-remaining")
}

/// `t=` of the `RateLimit` header: seconds until the allowance is full again.
fn time_to_full(r: &ApiResponse) -> Option<f64> {
    r.header("ratelimit")?
        .split(';')
        .find_map(|p| p.trim().strip_prefix("t="))?
        .trim()
        .parse()
        .ok()
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
    let label_like = |labels: &[(&str, &str)], what: &[&str]| {
        labels
            .iter()
            .any(|(k, _)| what.iter().any(|w| k.contains(w)))
    };
    let routed = |labels: &[(&str, &str)]| {
        labels.iter().any(|(_, v)| v.contains("/api/v1/knowledge"))
            || label_like(labels, &["route", "path", "handler", "endpoint"])
    };
    let statused = |labels: &[(&str, &str)]| label_like(labels, &["status", "code"]);
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
    let named = |parts: &[&[&str]]| {
        samples.iter().any(|(n, _, _)| {
            let n = lower(n);
            parts.iter().all(|alts| alts.iter().any(|a| n.contains(a)))
        })
    };
    for (what, parts) in [
        (
            "rate-limit rejections",
            &[
                &["rate"][..],
                &["limit"],
                &["reject", "refus", "denied", "throttl", "exceed"],
            ][..],
        ),
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
