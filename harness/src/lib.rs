//! gonogo-harness: runs the suites against a target and decides GO / NO-GO.
//!
//! - [`client`]: the HTTP transport (reqwest, timed exchanges).
//! - [`run`]: the run session: fixture (hermetic: containers + in-process server; remote: a URL), suites, report.
//! - [`db`]: the read-only database probe behind the RLS gate (hermetic, or `--database-url`).
//! - [`compare`]: `--compare-to`: the earlier report a run is compared with, and the report history.
//! - [`earlier`]: what an earlier report of the same build verified (a rerun within the hour).
//! - [`metrics`], [`decision`]: HDR latency, match rate, criteria and the verdict.
//! - [`report`], [`redact`]: the report model filled in, evidence redacted and trimmed.
//! - [`config`]: `gonogo.toml`, `GONOGO_*` variables and flags, flag > env > file > default.
//! - [`serve`]: `gonogo serve`, the gate behind Flagger webhooks and Argo's web metric.
//! - [`exit`]: every outcome's process exit code; [`error`]: every command's error, one sentence, exit 3.
//! - [`cli`]: `gonogo run …` and the release sub-commands ([`release_cli`], [`canary`]).
//! - [`ledger`]: the ledger of decisions as the commands use it: where it is, its key, the
//!   entries they append; [`ledger_cli`]: `ledger verify`, `history`, `can-i-deploy`,
//!   `record-deployment`.
//! - [`progress`]: what stderr shows while a run or a canary works (`-q`, `-v`, `--color`).
//! - [`github`]: the report published to GitHub Actions (annotations, step summary, outputs).
//! - [`notify`]: the optional webhook told of each decision and sign-off.

pub mod canary;
pub mod cli;
pub mod client;
pub mod compare;
pub mod config;
pub mod db;
pub mod decision;
pub mod earlier;
pub mod error;
pub mod exit;
pub mod github;
pub mod ledger;
pub mod ledger_cli;
pub mod metrics;
pub mod notify;
pub mod progress;
pub mod redact;
pub mod release_cli;
pub mod report;
pub mod run;
pub mod serve;
