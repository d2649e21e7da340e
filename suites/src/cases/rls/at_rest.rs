//! Metadata at rest, one step past "not in clear": equal metadata is stored as
//! different bytes (a fresh nonce per encryption), found without knowing the
//! target's columns. The owner uploads the same metadata twice and other
//! metadata once; in every table, a column whose two equal-metadata values
//! share far more leading characters than either shares with the third holds
//! a deterministic function of the metadata — a fixed or repeated nonce.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::check::api;
use crate::check::ctx::{CaseReport, CaseRun, CaseSpec};
use crate::check::expect::Expect;
use crate::check::rls_facts::RlsFacts;
use crate::check::tokens::Tenant;

pub const FRESH: CaseSpec = CaseSpec {
    id: "rls::equal_metadata_is_stored_as_different_bytes",
    clauses: &["metadata.encrypted-at-rest"],
    title: "Two uploads with identical metadata share no stored bytes a third, with other metadata, does not (a random nonce per encryption)",
};

/// Leading characters two equal-metadata values may share beyond what they share
/// with the third: timestamps and time-ordered ids of uploads a moment apart differ
/// by a few; a ciphertext under a repeated nonce shares the whole encrypted text.
const SHARED: usize = 16;

/// The metadata of the gate's uploads: every field carries `marker`.
pub fn metadata(marker: &str) -> Value {
    json!({"title": marker, "description": format!("about {marker}"), "tags": [marker]})
}

/// The ids of the files the gate compares: `first` (uploaded with `marker`'s
/// metadata), a second upload with the same metadata and a third with other
/// metadata of the same shape (each with its own name and text).
pub struct Triplet([String; 3]);

/// Uploads the second and third file as `tenant`.
pub async fn twins(
    run: &mut CaseRun,
    tenant: &Tenant,
    marker: &str,
    first: &str,
) -> Option<Triplet> {
    let mut ids = vec![first.to_owned()];
    for meta in [metadata(marker), metadata(&api::unique_word("rlsmeta"))] {
        let word = api::unique_word("rls");
        let req = api::upload_with(
            tenant,
            &format!("rls-{word}.txt"),
            "text/plain",
            format!("Another note on {word}.\n"),
            &meta,
        );
        let r = run.call(req, Expect::status(201)).await?;
        ids.push(r.json().and_then(|b| api::file_id(&b))?);
    }
    Some(Triplet(ids.try_into().ok()?))
}

/// The row of each of `ids` in `rows` (`row_to_json` text), when all three are there.
fn rows_of(rows: &[String], ids: &[String; 3]) -> Option<[serde_json::Map<String, Value>; 3]> {
    let find = |id: &String| -> Option<serde_json::Map<String, Value>> {
        let row = rows.iter().find(|r| r.contains(id.as_str()))?;
        serde_json::from_str::<Value>(row)
            .ok()?
            .as_object()
            .cloned()
    };
    Some([find(&ids[0])?, find(&ids[1])?, find(&ids[2])?])
}

fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count()
}

/// Judges the rows `owner`'s claims see: `None` twins means their uploads failed.
pub fn judge(
    mut run: CaseRun,
    facts: &RlsFacts,
    owner: Uuid,
    twins: Option<Triplet>,
) -> CaseReport {
    let Some(Triplet(ids)) = twins else {
        run.fail("the uploads with identical metadata failed");
        return run.finish();
    };
    let Some(view) = facts.view(Some(owner)) else {
        run.fail("the owner's view of the tables was not read");
        return run.finish();
    };
    let mut compared = 0;
    for table in &view.tables {
        let Some([one, two, other]) = rows_of(&table.rows, &ids) else {
            continue;
        };
        compared += 1;
        for (column, v1) in &one {
            let at = |row: &serde_json::Map<String, Value>| {
                row.get(column).map(text).unwrap_or_default()
            };
            let (v1, v2, v3) = (text(v1), at(&two), at(&other));
            let (twins, apart) = (common_prefix(&v1, &v2), common_prefix(&v1, &v3));
            if twins >= apart + SHARED {
                run.violation(format!(
                    "{}.{column}: two uploads with identical metadata are stored with their first {twins} characters equal, a third with other metadata shares {apart}: equal metadata is stored as equal bytes (in clear, or sealed under a fixed or repeated nonce)",
                    table.table
                ));
            }
        }
    }
    if run.check(
        compared > 0,
        "no table shows the rows of the three uploads to their owner's claims, so their columns could not be compared",
    ) {
        run.note(format!("verified: in {compared} table(s) holding the three uploads, no column stores equal metadata with a shared run of {SHARED}+ characters that other metadata lacks"));
    }
    run.finish()
}
