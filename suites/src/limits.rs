//! Page sizes: over 51 files sharing one term, the list's default of 50 and bounds 1-100,
//! cursor paging, and search's default of 10 and bounds 1-50, its query counted in
//! characters up to 512. One tenant, about 75 requests.

use futures::future::join_all;
use serde_json::{json, Value};

use crate::api;
use crate::calls::invalid_input;
use crate::ctx::{failed_all, skipped_all, CaseReport, CaseRun, CaseSpec, Ctx};
use crate::expect::Expect;
use crate::files::{self, problem_status};
use crate::tokens::Tenant;
use crate::transport::ApiRequest;

pub const LIST_LIMITS: CaseSpec = CaseSpec {
    id: "limits::list_limit_defaults_to_50_within_1_to_100",
    clauses: &["files.list.limit"],
    title: "Over 51 files the list gives 50 by default, 1 and 51 for limit=1 and 100; 0, 101, -1 and abc are 400",
};
pub const SEARCH_LIMITS: CaseSpec = CaseSpec {
    id: "limits::search_limit_defaults_to_10_within_1_to_50",
    clauses: &["search.limits"],
    title: "Over 51 matches search gives 10 by default, 1 and 50 for limit=1 and 50; 0, 51, -1, \"5\" and 1.5 are refused (4xx); a 512-character query is fine, 513 is refused",
};
pub const CASES: &[CaseSpec] = &[LIST_LIMITS, files::CURSOR, files::BAD_CURSOR, SEARCH_LIMITS];

/// One more than the list's default page.
const FILES: usize = 51;

pub async fn run(ctx: Ctx) -> Vec<CaseReport> {
    let t = match ctx.tenant("limits/bulk").await {
        Ok(t) => t,
        Err(e) => return failed_all(CASES, &e),
    };
    let word = api::unique_word("bulk");
    let mut c = CaseRun::start(&ctx, LIST_LIMITS);
    let uploads = (0..FILES).map(|i| {
        ctx.send(api::upload(
            &t,
            &format!("bulk-{i}.txt"),
            "text/plain",
            format!("Bulk note {i} about {word}.\n"),
        ))
    });
    for ex in join_all(uploads).await {
        c.record(ex, Expect::status(201));
    }
    if !c.passed_so_far() {
        c.fail(format!("not all {FILES} uploads succeeded"));
        let mut out = vec![c.finish()];
        out.extend(skipped_all(&CASES[1..], "the bulk uploads failed"));
        return out;
    }
    let sizes = [
        (None, 50, true),
        (Some(1), 1, true),
        (Some(100), FILES, false),
    ];
    let mut all = Vec::new();
    for (limit, want, more) in sizes {
        let path = limit.map_or(api::FILES.to_owned(), |l| {
            format!("{}?limit={l}", api::FILES)
        });
        c.call_with(
            ApiRequest::get(path).bearer(&t.token),
            &format!("200 with {want} items"),
            |r| {
                let mut m = Expect::status(200).mismatches(r);
                let body = r.json().unwrap_or_default();
                let n = body["items"].as_array().map_or(0, Vec::len);
                if n != want {
                    m.push(format!("{n} items for limit {limit:?}, expected {want}"));
                }
                if limit == Some(100) {
                    all = api::item_ids(&body);
                }
                if body["next_cursor"].is_string() != more {
                    m.push(format!(
                        "next_cursor {} with {FILES} files and limit {limit:?}",
                        body["next_cursor"]
                    ));
                }
                m
            },
        )
        .await;
    }
    for bad in ["0", "101", "-1", "abc"] {
        let req = ApiRequest::get(format!("{}?limit={bad}", api::FILES)).bearer(&t.token);
        c.call_with(req, "400 problem", problem_status(400)).await;
    }
    let mut out = vec![c.finish()];
    out.extend(files::paging(&ctx, &t, 25, &all).await);
    out.push(search_limits(&ctx, &t, &word).await);
    out
}

async fn search_limits(ctx: &Ctx, t: &Tenant, word: &str) -> CaseReport {
    let mut c = CaseRun::start(ctx, SEARCH_LIMITS);
    let body = |limit: Option<Value>| {
        let mut b = json!({"query": word});
        if let Some(l) = limit {
            b["limit"] = l;
        }
        b
    };
    for (limit, want) in [(None, 10), (Some(1), 1), (Some(50), 50)] {
        let req = api::search_body(t, body(limit.map(Value::from)));
        c.call_with(req, &format!("200 with {want} results"), |r| {
            let mut m = Expect::status(200).mismatches(r);
            let n = api::result_ids(&r.json().unwrap_or_default()).len();
            if n != want {
                m.push(format!("{n} results for limit {limit:?}, expected {want}"));
            }
            m
        })
        .await;
    }
    for bad in [json!(0), json!(51), json!(-1), json!("5"), json!(1.5)] {
        let req = api::search_body(t, body(Some(bad)));
        c.call_with(req, "4xx problem (400, 422…)", invalid_input)
            .await;
    }
    // Characters, not bytes: 512 two-byte characters are a valid query.
    let long = |n: usize| "\u{e9}".repeat(n);
    c.call(
        api::search_body(t, json!({"query": long(512)})),
        Expect::status(200),
    )
    .await;
    c.call_with(
        api::search_body(t, json!({"query": long(513)})),
        "4xx problem (400, 422…)",
        invalid_input,
    )
    .await;
    c.finish()
}
