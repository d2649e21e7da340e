//! The context every case runs in ([`Ctx`]), the per-case recorder ([`CaseRun`])
//! and the results the harness turns into the report.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use uuid::Uuid;

pub mod progress;

use crate::check::expect::Expect;
use crate::check::rls_facts::RlsFacts;
use crate::check::spec::Spec;
use crate::check::tokens::{Tenant, TokenSource};
use crate::check::transport::{ApiRequest, ApiResponse, Exchange, Transport};

/// Result of one case or gate check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed,
    /// Not run: unsupported by the target, or a prerequisite failed.
    Skipped,
    /// Failed only at a *should* of the contract (or an expectation it does not
    /// state): a warning, never a NO-GO ([`crate::contract::Level`]).
    Warned,
}

/// One exchange with the verdict of the case that made it.
#[derive(Debug, Clone)]
pub struct Judged {
    pub exchange: Arc<Exchange>,
    /// What the case expected, e.g. `401 missing_token + suggestion`.
    pub expected: String,
    pub matched: bool,
    /// It did not match, but only at a *should* (or an unstated expectation):
    /// a warning, which the success rate counts as matching.
    pub warned: bool,
    /// False for an exchange cited from the run log by a scanning check
    /// (it was already counted by the case that sent it).
    pub primary: bool,
}

/// What one case produced.
#[derive(Debug, Clone)]
pub struct CaseReport {
    /// Trial name, e.g. `suite_a::no_jwt_returns_401`.
    pub id: String,
    pub title: String,
    /// The contract clauses the case guards ([`CaseSpec::clauses`]).
    pub clauses: &'static [&'static str],
    pub outcome: Outcome,
    pub duration: Duration,
    pub message: Option<String>,
    /// Every exchange the case made, in order.
    pub evidence: Vec<Judged>,
    /// Security findings this case counted (accepted bad tokens, leaks, isolation breaks).
    pub security_violations: u64,
}

/// Database access for the RLS gate: hermetic mode, or a remote run given the
/// target's database URL. Strictly read-only.
pub trait DbProbe: Send + Sync {
    /// Reads [`RlsFacts`] as the app role: one view with claims for each of
    /// `subs`, then one with no claims.
    fn rls_facts(&self, subs: Vec<Uuid>) -> BoxFuture<'_, Result<RlsFacts, DbUnreadable>>;
}

/// The database could not be read. It names only the kind of failure
/// ("SQLSTATE 42501", "I/O"), never a driver's own text, which may name the
/// host, the user or the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbUnreadable {
    /// The kind of failure.
    pub kind: String,
}

impl std::fmt::Display for DbUnreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "database query failed ({})", self.kind)
    }
}

impl std::error::Error for DbUnreadable {}

/// What the target supports beyond the HTTP API.
#[derive(Clone, Default)]
pub struct Capabilities {
    /// Present in hermetic mode or with a database URL: enables the database RLS gate.
    pub db: Option<Arc<dyn DbProbe>>,
}

struct Inner {
    transport: Arc<dyn Transport>,
    tokens: TokenSource,
    /// The R1 OpenAPI baseline, or why it could not be loaded.
    r1_baseline: Result<serde_json::Value, String>,
    caps: Capabilities,
    /// Every exchange of the run, for the gates that scan them all.
    log: Mutex<Vec<Arc<Exchange>>>,
    /// Searches the latency phase sends ([`crate::cases::latency`]).
    latency_samples: usize,
    /// The target's `/openapi.json`, fetched and parsed once (Gate 1 and the conformance scan).
    served: tokio::sync::OnceCell<Served>,
    /// Who hears about the run's progress (the harness's progress line), if anyone.
    watch: progress::Watch,
    /// What an earlier report of the same build verified.
    earlier: Earlier,
    /// Nothing but this run talks to the target (the in-process server): what
    /// the target counts is exactly what the run caused, not more traffic's.
    sole_client: bool,
    /// The seed of every generated input ([`crate::check::generated`]); in the report, to replay.
    seed: u64,
}

/// What an earlier run of the same build of the target verified, for the
/// check a rerun within the hour cannot repeat: the anonymous endpoint's
/// token, whose per-address allowance the earlier run spent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Earlier {
    /// The earlier report in which the anonymous token check passed, named
    /// as a reader would find it (run id and time).
    pub anon_token: Option<String>,
}

/// The target's own OpenAPI document as the run fetched it.
#[derive(Debug, Clone)]
pub struct Served {
    pub exchange: Arc<Exchange>,
    /// The parsed document, or why the response is not one.
    pub spec: Result<Arc<Spec>, String>,
}

/// Searches the latency phase sends unless the run says otherwise: enough for a
/// p95 and its confidence interval ([`crate::cases::latency`]).
pub const DEFAULT_LATENCY_SAMPLES: usize = 200;

/// Shared, cheap-to-clone context of one run.
#[derive(Clone)]
pub struct Ctx(Arc<Inner>);

impl Ctx {
    pub fn new(
        transport: Arc<dyn Transport>,
        tokens: TokenSource,
        r1_baseline: Result<serde_json::Value, String>,
        caps: Capabilities,
    ) -> Self {
        Ctx(Arc::new(Inner {
            transport,
            tokens,
            r1_baseline,
            caps,
            log: Mutex::new(Vec::new()),
            latency_samples: DEFAULT_LATENCY_SAMPLES,
            served: tokio::sync::OnceCell::new(),
            watch: progress::Watch::default(),
            earlier: Earlier::default(),
            sole_client: false,
            seed: crate::check::generated::fresh_seed(),
        }))
    }
    /// Sends the run's [`progress::Event`]s to `observer`. Made before
    /// the context is shared with any case, like the sample count.
    pub fn with_observer(mut self, observer: Arc<dyn progress::Observer>) -> Self {
        Arc::get_mut(&mut self.0)
            .expect("the observer is set before the context is shared")
            .watch = progress::Watch::new(observer);
        self
    }
    /// Tells the observer, if any.
    pub fn emit(&self, event: progress::Event<'_>) {
        self.0.watch.emit(event);
    }
    /// Announces a case's result to the observer, once per case id.
    pub fn case_done(&self, report: &CaseReport) {
        self.0.watch.case_done(report);
    }
    /// Sets what an earlier report of the same build verified. A fact of the
    /// run, so it is set before the context is shared with any case.
    pub fn with_earlier(mut self, earlier: Earlier) -> Self {
        Arc::get_mut(&mut self.0)
            .expect("the earlier evidence is set before the context is shared")
            .earlier = earlier;
        self
    }
    /// Marks the target as talked to by this run alone (hermetic): its
    /// counters must show every request the run made. Set before the context is shared.
    pub fn with_sole_client(mut self) -> Self {
        Arc::get_mut(&mut self.0)
            .expect("the sole-client fact is set before the context is shared")
            .sole_client = true;
        self
    }
    /// Nothing but this run talks to the target.
    pub fn sole_client(&self) -> bool {
        self.0.sole_client
    }
    /// Sets the seed of the run's generated inputs (a fresh one otherwise). Set before the
    /// context is shared.
    pub fn with_seed(mut self, seed: u64) -> Self {
        Arc::get_mut(&mut self.0)
            .expect("the seed is set before the context is shared")
            .seed = seed;
        self
    }
    /// The seed of the run's generated inputs.
    pub fn seed(&self) -> u64 {
        self.0.seed
    }
    /// What an earlier report of the same build verified.
    pub fn earlier(&self) -> &Earlier {
        &self.0.earlier
    }
    /// Sets how many searches the latency phase sends. A setting of the run,
    /// so it is made before the context is shared with any case.
    pub fn with_latency_samples(mut self, samples: usize) -> Self {
        Arc::get_mut(&mut self.0)
            .expect("the latency sample count is set before the context is shared")
            .latency_samples = samples;
        self
    }
    /// Searches the latency phase sends.
    pub fn latency_samples(&self) -> usize {
        self.0.latency_samples
    }
    pub fn tokens(&self) -> &TokenSource {
        &self.0.tokens
    }
    pub fn r1_baseline(&self) -> &Result<serde_json::Value, String> {
        &self.0.r1_baseline
    }
    pub fn caps(&self) -> &Capabilities {
        &self.0.caps
    }
    /// A snapshot of every exchange so far.
    pub fn log(&self) -> Vec<Arc<Exchange>> {
        self.0.log.lock().unwrap().clone()
    }
    /// `GET /openapi.json`, sent once per run whoever asks first.
    pub async fn served_openapi(&self) -> &Served {
        self.0
            .served
            .get_or_init(|| async {
                let exchange = self.send(ApiRequest::get("/openapi.json")).await;
                let spec = match &exchange.response {
                    Err(e) => Err(format!("no response: {e}")),
                    Ok(r) if r.status != 200 => Err(format!("status {}", r.status)),
                    Ok(r) => r
                        .json()
                        .ok_or_else(|| "the body is not JSON".to_owned())
                        .and_then(Spec::new)
                        .map(Arc::new),
                };
                Served { exchange, spec }
            })
            .await
    }
    /// Sends and logs one request.
    pub async fn send(&self, req: ApiRequest) -> Arc<Exchange> {
        let ex = Arc::new(self.0.transport.send(req).await);
        self.0.log.lock().unwrap().push(ex.clone());
        self.emit(progress::Event::Exchange(&ex));
        ex
    }
    /// A fresh tenant with its own token and rate-limit bucket. Token requests
    /// (remote mode) go through the run log, so the scans see them too.
    pub async fn tenant(&self, label: &str) -> Result<Tenant, String> {
        self.emit(progress::Event::Tenant(label));
        self.0.tokens.tenant(label, &Logged(self)).await
    }
    /// Two fresh tenants, both asked for in order; the first error if either is missing.
    pub async fn tenant_pair(&self, a: &str, b: &str) -> Result<(Tenant, Tenant), String> {
        let (a, b) = (self.tenant(a).await, self.tenant(b).await);
        Ok((a?, b?))
    }
}

/// The run's transport, logging what it carries.
struct Logged<'a>(&'a Ctx);

impl Transport for Logged<'_> {
    fn send(&self, request: ApiRequest) -> BoxFuture<'_, Exchange> {
        Box::pin(async move { self.0.send(request).await.as_ref().clone() })
    }
}

/// What judging one response found: mismatches with what the contract states
/// (a failure) and with what it only says *should* be (a warning).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    pub must: Vec<String>,
    pub should: Vec<String>,
}

/// Name and one-sentence description of a case, declared once per suite.
#[derive(Debug, Clone, Copy)]
pub struct CaseSpec {
    pub id: &'static str,
    pub title: &'static str,
    /// The contract clauses this check covers ([`crate::contract::CLAUSES`] ids).
    pub clauses: &'static [&'static str],
}

/// Records one case: its exchanges, failures and duration.
pub struct CaseRun {
    ctx: Ctx,
    spec: CaseSpec,
    started: Instant,
    evidence: Vec<Judged>,
    failures: Vec<String>,
    /// Findings at a *should* (or an unstated expectation): the case is warned, not failed.
    warnings: Vec<String>,
    skipped: Option<String>,
    violations: u64,
    /// What a passing check verified, when its evidence is not an HTTP exchange.
    note: Option<String>,
}

impl CaseRun {
    pub fn start(ctx: &Ctx, spec: CaseSpec) -> Self {
        Self {
            ctx: ctx.clone(),
            spec,
            started: Instant::now(),
            evidence: Vec::new(),
            failures: Vec::new(),
            warnings: Vec::new(),
            skipped: None,
            violations: 0,
            note: None,
        }
    }
    pub fn ctx(&self) -> &Ctx {
        &self.ctx
    }

    /// Sends `req` and checks it against `expect`; returns the response if one came.
    pub async fn call(&mut self, req: ApiRequest, expect: Expect) -> Option<ApiResponse> {
        let desc = expect.describe();
        self.call_with(req, &desc, |r| expect.mismatches(r)).await
    }

    /// Sends `req` and checks the response with `check` (returns the mismatches).
    pub async fn call_with(
        &mut self,
        req: ApiRequest,
        expected: &str,
        check: impl FnOnce(&ApiResponse) -> Vec<String>,
    ) -> Option<ApiResponse> {
        let ex = self.ctx.send(req).await;
        self.judge(ex, expected, check)
    }

    /// Judges an exchange already sent through [`Ctx::send`] (e.g. a concurrent batch).
    pub fn record(&mut self, ex: Arc<Exchange>, expect: Expect) {
        let desc = expect.describe();
        self.judge(ex, &desc, |r| expect.mismatches(r));
    }

    /// [`CaseRun::record`] with a custom check (returns the mismatches).
    pub fn record_with(
        &mut self,
        ex: Arc<Exchange>,
        expected: &str,
        check: impl FnOnce(&ApiResponse) -> Vec<String>,
    ) -> Option<ApiResponse> {
        self.judge(ex, expected, check)
    }

    fn judge(
        &mut self,
        ex: Arc<Exchange>,
        expected: &str,
        check: impl FnOnce(&ApiResponse) -> Vec<String>,
    ) -> Option<ApiResponse> {
        self.judge_split(ex, expected, |r| Findings {
            must: check(r),
            ..Findings::default()
        })
    }

    /// Judges one exchange: a *must* mismatch fails the case, a *should* one warns.
    pub fn judge_split(
        &mut self,
        ex: Arc<Exchange>,
        expected: &str,
        check: impl FnOnce(&ApiResponse) -> Findings,
    ) -> Option<ApiResponse> {
        let what = format!("{} {}", ex.request.method, ex.request.path);
        let (findings, response) = match &ex.response {
            Ok(r) => (check(r), Some(r.clone())),
            // No response at all is never a mere warning.
            Err(e) => (
                Findings {
                    must: vec![format!("no response: {e}")],
                    ..Findings::default()
                },
                None,
            ),
        };
        let matched = findings.must.is_empty() && findings.should.is_empty();
        let warned = findings.must.is_empty() && !findings.should.is_empty();
        if !findings.must.is_empty() {
            self.failures
                .push(format!("{what}: {}", findings.must.join("; ")));
        }
        if !findings.should.is_empty() {
            self.warnings
                .push(format!("{what}: {}", findings.should.join("; ")));
        }
        self.evidence.push(Judged {
            exchange: ex,
            expected: expected.to_owned(),
            matched,
            warned,
            primary: true,
        });
        response
    }

    /// Cites an exchange another case made (scanning checks), without counting it again.
    pub fn cite(&mut self, ex: Arc<Exchange>, expected: &str) {
        self.evidence.push(Judged {
            exchange: ex,
            expected: expected.to_owned(),
            matched: false,
            warned: false,
            primary: false,
        });
    }

    /// Records a failure not tied to one response.
    pub fn fail(&mut self, message: impl Into<String>) {
        self.failures.push(message.into());
    }
    /// Records a finding at a *should* of the contract (or an expectation it
    /// does not state): the case is warned, not failed.
    pub fn warn(&mut self, message: impl Into<String>) {
        self.warnings.push(message.into());
    }
    /// Records `message` as a failure when `ok` is false; returns `ok`.
    pub fn check(&mut self, ok: bool, message: impl Into<String>) -> bool {
        if !ok {
            self.fail(message);
        }
        ok
    }
    /// Counts a security finding (and fails the case).
    pub fn violation(&mut self, message: impl Into<String>) {
        self.violations += 1;
        self.fail(message);
    }
    pub fn skip(&mut self, reason: impl Into<String>) {
        self.skipped = Some(reason.into());
    }
    /// Says what a pass rests on (e.g. the catalog facts read), shown as the message.
    pub fn note(&mut self, note: impl Into<String>) {
        self.note = Some(note.into());
    }
    pub fn passed_so_far(&self) -> bool {
        self.failures.is_empty() && self.skipped.is_none()
    }

    pub fn finish(mut self) -> CaseReport {
        // A check that guards only *should* clauses warns whatever it found,
        // security findings excepted.
        if crate::contract::level_of(self.spec.clauses).warns() && self.violations == 0 {
            self.warnings.append(&mut self.failures);
            for j in self.evidence.iter_mut().filter(|j| j.primary && !j.matched) {
                j.warned = j.exchange.response.is_ok();
            }
        }
        let (outcome, message) = if !self.failures.is_empty() {
            let mut msg = summarize(&self.failures);
            if !self.warnings.is_empty() {
                msg.push_str(&format!(" (also warned: {})", summarize(&self.warnings)));
            }
            (Outcome::Failed, Some(msg))
        } else if let Some(reason) = self.skipped {
            (Outcome::Skipped, Some(reason))
        } else if !self.warnings.is_empty() {
            (Outcome::Warned, Some(summarize(&self.warnings)))
        } else {
            (Outcome::Passed, self.note)
        };
        let report = CaseReport {
            id: self.spec.id.to_owned(),
            title: self.spec.title.to_owned(),
            clauses: self.spec.clauses,
            outcome,
            duration: self.started.elapsed(),
            message,
            evidence: self.evidence,
            security_violations: self.violations,
        };
        self.ctx.case_done(&report);
        report
    }
}

/// Failures shown in a case's message; a scan over a broken server can find hundreds.
const MAX_LISTED_FAILURES: usize = 10;

fn summarize(failures: &[String]) -> String {
    let mut msg = failures[..failures.len().min(MAX_LISTED_FAILURES)].join(" | ");
    if failures.len() > MAX_LISTED_FAILURES {
        msg.push_str(&format!(
            " | … and {} more",
            failures.len() - MAX_LISTED_FAILURES
        ));
    }
    msg
}

/// A case that could not run because an earlier one failed.
pub fn skipped(spec: CaseSpec, reason: &str) -> CaseReport {
    CaseReport {
        id: spec.id.to_owned(),
        title: spec.title.to_owned(),
        clauses: spec.clauses,
        outcome: Outcome::Skipped,
        duration: Duration::ZERO,
        message: Some(reason.to_owned()),
        evidence: Vec::new(),
        security_violations: 0,
    }
}

/// A case that failed before sending anything (e.g. no token could be obtained).
pub fn failed(spec: CaseSpec, reason: &str) -> CaseReport {
    CaseReport {
        outcome: Outcome::Failed,
        ..skipped(spec, reason)
    }
}

/// [`skipped`] for each of `specs`: the rest of a group after a prerequisite failed.
pub fn skipped_all(specs: &[CaseSpec], reason: &str) -> Vec<CaseReport> {
    specs.iter().map(|s| skipped(*s, reason)).collect()
}

/// [`failed`] for each of `specs`: a group that could not start.
pub fn failed_all(specs: &[CaseSpec], reason: &str) -> Vec<CaseReport> {
    specs.iter().map(|s| failed(*s, reason)).collect()
}
