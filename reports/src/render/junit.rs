//! JUnit XML rendering: one `<testcase>` per suite case, gate check and
//! criterion, plus one for the decision itself, so GitLab, GitHub and Jenkins
//! show the run natively. Failures carry the evidence as their text, after
//! the contract clauses they break, quoted.
//!
//! A warned check is no `<failure>`: it is never a NO-GO, and CI must stay
//! green on it. It is marked instead where test views look: the property
//! `gonogo.outcome` = `warned` (and one `gonogo.clause` per clause it cites)
//! and a `<system-out>` starting `WARNING:`. The decision's case lists every
//! warning the same way.
//!
//! Written with quick-xml, which escapes text and attributes; characters XML 1.0
//! cannot carry at all (most C0 controls) are replaced first.

use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;

use crate::model::{CaseResult, CriterionStatus, Outcome, Report, Verdict};

use super::{clauses, fmt_criterion_observed, fmt_threshold, RenderError};
use crate::label::evidence_text;

/// Replaces characters that are not allowed anywhere in an XML 1.0 document.
fn xml_safe(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => '\u{FFFD}',
            c => c,
        })
        .collect()
}

/// One rendered test case, whatever it came from.
struct Case {
    classname: String,
    name: String,
    seconds: f64,
    /// `(type, message, body)` of a failure.
    failure: Option<(&'static str, String, String)>,
    skipped: Option<String>,
    /// The case's own `<properties>` (outcome and clauses of a warned check).
    properties: Vec<(String, String)>,
    /// `<system-out>`: the warning, for a warned check.
    system_out: Option<String>,
}

struct Group {
    name: String,
    /// `<properties>` of the suite (the waivers, on the criteria).
    properties: Vec<(String, String)>,
    cases: Vec<Case>,
}

fn from_case(classname: &str, c: &CaseResult) -> Case {
    let message = c.message.clone().unwrap_or_else(|| c.title.clone());
    let cited = clauses::cited(c);
    let body = || {
        let mut text = format!("{}\n", c.title);
        for clause in &cited {
            text.push_str(&clauses::quoted(clause));
            text.push('\n');
        }
        for e in &c.evidence {
            text.push('\n');
            text.push_str(&evidence_text(e));
            text.push('\n');
        }
        text
    };
    let warned = c.outcome == Outcome::Warned;
    Case {
        classname: classname.into(),
        name: c.id.clone(),
        seconds: c.duration_ms as f64 / 1000.0,
        failure: (c.outcome == Outcome::Failed).then(|| ("failed", message.clone(), body())),
        skipped: (c.outcome == Outcome::Skipped).then(|| message.clone()),
        properties: if warned {
            let outcome = ("gonogo.outcome".to_string(), "warned".to_string());
            let ids = cited
                .iter()
                .map(|k| ("gonogo.clause".to_string(), k.id.clone()));
            std::iter::once(outcome).chain(ids).collect()
        } else {
            Vec::new()
        },
        system_out: warned.then(|| format!("WARNING: {message}\n{}", body())),
    }
}

fn groups(report: &Report) -> Vec<Group> {
    let mut out = Vec::new();
    let decision_failure = (report.decision.verdict != Verdict::Go).then(|| {
        (
            "decision",
            format!("decision is {}", report.decision.verdict),
            report.decision.reasons.join("\n"),
        )
    });
    out.push(Group {
        name: "Decision".into(),
        properties: Vec::new(),
        cases: vec![Case {
            classname: "decision".into(),
            name: "go_no_go".into(),
            seconds: report.run.duration_ms as f64 / 1000.0,
            failure: decision_failure,
            skipped: None,
            properties: Vec::new(),
            system_out: (!report.decision.warnings.is_empty()).then(|| {
                let lines = report.decision.warnings.iter();
                lines.map(|w| format!("WARNING: {w}\n")).collect()
            }),
        }],
    });
    for g in &report.gates {
        out.push(Group {
            name: g.name.clone(),
            properties: Vec::new(),
            cases: g.checks.iter().map(|c| from_case(&g.id, c)).collect(),
        });
    }
    for s in &report.suites {
        let classname = format!("suite_{}", s.id.to_lowercase());
        out.push(Group {
            name: format!("Suite {}: {}", s.id, s.name),
            properties: Vec::new(),
            cases: s.cases.iter().map(|c| from_case(&classname, c)).collect(),
        });
    }
    if let Some(c) = &report.comparison {
        out.push(compared_group(c));
    }
    out.push(Group {
        name: "Criteria".into(),
        properties: report
            .waivers
            .iter()
            .map(|w| (format!("waiver:{}", w.criterion), w.reason.clone()))
            .collect(),
        cases: report
            .criteria
            .iter()
            .map(|c| {
                let observed = fmt_criterion_observed(c);
                let threshold = fmt_threshold(c);
                let body = format!(
                    "{}\nobserved: {observed}\nthreshold: {}\nsamples: {}",
                    c.description, threshold, c.samples
                );
                let failure = match c.status {
                    CriterionStatus::Pass => None,
                    CriterionStatus::Fail => Some((
                        "failed",
                        format!("{}: observed {observed}, threshold {threshold}", c.name),
                        body,
                    )),
                    // No data is never a pass: shown as a failure, typed apart.
                    CriterionStatus::Inconclusive => Some((
                        "inconclusive",
                        format!(
                            "{}: inconclusive ({} samples), threshold {}",
                            c.name, c.samples, threshold
                        ),
                        body,
                    )),
                };
                Case {
                    classname: "criteria".into(),
                    name: c.name.clone(),
                    seconds: 0.0,
                    failure,
                    skipped: None,
                    properties: Vec::new(),
                    system_out: None,
                }
            })
            .collect(),
    });
    out
}

/// "Compared with an earlier run": the comparison in one property, and one
/// case per team rule (failed when broken).
fn compared_group(c: &crate::compare::Comparison) -> Group {
    use super::compared;
    use crate::compare::RuleStatus;
    Group {
        name: compared::HEADING.into(),
        properties: vec![
            ("compared_with".into(), c.previous.id.clone()),
            ("comparison".into(), compared::summary(c)),
        ],
        cases: c
            .rules
            .iter()
            .map(|r| Case {
                classname: "team_rules".into(),
                name: r.criterion.metric.name().into(),
                seconds: 0.0,
                failure: (r.status == RuleStatus::Breach).then(|| {
                    (
                        "team_rule",
                        format!("team rule broken: {}", r.rule),
                        r.reason.clone(),
                    )
                }),
                skipped: (r.status == RuleStatus::NotJudged).then(|| r.reason.clone()),
                properties: Vec::new(),
                system_out: Some(format!("{}\n{}\n", r.rule, r.reason)),
            })
            .collect(),
    }
}

fn secs(s: f64) -> String {
    format!("{s:.3}")
}

/// Renders the JUnit XML document.
pub fn render(report: &Report) -> Result<String, RenderError> {
    write(report).map_err(|e| RenderError::Xml(e.to_string()))
}

/// The `tests`, `failures` and `skipped` attributes over `cases`, for
/// `<testsuites>` (every case) and each `<testsuite>` alike.
fn tally<'a>(cases: impl IntoIterator<Item = &'a Case>) -> [String; 3] {
    let (mut tests, mut failures, mut skipped) = (0usize, 0usize, 0usize);
    for c in cases {
        tests += 1;
        failures += usize::from(c.failure.is_some());
        skipped += usize::from(c.skipped.is_some());
    }
    [tests, failures, skipped].map(|n| n.to_string())
}

fn write(report: &Report) -> std::io::Result<String> {
    let groups = groups(report);
    let [tests, failures, skipped] = tally(groups.iter().flat_map(|g| &g.cases));
    let total_time = secs(report.run.duration_ms as f64 / 1000.0);
    let timestamp = report
        .run
        .started_at
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string();

    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    w.create_element("testsuites")
        .with_attributes([
            ("name", "gonogo"),
            ("tests", tests.as_str()),
            ("failures", failures.as_str()),
            ("errors", "0"),
            ("skipped", skipped.as_str()),
            ("time", total_time.as_str()),
        ])
        .write_inner_content(|w| {
            for g in &groups {
                write_group(w, g, &timestamp, report)?;
            }
            Ok(())
        })?;
    let mut bytes = w.into_inner();
    bytes.push(b'\n');
    String::from_utf8(bytes).map_err(std::io::Error::other)
}

fn write_group(
    w: &mut Writer<Vec<u8>>,
    g: &Group,
    timestamp: &str,
    report: &Report,
) -> std::io::Result<()> {
    let [tests, failures, skipped] = tally(&g.cases);
    let time = secs(g.cases.iter().map(|c| c.seconds).sum());
    let name = xml_safe(&g.name);
    let hostname = xml_safe(&report.run.target.base_url);
    w.create_element("testsuite")
        .with_attributes([
            ("name", name.as_str()),
            ("tests", tests.as_str()),
            ("failures", failures.as_str()),
            ("errors", "0"),
            ("skipped", skipped.as_str()),
            ("time", time.as_str()),
            ("timestamp", timestamp),
            ("hostname", hostname.as_str()),
        ])
        .write_inner_content(|w| {
            write_properties(w, &g.properties)?;
            for c in &g.cases {
                write_case(w, c)?;
            }
            Ok(())
        })?;
    Ok(())
}

/// `<properties>` with one `<property>` per pair; nothing when there is none.
fn write_properties(
    w: &mut Writer<Vec<u8>>,
    properties: &[(String, String)],
) -> std::io::Result<()> {
    if properties.is_empty() {
        return Ok(());
    }
    w.create_element("properties").write_inner_content(|w| {
        for (name, value) in properties {
            let (name, value) = (xml_safe(name), xml_safe(value));
            w.create_element("property")
                .with_attributes([("name", name.as_str()), ("value", value.as_str())])
                .write_empty()?;
        }
        Ok(())
    })?;
    Ok(())
}

fn write_case(w: &mut Writer<Vec<u8>>, c: &Case) -> std::io::Result<()> {
    let classname = xml_safe(&c.classname);
    let name = xml_safe(&c.name);
    let time = secs(c.seconds);
    let element = w.create_element("testcase").with_attributes([
        ("classname", classname.as_str()),
        ("name", name.as_str()),
        ("time", time.as_str()),
    ]);
    if c.failure.is_none()
        && c.skipped.is_none()
        && c.properties.is_empty()
        && c.system_out.is_none()
    {
        element.write_empty()?;
        return Ok(());
    }
    // Properties first, the output last: the order JUnit readers expect.
    element.write_inner_content(|w| {
        write_properties(w, &c.properties)?;
        if let Some((kind, message, body)) = &c.failure {
            let message = xml_safe(message);
            w.create_element("failure")
                .with_attributes([("message", message.as_str()), ("type", *kind)])
                .write_text_content(BytesText::new(&xml_safe(body)))?;
        }
        if let Some(message) = &c.skipped {
            let message = xml_safe(message);
            w.create_element("skipped")
                .with_attribute(("message", message.as_str()))
                .write_empty()?;
        }
        if let Some(out) = &c.system_out {
            w.create_element("system-out")
                .write_text_content(BytesText::new(&xml_safe(out)))?;
        }
        Ok(())
    })?;
    Ok(())
}
