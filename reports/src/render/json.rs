//! JSON rendering: the machine-readable report, pretty-printed.
//!
//! Key order is the model's field order (and `BTreeMap` order for maps), so the
//! same report always serialises to the same bytes.

use crate::model::Report;

/// Pretty JSON with a trailing newline.
pub fn render(report: &Report) -> Result<String, serde_json::Error> {
    let mut text = serde_json::to_string_pretty(report)?;
    text.push('\n');
    Ok(text)
}
