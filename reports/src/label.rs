//! The words people read for the model's enums, and evidence as plain text.
//!
//! Each enum's `label()` is its JSON spelling, and `Display` prints it: the
//! CLI line, every rendering and the JSON agree (`NO-GO` everywhere, never
//! `NoGo` or `NO_GO`). Here rather than in `render`, so that `signoff` and
//! `render` both use them without depending on each other.

use std::fmt::{self, Write as _};

use crate::model::{CanaryOutcome, ClauseLevel, CriterionStatus, Evidence, Mode, Outcome, Verdict};

macro_rules! labels {
    ($($ty:ty { $($variant:ident => $label:literal),+ $(,)? })+) => {$(
        impl $ty {
            /// The word for this value: its JSON spelling.
            pub fn label(self) -> &'static str {
                match self {
                    $(<$ty>::$variant => $label),+
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.label())
            }
        }
    )+};
}

labels! {
    Verdict { Go => "GO", NoGo => "NO-GO", Inconclusive => "INCONCLUSIVE" }
    Mode { Hermetic => "hermetic", Remote => "remote" }
    CriterionStatus { Pass => "pass", Fail => "fail", Inconclusive => "inconclusive" }
    Outcome { Passed => "passed", Failed => "failed", Skipped => "skipped", Warned => "warned" }
    CanaryOutcome { Promote => "PROMOTE", Rollback => "ROLLBACK", Inconclusive => "INCONCLUSIVE" }
    ClauseLevel { Must => "must", Should => "should", Expected => "expected" }
}

/// Evidence as plain text (Markdown and HTML details, JUnit failure bodies).
pub fn evidence_text(e: &Evidence) -> String {
    let mut t = format!("{} {}\n", e.request.method, e.request.path);
    for (k, v) in &e.request.headers {
        let _ = writeln!(t, "{k}: {v}");
    }
    let _ = writeln!(t, "expected: {} (matched: {})", e.expected, e.matched);
    match (&e.response, &e.error) {
        (Some(r), _) => {
            let _ = writeln!(t, "-> {} in {:.1} ms", r.status, e.latency_ms);
            for (k, v) in &r.headers {
                let _ = writeln!(t, "{k}: {v}");
            }
            t.push_str(&r.body);
        }
        (None, Some(err)) => {
            let _ = write!(t, "-> no response: {err}");
        }
        (None, None) => t.push_str("-> no response"),
    }
    t
}

/// A metric reading as shown in the canary tables: `n/a` for no data.
pub fn metric_value(reading: Option<&crate::model::MetricReading>) -> String {
    match reading.map(|r| r.value) {
        None => "—".into(),
        Some(None) => "n/a".into(),
        Some(Some(v)) => metric_number(v),
    }
}

/// A metric's number in reasons and tables: whole from 100 up, else at most
/// four decimals without trailing zeros (`48.7188`, `0`, `242`).
pub fn metric_number(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.4}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

/// A metric check's verdict with its reason, as the canary tables show it.
pub fn metric_verdict(m: &crate::model::MetricCheck) -> String {
    match &m.reason {
        Some(r) => format!("{}: {r}", m.verdict),
        None => m.verdict.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json<T: serde::Serialize>(v: T) -> String {
        serde_json::to_value(v)
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn every_label_is_the_json_spelling() {
        for v in [Verdict::Go, Verdict::NoGo, Verdict::Inconclusive] {
            assert_eq!((v.label(), v.to_string()), (json(v).as_str(), json(v)));
        }
        for m in [Mode::Hermetic, Mode::Remote] {
            assert_eq!(m.to_string(), json(m));
        }
        for s in [
            CriterionStatus::Pass,
            CriterionStatus::Fail,
            CriterionStatus::Inconclusive,
        ] {
            assert_eq!(s.to_string(), json(s));
        }
        for o in [
            Outcome::Passed,
            Outcome::Failed,
            Outcome::Skipped,
            Outcome::Warned,
        ] {
            assert_eq!(o.to_string(), json(o));
        }
        for o in [
            CanaryOutcome::Promote,
            CanaryOutcome::Rollback,
            CanaryOutcome::Inconclusive,
        ] {
            assert_eq!(o.to_string(), json(o));
        }
        for l in [
            ClauseLevel::Must,
            ClauseLevel::Should,
            ClauseLevel::Expected,
        ] {
            assert_eq!(l.to_string(), json(l));
        }
    }

    #[test]
    fn the_verdict_is_spelled_as_the_contract_words_it() {
        assert_eq!(json(Verdict::NoGo), "NO-GO");
        let old: Verdict = serde_json::from_str(r#""NO_GO""#).unwrap();
        assert_eq!(
            old,
            Verdict::NoGo,
            "reports written before 1.1.0 still read"
        );
    }
}
