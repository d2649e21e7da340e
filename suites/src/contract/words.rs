//! The contract's own words for each clause of [`super::CLAUSES`]: the
//! sentences of `CONTRACT.md` the clause stands for, verbatim.

/// `(clause id, the contract's words)`.
pub const WORDS: &[(&str, &str)] = &[];
