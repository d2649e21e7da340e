//! Calls and judgements cases share (the knowledge paths, the error kinds, Gate 2's
//! paging): an upload that must be created, the shapes of a refusal, a list walked
//! page by page. A leaf of the framework, so no case imports another for these.

use serde_json::Value;

use crate::check::api;
use crate::check::ctx::CaseRun;
use crate::check::expect::{problem_mismatches, Expect};
use crate::check::tokens::Tenant;
use crate::check::transport::{ApiRequest, ApiResponse};

/// Sends `req`, expecting `201` with a FileInfo; returns the body.
pub async fn created(c: &mut CaseRun, req: ApiRequest) -> Option<Value> {
    let r = c.call(req, Expect::status(201)).await?;
    let body = r.json().filter(|b| api::file_id(b).is_some());
    if r.status == 201 && body.is_none() {
        c.fail("the 201 body is not a FileInfo with an id");
    }
    body.filter(|_| r.status == 201)
}

/// A 4xx problem (any code) for malformed input; never a 5xx or a success.
pub fn client_error(r: &ApiResponse) -> Vec<String> {
    let mut m = problem_mismatches(r, None);
    if !(400..500).contains(&r.status) {
        m.insert(0, format!("status {} instead of a 4xx", r.status));
    }
    m
}

/// Input refused where the contract names no status (a bad cursor, search
/// bounds): a 4xx problem, other than the statuses that mean something else
/// (401, 403, 404, 405, 429). 400 is the usual; FastAPI's 422 is as right.
pub fn invalid_input(r: &ApiResponse) -> Vec<String> {
    let mut m = problem_mismatches(r, None);
    if !(400..500).contains(&r.status) || matches!(r.status, 401 | 403 | 404 | 405 | 429) {
        m.insert(
            0,
            format!(
                "status {} instead of a 4xx refusing the input (400, 422…)",
                r.status
            ),
        );
    }
    m
}

/// Exactly `status` with a problem body (any code).
pub fn problem_status(status: u16) -> impl Fn(&ApiResponse) -> Vec<String> {
    move |r| {
        let mut m = problem_mismatches(r, None);
        if r.status != status {
            m.insert(0, format!("status {} instead of {status}", r.status));
        }
        m
    }
}

/// The tenant's files, listed page by page with `limit`, and the first `next_cursor`;
/// `None` after a failed page.
pub async fn list_pages(
    c: &mut CaseRun,
    t: &Tenant,
    limit: u32,
    max: usize,
) -> Option<(Vec<Vec<String>>, Option<String>)> {
    let mut out = Vec::new();
    let mut first = None;
    let mut cursor: Option<String> = None;
    for _ in 0..max {
        let mut path = format!("{}?limit={limit}", api::FILES);
        if let Some(cur) = &cursor {
            path = api::with_query(&path, "cursor", cur);
        }
        let r = c
            .call(ApiRequest::get(path).bearer(&t.token), Expect::status(200))
            .await?;
        let body = r.json().unwrap_or_default();
        out.push(api::item_ids(&body));
        match &body["next_cursor"] {
            Value::Null => return Some((out, first)),
            Value::String(s) => {
                first.get_or_insert_with(|| s.clone());
                cursor = Some(s.clone());
            }
            other => {
                c.fail(format!("next_cursor {other} is neither a string nor null"));
                return None;
            }
        }
    }
    c.fail(format!("next_cursor was still set after {max} pages"));
    None
}
