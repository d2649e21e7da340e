//! The routes of `gonogo serve` (see the module table in [`super`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequest, Path, Query, Request, State as Extract};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use gonogo_reports::canary_plan::{CanaryPlan, PhasePlan};
use gonogo_reports::file::{CanaryRecord, ReportFile};
use gonogo_reports::publication::Publication;
use gonogo_reports::render::Format;
use gonogo_reports::signoff::{ApprovalState, TrustStore};
use gonogo_reports::{CanaryOutcome, Verdict};
use serde::Deserialize;
use serde_json::{json, Value};
use url::Url;

use super::auth::{self, Authorized};
use super::{Problem, State, ROLLOUT_RPS, ROLLOUT_TENANTS};
use crate::canary::{self, CanaryOptions, EngineConfig, TokenSource};
use crate::run::{InfraError, RunOutput, Session};

type Shared = Arc<State>;

/// Every route: method and path (the manifests under `deploy/` are checked against it).
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/health"),
    ("POST", "/flagger/pre-rollout"),
    ("POST", "/flagger/rollout"),
    ("POST", "/flagger/confirm-promotion"),
    ("GET", "/argo/verdict"),
    ("POST", "/argo/verdict"),
    ("GET", "/reports/{*path}"),
    ("GET", "/ledger"),
    ("GET", "/can-i-deploy"),
];

/// The server's routes over `state`.
pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/flagger/pre-rollout", post(pre_rollout))
        .route("/flagger/rollout", post(rollout))
        .route("/flagger/confirm-promotion", post(confirm_promotion))
        .route("/argo/verdict", get(argo_get).post(argo_post))
        .route("/reports/{*path}", get(report_file))
        .merge(super::ledger::routes())
        .fallback(|| async {
            Problem::new(
                StatusCode::NOT_FOUND,
                "no such route",
                "gonogo serve has /health, /flagger/{pre-rollout,rollout,confirm-promotion}, /argo/verdict, /reports/…, /ledger and /can-i-deploy",
            )
        })
        .layer(axum::middleware::map_response(|res| async {
            gonogo_plumbing::problemize(res, refusal)
        }))
        .with_state(state)
}

/// What axum itself refuses (a body over the limit, a wrong method, a path
/// that is not UTF-8) becomes a problem body too: every refusal reads the same.
fn refusal(status: StatusCode) -> Response {
    let (title, detail) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => (
            "body too large",
            "the request body is larger than gonogo serve accepts (2 MiB)",
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method not allowed",
            "this route does not take that method: see the routes in gonogo's README",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported media type",
            "send the body as application/json",
        ),
        s if s.is_client_error() => (
            "bad request",
            "the request could not be read: check its path, query and body",
        ),
        _ => (
            "server error",
            "gonogo serve could not answer (see its log)",
        ),
    };
    Problem::new(status, title, detail).into_response()
}

async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// Flagger's webhook payload (`CanaryWebhookPayload`): metadata values are
/// strings; `phase` (the canary's, e.g. `Progressing`) is not needed: the route
/// says which hook this is.
#[derive(Debug, Deserialize)]
struct FlaggerPayload {
    name: String,
    namespace: String,
    #[serde(default)]
    checksum: Option<String>,
    /// Flagger sends strings; anything else is kept out of the way, not a parse failure.
    #[serde(default)]
    metadata: BTreeMap<String, Value>,
}

impl FlaggerPayload {
    fn meta(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).and_then(Value::as_str)
    }
}

/// A Flagger webhook, authenticated first (header, else `metadata.token`),
/// then parsed: a caller without the token learns nothing about what the body
/// should be.
struct Flagger(FlaggerPayload);

impl FromRequest<Shared> for Flagger {
    type Rejection = Response;

    async fn from_request(req: Request, state: &Shared) -> Result<Self, Response> {
        let headers = req.headers().clone();
        let body = webhook_body(req)
            .await
            .map_err(IntoResponse::into_response)?;
        let parsed = serde_json::from_slice::<FlaggerPayload>(&body);
        let metadata_token = parsed.as_ref().ok().and_then(|p| p.meta("token"));
        auth::check(&state.settings.token, &headers, metadata_token)
            .map_err(IntoResponse::into_response)?;
        parsed.map(Flagger).map_err(|e| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "not a Flagger webhook payload",
                format!("the body must be Flagger's webhook JSON {{name, namespace, phase, metadata}} ({e})"),
            )
            .into_response()
        })
    }
}

/// A Flagger webhook's body is small; a larger one is refused with 413.
const WEBHOOK_BODY_LIMIT: usize = 2 << 20;
/// How much of a refused body is still read and thrown away, and for how long, so the
/// caller finishes sending and reads the 413 rather than a reset connection (a close with
/// unread bytes resets it, and the caller's write fails with a broken pipe).
const DRAIN_BYTES: usize = 16 << 20;
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(2);

/// The request's body, at most [`WEBHOOK_BODY_LIMIT`] bytes.
async fn webhook_body(req: Request) -> Result<Bytes, Problem> {
    use futures::StreamExt;
    let mut stream = req.into_body().into_data_stream();
    let mut body = Vec::new();
    let mut read = 0usize;
    let unreadable = || {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "body not read",
            "the request body ended early or could not be read; send it again",
        )
    };
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| unreadable())?;
        read += chunk.len();
        if read > WEBHOOK_BODY_LIMIT {
            let deadline = tokio::time::Instant::now() + DRAIN_TIME;
            while read <= DRAIN_BYTES {
                match tokio::time::timeout_at(deadline, stream.next()).await {
                    Ok(Some(Ok(more))) => read += more.len(),
                    _ => break,
                }
            }
            return Err(Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body too large",
                format!(
                    "a Flagger webhook body is at most {} MiB",
                    WEBHOOK_BODY_LIMIT >> 20
                ),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(body))
}

/// A release id segment: what a directory name can safely be.
fn segment_ok(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && !s.starts_with('.')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// `flagger/namespace/name[/checksum]`, each segment checked (no path escapes).
/// Flagger's and Argo's releases live under their own prefix, so one cannot
/// overwrite (and so unsign) the other's report.
fn release_of(p: &FlaggerPayload) -> Result<String, Problem> {
    let mut segments = vec![p.namespace.as_str(), p.name.as_str()];
    segments.extend(p.checksum.as_deref().filter(|c| !c.is_empty()));
    release("flagger", &segments.join("/"))
}

/// `prefix/id`, `id` 1-3 segments of letters, digits, `.`, `_` or `-`.
fn release(prefix: &str, id: &str) -> Result<String, Problem> {
    let segments: Vec<&str> = id.split('/').collect();
    if segments.len() > 3 || !segments.iter().all(|s| segment_ok(s)) {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "bad release id",
            format!("the release {id:?} must be 1-3 segments of letters, digits, '.', '_' or '-' separated by '/'"),
        ));
    }
    Ok(format!("{prefix}/{id}"))
}

/// A kept report's release, as its URL names it: `flagger/…` or `argo/…`, 2-4 segments.
fn kept_release(id: &str) -> Option<String> {
    let (prefix, rest) = id.split_once('/')?;
    matches!(prefix, "flagger" | "argo")
        .then(|| release(prefix, rest).ok())
        .flatten()
}

/// The target a request names (or `run.target`), refused unless on the allowlist.
fn target(state: &State, named: Option<&str>) -> Result<Url, Problem> {
    let named = named
        .map(str::to_owned)
        .or_else(|| state.settings.run.target.clone())
        .ok_or_else(|| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "no target",
                "name the target: metadata.target (Flagger) or ?target= (Argo)",
            )
        })?;
    state
        .settings
        .allow
        .check(&named)
        .map_err(|r| Problem::new(StatusCode::FORBIDDEN, "not on the allowlist", r.to_string()))
}

/// The origin a run claims: one run per target at a time.
fn origin(url: &Url) -> String {
    super::allow::Origin::of(url).map_or_else(|| url.to_string(), |o| o.to_string())
}

impl State {
    /// Claims the target and the release folder for one run (409 when either is busy).
    fn claim_run(
        self: &Arc<Self>,
        origin: &str,
        release: &str,
    ) -> Result<[super::Claim; 2], Problem> {
        let target = self.claim(origin).ok_or_else(|| busy(origin))?;
        let folder = self
            .claim(&format!("release:{release}"))
            .ok_or_else(|| busy(&format!("release {release}")))?;
        Ok([target, folder])
    }
}

fn busy(origin: &str) -> Problem {
    Problem {
        retry_after: Some(30),
        ..Problem::new(
            StatusCode::CONFLICT,
            "a run is in progress",
            format!("a run against {origin} is already in progress; retry when it ends"),
        )
    }
}

fn timed_out(origin: &str, limit: std::time::Duration) -> Problem {
    Problem::new(
        StatusCode::GATEWAY_TIMEOUT,
        "run timed out",
        format!(
            "the run against {origin} did not finish within {} s (serve.run_timeout): the target may be hanging",
            limit.as_secs()
        ),
    )
}

/// What a smoke-gate run decided.
struct Judged {
    verdict: Verdict,
    release: String,
    target: String,
    reasons: Vec<String>,
}

impl Judged {
    fn report_path(&self) -> String {
        format!("/reports/{}/go-no-go.json", self.release)
    }

    fn body(&self) -> Value {
        json!({
            "verdict": self.verdict,
            "release": self.release,
            "target": self.target,
            "reasons": self.reasons,
            "report": self.report_path(),
        })
    }
}

/// Runs the smoke gate against `url` for `release`, bounded and one per target,
/// and keeps its report under `<report.dir>/<release>/`.
async fn gate(state: &Shared, url: &Url, release: &str) -> Result<Judged, Problem> {
    let origin = origin(url);
    let _claims = state.claim_run(&origin, release)?;
    let mut opts = state.settings.run.clone();
    let target = url.as_str().trim_end_matches('/').to_owned();
    opts.target = Some(target.clone());
    opts.label = Some(release.to_owned());
    let limit = state.settings.run_timeout;
    let bounded = async {
        let _slot = state.runs.acquire().await.ok()?;
        run_on_own_thread(opts).await
    };
    let out = match tokio::time::timeout(limit, bounded).await {
        Err(_) => return Err(timed_out(&origin, limit)),
        Ok(None) => {
            return Err(Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "run failed",
                "the run stopped before deciding (see gonogo serve's log)",
            ))
        }
        Ok(Some(r)) => r.map_err(|e| {
            Problem::new(StatusCode::BAD_GATEWAY, "target not judged", e.to_string())
        })?,
    };
    let publication = Publication::files(
        state.settings.report_dir.join(release),
        &[Format::Markdown, Format::Html],
        state.settings.render.clone(),
    );
    out.publish(&publication).map_err(|e| {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "report not written",
            format!("the run ended but its report could not be kept: {e}"),
        )
    })?;
    let kept = state
        .settings
        .report_dir
        .join(release)
        .join("go-no-go.json");
    let bytes = std::fs::read(&kept).map_err(|e| {
        eprintln!("gonogo serve: {}: {e}", kept.display());
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "report not written",
            "the run ended but its report could not be read back (see gonogo serve's log)",
        )
    })?;
    super::ledger::record_run(state, &out.report, &bytes).await?;
    // Told on its own task: a slow receiver never holds the caller's answer.
    let notice = crate::notify::Notice::decision(&out.report, &out.secrets());
    tokio::spawn(crate::notify::tell(state.settings.webhook.clone(), notice));
    let d = &out.report.decision;
    Ok(Judged {
        verdict: d.verdict,
        release: release.to_owned(),
        target,
        reasons: d.reasons.clone(),
    })
}

/// Runs the session on a thread of its own with its own runtime: the
/// session's future is not `Send` (sqlx's executor lifetimes), so it cannot be
/// a task. Dropping the returned future (the timeout, a caller gone) cancels
/// the run there; `None` when that thread could not finish.
async fn run_on_own_thread(opts: crate::run::Options) -> Option<Result<RunOutput, InfraError>> {
    let (done, result) = tokio::sync::oneshot::channel();
    let (cancel, cancelled) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        let out = rt.block_on(async move {
            tokio::select! {
                r = Session::run_once(&opts, None) => Some(r),
                _ = cancelled => None,
            }
        });
        if let Some(r) = out {
            let _ = done.send(r);
        }
    });
    let _cancel_when_dropped = cancel;
    result.await.ok()
}

/// `pre-rollout`: 200 on GO; otherwise 412 saying why (Flagger halts and counts a failed check).
async fn pre_rollout(
    Extract(state): Extract<Shared>,
    Flagger(p): Flagger,
) -> Result<Json<Value>, Problem> {
    let release = release_of(&p)?;
    let url = target(&state, p.meta("target"))?;
    let j = gate(&state, &url, &release).await?;
    if j.verdict != Verdict::Go {
        let why = j.reasons.first().cloned().unwrap_or_default();
        return Err(Problem::new(
            StatusCode::PRECONDITION_FAILED,
            j.verdict.label(),
            format!(
                "{} for {}: {why}; report: {}",
                j.verdict,
                j.release,
                j.report_path()
            ),
        ));
    }
    Ok(Json(j.body()))
}

/// The plan phase a `rollout` call judges: `metadata.phase` (a phase name or
/// traffic percent), else the first.
fn phase_for<'a>(plan: &'a CanaryPlan, named: Option<&str>) -> Result<&'a PhasePlan, Problem> {
    let Some(named) = named else {
        return plan.phases.first().ok_or_else(|| {
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "no canary phase",
                "the canary plan has no phase",
            )
        });
    };
    let wanted = named.trim().trim_end_matches('%');
    plan.phases
        .iter()
        .find(|p| p.display_name() == named || p.traffic_percent.to_string() == wanted)
        .ok_or_else(|| {
            let names: Vec<String> = plan.phases.iter().map(PhasePlan::display_name).collect();
            Problem::new(
                StatusCode::BAD_REQUEST,
                "no such phase",
                format!(
                    "metadata.phase {named:?} is not a phase of the canary plan ({})",
                    names.join(", ")
                ),
            )
        })
}

/// `rollout`: probes the canary for `serve.rollout_step` and judges the phase's
/// triggers; 200 while they hold, 412 on a breach or without enough data.
async fn rollout(
    Extract(state): Extract<Shared>,
    Flagger(p): Flagger,
) -> Result<Json<Value>, Problem> {
    let release = release_of(&p)?;
    let url = target(&state, p.meta("target"))?;
    let plan = &state.settings.canary_plan;
    let phase = phase_for(plan, p.meta("phase"))?;
    let step = state.settings.rollout_step;
    let one_step = CanaryPlan {
        name: plan.name.clone(),
        phases: vec![PhasePlan {
            duration: format!("{}s", step.as_secs().max(1)),
            ..phase.clone()
        }],
        metrics: plan.metrics.clone(),
    };
    let origin = origin(&url);
    let _claims = state.claim_run(&origin, &release)?;
    let limit = state.settings.run_timeout.saturating_add(step);
    let judged = async {
        let _slot = state.runs.acquire().await.map_err(|_| busy(&origin))?;
        let roots = match &state.settings.run.cacert {
            Some(path) => crate::client::ExtraRoots::from_pem_file(path).map_err(|cause| {
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "CA file unusable",
                    format!("run.cacert cannot be used ({cause})"),
                )
            })?,
            None => crate::client::ExtraRoots::default(),
        };
        let options = CanaryOptions {
            target: url.as_str().trim_end_matches('/').to_owned(),
            plan: one_step,
            plan_label: release.clone(),
            engine: EngineConfig {
                rps: ROLLOUT_RPS,
                ..EngineConfig::default()
            },
            tenants: ROLLOUT_TENANTS,
            tokens: TokenSource::from_secret(state.settings.run.jwt_secret.as_deref()),
            roots,
        };
        canary::run(&options)
            .await
            .map_err(|e| Problem::new(StatusCode::BAD_GATEWAY, "target not judged", e.to_string()))
    };
    let report = tokio::time::timeout(limit, judged)
        .await
        .map_err(|_| timed_out(&origin, limit))??;
    record_step(&state, &release, &report);
    if report.outcome != CanaryOutcome::Promote {
        return Err(Problem::new(
            StatusCode::PRECONDITION_FAILED,
            match report.outcome {
                CanaryOutcome::Rollback => "ROLLBACK",
                _ => "INCONCLUSIVE",
            },
            format!("{} for {release}: {}", report.outcome, report.reason),
        ));
    }
    Ok(Json(json!({
        "outcome": report.outcome,
        "release": release,
        "phase": phase.display_name(),
        "samples": report.phases.first().map(|p| p.samples),
        "reason": report.reason,
    })))
}

/// Appends a `rollout` step to the canary section of the release's kept report
/// (when pre-rollout wrote one), so the report shows every step Flagger asked
/// for. The canary section is outside the signed content: sign-offs stay valid.
/// A report that cannot be updated is logged, never a reason to fail the step.
fn record_step(state: &State, release: &str, step: &gonogo_reports::model::CanaryReport) {
    let path = state
        .settings
        .report_dir
        .join(release)
        .join("go-no-go.json");
    if !path.is_file() {
        return;
    }
    let updated = ReportFile::load(&path).and_then(|mut file| {
        file.record_canary(step, CanaryRecord::Step);
        file.save()?;
        file.rerender(&state.settings.render).map(|_| ())
    });
    if let Err(e) = updated {
        eprintln!("gonogo serve: the rollout step of {release} was not added to its report: {e}");
    }
}

/// `confirm-promotion`: 200 only when the release's report is GO and signed by
/// every required role, each signature verified against the trust directory.
async fn confirm_promotion(
    Extract(state): Extract<Shared>,
    Flagger(p): Flagger,
) -> Result<Json<Value>, Problem> {
    let release = release_of(&p)?;
    let path = state
        .settings
        .report_dir
        .join(&release)
        .join("go-no-go.json");
    if !path.is_file() {
        return Err(Problem::new(
            StatusCode::PRECONDITION_FAILED,
            "no report",
            format!("there is no report for {release} yet: the pre-rollout webhook writes it"),
        ));
    }
    // The cause goes to serve's log; the caller gets no path of this machine.
    let unusable = |what: &str, e: &dyn std::fmt::Display| {
        eprintln!("gonogo serve: {what}: {e}");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "not judged",
            format!("{what} (see gonogo serve's log)"),
        )
    };
    let file = ReportFile::load(&path)
        .map_err(|e| unusable(&format!("the report kept for {release} cannot be read"), &e))?;
    let trust_dir = state.settings.trust_dir.as_ref().ok_or_else(|| {
        Problem::new(
            StatusCode::PRECONDITION_FAILED,
            "no trust directory",
            "nothing can be APPROVED without trusted keys: set serve.trust_dir (GONOGO_TRUST_DIR)",
        )
    })?;
    let trust = TrustStore::load_dir(trust_dir)
        .map_err(|e| unusable("the trust directory cannot be read", &e))?;
    let policy = state.settings.render.policy.clone().trusting(trust);
    // The label is signed with the report: a report copied here from another
    // release's folder is not this release's, however well signed.
    if file.report.run.target.label.as_deref() != Some(release.as_str()) {
        return Err(Problem::new(
            StatusCode::PRECONDITION_FAILED,
            "not this release's report",
            format!("the report kept for {release} was written for another release; run pre-rollout again"),
        ));
    }
    let s = policy.approval(&file.report);
    if s.state != ApprovalState::Approved {
        return Err(Problem::new(
            StatusCode::PRECONDITION_FAILED,
            s.state.label(),
            format!("{release} is {}: {}", s.state.label(), s.reasons.join("; ")),
        ));
    }
    // Flagger promotes on this 200: the deployment is recorded first. The
    // environment is `metadata.environment`, else the canary's namespace.
    let bytes = std::fs::read(&path)
        .map_err(|e| unusable(&format!("the report kept for {release} cannot be read"), &e))?;
    let environment = p.meta("environment").unwrap_or(&p.namespace).to_owned();
    super::ledger::record_promotion(&state, &file.report, &bytes, &environment).await?;
    Ok(Json(json!({
        "approval": s.state.label(),
        "verdict": file.report.decision.verdict,
        "release": release,
        "signed_by": s.checks.iter().map(|c| c.signoff.role.clone()).collect::<Vec<_>>(),
    })))
}

/// Argo's web provider: `?target=…&release=…` (GET) or the same as a JSON body (POST).
#[derive(Debug, Default, Deserialize)]
struct ArgoRequest {
    target: Option<String>,
    release: Option<String>,
}

/// Always 200 with `{"verdict": …}` once a run decided, so the template's
/// `successCondition`/`failureCondition` see the verdict; refusals are problems.
async fn argo(state: &Shared, req: ArgoRequest) -> Result<Json<Value>, Problem> {
    let url = target(state, req.target.as_deref())?;
    // Without a release id, one per target: two targets never share a report folder.
    let default = format!(
        "{}-{}",
        url.host_str().unwrap_or("target"),
        url.port_or_known_default().unwrap_or_default()
    );
    let release = release("argo", req.release.as_deref().unwrap_or(&default))?;
    Ok(Json(gate(state, &url, &release).await?.body()))
}

async fn argo_get(
    Extract(state): Extract<Shared>,
    _: Authorized,
    query: Result<Query<ArgoRequest>, QueryRejection>,
) -> Result<Json<Value>, Problem> {
    let Query(req) = query
        .map_err(|e| bad_request(format!("the query must be ?target=URL&release=ID ({e})")))?;
    argo(&state, req).await
}

async fn argo_post(
    Extract(state): Extract<Shared>,
    _: Authorized,
    body: Bytes,
) -> Result<Json<Value>, Problem> {
    let req = if body.is_empty() {
        ArgoRequest::default()
    } else {
        serde_json::from_slice::<ArgoRequest>(&body).map_err(|e| {
            bad_request(format!(
                "the body must be {{\"target\": URL, \"release\": ID}} ({e})"
            ))
        })?
    };
    argo(&state, req).await
}

/// A malformed request (from a caller with the token).
pub(super) fn bad_request(detail: String) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "bad request", detail)
}

/// A kept report, read-only: `/reports/{flagger,argo}/<release>/go-no-go.{json,md,html}`.
async fn report_file(
    Extract(state): Extract<Shared>,
    _: Authorized,
    Path(path): Path<String>,
) -> Result<Response, Problem> {
    let not_found = || {
        Problem::new(
            StatusCode::NOT_FOUND,
            "no such report",
            format!("there is no report at /reports/{path}"),
        )
    };
    let (release_part, file) = path.rsplit_once('/').ok_or_else(not_found)?;
    let content_type = match file {
        "go-no-go.json" => "application/json",
        "go-no-go.md" => "text/markdown; charset=utf-8",
        "go-no-go.html" => "text/html; charset=utf-8",
        _ => return Err(not_found()),
    };
    let release = kept_release(release_part).ok_or_else(not_found)?;
    let bytes = std::fs::read(state.settings.report_dir.join(release).join(file))
        .map_err(|_| not_found())?;
    Ok(([(header::CONTENT_TYPE, content_type)], bytes).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Surroundings};
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    fn state() -> Shared {
        let dir = tempfile::tempdir().unwrap();
        let env = |name: &str| match name {
            "GONOGO_SERVE_TOKEN" => Some("route-test-token-0123456789".to_owned()),
            "GONOGO_SERVE_ALLOWED_TARGETS" => Some("http://127.0.0.1:9".to_owned()),
            _ => None,
        };
        let around = Surroundings {
            env: &env,
            cwd: dir.path(),
        };
        let config = Config::load_with(None, None, &vec![], &around).unwrap();
        State::new(super::super::ServeSettings::from_config(&config).unwrap())
    }

    #[tokio::test]
    async fn every_listed_route_is_served_and_nothing_else() {
        let app = router(state());
        for (method, path) in ROUTES {
            let path = path.replace("{*path}", "a/go-no-go.json");
            let r = app
                .clone()
                .oneshot(
                    Request::builder()
                        .method(*method)
                        .uri(&path)
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
            let expected = if path == "/health" { 200 } else { 401 };
            assert_eq!(r.status().as_u16(), expected, "{method} {path}");
        }
        let r = app
            .oneshot(
                Request::builder()
                    .uri("/flagger/post-rollout")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 404);
    }
}
