use std::ffi::OsStr;
use std::sync::{Arc, Mutex};

use gonogo_suites::{ApiRequest, ApiResponse, Exchange};

use super::*;

/// A `Write` the test reads back.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

#[test]
fn auto_colours_a_terminal_unless_no_color_is_set_to_something() {
    let auto = ColorChoice::Auto;
    assert!(auto.enabled(true, None));
    assert!(auto.enabled(true, Some(OsStr::new(""))));
    assert!(!auto.enabled(true, Some(OsStr::new("1"))));
    assert!(!auto.enabled(false, None));
    assert!(ColorChoice::Always.enabled(false, Some(OsStr::new("1"))));
    assert!(!ColorChoice::Never.enabled(true, None));
}

#[test]
fn the_verdict_is_painted_only_when_colour_is_on() {
    assert_eq!(
        paint_verdict("gonogo: GO", Verdict::Go, false),
        "gonogo: GO"
    );
    let red = paint_verdict("gonogo: NO-GO", Verdict::NoGo, true);
    assert_eq!(red, "\u{1b}[1m\u{1b}[31mgonogo: NO-GO\u{1b}[0m");
}

fn exchange(path: &str, status: Option<u16>) -> Exchange {
    Exchange {
        request: ApiRequest::get(path)
            .bearer("eyJ.secret-token.sig")
            .header("x-api-key", "key-123"),
        response: status
            .map(|status| ApiResponse {
                status,
                headers: vec![("set-cookie".into(), "session=abc".into())],
                body: bytes::Bytes::from_static(b"{\"items\":[\"body-text\"]}"),
            })
            .ok_or_else(|| "connection refused".to_owned()),
        latency: Duration::from_millis(12),
        received_at: 0.0,
    }
}

#[test]
fn an_exchange_line_has_method_path_status_and_latency_but_no_query_header_or_body() {
    assert_eq!(
        exchange_line(&exchange("/api/v1/files?limit=1&token=q", Some(200))),
        "GET /api/v1/files 200 12 ms"
    );
    assert_eq!(
        exchange_line(&exchange("/health", None)),
        "GET /health no response 12 ms"
    );
}

#[test]
fn verbose_lines_follow_the_run_and_count_each_case() {
    let out = Buffer::default();
    let p = Progress::verbose_to(Box::new(out.clone()), false);
    let case = |id: &str, outcome| gonogo_suites::CaseReport {
        id: id.into(),
        title: String::new(),
        clauses: &[],
        outcome,
        duration: Duration::ZERO,
        message: None,
        evidence: Vec::new(),
        security_violations: 0,
    };
    p.phase("starting containers");
    p.event(Event::Phase {
        phase: Phase::Main,
        cases: 3,
    });
    p.event(Event::Tenant("suite_a/user"));
    p.event(Event::Exchange(&exchange(
        "/api/v1/files?cursor=x",
        Some(401),
    )));
    p.event(Event::CaseDone(&case("suite_a::one", Outcome::Passed)));
    p.event(Event::CaseDone(&case("suite_a::two", Outcome::Failed)));
    assert_eq!(p.counts(), (2, 3, 1));
    p.event(Event::Phase {
        phase: Phase::Final,
        cases: 1,
    });
    assert_eq!(p.counts(), (0, 1, 0));
    let text = out.text();
    assert_eq!(
        text,
        "gonogo: starting containers\n\
         gonogo: suites\n  GET /api/v1/files 401 12 ms\n\
         pass suite_a::one\nFAIL suite_a::two\n\
         gonogo: final scans\n"
    );
    for secret in [
        "secret-token",
        "key-123",
        "session=abc",
        "body-text",
        "cursor",
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

#[test]
fn the_line_needs_a_terminal_and_no_quiet_and_lines_need_verbose() {
    assert_eq!(shown(true, Verbosity::Normal), (true, false));
    assert_eq!(shown(false, Verbosity::Normal), (false, false));
    assert_eq!(shown(true, Verbosity::Quiet), (false, false));
    assert_eq!(shown(true, Verbosity::Verbose), (true, true));
    assert_eq!(shown(false, Verbosity::Verbose), (false, true));
    let off = Progress::off();
    assert!(!off.active());
    off.phase("suites");
    off.step(true);
    assert_eq!(off.counts(), (1, 0, 1));
}
