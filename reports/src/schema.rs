//! JSON Schema of the report, generated from the model.
//!
//! The committed copy is `reports/schema/report.schema.json`; a test keeps it
//! equal to [`report_schema`] so it cannot drift. Regenerate it with
//! `UPDATE_SCHEMA=1 cargo test -p gonogo-reports --test all schema`.

use crate::model::Report;

/// The JSON Schema (draft 7, as schemars 0.8 emits) of [`Report`].
pub fn report_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Report)).expect("a schema always serialises")
}

/// The schema as committed: pretty JSON with a trailing newline.
pub fn report_schema_text() -> String {
    let mut text =
        serde_json::to_string_pretty(&report_schema()).expect("a schema always serialises");
    text.push('\n');
    text
}
