//! Search behaviour: the response shape, ranking, and coverage of the content text, the
//! filename and each metadata field on its own.

use serde_json::{json, Value};

use crate::check::api;
use crate::check::calls::created;
use crate::check::ctx::{CaseReport, CaseRun, CaseSpec, Ctx};
use crate::check::expect::Expect;
use crate::check::tokens::Tenant;
use crate::check::transport::ApiRequest;

pub const RANKED: CaseSpec = CaseSpec {
    id: "search::better_match_ranks_first",
    clauses: &["search.ranked"],
    title: "A file matching in title and text ranks above an older-or-newer one mentioning the term once; scores never increase",
};
pub const RANKED_BEFORE_LIMIT: CaseSpec = CaseSpec {
    id: "search::the_best_match_survives_a_small_limit",
    clauses: &["search.ranked"],
    title: "Three weak matches uploaded before one strong match: with limit 2 the strong match is returned, first",
};
pub const SHAPE: CaseSpec = CaseSpec {
    id: "search::results_have_the_contract_shape",
    clauses: &["search.shape"],
    title: "Search answers {results: [{file_id, filename, score, snippet}], took_ms} with the right types",
};
pub const COVERAGE: CaseSpec = CaseSpec {
    id: "search::covers_text_filename_title_description_and_tags",
    clauses: &["search.coverage"],
    title: "A term found only in the text, the filename, the title, the description, the first tag or a later tag finds exactly that file",
};

/// The cases, in order, as `t` (the knowledge-path tenant of [`super::FILE_ROUTES`]).
pub async fn run(ctx: &Ctx, t: &Tenant) -> Vec<CaseReport> {
    let word = api::unique_word("rank");
    let (ranked, files) = ranked(ctx, t, &word).await;
    vec![
        ranked,
        shape(ctx, t, &word, &files).await,
        coverage(ctx, t).await,
        ranked_before_limit(ctx, t).await,
    ]
}

/// An upload that matches `word` in its title and twice in its text.
fn strong_match(t: &Tenant, name: &str, word: &str) -> ApiRequest {
    api::upload_with(
        t,
        name,
        "text/plain",
        format!("{word} in depth: all about {word}.\n"),
        &json!({"title": format!("The {word} guide")}),
    )
}

/// An upload that names `word` once, in a longer text about other things.
fn weak_match(t: &Tenant, name: &str, word: &str, title: &str) -> ApiRequest {
    api::upload_with(
        t,
        name,
        "text/plain",
        format!("A long note on other things that names {word} once, among herons, rivers, reeds and weather.\n"),
        &json!({"title": title}),
    )
}

/// Uploads a strong match first and a weak one second (so newest-first is the wrong order);
/// returns the case and `(id, filename)` of both.
async fn ranked(ctx: &Ctx, t: &Tenant, word: &str) -> (CaseReport, Vec<(String, String)>) {
    let mut c = CaseRun::start(ctx, RANKED);
    let strong = strong_match(t, "strong.txt", word);
    let weak = weak_match(t, "weak.txt", word, "Other things");
    let mut files = Vec::new();
    for req in [strong, weak] {
        if let Some(up) = created(&mut c, req).await {
            let name = up["filename"].as_str().unwrap_or_default().to_owned();
            files.extend(api::file_id(&up).map(|id| (id, name)));
        }
    }
    if files.len() == 2 {
        if let Some(r) = c.call(api::search(t, word), Expect::status(200)).await {
            let body = r.json().unwrap_or_default();
            let ids = api::result_ids(&body);
            let want = [files[0].0.clone(), files[1].0.clone()];
            c.check(
                ids == want,
                format!("results {ids:?}, expected the strong match then the weak one {want:?}"),
            );
            let scores: Vec<Option<f64>> = body["results"]
                .as_array()
                .map(|a| a.iter().map(|x| x["score"].as_f64()).collect())
                .unwrap_or_default();
            c.check(
                scores
                    .windows(2)
                    .all(|w| matches!(w, [Some(a), Some(b)] if a >= b)),
                format!("scores {scores:?} are not numbers in non-increasing order"),
            );
        }
    }
    (c.finish(), files)
}

/// Weak matches uploaded before the strong one, so a server that ranks only the first
/// `limit` matching rows it reads (in upload or id order) leaves the strong match out.
const WEAK_FIRST: usize = 3;

async fn ranked_before_limit(ctx: &Ctx, t: &Tenant) -> CaseReport {
    let mut c = CaseRun::start(ctx, RANKED_BEFORE_LIMIT);
    let word = api::unique_word("deep");
    let weak = (0..WEAK_FIRST)
        .map(|i| weak_match(t, &format!("aside-{i}.txt"), &word, &format!("Aside {i}")));
    let strong = strong_match(t, "main.txt", &word);
    let mut ids = Vec::new();
    for req in weak.chain([strong]) {
        ids.extend(created(&mut c, req).await.as_ref().and_then(api::file_id));
    }
    let Some(strong) = ids.last().filter(|_| ids.len() == WEAK_FIRST + 1).cloned() else {
        return c.finish();
    };
    let req = api::search_body(t, json!({"query": word, "limit": 2}));
    if let Some(r) = c.call(req, Expect::status(200)).await {
        let got = api::result_ids(&r.json().unwrap_or_default());
        c.check(
            got.len() == 2 && got[0] == strong,
            format!("limit 2 gave {got:?}; the strong match {strong} must come first, then one of the weak ones"),
        );
    }
    c.finish()
}

/// Every way `body` is not `{results: [{file_id, filename, score, snippet}], took_ms}`.
fn shape_mismatches(body: &Value, files: &[(String, String)]) -> Vec<String> {
    let mut m = Vec::new();
    if !body["took_ms"].as_f64().is_some_and(|t| t >= 0.0) {
        m.push(format!(
            "took_ms {} is not a non-negative number",
            body["took_ms"]
        ));
    }
    let Some(results) = body["results"].as_array() else {
        m.push("results is not an array".into());
        return m;
    };
    if results.is_empty() {
        m.push("no results to check".into());
    }
    for r in results {
        let id = r["file_id"].as_str().unwrap_or_default();
        if id.parse::<uuid::Uuid>().is_err() {
            m.push(format!("file_id {} is not a UUID", r["file_id"]));
        }
        match files.iter().find(|(i, _)| i == id) {
            Some((_, name)) if r["filename"] != name.as_str() => {
                m.push(format!("filename {} instead of {name:?}", r["filename"]))
            }
            _ => {}
        }
        if !r["score"].as_f64().is_some_and(f64::is_finite) {
            m.push(format!("score {} is not a number", r["score"]));
        }
        if !r["snippet"].is_string() {
            m.push(format!("snippet {} is not a string", r["snippet"]));
        }
    }
    m
}

async fn shape(ctx: &Ctx, t: &Tenant, word: &str, files: &[(String, String)]) -> CaseReport {
    let mut c = CaseRun::start(ctx, SHAPE);
    c.call_with(
        api::search(t, word),
        "200 {results: [{file_id, filename, score, snippet}], took_ms}",
        |r| {
            let mut m = Expect::status(200).mismatches(r);
            m.extend(shape_mismatches(&r.json().unwrap_or_default(), files));
            m
        },
    )
    .await;
    c.finish()
}

async fn coverage(ctx: &Ctx, t: &Tenant) -> CaseReport {
    let mut c = CaseRun::start(ctx, COVERAGE);
    let mut probes = Vec::new();
    // "The metadata" is every tag, not the first one an index was built from.
    for (i, place) in [
        "text",
        "filename",
        "title",
        "description",
        "tag",
        "later tag",
    ]
    .into_iter()
    .enumerate()
    {
        let w = api::unique_word("cover");
        let text = if place == "text" {
            format!("The text names {w}.")
        } else {
            "Nothing to see.".into()
        };
        let name = if place == "filename" {
            format!("{w}.txt")
        } else {
            format!("cover-{i}.txt")
        };
        let meta = match place {
            "title" => json!({"title": format!("About {w}")}),
            "description" => json!({"description": format!("This one is about {w}.")}),
            "tag" => json!({"tags": [w.clone(), "gonogo-smoke"]}),
            "later tag" => json!({"tags": ["gonogo-smoke", "birds", w.clone()]}),
            _ => json!({"title": "Plain"}),
        };
        let up = created(
            &mut c,
            api::upload_with(t, &name, "text/plain", text, &meta),
        )
        .await;
        if let Some(id) = up.as_ref().and_then(api::file_id) {
            probes.push((place, w, id));
        }
    }
    for (place, w, id) in probes {
        if let Some(r) = c.call(api::search(t, &w), Expect::status(200)).await {
            let ids = api::result_ids(&r.json().unwrap_or_default());
            c.check(
                ids == [id.clone()],
                format!("a term only in the {place} found {ids:?}, expected just {id}"),
            );
        }
    }
    c.finish()
}
