//! Reading `gonogo.toml`: every key must be one of [`super::SETTINGS`] (or the
//! `[canary]` plan), of the right type; the first that is not is one sentence
//! naming the file, the line and the key.

use gonogo_reports::canary_plan::CanaryPlan;
use gonogo_reports::compare::RelativeCriterion;
use serde::Deserialize;

use std::collections::BTreeMap;

use super::settings::{self, Kind, Setting, CANARY_KEY, ENVIRONMENTS_KEY};

/// What a file sets, each with its line.
#[derive(Debug, Default)]
pub struct FileLayer {
    pub values: Vec<(&'static Setting, toml::Value, usize)>,
    pub canary: Option<(CanaryPlan, usize)>,
    /// The `[environments.<name>]` tables, by name.
    pub environments: BTreeMap<String, EnvironmentTable>,
    /// The team's relative criteria (`[[compare.criteria]]`) and the line of the first.
    pub criteria: Option<(Vec<RelativeCriterion>, usize)>,
}

/// One `[environments.<name>]` table: what `gonogo can-i-deploy --to <name>` requires.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentTable {
    /// Roles that must sign a run's GO report (default: `signoff.required_roles`).
    pub required_roles: Option<Vec<String>>,
    /// Whether a PASSED attestation of the run must be recorded too.
    #[serde(default)]
    pub require_attestation: bool,
}

/// Only the `[environments]` tables, read by serde so a wrong field keeps its span.
#[derive(Deserialize)]
struct EnvironmentsOnly {
    environments: Option<BTreeMap<String, EnvironmentTable>>,
}

/// Only `[[compare.criteria]]`, read by serde so a wrong field keeps its span.
#[derive(Deserialize)]
struct CriteriaOnly {
    compare: Option<CompareCriteria>,
}

#[derive(Deserialize)]
struct CompareCriteria {
    #[serde(default)]
    criteria: Vec<RelativeCriterion>,
}

/// Only the `[canary]` table, read by serde so a wrong plan field keeps its span.
#[derive(Deserialize)]
struct CanaryOnly {
    canary: Option<CanaryPlan>,
}

/// Where in the file: its name as messages call it, and the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct At {
    pub file: String,
    /// `None` when the parser could not say (the file as a whole).
    pub line: Option<usize>,
}

impl std::fmt::Display for At {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{} line {line}", self.file),
            None => f.write_str(&self.file),
        }
    }
}

/// Why `gonogo.toml` cannot be used: one sentence naming the file, the line and the key.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Not TOML at all.
    #[error("{at}: {message}")]
    Toml { at: At, message: String },
    /// TOML that the span reader refuses (it agrees with the parser in practice).
    #[error("{file}: {message}")]
    Spans { file: String, message: String },
    /// A top-level key that is not a `[section]`.
    #[error("{at}: `{section}` must be a table such as [{section}] holding settings; the sections are {}", bracketed(.sections))]
    NotATable {
        at: At,
        section: String,
        sections: Vec<&'static str>,
    },
    /// A `[canary]` table serde cannot read as a plan.
    #[error("{at}: [canary]: {message}")]
    CanaryToml { at: At, message: String },
    /// An `[environments.<name>]` table serde cannot read.
    #[error("{at}: [environments]: {message}")]
    EnvironmentsToml { at: At, message: String },
    /// A `[[compare.criteria]]` entry serde cannot read.
    #[error("{at}: [[compare.criteria]]: {message}")]
    CriteriaToml { at: At, message: String },
    /// A relative criterion whose limit cannot be met or makes no sense.
    #[error("{at}: [[compare.criteria]] {metric}: max_growth must be a number above 0 (0.5 = 50 %), not {max_growth}")]
    CriterionLimit {
        at: At,
        metric: &'static str,
        max_growth: f64,
    },
    /// A `[canary]` plan that reads but does not validate.
    #[error("{at}: [canary]: {reason}")]
    CanaryPlan { at: At, reason: String },
    #[error("{at}: unknown section [{section}]{hint}; the sections are {}", .sections.join(", "))]
    UnknownSection {
        at: At,
        section: String,
        /// `` (did you mean `[run]`?)``, or empty.
        hint: String,
        sections: Vec<&'static str>,
    },
    #[error("{at}: unknown key `{key}`{hint}; [{}] has {}", .key.split_once('.').map_or(.key.as_str(), |(s, _)| s), .siblings.join(", "))]
    UnknownKey {
        at: At,
        /// `section.name`, as written.
        key: String,
        hint: String,
        /// The section's own keys, without the section.
        siblings: Vec<&'static str>,
    },
    #[error("{at}: `{key}` must be {expected}, not {found}")]
    WrongKind {
        at: At,
        key: String,
        expected: &'static str,
        /// The value as the message may show it (a secret's value is not shown).
        found: String,
    },
}

fn bracketed(sections: &[&str]) -> String {
    sections
        .iter()
        .map(|s| format!("[{s}]"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses `text`, the file called `name` in messages.
pub fn parse(text: &str, name: &str) -> Result<FileLayer, ParseError> {
    let line = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    let at_line = |line: usize| At {
        file: name.to_owned(),
        line: Some(line),
    };
    let at = |e: &toml::de::Error| At {
        file: name.to_owned(),
        line: e.span().map(|span| line(span.start)),
    };
    let one_line = |m: &str| m.trim_end().replace('\n', "; ");
    let doc: toml::Table = toml::from_str(text).map_err(|e| ParseError::Toml {
        at: at(&e),
        message: one_line(e.message()),
    })?;
    // Spans only: the values come from `doc`, the lines from here.
    let spans = toml_edit::ImDocument::parse(text).map_err(|e| ParseError::Spans {
        file: name.to_owned(),
        message: e.message().to_owned(),
    })?;
    let line_of = |section: &str, key: Option<&str>| -> usize {
        let root = spans.as_table();
        let Some((section_key, item)) = root.get_key_value(section) else {
            return 1;
        };
        let found = match key {
            None => section_key.span().or_else(|| item.span()),
            Some(k) => item
                .as_table_like()
                .and_then(|t| t.get_key_value(k))
                .and_then(|(key, value)| key.span().or_else(|| value.span())),
        };
        found.map_or(1, |span| line(span.start))
    };
    let sections = settings::sections();
    let mut layer = FileLayer::default();
    // In the file's order, so the error named is the first one in it.
    let mut in_order: Vec<(usize, &String, &toml::Value)> = doc
        .iter()
        .map(|(section, value)| (line_of(section, None), section, value))
        .collect();
    in_order.sort_by_key(|(line, _, _)| *line);
    for (section_line, section, value) in in_order {
        let Some(table) = value.as_table() else {
            return Err(ParseError::NotATable {
                at: at_line(section_line),
                section: section.clone(),
                sections,
            });
        };
        if section == CANARY_KEY {
            let plan = toml::from_str::<CanaryOnly>(text)
                .map_err(|e| ParseError::CanaryToml {
                    at: at(&e),
                    message: one_line(e.message()),
                })?
                .canary
                .unwrap_or_default();
            plan.validate().map_err(|reason| {
                // "phase N (…): …" points at the Nth [[canary.phase]].
                let phase_line = reason
                    .strip_prefix("phase ")
                    .and_then(|r| r.split_whitespace().next())
                    .and_then(|n| n.parse::<usize>().ok())
                    .and_then(|n| {
                        spans
                            .as_table()
                            .get("canary")?
                            .get("phase")?
                            .as_array_of_tables()?
                            .get(n.checked_sub(1)?)?
                            .span()
                    })
                    .map_or(section_line, |span| line(span.start));
                ParseError::CanaryPlan {
                    at: at_line(phase_line),
                    reason,
                }
            })?;
            layer.canary = Some((plan, section_line));
            continue;
        }
        if section == ENVIRONMENTS_KEY {
            layer.environments = toml::from_str::<EnvironmentsOnly>(text)
                .map_err(|e| ParseError::EnvironmentsToml {
                    at: at(&e),
                    message: one_line(e.message()),
                })?
                .environments
                .unwrap_or_default();
            continue;
        }
        if !sections.contains(&section.as_str()) {
            return Err(ParseError::UnknownSection {
                at: at_line(section_line),
                section: section.clone(),
                hint: did_you_mean(section, sections.iter().copied()),
                sections,
            });
        }
        if section == "compare" && table.contains_key("criteria") {
            layer.criteria = Some(criteria(
                text,
                name,
                &spans,
                line_of(section, Some("criteria")),
            )?);
        }
        let mut keys: Vec<(usize, &String, &toml::Value)> = table
            .iter()
            .filter(|(k, _)| !(section == "compare" && k.as_str() == "criteria"))
            .map(|(k, v)| (line_of(section, Some(k)), k, v))
            .collect();
        keys.sort_by_key(|(line, _, _)| *line);
        for (key_line, name_in_section, value) in keys {
            let key = format!("{section}.{name_in_section}");
            let Some(setting) = settings::find(&key) else {
                let siblings = settings::SETTINGS
                    .iter()
                    .filter(|s| s.key.starts_with(&format!("{section}.")))
                    .map(|s| s.key);
                return Err(ParseError::UnknownKey {
                    at: at_line(key_line),
                    hint: did_you_mean(&key, siblings.clone()),
                    key,
                    siblings: siblings
                        .map(|k| k.split_once('.').map_or(k, |(_, n)| n))
                        .collect(),
                });
            };
            let checked = check(setting.kind, value).ok_or_else(|| ParseError::WrongKind {
                at: at_line(key_line),
                key: key.clone(),
                expected: setting.kind.expected(),
                found: describe(value, setting.secret),
            })?;
            layer.values.push((setting, checked, key_line));
        }
    }
    Ok(layer)
}

/// `[[compare.criteria]]` of `text`: each a metric and a limit above 0; a
/// wrong one names its line (`first_line`: the array's).
fn criteria(
    text: &str,
    name: &str,
    spans: &toml_edit::ImDocument<&str>,
    first_line: usize,
) -> Result<(Vec<RelativeCriterion>, usize), ParseError> {
    let line = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    let at = |line: Option<usize>| At {
        file: name.to_owned(),
        line,
    };
    let read = toml::from_str::<CriteriaOnly>(text).map_err(|e| ParseError::CriteriaToml {
        at: at(e.span().map(|s| line(s.start)).or(Some(first_line))),
        message: e.message().trim_end().replace('\n', "; "),
    })?;
    let criteria = read.compare.map(|c| c.criteria).unwrap_or_default();
    if let Some((i, bad)) = criteria.iter().enumerate().find(|(_, c)| !c.is_valid()) {
        let entry_line = spans
            .as_table()
            .get("compare")
            .and_then(|c| c.get("criteria")?.as_array_of_tables()?.get(i)?.span())
            .map_or(first_line, |span| line(span.start));
        return Err(ParseError::CriterionLimit {
            at: at(Some(entry_line)),
            metric: bad.metric.name(),
            max_growth: bad.max_growth,
        });
    }
    Ok((criteria, first_line))
}

/// ` (did you mean `x`?)` when one candidate is close to `got`.
fn did_you_mean<'a>(got: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    candidates
        .map(|c| (strsim::jaro_winkler(got, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

/// How a wrong value is named in an error: its type, and the value itself unless secret.
fn describe(v: &toml::Value, secret: bool) -> String {
    if secret {
        return format!("a {}", v.type_str());
    }
    format!("{} {v}", v.type_str())
}

/// The value as the setting's kind holds it, if it is one.
pub fn check(kind: Kind, v: &toml::Value) -> Option<toml::Value> {
    use toml::Value;
    match (kind, v) {
        (Kind::Str | Kind::Path, Value::String(_)) => Some(v.clone()),
        (Kind::Count, Value::Integer(n)) if *n >= 1 => Some(v.clone()),
        (Kind::Number, Value::Integer(n)) => Some(Value::Float(*n as f64)),
        (Kind::Number, Value::Float(f)) if f.is_finite() => Some(v.clone()),
        (Kind::List, Value::Array(items)) if items.iter().all(Value::is_str) => Some(v.clone()),
        (Kind::Duration, Value::String(s)) => duration(s).map(|_| v.clone()),
        _ => None,
    }
}

/// A flag's or variable's text as the setting's kind holds it.
pub fn from_text(kind: Kind, text: &str) -> Option<toml::Value> {
    use toml::Value;
    let text = text.trim();
    let v = match kind {
        Kind::Str | Kind::Path | Kind::Duration => Value::String(text.to_owned()),
        Kind::Count => Value::Integer(text.parse().ok()?),
        Kind::Number => Value::Float(text.parse().ok()?),
        Kind::List => Value::Array(
            text.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_owned()))
                .collect(),
        ),
    };
    check(kind, &v)
}

/// `90s`, `15m`, `2h` in seconds (never 0).
pub fn duration(text: &str) -> Option<u64> {
    gonogo_reports::canary_plan::parse_duration_s(text).filter(|s| *s > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse(text, "gonogo.toml").unwrap_err().to_string()
    }

    #[test]
    fn a_typo_names_the_key_the_line_and_the_likely_spelling() {
        let e = err("[run]\nlabel = \"x\"\ntagret = \"http://a\"\n");
        assert_eq!(
            e,
            "gonogo.toml line 3: unknown key `run.tagret` (did you mean `run.target`?); \
             [run] has target, jwt_secret, database_url, cacert, label, target_commit, r1_baseline, latency_samples, seed, environment"
        );
    }

    #[test]
    fn a_wrong_type_names_the_key_the_line_and_what_it_must_be() {
        let e = err("[thresholds]\n\np95_ms = \"fast\"\n");
        assert_eq!(
            e,
            "gonogo.toml line 3: `thresholds.p95_ms` must be a number, not string \"fast\""
        );
        let e = err("[serve]\ntoken = 12\n");
        assert_eq!(
            e,
            "gonogo.toml line 2: `serve.token` must be a string, not a integer"
        );
        let e = err("[run]\nlatency_samples = 0\n");
        assert!(e.contains("line 2") && e.contains("at least 1"), "{e}");
    }

    #[test]
    fn an_unknown_section_and_a_key_outside_sections_are_refused() {
        let e = err("[thresholdz]\np95_ms = 1\n");
        assert!(
            e.starts_with(
                "gonogo.toml line 1: unknown section [thresholdz] (did you mean `thresholds`?)"
            ),
            "{e}"
        );
        let e = err("target = \"http://a\"\n");
        assert!(e.contains("line 1") && e.contains("[run]"), "{e}");
    }

    #[test]
    fn syntax_errors_and_wrong_canary_plans_have_lines_too() {
        let e = err("[run]\n\ntarget = \n");
        assert!(e.starts_with("gonogo.toml line 3:"), "{e}");
        let e = err("[run]\nlabel = \"a\"\n\n[canary]\nname = \"x\"\n\n[[canary.phase]]\ntraffic_percent = 5\nduraton = \"1m\"\n");
        assert!(
            e.starts_with("gonogo.toml line 9: [canary]:") && e.contains("duraton"),
            "{e}"
        );
        let e = err("[canary]\n[[canary.phase]]\ntraffic_percent = 5\nduration = \"1m\"\n");
        assert!(
            e.contains("[canary]") && e.contains("no rollback trigger"),
            "{e}"
        );
    }

    #[test]
    fn the_first_mistake_in_the_file_is_the_one_named() {
        let e = err("[serve]\nbogus = 1\n\n[report]\nbogus = 2\n");
        assert!(
            e.starts_with("gonogo.toml line 2: unknown key `serve.bogus`"),
            "{e}"
        );
        let e = err("[run]\nzz = 1\naa = 2\n");
        assert!(
            e.starts_with("gonogo.toml line 2: unknown key `run.zz`"),
            "{e}"
        );
        let e = err("[canary]\nname = \"x\"\n\n[[canary.phase]]\ntraffic_percent = 5\nduration = \"1m\"\nerror_budget = 1\n\n[[canary.phase]]\ntraffic_percent = 50\nduration = \"soon\"\nerror_budget = 1\n");
        assert!(
            e.starts_with("gonogo.toml line 9: [canary]: phase 2"),
            "{e}"
        );
        let e = err("[run]\nlabel = \"a\\q\"\n");
        assert_eq!(e.lines().count(), 1, "{e}");
    }

    #[test]
    fn the_teams_relative_criteria_are_read_and_a_wrong_one_names_its_line() {
        let layer = parse(
            "[compare]\nto = \"last-go\"\n\n[[compare.criteria]]\nmetric = \"search_p95\"\nmax_growth = 0.5\n\n[[compare.criteria]]\nmetric = \"search_p50\"\nmax_growth = 1\n",
            "gonogo.toml",
        )
        .unwrap();
        let (criteria, line) = layer.criteria.unwrap();
        let words: Vec<String> = criteria.iter().map(|c| c.words()).collect();
        assert_eq!(line, 4);
        assert_eq!(words.len(), 2);
        assert!(
            words[1].starts_with("search_p50 may not grow by more than 100 %"),
            "{words:?}"
        );
        assert_eq!(layer.values[0].0.key, "compare.to");
        let e = err("[compare]\n\n[[compare.criteria]]\nmetric = \"search_p95\"\nmax_growth = 0.5\n\n[[compare.criteria]]\nmetric = \"search_p99\"\nmax_growth = -1\n");
        assert_eq!(
            e,
            "gonogo.toml line 7: [[compare.criteria]] search_p99: max_growth must be a number above 0 (0.5 = 50 %), not -1"
        );
        let e = err("[[compare.criteria]]\nmetric = \"p95\"\nmax_growth = 0.5\n");
        assert!(
            e.starts_with("gonogo.toml line 2: [[compare.criteria]]:") && e.contains("search_p95"),
            "{e}"
        );
        let e = err("[compare]\ntoo = \"last-go\"\n");
        assert!(
            e.contains("unknown key `compare.too` (did you mean `compare.to`?)"),
            "{e}"
        );
    }

    #[test]
    fn values_keep_their_lines() {
        let layer = parse(
            "# pinned\n[run]\nlabel = \"staging\"\n\n[thresholds]\np95_ms = 250\n",
            "f",
        )
        .unwrap();
        let got: Vec<(&str, String, usize)> = layer
            .values
            .iter()
            .map(|(s, v, l)| (s.key, v.to_string(), *l))
            .collect();
        assert_eq!(
            got,
            [
                ("run.label", "\"staging\"".to_owned(), 3),
                ("thresholds.p95_ms", "250.0".to_owned(), 6)
            ]
        );
    }

    #[test]
    fn flag_and_variable_text_is_read_by_kind() {
        assert_eq!(from_text(Kind::Count, "12"), Some(toml::Value::Integer(12)));
        assert_eq!(from_text(Kind::Count, "0"), None);
        assert_eq!(from_text(Kind::Number, "abc"), None);
        assert_eq!(
            from_text(Kind::List, "a, b,,c").unwrap().to_string(),
            "[\"a\", \"b\", \"c\"]"
        );
        assert_eq!(from_text(Kind::Duration, "soon"), None);
        assert!(from_text(Kind::Duration, "90s").is_some());
    }
}
