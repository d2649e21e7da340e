//! The canary judge end to end against the in-process reference server, at a
//! small time scale: healthy → PROMOTE, slow search → ROLLBACK in phase 2,
//! 10 % failures → ROLLBACK in phase 1, and a search or get-by-id that shows
//! another tenant's file → ROLLBACK with the leaking probe as evidence.
//!
//! One server (one PostgreSQL + Redis) is shared by every test: it lives on a
//! static multi-thread runtime, and each test wraps a fresh router over the same
//! state in its own fault layer on its own port.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::{from_fn, Next};
use axum::response::{IntoResponse, Response};
use gonogo_harness::canary::{self, CanaryOptions, EngineConfig, TokenSource};
use gonogo_harness::config::args::Layers;
use gonogo_harness::exit::Exit;
use gonogo_harness::release_cli::{self, CanaryArgs, ReleaseCommand};
use gonogo_reports::canary_plan::CanaryPlan;
use gonogo_reports::model::CanaryOutcome;
use gonogo_reports::render::{self, Format};
use gonogo_reports::test_support::ReportBuilder;
use knowledge_server::embedded::EmbeddedServer;

/// 12 h becomes 8.6 s; each earlier phase lasts until it has its 20 samples.
const TIME_SCALE: f64 = 0.0002;
const RPS: f64 = 25.0;

struct Shared {
    runtime: tokio::runtime::Runtime,
    server: EmbeddedServer,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        let server = runtime
            .block_on(EmbeddedServer::start())
            .expect("the embedded server starts (is Docker running?)");
        Shared { runtime, server }
    })
}

/// Serves the shared server's router wrapped by `wrap` on a new port.
async fn serve_with(
    wrap: impl FnOnce(axum::Router) -> axum::Router,
) -> knowledge_server::RunningServer {
    let router = wrap(shared().server.app_router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    knowledge_server::serve(router, listener).await
}

fn options(target: String) -> CanaryOptions {
    CanaryOptions {
        roots: Default::default(),
        target,
        plan: CanaryPlan::default(),
        plan_label: "default (release plan)".into(),
        engine: EngineConfig {
            rps: RPS,
            max_in_flight: 8,
            time_scale: TIME_SCALE,
        },
        tenants: 4,
        tokens: TokenSource::from_secret(Some(&shared().server.config().jwt_secret)),
    }
}

#[test]
fn a_healthy_canary_is_promoted_and_written_into_the_report() {
    let s = shared();
    s.runtime.block_on(async {
        let server = serve_with(|r| r).await;
        let dir = tempfile::tempdir().unwrap();
        let report: PathBuf = dir.path().join("go-no-go.json");
        gonogo_reports::render::write_reports(
            &ReportBuilder::go().build(),
            dir.path(),
            &[gonogo_reports::render::Format::Markdown],
        )
        .unwrap();
        let code = release_cli::run(
            ReleaseCommand::Canary(CanaryArgs {
                target: server.base_url(),
                plan: None,
                time_scale: TIME_SCALE,
                report: Some(report.clone()),
                rps: RPS,
                tenants: 4,
                layers: Layers::default().with("run.jwt_secret", &s.server.config().jwt_secret),
                output: Default::default(),
            }),
            Default::default(),
        )
        .await
        .expect("the canary command ran");
        let code = ExitCode::from(code);
        let written: gonogo_reports::Report =
            serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
        let c = written.canary.expect("the canary section was written");
        assert_eq!(
            c.outcome,
            CanaryOutcome::Promote,
            "{} {:?}",
            c.reason,
            c.phases
        );
        assert_eq!(code, ExitCode::from(0));
        assert_eq!(c.phases.len(), 3);
        for p in &c.phases {
            assert_eq!(
                (p.verdict.as_str(), p.errors, p.security_violations),
                ("pass", 0, 0),
                "{p:?}"
            );
            assert!(p.samples >= 20, "{p:?}");
        }
        let md = std::fs::read_to_string(dir.path().join("go-no-go.md")).unwrap();
        assert!(
            md.contains("**PROMOTE**: all 3 phases passed their triggers"),
            "the Markdown was not re-rendered"
        );
        server.shutdown().await;
    });
}

#[test]
fn a_canary_with_900_ms_slower_search_rolls_back_in_phase_2() {
    let s = shared();
    s.runtime.block_on(async {
        let server = serve_with(|r| {
            r.layer(from_fn(|req: Request, next: Next| async move {
                if req.uri().path() == "/api/v1/knowledge/search" {
                    tokio::time::sleep(Duration::from_millis(900)).await;
                }
                next.run(req).await
            }))
        })
        .await;
        let result = canary::run(&options(server.base_url())).await.unwrap();
        assert_eq!(result.outcome, CanaryOutcome::Rollback, "{}", result.reason);
        assert_eq!(result.phases.len(), 2, "{:?}", result.phases);
        assert_eq!(result.phases[0].verdict, "pass");
        assert_eq!(result.phases[1].verdict, "rollback");
        assert!(
            result.reason.starts_with("phase 25%: p95 "),
            "{}",
            result.reason
        );
        assert!(result.phases[1].p95_ms.unwrap() > 800.0);
        assert_eq!(Exit::Canary(result.outcome).code(), 1);
        server.shutdown().await;
    });
}

#[test]
fn a_canary_failing_10_percent_of_requests_rolls_back_in_phase_1() {
    let s = shared();
    s.runtime.block_on(async {
        let counter = Arc::new(AtomicU64::new(0));
        let server = serve_with(move |r| {
            r.layer(from_fn(move |req: Request, next: Next| {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                async move {
                    if n % 10 == 9 {
                        return (http::StatusCode::INTERNAL_SERVER_ERROR, "injected fault")
                            .into_response();
                    }
                    let resp: Response = next.run(req).await;
                    resp
                }
            }))
        })
        .await;
        let result = canary::run(&options(server.base_url())).await.unwrap();
        assert_eq!(result.outcome, CanaryOutcome::Rollback, "{}", result.reason);
        assert_eq!(result.phases.len(), 1);
        let p = &result.phases[0];
        assert_eq!(p.errors, 2, "{p:?}");
        assert_eq!(
            result.reason,
            "phase 5%: 2 errors exceed the error budget of 1"
        );
        server.shutdown().await;
    });
}

#[tokio::test]
async fn an_unreachable_target_is_a_usage_error_with_one_sentence() {
    let mut opts = CanaryOptions {
        roots: Default::default(),
        target: "http://127.0.0.1:9".into(),
        plan: CanaryPlan::default(),
        plan_label: "default".into(),
        engine: EngineConfig::default(),
        tenants: 1,
        tokens: TokenSource::Anonymous,
    };
    let err = canary::run(&opts).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "the target http://127.0.0.1:9 is unreachable: check --target"
    );
    opts.engine.time_scale = 0.0;
    let err = canary::run(&opts).await.unwrap_err();
    assert_eq!(err.to_string(), "--time-scale must be a positive number");
}

/// One short phase at full traffic: enough to exercise a token source or a
/// security trigger without running the whole release schedule.
fn one_phase_plan() -> CanaryPlan {
    CanaryPlan::from_toml(one_phase_plan_toml(), "test").unwrap()
}

fn one_phase_plan_toml() -> &'static str {
    r#"
        name = "one phase"
        [[phase]]
        traffic_percent = 100
        duration = "10m"
        rollback_on_security_violation = true
        min_success_rate = 0.99
        "#
}

#[test]
fn tenants_from_the_anonymous_token_endpoint_are_enough_to_promote() {
    let s = shared();
    s.runtime.block_on(async {
        let server = serve_with(|r| r).await;
        let mut opts = options(server.base_url());
        opts.plan = one_phase_plan();
        opts.engine.time_scale = 0.002;
        opts.tokens = TokenSource::Anonymous;
        let result = canary::run(&opts).await.unwrap();
        assert_eq!(
            result.outcome,
            CanaryOutcome::Promote,
            "{} {:?}",
            result.reason,
            result.phases
        );
        assert_eq!(result.phases[0].errors, 0);
        server.shutdown().await;
    });
}

#[test]
fn a_server_that_answers_without_a_token_is_rolled_back_for_a_security_violation() {
    let s = shared();
    s.runtime.block_on(async {
        // The broken server lists files for anyone without a token.
        let server = serve_with(|r| {
            r.layer(from_fn(|req: Request, next: Next| async move {
                if req.headers().get(http::header::AUTHORIZATION).is_none()
                    && req.uri().path() == "/api/v1/knowledge/files"
                {
                    return axum::Json(serde_json::json!({"items": [], "next_cursor": null}))
                        .into_response();
                }
                next.run(req).await
            }))
        })
        .await;
        let mut opts = options(server.base_url());
        opts.plan = one_phase_plan();
        opts.engine.time_scale = 0.002;
        let result = canary::run(&opts).await.unwrap();
        assert_eq!(result.outcome, CanaryOutcome::Rollback);
        assert_eq!(result.reason, "phase 100%: 1 security violation(s)");
        assert_eq!(result.phases[0].security_violations, 1);
        server.shutdown().await;
    });
}

#[test]
fn the_documents_re_rendered_after_a_canary_keep_the_configured_required_roles() {
    let s = shared();
    s.runtime.block_on(async {
        let server = serve_with(|r| r).await;
        let dir = tempfile::tempdir().unwrap();
        let plan = dir.path().join("plan.toml");
        std::fs::write(&plan, one_phase_plan_toml()).unwrap();
        let options = gonogo_reports::render::RenderOptions {
            policy: gonogo_reports::signoff::ApprovalPolicy {
                required_roles: vec!["Security".into(), "QA".into()],
                trust: None,
            },
            ..Default::default()
        };
        gonogo_reports::render::write_reports_with(
            &ReportBuilder::go().build(),
            dir.path(),
            &[gonogo_reports::render::Format::Markdown],
            &options,
        )
        .unwrap();
        let report = dir.path().join("go-no-go.json");
        let args: Vec<std::ffi::OsString> = vec![
            "gonogo".into(),
            "canary".into(),
            "--target".into(),
            server.base_url().into(),
            "--plan".into(),
            plan.into(),
            "--time-scale".into(),
            "0.002".into(),
            "--rps".into(),
            RPS.to_string().into(),
            "--report".into(),
            report.into(),
            "--jwt-secret".into(),
            s.server.config().jwt_secret.clone().into(),
            "--required-roles".into(),
            "Security,QA".into(),
        ];
        let code = gonogo_harness::cli::main_with(args).await;
        assert_eq!(code, ExitCode::from(0));
        let md = std::fs::read_to_string(dir.path().join("go-no-go.md")).unwrap();
        assert!(
            md.contains("| QA |") && !md.contains("Tech Lead"),
            "the re-rendered sign-off table lost the configured roles:\n{md}"
        );
        // The outcome is in the ledger beside the report, about the report's run.
        let ledger = gonogo_ledger::Ledger::open_file(&dir.path().join("ledger.sqlite"))
            .await
            .unwrap();
        let entries = ledger.entries().await.unwrap();
        ledger.close().await;
        let last = &entries.last().expect("the canary was recorded").fields;
        assert_eq!(last.kind, gonogo_ledger::EntryKind::Canary);
        assert_eq!(last.outcome.as_deref(), Some("PROMOTE"));
        assert_eq!(last.target.as_deref(), Some(server.base_url().as_str()));
        assert!(last.run_id.is_some());
        server.shutdown().await;
    });
}

/// Runs the one-phase plan against the shared server behind `wrap`; the
/// canary must roll back for a security violation and show the leaking probe.
async fn rolls_back_for_a_leak_with_evidence(
    wrap: impl FnOnce(axum::Router) -> axum::Router,
    leaking_path: &str,
) {
    let server = serve_with(wrap).await;
    let mut opts = options(server.base_url());
    opts.plan = one_phase_plan();
    opts.engine.time_scale = 0.002;
    let result = canary::run(&opts).await.unwrap();
    server.shutdown().await;
    assert_eq!(result.outcome, CanaryOutcome::Rollback, "{}", result.reason);
    assert_eq!(result.reason, "phase 100%: 1 security violation(s)");
    let first = result
        .failures
        .first()
        .expect("the failing probe is evidence");
    let response = first.response.as_ref().expect("a response came");
    assert!(
        first.request.path.starts_with(leaking_path) && response.status == 200 && !first.matched,
        "{first:?}"
    );
    assert_eq!(first.request.headers["authorization"], "Bearer [REDACTED]");
    let report = ReportBuilder::go()
        .with(|r| r.canary = Some(result.clone()))
        .build();
    for format in [Format::Markdown, Format::Html] {
        let text = render::render(&report, format, &Default::default()).unwrap();
        assert!(text.contains("First failing probes"), "{format:?}: {text}");
    }
}

/// Uploads seen by the leaking fronts: (id, filename).
type Seen = Arc<std::sync::Mutex<Vec<(String, String)>>>;

/// Records each successful upload's id and filename.
async fn record(seen: Seen, req: Request, next: Next) -> Response {
    let upload =
        req.method() == http::Method::POST && req.uri().path() == "/api/v1/knowledge/files";
    let r = next.run(req).await;
    if !upload || r.status() != http::StatusCode::CREATED {
        return r;
    }
    let (parts, body) = r.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    if let (Some(id), Some(name)) = (v["id"].as_str(), v["filename"].as_str()) {
        seen.lock().unwrap().push((id.into(), name.into()));
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

#[test]
fn a_search_that_ignores_the_tenant_rolls_the_canary_back_with_evidence() {
    shared().runtime.block_on(rolls_back_for_a_leak_with_evidence(
        |r| {
            let seen = Seen::default();
            let inject = seen.clone();
            // Every search answers with every probe file it has seen, whoever owns it.
            r.layer(from_fn(move |req: Request, next: Next| {
                let inject = inject.clone();
                async move {
                    if req.uri().path() != "/api/v1/knowledge/search" {
                        return next.run(req).await;
                    }
                    let results: Vec<_> = inject
                        .lock()
                        .unwrap()
                        .iter()
                        .map(|(id, name)| serde_json::json!({"file_id": id, "filename": name, "score": 1.0, "snippet": ""}))
                        .collect();
                    axum::Json(serde_json::json!({"results": results, "took_ms": 1})).into_response()
                }
            }))
            .layer(from_fn(move |req: Request, next: Next| record(seen.clone(), req, next)))
        },
        "/api/v1/knowledge/search",
    ))
}

#[test]
fn a_get_by_id_that_serves_other_tenants_files_rolls_the_canary_back_with_evidence() {
    shared()
        .runtime
        .block_on(rolls_back_for_a_leak_with_evidence(
            |r| {
                // A 404 by id becomes a 200 FileInfo for that id: any tenant's file is served.
                r.layer(from_fn(|req: Request, next: Next| async move {
                    let path = req.uri().path().to_owned();
                    let r = next.run(req).await;
                    match path.strip_prefix("/api/v1/knowledge/files/") {
                        Some(id) if r.status() == http::StatusCode::NOT_FOUND => axum::Json(
                            serde_json::json!({"id": id, "filename": "someone-else.txt"}),
                        )
                        .into_response(),
                        _ => r,
                    }
                }))
            },
            "/api/v1/knowledge/files/",
        ))
}
