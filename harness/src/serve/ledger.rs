//! The ledger's answers as `gonogo serve` routes, behind the bearer token:
//! `GET /ledger` (history as JSON) and `GET /can-i-deploy` (what `gonogo
//! can-i-deploy` says, as JSON, always 200 once answered, so Argo's web
//! metric reads `answer`), and the deployment a promoted canary records.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State as Extract};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use gonogo_ledger::questions::{self, HistoryFilter};
use gonogo_ledger::{Entry, EntryKind, Ledger, NewEntry};
use gonogo_reports::model::Report;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Authorized;
use super::routes::bad_request;
use super::{Problem, State};
use crate::ledger;

type Shared = std::sync::Arc<State>;

/// The ledger's routes.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/ledger", get(history))
        .route("/can-i-deploy", get(can_i_deploy))
}

/// The ledger could not be read or written: the cause goes to serve's log,
/// never to the caller (it may name a database host or a path).
fn unavailable(e: &dyn std::fmt::Display) -> Problem {
    eprintln!("gonogo serve: the ledger: {e}");
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "ledger unavailable",
        "the ledger cannot be used right now (see gonogo serve's log)",
    )
}

/// Every entry, read from the ledger `serve` is configured with.
async fn entries(state: &State) -> Result<Vec<Entry>, Problem> {
    let location = ledger::location(&state.settings.config, None);
    let ledger = Ledger::open(&location).await.map_err(|e| unavailable(&e))?;
    let entries = ledger.entries().await;
    ledger.close().await;
    entries.map_err(|e| unavailable(&e))
}

/// `GET /ledger?env=E&since=WHEN`.
#[derive(Debug, Deserialize)]
struct HistoryQuery {
    env: Option<String>,
    since: Option<String>,
}

async fn history(
    Extract(state): Extract<Shared>,
    _: Authorized,
    query: Result<Query<HistoryQuery>, QueryRejection>,
) -> Result<Json<Value>, Problem> {
    let Query(q) = query.map_err(|e| {
        bad_request(format!(
            "the query may hold only env=NAME and since=WHEN ({e})"
        ))
    })?;
    let since = match q.since.as_deref() {
        Some(text) => Some(ledger::since(text).map_err(|e| bad_request(e.to_string()))?),
        None => None,
    };
    let filter = HistoryFilter {
        environment: q.env,
        since,
    };
    let entries = entries(&state).await?;
    Ok(Json(json!({
        "entries": questions::history(&entries, &filter),
    })))
}

/// `GET /can-i-deploy?commit=C&to=E`.
#[derive(Debug, Deserialize)]
struct DeployQuery {
    commit: String,
    to: String,
}

async fn can_i_deploy(
    Extract(state): Extract<Shared>,
    _: Authorized,
    query: Result<Query<DeployQuery>, QueryRejection>,
) -> Result<Json<Value>, Problem> {
    let Query(q) = query
        .map_err(|e| bad_request(format!("the query must be ?commit=C&to=ENVIRONMENT ({e})")))?;
    let policy = state.settings.config.environment_policy(&q.to);
    let answer = questions::can_i_deploy(&entries(&state).await?, &q.commit, &q.to, &policy);
    let mut body = serde_json::to_value(&answer).unwrap_or_default();
    body["sentence"] = Value::String(answer.sentence(&q.commit, &q.to));
    Ok(Json(body))
}

/// Records a run `serve` judged (its kept JSON report's digest with it), for
/// `run.environment`; a failure is a problem, not a decision nobody recorded.
pub async fn record_run(
    state: &State,
    report: &Report,
    report_bytes: &[u8],
) -> Result<(), Problem> {
    let mut entry = ledger::about(EntryKind::Run, report, report_bytes);
    entry.environment = state.settings.config.settings.run.environment.clone();
    entry.outcome = Some(report.decision.verdict.to_string());
    record(state, entry).await
}

/// Records that the canary of `report` was promoted to `environment`; a
/// failure is a problem (the promotion waits), not a promotion nobody recorded.
pub async fn record_promotion(
    state: &State,
    report: &Report,
    report_bytes: &[u8],
    environment: &str,
) -> Result<(), Problem> {
    let mut entry = ledger::about(EntryKind::Deployment, report, report_bytes);
    entry.environment = Some(environment.to_owned());
    entry.outcome = Some("deployed".to_owned());
    record(state, entry).await
}

async fn record(state: &State, entry: NewEntry) -> Result<(), Problem> {
    ledger::record(&state.settings.config, None, entry)
        .await
        .map(|_| ())
        .map_err(|e| unavailable(&e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Surroundings};
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    const TOKEN: &str = "ledger-route-token-0123456789";

    /// The router over a ledger holding one GO run of `c1` in production, unsigned.
    async fn app(dir: &std::path::Path) -> Router {
        let ledger_path = dir.join("ledger.sqlite").display().to_string();
        let env = |name: &str| match name {
            "GONOGO_SERVE_TOKEN" => Some(TOKEN.to_owned()),
            "GONOGO_SERVE_ALLOWED_TARGETS" => Some("http://127.0.0.1:9".to_owned()),
            "GONOGO_LEDGER" => Some(ledger_path.clone()),
            "GONOGO_REQUIRED_ROLES" => Some("Security".to_owned()),
            _ => None,
        };
        let around = Surroundings {
            env: &env,
            cwd: dir,
        };
        let config = Config::load_with(None, None, &vec![], &around).unwrap();
        let mut run = NewEntry::new(EntryKind::Run);
        run.run_id = Some("r1".into());
        run.commit = Some("c1".into());
        run.environment = Some("production".into());
        run.outcome = Some("GO".into());
        ledger::record(&config, None, run).await.unwrap();
        super::super::router(State::new(
            super::super::ServeSettings::from_config(&config).unwrap(),
        ))
    }

    async fn get(app: &Router, uri: &str) -> (u16, Value) {
        let r = app
            .clone()
            .oneshot(
                Request::builder()
                    .uri(uri)
                    .header("authorization", format!("Bearer {TOKEN}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        let status = r.status().as_u16();
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn can_i_deploy_and_the_ledger_answer_behind_the_token() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path()).await;
        let (status, body) = get(&app, "/can-i-deploy?commit=c1&to=production").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["answer"], "missing_roles", "{body}");
        assert_eq!(body["roles"], json!(["Security"]));
        assert!(
            body["sentence"].as_str().unwrap().starts_with("no: run r1"),
            "{body}"
        );
        let (_, body) = get(&app, "/can-i-deploy?commit=c9&to=production").await;
        assert_eq!(body["answer"], "no_decision", "{body}");
        let (status, body) = get(&app, "/can-i-deploy?commit=c1").await;
        assert_eq!(status, 400, "{body}");
        assert!(body["detail"]
            .as_str()
            .unwrap()
            .contains("?commit=C&to=ENVIRONMENT"));
        let (status, body) = get(&app, "/ledger?env=production").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["entries"][0]["commit"], "c1", "{body}");
        let (_, body) = get(&app, "/ledger?env=staging").await;
        assert_eq!(body["entries"], json!([]), "{body}");
        let (status, _) = get(&app, "/ledger?since=yesterday").await;
        assert_eq!(status, 400);
    }
}
