//! The database RLS gate: as the server's own role, found from the catalog
//! rather than from our table names, every tenant table forces row-level
//! security with policies on the claims, the role is unprivileged, each
//! tenant's claims see its rows and no other's in every table, claims are
//! transaction-local, and file metadata is nowhere in clear. Registered only
//! when a [`DbProbe`](crate::DbProbe) exists (hermetic mode, or a remote run
//! given the target's database URL).

use futures::FutureExt;
use uuid::Uuid;

use self::at_rest as nonce;
use crate::cases::RLS;
use crate::check::api;
use crate::check::ctx::{failed_all, CaseReport, CaseRun, CaseSpec, Ctx};
use crate::check::expect::Expect;
use crate::check::registry::Group;
use crate::check::rls_facts::{ClaimsView, RlsFacts};
use crate::check::tokens::Tenant;

pub mod at_rest;

pub const FORCED: CaseSpec = CaseSpec {
    id: "rls::every_tenant_table_forces_rls",
    clauses: &["rls.enable-force"],
    title: "Every tenant table (from the catalog) has ENABLE and FORCE ROW LEVEL SECURITY",
};
pub const POLICIES: CaseSpec = CaseSpec {
    id: "rls::policies_read_the_claims",
    clauses: &["rls.policies-claims"],
    title: "Every tenant table has policies, and each permissive one reads request.jwt.claims ->> 'sub'",
};
pub const ROLE: CaseSpec = CaseSpec {
    id: "rls::app_role_is_unprivileged",
    clauses: &["rls.role-unprivileged"],
    title: "The server's role is not superuser, not BYPASSRLS and owns no table",
};
pub const SCOPED: CaseSpec = CaseSpec {
    id: "rls::claims_scoped_query_sees_only_own_rows",
    clauses: &["rls.guard-not-handler"],
    title: "As the app role, in every tenant table, each tenant's claims see its own rows and no other's; unknown or no claims see nothing",
};
pub const LOCAL: CaseSpec = CaseSpec {
    id: "rls::claims_are_transaction_local",
    clauses: &["rls.transaction-local"],
    title: "Claims do not outlive their transaction on a connection, and no default claims are configured",
};
pub const AT_REST: CaseSpec = CaseSpec {
    id: "rls::metadata_not_in_clear_at_rest",
    clauses: &["metadata.encrypted-at-rest"],
    title: "No column of any tenant table holds an uploaded file's metadata in clear",
};
pub const CASES: &[CaseSpec] = &[FORCED, POLICIES, ROLE, SCOPED, LOCAL, AT_REST, nonce::FRESH];

/// Rows one tenant uploaded through the API, and the strings that identify them.
struct Uploaded {
    who: &'static str,
    sub: Uuid,
    /// `(what, id)`: the file and the memory.
    ids: Vec<(&'static str, String)>,
    /// Only in the file's metadata: must appear in no column in clear.
    marker: String,
}

/// One file (metadata carrying `marker`) and one memory, as `tenant`.
async fn upload(run: &mut CaseRun, who: &'static str, tenant: &Tenant) -> Option<Uploaded> {
    let marker = api::unique_word("rlsmeta");
    let word = api::unique_word("rls");
    let name = format!("rls-{word}.txt");
    let metadata = nonce::metadata(&marker);
    let req = api::upload_with(
        tenant,
        &name,
        "text/plain",
        format!("A note on {word}.\n"),
        &metadata,
    );
    let file = run.call(req, Expect::status(201)).await?;
    let memory = run
        .call(
            api::create_memory(tenant, &format!("rls-{word}"), &format!("remember {word}")),
            Expect::status(201),
        )
        .await?;
    let id = |r: &crate::ApiResponse| r.json().and_then(|b| api::file_id(&b));
    Some(Uploaded {
        who,
        sub: tenant.sub,
        ids: vec![("file", id(&file)?), ("memory", id(&memory)?)],
        marker,
    })
}

/// Registered in [`crate::cases::registry`].
pub const GROUP: Group = Group::main(RLS, CASES, |c| run(c).boxed());

pub async fn run(ctx: Ctx) -> Vec<CaseReport> {
    let Some(db) = ctx.caps().db.clone() else {
        return failed_all(CASES, "no database access in this mode");
    };
    let (a, b) = match ctx.tenant_pair("rls/user_a", "rls/user_b").await {
        Ok(pair) => pair,
        Err(e) => return failed_all(CASES, &e),
    };
    let mut scoped = CaseRun::start(&ctx, SCOPED);
    let ups = match (
        upload(&mut scoped, "A", &a).await,
        upload(&mut scoped, "B", &b).await,
    ) {
        (Some(x), Some(y)) => [x, y],
        _ => {
            let why = "the uploads the database checks need failed";
            scoped.fail(why);
            let mut out = failed_all(&[FORCED, POLICIES, ROLE, LOCAL, AT_REST, nonce::FRESH], why);
            out.insert(3, scoped.finish());
            return out;
        }
    };
    let mut fresh = CaseRun::start(&ctx, nonce::FRESH);
    let twins = nonce::twins(&mut fresh, &a, &ups[0].marker, &ups[0].ids[0].1).await;
    // A tenant nobody uploaded as: its claims must see nothing.
    let unknown = Uuid::new_v4();
    let facts = match db.rls_facts(vec![a.sub, b.sub, unknown]).await {
        Ok(f) => f,
        Err(e) => return failed_all(CASES, &format!("could not read the database: {e}")),
    };
    scoped_rows(&mut scoped, &facts, &ups, unknown);
    vec![
        forced(&ctx, &facts),
        policies(&ctx, &facts),
        role(&ctx, &facts),
        scoped.finish(),
        local(&ctx, &facts),
        at_rest(&ctx, &facts, &ups),
        nonce::judge(fresh, &facts, a.sub, twins),
    ]
}

fn forced(ctx: &Ctx, facts: &RlsFacts) -> CaseReport {
    let mut run = CaseRun::start(ctx, FORCED);
    run.check(
        !facts.tables.is_empty(),
        format!(
            "role {} can read no table at all: no tenant table found",
            facts.role
        ),
    );
    for t in facts.tables.iter().filter(|t| !t.enabled || !t.forced) {
        run.violation(format!(
            "table {}: relrowsecurity={}, relforcerowsecurity={}",
            t.name, t.enabled, t.forced
        ));
    }
    let names: Vec<&str> = facts.tables.iter().map(|t| t.name.as_str()).collect();
    run.note(format!("verified ENABLE and FORCE on {}", names.join(", ")));
    run.finish()
}

/// A policy expression that reads the caller id from the claims.
fn reads_claims(expr: &str) -> bool {
    expr.contains("request.jwt.claims") && expr.contains("'sub'")
}

/// A policy expression that calls nothing and reads no setting: constants and
/// columns only (`true`, `owner_id IS NOT NULL`), so it cannot tell callers apart.
fn reads_nothing(expr: &str) -> bool {
    !expr.contains('(') || expr.trim_matches(|c| c == '(' || c == ')' || c == ' ') == "true"
}

fn policies(ctx: &Ctx, facts: &RlsFacts) -> CaseReport {
    let mut run = CaseRun::start(ctx, POLICIES);
    let mut counted = 0;
    for t in &facts.tables {
        run.check(
            !t.policies.is_empty(),
            format!("table {} has no policy", t.name),
        );
        for p in t.policies.iter().filter(|p| p.permissive) {
            counted += 1;
            for (clause, expr) in [("USING", &p.using), ("WITH CHECK", &p.with_check)] {
                // Read directly, or through a function the policy calls.
                let through = p.functions.as_deref().is_some_and(reads_claims);
                let Some(e) = expr.as_deref().filter(|e| !reads_claims(e) && !through) else {
                    continue;
                };
                if reads_nothing(e) {
                    run.violation(format!("permissive policy {} on {}: {clause} ({e}) does not depend on the caller: every row passes it", p.name, t.name));
                } else {
                    // The text is the server's own (a function, a subquery): which rows
                    // each caller sees is judged by behaviour (rls.guard-not-handler).
                    run.warn(format!("permissive policy {} on {}: {clause} ({e}) does not spell request.jwt.claims ->> 'sub'; its rows are judged by what each caller sees", p.name, t.name));
                }
            }
        }
    }
    run.note(format!(
        "verified {counted} permissive policies on {} tables read the claims' sub",
        facts.tables.len()
    ));
    run.finish()
}

fn role(ctx: &Ctx, facts: &RlsFacts) -> CaseReport {
    let mut run = CaseRun::start(ctx, ROLE);
    run.note(format!(
        "verified: role {} superuser={} bypassrls={} owns {} table(s)",
        facts.role,
        facts.superuser,
        facts.bypassrls,
        facts.owned_tables.len()
    ));
    if facts.superuser {
        run.violation(format!("role {} is a superuser", facts.role));
    }
    if facts.bypassrls {
        run.violation(format!("role {} has BYPASSRLS", facts.role));
    }
    if !facts.owned_tables.is_empty() {
        run.violation(format!(
            "role {} owns {}",
            facts.role,
            facts.owned_tables.join(", ")
        ));
    }
    run.finish()
}

/// Each tenant sees its own rows and nothing that names the other; strangers see nothing.
fn scoped_rows(run: &mut CaseRun, facts: &RlsFacts, ups: &[Uploaded; 2], unknown: Uuid) {
    for (me, other) in [(&ups[0], &ups[1]), (&ups[1], &ups[0])] {
        let Some(view) = facts.view(Some(me.sub)) else {
            run.fail(format!(
                "the probe returned no view for {}'s claims",
                me.who
            ));
            continue;
        };
        for t in view.tables.iter().filter(|t| t.refused.is_some()) {
            run.fail(format!(
                "with {}'s claims the query on {} was refused ({})",
                me.who,
                t.table,
                t.refused.as_deref().unwrap_or_default()
            ));
        }
        for (what, id) in &me.ids {
            run.check(
                !view.tables_containing(id).is_empty(),
                format!(
                    "with {}'s claims the app role does not see {}'s {what} in any table",
                    me.who, me.who
                ),
            );
        }
        let theirs = other
            .ids
            .iter()
            .map(|(w, id)| (*w, id.clone()))
            .chain([("user id", other.sub.to_string())]);
        for (what, needle) in theirs {
            let hits = view.tables_containing(&needle);
            if !hits.is_empty() {
                run.violation(format!(
                    "with {}'s claims the app role sees {}'s {what} in {}",
                    me.who,
                    other.who,
                    hits.join(", ")
                ));
            }
        }
    }
    for (who, sub) in [("an unknown user's", Some(unknown)), ("no", None)] {
        let Some(view) = facts.view(sub) else {
            run.fail(format!("the probe returned no view for {who} claims"));
            continue;
        };
        for t in view.tables.iter().filter(|t| t.count > 0) {
            run.violation(format!(
                "with {who} claims the app role sees {} row(s) of {}",
                t.count, t.table
            ));
        }
    }
    let seen = |sub| facts.view(Some(sub)).map_or(0, ClaimsView::rows);
    run.note(format!(
        "verified as role {} over {} tenant table(s): A sees {} row(s), B sees {}, neither any of the other's; unknown and no claims see none",
        facts.role, facts.tables.len(), seen(ups[0].sub), seen(ups[1].sub)
    ));
}

fn local(ctx: &Ctx, facts: &RlsFacts) -> CaseReport {
    let mut run = CaseRun::start(ctx, LOCAL);
    let set = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
    if !facts.claims_defaults.is_empty() {
        run.violation(format!(
            "request.jwt.claims has a configured default ({}): every connection starts with claims",
            facts.claims_defaults.join(", ")
        ));
    }
    if set(&facts.claims_at_start) {
        run.violation("a fresh connection of the app role already carries request.jwt.claims");
    }
    if set(&facts.claims_after_transaction) {
        run.violation(
            "claims set in one transaction are still set in the next on the same connection",
        );
    }
    run.note(format!("verified as role {}: no default claims; claims set with set_config(…, true) are gone after the transaction", facts.role));
    run.finish()
}

/// `bytes` as lowercase hex, as `row_to_json` prints a bytea.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn at_rest(ctx: &Ctx, facts: &RlsFacts, ups: &[Uploaded; 2]) -> CaseReport {
    let mut run = CaseRun::start(ctx, AT_REST);
    let mut scanned = 0;
    for up in ups {
        let Some(view) = facts.view(Some(up.sub)) else {
            continue;
        };
        let file = &up.ids[0].1;
        if !run.check(!view.tables_containing(file).is_empty(), format!("{}'s file row was not visible to its own claims, so its columns could not be scanned", up.who)) {
            continue;
        }
        scanned += view.tables.len();
        for needle in [up.marker.clone(), hex(up.marker.as_bytes())] {
            for v in &facts.views {
                let hits = v.tables_containing(&needle);
                if !hits.is_empty() {
                    run.violation(format!(
                        "{}'s file metadata is stored in clear in {}",
                        up.who,
                        hits.join(", ")
                    ));
                }
            }
        }
    }
    run.note(format!("verified: the metadata markers of 2 uploads appear in no column (text, json, arrays, bytea as hex; tsvector excepted) of {scanned} scanned table view(s)"));
    run.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_policy_reads_the_claims_and_true_does_not() {
        let reference = "(owner_id = (NULLIF((NULLIF(current_setting('request.jwt.claims'::text, true), ''::text))::jsonb ->> 'sub'::text), ''::text))::uuid)";
        assert!(reads_claims(reference));
        assert!(!reads_claims("true"));
    }

    #[test]
    fn hex_matches_how_postgres_prints_bytea() {
        assert_eq!(hex(b"Az"), "417a");
    }
}
