//! The contract gonogo judges by, as text generated from [`super::CLAUSES`]
//! and [`super::FREEDOMS`] (`gonogo contract`, `docs/CONTRACT.md`).
