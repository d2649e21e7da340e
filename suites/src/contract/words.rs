//! The contract's own words for each clause of [`super::CLAUSES`]: the
//! sentences of `CONTRACT.md` the clause stands for, verbatim.
//!
//! Sentences and bullets may be joined with a space, `**` emphasis is dropped
//! and a sentence is cut only where a sentence or clause ends. A row of one of
//! the contract's tables is written as its cells joined as the contract reads
//! them: `method & path → success: notes` (the notes cut to the part the
//! clause is about), `criterion → threshold`. The test below checks every
//! entry against `../shared/CONTRACT.md` when the workspace has it beside it.

/// `(clause id, the contract's words)`, in [`super::CLAUSES`] order.
pub const WORDS: &[(&str, &str)] = &[
    ("headers.request-id.every", "`X-Request-ID` on every response — 2xx, 4xx, 5xx, 404 for unknown routes, 405, 413, 429, 503."),
    ("headers.request-id.echo", "An inbound `X-Request-ID` of 1–128 chars of `[A-Za-z0-9._-]` is echoed; anything else is replaced by a fresh UUID."),
    ("headers.nosniff", "`X-Content-Type-Options: nosniff` on every response"),
    ("headers.no-store", "`Cache-Control: no-store` on every authenticated response."),
    ("errors.problem-json", "Errors are RFC 9457 problem details, `Content-Type: application/problem+json`"),
    ("errors.code", "`code` is a stable snake_case machine code"),
    ("errors.suggestion", "`suggestion` is a non-empty, actionable sentence on every error."),
    ("errors.no-leak", "No error body or header ever carries a stack trace, a file-system path, SQL text, a driver/library error string, a connection URL or a secret."),
    ("errors.malformed-4xx", "Malformed input of any kind (bad UUID, bad JSON, wrong types, unknown query values, oversized headers) is a 4xx with a suggestion — never a 5xx."),
    ("errors.refused-before-auth", "A request refused before its token is read — a request line or headers over the server's limits (`414`, `431`; a bearer token too large for the limit included), or bytes that are not a valid HTTP/1.1 request (a malformed request line or header, conflicting or signed `Content-Length`, an unknown `Transfer-Encoding`) — is not an authenticated response: it need not carry the rate-limit headers, and it may come from the HTTP layer itself as a bare `400`/`414`/`431`."),
    ("errors.refused-before-auth.marked", "A server should still give it `X-Request-ID`, `nosniff` and a problem body where its stack allows (the reference server does)."),
    ("errors.unknown-route", "An unknown route is a `404` problem. A path under a known route whose id segment does not parse (`/files/{id}/content/extra`) may instead get that route's `400 invalid_id`."),
    ("auth.missing-token", r#"No `Authorization` header → `401`, `WWW-Authenticate: Bearer realm="knowledge"`, `code: missing_token`."#),
    ("auth.invalid-token", r#"Anything wrong with the token (malformed, bad signature, expired, wrong audience, wrong algorithm, bad `sub`) → `401`, `WWW-Authenticate: Bearer realm="knowledge", error="invalid_token", error_description="<short reason>"`, `code: invalid_token`."#),
    ("auth.hs256-only", "Only HS256 is accepted; `alg: none` and every other algorithm are rejected."),
    ("auth.signature", "`Authorization: Bearer <JWT>`, HS256, secret from configuration (Supabase style). Anything wrong with the token (malformed, bad signature, expired, wrong audience, wrong algorithm, bad `sub`) → `401`"),
    ("auth.expired", "`nbf`/`iat` in the future beyond 30 s leeway are rejected, and so is a token whose `exp` passed more than 30 s ago."),
    ("auth.audience", r#"Required claims: `sub` (UUID), `exp`, `aud` = `"authenticated"` (string or array)."#),
    ("auth.sub-uuid", r#"Required claims: `sub` (UUID), `exp`, `aud` = `"authenticated"` (string or array)."#),
    ("auth.future-iat-nbf", "`nbf`/`iat` in the future beyond 30 s leeway are rejected"),
    ("auth.role", r#"`role` must be `"authenticated"` when present."#),
    ("auth.anon.token", r#"`POST /api/v1/stream/auth/anon` (body `{}` or empty) → `200` `{"token","token_type":"bearer","user_id","expires_at","expires_in"}`: a JWT for a fresh anonymous user (`sub` new UUID, `role: "authenticated"`, `aud: "authenticated"`, `is_anonymous: true`, 1 h lifetime)."#),
    ("auth.anon.ip-limit", "Limited per client IP (default 30/hour) with the same 429 shape as below. The client IP is the connection's peer address, or the address that a proxy of the deployment appends; a value the client itself sends (`X-Forwarded-For`, `Forwarded`, `X-Real-IP`) never moves it."),
    ("ratelimit.per-user", "Default 100 requests per hour per user (`sub`), configurable. Algorithm: GCRA / token bucket of burst = limit, refilled at limit per hour — so the 101st request inside an hour is refused and one request is admitted again after 3600/limit seconds."),
    ("ratelimit.counts-every-request", "Every authenticated request counts, whatever its outcome."),
    ("ratelimit.shared-replicas", "Counted in Redis with one atomic script using Redis' own clock, so the limit is exact under any concurrency and shared by every server replica on the same Redis."),
    ("ratelimit.gcra", "Algorithm: GCRA / token bucket of burst = limit, refilled at limit per hour — so the 101st request inside an hour is refused and one request is admitted again after 3600/limit seconds."),
    ("ratelimit.headers", r#"Every authenticated response under `/api/v1/knowledge/*` and `/api/v1/memory/*` (2xx and 4xx alike) carries: `X-RateLimit-Limit: 100` `X-RateLimit-Remaining: <0..limit>` (after counting this request) `X-RateLimit-Reset: <unix epoch seconds when remaining is back at limit>` `RateLimit-Policy: "hourly";q=100;w=3600` and `RateLimit: "hourly";r=<remaining>;t=<seconds to full>` (IETF draft-ietf-httpapi-ratelimit-headers)"#),
    ("ratelimit.remaining", "`X-RateLimit-Remaining: <0..limit>` (after counting this request) `X-RateLimit-Reset: <unix epoch seconds when remaining is back at limit>`"),
    ("ratelimit.429", "Over the limit → `429`, `Retry-After: <integer seconds ≥ 1 until one request is admitted>`, `code: rate_limited`, a suggestion naming the wait."),
    ("ratelimit.fail-closed", "Redis unreachable or slower than a short timeout (default 250 ms): the default is fail closed — `503`, `Retry-After`, `code: rate_limiter_unavailable`; `/ready` reports `redis: false`. A documented setting may choose fail-open; it must be counted in metrics and logged."),
    ("files.auth-required", "All need a valid JWT and see only the caller's own data."),
    ("files.own-data-only", "All need a valid JWT and see only the caller's own data."),
    ("files.upload", r#"`POST /api/v1/knowledge/files` → `201` + `Location` + FileInfo: `multipart/form-data`: part `file` (required; filename and declared Content-Type), part `metadata` (optional JSON object: `title`, `description`, `tags[]`) FileInfo: `{"id","filename","mime_type","size_bytes","sha256","metadata","created_at"}`."#),
    ("files.upload.multipart", "`POST /api/v1/knowledge/files` → `201` + `Location` + FileInfo: `multipart/form-data`: part `file` (required; filename and declared Content-Type), part `metadata` (optional JSON object: `title`, `description`, `tags[]`)"),
    ("files.list", r#"`GET /api/v1/knowledge/files?limit=&cursor=` → `200 {"items":[FileInfo],"next_cursor":string|null}`: newest first"#),
    ("files.list.limit", r#"`GET /api/v1/knowledge/files?limit=&cursor=` → `200 {"items":[FileInfo],"next_cursor":string|null}`: newest first; `limit` 1–100 (default 50), else 400"#),
    ("files.list.cursor", "Cursor paging returns every item exactly once, newest first, under any filter (`session_id` included), and never an item of another tenant."),
    ("files.get", "`GET /api/v1/knowledge/files/{id}` → `200` FileInfo"),
    ("files.delete", "`DELETE /api/v1/knowledge/files/{id}` → `204`: removes the row and the stored bytes"),
    ("files.read-paths-agree", "Every read path agrees on which files exist: once `DELETE` answered `204`, the file is gone from list, get, content and search at once."),
    ("files.bytes-described", "`size_bytes` and `sha256` describe exactly the bytes that `/content` returns."),
    ("files.content", "`GET /api/v1/knowledge/files/{id}/content` → `200` raw bytes: stored Content-Type, `Content-Disposition: attachment; filename*=UTF-8''…`"),
    ("files.mime-allowed", "Allowed declared MIME types: `text/plain`, `text/markdown`, `text/csv`, `application/json`, `application/pdf`. Anything else → `400`, `code: invalid_mime_type`, suggestion listing the allowed types."),
    ("files.content-mismatch", "The bytes must agree with the declared type (PDF magic, parseable JSON, UTF-8 text) else `400 code: content_mismatch`."),
    ("files.empty", "Empty file → `400 code: empty_file`."),
    ("files.size-limit", "A file larger than the upload limit (default 10 MiB, counted on the file's bytes, so a file of exactly 10 MiB is accepted) → `413 code: payload_too_large`"),
    ("files.size-streaming", "A file larger than the upload limit (default 10 MiB, counted on the file's bytes, so a file of exactly 10 MiB is accepted) → `413 code: payload_too_large`, refused while streaming, before the whole body is buffered."),
    ("files.not-found", "Another tenant's id, or no such id → `404 code: not_found` (never 403: no existence leak)."),
    ("files.invalid-id", "A non-UUID id → `400 code: invalid_id`."),
    ("files.filename", r"The client's filename is data only: it is reduced to its last path segment (no `/` or `\`; an empty result becomes `file`) and never becomes a path."),
    ("files.filename.control", "A name with control characters either has them removed or is refused with `400 code: invalid_filename` and a suggestion; no stored or returned name ever holds a separator or a control character."),
    ("files.filename.format", "A name with control characters either has them removed or is refused with `400 code: invalid_filename` and a suggestion; no stored or returned name ever holds a separator or a control character."),
    ("files.atomic", "Bytes are stored under the file's UUID; the row and the bytes are written so that a crash or a database error leaves no visible half-file (no row without bytes, no acknowledged upload lost)."),
    ("search.shape", r#"`POST /api/v1/knowledge/search` → `200 {"results":[{"file_id","filename","score","snippet"}],"took_ms"}`"#),
    ("search.limits", r#"`POST /api/v1/knowledge/search` → `200 {"results":[{"file_id","filename","score","snippet"}],"took_ms"}`: body `{"query": 1–512 chars, "limit": 1–50 (default 10)}`"#),
    ("search.coverage", r#"`POST /api/v1/knowledge/search` → `200 {"results":[{"file_id","filename","score","snippet"}],"took_ms"}`: full-text over the text of text-like files plus filename and metadata"#),
    ("search.ranked", r#"`POST /api/v1/knowledge/search` → `200 {"results":[{"file_id","filename","score","snippet"}],"took_ms"}`: ranked"#),
    ("search.bound-parameter", "Search text is always a bound parameter (`websearch_to_tsquery` or similar): quotes, SQL, operators and any Unicode give `200` or `400`, never `500`."),
    ("metadata.round-trip", "`metadata` is encrypted at rest with an AEAD cipher (AES-256-GCM or XChaCha20-Poly1305), random nonce, associated data binding it to its file id and owner, key from configuration with a key id for rotation. The API returns it decrypted to its owner only."),
    ("metadata.encrypted-at-rest", "`metadata` is encrypted at rest with an AEAD cipher (AES-256-GCM or XChaCha20-Poly1305), random nonce, associated data binding it to its file id and owner, key from configuration with a key id for rotation."),
    ("metadata.aad-binding", "`metadata` is encrypted at rest with an AEAD cipher (AES-256-GCM or XChaCha20-Poly1305), random nonce, associated data binding it to its file id and owner, key from configuration with a key id for rotation. Ciphertext moved to another row fails to decrypt."),
    ("r1.memory.operations", "`POST /api/v1/memory`, `GET /api/v1/memory?session_id=&limit=&cursor=`, `GET /api/v1/memory/{id}`, `DELETE /api/v1/memory/{id}`, over a 13-column `memories` table under the same RLS rules."),
    ("r1.memory.shape", "Its OpenAPI description is frozen in a committed R1 baseline; the R2 change may only add to the spec. Every success response matches its documented schema, and R1's may only gain."),
    ("r1.memory.isolation", "`POST /api/v1/memory`, `GET /api/v1/memory?session_id=&limit=&cursor=`, `GET /api/v1/memory/{id}`, `DELETE /api/v1/memory/{id}`, over a 13-column `memories` table under the same RLS rules."),
    ("r1.spec-additive", "Its OpenAPI description is frozen in a committed R1 baseline; the R2 change may only add to the spec."),
    ("rls.enable-force", "Every tenant table has `ENABLE` and `FORCE ROW LEVEL SECURITY`"),
    ("rls.policies-claims", "Every tenant table has `ENABLE` and `FORCE ROW LEVEL SECURITY`, with policies on the caller id read from `current_setting('request.jwt.claims', true)::jsonb ->> 'sub'`."),
    ("rls.role-unprivileged", "The server connects as a role that is not a superuser, not the tables' owner and has no `BYPASSRLS`. Migrations run as a separate owner role."),
    ("rls.transaction-local", "Each request's queries run in one transaction that first does `set_config('request.jwt.claims', <verified claims>, true)` (transaction-local: nothing leaks to the next user of a pooled connection)."),
    ("rls.guard-not-handler", "Isolation must hold even if a handler forgot its `WHERE owner = …` — RLS is the guard, not the handler."),
    ("ops.health", "These need no token and are not rate-limited per user. `GET /health` → `200` while the process is up."),
    ("ops.ready", r#"`GET /ready` → `200 {"ready":true,"checks":{"database":true,"redis":true,"storage":true,"telemetry":true}}`, `503` with the failing checks `false` otherwise."#),
    ("ops.metrics", "`GET /metrics` → Prometheus text: request counts and latency histograms by route and status, rate-limit rejections, fail-open admissions, DB and Redis latency."),
    ("ops.openapi", "`GET /openapi.json` → OpenAPI 3.1 description of every route above, generated from the code (describing `/openapi.json` itself is optional)."),
    ("ops.responses-documented", "Every success response matches its documented schema, and R1's may only gain."),
    ("ops.error-statuses-documented", "Error statuses a route can return should be documented; an undocumented error status is a warning, not a release blocker."),
    ("ops.unlimited", "These need no token and are not rate-limited per user."),
    ("criteria.search-p95", "A criterion with no samples is inconclusive, never a pass. `query_latency_p95_ms` (search) → ≤ 400"),
];

#[cfg(test)]
mod tests {
    use super::super::{text, CLAUSES};
    use super::WORDS;

    #[test]
    fn every_clause_has_words_in_clause_order_and_no_words_name_an_unknown_clause() {
        let clauses: Vec<&str> = CLAUSES.iter().map(|c| c.id).collect();
        let worded: Vec<&str> = WORDS.iter().map(|(id, _)| *id).collect();
        for id in &worded {
            assert!(clauses.contains(id), "words for an unknown clause {id}");
        }
        for id in &clauses {
            assert!(worded.contains(id), "clause {id} has no words");
        }
        assert_eq!(worded, clauses, "WORDS is not in CLAUSES order");
        for (id, words) in WORDS {
            assert!(!words.trim().is_empty(), "{id} has empty words");
        }
    }

    /// The contract as text to search: whitespace collapsed, `**` and list
    /// markers dropped, tables both as prose (pipes removed) and as rows.
    struct Contract {
        prose: String,
        rows: Vec<Vec<String>>,
    }

    fn normalise(s: &str) -> String {
        s.replace("**", "")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// A table row's cells, `\|` read as the `|` it escapes.
    fn cells(line: &str) -> Vec<String> {
        let inner = line.trim().trim_start_matches('|');
        let inner = inner.strip_suffix('|').unwrap_or(inner);
        let mut cells = vec![String::new()];
        let mut chars = inner.chars().peekable();
        while let Some(ch) = chars.next() {
            match ch {
                '\\' if chars.peek() == Some(&'|') => {
                    cells.last_mut().unwrap().push('|');
                    chars.next();
                }
                '|' => cells.push(String::new()),
                _ => cells.last_mut().unwrap().push(ch),
            }
        }
        cells.iter().map(|c| normalise(c)).collect()
    }

    impl Contract {
        fn parse(markdown: &str) -> Contract {
            let mut prose = Vec::new();
            let mut rows = Vec::new();
            for line in markdown.lines() {
                let t = line.trim();
                if t.starts_with('|') {
                    let row = cells(t);
                    if row.iter().all(|c| c.chars().all(|ch| "-: ".contains(ch))) {
                        continue;
                    }
                    prose.push(row.join(" "));
                    rows.push(row);
                } else {
                    let t = t.strip_prefix("- ").unwrap_or(t);
                    prose.push(t.trim_start_matches('#').to_owned());
                }
            }
            Contract {
                prose: normalise(&prose.join(" ")),
                rows,
            }
        }

        /// `piece` is a row written `first → second` or `first → second: part of the third`.
        fn has_row(&self, piece: &str) -> bool {
            let Some((first, rest)) = piece.split_once(" → ") else {
                return false;
            };
            self.rows.iter().any(|row| {
                row.first().is_some_and(|c| c == first)
                    && row.get(1).is_some_and(|second| {
                        rest == second
                            || rest
                                .strip_prefix(second.as_str())
                                .and_then(|r| r.strip_prefix(": "))
                                .is_some_and(|notes| {
                                    row.get(2).is_some_and(|third| whole_parts(notes, third))
                                })
                    })
            })
        }

        /// Where `words` strays from the contract: the pieces (sentences
        /// joined with a space, table rows) found in neither its prose nor its rows.
        fn strays(&self, words: &str) -> Vec<String> {
            let words = normalise(words);
            if self.prose.contains(&words) || self.has_row(&words) {
                return Vec::new();
            }
            pieces(&words)
                .into_iter()
                .filter(|p| !self.prose.contains(p.as_str()) && !self.has_row(p))
                .collect()
        }
    }

    /// `notes` is one or more consecutive `;`-separated parts of the cell `third`.
    fn whole_parts(notes: &str, third: &str) -> bool {
        let parts: Vec<&str> = third.split("; ").collect();
        let wanted: Vec<&str> = notes.split("; ").collect();
        !notes.is_empty() && parts.windows(wanted.len()).any(|w| w == wanted.as_slice())
    }

    /// `words` cut where one sentence (or parenthesis) ends and the next begins.
    fn pieces(words: &str) -> Vec<String> {
        let chars: Vec<char> = words.chars().collect();
        let mut out = vec![String::new()];
        for (i, &ch) in chars.iter().enumerate() {
            let ends = i > 0
                && ch == ' '
                && matches!(chars[i - 1], '.' | ')')
                && chars
                    .get(i + 1)
                    .is_some_and(|n| n.is_uppercase() || *n == '`');
            if ends {
                out.push(String::new());
            } else {
                out.last_mut().unwrap().push(ch);
            }
        }
        out
    }

    const SAMPLE: &str = "## Rules\n\n- `A` on **every** response; `B` on\n  some. Then more.\n- Next bullet.\n\n| x | y | z |\n|---|---|---|\n| `GET /a` | `200 {\"n\":string\\|null}` | newest first; `limit` 1–9, else 400 |\n";

    #[test]
    fn the_matcher_takes_verbatim_words_and_refuses_rewording() {
        let c = Contract::parse(SAMPLE);
        for ok in [
            "`A` on every response",
            "`A` on every response; `B` on some. Then more. Next bullet.",
            "`A` on every response; `B` on some. Next bullet.",
            "`GET /a` → `200 {\"n\":string|null}`",
            "`GET /a` → `200 {\"n\":string|null}`: newest first; `limit` 1–9, else 400",
            "`GET /a` → `200 {\"n\":string|null}`: `limit` 1–9, else 400",
            "Next bullet. `GET /a` → `200 {\"n\":string|null}`",
        ] {
            assert_eq!(c.strays(ok), Vec::<String>::new(), "{ok}");
        }
        for bad in [
            "`A` on each response",
            "`B` on some. Then less.",
            "`GET /a` → `201 {\"n\":string|null}`",
            "`GET /a` → `200 {\"n\":string|null}`: oldest first",
            "`GET /a` → `200 {\"n\":string|null}`: newest",
            "`GET /b` → `200 {\"n\":string|null}`",
        ] {
            assert!(!c.strays(bad).is_empty(), "{bad} passed");
        }
    }

    #[test]
    fn the_words_are_the_contracts_own() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/CONTRACT.md");
        let path = path.canonicalize().unwrap_or(path);
        let Ok(markdown) = std::fs::read_to_string(&path) else {
            println!(
                "{} is absent: the words are not compared with the contract",
                path.display()
            );
            return;
        };
        let contract = Contract::parse(&markdown);
        let mut strays = Vec::new();
        let criteria = text::CRITERIA
            .iter()
            .map(|(criterion, threshold)| ("criteria table", format!("{criterion} → {threshold}")));
        let entries = WORDS
            .iter()
            .map(|(id, w)| (*id, w.to_string()))
            .chain(criteria)
            .chain([("criteria rules", text::RULES.to_owned())]);
        for (id, words) in entries {
            for piece in contract.strays(&words) {
                strays.push(format!("{id}: {piece}"));
            }
        }
        assert!(
            strays.is_empty(),
            "not in {}:\n{}",
            path.display(),
            strays.join("\n")
        );
        assert!(
            markdown.contains(&format!("(v{})", text::VERSION)),
            "the contract is not v{}",
            text::VERSION
        );
    }
}
