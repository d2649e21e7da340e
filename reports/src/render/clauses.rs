//! Failed and warned checks by the contract clause they broke, for every
//! rendering: the contract (its "Two readers, two duties") asks that a reader
//! can tell a wrong server from a wrong gate, and for that each finding must
//! quote the sentence it rests on.
//!
//! A check guards one or more clauses ([`CaseResult::clauses`]) but does not
//! record which one a response missed, so [`cited`] infers it from the
//! outcome: a check is warned only when nothing it found broke a *must*.

use crate::model::{CaseResult, ClauseLevel, ClauseRef, Outcome, Report};

/// The clauses `check` is cited under: a warned check under its *should* and
/// *expected* clauses, a failed one under its *musts*; all of them when it
/// guards none of that kind (a *should* check failed on a security finding).
/// Empty for a check that names no clause (a report before 1.4.0).
pub fn cited(check: &CaseResult) -> Vec<&ClauseRef> {
    let wanted = |level: ClauseLevel| match check.outcome {
        Outcome::Warned => level != ClauseLevel::Must,
        _ => level == ClauseLevel::Must,
    };
    let some: Vec<&ClauseRef> = check.clauses.iter().filter(|c| wanted(c.level)).collect();
    if some.is_empty() {
        check.clauses.iter().collect()
    } else {
        some
    }
}

/// The checks with `outcome`, in the documents' order: the gates' checks,
/// then the suites' cases.
pub fn checks(report: &Report, outcome: Outcome) -> impl Iterator<Item = &CaseResult> {
    let gates = report.gates.iter().flat_map(|g| &g.checks);
    let suites = report.suites.iter().flat_map(|s| &s.cases);
    gates.chain(suites).filter(move |c| c.outcome == outcome)
}

/// One entry of a "by contract clause" section.
#[derive(Debug)]
pub struct ClauseGroup<'a> {
    /// `None` for the checks that cite no clause.
    pub clause: Option<&'a ClauseRef>,
    pub checks: Vec<&'a CaseResult>,
}

/// The checks with `outcome` grouped by the clause they are [`cited`] under,
/// one group per clause id in the order first cited, then one group of the
/// checks that cite none. Empty when no such check cites a clause: grouping
/// a report written before clauses existed would only repeat its case list.
pub fn by_clause(report: &Report, outcome: Outcome) -> Vec<ClauseGroup<'_>> {
    let mut groups: Vec<ClauseGroup<'_>> = Vec::new();
    let mut uncited = Vec::new();
    for check in checks(report, outcome) {
        let clauses = cited(check);
        if clauses.is_empty() {
            uncited.push(check);
        }
        for clause in clauses {
            match groups
                .iter_mut()
                .find(|g| g.clause.is_some_and(|c| c.id == clause.id))
            {
                Some(group) => group.checks.push(check),
                None => groups.push(ClauseGroup {
                    clause: Some(clause),
                    checks: vec![check],
                }),
            }
        }
    }
    if !groups.is_empty() && !uncited.is_empty() {
        groups.push(ClauseGroup {
            clause: None,
            checks: uncited,
        });
    }
    groups
}

/// The first finding of a check's message (checks join theirs with ` | `),
/// with `…` when more follow.
pub fn first_finding(message: Option<&str>) -> String {
    let message = message.unwrap_or("no message");
    match message.split_once(" | ") {
        Some((first, _)) => format!("{first} …"),
        None => message.to_string(),
    }
}

/// The first piece of evidence of `check` that did not match (else its first),
/// in one line: `GET /api/v1/knowledge/files → 404 (expected 200)`.
pub fn first_evidence(check: &CaseResult) -> Option<String> {
    let e = check
        .evidence
        .iter()
        .find(|e| !e.matched)
        .or_else(|| check.evidence.first())?;
    let got = match (&e.response, &e.error) {
        (Some(r), _) => r.status.to_string(),
        (None, Some(err)) => format!("no response ({})", short(err, 120)),
        (None, None) => "no response".to_string(),
    };
    Some(format!(
        "{} {} → {got} (expected {})",
        e.request.method,
        short(&e.request.path, 60),
        short(&e.expected, 120)
    ))
}

/// `text` cut to at most `max` characters, with `…` when cut.
pub fn short(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

/// What the statuses a failed check got have in common, when they are all of
/// one telling kind.
fn kind_of(check: &CaseResult) -> Option<&'static str> {
    let unmatched: Vec<_> = check.evidence.iter().filter(|e| !e.matched).collect();
    let evidence = if unmatched.is_empty() {
        check.evidence.iter().collect()
    } else {
        unmatched
    };
    let first = evidence.first()?;
    let kind = |e: &crate::model::Evidence| match &e.response {
        None => "no answer",
        Some(r) if r.status == 401 || r.status == 404 => "401/404",
        Some(r) if r.status >= 500 => "5xx",
        Some(_) => "other",
    };
    let k = kind(first);
    (k != "other" && evidence.iter().all(|e| kind(e) == k)).then_some(k)
}

/// One sentence when most failed checks (at least 60 %, and at least five)
/// failed the same telling way: every answer 401 or 404 (the target is not
/// this API, or not at this base URL), no answer at all, or 5xx.
pub fn diagnosis(report: &Report) -> Option<String> {
    let failed: Vec<&CaseResult> = checks(report, Outcome::Failed).collect();
    if failed.len() < 5 {
        return None;
    }
    let (kind, count, example) = ["401/404", "no answer", "5xx"]
        .into_iter()
        .map(|k| {
            let same: Vec<&&CaseResult> = failed.iter().filter(|c| kind_of(c) == Some(k)).collect();
            (k, same.len(), same.first().and_then(|c| first_evidence(c)))
        })
        .max_by_key(|(_, n, _)| *n)?;
    if count * 10 < failed.len() * 6 {
        return None;
    }
    let total = failed.len();
    let example = example.map(|e| format!(" (e.g. {e})")).unwrap_or_default();
    Some(match kind {
        "401/404" => format!(
            "this target does not look like a Knowledge API: {count} of {total} failed checks got only 401 or 404{example}; check the base URL and that it serves this API"
        ),
        "no answer" => format!(
            "the target did not answer: {count} of {total} failed checks got no response{example}; check the URL and that the server is running"
        ),
        _ => format!(
            "the target fails on most routes: {count} of {total} failed checks got only 5xx{example}; read the server's logs before anything else"
        ),
    })
}

/// `contract clause auth.expired (must): “A token whose exp …”`: a clause
/// as one line of text, for the formats without markup (JUnit bodies,
/// GitHub annotations).
pub fn quoted(clause: &ClauseRef) -> String {
    let words = plain(&clause.words).replace(['\n', '\r'], " ");
    format!(
        "contract clause {} ({}): “{words}”",
        clause.id, clause.level
    )
}

/// A piece of a clause's words. The words are copied verbatim from the
/// contract, which is Markdown: its code spans and bold are kept as such, and
/// nothing else of it is interpreted (the words come from the report, which
/// may have been written anywhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span<'a> {
    Text(&'a str),
    /// Between backticks.
    Code(&'a str),
    /// Between `**`.
    Strong(&'a str),
}

/// `words` as [`Span`]s. An unpaired backtick or `**` stays text.
pub fn spans(words: &str) -> Vec<Span<'_>> {
    let mut out = Vec::new();
    let mut rest = words;
    while !rest.is_empty() {
        let next = [("`", 1), ("**", 2)]
            .into_iter()
            .filter_map(|(mark, len)| {
                let open = rest.find(mark)?;
                let close = rest[open + len..].find(mark)? + open + len;
                Some((open, close, len))
            })
            .min_by_key(|&(open, _, _)| open);
        let Some((open, close, len)) = next else {
            out.push(Span::Text(rest));
            break;
        };
        if open > 0 {
            out.push(Span::Text(&rest[..open]));
        }
        let inner = &rest[open + len..close];
        out.push(if len == 1 {
            Span::Code(inner)
        } else {
            Span::Strong(inner)
        });
        rest = &rest[close + len..];
    }
    out
}

/// `words` without the contract's Markdown marks, for plain-text formats.
pub fn plain(words: &str) -> String {
    spans(words)
        .into_iter()
        .map(|s| match s {
            Span::Text(t) | Span::Code(t) | Span::Strong(t) => t,
        })
        .collect()
}

/// The warnings to show: one per warned check (`None` in the first place),
/// then any sentence of `decision.warnings` that names no warned check, so
/// that nothing the decision says is hidden.
pub fn warnings(report: &Report) -> Vec<(Option<&CaseResult>, &str)> {
    let warned: Vec<&CaseResult> = checks(report, Outcome::Warned).collect();
    let mut shown: Vec<(Option<&CaseResult>, &str)> = warned
        .iter()
        .map(|c| (Some(*c), c.message.as_deref().unwrap_or("no message")))
        .collect();
    let named = |w: &str| warned.iter().any(|c| w.starts_with(&format!("{} ", c.id)));
    shown.extend(
        report
            .decision
            .warnings
            .iter()
            .filter(|w| !named(w))
            .map(|w| (None, w.as_str())),
    );
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clause(id: &str, level: ClauseLevel) -> ClauseRef {
        ClauseRef {
            id: id.into(),
            level,
            section: "Conventions".into(),
            words: format!("the words of {id}"),
        }
    }

    fn check(outcome: Outcome, clauses: Vec<ClauseRef>) -> CaseResult {
        CaseResult {
            id: "suite_a::x".into(),
            title: "x".into(),
            outcome,
            duration_ms: 1,
            message: None,
            evidence: Vec::new(),
            clauses,
        }
    }

    fn ids(clauses: Vec<&ClauseRef>) -> Vec<&str> {
        clauses.iter().map(|c| c.id.as_str()).collect()
    }

    #[test]
    fn a_warned_check_is_cited_under_its_shoulds_and_a_failed_one_under_its_musts() {
        let mixed = || {
            vec![
                clause("m", ClauseLevel::Must),
                clause("s", ClauseLevel::Should),
                clause("e", ClauseLevel::Expected),
            ]
        };
        assert_eq!(ids(cited(&check(Outcome::Warned, mixed()))), ["s", "e"]);
        assert_eq!(ids(cited(&check(Outcome::Failed, mixed()))), ["m"]);
    }

    #[test]
    fn a_check_with_none_of_its_outcomes_kind_is_cited_under_all_its_clauses() {
        let shoulds = vec![clause("s", ClauseLevel::Should)];
        assert_eq!(ids(cited(&check(Outcome::Failed, shoulds))), ["s"]);
        assert!(cited(&check(Outcome::Failed, Vec::new())).is_empty());
    }

    #[test]
    fn the_contracts_code_spans_and_bold_are_kept_and_nothing_else() {
        assert_eq!(
            spans("`X-Request-ID` on **every** response, a*b `c"),
            [
                Span::Code("X-Request-ID"),
                Span::Text(" on "),
                Span::Strong("every"),
                Span::Text(" response, a*b `c"),
            ]
        );
        assert_eq!(plain("`401` on **every** call"), "401 on every call");
    }

    #[test]
    fn the_first_finding_is_cut_at_the_first_separator() {
        assert_eq!(first_finding(Some("a: b | c | d")), "a: b …");
        assert_eq!(first_finding(Some("only")), "only");
        assert_eq!(first_finding(None), "no message");
    }
}
