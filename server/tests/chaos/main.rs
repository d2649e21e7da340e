//! Chaos on real containers: what an outage or a crash may cost a client, and what it may leave
//! behind. Each test starts its own PostgreSQL and Redis (`gonogo-containers`) and a server over
//! them, in process or as the real binary (for `kill -9`), and removes all of it when it ends.
//!
//! - `database`: pooled connections killed under an idle server (`pg_terminate_backend`, a
//!   PostgreSQL restart) cost no client a 503 and `/ready` never reports the healthy database
//!   down; under traffic a dead pooled connection costs at most one 503;
//! - `redis`: Redis paused and killed, under traffic and idle: only 200 or 503 with
//!   `Retry-After`, and the first request once Redis is back is a 200;
//! - `crash`: `kill -9` of the binary during concurrent uploads, then a restart: no acknowledged
//!   upload is lost, no row lacks its bytes, and the start-up sweep leaves no orphan (stored
//!   bytes without a row, temp files, pending markers);
//! - `roundtrips`: through a counting proxy, a read keeps its three round trips to PostgreSQL
//!   before a loss and once the pool has healed (healing costs the normal path nothing).
//!
//! The tests take turns ([`support::serial`]): chaos timings on two shared cores must not
//! depend on another test's containers. Set `TEST_LOG=1` and `--nocapture` to see the logs.

mod support;
#[path = "../shared/test_logs.rs"]
mod test_logs;

mod crash;
mod database;
mod redis;
mod roundtrips;
