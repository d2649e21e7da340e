//! The R1 memory API as it behaves, not only as its document says: every
//! operation (create, list by session with limit and cursor, get, delete), every
//! response against the R1 baseline's schemas, and isolation between two tenants
//! on each operation. Each concern is its own case, so a failure names what broke.
//!
//! Tenant A writes five memories in session S1 and two in S2; tenant B writes
//! one in S1 (the same session id). Operations cases judge A's own memories and
//! leave B's ids to the isolation cases, which look for them explicitly.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use futures::FutureExt;
use serde_json::Value;

use crate::cases::GATE_1;
use crate::check::api;
use crate::check::ctx::{failed_all, skipped_all, CaseReport, CaseRun, CaseSpec, Ctx};
use crate::check::expect::Expect;
use crate::check::registry::Group;
use crate::check::spec::{Route, Spec};
use crate::check::tokens::Tenant;
use crate::check::transport::{route_class, ApiRequest, ApiResponse};

pub const CREATE: CaseSpec = CaseSpec {
    id: "r1_memory::create_returns_201_with_the_memory",
    clauses: &["r1.memory.operations"],
    title: "POST /api/v1/memory gives 201, a Location naming the new id and the memory as sent",
};
pub const SESSION: CaseSpec = CaseSpec {
    id: "r1_memory::list_filters_by_session",
    clauses: &["r1.memory.operations"],
    title: "GET /api/v1/memory?session_id= lists exactly the caller's memories of that session, newest first",
};
pub const CURSOR: CaseSpec = CaseSpec {
    id: "r1_memory::cursor_pages_every_memory_once",
    clauses: &["r1.memory.operations", "files.list.cursor"],
    title: "limit and next_cursor page through every memory exactly once (with and without a session filter, sessions interleaved), pages within the limit",
};
pub const GET: CaseSpec = CaseSpec {
    id: "r1_memory::get_returns_the_memory",
    clauses: &["r1.memory.operations"],
    title: "GET /api/v1/memory/{id} returns the memory as created",
};
pub const DELETE: CaseSpec = CaseSpec {
    id: "r1_memory::delete_returns_204_then_404",
    clauses: &["r1.memory.operations"],
    title: "DELETE /api/v1/memory/{id} gives 204; then the memory is gone from get (404 not_found), list and a second delete",
};
pub const OTHER_LIST: CaseSpec = CaseSpec {
    id: "r1_memory::other_tenant_list_excludes_memories",
    clauses: &["r1.memory.isolation"],
    title: "Neither tenant's list, unfiltered or filtered by the other's session ids, contains the other's memories",
};
pub const OTHER_GET: CaseSpec = CaseSpec {
    id: "r1_memory::other_tenant_get_is_404",
    clauses: &["r1.memory.isolation"],
    title: "Another tenant's memory id gives 404 not_found on GET",
};
pub const OTHER_DELETE: CaseSpec = CaseSpec {
    id: "r1_memory::other_tenant_delete_is_404_and_memory_survives",
    clauses: &["r1.memory.isolation"],
    title: "Deleting another tenant's memory gives 404 not_found and the memory survives",
};
pub const OTHER_SEARCH: CaseSpec = CaseSpec {
    id: "r1_memory::other_tenant_search_finds_no_memory",
    clauses: &["r1.memory.isolation"],
    title: "Another tenant's knowledge search for a word only in A's memory finds nothing",
};
pub const SHAPE: CaseSpec = CaseSpec {
    id: "r1_memory::responses_match_the_r1_baseline",
    clauses: &["r1.memory.shape"],
    title: "Every memory response of these cases has a status, content type and body the R1 baseline documents for the operation",
};
pub const CASES: &[CaseSpec] = &[
    CREATE,
    SESSION,
    CURSOR,
    GET,
    DELETE,
    OTHER_LIST,
    OTHER_GET,
    OTHER_DELETE,
    OTHER_SEARCH,
    SHAPE,
];

/// Memories tenant A writes per session: S1 pages in three with `limit=2`.
const IN_S1: usize = 5;
const IN_S2: usize = 2;
/// Pages followed before a cursor is declared endless.
const MAX_PAGES: usize = 12;

/// One memory as created.
struct Made {
    id: String,
    session: String,
    body: Value,
}

/// What the cases share.
struct World {
    a: Tenant,
    b: Tenant,
    s1: String,
    s2: String,
    /// A word only A's first memory contains.
    word: String,
    mine: Vec<Made>,
    theirs: Vec<Made>,
}

impl World {
    fn ids<'a>(made: &'a [Made], session: Option<&str>) -> BTreeSet<&'a str> {
        made.iter()
            .filter(|m| session.is_none_or(|s| m.session == s))
            .map(|m| m.id.as_str())
            .collect()
    }
}

fn items(body: &Value) -> Option<Vec<Value>> {
    body.get("items")?.as_array().cloned()
}

fn id_of(v: &Value) -> &str {
    v["id"].as_str().unwrap_or_default()
}

/// Creates one memory, checking status, Location and the echoed fields.
async fn create(c: &mut CaseRun, t: &Tenant, session: &str, content: &str) -> Option<Made> {
    let req = api::create_memory(t, session, content);
    let sent = match &req.body {
        crate::check::transport::Body::Json(v) => v.clone(),
        _ => Value::Null,
    };
    let r = c
        .call_with(req, "201 + Location + the memory as sent", |r| {
            let mut m = Expect::status(201).header("location").mismatches(r);
            let body = r.json().unwrap_or_default();
            if r.status == 201 {
                for k in ["session_id", "role", "content", "tags", "metadata"] {
                    if body.get(k) != sent.get(k) {
                        m.push(format!("{k} is {} instead of {}", body[k], sent[k]));
                    }
                }
                let id = id_of(&body);
                if id.is_empty() || !r.header("location").is_some_and(|l| l.ends_with(id)) {
                    m.push(format!(
                        "Location {:?} does not name the new id {id:?}",
                        r.header("location")
                    ));
                }
            }
            m
        })
        .await?;
    let body = r.json().filter(|_| r.status == 201)?;
    Some(Made {
        id: id_of(&body).to_owned(),
        session: session.to_owned(),
        body,
    })
}

/// Follows `next_cursor` from `query`; returns every item in order, checking
/// each page against `limit`. `None` when a page failed.
async fn pages(
    c: &mut CaseRun,
    t: &Tenant,
    query: &str,
    limit: usize,
    mine: &HashSet<&str>,
) -> Option<Vec<Value>> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut q = format!("{query}&limit={limit}");
        if let Some(k) = &cursor {
            q.push_str(&format!("&cursor={}", encode(k)));
        }
        let q = q.trim_start_matches('&').to_owned();
        let r = c
            .call(api::list_memories(t, &q), Expect::status(200))
            .await?;
        let body = r.json().unwrap_or_default();
        let Some(page) = items(&body) else {
            c.fail(format!("GET ?{q}: no items array"));
            return None;
        };
        // Any other tenant's items are the isolation cases' to report.
        let own: Vec<Value> = page
            .into_iter()
            .filter(|i| mine.contains(id_of(i)))
            .collect();
        c.check(
            own.len() <= limit,
            format!("GET ?{q}: {} items on a page of limit {limit}", own.len()),
        );
        all.extend(own);
        match body.get("next_cursor") {
            Some(Value::String(k)) if !k.is_empty() => cursor = Some(k.clone()),
            Some(Value::Null) | None => return Some(all),
            Some(other) => {
                c.fail(format!(
                    "GET ?{q}: next_cursor is {other}, neither a string nor null"
                ));
                return None;
            }
        }
    }
    c.fail(format!(
        "?{query}: next_cursor did not end within {MAX_PAGES} pages"
    ));
    None
}

/// Percent-encodes a cursor for the query string (cursors are opaque).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Each of `want` exactly once in `got`, nothing else; created_at never rises.
fn exactly_once(c: &mut CaseRun, what: &str, got: &[Value], want: &BTreeSet<&str>) {
    let ids: Vec<&str> = got.iter().map(id_of).collect();
    for id in want {
        let n = ids.iter().filter(|i| *i == id).count();
        c.check(
            n == 1,
            format!("{what}: memory {id} listed {n} times, not once"),
        );
    }
    let extra: BTreeSet<&str> = ids.iter().copied().filter(|i| !want.contains(i)).collect();
    c.check(
        extra.is_empty(),
        format!("{what}: listed memories that do not belong: {extra:?}"),
    );
    let times: Vec<&str> = got
        .iter()
        .map(|i| i["created_at"].as_str().unwrap_or_default())
        .collect();
    let newest_first = times.windows(2).all(|w| {
        match (
            chrono::DateTime::parse_from_rfc3339(w[0]),
            chrono::DateTime::parse_from_rfc3339(w[1]),
        ) {
            (Ok(a), Ok(b)) => a >= b,
            _ => false,
        }
    });
    c.check(
        newest_first,
        format!("{what}: not newest first by created_at: {times:?}"),
    );
}

/// Registered in [`crate::cases::registry`].
pub const GROUP: Group = Group::main(GATE_1, CASES, |c| run(c).boxed());

pub async fn run(ctx: Ctx) -> Vec<CaseReport> {
    let (a, b) = match ctx
        .tenant_pair("r1_memory/user_a", "r1_memory/user_b")
        .await
    {
        Ok(pair) => pair,
        Err(e) => return failed_all(CASES, &e),
    };
    let run = uuid::Uuid::new_v4().simple().to_string();
    let mut w = World {
        s1: format!("gonogo-{run}-s1"),
        s2: format!("gonogo-{run}-s2"),
        word: api::unique_word("memory"),
        a,
        b,
        mine: Vec::new(),
        theirs: Vec::new(),
    };
    let mut out = Vec::new();

    let mut c = CaseRun::start(&ctx, CREATE);
    for i in 0..IN_S1 + IN_S2 {
        // Interleaved (S1 S2 S1 S1 S2 S1 S1): a filter that holds on the first page
        // only shows on a later one.
        let session = if i % 3 == 1 && i / 3 < IN_S2 {
            w.s2.clone()
        } else {
            w.s1.clone()
        };
        let content = if i == 0 {
            format!("Smoke memory about {} number {i}", w.word)
        } else {
            format!("Smoke memory number {i}")
        };
        if let Some(m) = create(&mut c, &w.a, &session, &content).await {
            w.mine.push(m);
        }
    }
    if let Some(m) = create(
        &mut c,
        &w.b,
        &w.s1.clone(),
        "Smoke memory of the other tenant",
    )
    .await
    {
        w.theirs.push(m);
    }
    let ok = c.passed_so_far() && w.mine.len() == IN_S1 + IN_S2 && w.theirs.len() == 1;
    out.push(c.finish());
    if !ok {
        out.extend(skipped_all(
            &CASES[1..CASES.len() - 1],
            "the memories could not be created",
        ));
        out.push(shape(&ctx, &w));
        return out;
    }
    let theirs: HashSet<&str> = w.theirs.iter().map(|m| m.id.as_str()).collect();
    let mine: HashSet<&str> = w.mine.iter().map(|m| m.id.as_str()).collect();

    let mut c = CaseRun::start(&ctx, SESSION);
    for s in [&w.s1, &w.s2] {
        let q = format!("session_id={s}&limit=100");
        if let Some(r) = c
            .call(api::list_memories(&w.a, &q), Expect::status(200))
            .await
        {
            let got: Vec<Value> = items(&r.json().unwrap_or_default())
                .unwrap_or_default()
                .into_iter()
                .filter(|i| mine.contains(id_of(i)))
                .collect();
            exactly_once(
                &mut c,
                &format!("session {s}"),
                &got,
                &World::ids(&w.mine, Some(s)),
            );
        }
    }
    let unused = format!("gonogo-{run}-unused");
    if let Some(r) = c
        .call(
            api::list_memories(&w.a, &format!("session_id={unused}")),
            Expect::status(200),
        )
        .await
    {
        let n = items(&r.json().unwrap_or_default())
            .unwrap_or_default()
            .iter()
            .filter(|i| mine.contains(id_of(i)))
            .count();
        c.check(
            n == 0,
            format!("a session nobody wrote to listed {n} memories"),
        );
    }
    out.push(c.finish());

    let mut c = CaseRun::start(&ctx, CURSOR);
    let q = format!("session_id={}", w.s1);
    if let Some(got) = pages(&mut c, &w.a, &q, 2, &mine).await {
        exactly_once(
            &mut c,
            "session S1 in pages of 2",
            &got,
            &World::ids(&w.mine, Some(&w.s1)),
        );
    }
    if let Some(got) = pages(&mut c, &w.a, "", 3, &mine).await {
        // Unfiltered: only this run's memories belong to A (a fresh tenant).
        exactly_once(
            &mut c,
            "all memories in pages of 3",
            &got,
            &World::ids(&w.mine, None),
        );
    }
    out.push(c.finish());

    let mut c = CaseRun::start(&ctx, GET);
    let first = &w.mine[0];
    c.call_with(
        api::get_memory(&w.a, &first.id),
        "200 + the memory as created",
        |r| {
            let mut m = Expect::status(200).mismatches(r);
            if r.status == 200 && r.json().as_ref() != Some(&first.body) {
                m.push(format!(
                    "the memory differs from the created one: {}",
                    r.text()
                ));
            }
            m
        },
    )
    .await;
    out.push(c.finish());

    // A's memories for the isolation cases: the first S1 one (read), the first S2 one (delete attempt).
    let in_s2: Vec<String> = w
        .mine
        .iter()
        .filter(|m| m.session == w.s2)
        .map(|m| m.id.clone())
        .collect();
    let (read, target) = (&w.mine[0].id, &in_s2[0]);
    let mut c = CaseRun::start(&ctx, OTHER_LIST);
    let looks = [
        (&w.b, "limit=100".to_owned(), &mine),
        (&w.b, format!("session_id={}&limit=100", w.s1), &mine),
        (&w.b, format!("session_id={}&limit=100", w.s2), &mine),
        (&w.a, format!("session_id={}&limit=100", w.s1), &theirs),
    ];
    for (who, q, forbidden) in looks {
        if let Some(r) = c
            .call(api::list_memories(who, &q), Expect::status(200))
            .await
        {
            let leaked: Vec<String> = items(&r.json().unwrap_or_default())
                .unwrap_or_default()
                .iter()
                .map(|i| id_of(i).to_owned())
                .filter(|i| forbidden.contains(i.as_str()))
                .collect();
            if !leaked.is_empty() {
                c.violation(format!(
                    "{}'s list ?{q} contains the other tenant's memories {leaked:?}",
                    who.label
                ));
            }
        }
    }
    out.push(c.finish());

    let mut c = CaseRun::start(&ctx, OTHER_GET);
    refused(&mut c, api::get_memory(&w.b, read), "read").await;
    out.push(c.finish());

    let mut c = CaseRun::start(&ctx, OTHER_DELETE);
    refused(&mut c, api::delete_memory(&w.b, target), "deleted").await;
    if c.call(api::get_memory(&w.a, target), Expect::status(200))
        .await
        .is_some_and(|r| r.status == 404)
    {
        c.violation(format!(
            "user A's memory {target} is gone after user B's delete"
        ));
    }
    out.push(c.finish());

    let mut c = CaseRun::start(&ctx, OTHER_SEARCH);
    if let Some(r) = c
        .call(api::search(&w.b, &w.word), Expect::status(200))
        .await
    {
        let hits = r.json().unwrap_or_default()["results"]
            .as_array()
            .map_or(0, |a| a.len());
        if hits > 0 {
            c.violation(format!(
                "user B's search for {:?}, a word only in user A's memory, found {hits} results",
                w.word
            ));
        }
    }
    out.push(c.finish());

    let mut c = CaseRun::start(&ctx, DELETE);
    let gone = &in_s2[1];
    c.call_with(api::delete_memory(&w.a, gone), "204 without a body", |r| {
        let mut m = Expect::status(204).mismatches(r);
        if !r.body.is_empty() {
            m.push(format!("a {}-byte body on 204", r.body.len()));
        }
        m
    })
    .await;
    c.call_with(api::get_memory(&w.a, gone), "404 not_found", not_found)
        .await;
    c.call_with(api::delete_memory(&w.a, gone), "404 not_found", not_found)
        .await;
    let q = format!("session_id={}&limit=100", w.s2);
    if let Some(r) = c
        .call(api::list_memories(&w.a, &q), Expect::status(200))
        .await
    {
        let listed = items(&r.json().unwrap_or_default()).unwrap_or_default();
        c.check(
            !listed.iter().any(|i| id_of(i) == gone.as_str()),
            format!("the deleted memory {gone} is still listed"),
        );
    }
    out.push(c.finish());

    out.push(shape(&ctx, &w));
    out
}

/// Sends another tenant's by-id request: 404 `not_found`, and a 2xx is a breach.
async fn refused(c: &mut CaseRun, req: ApiRequest, did: &str) {
    let path = req.path.clone();
    if c.call_with(req, "404 not_found", not_found)
        .await
        .is_some_and(|r| r.status < 300)
    {
        c.violation(format!("user B {did} user A's memory: {path}"));
    }
}

/// 404 with code `not_found` (the rest of the problem shape is Gate 3's).
fn not_found(r: &ApiResponse) -> Vec<String> {
    let mut m = Expect::status(404).mismatches(r);
    let code = r.json().and_then(|j| j["code"].as_str().map(str::to_owned));
    if r.status == 404 && code.as_deref() != Some("not_found") {
        m.push(format!("code {code:?} instead of \"not_found\""));
    }
    m
}

/// Every exchange the two tenants made with the memory routes, judged against the R1 baseline.
fn shape(ctx: &Ctx, w: &World) -> CaseReport {
    let mut c = CaseRun::start(ctx, SHAPE);
    let base = match ctx.r1_baseline() {
        Ok(doc) => Spec::new(doc.clone()),
        Err(why) => Err(format!("no R1 baseline: {why}")),
    };
    let base = match base {
        Ok(s) => s,
        Err(why) => {
            c.skip(format!("the R1 baseline cannot be used: {why}"));
            return c.finish();
        }
    };
    let tokens = [w.a.token.as_str(), w.b.token.as_str()];
    let mut judged = 0;
    for ex in ctx.log() {
        let ours = ex
            .request
            .bearer_token()
            .is_some_and(|t| tokens.contains(&t));
        if !ours || route_class(&ex.request.method, &ex.request.path) != "memory" {
            continue;
        }
        let Ok(r) = &ex.response else { continue };
        judged += 1;
        let findings = match base.route(ex.request.method.as_str(), &ex.request.path) {
            Route::Documented(op) => base.check(&op, r),
            _ => vec!["the R1 baseline does not document this operation".into()],
        };
        if !findings.is_empty() {
            c.fail(format!(
                "{} {} → {}: {}",
                ex.request.method,
                ex.request.path,
                r.status,
                findings.join("; ")
            ));
            c.cite(Arc::clone(&ex), "as the R1 baseline documents");
        }
    }
    c.note(format!(
        "{judged} memory responses valid against the R1 baseline"
    ));
    if judged == 0 {
        c.skip("no memory response to judge");
    }
    c.finish()
}
