//! The database RLS gate (hermetic mode): FORCE row-level security on every
//! tenant table, an unprivileged app role, and a claims-scoped query as that role
//! that sees only the caller's rows. Registered only when a [`DbProbe`](crate::DbProbe) exists.

use uuid::Uuid;

use crate::ctx::{failed_all, CaseReport, CaseRun, CaseSpec, Ctx};

pub const FORCED: CaseSpec = CaseSpec {
    id: "rls::every_tenant_table_forces_rls",
    clauses: &["rls.enable-force"],
    title: "Every application table has ENABLE and FORCE ROW LEVEL SECURITY",
};
pub const ROLE: CaseSpec = CaseSpec {
    id: "rls::app_role_is_unprivileged",
    clauses: &["rls.role-unprivileged"],
    title: "The server's role is not superuser, not BYPASSRLS and owns no table",
};
pub const SCOPED: CaseSpec = CaseSpec { id: "rls::claims_scoped_query_sees_only_own_rows", clauses: &["rls.guard-not-handler"], title: "As the app role, each tenant's claims see its own files and no other's; no claims see nothing" };
pub const CASES: &[CaseSpec] = &[FORCED, ROLE, SCOPED];
/// Tables the contract names; each must exist and be protected.
pub const TENANT_TABLES: [&str; 2] = ["knowledge_files", "memories"];

pub async fn run(ctx: Ctx) -> Vec<CaseReport> {
    let Some(db) = ctx.caps().db.clone() else {
        return failed_all(CASES, "no database access in this mode");
    };
    let (a, b) = match ctx.tenant_pair("rls/user_a", "rls/user_b").await {
        Ok(pair) => pair,
        Err(e) => return failed_all(CASES, &e),
    };
    let mut scoped = CaseRun::start(&ctx, SCOPED);
    let word = crate::api::unique_word("rls");
    let id_a = crate::suite_b::upload_text(&mut scoped, &a, &word).await;
    let id_b = crate::suite_b::upload_text(&mut scoped, &b, &word).await;
    let facts = match db.rls_facts(vec![a.sub, b.sub]).await {
        Ok(f) => f,
        Err(e) => return failed_all(CASES, &format!("could not read the database: {e}")),
    };

    let mut forced = CaseRun::start(&ctx, FORCED);
    for t in TENANT_TABLES {
        forced.check(
            facts.tables.iter().any(|(n, _, _)| n == t),
            format!("table {t} not found"),
        );
    }
    for (table, enabled, force) in &facts.tables {
        if !enabled || !force {
            forced.violation(format!(
                "table {table}: relrowsecurity={enabled}, relforcerowsecurity={force}"
            ));
        }
    }

    let flags: Vec<String> = facts
        .tables
        .iter()
        .map(|(t, e, f)| format!("{t} (enable={e}, force={f})"))
        .collect();
    forced.note(format!("verified: {}", flags.join(", ")));

    let mut role = CaseRun::start(&ctx, ROLE);
    role.note(format!(
        "verified: role {} superuser={} bypassrls={} owns {} table(s)",
        facts.role,
        facts.superuser,
        facts.bypassrls,
        facts.owned_tables.len()
    ));
    if facts.superuser {
        role.violation(format!("role {} is a superuser", facts.role));
    }
    if facts.bypassrls {
        role.violation(format!("role {} has BYPASSRLS", facts.role));
    }
    if !facts.owned_tables.is_empty() {
        role.violation(format!(
            "role {} owns {}",
            facts.role,
            facts.owned_tables.join(", ")
        ));
    }

    let parse = |id: &Option<String>| id.as_deref().and_then(|s| s.parse::<Uuid>().ok());
    match (parse(&id_a), parse(&id_b)) {
        (Some(fa), Some(fb)) => {
            let seen = |sub: Uuid| {
                facts
                    .visible
                    .iter()
                    .find(|(s, _)| *s == sub)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            for (who, sub, own, other) in [("A", a.sub, fa, fb), ("B", b.sub, fb, fa)] {
                let v = seen(sub);
                scoped.check(
                    v.contains(&own),
                    format!("with {who}'s claims the app role does not see {who}'s file"),
                );
                if v.contains(&other) {
                    scoped.violation(format!(
                        "with {who}'s claims the app role sees another tenant's file"
                    ));
                }
            }
            scoped.note(format!(
                "verified as role {}: A sees {} file(s), B sees {} file(s), neither sees the other's; no claims see {}",
                facts.role, seen(a.sub).len(), seen(b.sub).len(), facts.visible_without_claims
            ));
            if facts.visible_without_claims > 0 {
                scoped.violation(format!(
                    "without claims the app role sees {} rows",
                    facts.visible_without_claims
                ));
            }
        }
        _ => scoped.fail("the uploads the check needs failed"),
    }
    vec![forced.finish(), role.finish(), scoped.finish()]
}
