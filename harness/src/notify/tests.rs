//! The webhook against a real local receiver: what it is sent, what is tried
//! again, what is given up, and that the URL and the run's secrets never show.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::routing::post;
use gonogo_reports::redact::Secrets;
use gonogo_reports::test_support::ReportBuilder;
use gonogo_reports::Verdict;

use super::*;

/// A webhook receiver on loopback: it answers each post with the next of
/// `answers` (the last one repeats) and keeps every body it was sent.
pub(crate) struct Receiver {
    pub url: String,
    bodies: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl Receiver {
    /// `delay` holds every answer back that long (a receiver that hangs).
    pub(crate) async fn start(answers: &[u16], delay: Duration) -> Receiver {
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let answers: Arc<Vec<u16>> = Arc::new(answers.to_vec());
        let kept = bodies.clone();
        let app = axum::Router::new().route(
            "/hook/{secret}",
            post(move |axum::Json(body): axum::Json<serde_json::Value>| {
                let kept = kept.clone();
                let answers = answers.clone();
                async move {
                    let n = {
                        let mut kept = kept.lock().unwrap();
                        kept.push(body);
                        kept.len()
                    };
                    tokio::time::sleep(delay).await;
                    let code = answers[(n - 1).min(answers.len() - 1)];
                    StatusCode::from_u16(code).unwrap()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver {
            url: format!("http://{addr}/hook/{SECRET_IN_URL}"),
            bodies,
        }
    }

    pub(crate) fn bodies(&self) -> Vec<serde_json::Value> {
        self.bodies.lock().unwrap().clone()
    }
}

/// The receiver's own secret, as Slack puts it in the webhook's path.
pub(crate) const SECRET_IN_URL: &str = "T000-B000-xoxsecretpart";
const RUN_SECRET: &str = "jwt-secret-of-the-run-0123456789";

fn no_go_naming_the_secret() -> Report {
    ReportBuilder::go()
        .verdict(
            Verdict::NoGo,
            &format!("gate_2 failed: a token signed with {RUN_SECRET} was refused"),
        )
        .build()
}

#[tokio::test]
async fn a_decision_is_posted_once_as_json_with_a_text_and_without_the_runs_secret() {
    let receiver = Receiver::start(&[200], Duration::ZERO).await;
    let hook = Webhook::new(&receiver.url, Duration::from_secs(5)).unwrap();
    let report = no_go_naming_the_secret();
    let notice = Notice::decision(&report, &Secrets::new([RUN_SECRET.to_owned()]));
    hook.send(&notice).await.unwrap();
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 1);
    let body = &bodies[0];
    assert_eq!(body["event"], "decision");
    assert_eq!(body["verdict"], "NO-GO");
    assert_eq!(body["run_id"], report.run.id.as_str());
    assert_eq!(body["target"], report.run.target.base_url.as_str());
    let text = body["text"].as_str().unwrap();
    assert!(text.starts_with("gonogo: NO-GO for "), "{text}");
    assert!(text.contains(&report.run.id), "{text}");
    let all = body.to_string();
    assert!(
        !all.contains(RUN_SECRET),
        "the run's secret was sent: {all}"
    );
    assert!(all.contains("gate_2 failed"), "the reason is kept: {all}");
    assert!(!all.contains("evidence"), "no evidence is sent: {all}");
}

#[tokio::test]
async fn what_may_pass_later_is_tried_again_and_then_delivered() {
    let receiver = Receiver::start(&[503, 429, 200], Duration::ZERO).await;
    let hook = Webhook::new(&receiver.url, Duration::from_secs(5)).unwrap();
    let notice = Notice::decision(&ReportBuilder::go().build(), &Secrets::default());
    hook.send(&notice).await.unwrap();
    assert_eq!(receiver.bodies().len(), 3);
}

#[tokio::test]
async fn a_refusal_the_receiver_would_repeat_is_not_tried_again() {
    let receiver = Receiver::start(&[404], Duration::ZERO).await;
    let hook = Webhook::new(&receiver.url, Duration::from_secs(5)).unwrap();
    let notice = Notice::decision(&ReportBuilder::go().build(), &Secrets::default());
    let e = hook.send(&notice).await.unwrap_err().to_string();
    assert_eq!(receiver.bodies().len(), 1);
    assert!(e.contains("404"), "{e}");
    assert!(!e.contains(SECRET_IN_URL), "the URL was printed: {e}");
}

#[tokio::test]
async fn a_receiver_that_never_answers_is_given_up_after_three_bounded_attempts() {
    let receiver = Receiver::start(&[200], Duration::from_secs(30)).await;
    let hook = Webhook::new(&receiver.url, Duration::from_millis(300)).unwrap();
    let notice = Notice::decision(&ReportBuilder::go().build(), &Secrets::default());
    let started = Instant::now();
    let e = hook.send(&notice).await.unwrap_err().to_string();
    // 3 × 0.3 s plus the 0.5 s and 1 s backoffs, well under the receiver's 30 s.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(receiver.bodies().len(), ATTEMPTS as usize);
    assert_eq!(
        e,
        "the decision webhook was not delivered after 3 attempts (no answer within the timeout); the verdict stands"
    );
}

#[tokio::test]
async fn an_unreachable_receiver_is_one_sentence_without_the_url() {
    // A port nothing listens on: bind, note it, close.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/hook/{SECRET_IN_URL}");
    let hook = Webhook::new(&url, Duration::from_secs(1)).unwrap();
    let notice = Notice::decision(&ReportBuilder::go().build(), &Secrets::default());
    let e = hook.send(&notice).await.unwrap_err().to_string();
    assert!(e.contains("could not be reached"), "{e}");
    assert!(!e.contains(SECRET_IN_URL), "{e}");
    assert!(!format!("{hook:?}").contains(SECRET_IN_URL));
}

#[test]
fn only_http_urls_are_webhooks() {
    for bad in ["", "hooks.slack.com/x", "file:///etc/passwd", "ftp://h/x"] {
        assert!(Webhook::new(bad, Duration::from_secs(1)).is_err(), "{bad}");
    }
    assert!(Webhook::new("https://hooks.example/x", Duration::from_secs(1)).is_ok());
}
