//! Paging under the tenant filter: two tenants upload in turn, so the owner's
//! files and the other's alternate in time, and the owner pages its list two
//! at a time. A server that applies the owner filter to the first page only
//! (its cursor query forgot it) shows the other tenant's files from page 2 on.

use crate::check::api;
use crate::check::calls::{created, list_pages};
use crate::check::ctx::{CaseReport, CaseRun, CaseSpec, Ctx};
use crate::check::expect::Expect;
use crate::check::tokens::Tenant;

pub const PAGES: CaseSpec = CaseSpec {
    id: "gate_2::every_list_page_holds_only_the_callers_files",
    clauses: &["files.list.cursor", "files.own-data-only"],
    title: "Two tenants upload in turn; paged two at a time, the owner's list gives each of its files once, newest first, and no page holds the other tenant's",
};

/// The owner's uploads; the other tenant uploads between each two of them.
const TURNS: usize = 3;

/// As `owner`, with `other` uploading in between (about 9 requests, 2 of them the other's).
pub async fn run(ctx: &Ctx, owner: &Tenant, other: &Tenant) -> CaseReport {
    let mut c = CaseRun::start(ctx, PAGES);
    let mut theirs = Vec::new();
    for i in 0..TURNS {
        let mine = api::upload(
            owner,
            &format!("turn-{i}.txt"),
            "text/plain",
            format!("Turn {i}, the owner's."),
        );
        if created(&mut c, mine).await.is_none() {
            return c.finish();
        }
        if i + 1 < TURNS {
            let req = api::upload(
                other,
                &format!("turn-{i}b.txt"),
                "text/plain",
                format!("Turn {i}, the other's."),
            );
            let Some(id) = created(&mut c, req).await.as_ref().and_then(api::file_id) else {
                return c.finish();
            };
            theirs.push(id);
        }
    }
    let leaked = |ids: &[String]| -> Vec<String> {
        ids.iter().filter(|i| theirs.contains(i)).cloned().collect()
    };
    let Some(r) = c.call(api::list(owner, 100), Expect::status(200)).await else {
        return c.finish();
    };
    let all = api::item_ids(&r.json().unwrap_or_default());
    if !leaked(&all).is_empty() {
        c.violation(format!(
            "the owner's list shows the other tenant's files {:?}",
            leaked(&all)
        ));
    }
    let Some((pages, _)) = list_pages(&mut c, owner, 2, all.len().div_ceil(2) + 2).await else {
        return c.finish();
    };
    for (n, page) in pages.iter().enumerate() {
        let l = leaked(page);
        if !l.is_empty() {
            c.violation(format!(
                "page {} of the owner's list shows the other tenant's files {l:?}",
                n + 1
            ));
        }
    }
    let flat = pages.concat();
    c.check(
        flat == all,
        format!("pages of 2 gave {flat:?}; the one-page list, newest first, is {all:?}"),
    );
    c.finish()
}
