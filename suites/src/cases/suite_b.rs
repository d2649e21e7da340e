//! Suite B — cross-tenant isolation through the API. The cases depend on each
//! other (upload, then list, then search), so they run in order.

use futures::FutureExt;

use crate::cases::SUITE_B;
use crate::check::api;
use crate::check::ctx::{failed_all, skipped, skipped_all, CaseReport, CaseRun, CaseSpec, Ctx};
use crate::check::expect::Expect;
use crate::check::registry::Group;
use crate::check::tokens::Tenant;

pub const A_UPLOADS: CaseSpec = CaseSpec {
    id: "suite_b::user_a_uploads_file",
    clauses: &["files.upload"],
    title: "User A uploads a text file: 201, Location and a complete FileInfo",
};
pub const B_LIST_EXCLUDES: CaseSpec = CaseSpec {
    id: "suite_b::user_b_list_excludes_user_a_file",
    clauses: &["files.own-data-only"],
    title: "User B's file list does not contain user A's file",
};
pub const B_UPLOADS: CaseSpec = CaseSpec {
    id: "suite_b::user_b_uploads_file",
    clauses: &["files.upload"],
    title: "User B uploads a file with the same search term: 201",
};
pub const B_SEARCH_OWN: CaseSpec = CaseSpec {
    id: "suite_b::user_b_search_sees_only_own_file",
    clauses: &["files.own-data-only", "search.coverage"],
    title: "User B's search for the shared term returns B's file and never A's",
};
pub const CASES: &[CaseSpec] = &[A_UPLOADS, B_LIST_EXCLUDES, B_UPLOADS, B_SEARCH_OWN];

/// Uploads a small text file containing `word` as `tenant`; returns its id.
pub async fn upload_text(c: &mut CaseRun, tenant: &Tenant, word: &str) -> Option<String> {
    let filename = format!("{}-{word}.txt", tenant.label.replace('/', "-"));
    let data = format!("Smoke test note of {} about {word}.\n", tenant.label);
    let size = data.len();
    let r = c
        .call_with(
            api::upload(tenant, &filename, "text/plain", data),
            "201 + Location + FileInfo",
            |r| {
                let mut m = Expect::status(201).header("location").mismatches(r);
                if r.status == 201 {
                    m.extend(api::fileinfo_mismatches(
                        &r.json().unwrap_or_default(),
                        &filename,
                        "text/plain",
                        size,
                    ));
                }
                m
            },
        )
        .await?;
    let id = api::file_id(&r.json()?);
    if id.is_none() {
        c.fail("upload response has no id");
    }
    id
}

/// Registered in [`crate::cases::registry`].
pub const GROUP: Group = Group::main(SUITE_B, CASES, |c| run(c).boxed());

pub async fn run(ctx: Ctx) -> Vec<CaseReport> {
    let (a, b) = match ctx.tenant_pair("suite_b/user_a", "suite_b/user_b").await {
        Ok(pair) => pair,
        Err(e) => return failed_all(CASES, &e),
    };
    let word = api::unique_word("isolation");
    let mut out = Vec::new();

    let mut c = CaseRun::start(&ctx, A_UPLOADS);
    let id_a = upload_text(&mut c, &a, &word).await;
    let ok = c.passed_so_far();
    out.push(c.finish());
    let Some(id_a) = id_a.filter(|_| ok) else {
        out.extend(skipped_all(&CASES[1..], "user A's upload failed"));
        return out;
    };

    let mut c = CaseRun::start(&ctx, B_LIST_EXCLUDES);
    if let Some(r) = c.call(api::list(&b, 100), Expect::status(200)).await {
        let items = r.json().unwrap_or_default()["items"].as_array().cloned();
        match items {
            None => c.fail("list body has no items array"),
            Some(items) if items.iter().any(|i| i["id"] == id_a.as_str()) => {
                c.violation(format!("user B's list contains user A's file {id_a}"))
            }
            Some(_) => {}
        }
    }
    out.push(c.finish());

    let mut c = CaseRun::start(&ctx, B_UPLOADS);
    let id_b = upload_text(&mut c, &b, &word).await;
    let ok = c.passed_so_far();
    out.push(c.finish());
    let Some(id_b) = id_b.filter(|_| ok) else {
        out.push(skipped(B_SEARCH_OWN, "user B's upload failed"));
        return out;
    };

    let mut c = CaseRun::start(&ctx, B_SEARCH_OWN);
    if let Some(r) = c.call(api::search(&b, &word), Expect::status(200)).await {
        let ids = api::result_ids(&r.json().unwrap_or_default());
        if ids.contains(&id_a) {
            c.violation(format!("user B's search returned user A's file {id_a}"));
        }
        c.check(
            ids.contains(&id_b),
            format!("user B's search for {word:?} did not return B's own file"),
        );
        c.check(
            ids.iter().all(|i| *i == id_b),
            format!("user B's search returned files other than B's: {ids:?}"),
        );
    }
    out.push(c.finish());
    out
}
