//! Every normative clause of `shared/CONTRACT.md`, under a stable id.
//!
//! Each registered check names the clauses it covers ([`CaseSpec::clauses`](crate::ctx::CaseSpec));
//! each mutant names the clause it breaks. The traceability test
//! (`harness/tests/traceability.rs`) fails when a clause has no check, a check
//! cites no clause or an unknown one, or a clause has no mutant, and keeps the
//! matrix in `harness/README.md` in step with this table.
//!
//! A few clauses cannot be seen through HTTP or the database at all (what
//! happens when Redis dies, while a body is still streaming, after a crash):
//! those are [`Proof::ReferenceServer`] and name the reference server's test
//! that proves them, which the traceability test checks exists. A deployed
//! target cannot be held to those by gonogo; the matrix says so.

/// How a clause is proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// By gonogo's checks, against any target (some need the JWT secret or a
    /// database URL; the check says so and is inconclusive without it).
    Checks,
    /// Only by the reference server's own test suite: `file::function` under `server/tests/api/`.
    ReferenceServer(&'static str),
}

/// How much a clause binds a server: the contract's "Two readers, two duties".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// The contract states it: a check that fails it is a NO-GO.
    Must,
    /// The contract says "should": a check that fails it is a warning.
    Should,
    /// A careful user's expectation the contract does not state: a warning.
    Expected,
}

impl Level {
    /// A failure at this level is a warning, never a NO-GO.
    pub fn warns(self) -> bool {
        self != Level::Must
    }
    /// The word the report uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "must",
            Level::Should => "should",
            Level::Expected => "expected",
        }
    }
}

/// One normative sentence (or a tight group of them) of the contract.
#[derive(Debug, Clone, Copy)]
pub struct Clause {
    pub id: &'static str,
    /// The contract section it comes from.
    pub section: &'static str,
    /// What the clause demands, in one line.
    pub text: &'static str,
    pub level: Level,
    pub proof: Proof,
}

const fn c(id: &'static str, section: &'static str, text: &'static str) -> Clause {
    Clause {
        id,
        section,
        text,
        level: Level::Must,
        proof: Proof::Checks,
    }
}

/// A careful user's expectation that extends a clause the contract states: its
/// checks warn. Its words are the sentence it extends.
const fn expected(id: &'static str, section: &'static str, text: &'static str) -> Clause {
    Clause {
        level: Level::Expected,
        ..c(id, section, text)
    }
}

/// A clause the contract words as "should": its checks warn.
const fn should(id: &'static str, section: &'static str, text: &'static str) -> Clause {
    Clause {
        level: Level::Should,
        ..c(id, section, text)
    }
}

const fn reference(
    id: &'static str,
    section: &'static str,
    text: &'static str,
    test: &'static str,
) -> Clause {
    Clause {
        proof: Proof::ReferenceServer(test),
        ..c(id, section, text)
    }
}

const CONV: &str = "Conventions";
const AUTH: &str = "Authentication";
const RATE: &str = "Per-user rate limit";
const FILES: &str = "Knowledge endpoints";
const R1: &str = "R1 Memory API";
const RLS: &str = "Tenant isolation in PostgreSQL";
const OPS: &str = "Operational endpoints";
const CRIT: &str = "Go/no-go criteria";

/// The contract, clause by clause, in the contract's order.
pub const CLAUSES: &[Clause] = &[
    c("headers.request-id.every", CONV, "X-Request-ID on every response: 2xx, 4xx, 5xx, unknown routes, 405, 413, 429, 503"),
    c("headers.request-id.echo", CONV, "An inbound X-Request-ID of 1-128 chars of [A-Za-z0-9._-] is echoed; anything else is replaced by a fresh UUID"),
    c("headers.nosniff", CONV, "X-Content-Type-Options: nosniff on every response"),
    c("headers.no-store", CONV, "Cache-Control: no-store on every authenticated response"),
    c("errors.problem-json", CONV, "Errors are RFC 9457 problem details (type, title, status equal to the HTTP status) served as application/problem+json"),
    c("errors.code", CONV, "Every error carries a stable snake_case machine code"),
    c("errors.suggestion", CONV, "Every error carries a non-empty, actionable suggestion"),
    c("errors.no-leak", CONV, "No error body or header carries a stack trace, a path, SQL, driver text or a library's error message, a connection URL or a secret"),
    c("errors.malformed-4xx", CONV, "Malformed input of any kind (bad UUID, bad JSON, wrong types, unknown query values, oversized headers) is a 4xx with a suggestion, never a 5xx"),
    c("errors.refused-before-auth", CONV, "A request refused before its token is read (over the server's request-line or header limits, a too-large bearer token included, or not valid HTTP/1.1) is a 4xx; it need not carry the rate-limit headers and may be the HTTP layer's bare 400/414/431"),
    should("errors.refused-before-auth.marked", CONV, "A request refused before its token is read should still get X-Request-ID, nosniff and a problem body where the server's stack allows"),
    c("errors.unknown-route", CONV, "An unknown route is a 404 problem; a path under a known route whose id segment does not parse may instead get that route's 400 invalid_id"),
    c("auth.missing-token", AUTH, "No Authorization header: 401, WWW-Authenticate: Bearer realm=\"knowledge\", code missing_token"),
    c("auth.invalid-token", AUTH, "A bad token: 401, WWW-Authenticate with error=\"invalid_token\" and an error_description, code invalid_token"),
    c("auth.hs256-only", AUTH, "Only HS256 is accepted: alg none and every other algorithm are rejected"),
    c("auth.signature", AUTH, "A token not signed with the configured secret is rejected"),
    c("auth.expired", AUTH, "A token whose exp passed more than 30 s ago is rejected"),
    c("auth.audience", AUTH, "aud must be \"authenticated\", as a string or inside an array; any other audience is rejected"),
    c("auth.sub-uuid", AUTH, "sub is required and must be a UUID"),
    c("auth.future-iat-nbf", AUTH, "nbf or iat in the future beyond 30 s of leeway are rejected"),
    c("auth.role", AUTH, "role, when present, must be \"authenticated\""),
    c("auth.anon.token", AUTH, "POST /api/v1/stream/auth/anon ({} or empty) gives 200 {token, token_type: bearer, user_id, expires_at, expires_in}: a 1 h JWT for a fresh anonymous user (new UUID sub, role and aud authenticated, is_anonymous true)"),
    c("auth.anon.ip-limit", AUTH, "The anonymous endpoint is limited per client IP (default 30/hour) with the same 429 shape"),
    c("ratelimit.per-user", RATE, "100 requests per hour per user (sub): the 101st inside an hour is refused, another user is unaffected"),
    c("ratelimit.counts-every-request", RATE, "Every authenticated request counts, whatever its outcome"),
    reference("ratelimit.shared-replicas", RATE, "The count lives in Redis, atomic under any concurrency and shared by every replica on the same Redis", "ratelimit::two_replicas_on_one_redis_share_one_limit"),
    c("ratelimit.gcra", RATE, "GCRA / token bucket of burst = limit refilled at limit per hour: time to full grows by 3600/limit s per request"),
    c("ratelimit.headers", RATE, "Every authenticated /api/v1/knowledge/* and /api/v1/memory/* response, 2xx and 4xx, carries X-RateLimit-Limit/Remaining/Reset, RateLimit-Policy and RateLimit"),
    c("ratelimit.remaining", RATE, "X-RateLimit-Remaining is the allowance after counting this request; Reset is when it is back at the limit"),
    c("ratelimit.429", RATE, "Over the limit: 429, Retry-After of integer seconds >= 1, code rate_limited, a suggestion naming the wait"),
    reference("ratelimit.fail-closed", RATE, "Redis unreachable or slow: 503, Retry-After, code rate_limiter_unavailable, /ready reports redis false (fail-open only by a documented, counted setting)", "outage::with_redis_stopped_requests_fail_closed_and_service_resumes_after_it_restarts"),
    c("files.auth-required", FILES, "Every knowledge and memory route needs a valid JWT"),
    c("files.own-data-only", FILES, "Every knowledge route sees only the caller's own data: lists, searches, reads and deletes never reach another tenant's file"),
    c("files.upload", FILES, "POST /api/v1/knowledge/files: 201, Location and a complete FileInfo {id, filename, mime_type, size_bytes, sha256, metadata, created_at}"),
    c("files.upload.multipart", FILES, "The upload is multipart/form-data: a required file part; an optional metadata part that is a JSON object (title, description, tags[])"),
    c("files.list", FILES, "GET /api/v1/knowledge/files: 200 {items, next_cursor}, newest first"),
    c("files.list.limit", FILES, "limit is 1-100 (default 50), anything else is 400"),
    c("files.list.cursor", FILES, "Cursor paging returns every item exactly once, newest first, under any filter (session_id included), and never an item of another tenant; a bad cursor is refused with a 4xx"),
    c("files.get", FILES, "GET /api/v1/knowledge/files/{id}: 200 with the file's FileInfo"),
    c("files.delete", FILES, "DELETE /api/v1/knowledge/files/{id}: 204, and the row and the bytes are gone"),
    c("files.read-paths-agree", FILES, "Every read path agrees on which files exist: once DELETE answered 204, the file is gone from list, get, content and search at once"),
    c("files.bytes-described", FILES, "size_bytes and sha256 describe exactly the bytes that /content returns"),
    c("files.content", FILES, "GET …/{id}/content: the stored bytes, the stored Content-Type, Content-Disposition: attachment; filename*=UTF-8''…"),
    c("files.mime-allowed", FILES, "Only text/plain, text/markdown, text/csv, application/json, application/pdf; anything else is 400 invalid_mime_type with a suggestion listing them"),
    c("files.content-mismatch", FILES, "Bytes that disagree with the declared type (PDF magic, parseable JSON, UTF-8 text) are 400 content_mismatch"),
    c("files.empty", FILES, "An empty file is 400 empty_file"),
    c("files.size-limit", FILES, "A file over the upload limit (10 MiB by default, counted on the file's bytes; exactly 10 MiB is accepted) is 413 payload_too_large"),
    reference("files.size-streaming", FILES, "An oversized upload is refused while streaming, before the whole body is buffered", "upload_limits::a_200_mib_upload_is_refused_while_streaming_with_bounded_server_memory"),
    c("files.not-found", FILES, "Another tenant's id, or no such id, is 404 not_found on every by-id route (never 403)"),
    c("files.invalid-id", FILES, "A non-UUID id is 400 invalid_id"),
    c("files.filename", FILES, "The client's filename is reduced to its last path segment (no / or \\; an empty result becomes `file`) and never becomes a path"),
    c("files.filename.control", FILES, "A name with control characters either has them removed or is refused with 400 invalid_filename and a suggestion; no stored or returned name holds a separator or a control character"),
    expected("files.filename.format", FILES, "Format, bidi and separator characters (Unicode Cf, Zl, Zp: U+202E, U+200B, U+FEFF, U+2028) are removed from a name or refused with 400 invalid_filename like control characters: a name must read as it is stored (an expectation the contract does not state: a warning)"),
    reference("files.atomic", FILES, "A crash or database error leaves no visible half-file: no row without bytes, no acknowledged upload lost", "storage::a_replica_starting_on_the_same_storage_does_not_break_an_upload_in_flight"),
    c("search.shape", FILES, "POST /api/v1/knowledge/search: 200 {results: [{file_id, filename, score, snippet}], took_ms}"),
    c("search.limits", FILES, "query is 1-512 characters, limit 1-50 (default 10); anything else is refused with a 4xx"),
    c("search.coverage", FILES, "Full text over the text of text-like files plus the filename and the metadata"),
    c("search.ranked", FILES, "Results are ranked: scores never increase down the list, and the better match comes first"),
    c("search.bound-parameter", FILES, "Quotes, SQL, operators and any Unicode in a query give 200 or 400, never 500"),
    c("metadata.round-trip", FILES, "Metadata is returned decrypted, to its owner only"),
    c("metadata.encrypted-at-rest", FILES, "Metadata is encrypted at rest (AEAD, random nonce): no column holds it in clear, and equal metadata is not stored as equal bytes"),
    reference("metadata.aad-binding", FILES, "The ciphertext is bound to its file id and owner: moved to another row it fails to decrypt", "crypto::metadata_ciphertext_moved_to_another_row_is_a_clean_error"),
    c("r1.memory.operations", R1, "POST /api/v1/memory, GET /api/v1/memory?session_id=&limit=&cursor=, GET and DELETE /api/v1/memory/{id} behave as the R1 spec says"),
    c("r1.memory.shape", R1, "Every R1 memory response body is valid against the R1 baseline's response schema"),
    c("r1.memory.isolation", R1, "Memories are under the same isolation: another tenant's memory is never listed, read or deleted"),
    c("r1.spec-additive", R1, "The R1 OpenAPI baseline is frozen: the R2 spec may only add to it"),
    c("rls.enable-force", RLS, "Every table holding tenant data has ENABLE and FORCE ROW LEVEL SECURITY"),
    c("rls.policies-claims", RLS, "The policies compare the row's owner with current_setting('request.jwt.claims', true)::jsonb ->> 'sub'"),
    c("rls.role-unprivileged", RLS, "The server's role is no superuser, owns no table and has no BYPASSRLS"),
    c("rls.transaction-local", RLS, "Claims are set transaction-locally: nothing survives to the next user of a pooled connection"),
    c("rls.guard-not-handler", RLS, "Isolation holds without the handler's WHERE: as the server's role, a tenant's claims see only its rows, no claims see none"),
    c("ops.health", OPS, "GET /health: 200 while the process is up, without a token"),
    c("ops.ready", OPS, "GET /ready: 200 {ready: true, checks: {database, redis, storage, telemetry}} (503 with the failing checks false)"),
    c("ops.metrics", OPS, "GET /metrics: Prometheus text with request counts and latency histograms by route and status, rate-limit rejections, fail-open admissions, DB and Redis latency"),
    c("ops.openapi", OPS, "GET /openapi.json: an OpenAPI 3.1 description of every route of the contract (describing /openapi.json itself is optional)"),
    c("ops.responses-documented", OPS, "Every success response matches its documented schema: its status, content type and body are documented for the operation"),
    should("ops.error-statuses-documented", OPS, "Error statuses a route can return should be documented; an undocumented error status is a warning, not a release blocker"),
    c("ops.unlimited", OPS, "Operational endpoints need no token and are not rate-limited per user"),
    c("criteria.search-p95", CRIT, "query_latency_p95_ms of search is <= 400 ms, measured on enough searches for a p95 to exist"),
];

pub mod text;
mod words;

impl Clause {
    /// The contract's own words for this clause ([`words::WORDS`]), or its
    /// one-line summary where none are recorded.
    pub fn words(&self) -> &'static str {
        words::WORDS
            .iter()
            .find(|(id, _)| *id == self.id)
            .map_or(self.text, |(_, w)| w)
    }
}

/// The clause with this id.
pub fn clause(id: &str) -> Option<&'static Clause> {
    CLAUSES.iter().find(|c| c.id == id)
}

/// The level a check guards at: the strictest of its clauses. A check that
/// guards only *should* clauses (or unstated expectations) warns.
pub fn level_of(clauses: &[&str]) -> Level {
    clauses
        .iter()
        .filter_map(|id| clause(id))
        .map(|c| c.level)
        .min()
        .unwrap_or(Level::Expected)
}

/// A behaviour the contract leaves open ("either … or …", "may", a default a
/// deployment may change, or a choice the contract does not fix): every
/// server that takes it must stay GO. Each freedom has at least one *allowed
/// variant* of the reference server that takes it (the mirror of the mutants;
/// `harness/tests/mutants/variants.rs`), which the traceability test enforces.
#[derive(Debug, Clone, Copy)]
pub struct Freedom {
    pub id: &'static str,
    /// The clause that grants it.
    pub clause: &'static str,
    /// What a correct server may do.
    pub text: &'static str,
}

const fn may(id: &'static str, clause: &'static str, text: &'static str) -> Freedom {
    Freedom { id, clause, text }
}

/// Every freedom of the contract, in the contract's order.
pub const FREEDOMS: &[Freedom] = &[
    may("request-id.fresh-uuid-version", "headers.request-id.echo", "A replaced X-Request-ID may be any fresh UUID (v4, v7, ...)"),
    may("errors.problem-wording", "errors.problem-json", "A problem's type URI, title and detail are the server's own words; detail may be absent (RFC 9457)"),
    may("errors.content-type-parameters", "errors.problem-json", "Media types may carry parameters (charset=utf-8)"),
    may("refused-before-auth.lower-header-limit", "errors.refused-before-auth", "A lower header limit: 431 before the token is read, a too-large bearer token included, without rate-limit headers"),
    may("refused-before-auth.bare", "errors.refused-before-auth", "A refusal before the token is read may be the HTTP layer's bare 400/414/431, without X-Request-ID, nosniff or problem body (a warning)"),
    may("unknown-route.invalid-id", "errors.unknown-route", "A path under a known route whose id segment does not parse may get that route's 400 invalid_id"),
    may("auth.aud-array", "auth.audience", "aud may be a string or an array containing \"authenticated\""),
    may("auth.challenge-parameter-order", "auth.invalid-token", "WWW-Authenticate's auth-params may come in any order"),
    may("auth.expiry-leeway", "auth.expired", "A token that expired less than 30 s ago may be accepted or refused"),
    may("anon.token-extra-claims", "auth.anon.token", "The anonymous token may carry more claims (iss, iat, jti, ...)"),
    may("anon.larger-limit", "auth.anon.ip-limit", "The per-IP anonymous limit is a default: a deployment may set another"),
    may("anon.behind-proxy", "auth.anon.ip-limit", "The client IP may be the address a proxy of the deployment appends"),
    may("ratelimit.retry-after-rounded-up", "ratelimit.429", "Retry-After may round the wait up to whole seconds"),
    may("responses.extra-fields", "files.upload", "Responses may carry fields beyond the contract's (R1's may only gain)"),
    may("responses.json-key-order", "files.upload", "JSON members may come in any order"),
    may("responses.ids-any-uuid", "files.upload", "Ids may be any UUID version (v7 for time order)"),
    may("responses.timestamp-format", "files.upload", "Timestamps may use any RFC 3339 precision and offset"),
    may("responses.location-absolute", "files.upload", "Location may be an absolute or a relative reference"),
    may("transport.chunked", "headers.nosniff", "A response body may be chunked instead of carrying Content-Length"),
    may("transport.connection-close", "headers.nosniff", "A server may close the connection after each response"),
    may("transport.extra-headers", "headers.nosniff", "Responses may carry more headers (Server, Vary, Strict-Transport-Security, ...)"),
    may("headers.cache-control-more", "headers.no-store", "Cache-Control may add directives to no-store (private, max-age=0)"),
    may("list.cursor-format", "files.list.cursor", "A cursor is opaque: any format"),
    may("validation.status", "search.limits", "Input refused where the contract names no status (search bounds, a bad cursor) may get any fitting 4xx, e.g. FastAPI's 422"),
    may("content.disposition-fallback", "files.content", "Content-Disposition may also carry an ASCII filename= fallback"),
    may("filename.refuse-control", "files.filename.control", "A name with control characters may be refused with 400 invalid_filename instead of cleaned"),
    may("filename.refuse-format", "files.filename.format", "A name with format or bidi characters may be refused with 400 invalid_filename instead of cleaned"),
    may("search.snippet-markers", "search.shape", "Snippets may mark matches in any way"),
    may("search.score-scale", "search.ranked", "Scores may use any scale that keeps the order"),
    may("search.refuse-operators", "search.bound-parameter", "Quotes, SQL and operators may be refused with 400 instead of searched"),
    may("ready.more-checks", "ops.ready", "/ready may report more checks than the four"),
    may("metrics.names", "ops.metrics", "Metric and label names are the server's own"),
    may("openapi.without-itself", "ops.openapi", "The OpenAPI document need not describe /openapi.json itself"),
    may("openapi.undocumented-errors", "ops.error-statuses-documented", "Error statuses (405, 413, 431, 500, 503) may be missing from the document (a warning)"),
    may("rls.policy-text", "rls.policies-claims", "A policy may reach the claims' sub through a function or a subquery: its text is the server's own"),
];

/// The freedom with this id.
pub fn freedom(id: &str) -> Option<&'static Freedom> {
    FREEDOMS.iter().find(|f| f.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_dotted_and_lower_case() {
        let mut seen = std::collections::HashSet::new();
        for c in CLAUSES {
            assert!(seen.insert(c.id), "duplicate clause id {}", c.id);
            assert!(
                c.id.contains('.')
                    && c.id.chars().all(|ch| ch.is_ascii_lowercase()
                        || ch.is_ascii_digit()
                        || ".-".contains(ch)),
                "badly formed clause id {}",
                c.id
            );
        }
    }
}
