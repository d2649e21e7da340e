//! Calls and judgements the knowledge-path modules share ([`crate::files`],
//! [`crate::uploads`], [`crate::search`], [`crate::limits`], [`crate::errors`]):
//! a leaf, so none of them imports another for these.

use serde_json::Value;

use crate::api;
use crate::ctx::CaseRun;
use crate::expect::{problem_mismatches, Expect};
use crate::transport::{ApiRequest, ApiResponse};

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
