//! gonogo-harness
