//! The knowledge server's integration tests: one binary, one module per area of the contract.
//!
//! - infrastructure: `helpers` (`TestApp`: servers, tokens), `endpoints` (one method per
//!   endpoint), `reply` (shared assertions: problem details, conventions, rate-limit headers, leak
//!   check), `multipart` (hand-built forms, streamed giant files);
//! - conventions and auth: `headers`, `errors`, `auth`, `anon`, `snapshots`, `spec` (each bound
//!   the served spec states is the one enforced);
//! - knowledge and memory APIs: `files`, `listing`, `search`, `memory`, `upload_limits`, `hostile`,
//!   `own_words` (bodies and query strings that do not fit are refused in our words);
//! - security: `isolation` (RLS at the database and through the API), `crypto` (metadata AEAD);
//! - rate limit and operations: `ratelimit`, `outage` (Redis/PostgreSQL stopped), `ops`,
//!   `startup`, `binary` (the executable: SIGTERM, refusals), `storage` (concurrency on stored bytes).
//!
//! `helpers` starts one embedded server (Postgres + Redis through `gonogo-containers`) shared by the
//! whole binary; tests use fresh random tenants so they never disturb each other, and build cheap
//! replicas over the same stack for other settings. Fault tests (`outage`) start their own
//! containers. Set `TEST_LOG=1` (or a filter such as `TEST_LOG=debug`) and `--nocapture` to see logs.

mod endpoints;
mod helpers;
mod multipart;
mod reply;
#[path = "../shared/test_logs.rs"]
mod test_logs;

mod anon;
mod auth;
mod binary;
mod crypto;
mod errors;
mod files;
mod headers;
mod hostile;
mod isolation;
mod listing;
mod memory;
mod ops;
mod outage;
mod own_words;
mod ratelimit;
mod search;
mod snapshots;
mod spec;
mod startup;
mod storage;
mod upload_limits;
