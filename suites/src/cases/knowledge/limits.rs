//! Page sizes: over 51 files sharing one term, the list's default of 50 and bounds 1-100,
//! cursor paging, and search's default of 10 and bounds 1-50, its query counted in
//! characters up to 512. One tenant, about 75 requests.

use futures::future::join_all;
use serde_json::{json, Value};

use crate::check::api;
use crate::check::calls::{invalid_input, list_pages, problem_status};
use crate::check::ctx::{failed_all, skipped_all, CaseReport, CaseRun, CaseSpec, Ctx};
use crate::check::expect::Expect;
use crate::check::tokens::Tenant;
use crate::check::transport::ApiRequest;

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
pub const CURSOR: CaseSpec = CaseSpec {
    id: "files::cursor_pages_through_every_file_once",
    clauses: &["files.list.cursor"],
    title: "limit=25 pages over 51 files return each exactly once in the list's order, ending with next_cursor null",
};
pub const BAD_CURSOR: CaseSpec = CaseSpec {
    id: "files::bad_cursor_is_400",
    clauses: &["files.list.cursor", "errors.malformed-4xx"],
    title: "A garbage or tampered cursor is refused with a 4xx problem (400, 422…)",
};
// The cursor cases keep their `files::` ids: they page over this module's bulk uploads.
pub const CASES: &[CaseSpec] = &[LIST_LIMITS, CURSOR, BAD_CURSOR, SEARCH_LIMITS];

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
    out.extend(paging(&ctx, &t, 25, &all).await);
    out.push(search_limits(&ctx, &t, &word).await);
    out
}

/// Pages through the tenant's files with `limit`: the pages must give `all` (the list in
/// one page) exactly once and in order; then garbage and tampered cursors are refused.
async fn paging(ctx: &Ctx, t: &Tenant, limit: u32, all: &[String]) -> Vec<CaseReport> {
    let mut cur = CaseRun::start(ctx, CURSOR);
    let expected_pages = all.len().div_ceil(limit as usize);
    let cursor = match list_pages(&mut cur, t, limit, expected_pages + 2).await {
        Some((pages, first)) => {
            let flat: Vec<String> = pages.concat();
            cur.check(
                flat == all,
                format!(
                    "pages gave {} ids, expected each of the {} files once in list order",
                    flat.len(),
                    all.len()
                ),
            );
            let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
            cur.check(
                sizes.iter().all(|n| *n <= limit as usize) && pages.len() == expected_pages,
                format!(
                    "page sizes {sizes:?} for limit={limit} over {} files",
                    all.len()
                ),
            );
            first
        }
        None => None,
    };
    let cur = cur.finish();

    let mut bad = CaseRun::start(ctx, BAD_CURSOR);
    let mut garbage = vec!["!!!".to_owned(), "not-a-cursor".to_owned()];
    // A real cursor with characters no encoding produces appended.
    garbage.extend(cursor.map(|c| format!("{c}$$")));
    for g in garbage {
        let path = api::with_query(&format!("{}?limit={limit}", api::FILES), "cursor", &g);
        bad.call_with(
            ApiRequest::get(path).bearer(&t.token),
            "4xx problem (400, 422…)",
            invalid_input,
        )
        .await;
    }
    vec![cur, bad.finish()]
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
