//! Every exit code of the `gonogo` binary, in one place: what each outcome
//! (GO, NO-GO, INCONCLUSIVE, PROMOTE, ROLLBACK, sign-off states, usage or
//! infrastructure errors) exits with. The decision and canary code return
//! outcomes; only this module knows they become process exit codes.
//!
//! | code | `run` | `canary` | `verify` | others |
//! |---|---|---|---|---|
//! | 0 | GO | PROMOTE | APPROVED; a valid attestation of PASSED | done |
//! | 1 | NO-GO | ROLLBACK | REJECTED or an invalid signature | |
//! | | | | attestation: invalid, or its result not PASSED | |
//! | 2 | INCONCLUSIVE | INCONCLUSIVE | PENDING | |
//! | 3 | usage or infrastructure error | same | same | same |
//!
//! 3 rather than clap's own 2 for usage errors: 2 would read as INCONCLUSIVE.
//!
//! `gonogo ledger verify` exits 0 when the chain and its heads verify, 1
//! naming the first bad entry. `gonogo can-i-deploy` exits 0 for yes, and a
//! code per reason for no, so a pipeline can tell them apart: 1 the latest
//! decision is NO-GO or INCONCLUSIVE, 2 sign-offs missing (as `verify`'s
//! PENDING), 4 no decision for the commit in the environment, 5 not
//! attested; 3 stays the usage or infrastructure error.

use std::process::ExitCode;

use gonogo_ledger::questions::Refusal;
use gonogo_reports::signoff::{ApprovalState, ApprovalSummary};
use gonogo_reports::{CanaryOutcome, Verdict};

/// What a command ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// `gonogo run` (and the smoke binary's decision).
    Verdict(Verdict),
    /// `gonogo canary`.
    Canary(CanaryOutcome),
    /// `gonogo verify`: the state, and whether some signature was invalid.
    Approval(ApprovalState, bool),
    /// `gonogo verify` of an attestation: valid and its result PASSED.
    Attestation(bool),
    /// `gonogo ledger verify`: whether the ledger verified.
    Ledger(bool),
    /// `gonogo can-i-deploy`: why not (`None`: yes).
    Deploy(Option<Refusal>),
    /// A command that did what it was asked (`keygen`, `signoff`, `--help`).
    Done,
    /// A usage or infrastructure error: nothing was decided.
    Usage,
}

impl Exit {
    /// The sign-off state of `summary` as an exit.
    pub fn approval(summary: &ApprovalSummary) -> Exit {
        Exit::Approval(summary.state, summary.has_invalid())
    }

    /// The documented process exit code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Done
            | Exit::Verdict(Verdict::Go)
            | Exit::Canary(CanaryOutcome::Promote)
            | Exit::Attestation(true)
            | Exit::Approval(ApprovalState::Approved, false)
            | Exit::Ledger(true)
            | Exit::Deploy(None) => 0,
            Exit::Verdict(Verdict::NoGo)
            | Exit::Canary(CanaryOutcome::Rollback)
            | Exit::Approval(ApprovalState::Rejected, _)
            | Exit::Attestation(false)
            | Exit::Approval(_, true)
            | Exit::Ledger(false)
            | Exit::Deploy(Some(Refusal::NotGo)) => 1,
            Exit::Verdict(Verdict::Inconclusive)
            | Exit::Canary(CanaryOutcome::Inconclusive)
            | Exit::Approval(ApprovalState::Pending, false)
            | Exit::Deploy(Some(Refusal::MissingRoles)) => 2,
            Exit::Usage => 3,
            Exit::Deploy(Some(Refusal::NoDecision)) => 4,
            Exit::Deploy(Some(Refusal::NotAttested)) => 5,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_exit_0_1_2() {
        let codes =
            [Verdict::Go, Verdict::NoGo, Verdict::Inconclusive].map(|v| Exit::Verdict(v).code());
        assert_eq!(codes, [0, 1, 2]);
    }

    #[test]
    fn canary_outcomes_exit_0_1_2() {
        let codes = [
            CanaryOutcome::Promote,
            CanaryOutcome::Rollback,
            CanaryOutcome::Inconclusive,
        ]
        .map(|o| Exit::Canary(o).code());
        assert_eq!(codes, [0, 1, 2]);
    }

    #[test]
    fn an_invalid_signature_exits_1_whatever_the_state() {
        let codes = [
            ApprovalState::Approved,
            ApprovalState::Pending,
            ApprovalState::Rejected,
        ]
        .map(|s| {
            (
                Exit::Approval(s, false).code(),
                Exit::Approval(s, true).code(),
            )
        });
        assert_eq!(codes, [(0, 1), (2, 1), (1, 1)]);
    }

    #[test]
    fn usage_errors_exit_3_and_success_0() {
        assert_eq!((Exit::Usage.code(), Exit::Done.code()), (3, 0));
    }
}
