//! Every error kind, provoked on purpose: for each route the malformed inputs behind each
//! problem code the contract and the reference server document (ids, queries, multipart,
//! metadata, JSON bodies, media types, methods, paths, headers, authorization), so the
//! final leak and suggestion scans judge every kind of error, not only the few a run meets
//! by chance. Each answer must be a 4xx problem with a suggestion (never a 5xx), with the
//! contract's code where the contract names one.

use bytes::Bytes;
use futures::FutureExt;
use http::Method;
use serde_json::json;

use crate::cases::ERROR_KINDS;
use crate::check::api;
use crate::check::calls::client_error;
use crate::check::ctx::{failed_all, CaseReport, CaseRun, CaseSpec, Ctx, Findings};
use crate::check::expect::{
    problem_member_mismatches, problem_mismatches, refusal_marks, refused_before_auth, Expect,
};
use crate::check::registry::Group;
use crate::check::tokens::Tenant;
use crate::check::transport::{ApiRequest, ApiResponse, Exchange, Part};

const MALFORMED: &str = "errors.malformed-4xx";

pub const IDS: CaseSpec = CaseSpec {
    id: "errors::by_id_routes_refuse_bad_and_unknown_ids",
    clauses: &["files.invalid-id", "files.not-found", MALFORMED],
    title: "Non-UUID ids are 400 (invalid_id on files), unknown ids 404 (not_found on files), on every by-id route",
};
pub const QUERIES: CaseSpec = CaseSpec {
    id: "errors::list_queries_refuse_bad_values",
    clauses: &["files.list.limit", "files.list.cursor", MALFORMED],
    title: "Fractional, overflowing, empty or non-numeric limits and bad cursors on both lists are 400; unknown or repeated parameters never 5xx",
};
pub const MULTIPART: CaseSpec = CaseSpec {
    id: "errors::upload_refuses_malformed_multipart",
    clauses: &["files.upload.multipart", MALFORMED],
    title: "An upload that is not multipart, truncated, without boundary, without a file part or its filename is a 4xx problem",
};
pub const METADATA: CaseSpec = CaseSpec {
    id: "errors::upload_refuses_malformed_metadata",
    clauses: &["files.upload.multipart", MALFORMED],
    title: "A metadata part that is not JSON, not an object, or has mistyped title/description/tags is a 4xx problem",
};
pub const SEARCH_BODIES: CaseSpec = CaseSpec {
    id: "errors::search_refuses_malformed_bodies",
    clauses: &["search.limits", MALFORMED],
    title: "Search without JSON media type, without or with a mistyped query or limit (an integer query, a limit of 1e+23), with trailing garbage or an oversized body is a 4xx problem",
};
pub const MEMORY: CaseSpec = CaseSpec {
    id: "errors::memory_routes_refuse_malformed_input",
    clauses: &[MALFORMED],
    title: "A memory body that is not JSON, not an object, misses or mistypes fields, or has the wrong media type is a 4xx problem; an unknown field or a year-99999 expires_at is never a 5xx",
};
pub const METHODS: CaseSpec = CaseSpec {
    id: "errors::wrong_methods_are_405_problems",
    clauses: &["errors.problem-json", MALFORMED],
    title: "A wrong method on knowledge, memory, anonymous-token and operational routes is a 405 problem",
};
pub const PATHS: CaseSpec = CaseSpec {
    id: "errors::unknown_paths_are_404_problems",
    clauses: &["errors.problem-json", "errors.unknown-route"],
    title: "Unknown paths under the knowledge and memory prefixes and elsewhere are 404 problems (a path under a by-id route may be that route's 400 invalid_id)",
};
pub const HEADERS: CaseSpec = CaseSpec {
    id: "errors::oversized_headers_are_4xx",
    clauses: &[MALFORMED, "errors.refused-before-auth", "errors.refused-before-auth.marked"],
    title: "A 64 KiB header is a 4xx, never a 5xx (a problem with X-Request-ID and nosniff should come with it)",
};
pub const AUTHORIZATION: CaseSpec = CaseSpec {
    id: "errors::malformed_authorization_is_401",
    clauses: &["auth.invalid-token", MALFORMED, "errors.refused-before-auth"],
    title: "Another scheme, an empty bearer or a garbage token give 401 problems (invalid_token for a bad bearer token); a huge token is 401 invalid_token or refused before it is read (400/414/431)",
};
pub const CASES: &[CaseSpec] = &[
    IDS,
    QUERIES,
    MULTIPART,
    METADATA,
    SEARCH_BODIES,
    MEMORY,
    METHODS,
    PATHS,
    HEADERS,
    AUTHORIZATION,
];

/// What a provocation must answer.
#[derive(Clone, Copy)]
enum Want {
    /// This status and, when given, this code.
    Problem(u16, Option<&'static str>),
    /// Any 4xx problem.
    ClientError,
    /// The contract leaves acceptance open: a 2xx, or a 4xx problem; never a 5xx.
    NotServerError,
    /// An unknown path under a by-id route: 404, or that route's 400 (with
    /// this code, when the contract names one for the route).
    UnknownOrInvalidId(Option<&'static str>),
    /// A request over common header limits: any 4xx; when it is refused before
    /// its token is read (400/414/431), the problem body, X-Request-ID and
    /// nosniff are only a *should*.
    Oversized,
    /// A too-large bearer token: 401 invalid_token, or refused before it is read.
    OversizedToken,
}

/// The contract's *musts* for `want`, and its *shoulds* (warnings).
fn judge_split(want: Want, ex: &Exchange, r: &ApiResponse) -> Findings {
    let refused_early = refused_before_auth(ex);
    match want {
        Want::Oversized | Want::OversizedToken if refused_early => Findings {
            must: vec![],
            should: refusal_marks(r),
        },
        Want::Oversized => Findings {
            must: client_error(r),
            should: vec![],
        },
        Want::OversizedToken => Findings {
            must: judge(Want::Problem(401, Some("invalid_token")), r),
            should: vec![],
        },
        want => {
            let mut must = judge(want, r);
            if r.status >= 400 {
                for x in problem_member_mismatches(r) {
                    if !must.contains(&x) {
                        must.push(x);
                    }
                }
            }
            Findings {
                must,
                should: vec![],
            }
        }
    }
}

fn judge(want: Want, r: &ApiResponse) -> Vec<String> {
    match want {
        Want::UnknownOrInvalidId(code) if r.status == 400 => problem_mismatches(r, code),
        Want::UnknownOrInvalidId(_) => judge(Want::Problem(404, None), r),
        Want::Oversized | Want::OversizedToken => vec![],
        Want::Problem(status, code) => {
            let mut m = problem_mismatches(r, code);
            if r.status != status {
                m.insert(0, format!("status {} instead of {status}", r.status));
            }
            m
        }
        Want::ClientError => client_error(r),
        Want::NotServerError if r.status < 300 => vec![],
        Want::NotServerError => client_error(r),
    }
}

fn describe(want: Want) -> String {
    match want {
        Want::Problem(s, Some(code)) => Expect::problem(s, code).describe(),
        Want::Problem(s, None) => format!("{s} problem + suggestion"),
        Want::ClientError => "4xx problem + suggestion".into(),
        Want::NotServerError => "2xx, or a 4xx problem + suggestion".into(),
        Want::UnknownOrInvalidId(Some(code)) => {
            format!("404 problem, or 400 {code} + suggestion")
        }
        Want::UnknownOrInvalidId(None) => "404 problem, or 400 problem + suggestion".into(),
        Want::Oversized => "4xx (a problem + X-Request-ID + nosniff should come with it)".into(),
        Want::OversizedToken => {
            "401 invalid_token, or refused before the token is read (400/414/431)".into()
        }
    }
}

async fn provoke(ctx: &Ctx, spec: CaseSpec, probes: Vec<(ApiRequest, Want)>) -> CaseReport {
    let mut c = CaseRun::start(ctx, spec);
    for (req, want) in probes {
        let ex = ctx.send(req).await;
        c.judge_split(ex.clone(), &describe(want), |r| judge_split(want, &ex, r));
    }
    c.finish()
}

/// Registered in [`crate::cases::registry`].
pub const GROUP: Group = Group::main(ERROR_KINDS, CASES, |c| run(c).boxed());

pub async fn run(ctx: Ctx) -> Vec<CaseReport> {
    let t = match ctx.tenant("errors/user").await {
        Ok(t) => t,
        Err(e) => return failed_all(CASES, &e),
    };
    let groups = [
        (IDS, ids(&t)),
        (QUERIES, queries(&t)),
        (MULTIPART, multipart(&t)),
        (METADATA, metadata(&t)),
        (SEARCH_BODIES, search_bodies(&t)),
        (MEMORY, memory(&t)),
        (METHODS, methods(&t)),
        (PATHS, paths(&t)),
        (HEADERS, headers()),
        (AUTHORIZATION, authorization()),
    ];
    let mut out = Vec::new();
    for (spec, probes) in groups {
        out.push(provoke(&ctx, spec, probes).await);
    }
    out
}

fn get(t: &Tenant, path: impl Into<String>) -> ApiRequest {
    ApiRequest::get(path).bearer(&t.token)
}

fn ids(t: &Tenant) -> Vec<(ApiRequest, Want)> {
    let (f, m) = (api::FILES, api::MEMORY);
    let unknown = uuid::Uuid::new_v4();
    let invalid = Want::Problem(400, Some("invalid_id"));
    let missing = Want::Problem(404, Some("not_found"));
    vec![
        (get(t, format!("{f}/not-a-uuid/content")), invalid),
        (
            get(t, format!("{f}/{}g", &unknown.to_string()[..35])),
            invalid,
        ),
        (get(t, format!("{f}/%00")), invalid),
        (get(t, format!("{f}/{unknown}")), missing),
        (
            get(t, format!("{f}/{}", unknown.to_string().to_uppercase())),
            missing,
        ),
        (get(t, format!("{f}/{unknown}/content")), missing),
        (
            ApiRequest::delete(format!("{f}/{unknown}")).bearer(&t.token),
            missing,
        ),
        (get(t, format!("{m}/not-a-uuid")), Want::Problem(400, None)),
        (
            ApiRequest::delete(format!("{m}/not-a-uuid")).bearer(&t.token),
            Want::Problem(400, None),
        ),
        (get(t, format!("{m}/{unknown}")), Want::Problem(404, None)),
        (
            ApiRequest::delete(format!("{m}/{unknown}")).bearer(&t.token),
            Want::Problem(404, None),
        ),
    ]
}

fn queries(t: &Tenant) -> Vec<(ApiRequest, Want)> {
    let (f, m) = (api::FILES, api::MEMORY);
    let bad = Want::Problem(400, None);
    vec![
        (get(t, format!("{f}?limit=1.5")), bad),
        (get(t, format!("{f}?limit=99999999999999999999")), bad),
        (get(t, format!("{f}?limit=")), bad),
        (get(t, format!("{f}?limit=abc")), bad),
        (get(t, format!("{f}?limit=-99999999999999999999")), bad),
        (
            get(t, format!("{f}?cursor=%E2%82%AC%00")),
            Want::ClientError,
        ),
        (get(t, format!("{f}?colour=red")), Want::NotServerError),
        (get(t, format!("{f}?limit=1&limit=2")), Want::NotServerError),
        (get(t, format!("{m}?session_id=s&limit=0")), bad),
        (get(t, format!("{m}?session_id=s&limit=abc")), bad),
        (get(t, format!("{m}?session_id=s&cursor=!!!")), bad),
        (
            get(t, format!("{m}?session_id=s&colour=red")),
            Want::NotServerError,
        ),
    ]
}

fn raw_upload(t: &Tenant, content_type: &str, body: &'static [u8]) -> ApiRequest {
    ApiRequest::post(api::FILES)
        .bearer(&t.token)
        .raw(content_type, Bytes::from_static(body))
}

fn multipart(t: &Tenant) -> Vec<(ApiRequest, Want)> {
    let bad = Want::ClientError;
    let file = || api::file_part("a.txt", "text/plain", "hello");
    let no_name = Part {
        filename: None,
        ..file()
    };
    let no_type = Part {
        content_type: None,
        ..file()
    };
    let extra = Part {
        name: "colour".into(),
        ..api::metadata_part("\"red\"")
    };
    let truncated: &[u8] = b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhel";
    vec![
        (
            ApiRequest::post(api::FILES)
                .bearer(&t.token)
                .json(json!({"file": "a.txt"})),
            bad,
        ),
        (raw_upload(t, "text/plain", b"just bytes"), bad),
        (
            raw_upload(t, "multipart/form-data", b"--x\r\n\r\n--x--\r\n"),
            bad,
        ),
        (
            raw_upload(t, "multipart/form-data; boundary=XyZ", truncated),
            bad,
        ),
        (
            raw_upload(t, "multipart/form-data; boundary=XyZ", b"--XyZ--\r\n"),
            bad,
        ),
        (
            api::upload_parts(t, vec![api::metadata_part("{\"title\":\"t\"}")]),
            bad,
        ),
        (api::upload_parts(t, vec![no_name]), bad),
        (api::upload_parts(t, vec![no_type]), Want::NotServerError),
        (
            api::upload_parts(t, vec![file(), extra]),
            Want::NotServerError,
        ),
        (
            api::upload_parts(t, vec![file(), file()]),
            Want::NotServerError,
        ),
    ]
}

fn metadata(t: &Tenant) -> Vec<(ApiRequest, Want)> {
    let with = |raw: &'static str| {
        api::upload_parts(
            t,
            vec![
                api::file_part("m.txt", "text/plain", "meta"),
                api::metadata_part(raw),
            ],
        )
    };
    let mut out: Vec<(ApiRequest, Want)> = [
        "{oops",
        "[\"title\", \"d\", [\"x\"]]",
        "\"just a title\"",
        "42",
        "{\"title\": 5}",
        "{\"description\": [\"d\"]}",
        "{\"tags\": \"one\"}",
        "{\"tags\": [1, 2]}",
        "{\"title\": \"t\"} trailing",
    ]
    .into_iter()
    .map(|raw| (with(raw), Want::ClientError))
    .collect();
    out.push((with("{\"colour\": \"red\"}"), Want::NotServerError));
    out
}

fn search_bodies(t: &Tenant) -> Vec<(ApiRequest, Want)> {
    let s = api::SEARCH;
    let post = || ApiRequest::post(s).bearer(&t.token);
    let bad = Want::ClientError;
    let big = format!("{{\"query\": \"{}\"}}", "x".repeat(300 * 1024));
    vec![
        (post().raw("text/plain", &b"{\"query\": \"fox\"}"[..]), bad),
        (
            post().raw("application/x-www-form-urlencoded", &b"query=fox"[..]),
            bad,
        ),
        (post(), bad),
        (post().json(json!({})), bad),
        (post().json(json!({"query": null})), bad),
        (post().json(json!({"query": ["fox"]})), bad),
        (post().json(json!({"query": "fox", "limit": [5]})), bad),
        (post().json(json!({"query": 123})), bad),
        (
            post().raw(
                "application/json",
                &b"{\"query\": \"fox\", \"limit\": 1e+23}"[..],
            ),
            bad,
        ),
        (
            post().raw("application/json", &b"{\"query\": \"fox\"} {}"[..]),
            bad,
        ),
        (post().raw("application/json", &b"\xff\xfe{}"[..]), bad),
        (post().raw("application/json", big), bad),
        (
            post().json(json!({"query": "fox", "colour": "red"})),
            Want::NotServerError,
        ),
    ]
}

fn memory(t: &Tenant) -> Vec<(ApiRequest, Want)> {
    let post = || ApiRequest::post(api::MEMORY).bearer(&t.token);
    let bad = Want::ClientError;
    vec![
        (
            post().raw("application/json", &b"{\"session_id\": "[..]),
            bad,
        ),
        (post().json(json!(["s", "user", "x"])), bad),
        (post().json(json!({})), bad),
        (
            post().json(json!({"session_id": "s", "role": "wizard", "content": "x"})),
            bad,
        ),
        (
            post().json(json!({"session_id": "s", "role": "user", "content": 5})),
            bad,
        ),
        (
            post().json(json!({"session_id": 7, "role": "user", "content": "x"})),
            bad,
        ),
        (
            post().json(json!({"session_id": "s", "role": "user", "content": "x", "importance": "high"})),
            bad,
        ),
        // Refused or accepted as the server likes, but never in a library's words.
        (
            post().json(json!({"session_id": "s", "role": "user", "content": "x", "owner_id": "00000000-0000-0000-0000-000000000000"})),
            Want::NotServerError,
        ),
        (
            post().json(json!({"session_id": "s", "role": "user", "content": "x", "expires_at": "99999-01-01T00:00:00Z"})),
            Want::NotServerError,
        ),
        (post().raw("text/plain", &b"session_id=s"[..]), bad),
    ]
}

fn methods(t: &Tenant) -> Vec<(ApiRequest, Want)> {
    let (f, m) = (api::FILES, api::MEMORY);
    let id = uuid::Uuid::new_v4();
    let with = |method: Method, path: String| {
        (
            ApiRequest::new(method, path).bearer(&t.token),
            Want::Problem(405, None),
        )
    };
    vec![
        with(Method::PUT, f.to_owned()),
        with(Method::PATCH, format!("{f}/{id}")),
        with(Method::POST, format!("{f}/{id}/content")),
        with(Method::GET, api::SEARCH.to_owned()),
        with(Method::DELETE, m.to_owned()),
        with(Method::PUT, format!("{m}/{id}")),
        (ApiRequest::post("/health"), Want::Problem(405, None)),
        (
            ApiRequest::delete("/openapi.json"),
            Want::Problem(405, None),
        ),
        (
            ApiRequest::get("/api/v1/stream/auth/anon"),
            Want::Problem(405, None),
        ),
    ]
}

fn paths(t: &Tenant) -> Vec<(ApiRequest, Want)> {
    let id = uuid::Uuid::new_v4();
    let missing = Want::Problem(404, None);
    vec![
        (get(t, "/api/v1/knowledge/nope"), missing),
        (
            get(t, format!("{}/{id}/content/more", api::FILES)),
            Want::UnknownOrInvalidId(Some("invalid_id")),
        ),
        (
            get(t, format!("{}/{id}/nope", api::MEMORY)),
            Want::UnknownOrInvalidId(None),
        ),
        (ApiRequest::get("/nope"), missing),
        (ApiRequest::get("/api/v2/knowledge/files"), missing),
    ]
}

/// Without a token: a server may judge the headers or the missing token first (either is
/// a 4xx), and no authenticated response is claimed for the rate-limit scan.
fn headers() -> Vec<(ApiRequest, Want)> {
    let huge = "h".repeat(64 * 1024);
    vec![
        (
            ApiRequest::get(api::FILES).header("x-padding", &huge),
            Want::Oversized,
        ),
        (
            ApiRequest::get("/health").header("x-padding", &huge),
            Want::Oversized,
        ),
    ]
}

fn authorization() -> Vec<(ApiRequest, Want)> {
    let list = || ApiRequest::get(format!("{}?limit=1", api::FILES));
    let unauthorized = Want::Problem(401, None);
    let invalid = Want::Problem(401, Some("invalid_token"));
    vec![
        (
            list().header("authorization", "Basic dXNlcjpwYXNz"),
            unauthorized,
        ),
        (list().header("authorization", "Bearer"), unauthorized),
        (list().header("authorization", "Bearer "), unauthorized),
        (list().bearer("a.b.c"), invalid),
        (list().bearer("not a token at all"), invalid),
        (
            list().bearer(&format!("eyJ{}", "A".repeat(8 * 1024))),
            Want::OversizedToken,
        ),
    ]
}
