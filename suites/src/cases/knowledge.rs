//! Knowledge paths, clause by clause, beyond the smoke suites: the file routes
//! ([`files`]), the upload rules ([`uploads`]), search ([`search`]), and page
//! sizes with cursor paging ([`limits`]). Each capability is its own module; this
//! one owns the fixtures they share and registers the two groups.

use futures::FutureExt;

use crate::cases::KNOWLEDGE;
use crate::check::ctx::{failed_all, CaseReport, CaseSpec, Ctx};
use crate::check::registry::Group;

pub mod files;
pub mod limits;
pub mod search;
pub mod uploads;

/// One tenant runs these in order (files, then uploads, then search): its list
/// is exact only at the start.
pub const CASES: &[CaseSpec] = &[
    files::NEWEST_FIRST,
    files::FILEINFO,
    files::METADATA_OPTIONAL,
    files::CONTENT,
    files::CONTENT_TYPE,
    files::DELETE,
    files::AUTH,
    uploads::MIME,
    uploads::MISMATCH,
    uploads::MISMATCH_DEEP,
    uploads::EMPTY,
    uploads::SIZE,
    uploads::FILENAME,
    uploads::FORMAT,
    search::RANKED,
    search::SHAPE,
    search::COVERAGE,
    search::RANKED_BEFORE_LIMIT,
];

/// The file routes, the upload rules and search as one tenant.
pub const FILE_ROUTES: Group = Group::main(KNOWLEDGE, CASES, |c| run(c).boxed());

/// Page sizes and cursors over their own bulk tenant.
pub const LIMITS: Group = Group::main(KNOWLEDGE, limits::CASES, |c| limits::run(c).boxed());

/// One tenant for the file routes, the upload rules and search (about 55 requests), so a
/// remote run spends few anonymous tokens.
async fn run(ctx: Ctx) -> Vec<CaseReport> {
    let t = match ctx.tenant("files/owner").await {
        Ok(t) => t,
        Err(e) => return failed_all(CASES, &e),
    };
    let mut out = files::run(&ctx, &t).await;
    out.extend(uploads::run(&ctx, &t).await);
    out.extend(search::run(&ctx, &t).await);
    out
}
