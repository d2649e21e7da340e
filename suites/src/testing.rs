//! Test doubles (feature `testing`; release builds leave them out): [`fake`], an
//! in-memory contract-following API with switchable faults, used to test the suites
//! themselves; [`faults`], each fault and exactly the cases it must fail, shared with
//! the harness's mutant tests.

pub mod fake;
pub mod faults;
