//! gonogo-suites
